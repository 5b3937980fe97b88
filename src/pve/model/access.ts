/**
 * Users, their API tokens, groups, roles and the ACL, as /access/* lists them. PVE
 * filters users to those the caller may audit and ACL entries to paths where it may
 * audit or change permissions, silently: the readers state that as a gap.
 */
import { isOnByDefault, listOf } from "./values.js";
import { readOrGap, type ModelReader } from "./visibility.js";

export interface PveToken {
  tokenid: string;
  privsep?: number;
  expire?: number;
  comment?: string;
}

/** A user as GET /access/users?full=1 lists it (groups and tokens included). */
export interface PveUser {
  userid: string;
  enable?: number;
  expire?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  groups?: string | string[];
  tokens?: PveToken[] | null;
  "realm-type"?: string;
}

export interface AclEntry {
  path: string;
  type: "user" | "group" | "token";
  ugid: string;
  roleid: string;
  /** Optional in PVE's schema, default 1. */
  propagate?: number;
}

export interface PveRole {
  roleid: string;
  privs?: string;
  /** 1 for PVE's built-in roles. */
  special?: number;
}

export interface PveGroup {
  groupid: string;
  /** Members, comma-separated. */
  users?: string;
  comment?: string;
}

/** A user's TFA entries as GET /access/tfa lists them. */
export interface PveTfaUser {
  userid: string;
  entries?: { id?: string; type?: string; enable?: number; description?: string }[];
}

/** The types of a user's enabled TFA entries ("totp", "webauthn", "recovery"...): disabled ones do not count. */
export function enabledFactors(u: PveTfaUser | undefined): string[] {
  return (u?.entries ?? []).filter((e) => e.enable !== 0).map((e) => e.type ?? "unknown");
}

/** A second factor of the user's own: an enabled entry other than recovery keys (those alone are no factor). */
export function hasSecondFactor(u: PveTfaUser | undefined): boolean {
  return enabledFactors(u).some((type) => type !== "recovery");
}

/** `enable` defaults to 1. */
export function isEnabled(u: Pick<PveUser, "enable">): boolean {
  return isOnByDefault(u.enable);
}

/** An expiry of 0 (or none) means never. */
export function isExpired(u: { expire?: number }, nowSeconds: number): boolean {
  return typeof u.expire === "number" && u.expire > 0 && u.expire <= nowSeconds;
}

export function groupsOf(u: Pick<PveUser, "groups">): string[] {
  return listOf(u.groups);
}

/** "pve" of "ops@pve" (user ids may hold "@" before the realm's). */
export function realmOf(userid: string): string {
  return userid.slice(userid.lastIndexOf("@") + 1);
}

/** "@operators", "ops@pve", "ops@pve!ansible": the ACL principal as pveum writes it. */
export function principal(e: Pick<AclEntry, "type" | "ugid">): string {
  return e.type === "group" ? `@${e.ugid}` : e.ugid;
}

/** Whether an ACL entry applies below its path too (PVE's default). */
export function propagates(e: Pick<AclEntry, "propagate">): boolean {
  return isOnByDefault(e.propagate);
}

/**
 * Every user with groups and tokens (GET /access/users?full=1). Without User.Modify or
 * Sys.Audit on /access/groups PVE lists only some users (for a token: none), silently.
 */
export async function users(reader: ModelReader): Promise<PveUser[]> {
  const list = await reader.get<PveUser[]>("/access/users", {}, { full: 1 });
  if (!(await reader.holds("/access/groups", ["Sys.Audit", "User.Modify"]))) {
    reader.gap(
      "users and their tokens (PVE lists only users of groups this token may audit)",
      "Sys.Audit on /access/groups",
    );
  }
  return [...list].sort((a, b) => (a.userid < b.userid ? -1 : 1));
}

/** The ACL (GET /access/acl); without Sys.Audit on /access PVE lists only entries the token may modify. */
export async function acl(reader: ModelReader): Promise<AclEntry[]> {
  const entries = await reader.get<AclEntry[]>("/access/acl");
  if (!(await reader.holds("/access", "Sys.Audit"))) {
    reader.gap("the ACL (PVE lists only entries this token may modify)", "Sys.Audit on /access");
  }
  return entries;
}

/** The roles (GET /access/roles, any token may read it). */
export const roleList = (reader: ModelReader) => reader.get<PveRole[]>("/access/roles");

/** Role -> privileges. */
export async function roles(reader: ModelReader): Promise<Map<string, Set<string>>> {
  return new Map((await roleList(reader)).map((r) => [r.roleid, new Set(listOf(r.privs))]));
}

/**
 * The groups with their members (GET /access/groups). PVE lists only groups the caller
 * may audit or change, silently.
 */
export async function groups(reader: ModelReader): Promise<PveGroup[]> {
  const list = await reader.get<PveGroup[]>("/access/groups");
  if (!(await reader.holds("/access/groups", ["Sys.Audit", "User.Modify"]))) {
    reader.gap(
      "groups and their members (PVE lists only groups this token may audit)",
      "Sys.Audit on /access/groups",
    );
  }
  return list;
}

/**
 * The TFA entries of the users this token may audit (GET /access/tfa), or undefined with
 * a gap when PVE refuses them.
 */
export function tfaEntries(reader: ModelReader): Promise<PveTfaUser[] | undefined> {
  return readOrGap<PveTfaUser[]>(reader, "/access/tfa", {}, "TFA entries", "Sys.Audit on /access/groups");
}
