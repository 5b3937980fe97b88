/**
 * /cluster/resources: guests, nodes and storages in one list, what every listing and
 * every per-guest read starts from. A node entry says whether the node is offline even
 * when none of its guests is visible; guests are listed only with VM.Audit on them.
 */
import { z } from "zod";
import { isOn } from "./values.js";
import type { ModelReader } from "./visibility.js";

export interface ClusterResource {
  id: string;
  type: string;
  node?: string;
  vmid?: number;
  name?: string;
  status?: string;
  template?: number;
  tags?: string;
  pool?: string;
  lock?: string;
  hastate?: string;
  maxcpu?: number;
  cpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  storage?: string;
  plugintype?: string;
  content?: string;
  shared?: number;
}

export const guestType = z.enum(["qemu", "lxc"]);

/** A guest's entry, its node and type known. */
export type Guest = ClusterResource & { vmid: number; node: string; type: "qemu" | "lxc" };

export const isGuest = (r: ClusterResource) =>
  r.vmid !== undefined && (r.type === "qemu" || r.type === "lxc");

/** Nodes whose /cluster/resources node entry says offline. */
export function offlineNodesOf(resources: readonly ClusterResource[]): string[] {
  return [
    ...new Set(
      resources
        .filter((r) => r.type === "node" && r.status === "offline" && r.node)
        .map((r) => r.node as string),
    ),
  ].sort();
}

/**
 * The guest `vmid`, its node and type checked: the node, if given, must agree, and a
 * guest on an offline node is refused (its status cannot be read). `token` names the
 * token in the message ("this token", "the admin token").
 */
export function locateGuest(
  resources: readonly ClusterResource[],
  vmid: number,
  node: string | undefined,
  token = "this token",
): Guest {
  const guest = resources.find((g) => isGuest(g) && g.vmid === vmid);
  if (!guest?.node) {
    throw new Error(
      `VM/CT ${vmid} not found: it does not exist, or ${token} lacks VM.Audit on /vms/${vmid} (PVE hides guests it may not see).`,
    );
  }
  if (node && guest.node !== node) {
    throw new Error(`VM/CT ${vmid} is on node ${guest.node}, not ${node}: omit "node" or use ${guest.node}.`);
  }
  if (guest.status === "unknown" && offlineNodesOf(resources).includes(guest.node)) {
    throw new Error(
      `VM/CT ${vmid} is on node ${guest.node}, which is offline: its status cannot be read now.`,
    );
  }
  // The type goes into a request path: taken from PVE's answer only if it is one we know.
  return { ...guest, vmid, node: guest.node, type: guestType.parse(guest.type) };
}

/**
 * All of /cluster/resources in one call, without a type filter: guests and node entries
 * together (a node entry says whether the node is offline even when none of its guests
 * is visible).
 */
export const clusterResources = (reader: ModelReader) => reader.get<ClusterResource[]>("/cluster/resources");

/**
 * The guests PVE lists for this token, by vmid (VM.Audit on /vms/<vmid>; the rest are
 * silently left out, which is stated as a gap).
 */
export async function guests(reader: ModelReader): Promise<Guest[]> {
  const list = await clusterResources(reader);
  if (!(await reader.holds("/vms", "VM.Audit"))) {
    reader.gap("guests this token may not see (PVE lists only guests with VM.Audit)", "VM.Audit on /vms");
  }
  return list
    .filter(isGuest)
    .filter((r): r is Guest => typeof r.node === "string" && (r.type === "qemu" || r.type === "lxc"))
    .sort((a, b) => a.vmid - b.vmid);
}

/** Nodes whose /cluster/resources entry says offline (nodes are always listed). */
export async function offlineNodes(reader: ModelReader): Promise<Set<string>> {
  return new Set(offlineNodesOf(await clusterResources(reader)));
}

/** The online nodes, sorted: per-node reads go only to these (an offline node answers 595). */
export async function onlineNodes(reader: ModelReader): Promise<string[]> {
  const list = await clusterResources(reader);
  return [
    ...new Set(list.filter((r) => r.type === "node" && r.status === "online" && r.node).map((r) => r.node!)),
  ].sort();
}

/** Guests on online nodes (what per-guest reads can reach), templates left out unless asked for. */
export async function reachableGuests(reader: ModelReader, withTemplates = false): Promise<Guest[]> {
  const offline = await offlineNodes(reader);
  return (await guests(reader)).filter(
    (g) => !offline.has(g.node) && g.status !== "unknown" && (withTemplates || !isOn(g.template)),
  );
}
