/**
 * Accounts and rights: API tokens (privilege separation, root's tokens, expiry, owners
 * that are gone), users without a second factor, write roles granted broadly, expired or
 * disabled users that still hold them, pam accounts used for the API, and the realms
 * users log in through (enforced second factor, LDAP without TLS).
 */
import { PveApiError } from "../../pve/errors.js";
import { cleanText } from "../../untrusted.js";
import { REFERENCES } from "../references.js";
import {
  acl,
  ADMIN_PRIVILEGES,
  adminPrivilegesOf,
  age,
  groupsOf,
  hasSecondFactor,
  isEnabled,
  isExpired,
  isOn,
  principal,
  realmOf,
  roles,
  users,
  type AclEntry,
  type PveTfaUser,
  type PveToken,
  type PveUser,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";

const USERS_NEED = "Sys.Audit on /access/groups";
const ACL_NEED = "Sys.Audit on /access";

/**
 * User, group, token, role and realm ids, ACL paths, server names: PVE's formats leave
 * room for characters a reader must not be shown raw, so they are cleaned and capped.
 */
const clean = (text: string, max = 128) => cleanText(text, max);

interface Token {
  user: PveUser;
  token: PveToken;
  /** The raw `user@realm!name`, for requests and ACL matching. */
  tokenid: string;
  /** The same, cleaned: for a finding's text. */
  id: string;
  privsep: boolean;
}

/** Every token with its owner. PVE's default for privsep is 1. */
async function tokens(ctx: AuditContext): Promise<Token[]> {
  return (await users(ctx)).flatMap((user) =>
    (user.tokens ?? []).map((token) => ({
      user,
      token,
      tokenid: `${user.userid}!${token.tokenid}`,
      id: clean(`${user.userid}!${token.tokenid}`),
      privsep: token.privsep === undefined || isOn(token.privsep),
    })),
  );
}

/** `pveum user token modify <user> <name>`: the owner and the token's name, cleaned. */
function tokenArgs(t: Token): string {
  return `${clean(t.user.userid)} ${clean(t.token.tokenid)}`;
}

/** `pveum ... --users x` / `--groups g` / `--tokens 'u!t'`: the ACL principal option. */
function principalOption(e: AclEntry): string {
  if (e.type === "group") return `--groups ${clean(e.ugid)}`;
  return e.type === "token" ? `--tokens '${clean(e.ugid)}'` : `--users ${clean(e.ugid)}`;
}

function privilegeList(privileges: string[], max = 4): string {
  const shown = privileges.slice(0, max).join(", ");
  return privileges.length > max ? `${shown} (+${privileges.length - max} more)` : shown;
}

/** "a; b; c (+2 more)": a list for an evidence line. */
function listed(items: string[], max = 3): string {
  const shown = items.slice(0, max).join("; ");
  return items.length > max ? `${shown} (+${items.length - max} more)` : shown;
}

/** The ACL entries of `u` itself and of its groups (what PVE resolves a user's roles from). */
function entriesOf(u: PveUser, entries: AclEntry[]): AclEntry[] {
  const groups = new Set(groupsOf(u));
  return entries.filter(
    (e) => (e.type === "user" && e.ugid === u.userid) || (e.type === "group" && groups.has(e.ugid)),
  );
}

/** "PVEVMAdmin on /pool/dev via @devs". */
function grantText(e: AclEntry): string {
  return `${clean(e.roleid, 64)} on ${clean(e.path)}${e.type === "group" ? ` via @${clean(e.ugid)}` : ""}`;
}

/** A role that grants something: NoAccess and empty roles hold no privilege. */
function grantsAnything(roleMap: Map<string, Set<string>>, e: AclEntry): boolean {
  return (roleMap.get(e.roleid)?.size ?? 0) > 0;
}

/** Why an account cannot log in any more, or undefined when it can. */
function inactiveReason(u: PveUser, now: number): string | undefined {
  if (!isEnabled(u)) return "is disabled";
  if (isExpired(u, now)) return `expired ${age(now - (u.expire ?? 0))} ago`;
  return undefined;
}

/** An entry of GET /access/domains; `tfa` is the enforced second factor's type (oath or yubico). */
interface PveRealm {
  realm: string;
  type: string;
  tfa?: string;
  comment?: string;
}

/** Every realm by id (GET /access/domains: PVE answers it to anyone, the login box needs it). */
async function realms(ctx: AuditContext): Promise<Map<string, PveRealm>> {
  const list = await ctx.get<PveRealm[]>("/access/domains");
  return new Map([...list].sort((a, b) => (a.realm < b.realm ? -1 : 1)).map((r) => [r.realm, r]));
}

const DIRECTORY_REALMS = new Set(["ldap", "ad"]);

/** Users with a second factor of their own (an enabled entry other than recovery keys), and those with any entry. */
async function ownFactors(ctx: AuditContext): Promise<{ enrolled: Set<string>; anyEntry: Set<string> }> {
  const tfa = await ctx.get<PveTfaUser[]>("/access/tfa");
  return {
    enrolled: new Set(tfa.filter(hasSecondFactor).map((u) => u.userid)),
    anyEntry: new Set(tfa.filter((u) => (u.entries ?? []).length > 0).map((u) => u.userid)),
  };
}

export const tokenPrivsep = defineCheck({
  id: "token-privsep",
  code: "PVE-ACC-001",
  references: [REFERENCES.apiTokens],
  severity: "high",
  title: "API tokens without privilege separation",
  needs: USERS_NEED,
  async run(ctx) {
    return (
      (await tokens(ctx))
        // root@pam's tokens: token-root says it, with the privsep detail.
        .filter((t) => !t.privsep && t.user.userid !== "root@pam")
        .map((t) => ({
          check: "token-privsep",
          severity: "high",
          title: `Token ${t.id} runs without privilege separation`,
          object: t.id,
          evidence: `privsep=0: it holds every privilege of ${clean(t.user.userid)}`,
          remediation: `give it its own narrow ACL, then: pveum user token modify ${tokenArgs(t)} --privsep 1`,
        }))
    );
  },
});

export const tokenRoot = defineCheck({
  id: "token-root",
  code: "PVE-ACC-002",
  references: [REFERENCES.apiTokens],
  severity: "high",
  title: "API tokens of root@pam",
  needs: USERS_NEED,
  async run(ctx) {
    return (await tokens(ctx))
      .filter((t) => t.user.userid === "root@pam")
      .map((t) => ({
        check: "token-root",
        severity: "high",
        title: `Token ${t.id} belongs to root@pam`,
        object: t.id,
        evidence: t.privsep
          ? "privsep=1, but owned by root@pam"
          : "privsep=0: every privilege on every object",
        remediation: `use a dedicated user's token with a narrow role, then: pveum user token remove root@pam ${clean(t.token.tokenid)}`,
      }));
  },
});

/** The admin privileges a token holds somewhere, and the paths it holds them on (most general first). */
interface AdminRights {
  privileges: string[];
  paths: string[];
}

/**
 * The admin rights of each token that never expires, from PVE's own computation (GET
 * /access/permissions?userid=<token>): its user's rights for privsep=0, for privsep=1 its
 * own ACL intersected with them, ACLs on /pool/<id> applied to the pool's guests and
 * storages, groups resolved. A token whose rights this token may not read is left out
 * (with a gap), so neither token-expiry check claims to know them.
 */
async function neverExpiring(ctx: AuditContext): Promise<{ token: Token; rights?: AdminRights }[]> {
  const list = (await tokens(ctx)).filter((t) => (t.token.expire ?? 0) === 0);
  const rights = new Map<string, AdminRights>();
  await ctx.each(
    list,
    (t) => `the rights of token ${t.id}`,
    async (t) => {
      const effective = await ctx.getOrGap<Record<string, Record<string, number>>>(
        "/access/permissions",
        {},
        "the effective rights of tokens that never expire (whether they hold admin privileges)",
        ACL_NEED,
        { userid: t.tokenid },
      );
      if (!effective) return;
      const held = new Set<string>();
      const paths: string[] = [];
      for (const [path, privileges] of Object.entries(effective)) {
        const admin = ADMIN_PRIVILEGES.filter((p) => p in privileges);
        if (admin.length === 0) continue;
        paths.push(path);
        for (const p of admin) held.add(p);
      }
      const depth = (path: string) => path.split("/").filter(Boolean).length;
      paths.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
      rights.set(t.tokenid, { privileges: ADMIN_PRIVILEGES.filter((p) => held.has(p)), paths });
    },
  );
  return list.map((token) => ({ token, rights: rights.get(token.tokenid) }));
}

const isPrivileged = (rights: AdminRights | undefined): rights is AdminRights =>
  rights !== undefined && rights.privileges.length > 0;

/** Set an expiry three months out, then rotate the secret before it. */
const setExpiry = (t: Token) =>
  `set an expiry and rotate the secret before it: pveum user token modify ${tokenArgs(t)} --expire $(date -d '+90 days' +%s)`;

// token-expiry and token-expiry-privileged split the tokens that never expire between
// them: a token with an admin privilege anywhere is token-expiry-privileged's (high),
// every other one, and one whose rights could not be read, token-expiry's (low).
export const tokenExpiry = defineCheck({
  id: "token-expiry",
  code: "PVE-ACC-003",
  references: [REFERENCES.apiTokens],
  severity: "low",
  title:
    "API tokens without admin privileges that never expire (those with them: token-expiry-privileged), and expired tokens still configured",
  needs: `${USERS_NEED} and ${ACL_NEED}`,
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const { token: t, rights } of await neverExpiring(ctx)) {
      if (isPrivileged(rights)) continue;
      findings.push({
        check: "token-expiry",
        severity: "low",
        title: `Token ${t.id} never expires`,
        object: t.id,
        evidence: rights
          ? "expire=0: a leaked secret stays valid forever"
          : "expire=0: a leaked secret stays valid forever (whether it holds admin privileges could not be read)",
        remediation: setExpiry(t),
      });
    }
    for (const t of await tokens(ctx)) {
      const expire = t.token.expire ?? 0;
      if (expire === 0 || expire > ctx.nowSeconds) continue;
      findings.push({
        check: "token-expiry",
        severity: "low",
        title: `Token ${t.id} expired ${age(ctx.nowSeconds - expire)} ago and is still configured`,
        object: t.id,
        evidence: `expired on ${new Date(expire * 1000).toISOString().slice(0, 10)}`,
        remediation: `remove it: pveum user token remove ${tokenArgs(t)}`,
      });
    }
    return findings;
  },
});

