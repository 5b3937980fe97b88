/**
 * /access: users, groups, ACL, roles, TFA, realms, effective permissions, ticket login
 * and password change, as pve-access-control's API2/User.pm, Group.pm, ACL.pm,
 * Role.pm, TFA.pm, Domains.pm and AccessControl.pm answer them (pve-reference §3.4, §4).
 */
import { normalizeAclPath, realmOf, splitTokenId } from "../acl.js";
import { checkPassword, createCsrfToken, createTicket, userActive, verifyTicket } from "../auth.js";
import { permissionDenied } from "../checks.js";
import { sha1, type Cluster } from "../cluster.js";
import { parameterError, PveError } from "../errors.js";
import type { RealmSpec, UserSpec } from "../scenario.js";
import { param, route, type Route, type RouteContext } from "./route.js";

const USER_AUDIT_PRIVS = ["User.Modify", "Sys.Audit"];
const GROUP_LIST_PRIVS = ["User.Modify", "Sys.Audit", "Group.Allocate"];
/** The comments PVE::Auth::Plugin::parse_config gives the built-in realms when domains.cfg has none. */
const BUILTIN_REALMS = {
  pam: "Linux PAM standard authentication",
  pve: "Proxmox VE authentication server",
} as const;
/** compute_api_permission(): the privileges each GUI section cares about. */
const CAP_SECTIONS: [string, RegExp][] = [
  ["vms", /^(VM\.|Permissions\.Modify)/],
  ["storage", /^(Datastore\.|Permissions\.Modify)/],
  ["nodes", /^(Sys\.|Permissions\.Modify)/],
  ["access", /^((User|Group)\.|Permissions\.Modify)/],
  ["sdn", /^(SDN\.|Permissions\.Modify)/],
  ["dc", /^(Sys\.Audit|Sys\.Modify|SDN\.)/],
  ["mapping", /^(Mapping\.|Permissions.Modify)/],
];
const CAP_REQUIRED_PATHS = ["/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"];

/** Perl's `sort`: plain code-unit order. */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * domains.cfg as PVE::Auth::Plugin::parse_config reads it: the scenario's sections, then
 * pam and pve, which always exist, with their types forced and their comments defaulted.
 * Only the first realm marked default keeps the mark.
 */
function realms(cluster: Cluster): RealmSpec[] {
  const configured = cluster.scenario.realms;
  const builtin = (["pam", "pve"] as const)
    .filter((id) => !configured.some((r) => r.realm === id))
    .map((id): RealmSpec => ({ realm: id, type: id }));
  let defaultSeen = false;
  return [...configured, ...builtin].map((r) => {
    const realm: RealmSpec = { ...r };
    if (r.type === "pam" || r.type === "pve") realm.comment = r.comment || BUILTIN_REALMS[r.type];
    if (realm.default) {
      if (defaultSeen) delete realm.default;
      defaultSeen = true;
    }
    return realm;
  });
}

/** A realm's keys as domains.cfg holds them (its id is the section's name, not a key). */
function realmData(r: RealmSpec): Record<string, unknown> {
  const { realm: _id, ...data } = r;
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}

/** domains.cfg's text as SectionConfig writes it: its sha1 is the `digest` of a realm's answer. */
function domainsCfg(list: RealmSpec[]): string {
  return list
    .map((r) => {
      const { type, comment, ...rest } = realmData(r);
      const lines = Object.entries(rest)
        .sort(([a], [b]) => byString(a, b))
        .map(([k, v]) => `\t${k} ${String(v)}\n`);
      return `${String(type)}: ${r.realm}\n${comment ? `\tcomment ${String(comment)}\n` : ""}${lines.join("")}\n`;
    })
    .join("");
}

/** The second factor a realm enforces ("type=oath,digits=6" -> "oath"), as the realm index lists it. */
function realmTfa(r: RealmSpec | undefined): string | undefined {
  return r?.tfa ? /(?:^|,)type=([^,]+)/.exec(r.tfa)?.[1] : undefined;
}

