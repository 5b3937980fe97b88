/**
 * Proxmox Backup Server access: who may change or delete backups. PBS tokens have no
 * privilege-separation switch: a token's rights are its own ACL intersected with its
 * user's (root@pam, the superuser, holds everything), so a token's broad entry counts for
 * as much as its user also holds there. Without Sys.Audit on /access PBS lists only the
 * token's own user, entries and factors: the read model states that as a gap.
 */
import {
  isTokenId,
  neverExpires,
  pbsAcl,
  pbsRoles,
  pbsTfa,
  pbsUsers,
  READ_ONLY_ROLES,
  userOfAuthId,
} from "../../pbs/model/access.js";
import type { PbsAclEntry, PbsRole } from "../../pbs/model/types.js";
import { REFERENCES } from "../references.js";
import { age } from "../shared.js";
import { defineCheck, type AuditCheck, type CheckFinding } from "../types.js";
import { pbsOf, shown } from "./pbs.js";

/** Privileges that change or delete backups, their configuration or who may do so. */
export const PBS_BROAD_PRIVILEGES = ["Permissions.Modify", "Sys.Modify", "Datastore.Modify"] as const;
/** Roles broad by name (they hold some of those privileges anyway). */
const BROAD_ROLE_NAMES = new Set(["Admin", "DatastoreAdmin"]);
/** Where a broad role is broad: the whole server, or every datastore. */
const BROAD_PATHS = new Set(["/", "/datastore"]);

const normalize = (path: string) => `/${path.split("/").filter(Boolean).join("/")}`;

/** The broad privileges of a role (by PBS's /access/roles; Admin holds all). */
export function broadPrivilegesOf(roleid: string, roles: readonly PbsRole[]): string[] {
  const privs = new Set(roles.find((r) => r.roleid === roleid)?.privs ?? []);
  if (roleid === "Admin") return [...PBS_BROAD_PRIVILEGES];
  return PBS_BROAD_PRIVILEGES.filter((p) => privs.has(p));
}

/**
 * Which of `privileges` the user holds on `path` by the ACL (an entry on the path, or a
 * propagating one above it); root@pam holds everything. PBS's nearest-entry rule is
 * approximated by "any entry": enough to tell whether a token's entry is capped.
 */
export function userHoldsOn(
  userid: string,
  path: string,
  privileges: readonly string[],
  acl: readonly PbsAclEntry[],
  roles: readonly PbsRole[],
): string[] {
  if (userid === "root@pam") return [...privileges];
  const target = normalize(path);
  const held = new Set<string>();
  for (const e of acl) {
    if (e.ugid !== userid) continue;
    const at = normalize(e.path);
    const covers = at === target || (e.propagate && (at === "/" || target.startsWith(`${at}/`)));
    if (!covers) continue;
    const privs = e.roleid === "Admin" ? privileges : (roles.find((r) => r.roleid === e.roleid)?.privs ?? []);
    for (const p of privs) if (privileges.includes(p)) held.add(p);
  }
  return privileges.filter((p) => held.has(p));
}

export const pbsBroadRole = defineCheck({
  id: "pbs-broad-role",
  code: "PBS-ACC-001",
  service: "pbs",
  references: [REFERENCES.pbsAcl, REFERENCES.pbsTokens],
  severity: "high",
  title:
    "Users and tokens with a broad role (Admin, DatastoreAdmin, or any role with Datastore.Modify, Sys.Modify or Permissions.Modify) on / or /datastore, propagated",
  needs: "Sys.Audit on /access/acl (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [acl, roles] = await Promise.all([pbsAcl(pbs), pbsRoles(pbs)]);
    const findings: CheckFinding[] = [];
    for (const e of acl) {
      const path = normalize(e.path);
      if (!BROAD_PATHS.has(path) || !e.propagate) continue;
      const broad = broadPrivilegesOf(e.roleid, roles);
      if (broad.length === 0 && !BROAD_ROLE_NAMES.has(e.roleid)) continue;
      const who = shown(e.ugid, 130);
      const role = shown(e.roleid);
      const token = isTokenId(e.ugid);
      const capped = token ? userHoldsOn(userOfAuthId(e.ugid), path, broad, acl, roles) : broad;
      const severity =
        token && capped.length === 0 ? "low" : broad.includes("Permissions.Modify") ? "critical" : "high";
      const what = broad.length > 0 ? broad.join(", ") : "write privileges";
      findings.push({
        check: "pbs-broad-role",
        severity,
        title: `${token ? "Token" : "User"} ${who} holds ${role} on ${path} of ${pbs.name}`,
        object: `${who}: ${role} on ${path}`,
        evidence: `${role} (${what}) on ${path}, propagated to ${path === "/" ? "everything" : "every datastore"}${
          token
            ? capped.length === 0
              ? `; capped by its user ${shown(userOfAuthId(e.ugid), 64)}, who holds none of them there (a token's rights are its ACL intersected with its user's)`
              : `; its user ${shown(userOfAuthId(e.ugid), 64)} holds ${capped.join(", ")} there too, so the token has them`
            : ""
        }: it may ${broad.includes("Permissions.Modify") ? "grant itself anything, " : ""}delete or prune backups and change datastores`,
        // Quoted: an interactive shell expands the "!" of a token id.
        remediation: `proxmox-backup-manager acl update ${path} ${role} --auth-id '${who}' --delete true, then grant only what it needs where it needs it, e.g. proxmox-backup-manager acl update /datastore/<store> DatastoreBackup --auth-id '${who}'`,
      });
    }
    return findings.sort((a, b) => a.object.localeCompare(b.object, "en"));
  },
});

