/**
 * PBS's privileges, roles and ACL evaluation (pbs-api-types acl.rs, pbs-config acl.rs and
 * cached_user_info.rs):
 *  - the ACL tree is walked from `/` down the path; at each node the auth id's roles there
 *    (propagating ones only, except at the path itself) replace what was found above, if any;
 *    a user entry `NoAccess` at a node yields no privileges (and stops what was above);
 *  - user entries win over group entries; tokens only get their own entries;
 *  - a token's privileges are intersected with its user's (PBS has no privsep switch);
 *  - the superuser is the *user* root@pam only, never a token.
 */

/** PRIVILEGES in pbs-api-types' bit order (the 2025 Remote.Datastore* bits appended). */
export const PRIVILEGES: readonly string[] = [
  "Sys.Audit",
  "Sys.Modify",
  "Sys.PowerManagement",
  "Datastore.Audit",
  "Datastore.Allocate",
  "Datastore.Modify",
  "Datastore.Read",
  "Datastore.Verify",
  "Datastore.Backup",
  "Datastore.Prune",
  "Permissions.Modify",
  "Remote.Audit",
  "Remote.Modify",
  "Remote.Read",
  "Remote.DatastoreBackup",
  "Remote.DatastoreModify",
  "Remote.DatastorePrune",
  "Sys.Console",
  "Tape.Audit",
  "Tape.Modify",
  "Tape.Write",
  "Tape.Read",
  "Realm.Allocate",
];

export const privBit = (name: string): bigint => bit(name);

function bit(name: string): bigint {
  const i = PRIVILEGES.indexOf(name);
  if (i < 0) throw new Error(`unknown privilege ${name}`);
  return 1n << BigInt(i);
}
const privs = (...names: string[]): bigint => names.reduce((a, n) => a | bit(n), 0n);

export const PRIV = {
  SYS_AUDIT: bit("Sys.Audit"),
  SYS_MODIFY: bit("Sys.Modify"),
  DATASTORE_AUDIT: bit("Datastore.Audit"),
  DATASTORE_MODIFY: bit("Datastore.Modify"),
  DATASTORE_READ: bit("Datastore.Read"),
  DATASTORE_VERIFY: bit("Datastore.Verify"),
  DATASTORE_BACKUP: bit("Datastore.Backup"),
  DATASTORE_PRUNE: bit("Datastore.Prune"),
  REMOTE_AUDIT: bit("Remote.Audit"),
  REMOTE_READ: bit("Remote.Read"),
  TAPE_AUDIT: bit("Tape.Audit"),
} as const;

/** Admin holds every bit (ROLE_ADMIN = u64::MAX). */
const ALL = (1n << 64n) - 1n;

/** Role -> [privileges, comment], as pbs-api-types' `Role` enum and list_roles() answer them. */
export const ROLES: Record<string, { privs: bigint; comment: string }> = {
  Admin: { privs: ALL, comment: "Administrator" },
  Audit: { privs: privs("Sys.Audit", "Datastore.Audit"), comment: "Auditor" },
  NoAccess: { privs: 0n, comment: "Disable Access" },
  DatastoreAdmin: {
    privs: privs(
      "Datastore.Audit",
      "Datastore.Modify",
      "Datastore.Read",
      "Datastore.Verify",
      "Datastore.Backup",
      "Datastore.Prune",
    ),
    comment: "Datastore Administrator",
  },
  DatastoreReader: {
    privs: privs("Datastore.Audit", "Datastore.Verify", "Datastore.Read"),
    comment: "Datastore Reader (inspect datastore content and do restores)",
  },
  DatastoreBackup: {
    privs: privs("Datastore.Backup"),
    comment: "Datastore Backup (backup and restore owned backups)",
  },
  DatastorePowerUser: {
    privs: privs("Datastore.Prune", "Datastore.Backup"),
    comment: "Datastore PowerUser (backup, restore and prune owned backup)",
  },
  DatastoreAudit: { privs: privs("Datastore.Audit"), comment: "Datastore Auditor" },
  RemoteAudit: { privs: privs("Remote.Audit"), comment: "Remote Auditor" },
  RemoteAdmin: {
    privs: privs(
      "Remote.Audit",
      "Remote.Modify",
      "Remote.Read",
      "Remote.DatastoreBackup",
      "Remote.DatastoreModify",
      "Remote.DatastorePrune",
    ),
    comment: "Remote Administrator",
  },
  RemoteSyncOperator: { privs: privs("Remote.Audit", "Remote.Read"), comment: "Synchronization Operator" },
  RemoteSyncPushOperator: {
    privs: privs("Remote.Audit", "Remote.DatastoreBackup"),
    comment: "Synchronization Operator (push direction)",
  },
  RemoteDatastorePowerUser: {
    privs: privs("Remote.Audit", "Remote.DatastoreBackup", "Remote.DatastorePrune"),
    comment: "Remote Datastore PowerUser (push direction, with prune)",
  },
  RemoteDatastoreAdmin: {
    privs: privs("Remote.Audit", "Remote.DatastoreBackup", "Remote.DatastoreModify", "Remote.DatastorePrune"),
    comment: "Remote Datastore Administrator (push direction)",
  },
  TapeAudit: { privs: privs("Tape.Audit"), comment: "Tape Auditor" },
  TapeAdmin: {
    privs: privs("Tape.Audit", "Tape.Modify", "Tape.Read", "Tape.Write"),
    comment: "Tape Administrator",
  },
  TapeOperator: { privs: privs("Tape.Audit", "Tape.Read", "Tape.Write"), comment: "Tape Operator" },
  TapeReader: { privs: privs("Tape.Audit", "Tape.Read"), comment: "Tape Reader" },
};