/** Perl hash order: realms come in no particular order. A stable shuffle keeps answers reproducible. */
function hashOrder(text: string): number {
  let h = 0x811c9dc5;
  for (const c of text) h = Math.imul(h ^ c.codePointAt(0)!, 0x01000193);
  return h >>> 0;
}

/** GET /access/domains: what the login box needs, open to anyone; `tfa` is only the enforced type. */
function listRealms(ctx: RouteContext): unknown[] {
  return realms(ctx.cluster)
    .sort((a, b) => hashOrder(a.realm) - hashOrder(b.realm))
    .map((r) => {
      const entry: Record<string, unknown> = { realm: r.realm, type: r.type };
      if (r.comment) entry["comment"] = r.comment;
      if (r.default) entry["default"] = 1;
      const tfa = realmTfa(r);
      if (tfa) entry["tfa"] = tfa;
      return entry;
    });
}

/** GET /access/domains/{realm}: the section's keys as parsed (booleans and integers as numbers), and the file's digest. */
function readRealm(ctx: RouteContext): unknown {
  const id = param.str(ctx, "realm");
  const list = realms(ctx.cluster);
  const realm = list.find((r) => r.realm === id);
  if (!realm) throw new PveError(500, `domain '${id}' does not exist\n`);
  const data = realmData(realm);
  if (realm.type === "pam") data["plugin"] = "PVE::Auth::PAM";
  return { ...data, digest: sha1(domainsCfg(list)) };
}

function groupsOf(cluster: Cluster, userid: string): string[] {
  return cluster.scenario.groups
    .filter((g) => g.users.includes(userid))
    .map((g) => g.groupid)
    .sort();
}

/**
 * Users the caller may see in user and TFA lists: everyone with User.Modify or
 * Sys.Audit on /access/groups, else members of groups where the caller has one
 * of them, plus the caller itself (a token id never equals a userid).
 */
function userVisibility(ctx: RouteContext): (userid: string) => boolean {
  const { cluster, authid } = ctx;
  if (cluster.engine.hasAny(authid, "/access/groups", USER_AUDIT_PRIVS)) return () => true;
  const allowed = new Set(
    cluster.scenario.groups
      .filter((g) => cluster.engine.hasAny(authid, `/access/groups/${g.groupid}`, USER_AUDIT_PRIVS))
      .flatMap((g) => g.users),
  );
  return (userid) => userid === authid || allowed.has(userid);
}

/**
 * The user.cfg fields PVE reads back. user.cfg stores `email` as a positional
 * field, so it parses as "" (and is returned) whenever a later field is set.
 */
function userData(cluster: Cluster, u: UserSpec): Record<string, unknown> {
  const data: Record<string, unknown> = { enable: u.enable, expire: cluster.time(u.expire) };
  if (u.firstname) data["firstname"] = u.firstname;
  if (u.lastname) data["lastname"] = u.lastname;
  if (u.email !== undefined) data["email"] = u.email;
  else if (u.comment) data["email"] = "";
  if (u.comment) data["comment"] = u.comment;
  return data;
}

function tokenInfo(cluster: Cluster, t: UserSpec["tokens"][number]): Record<string, unknown> {
  const info: Record<string, unknown> = { privsep: t.privsep, expire: cluster.time(t.expire) };
  if (t.comment) info["comment"] = t.comment;
  return info;
}

function privilegeMap(cluster: Cluster, authid: string, path: string): Record<string, number> {
  const privs = cluster.engine.permissions(authid, path);
  return Object.fromEntries([...privs.keys()].sort().map((p) => [p, privs.get(p) ? 1 : 0]));
}

function listUsers(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  const full = param.flag(ctx, "full");
  const enabled = param.optInt(ctx, "enabled");
  const visible = userVisibility(ctx);
  const realmTypes = new Map(realms(cluster).map((r) => [r.realm, r.type]));
  return [...cluster.scenario.users]
    .sort((a, b) => byString(a.userid, b.userid))
    .filter((u) => visible(u.userid))
    .filter((u) => enabled === undefined || (u.enable === 1) === (enabled === 1))
    .map((u) => {
      const entry: Record<string, unknown> = { userid: u.userid, ...userData(cluster, u) };
      if (full) {
        entry["groups"] = groupsOf(cluster, u.userid).join(",");
        entry["tokens"] = u.tokens.length
          ? [...u.tokens]
              .sort((a, b) => byString(a.tokenid, b.tokenid))
              .map((t) => ({ tokenid: t.tokenid, ...tokenInfo(cluster, t) }))
          : null;
      }
      const realmType = realmTypes.get(realmOf(u.userid));
      if (realmType) entry["realm-type"] = realmType;
      return entry;
    });
}