export const tokenExpiryPrivileged = defineCheck({
  id: "token-expiry-privileged",
  code: "PVE-ACC-009",
  references: [REFERENCES.apiTokens, REFERENCES.permissions],
  severity: "high",
  title:
    "API tokens with admin privileges (Permissions.Modify, Sys.Modify, VM.Allocate...) that never expire (the others: token-expiry)",
  needs: `${USERS_NEED} and ${ACL_NEED}`,
  async run(ctx) {
    const [list, entries, roleMap] = await Promise.all([neverExpiring(ctx), acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const { token: t, rights } of list) {
      if (!isPrivileged(rights)) continue;
      // The grants behind the rights: the token's own for privsep=1, its user's (and groups') for privsep=0.
      const grants = (
        t.privsep
          ? entries.filter((e) => e.type === "token" && e.ugid === t.tokenid)
          : entriesOf(t.user, entries)
      ).filter((e) => adminPrivilegesOf(roleMap.get(e.roleid)).length > 0);
      const source = t.privsep
        ? "privsep=1, its own ACL"
        : t.user.userid === "root@pam"
          ? "privsep=0: root@pam's rights, every privilege"
          : `privsep=0: ${clean(t.user.userid)}'s rights`;
      const where = `${clean(rights.paths[0]!)}${rights.paths.length > 1 ? ` (+${rights.paths.length - 1} more paths)` : ""}`;
      findings.push({
        check: "token-expiry-privileged",
        severity: "high",
        title: `Token ${t.id} holds admin privileges and never expires`,
        object: t.id,
        evidence: `expire=0, ${source}: ${privilegeList(rights.privileges, 3)} on ${where}${grants.length > 0 ? `; from ${listed(grants.map(grantText), 2)}` : ""}`,
        remediation: setExpiry(t),
      });
    }
    return findings;
  },
});

export const tokenOwnerInactive = defineCheck({
  id: "token-owner-inactive",
  code: "PVE-ACC-004",
  references: [REFERENCES.apiTokens, REFERENCES.userManagement],
  severity: "medium",
  title: "Tokens of disabled or expired users",
  needs: USERS_NEED,
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const t of await tokens(ctx)) {
      const reason = inactiveReason(t.user, ctx.nowSeconds);
      if (!reason) continue;
      findings.push({
        check: "token-owner-inactive",
        severity: "medium",
        title: `Token ${t.id} outlives its user, who ${reason}`,
        object: t.id,
        evidence: `${clean(t.user.userid)} ${reason}; the token works again once the account is re-enabled`,
        remediation: `remove it: pveum user token remove ${tokenArgs(t)}`,
      });
    }
    return findings;
  },
});

