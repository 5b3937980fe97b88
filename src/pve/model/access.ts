/**
 * Users, their API tokens, groups, roles and the ACL, as /access/* lists them. PVE
 * filters users to those the caller may audit and ACL entries to paths where it may
 * audit or change permissions, silently: the readers state that as a gap.
 */
import { isOnByDefault, listOf } from "./values.js";
import type { ModelReader } from "./visibility.js";

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

/** Role -> privileges (GET /access/roles, any token may read it). */
export async function roles(reader: ModelReader): Promise<Map<string, Set<string>>> {
  const list = await reader.get<{ roleid: string; privs?: string }[]>("/access/roles");
  return new Map(list.map((r) => [r.roleid, new Set(listOf(r.privs))]));
}