function readUser(ctx: RouteContext): unknown {
  const { cluster } = ctx;
  const userid = param.str(ctx, "userid");
  const user = cluster.scenario.users.find((u) => u.userid === userid);
  if (!user) throw new PveError(500, `no such user ('${userid}')\n`);
  return {
    ...userData(cluster, user),
    groups: groupsOf(cluster, userid),
    tokens: user.tokens.length
      ? Object.fromEntries(user.tokens.map((t) => [t.tokenid, tokenInfo(cluster, t)]))
      : null,
  };
}

function listGroups(ctx: RouteContext): unknown[] {
  const { cluster, authid } = ctx;
  return cluster.scenario.groups
    .filter((g) => cluster.engine.hasAny(authid, `/access/groups/${g.groupid}`, GROUP_LIST_PRIVS))
    .map((g) => {
      const entry: Record<string, unknown> = { groupid: g.groupid };
      if (g.comment !== undefined) entry["comment"] = g.comment;
      entry["users"] = [...g.users].sort().join(",");
      return entry;
    });
}

/** RPCEnvironment::check_perm_modify: Permissions.Modify, or the object's Allocate privilege. */
function mayModifyPermissions(cluster: Cluster, authid: string, path: string): boolean {
  const privs = ["Permissions.Modify"];
  if (/^\/storage\/.+$/.test(path)) privs.push("Datastore.Allocate");
  else if (/^\/vms\/.+$/.test(path)) privs.push("VM.Allocate");
  else if (/^\/pool\/.+$/.test(path)) privs.push("Pool.Allocate");
  return cluster.engine.hasAny(authid, path, privs);
}

const ACL_TYPE_ORDER = { user: 0, group: 1, token: 2 } as const;

function listAcl(ctx: RouteContext): unknown[] {
  const { cluster, authid } = ctx;
  const audit = cluster.engine.has(authid, "/access", "Sys.Audit");
  return cluster.engine
    .aclEntries()
    .filter((e) => audit || mayModifyPermissions(cluster, authid, e.path))
    .map((e) => {
      const type: keyof typeof ACL_TYPE_ORDER = e.ugid.startsWith("@")
        ? "group"
        : e.ugid.includes("!")
          ? "token"
          : "user";
      return {
        path: e.path,
        type,
        ugid: type === "group" ? e.ugid.slice(1) : e.ugid,
        roleid: e.roleid,
        propagate: e.propagate ? 1 : 0,
      };
    })
    .sort(
      (a, b) =>
        byString(a.path, b.path) ||
        ACL_TYPE_ORDER[a.type] - ACL_TYPE_ORDER[b.type] ||
        byString(a.ugid, b.ugid) ||
        byString(a.roleid, b.roleid),
    );
}

function listRoles(ctx: RouteContext): unknown[] {
  const { engine } = ctx.cluster;
  return [...engine.rolePrivileges()]
    .sort(([a], [b]) => byString(a, b))
    .map(([roleid, privs]) => ({
      roleid,
      privs: [...privs].sort().join(","),
      special: engine.isBuiltinRole(roleid) ? 1 : 0,
    }));
}

function listTfa(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  const visible = userVisibility(ctx);
  return cluster.scenario.users
    .filter((u) => u.tfa.length > 0 && visible(u.userid))
    .sort((a, b) => byString(a.userid, b.userid))
    .map((u) => ({
      userid: u.userid,
      entries: u.tfa.map((t) => {
        const entry: Record<string, unknown> = {
          id: t.id,
          type: t.type,
          description: t.description,
          created: cluster.time(t.created),
        };
        // proxmox-tfa serializes `enable` only when it differs from the default.
        if (t.enable !== 1) entry["enable"] = 0;
        return entry;
      }),
    }));
}