/**
 * Realm types whose users log in with a password PVE checks: its own (pve), the node's
 * (pam), or the directory's (ldap, ad). OpenID users log in at their identity provider,
 * which does the second factor (or not) where PVE cannot see it.
 */
const PASSWORD_REALMS = new Set(["pam", "pve", "ldap", "ad"]);

// user-tfa and realm-tfa split the work by object: user-tfa names each user who logs in
// with a password alone (no factor of its own, in a realm that enforces none), realm-tfa
// names the LDAP/AD realm whose setting would enforce one for all its users at once.
export const userTfa = defineCheck({
  id: "user-tfa",
  code: "PVE-ACC-005",
  references: [REFERENCES.tfa],
  severity: "medium",
  title:
    "Users of the pam, pve, LDAP and AD realms without a second factor, where the realm enforces none (OpenID left out: its identity provider does MFA)",
  needs: USERS_NEED,
  async run(ctx) {
    const [all, factors, realmMap] = await Promise.all([users(ctx), ownFactors(ctx), realms(ctx)]);
    const findings: CheckFinding[] = [];
    for (const u of all) {
      const realm = realmMap.get(realmOf(u.userid));
      // A realm that enforces TFA refuses its users without a factor: they are covered.
      if (!realm || !PASSWORD_REALMS.has(realm.type) || realm.tfa) continue;
      if (inactiveReason(u, ctx.nowSeconds) || factors.enrolled.has(u.userid)) continue;
      const uid = clean(u.userid);
      const who =
        realm.type === realm.realm
          ? `enabled ${realm.type} user`
          : `enabled user of ${realm.type} realm ${clean(realm.realm)} (which enforces no TFA)`;
      findings.push({
        check: "user-tfa",
        severity: u.userid === "root@pam" ? "high" : "medium",
        title: `User ${uid} logs in without a second factor`,
        object: uid,
        evidence: factors.anyEntry.has(u.userid)
          ? `${who}; only recovery keys or disabled factors`
          : `${who}, no TOTP/WebAuthn/YubiKey`,
        remediation:
          "add TOTP or WebAuthn (Datacenter > Permissions > Two Factor), or disable the user if only its tokens are used",
      });
    }
    return findings;
  },
});

