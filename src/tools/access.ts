/**
 * Toolset "access": users with TFA and API tokens, ACL entries with their roles'
 * privileges, and what this server's read token may do. PVE filters users (and their
 * TFA entries) to those the caller may audit, and ACL entries to paths where it may
 * audit or change permissions: the read model (src/pve/model/access.ts) compares that with
 * the token's own rights and each answer states what it could not see.
 */
import { z } from "zod";
import {
  acl,
  enabledFactors,
  groups,
  hasSecondFactor,
  isEnabled,
  isExpired,
  propagates,
  realmOf,
  roleList,
  tfaEntries,
  users,
  type PveTfaUser,
  type PveUser,
} from "../pve/model/access.js";
import { formatDuration, WHOLE_DAYS } from "../pve/model/duration.js";
import { listOf } from "../pve/model/values.js";
import type { Permissions } from "../pve/model/visibility.js";
import { READ_ONLY_PRIVILEGES } from "../pve/privileges.js";
import { defineTool } from "./define.js";
import { paginate, pagingInput, pagingOutput, PAGED_RESULT_CHARS } from "./paging.js";
import { cleanText, LIMITS } from "../untrusted.js";
import { nowSeconds } from "./tasks.js";
import { gapsField, gapText } from "./visibility.js";

const COMMENT_MAX = 120;
/** "2026-11-22" */
const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

/** Privileges that let their holder raise its own rights or take over accounts or nodes. */
const ESCALATION_PRIVILEGES = [
  "Permissions.Modify",
  "User.Modify",
  "Group.Allocate",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "Sys.Modify",
  "Sys.Console",
];
const USER_AUDIT = ["Sys.Audit", "User.Modify"];

// ---------------------------------------------------------------------------------------
// get_users

const tokenSchema = z.object({
  id: z.string(),
  privsep: z.boolean(),
  expire: z.number().nullable(),
  expired: z.boolean(),
  comment: z.string().optional(),
  flags: z.array(z.string()),
});

const userSchema = z.object({
  userid: z.string(),
  realm: z.string(),
  realmType: z.string().optional(),
  enabled: z.boolean(),
  expire: z.number().nullable(),
  expired: z.boolean(),
  name: z.string().optional(),
  comment: z.string().optional(),
  groups: z.array(z.string()),
  /** Enabled TFA types; null when PVE did not show this token the TFA entries. */
  tfa: z.array(z.string()).nullable(),
  tokens: z.array(tokenSchema),
  flags: z.array(z.string()),
});
type UserRow = z.infer<typeof userSchema>;

function userRow(u: PveUser, tfa: PveTfaUser | undefined | null, now: number): UserRow {
  const enabled = isEnabled(u);
  const expired = isExpired(u, now);
  const factors = tfa ? enabledFactors(tfa).map((f) => cleanText(f, 20)) : [];
  const flags: string[] = [];
  if (!enabled) flags.push("disabled");
  if (expired) flags.push("expired");
  if (tfa === null) flags.push("tfa-unknown");
  else if (enabled && !expired && !hasSecondFactor(tfa)) {
    flags.push(factors.length ? "tfa-recovery-only" : "no-tfa");
  }
  const tokens = (u.tokens ?? []).map((t) => {
    const tokenExpired = isExpired(t, now);
    const tflags: string[] = [];
    if (t.privsep === 0) tflags.push("privsep-off");
    if (!t.expire) tflags.push("no-expiry");
    if (tokenExpired) tflags.push("expired");
    if (!enabled || expired) tflags.push("owner-inactive");
    if (u.userid === "root@pam") tflags.push("root-token");
    return {
      id: cleanText(`${u.userid}!${t.tokenid}`, 130),
      privsep: t.privsep !== 0,
      expire: t.expire ? t.expire : null,
      expired: tokenExpired,
      ...(t.comment ? { comment: cleanText(t.comment, COMMENT_MAX) } : {}),
      flags: tflags,
    };
  });
  const name = [u.firstname, u.lastname].filter(Boolean).join(" ");
  return {
    userid: cleanText(u.userid, 70),
    realm: cleanText(realmOf(u.userid), 40),
    ...(u["realm-type"] ? { realmType: cleanText(u["realm-type"], 20) } : {}),
    enabled,
    expire: u.expire ? u.expire : null,
    expired,
    ...(name ? { name: cleanText(name, LIMITS.name) } : {}),
    ...(u.comment ? { comment: cleanText(u.comment, COMMENT_MAX) } : {}),
    groups: listOf(u.groups).map((g) => cleanText(g, LIMITS.name)),
    tfa: tfa === null ? null : factors,
    tokens,
    flags,
  };
}

