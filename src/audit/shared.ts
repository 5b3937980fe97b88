/**
 * Reads and helpers several checks share. Every read goes through the run's cache, so
 * two checks asking for the users (or the guests, the jobs...) cost one request; each
 * helper also states the visibility gap of what PVE silently filters for this token.
 */
import { PveApiError } from "../pve/errors.js";
import { isGuest, offlineNodesOf, type ClusterResource, type PveTask } from "../tools/cluster.js";
import { cleanText, LIMITS } from "../untrusted.js";
import type { AuditContext, CheckFinding } from "./types.js";

export const DAY = 86_400;

/** "12 d", "5 h", "40 min": an age for evidence lines. */
export function age(seconds: number): string {
  if (seconds >= 2 * DAY) return `${Math.floor(seconds / DAY)} d`;
  if (seconds >= 2 * 3600) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.max(0, Math.floor(seconds / 60))} min`;
}

/**
 * A PVE boolean as pve-common's parse_boolean reads it: 1, true, yes, on (any case) and
 * 0, false, no, off; undefined when unset or anything else.
 */
export function pveBoolean(value: unknown): boolean | undefined {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value !== "string") return undefined;
  if (/^(?:1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(?:0|false|no|off)$/i.test(value.trim())) return false;
  return undefined;
}

/** PVE's boolean fields: on as parse_boolean reads them (1, "1", true, "yes", "on"...). */
export function isOn(value: unknown): boolean {
  return pveBoolean(value) === true;
}

/** Splits PVE's comma/semicolon/space lists ("100,103", "a;b"). */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  return typeof value === "string" ? value.split(/[,;\s]+/).filter(Boolean) : [];
}

// ---------------------------------------------------------------- guests and nodes

export type Guest = ClusterResource & { vmid: number; node: string; type: "qemu" | "lxc" };

/** "VM 103" / "CT 203": the object of a guest finding. */
export function guestObject(g: Pick<Guest, "type" | "vmid">): string {
  return `${g.type === "lxc" ? "CT" : "VM"} ${g.vmid}`;
}

/** "VM 103 (app01)": the guest's name is guest-controlled, so cleaned and capped. */
export function guestLabel(g: Pick<Guest, "type" | "vmid" | "name">): string {
  const name = g.name ? cleanText(g.name, LIMITS.name) : "";
  return name ? `${guestObject(g)} (${name})` : guestObject(g);
}

/** qm for VMs, pct for containers. */
export function guestCli(g: Pick<Guest, "type">): string {
  return g.type === "lxc" ? "pct" : "qm";
}

/**
 * The guests PVE lists for this token (VM.Audit on /vms/<vmid>; the rest are silently
 * left out, which is stated as a gap).
 */
export async function guests(ctx: AuditContext): Promise<Guest[]> {
  const resources = await ctx.resources();
  if (!(await ctx.holds("/vms", "VM.Audit"))) {
    ctx.gap("guests this token may not see (PVE lists only guests with VM.Audit)", "VM.Audit on /vms");
  }
  return resources
    .filter(isGuest)
    .filter((r): r is Guest => typeof r.node === "string" && (r.type === "qemu" || r.type === "lxc"))
    .sort((a, b) => a.vmid - b.vmid);
}

/** Nodes whose /cluster/resources entry says offline (nodes are always listed). */
export async function offlineNodes(ctx: AuditContext): Promise<Set<string>> {
  return new Set(offlineNodesOf(await ctx.resources()));
}

/** The online nodes, sorted: per-node reads go only to these (an offline node answers 595). */
export async function onlineNodes(ctx: AuditContext): Promise<string[]> {
  const resources = await ctx.resources();
  return [
    ...new Set(
      resources.filter((r) => r.type === "node" && r.status === "online" && r.node).map((r) => r.node!),
    ),
  ].sort();
}

/** Guests on online nodes (what per-guest reads can reach), templates left out unless asked for. */
export async function reachableGuests(ctx: AuditContext, withTemplates = false): Promise<Guest[]> {
  const offline = await offlineNodes(ctx);
  return (await guests(ctx)).filter(
    (g) => !offline.has(g.node) && g.status !== "unknown" && (withTemplates || !isOn(g.template)),
  );
}

/**
 * A per-node read on every online node; 403s are collected into one gap ("pending
 * updates on pve1, pve2": needs "Sys.Modify on /nodes/{node}").
 */
export async function perNode<T>(
  ctx: AuditContext,
  template: string,
  what: (nodes: string) => string,
  privilege: string,
  query?: Record<string, string | number>,
  remediation?: string,
): Promise<{ node: string; data: T }[]> {
  const nodes = await onlineNodes(ctx);
  const answers: { node: string; data: T }[] = [];
  const refused: string[] = [];
  await ctx.each(
    nodes,
    (node) => `node ${node}`,
    async (node) => {
      try {
        answers.push({ node, data: await ctx.get<T>(template, { node }, query) });
      } catch (err) {
        if (!(err instanceof PveApiError && err.status === 403)) throw err;
        refused.push(node);
      }
    },
  );
  if (refused.length > 0) {
    refused.sort();
    const needs =
      refused.length === 1 ? `${privilege} on /nodes/${refused[0]}` : `${privilege} on /nodes/{node}`;
    ctx.gap(what(refused.join(", ")), needs, remediation);
  }
  return answers.sort((a, b) => (a.node < b.node ? -1 : 1));
}

// ---------------------------------------------------------------- users, tokens, ACLs

export interface PveToken {
  tokenid: string;
  privsep?: number;
  expire?: number;
  comment?: string;
}

export interface PveUser {
  userid: string;
  enable?: number;
  expire?: number;
  groups?: string | string[];
  tokens?: PveToken[] | null;
  "realm-type"?: string;
}

/**
 * Every user with groups and tokens (GET /access/users?full=1). Without User.Modify or
 * Sys.Audit on /access/groups PVE lists only some users (for a token: none), silently.
 */
export async function users(ctx: AuditContext): Promise<PveUser[]> {
  const list = await ctx.get<PveUser[]>("/access/users", {}, { full: 1 });
  if (!(await ctx.holds("/access/groups", ["Sys.Audit", "User.Modify"]))) {
    ctx.gap(
      "users and their tokens (PVE lists only users of groups this token may audit)",
      "Sys.Audit on /access/groups",
    );
  }
  return [...list].sort((a, b) => (a.userid < b.userid ? -1 : 1));
}

export function isEnabled(u: PveUser): boolean {
  return u.enable === undefined || isOn(u.enable);
}

export function isExpired(u: { expire?: number }, nowSeconds: number): boolean {
  return typeof u.expire === "number" && u.expire > 0 && u.expire <= nowSeconds;
}

export function groupsOf(u: PveUser): string[] {
  return listOf(u.groups);
}

export function realmOf(userid: string): string {
  return userid.slice(userid.lastIndexOf("@") + 1);
}

export interface AclEntry {
  path: string;
  type: "user" | "group" | "token";
  ugid: string;
  roleid: string;
  propagate: number;
}

/** The ACL (GET /access/acl); without Sys.Audit on /access PVE lists only entries the token may modify. */
export async function acl(ctx: AuditContext): Promise<AclEntry[]> {
  const entries = await ctx.get<AclEntry[]>("/access/acl");
  if (!(await ctx.holds("/access", "Sys.Audit"))) {
    ctx.gap("the ACL (PVE lists only entries this token may modify)", "Sys.Audit on /access");
  }
  return entries;
}

/** "@operators", "ops@pve", "ops@pve!ansible": the ACL principal as pveum writes it. */
export function principal(e: AclEntry): string {
  return e.type === "group" ? `@${e.ugid}` : e.ugid;
}

/** Role -> privileges (GET /access/roles, any token may read it). */
export async function roles(ctx: AuditContext): Promise<Map<string, Set<string>>> {
  const list = await ctx.get<{ roleid: string; privs?: string }[]>("/access/roles");
  return new Map(list.map((r) => [r.roleid, new Set(listOf(r.privs))]));
}

/**
 * Privileges that administer the cluster, its accounts or its guests (not merely use
 * or look at them): a role holding one of these is a "write role" for the ACL checks.
 */
export const ADMIN_PRIVILEGES = [
  "Permissions.Modify",
  "Sys.Modify",
  "Sys.Console",
  "Sys.PowerMgmt",
  "Sys.Incoming",
  "User.Modify",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "Group.Allocate",
  "Pool.Allocate",
  "VM.Allocate",
  "Datastore.Allocate",
  "SDN.Allocate",
  "Mapping.Modify",
] as const;

/** The admin privileges of a role, in ADMIN_PRIVILEGES order ([] for a role that only looks or uses). */
export function adminPrivilegesOf(role: Set<string> | undefined): string[] {
  return role ? ADMIN_PRIVILEGES.filter((p) => role.has(p)) : [];
}

// ---------------------------------------------------------------- tasks

export type { PveTask };

/** GET /cluster/tasks; without Sys.Audit on / PVE lists only the token's own tasks (for a token: none). */
export async function clusterTasks(ctx: AuditContext): Promise<PveTask[]> {
  const tasks = await ctx.get<PveTask[]>("/cluster/tasks");
  if (!(await ctx.holds("/", "Sys.Audit"))) {
    ctx.gap("tasks of other users (PVE lists only this token's own tasks)", "Sys.Audit on /");
  }
  return tasks;
}

/** A finished task that failed: its status is neither OK nor "WARNINGS: n". */
export function taskFailed(t: PveTask): boolean {
  return (
    t.status !== undefined && t.endtime !== undefined && t.status !== "OK" && !/^WARNINGS/.test(t.status)
  );
}

export function taskRunning(t: PveTask): boolean {
  return t.endtime === undefined && (t.status === undefined || t.status === "RUNNING");
}

/**
 * Per-guest checks (config, firewall, snapshots) cost a request or two per guest: on a
 * big cluster they look at the first guests by vmid only, and say so in an info finding.
 */
export const MAX_GUESTS_INSPECTED = 500;

export function inspectedGuests(check: string, list: Guest[]): { guests: Guest[]; note: CheckFinding[] } {
  if (list.length <= MAX_GUESTS_INSPECTED) return { guests: list, note: [] };
  const guests = list.slice(0, MAX_GUESTS_INSPECTED);
  const last = guests[guests.length - 1]!;
  return {
    guests,
    note: [
      {
        check,
        severity: "info",
        title: `Only the first ${MAX_GUESTS_INSPECTED} of ${list.length} guests were inspected`,
        object: `guests after ${guestObject(last)}`,
        evidence: `${list.length - MAX_GUESTS_INSPECTED} guest(s) with a higher vmid not read (one request or two per guest)`,
        remediation: "check the others one by one (get_firewall, get_snapshots, the guest's config)",
      },
    ],
  };
}