export const realmTfa = defineCheck({
  id: "realm-tfa",
  code: "PVE-ACC-010",
  references: [REFERENCES.tfa, REFERENCES.realms],
  severity: "medium",
  title: "LDAP and AD realms that enforce no second factor while their users hold roles",
  needs: `${USERS_NEED} and ${ACL_NEED}`,
  async run(ctx) {
    const [realmMap, all, entries, roleMap, factors] = await Promise.all([
      realms(ctx),
      users(ctx),
      acl(ctx),
      roles(ctx),
      ownFactors(ctx),
    ]);
    const findings: CheckFinding[] = [];
    for (const realm of realmMap.values()) {
      if (!DIRECTORY_REALMS.has(realm.type) || realm.tfa) continue;
      const members = all
        .filter((u) => realmOf(u.userid) === realm.realm && !inactiveReason(u, ctx.nowSeconds))
        .map((u) => ({ u, grants: entriesOf(u, entries).filter((e) => grantsAnything(roleMap, e)) }))
        .filter((m) => m.grants.length > 0);
      if (members.length === 0) continue;
      const id = clean(realm.realm, 32);
      const bare = members.filter((m) => !factors.enrolled.has(m.u.userid)).length;
      findings.push({
        check: "realm-tfa",
        severity: "medium",
        title: `Realm ${id} (${realm.type}) lets users with roles log in with their directory password alone`,
        object: `realm ${id}`,
        evidence: `no tfa in the realm's settings; users with roles: ${listed(members.map((m) => `${clean(m.u.userid)} (${grantText(m.grants[0]!)})`))}; ${bare} of ${members.length} without a factor of their own`,
        remediation: `have its users add TOTP first (the realm then refuses those without one), then: pveum realm modify ${id} --tfa type=oath`,
      });
    }
    return findings;
  },
});

