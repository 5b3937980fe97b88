/**
 * PVE's permission engine: ACL resolution exactly as pve-access-control's
 * `roles()` and RPCEnvironment's `permissions()` / `compile_acl_path()` do it
 * (pve-reference §3.2), validated against Proxmox's own test vectors.
 */
import { BUILTIN_ROLES, allPrivileges, type PveMajor } from "../pve/privileges.js";

export interface AclEntry {
  path: string;
  /** `user@realm`, `@group` or `user@realm!token`. */
  ugid: string;
  roleid: string;
  propagate: boolean;
}

export interface AccessConfig {
  users: { userid: string; groups?: string[] }[];
  /** Keyed by full token id `user@realm!name`. */
  tokens: { tokenid: string; privsep: boolean }[];
  groups: { groupid: string; users: string[] }[];
  /** Custom roles; built-in roles of the version are always present. */
  roles: Record<string, readonly string[]>;
  acl: AclEntry[];
  /** Pool membership: pool -> member vmids and storage ids. */
  pools: { poolid: string; vms: (string | number)[]; storage: string[] }[];
}

/** Role name -> propagate flag. */
export type RoleSet = Map<string, boolean>;
/** Privilege name -> propagate flag (the value PVE prints as 1/0). */
export type PrivSet = Map<string, boolean>;

interface AclNode {
  children: Map<string, AclNode>;
  users: Map<string, RoleSet>;
  groups: Map<string, RoleSet>;
  tokens: Map<string, RoleSet>;
}

const ROOT = "root@pam";
/** Enough for every (caller, guest) pair of a 100,000-guest scale scenario and a few callers. */
const MAX_CACHED_PERMISSIONS = 500_000;
const NO_ACCESS = "NoAccess";

export function isTokenId(authid: string): boolean {
  return authid.includes("!");
}

export function splitTokenId(tokenid: string): { userid: string; name: string } {
  const i = tokenid.lastIndexOf("!");
  return { userid: tokenid.slice(0, i), name: tokenid.slice(i + 1) };
}

/** The realm of a user id (`name@realm`; a user name may itself contain "@"). */
export function realmOf(userid: string): string {
  return userid.slice(userid.lastIndexOf("@") + 1);
}

/** PVE::AccessControl::normalize_path: collapse slashes, strip the trailing one; undefined when invalid. */
export function normalizeAclPath(path: string): string | undefined {
  if (!path) return undefined;
  let p = `/${path}`.replace(/\/+/g, "/").replace(/\/$/, "");
  if (!p) p = "/";
  if (!/^[A-Za-z0-9.\-_/]+$/.test(p)) return undefined;
  return p;
}

export class PermissionEngine {
  readonly version: PveMajor;
  private readonly rolePrivs = new Map<string, readonly string[]>();
  private readonly aclRoot: AclNode = newNode();
  private readonly groupsOfUser = new Map<string, string[]>();
  private readonly tokens = new Map<string, { privsep: boolean }>();
  private readonly vmPool = new Map<string, string>();
  private readonly storagePools = new Map<string, string[]>();
  private readonly cache = new Map<string, PrivSet>();

  constructor(config: AccessConfig, version: PveMajor = 9) {
    this.version = version;
    for (const [role, privs] of Object.entries(BUILTIN_ROLES[version])) this.rolePrivs.set(role, privs);
    const valid = new Set(allPrivileges(version));
    for (const [role, privs] of Object.entries(config.roles)) {
      // PVE drops unknown privilege names from user.cfg roles (with a warning).
      if (!this.rolePrivs.has(role))
        this.rolePrivs.set(
          role,
          privs.filter((p) => valid.has(p)),
        );
    }
    for (const g of config.groups) {
      for (const u of g.users) this.groupsOfUser.set(u, [...(this.groupsOfUser.get(u) ?? []), g.groupid]);
    }
    for (const t of config.tokens) this.tokens.set(t.tokenid, { privsep: t.privsep });
    for (const pool of config.pools) {
      for (const vmid of pool.vms) this.vmPool.set(String(vmid), pool.poolid);
      for (const sid of pool.storage)
        this.storagePools.set(sid, [...(this.storagePools.get(sid) ?? []), pool.poolid]);
    }
    for (const entry of config.acl) this.addAcl(entry);
  }

