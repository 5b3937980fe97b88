/**
 * Reads and helpers several checks share. The reads are the read model's
 * (src/pve/model/), given the check's context: every read goes through the run's cache,
 * so two checks asking for the users (or the guests, the jobs...) cost one request, and
 * each reader states the visibility gap of what PVE silently filters for this token.
 * What is the audit's own (finding texts, per-node gaps with their fix) is here.
 */
import { onlineNodes, type Guest } from "../pve/model/resources.js";
import { isRefusal } from "../pve/model/visibility.js";
import { cleanText, LIMITS } from "../untrusted.js";
import type { AuditContext, CheckFinding } from "./types.js";

export { DAY, formatDuration as age } from "../pve/model/duration.js";
export { isOn, listOf, pveBoolean } from "../pve/model/values.js";
export { guests, offlineNodes, onlineNodes, reachableGuests, type Guest } from "../pve/model/resources.js";
export {
  acl,
  groupsOf,
  hasSecondFactor,
  isEnabled,
  isExpired,
  principal,
  realmOf,
  roles,
  users,
  type AclEntry,
  type PveTfaUser,
  type PveToken,
  type PveUser,
} from "../pve/model/access.js";
export { clusterTasks, taskFailed, taskRunning, type PveTask } from "../pve/model/tasks.js";

// ---------------------------------------------------------------- guests and nodes

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
        if (!isRefusal(err)) throw err;
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

// ---------------------------------------------------------------- roles

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

// ---------------------------------------------------------------- guests inspected

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