/** The keys of GET /access/domains/{realm} a directory realm's connection depends on. */
interface DirectoryConfig {
  mode?: string;
  secure?: unknown;
  verify?: unknown;
  server1?: string;
  server2?: string;
  port?: number | string;
  bind_dn?: string;
}

/**
 * pve-access-control's LDAP::get_scheme_and_port: `mode`, else the older `secure` flag
 * (ldaps), else plain ldap; the port defaults to 636 for ldaps, 389 otherwise.
 */
function schemeOf(config: DirectoryConfig): string {
  return typeof config.mode === "string" ? config.mode : isOn(config.secure) ? "ldaps" : "ldap";
}

function connectionEvidence(config: DirectoryConfig, scheme: string): string {
  const mode =
    config.mode !== undefined
      ? clean(String(config.mode), 20)
      : `unset (secure ${config.secure === undefined ? "unset" : clean(String(config.secure), 10)}, so ${scheme})`;
  const port =
    config.port !== undefined
      ? clean(String(config.port), 10)
      : `${scheme === "ldaps" ? 636 : 389} (default)`;
  const verify = config.verify === undefined ? "unset (default 0)" : clean(String(config.verify), 10);
  const servers = `server1 ${clean(config.server1 ?? "?", 100)}${config.server2 ? `, server2 ${clean(config.server2, 100)}` : ""}`;
  return `mode ${mode}, ${servers}, port ${port}, verify ${verify}`;
}