function tokenText(t: UserRow["tokens"][number], now: number): string {
  const parts: string[] = [];
  if (!t.privsep) parts.push("PRIVSEP OFF (has all its user's rights)");
  if (t.flags.includes("root-token")) parts.push("ROOT@PAM TOKEN");
  if (t.expired) parts.push(`EXPIRED ${day(t.expire ?? now)}`);
  else parts.push(t.expire ? `expires ${day(t.expire)}` : "no expiry");
  if (t.flags.includes("owner-inactive")) parts.push("OWNER DISABLED/EXPIRED: delete it");
  return `${t.id} (${parts.join(", ")}${t.comment ? `, comment ${JSON.stringify(t.comment)}` : ""})`;
}

function userLine(u: UserRow, now: number): string {
  const state = !u.enabled
    ? "DISABLED"
    : u.expired
      ? `EXPIRED ${formatDuration(now - (u.expire ?? now), WHOLE_DAYS)} ago`
      : u.expire
        ? `enabled until ${day(u.expire)}`
        : "enabled";
  const tfa =
    u.tfa === null
      ? "TFA unknown"
      : u.flags.includes("no-tfa")
        ? "NO TFA"
        : u.flags.includes("tfa-recovery-only")
          ? "TFA: RECOVERY KEYS ONLY"
          : u.tfa?.length
            ? `TFA ${u.tfa.join("+")}`
            : "no TFA (cannot log in)";
  const extra = [
    u.groups.length ? `groups ${u.groups.join(",")}` : "",
    u.name ? `name ${JSON.stringify(u.name)}` : "",
    u.comment ? `comment ${JSON.stringify(u.comment)}` : "",
  ].filter(Boolean);
  const head = `${u.userid} ${state}, ${tfa}${extra.length ? `, ${extra.join(", ")}` : ""}`;
  return u.tokens.length ? `${head}\n  tokens: ${u.tokens.map((t) => tokenText(t, now)).join("; ")}` : head;
}

export const getUsers = defineTool({
  name: "get_users",
  title: "Users, TFA and API tokens",
  description:
    "Users with realm, enabled, expiry, TFA, groups, and their API tokens (privilege separation, expiry). Flags expired, no TFA, privsep off, tokens of inactive users.",
  toolset: "access",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: { ...pagingInput(50) },
  output: {
    ...pagingOutput,
    summary: z.object({
      users: z.number().int(),
      enabled: z.number().int(),
      disabled: z.number().int(),
      expired: z.number().int(),
      withoutTfa: z.number().int(),
      tokens: z.number().int(),
      tokensWithoutPrivsep: z.number().int(),
      tokensWithoutExpiry: z.number().int(),
    }),
    gaps: gapsField,
    users: z.array(userSchema),
  },
  needs: [{ path: "/access/groups/{group}", privileges: USER_AUDIT }],
  async handle(args, ctx) {
    const now = nowSeconds();
    const [list, tfa] = await Promise.all([users(ctx.read), tfaEntries(ctx.read)]);
    const gaps = ctx.read.gaps;
    const rows = list
      .map((u) => userRow(u, tfa ? tfa.find((t) => t.userid === u.userid) : null, now))
      .sort((a, b) => a.userid.localeCompare(b.userid));
    const tokens = rows.flatMap((u) => u.tokens);
    const summary = {
      users: rows.length,
      enabled: rows.filter((u) => u.enabled && !u.expired).length,
      disabled: rows.filter((u) => !u.enabled).length,
      expired: rows.filter((u) => u.enabled && u.expired).length,
      withoutTfa: rows.filter((u) => u.flags.includes("no-tfa") || u.flags.includes("tfa-recovery-only"))
        .length,
      tokens: tokens.length,
      tokensWithoutPrivsep: tokens.filter((t) => !t.privsep).length,
      tokensWithoutExpiry: tokens.filter((t) => t.expire === null).length,
    };
    const page = paginate(rows, args.limit, args.offset, "user");
    const head =
      `${summary.users} user(s): ${summary.enabled} active, ${summary.disabled} disabled, ${summary.expired} expired; ` +
      `${summary.withoutTfa} active without TFA; ${summary.tokens} API token(s), ${summary.tokensWithoutPrivsep} without privilege separation, ${summary.tokensWithoutExpiry} without expiry`;
    const lines = [head, gapText(gaps), page.header, ...page.items.map((u) => userLine(u, now))].filter(
      Boolean,
    );
    return { text: lines.join("\n"), structured: { ...page.meta, summary, gaps, users: page.items } };
  },
});