  /** `pveum acl modify` on a running cluster: tests change what a token may do after a server started. */
  grant(entry: AclEntry): void {
    this.addAcl(entry);
    this.cache.clear();
  }

  /** `pveum acl delete`: `ugid` loses `roleid` on `path`. */
  revoke(entry: Omit<AclEntry, "propagate">): void {
    this.roleSetOf(entry, false)?.delete(entry.roleid);
    this.cache.clear();
  }

  private addAcl(entry: AclEntry): void {
    this.roleSetOf(entry, true)?.set(entry.roleid, entry.propagate);
  }

  /** The roles `entry.ugid` holds on `entry.path`; `create` adds the tree nodes on the way. */
  private roleSetOf(entry: Omit<AclEntry, "propagate" | "roleid">, create: boolean): RoleSet | undefined {
    const path = normalizeAclPath(entry.path);
    if (!path) return undefined;
    let node = this.aclRoot;
    for (const part of path.split("/").filter(Boolean)) {
      let child = node.children.get(part);
      if (!child) {
        if (!create) return undefined;
        node.children.set(part, (child = newNode()));
      }
      node = child;
    }
    const table = entry.ugid.startsWith("@") ? node.groups : isTokenId(entry.ugid) ? node.tokens : node.users;
    const principal = entry.ugid.startsWith("@") ? entry.ugid.slice(1) : entry.ugid;
    let set = table.get(principal);
    if (!set && create) table.set(principal, (set = new Map()));
    return set;
  }

  /** PVE::AccessControl::roles(): roles on a path; not pool-aware, not token-intersected. */
  roles(authid: string, path: string): RoleSet {
    if (authid === ROOT) return new Map([["Administrator", true]]);
    if (isTokenId(authid)) {
      const token = this.tokens.get(authid);
      if (!token) return new Map();
      if (!token.privsep) return this.roles(splitTokenId(authid).userid, path);
    }
    // Perl's split drops trailing empty fields; an empty result means the root.
    const parts = path.split("/");
    while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
    if (parts.length === 0) parts.push("");
    let roles: RoleSet = new Map();
    let node: AclNode | undefined = this.aclRoot;
    for (let i = 0; i < parts.length && node; i++) {
      const part = parts[i] as string;
      const final = i === parts.length - 1;
      if (part !== "") node = node.children.get(part);
      if (!node) break;
      const applicable = (set: RoleSet | undefined, into: RoleSet | undefined): RoleSet | undefined => {
        if (!set) return into;
        for (const [role, propagate] of set) {
          if (final || propagate) (into ??= new Map()).set(role, propagate);
        }
        return into;
      };
      if (isTokenId(authid)) {
        const found = applicable(node.tokens.get(authid), undefined);
        if (found) roles = found;
        continue;
      }
      const own = applicable(node.users.get(authid), undefined);
      if (own) {
        roles = own;
        continue;
      }
      let fromGroups: RoleSet | undefined;
      for (const g of this.groupsOfUser.get(authid) ?? [])
        fromGroups = applicable(node.groups.get(g), fromGroups);
      if (fromGroups) roles = fromGroups;
    }
    if (roles.has(NO_ACCESS)) return new Map([[NO_ACCESS, roles.get(NO_ACCESS) as boolean]]);
    return roles;
  }

  /** RPCEnvironment::permissions(): effective privileges (pool-aware, privsep tokens intersected). */
  permissions(authid: string, path: string): PrivSet {
    const key = `${authid}\u0000${path}`;
    let privs = this.cache.get(key);
    if (!privs) {
      privs = this.computePermissions(authid, path);
      // Paths come from requests (/vms/<anything>): bound the cache instead of trusting callers.
      if (this.cache.size >= MAX_CACHED_PERMISSIONS) this.cache.clear();
      this.cache.set(key, privs);
    }
    return privs;
  }