function effectivePermissions(ctx: RouteContext): unknown {
  const { cluster, authid } = ctx;
  const target = param.optStr(ctx, "userid") ?? authid;
  const ownToken = target.includes("!") && splitTokenId(target).userid === authid;
  if (target !== authid && !ownToken && !cluster.engine.has(authid, "/access", "Sys.Audit")) {
    throw permissionDenied("/access, Sys.Audit");
  }
  const path = param.optStr(ctx, "path");
  if (path) return { [path]: privilegeMap(cluster, target, path) };
  const result: Record<string, Record<string, number>> = {};
  for (const p of cluster.engine.permissionPaths()) {
    const privs = privilegeMap(cluster, target, p);
    if (Object.keys(privs).length > 0) result[p] = privs;
  }
  return result;
}

/** RPCEnvironment::compute_api_permission: per GUI section, the privileges held anywhere below it. */
function computeCap(cluster: Cluster, userid: string): Record<string, Record<string, number>> {
  const cap: Record<string, Record<string, number>> = Object.fromEntries(CAP_SECTIONS.map(([s]) => [s, {}]));
  const grant = (section: string, priv: string) => ((cap[section] ??= {})[priv] = 1);
  const sections = new Map(CAP_SECTIONS);
  for (const path of new Set([...CAP_REQUIRED_PATHS, ...cluster.engine.aclTreePaths()])) {
    const toplevel = /^\/(\w+)/.exec(path)?.[1] ?? "dc";
    for (const priv of cluster.engine.permissions(userid, path).keys()) {
      if (toplevel === "pool") {
        if (priv.startsWith("VM.") || priv === "Permissions.Modify") grant("vms", priv);
        if (priv.startsWith("Datastore.") || priv === "Permissions.Modify") grant("storage", priv);
      } else if (sections.get(toplevel)?.test(priv)) {
        grant(toplevel, priv);
      }
    }
  }
  return cap;
}

/**
 * The half ticket PVE hands out while a second factor is pending ("PVE:!tfa!<challenge>:…"):
 * it names no user, so it never authenticates a request.
 */
function tfaChallenge(user: UserSpec, enforced: string | undefined): string {
  const enabled = user.tfa.filter((t) => t.enable === 1);
  const challenge: Record<string, unknown> = {};
  // A realm enforcing Yubico OTP asks for it whatever the user has configured.
  if (enforced !== "yubico" && enabled.some((t) => t.type === "totp")) challenge["totp"] = true;
  if (enforced === "yubico" || enabled.some((t) => t.type === "yubico")) challenge["yubico"] = true;
  if (enabled.some((t) => t.type === "recovery")) challenge["recovery"] = "available";
  return `!tfa!${encodeURIComponent(JSON.stringify(challenge))}`;
}

function ticketResult(cluster: Cluster, username: string, ticketData: string): Record<string, unknown> {
  return {
    ticket: createTicket(ticketData, cluster),
    username,
    CSRFPreventionToken: createCsrfToken(username, cluster),
  };
}

/** Every login failure looks the same, so that user names cannot be probed. */
function authFailure(): PveError {
  return new PveError(401, "authentication failure\n");
}