export function privNames(p: bigint): string[] {
  return PRIVILEGES.filter((n) => (p & bit(n)) !== 0n);
}

export interface AclEntry {
  path: string;
  /** A user id, a token id (`user@realm!name`) or a group name. */
  ugid: string;
  ugidType?: "user" | "group";
  roleid: string;
  propagate?: boolean;
}

export function isToken(authid: string): boolean {
  return authid.includes("!");
}

export function userOf(authid: string): string {
  const i = authid.indexOf("!");
  return i < 0 ? authid : authid.slice(0, i);
}

/** pbs-config's split_acl_path: components, empty ones dropped. */
export function splitAclPath(path: string): string[] {
  return path.split("/").filter(Boolean);
}

export class PbsAcl {
  constructor(
    readonly entries: AclEntry[],
    private readonly groupsOf: (userid: string) => string[] = () => [],
  ) {}

  static isSuperuser(authid: string): boolean {
    return !isToken(authid) && authid === "root@pam";
  }

  /** Roles of `authid` at exactly `path` (`all`: also non-propagating ones). */
  private nodeRoles(authid: string, path: string, all: boolean): Map<string, boolean> {
    const here = this.entries.filter((e) => normalise(e.path) === path);
    const pick = (list: AclEntry[]): Map<string, boolean> => {
      const map = new Map<string, boolean>();
      for (const e of list) {
        const propagate = e.propagate ?? true;
        if (!propagate && !all) continue;
        if (e.roleid === "NoAccess") return new Map([["NoAccess", false]]);
        map.set(e.roleid, propagate);
      }
      return map;
    };
    const user = pick(here.filter((e) => (e.ugidType ?? "user") === "user" && e.ugid === authid));
    if (user.size > 0 || isToken(authid)) return user;
    const groups = new Set(this.groupsOf(authid));
    return pick(here.filter((e) => e.ugidType === "group" && groups.has(e.ugid)));
  }

  /** AclTree::roles: the deepest node on the path that names the auth id wins. */
  roles(authid: string, components: string[]): Map<string, boolean> {
    let map = this.nodeRoles(authid, "/", components.length === 0);
    let path = "";
    components.forEach((c, i) => {
      path += `/${c}`;
      const found = this.nodeRoles(authid, path, i === components.length - 1);
      if (found.size > 0) map = found;
    });
    return map;
  }

  /** CachedUserInfo::lookup_privs_details: [privileges, propagated privileges]. */
  lookupPrivsDetails(authid: string, components: string[]): [bigint, bigint] {
    if (PbsAcl.isSuperuser(authid)) return [ALL, ALL];
    let p = 0n;
    let propagated = 0n;
    for (const [role, propagate] of this.roles(authid, components)) {
      const r = ROLES[role];
      if (!r) continue;
      p |= r.privs;
      if (propagate) propagated |= r.privs;
    }
    if (isToken(authid)) {
      const [up, upr] = this.lookupPrivsDetails(userOf(authid), components);
      p &= up;
      propagated &= upr;
    }
    return [p, propagated];
  }

  lookupPrivs(authid: string, components: string[]): bigint {
    return this.lookupPrivsDetails(authid, components)[0];
  }

  has(authid: string, components: string[], priv: bigint): boolean {
    return (this.lookupPrivs(authid, components) & priv) !== 0n;
  }

  /** CachedUserInfo::any_privs_below: any of `priv` at the path or an ACL node below it. */
  anyPrivsBelow(authid: string, components: string[], priv: bigint): boolean {
    if (this.has(authid, components, priv)) return true;
    const prefix = components.length ? `/${components.join("/")}/` : "/";
    const below = new Set(
      this.entries.map((e) => normalise(e.path)).filter((p) => p.startsWith(prefix) && p !== prefix),
    );
    return [...below].some((p) => this.has(authid, splitAclPath(p), priv));
  }

  /** Every ACL path (and each of its parents), as /access/permissions walks the tree. */
  paths(): string[] {
    const out = new Set<string>();
    for (const e of this.entries) {
      const parts = splitAclPath(e.path);
      for (let i = 1; i <= parts.length; i++) out.add(`/${parts.slice(0, i).join("/")}`);
    }
    return [...out];
  }
}

function normalise(path: string): string {
  const parts = splitAclPath(path);
  return parts.length ? `/${parts.join("/")}` : "/";
}