  private computePermissions(authid: string, path: string): PrivSet {
    if (authid === ROOT) return new Map(allPrivileges(this.version).map((p) => [p, true]));
    if (isTokenId(authid)) {
      const token = this.tokens.get(authid);
      if (!token) return new Map();
      const userPrivs = this.permissions(splitTokenId(authid).userid, path);
      if (!token.privsep) return userPrivs;
      const tokenPrivs = this.compileAclPath(authid, path);
      for (const [priv, propagate] of tokenPrivs) {
        const userFlag = userPrivs.get(priv);
        if (userFlag === undefined) tokenPrivs.delete(priv);
        else tokenPrivs.set(priv, propagate && userFlag);
      }
      return tokenPrivs;
    }
    return this.compileAclPath(authid, path);
  }

  private compileAclPath(authid: string, path: string): PrivSet {
    let roles = this.roles(authid, path);
    const member = /^\/(vms|storage)\/([^/]+)$/.exec(path);
    if (member) {
      const pools =
        member[1] === "vms"
          ? [this.vmPool.get(member[2] as string)].filter((p): p is string => !!p)
          : (this.storagePools.get(member[2] as string) ?? []);
      for (const pool of pools) {
        const poolRoles = this.roles(authid, `/pool/${pool}`);
        if (poolRoles.has(NO_ACCESS)) {
          roles = poolRoles;
          break;
        }
        if (roles.has(NO_ACCESS)) break;
        roles = new Map(roles);
        // Roles inherited from a pool never propagate below the member.
        for (const role of poolRoles.keys()) if (!roles.has(role)) roles.set(role, false);
      }
    }
    const privs: PrivSet = new Map();
    if (roles.has(NO_ACCESS)) return privs;
    for (const [role, propagate] of roles) {
      for (const priv of this.rolePrivs.get(role) ?? [])
        privs.set(priv, (privs.get(priv) ?? false) || propagate);
    }
    return privs;
  }

  /** Whether `authid` holds `priv` on `path`. */
  has(authid: string, path: string, priv: string): boolean {
    return this.permissions(authid, path).has(priv);
  }

  /** Whether `authid` holds at least one of `privs` on `path` (RPCEnvironment::check_any). */
  hasAny(authid: string, path: string, privs: readonly string[]): boolean {
    const held = this.permissions(authid, path);
    return privs.some((p) => held.has(p));
  }

  /** The path of every node of the ACL tree, the root and the levels between ACL paths included. */
  aclTreePaths(): string[] {
    const paths = ["/"];
    const walk = (node: AclNode, prefix: string) => {
      for (const [name, child] of node.children) {
        paths.push(`${prefix}/${name}`);
        walk(child, `${prefix}/${name}`);
      }
    };
    walk(this.aclRoot, "");
    return paths;
  }

  /** Paths GET /access/permissions lists without ?path: defaults, the ACL tree, pool members. */
  permissionPaths(): string[] {
    const paths = new Set(["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"]);
    for (const p of this.aclTreePaths()) paths.add(p);
    for (const vmid of this.vmPool.keys()) paths.add(`/vms/${vmid}`);
    for (const sid of this.storagePools.keys()) paths.add(`/storage/${sid}`);
    return [...paths].sort();
  }

  /** Every ACL entry, for GET /access/acl. */
  aclEntries(): AclEntry[] {
    const out: AclEntry[] = [];
    const walk = (node: AclNode, prefix: string) => {
      const path = prefix || "/";
      const emit = (table: Map<string, RoleSet>, ugid: (name: string) => string) => {
        for (const [name, set] of table)
          for (const [roleid, propagate] of set) out.push({ path, ugid: ugid(name), roleid, propagate });
      };
      emit(node.users, (n) => n);
      emit(node.groups, (n) => `@${n}`);
      emit(node.tokens, (n) => n);
      for (const [name, child] of node.children) walk(child, `${prefix}/${name}`);
    };
    walk(this.aclRoot, "");
    return out;
  }

  rolePrivileges(): ReadonlyMap<string, readonly string[]> {
    return this.rolePrivs;
  }

  isBuiltinRole(role: string): boolean {
    return role in BUILTIN_ROLES[this.version];
  }
}

function newNode(): AclNode {
  return { children: new Map(), users: new Map(), groups: new Map(), tokens: new Map() };
}