function createTicketRoute(ctx: RouteContext): unknown {
  const { cluster } = ctx;
  const realm = param.optStr(ctx, "realm");
  const username = realm ? `${param.str(ctx, "username")}@${realm}` : param.str(ctx, "username");
  const password = param.str(ctx, "password");
  const user = cluster.scenario.users.find((u) => u.userid === username);
  if (!user || !userActive(username, cluster)) throw authFailure();
  const domain = realms(cluster).find((r) => r.realm === realmOf(username));
  // The realm's plugin checks the password; an OpenID realm checks none (its users log in at the IdP).
  const passwordValid = () =>
    domain !== undefined && domain.type !== "openid" && checkPassword(username, password, cluster);

  const ticketUser = password.startsWith("PVE:") ? verifyTicket(password, cluster) : undefined;
  const path = param.optStr(ctx, "path");
  const privs = param.optStr(ctx, "privs");
  let result: Record<string, unknown>;
  if (path && privs) {
    // Verification mode: a ticket of this user or the password, then the privileges on the path.
    if (ticketUser !== username && !passwordValid()) throw authFailure();
    const normalized = normalizeAclPath(path);
    const wanted = privs.split(/[,;\s]+/).filter(Boolean);
    const held = normalized ? cluster.engine.permissions(username, normalized) : new Map();
    if (!normalized || wanted.length === 0 || !wanted.every((p) => held.has(p))) throw authFailure();
    result = { username };
  } else if (ticketUser === username || ticketUser === "root@pam") {
    result = ticketResult(cluster, username, username);
  } else {
    if (!passwordValid()) throw authFailure();
    const enforced = realmTfa(domain);
    // A realm enforcing TFA refuses its users without a factor ("missing required 2nd keys").
    if (enforced === "oath" && !user.tfa.some((t) => t.enable === 1)) throw authFailure();
    const needsSecondFactor = enforced !== undefined || user.tfa.some((t) => t.enable === 1);
    // The simulator knows no TOTP secrets, so no second factor can ever be verified.
    if (needsSecondFactor && (ctx.params["otp"] !== undefined || ctx.params["tfa-challenge"] !== undefined)) {
      throw authFailure();
    }
    result = needsSecondFactor
      ? { ...ticketResult(cluster, username, tfaChallenge(user, enforced)), NeedTFA: 1 }
      : ticketResult(cluster, username, username);
  }
  if (result["NeedTFA"] === undefined) result["cap"] = computeCap(cluster, username);
  if (cluster.scenario.clusterName && cluster.engine.has(username, "/", "Sys.Audit")) {
    result["clustername"] = cluster.scenario.clusterName;
  }
  return result;
}

/** The caller re-authenticates with its own password (RPCEnvironment::reauth_user_for_user_modification). */
function confirmCallerPassword(cluster: Cluster, authid: string, password: string | undefined): void {
  if (password === undefined) {
    throw parameterError({ "confirmation-password": "password is required to modify user" });
  }
  const stored = cluster.scenario.users.find((u) => u.userid === authid)?.password;
  if (realmOf(authid) === "pam") {
    if (stored !== password) throw new PveError(500, "auth failed: Authentication failure\n");
    return;
  }
  if (stored === undefined) throw new PveError(500, "no password set\n");
  if (stored !== password) throw new PveError(500, "invalid credentials\n");
}

function changePassword(ctx: RouteContext): null {
  const { cluster, authid } = ctx;
  const userid = param.str(ctx, "userid");
  const user = cluster.scenario.users.find((u) => u.userid === userid);
  if (!user) throw new PveError(500, `no such user ('${userid}')\n`);
  if (userid === "root@pam" && authid !== "root@pam") throw permissionDenied();
  if (authid !== "root@pam") {
    confirmCallerPassword(cluster, authid, param.optStr(ctx, "confirmation-password"));
    // Only root may set passwords of system (pam) users other than the caller's own.
    if (authid !== userid && realmOf(userid) === "pam") throw permissionDenied();
  }
  const realm = realmOf(userid);
  const type = realms(cluster).find((r) => r.realm === realm)?.type;
  if (!type) throw new PveError(500, `auth domain '${realm}' does not exist\n`);
  // Only the pam and pve plugins store passwords; a directory or IdP keeps its own.
  if (type !== "pam" && type !== "pve")
    throw new PveError(500, `can't set password on auth type '${type}'\n`);
  user.password = param.str(ctx, "password");
  return null;
}

export const accessRoutes: Route[] = [
  route("GET /access/users", listUsers),
  route("GET /access/users/{userid}", readUser),
  route("GET /access/groups", listGroups),
  route("GET /access/acl", listAcl),
  route("GET /access/roles", listRoles),
  route("GET /access/tfa", listTfa),
  route("GET /access/domains", listRealms),
  route("GET /access/domains/{realm}", readRealm),
  route("GET /access/permissions", effectivePermissions),
  route("POST /access/ticket", createTicketRoute),
  route("PUT /access/password", changePassword),
];