export const realmLdapTls = defineCheck({
  id: "realm-ldap-tls",
  code: "PVE-ACC-011",
  references: [REFERENCES.ldapRealm, REFERENCES.realms],
  severity: "high",
  title:
    "LDAP and AD realms that send bind and user passwords unencrypted (mode ldap) or over TLS without checking the certificate (verify off)",
  needs: "Sys.Audit on /access/realm",
  async run(ctx) {
    // Only directory realms are read: an OpenID realm's section holds its client-key in plain text.
    const directories = [...(await realms(ctx)).values()].filter((r) => DIRECTORY_REALMS.has(r.type));
    const configs: { realm: PveRealm; config: DirectoryConfig }[] = [];
    const refused: string[] = [];
    await ctx.each(
      directories,
      (r) => `realm ${clean(r.realm, 32)}`,
      async (realm) => {
        try {
          configs.push({
            realm,
            config: await ctx.get<DirectoryConfig>("/access/domains/{realm}", { realm: realm.realm }),
          });
        } catch (err) {
          if (!(err instanceof PveApiError && err.status === 403)) throw err;
          refused.push(clean(realm.realm, 32));
        }
      },
    );
    if (refused.length > 0) {
      ctx.gap(
        `the connection settings of realm(s) ${refused.sort().join(", ")}`,
        "Sys.Audit on /access/realm",
      );
    }
    const findings: CheckFinding[] = [];
    for (const { realm, config } of configs.sort((a, b) => (a.realm.realm < b.realm.realm ? -1 : 1))) {
      const scheme = schemeOf(config);
      const plain = scheme === "ldap";
      if (!plain && isOn(config.verify)) continue;
      const id = clean(realm.realm, 32);
      const server = clean(config.server1 ?? "its server", 100);
      const passwords = config.bind_dn ? "the bind password and users' passwords" : "users' passwords";
      findings.push({
        check: "realm-ldap-tls",
        severity: "high",
        title: plain
          ? `Realm ${id} (${realm.type}) sends passwords to ${server} unencrypted`
          : `Realm ${id} (${realm.type}) does not check the certificate of ${server}`,
        object: `realm ${id}`,
        evidence: `${connectionEvidence(config, scheme)}: ${plain ? `${passwords} cross the network in the clear` : `anyone on the path can pose as the server and read ${passwords}`}`,
        remediation: `pveum realm modify ${id} ${plain ? "--mode ldaps --verify 1" : "--verify 1"} (the server's CA in the system store, or --capath <CA certificate file>)`,
      });
    }
    return findings;
  },
});

/** ACL paths that cover a whole kind of object when propagated. */
const TOP_LEVEL = /^\/(vms|storage|nodes|access|pool|sdn|mapping)$/;

