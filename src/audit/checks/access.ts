/**
 * Accounts and rights: API tokens (privilege separation, root's tokens, expiry, owners
 * that are gone), users without a second factor, write roles granted broadly, and
 * expired or disabled users that still hold them.
 */
import { REFERENCES } from "../references.js";
import {
  acl,
  adminPrivilegesOf,
  age,
  groupsOf,
  isEnabled,
  isExpired,
  isOn,
  principal,
  realmOf,
  roles,
  users,
  type AclEntry,
  type PveUser,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";

const USERS_NEED = "Sys.Audit on /access/groups";

/** Every token with its owner. PVE's default for privsep is 1. */
async function tokens(ctx: AuditContext) {
  return (await users(ctx)).flatMap((user) =>
    (user.tokens ?? []).map((token) => ({
      user,
      token,
      id: `${user.userid}!${token.tokenid}`,
      privsep: token.privsep === undefined || isOn(token.privsep),
    })),
  );
}

/** `pveum ... --users x` / `--groups g` / `--tokens 'u!t'`: the ACL principal option. */
function principalOption(e: AclEntry): string {
  if (e.type === "group") return `--groups ${e.ugid}`;
  return e.type === "token" ? `--tokens '${e.ugid}'` : `--users ${e.ugid}`;
}

function privilegeList(privileges: string[], max = 4): string {
  const shown = privileges.slice(0, max).join(", ");
  return privileges.length > max ? `${shown} (+${privileges.length - max} more)` : shown;
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
        .map(({ user, token, id }) => ({
          check: "token-privsep",
          severity: "high",
          title: `Token ${id} runs without privilege separation`,
          object: id,
          evidence: `privsep=0: it holds every privilege of ${user.userid}`,
          remediation: `give it its own narrow ACL, then: pveum user token modify ${user.userid} ${token.tokenid} --privsep 1`,
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
      .map(({ token, id, privsep }) => ({
        check: "token-root",
        severity: "high",
        title: `Token ${id} belongs to root@pam`,
        object: id,
        evidence: privsep ? "privsep=1, but owned by root@pam" : "privsep=0: every privilege on every object",
        remediation: `use a dedicated user's token with a narrow role, then: pveum user token remove root@pam ${token.tokenid}`,
      }));
  },
});

export const tokenExpiry = defineCheck({
  id: "token-expiry",
  code: "PVE-ACC-003",
  references: [REFERENCES.apiTokens],
  severity: "low",
  title: "API tokens that never expire (or expired and still configured)",
  needs: USERS_NEED,
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const { user, token, id } of await tokens(ctx)) {
      const expire = token.expire ?? 0;
      if (expire === 0) {
        findings.push({
          check: "token-expiry",
          severity: "low",
          title: `Token ${id} never expires`,
          object: id,
          evidence: "expire=0: a leaked secret stays valid forever",
          remediation:
            "set an expiry (pveum user token modify <user> <token> --expire <epoch>) and rotate it before then",
        });
      } else if (expire <= ctx.nowSeconds) {
        findings.push({
          check: "token-expiry",
          severity: "low",
          title: `Token ${id} expired ${age(ctx.nowSeconds - expire)} ago and is still configured`,
          object: id,
          evidence: `expired on ${new Date(expire * 1000).toISOString().slice(0, 10)}`,
          remediation: `remove it: pveum user token remove ${user.userid} ${token.tokenid}`,
        });
      }
    }
    return findings;
  },
});

/** Why an account cannot log in any more, or undefined when it can. */
function inactiveReason(u: PveUser, now: number): string | undefined {
  if (!isEnabled(u)) return "is disabled";
  if (isExpired(u, now)) return `expired ${age(now - (u.expire ?? 0))} ago`;
  return undefined;
}

export const tokenOwnerInactive = defineCheck({
  id: "token-owner-inactive",
  code: "PVE-ACC-004",
  references: [REFERENCES.apiTokens, REFERENCES.userManagement],
  severity: "medium",
  title: "Tokens of disabled or expired users",
  needs: USERS_NEED,
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const { user, token, id } of await tokens(ctx)) {
      const reason = inactiveReason(user, ctx.nowSeconds);
      if (!reason) continue;
      findings.push({
        check: "token-owner-inactive",
        severity: "medium",
        title: `Token ${id} outlives its user, who ${reason}`,
        object: id,
        evidence: `${user.userid} ${reason}; the token works again once the account is re-enabled`,
        remediation: `remove it: pveum user token remove ${user.userid} ${token.tokenid}`,
      });
    }
    return findings;
  },
});

/** Realms where PVE itself checks a password, so a second factor matters. */
const INTERACTIVE_REALMS = new Set(["pam", "pve"]);