// ---------------------------------------------------------------------------------------
// get_acl

const memberSchema = z.object({
  userid: z.string(),
  state: z.enum(["active", "disabled", "expired", "unknown"]),
});

const aclEntrySchema = z.object({
  path: z.string(),
  type: z.enum(["user", "group", "token"]),
  ugid: z.string(),
  roleid: z.string(),
  propagate: z.boolean(),
  risk: z.enum(["high", "medium", "low", "none"]),
  flags: z.array(z.string()),
  /** Group members, when the group is visible. */
  members: z.array(memberSchema).optional(),
  /** The user's or token's state. */
  principalState: z.string().optional(),
});
type AclRow = z.infer<typeof aclEntrySchema>;

/** "/" or a top-level tree (/vms, /storage, /nodes, /access, /pool, /sdn, /mapping) with propagation. */
const isBroad = (path: string, propagate: boolean) => path === "/" || (propagate && /^\/[^/]+$/.test(path));

function userState(u: PveUser | undefined, now: number): "active" | "disabled" | "expired" | "unknown" {
  if (!u) return "unknown";
  if (!isEnabled(u)) return "disabled";
  return isExpired(u, now) ? "expired" : "active";
}

export const getAcl = defineTool({
  name: "get_acl",
  title: "Permissions (ACL)",
  description:
    "ACL entries (path, user/group/token, role, propagate) with the roles' privileges and group members; flags broad write or admin grants (Administrator, Permissions.Modify, User.Modify, Sys.Modify... on /).",
  toolset: "access",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: { ...pagingInput(50) },
  output: {
    ...pagingOutput,
    summary: z.object({
      entries: z.number().int(),
      high: z.number().int(),
      medium: z.number().int(),
      low: z.number().int(),
    }),
    roles: z.array(
      z.object({
        roleid: z.string(),
        builtin: z.boolean(),
        privileges: z.array(z.string()),
        write: z.array(z.string()),
        escalation: z.array(z.string()),
      }),
    ),
    gaps: gapsField,
    entries: z.array(aclEntrySchema),
  },
  needs: [{ path: "/access", privileges: ["Sys.Audit", "Permissions.Modify"] }],
  async handle(args, ctx) {
    const now = nowSeconds();
    const [entries, roles, groupList, userList] = await Promise.all([
      acl(ctx.read),
      roleList(ctx.read),
      groups(ctx.read),
      users(ctx.read),
    ]);
    const gaps = ctx.read.gaps;
    const privsOf = new Map(roles.map((r) => [r.roleid, listOf(r.privs).sort()]));
    const userById = new Map(userList.map((u) => [u.userid, u]));
    const membersOf = new Map(groupList.map((g) => [g.groupid, listOf(g.users).sort()]));

    const rows: AclRow[] = entries.map((e) => {
      const propagate = propagates(e);
      const privileges = privsOf.get(e.roleid);
      const flags: string[] = [];
      const write = (privileges ?? []).filter((p) => !READ_ONLY_PRIVILEGES.has(p));
      const escalation = (privileges ?? []).filter((p) => ESCALATION_PRIVILEGES.includes(p));
      const broad = isBroad(e.path, propagate);
      if (!privileges) flags.push("unknown-role");
      if (e.roleid === "Administrator") flags.push("administrator");
      if (escalation.length) flags.push("can-escalate");
      if (write.length) flags.push("write");
      if (broad) flags.push("broad");
      const row: AclRow = {
        path: cleanText(e.path, 200),
        type: e.type,
        ugid: cleanText(e.ugid, 130),
        roleid: cleanText(e.roleid, LIMITS.name),
        propagate,
        risk:
          broad && (e.roleid === "Administrator" || escalation.length)
            ? "high"
            : (broad && write.length) || escalation.length
              ? "medium"
              : write.length
                ? "low"
                : "none",
        flags,
      };
      if (e.type === "group") {
        const members = membersOf.get(e.ugid);
        if (members) {
          row.members = members.map((m) => ({
            userid: cleanText(m, 70),
            state: userState(userById.get(m), now),
          }));
          if (row.members.some((m) => m.state === "expired" || m.state === "disabled")) {
            flags.push("inactive-members");
          }
        } else {
          flags.push("members-hidden");
        }
      } else if (e.type === "user") {
        row.principalState = userState(userById.get(e.ugid), now);
        if (row.principalState === "disabled" || row.principalState === "expired")
          flags.push("inactive-principal");
      } else {
        const owner = e.ugid.slice(0, e.ugid.lastIndexOf("!"));
        const name = e.ugid.slice(e.ugid.lastIndexOf("!") + 1);
        const ownerUser = userById.get(owner);
        const token = ownerUser?.tokens?.find((t) => t.tokenid === name);
        const ownerState = userState(ownerUser, now);
        row.principalState = !ownerUser
          ? "unknown"
          : !token
            ? "token missing"
            : ownerState !== "active"
              ? `owner ${ownerState}`
              : isExpired(token, now)
                ? "expired"
                : "active";
        if (row.principalState !== "active" && row.principalState !== "unknown")
          flags.push("inactive-principal");
        // Without privilege separation PVE ignores the token's own ACL entries.
        if (token?.privsep === 0) flags.push("ignored-privsep-off");
      }
      return row;
    });
    const rank = { high: 0, medium: 1, low: 2, none: 3 } as const;
    rows.sort(
      (a, b) => rank[a.risk] - rank[b.risk] || a.path.localeCompare(b.path) || a.ugid.localeCompare(b.ugid),
    );
    const used = [...new Set(rows.map((r) => r.roleid))].sort();
    const builtin = new Map(roles.map((r) => [r.roleid, r.special === 1]));
    const roleRows = used
      .filter((r) => privsOf.has(r))
      .map((roleid) => {
        const privileges = privsOf.get(roleid) ?? [];
        return {
          roleid,
          builtin: builtin.get(roleid) ?? false,
          privileges,
          write: privileges.filter((p) => !READ_ONLY_PRIVILEGES.has(p)),
          escalation: privileges.filter((p) => ESCALATION_PRIVILEGES.includes(p)),
        };
      });
    const summary = {
      entries: rows.length,
      high: rows.filter((r) => r.risk === "high").length,
      medium: rows.filter((r) => r.risk === "medium").length,
      low: rows.filter((r) => r.risk === "low").length,
    };
    const page = paginate(rows, args.limit, args.offset, "ACL entry");
    const lines = [
      `${summary.entries} ACL entr(ies): ${summary.high} HIGH risk (admin or privilege escalation granted broadly), ${summary.medium} medium, ${summary.low} low (write on a narrow path)`,
      gapText(gaps),
      page.header,
      ...page.items.map((r) => aclLine(r)),
      roleRows.length ? "roles:" : "",
      ...roleRows.map(
        (r) =>
          `${r.roleid}${r.builtin ? "" : " (custom)"}: ` +
          (r.roleid === "Administrator"
            ? `all ${r.privileges.length} privileges`
            : r.write.length
              ? `${r.privileges.join(",")}${r.escalation.length ? `; ESCALATION: ${r.escalation.join(",")}` : ""}`
              : `${r.privileges.join(",") || "no privileges"} (read-only)`),
      ),
    ].filter(Boolean);
    return {
      text: lines.join("\n"),
      structured: { ...page.meta, summary, roles: roleRows, gaps, entries: page.items },
    };
  },
});