export const aclBroadAdmin = defineCheck({
  id: "acl-broad-admin",
  code: "PVE-ACC-006",
  references: [REFERENCES.permissions],
  severity: "high",
  title:
    "Write roles (Administrator, PVEAdmin...) granted broadly, and Permissions.Modify on any path (pools included)",
  needs: ACL_NEED,
  async run(ctx) {
    const [entries, roleMap] = await Promise.all([acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const e of entries) {
      const admin = adminPrivilegesOf(roleMap.get(e.roleid));
      // root@pam holds everything anyway; its tokens are token-root's business.
      if (admin.length === 0 || e.ugid === "root@pam") continue;
      const propagated = isOn(e.propagate);
      const delegates = admin.includes("Permissions.Modify");
      let severity: CheckFinding["severity"];
      if (e.path === "/" && propagated) severity = delegates ? "critical" : "high";
      else if (e.path === "/" || (TOP_LEVEL.test(e.path) && propagated)) severity = "medium";
      // Whoever may modify permissions on a path may grant any role there, to itself too;
      // on /pool/<id> that covers the pool's guests and storages. Other write roles on
      // one object (PVEVMAdmin on a pool, Sys.Modify on one node for a token that reads
      // pending updates) are ordinary delegation.
      else if (delegates) severity = "medium";
      else continue;
      const who = e.type === "group" ? "Group" : e.type === "token" ? "Token" : "User";
      const path = clean(e.path);
      const narrow = !(e.path === "/" || TOP_LEVEL.test(e.path));
      findings.push({
        check: "acl-broad-admin",
        severity,
        title: `${who} ${clean(principal(e))} holds ${clean(e.roleid, 64)} on ${path}${propagated ? " (propagated to everything below)" : ""}`,
        object: `${clean(principal(e))}: ${clean(e.roleid, 64)} on ${path}`,
        evidence: narrow
          ? `Permissions.Modify: it may grant any role on ${path}${e.path.startsWith("/pool/") ? " (the pool's guests and storages)" : ""} to anyone, itself included`
          : `write privileges: ${privilegeList(admin, 3)}`,
        remediation: `grant narrower roles where needed (e.g. PVEVMUser or PVEVMAdmin on /pool/<pool>, which cannot hand out rights), then: pveum acl delete ${path} ${principalOption(e)} --roles ${clean(e.roleid, 64)}`,
      });
    }
    return findings;
  },
});

export const userExpiredAdmin = defineCheck({
  id: "user-expired-admin",
  code: "PVE-ACC-007",
  references: [REFERENCES.userManagement, REFERENCES.permissions],
  severity: "medium",
  title: "Expired or disabled users that still hold write roles",
  needs: `${USERS_NEED} and ${ACL_NEED}`,
  async run(ctx) {
    const [all, entries, roleMap] = await Promise.all([users(ctx), acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const u of all) {
      const reason = inactiveReason(u, ctx.nowSeconds);
      if (!reason) continue;
      const grants = entriesOf(u, entries).filter((e) => adminPrivilegesOf(roleMap.get(e.roleid)).length > 0);
      if (grants.length === 0) continue;
      const via = grants.map(grantText);
      const viaGroups = [
        ...new Set(grants.filter((e) => e.type === "group").map((e) => `@${clean(e.ugid)}`)),
      ];
      const uid = clean(u.userid);
      findings.push({
        check: "user-expired-admin",
        severity: "medium",
        title: `User ${uid} ${reason} but still holds ${via[0]}`,
        object: uid,
        evidence: `${reason}; write grants: ${listed(via)}`,
        remediation:
          viaGroups.length > 0
            ? `take ${uid} out of ${viaGroups.join(", ")} (pveum user modify ${uid} --groups <the others>), or delete the user`
            : `remove the grants (pveum acl delete <path> --users ${uid} --roles <role>), or delete the user`,
      });
    }
    return findings;
  },
});

export const pamUserRoles = defineCheck({
  id: "pam-user-roles",
  code: "PVE-ACC-008",
  references: [REFERENCES.pamRealm, REFERENCES.realms],
  severity: "medium",
  title:
    "Users of the pam realm other than root@pam that hold roles (a Linux account's password is their login)",
  needs: `${USERS_NEED} and ${ACL_NEED}`,
  async run(ctx) {
    const [all, entries, roleMap] = await Promise.all([users(ctx), acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const u of all) {
      // Accounts that cannot log in are user-expired-admin's business.
      if (realmOf(u.userid) !== "pam" || u.userid === "root@pam" || inactiveReason(u, ctx.nowSeconds))
        continue;
      const grants = entriesOf(u, entries).filter((e) => grantsAnything(roleMap, e));
      if (grants.length === 0) continue;
      const uid = clean(u.userid);
      const name = clean(u.userid.slice(0, u.userid.lastIndexOf("@")), 64);
      findings.push({
        check: "pam-user-roles",
        severity: "medium",
        title: `User ${uid} logs in to PVE with a Linux account's password`,
        object: uid,
        evidence: `a Linux account on the nodes (the same password opens the GUI, the API and, where allowed, SSH); roles: ${listed(grants.map(grantText))}`,
        remediation: `move it to the pve realm (or an LDAP/OpenID realm): pveum user add ${name}@pve, give it the same roles (pveum acl modify <path> --users ${name}@pve --roles <role>), then pveum user delete ${uid}; at least require a second factor for it`,
      });
    }
    return findings;
  },
});

export const accessChecks = [
  tokenPrivsep,
  tokenRoot,
  tokenExpiry,
  tokenOwnerInactive,
  userTfa,
  aclBroadAdmin,
  userExpiredAdmin,
  pamUserRoles,
  tokenExpiryPrivileged,
  realmTfa,
  realmLdapTls,
] as const;