export const userTfa = defineCheck({
  id: "user-tfa",
  code: "PVE-ACC-005",
  references: [REFERENCES.tfa],
  severity: "medium",
  title: "Users of the pam and pve realms without a second factor",
  needs: USERS_NEED,
  async run(ctx) {
    const [all, tfa] = await Promise.all([
      users(ctx),
      ctx.get<{ userid: string; entries?: { type?: string; enable?: number }[] }[]>("/access/tfa"),
    ]);
    const withSecondFactor = new Set(
      tfa
        .filter((u) => (u.entries ?? []).some((e) => e.type !== "recovery" && e.enable !== 0))
        .map((u) => u.userid),
    );
    const recoveryOnly = new Set(tfa.filter((u) => (u.entries ?? []).length > 0).map((u) => u.userid));
    return all
      .filter((u) => INTERACTIVE_REALMS.has(u["realm-type"] ?? realmOf(u.userid)))
      .filter((u) => !inactiveReason(u, ctx.nowSeconds) && !withSecondFactor.has(u.userid))
      .map((u) => ({
        check: "user-tfa",
        severity: u.userid === "root@pam" ? "high" : "medium",
        title: `User ${u.userid} logs in without a second factor`,
        object: u.userid,
        evidence: recoveryOnly.has(u.userid)
          ? `enabled ${realmOf(u.userid)} user; only recovery keys or disabled factors`
          : `enabled ${realmOf(u.userid)} user, no TOTP/WebAuthn/YubiKey`,
        remediation:
          "add TOTP or WebAuthn (Datacenter > Permissions > Two Factor), or disable the user if only its tokens are used",
      }));
  },
});

/** ACL paths that cover a whole kind of object when propagated. */
const TOP_LEVEL = /^\/(vms|storage|nodes|access|pool|sdn|mapping)$/;

export const aclBroadAdmin = defineCheck({
  id: "acl-broad-admin",
  code: "PVE-ACC-006",
  references: [REFERENCES.permissions],
  severity: "high",
  title: "Write roles (Administrator, PVEAdmin...) granted broadly",
  needs: "Sys.Audit on /access",
  async run(ctx) {
    const [entries, roleMap] = await Promise.all([acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const e of entries) {
      const admin = adminPrivilegesOf(roleMap.get(e.roleid));
      // root@pam holds everything anyway; its tokens are token-root's business.
      if (admin.length === 0 || e.ugid === "root@pam") continue;
      const propagated = isOn(e.propagate);
      let severity: CheckFinding["severity"];
      if (e.path === "/" && propagated) severity = admin.includes("Permissions.Modify") ? "critical" : "high";
      else if (e.path === "/" || (TOP_LEVEL.test(e.path) && propagated)) severity = "medium";
      else continue;
      const who = e.type === "group" ? "Group" : e.type === "token" ? "Token" : "User";
      findings.push({
        check: "acl-broad-admin",
        severity,
        title: `${who} ${principal(e)} holds ${e.roleid} on ${e.path}${propagated ? " (propagated to everything below)" : ""}`,
        object: `${principal(e)}: ${e.roleid} on ${e.path}`,
        evidence: `write privileges: ${privilegeList(admin, 3)}`,
        remediation: `grant narrower roles where needed (e.g. PVEVMUser on /pool/<pool>), then: pveum acl delete ${e.path} ${principalOption(e)} --roles ${e.roleid}`,
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
  needs: `${USERS_NEED} and Sys.Audit on /access`,
  async run(ctx) {
    const [all, entries, roleMap] = await Promise.all([users(ctx), acl(ctx), roles(ctx)]);
    const findings: CheckFinding[] = [];
    for (const u of all) {
      const reason = inactiveReason(u, ctx.nowSeconds);
      if (!reason) continue;
      const groups = new Set(groupsOf(u));
      const grants = entries.filter(
        (e) =>
          adminPrivilegesOf(roleMap.get(e.roleid)).length > 0 &&
          ((e.type === "user" && e.ugid === u.userid) || (e.type === "group" && groups.has(e.ugid))),
      );
      if (grants.length === 0) continue;
      const via = grants.map((e) => `${e.roleid} on ${e.path}${e.type === "group" ? ` via @${e.ugid}` : ""}`);
      const viaGroups = [...new Set(grants.filter((e) => e.type === "group").map((e) => `@${e.ugid}`))];
      findings.push({
        check: "user-expired-admin",
        severity: "medium",
        title: `User ${u.userid} ${reason} but still holds ${via[0]}`,
        object: u.userid,
        evidence: `${reason}; write grants: ${via.slice(0, 3).join("; ")}${via.length > 3 ? ` (+${via.length - 3} more)` : ""}`,
        remediation:
          viaGroups.length > 0
            ? `take ${u.userid} out of ${viaGroups.join(", ")} (pveum user modify ${u.userid} --groups <the others>), or delete the user`
            : `remove the grants (pveum acl delete <path> --users ${u.userid} --roles <role>), or delete the user`,
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
] as const;