function aclLine(r: AclRow): string {
  const who = r.type === "group" ? `group @${r.ugid}` : `${r.type} ${r.ugid}`;
  const notes: string[] = [];
  if (r.flags.includes("unknown-role")) notes.push("role not listed by PVE");
  if (r.principalState && r.principalState !== "active")
    notes.push(`principal ${r.principalState.toUpperCase()}`);
  if (r.flags.includes("ignored-privsep-off"))
    notes.push("ignored: the token has privsep off and uses its user's rights");
  if (r.members) {
    const members = r.members.map((m) =>
      m.state === "active" ? m.userid : `${m.userid} (${m.state.toUpperCase()})`,
    );
    notes.push(`members: ${members.join(", ") || "none"}`);
  } else if (r.flags.includes("members-hidden")) {
    notes.push("members not visible");
  }
  return `${r.risk.toUpperCase()} ${r.path} ${who} ${r.roleid}${r.propagate ? " (propagate)" : ""}${notes.length ? `: ${notes.join("; ")}` : ""}`;
}

// ---------------------------------------------------------------------------------------
// get_permissions

const ACL_PATH_RULE =
  "must be an ACL path such as /, /vms/100 or /storage/local (segments of letters, digits, '.', '-', '_')";
const aclPath = z
  .string({ error: ACL_PATH_RULE })
  .max(256, { error: ACL_PATH_RULE, abort: true })
  .regex(/^\/(?:[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)?$/, { error: ACL_PATH_RULE })
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), { error: ACL_PATH_RULE });