export const pbsTokenExpiry = defineCheck({
  id: "pbs-token-expiry",
  code: "PBS-ACC-002",
  service: "pbs",
  references: [REFERENCES.pbsTokens],
  severity: "low",
  title: "Enabled API tokens that never expire (medium when the token holds more than an audit role)",
  needs: "Sys.Audit on /access/users and /access/acl (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [users, acl] = await Promise.all([pbsUsers(pbs), pbsAcl(pbs)]);
    const findings: CheckFinding[] = [];
    for (const u of users) {
      for (const t of u.tokens ?? []) {
        if (t.enable === false || !neverExpires(t)) continue;
        const id = shown(t.tokenid, 130);
        const writes = acl.filter((e) => e.ugid === t.tokenid && !READ_ONLY_ROLES.has(e.roleid));
        const [user, name] = [shown(u.userid, 64), shown(t.tokenid.slice(t.tokenid.indexOf("!") + 1), 64)];
        findings.push({
          check: "pbs-token-expiry",
          severity: writes.length > 0 ? "medium" : "low",
          title: `Token ${id} never expires`,
          object: id,
          evidence: `expire 0 (never)${
            writes.length > 0
              ? `; it holds ${writes.map((e) => `${shown(e.roleid)} on ${shown(normalize(e.path), 200)}`).join(", ")}`
              : ""
          }: a leaked secret works until someone notices`,
          remediation: `set an expiry: PBS GUI Configuration > Access Control > API Token > Edit > Expire (API: PUT /access/users/${user}/token/${name} expire=<epoch>), and rotate it before then`,
        });
      }
    }
    return findings.sort((a, b) => a.object.localeCompare(b.object, "en"));
  },
});

export const pbsTokenOwnerInactive = defineCheck({
  id: "pbs-token-owner-inactive",
  code: "PBS-ACC-003",
  service: "pbs",
  references: [REFERENCES.pbsTokens, REFERENCES.pbsUsers],
  severity: "low",
  title: "API tokens of disabled or expired users (dead but configured)",
  needs: "Sys.Audit on /access/users (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const users = await pbsUsers(pbs);
    const findings: CheckFinding[] = [];
    for (const u of users) {
      const expired = u.expire !== undefined && u.expire > 0 && u.expire < ctx.nowSeconds;
      const tokens = u.tokens ?? [];
      if ((u.enable !== false && !expired) || tokens.length === 0) continue;
      const user = shown(u.userid, 64);
      const why = u.enable === false ? "disabled" : `expired ${age(ctx.nowSeconds - u.expire!)} ago`;
      findings.push({
        check: "pbs-token-owner-inactive",
        severity: "low",
        title: `User ${user} is ${u.enable === false ? "disabled" : "expired"} but still owns ${tokens.length} token(s)`,
        object: user,
        evidence: `${why}; tokens ${tokens.map((t) => shown(t.tokenid, 130)).join(", ")}: PBS refuses them while the user is inactive, and they work again once it is re-enabled`,
        remediation: `proxmox-backup-manager user delete-token ${user} <token name> for each (or remove the user: proxmox-backup-manager user remove ${user})`,
      });
    }
    return findings.sort((a, b) => a.object.localeCompare(b.object, "en"));
  },
});

export const pbsUserTfa = defineCheck({
  id: "pbs-user-tfa",
  code: "PBS-ACC-004",
  service: "pbs",
  references: [REFERENCES.pbsTfa],
  severity: "medium",
  title:
    "Personal logins of the pam and pbs realms (root@pam, users with a first or last name) without a second factor; service accounts (no name) are left out",
  needs: "Sys.Audit on /access/users (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    if (!(await pbs.holds("/access/users", "Sys.Audit"))) {
      // The model states the gap; a token that sees only itself cannot judge anyone.
      await Promise.all([pbsUsers(pbs), pbsTfa(pbs)]);
      return [];
    }
    const [users, tfa] = await Promise.all([pbsUsers(pbs), pbsTfa(pbs)]);
    const findings: CheckFinding[] = [];
    for (const u of users) {
      const realm = u.userid.slice(u.userid.lastIndexOf("@") + 1);
      if (realm !== "pam" && realm !== "pbs") continue;
      if (u.enable === false || (u.expire !== undefined && u.expire > 0 && u.expire < ctx.nowSeconds))
        continue;
      const personal = u.userid === "root@pam" || Boolean(u.firstname) || Boolean(u.lastname);
      if (!personal) continue;
      const entries = (tfa.find((t) => t.userid === u.userid)?.entries ?? []).filter(
        (e) => e.enable !== false,
      );
      const factors = entries.filter((e) => e.type !== "recovery");
      if (factors.length > 0) continue;
      const user = shown(u.userid, 64);
      findings.push({
        check: "pbs-user-tfa",
        severity: u.userid === "root@pam" ? "high" : "medium",
        title: `User ${user} of ${pbs.name} logs in without a second factor`,
        object: user,
        evidence: `${entries.length > 0 ? "only recovery keys" : "no TOTP, WebAuthn or Yubico entry"} in /access/tfa; ${u.userid === "root@pam" ? "the superuser" : "a personal login"}: its password alone opens the PBS`,
        remediation: `log in as ${user} and add TOTP or WebAuthn (PBS GUI: Configuration > Access Control > Two Factor Authentication > Add), plus recovery keys`,
      });
    }
    return findings.sort((a, b) => a.object.localeCompare(b.object, "en"));
  },
});

export const pbsAccessChecks: readonly AuditCheck[] = [
  pbsBroadRole,
  pbsTokenExpiry,
  pbsTokenOwnerInactive,
  pbsUserTfa,
];