export const getPermissions = defineTool({
  name: "get_permissions",
  title: "This server's permissions",
  description:
    "What this server's read token may do (per path, or on one path), whether it is read-only, and whether dangerous mode (admin token) is on.",
  toolset: "access",
  tier: "read",
  input: { path: aclPath.optional().describe("only this ACL path, e.g. /vms/100") },
  output: {
    tokenId: z.string(),
    path: z.string().nullable(),
    readOnly: z.boolean(),
    paths: z.array(
      z.object({
        path: z.string(),
        privileges: z.array(z.string()),
        propagated: z.array(z.string()),
        write: z.array(z.string()),
      }),
    ),
    writePrivileges: z.array(z.string()),
    allowedByOperator: z.array(z.string()),
    dangerousMode: z.boolean(),
    adminTokenId: z.string().nullable(),
    adminWarnings: z.array(z.string()),
  },
  needs: [],
  async handle({ path }, ctx) {
    const perms = await ctx.read.get<Permissions>("/access/permissions", {}, path ? { path } : undefined);
    const paths = Object.entries(perms)
      .map(([p, held]) => {
        const privileges = Object.keys(held).sort();
        return {
          path: cleanText(p, 256),
          privileges,
          propagated: privileges.filter((x) => held[x] === 1),
          write: privileges.filter((x) => !READ_ONLY_PRIVILEGES.has(x)),
        };
      })
      .sort((a, b) => a.path.localeCompare(b.path));
    const writePrivileges = paths
      .filter((p) => p.write.length)
      .map((p) => `${p.path}: ${p.write.join(", ")}`);
    const adminTokenId = ctx.facts.adminTokenId ?? null;
    const out = {
      tokenId: ctx.facts.tokenId,
      path: path ?? null,
      readOnly: writePrivileges.length === 0,
      paths,
      writePrivileges,
      allowedByOperator: [...ctx.access.readExtraPrivileges],
      dangerousMode: adminTokenId !== null,
      adminTokenId,
      adminWarnings: [...ctx.access.adminWarnings],
    };
    const scope = path ? ` on ${path}` : "";
    const writes = [...new Set(paths.flatMap((p) => p.write))].sort();
    const head = out.readOnly
      ? `read token ${out.tokenId}: read-only${scope} (audit privileges only)`
      : `read token ${out.tokenId} CAN CHANGE THINGS${scope}: ${writes.length} privilege(s) beyond audit (${writes.slice(0, 12).join(", ")}${writes.length > 12 ? ", ..." : ""})` +
        (out.allowedByOperator.length ? "; allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN" : "");
    // Paths with the same privileges share one line.
    const groups = new Map<string, { paths: string[]; privileges: string[]; local: string[] }>();
    for (const p of paths) {
      const local = p.privileges.filter((x) => !p.propagated.includes(x));
      const key = `${p.privileges.join(",")}|${local.join(",")}`;
      const group = groups.get(key) ?? { paths: [], privileges: p.privileges, local };
      group.paths.push(p.path);
      groups.set(key, group);
    }
    const lines = [...groups.values()].map(
      (g) =>
        `${g.paths.join(", ")}: ${g.privileges.join(", ") || "no privileges"}` +
        (g.local.length ? ` (not propagated: ${g.local.join(", ")})` : ""),
    );
    if (!paths.length)
      lines.push(path ? `${path}: no privileges` : "no privileges anywhere: this token sees almost nothing");
    const dangerous = adminTokenId
      ? `dangerous mode ON: admin token ${adminTokenId} is loaded for the dangerous tools (its privileges are not shown here)` +
        out.adminWarnings.map((w) => `\nWARNING: ${w}`).join("")
      : "dangerous mode off: no admin token loaded, no tool can change anything";
    return { text: [head, ...lines, dangerous].join("\n"), structured: out };
  },
});

export const accessTools = [getUsers, getAcl, getPermissions];
