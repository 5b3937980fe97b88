/**
 * What several read toolsets share: /cluster/resources in one call (guests, nodes and
 * storages together, so an offline node is reported instead of failing the answer),
 * and finding a guest's node and type from it.
 */
import { z } from "zod";
import type { PveReader } from "../pve/client.js";
import { ListingSnapshots } from "./cursor-paging.js";

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

/** PVE stores tags as one string separated by ";" (older versions: "," or spaces). */
export function tagsOf(raw: string | undefined): string[] {
  return (raw ?? "").split(/[;,\s]+/).filter(Boolean);
}

/**
 * All of /cluster/resources in one call, without a type filter: guests and node
 * entries together (a node entry says whether the node is offline even when none of
 * its guests is visible).
 */
export async function clusterResources(pve: PveReader, signal: AbortSignal): Promise<ClusterResource[]> {
  return pve.get<ClusterResource[]>("/cluster/resources", {}, { signal });
}

/**
 * This process's snapshots of /cluster/resources, which listings page through by
 * cursor: one store per process, each snapshot usable only through the client that read it.
 */
export const clusterResourceSnapshots = new ListingSnapshots<ClusterResource[]>("/cluster/resources");

export const isGuest = (r: ClusterResource) =>
  r.vmid !== undefined && (r.type === "qemu" || r.type === "lxc");

/** Nodes whose /cluster/resources node entry says offline. */
export function offlineNodesOf(resources: ClusterResource[]): string[] {
  return [
    ...new Set(
      resources
        .filter((r) => r.type === "node" && r.status === "offline" && r.node)
        .map((r) => r.node as string),
    ),
  ].sort();
}

/** Finds a guest's node and type with one /cluster/resources call. */
export async function locateGuest(
  pve: PveReader,
  vmid: number,
  node: string | undefined,
  signal: AbortSignal,
): Promise<ClusterResource & { node: string; type: "qemu" | "lxc" }> {
  const resources = await clusterResources(pve, signal);
  const guest = resources.find((g) => isGuest(g) && g.vmid === vmid);
  if (!guest?.node) {
    throw new Error(
      `VM/CT ${vmid} not found: it does not exist, or this token lacks VM.Audit on /vms/${vmid} (PVE hides guests it may not see).`,
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
  // The type goes into a request path: take it from PVE's answer only if it is one we know.
  return { ...guest, node: guest.node, type: guestType.parse(guest.type) };
}

/** A task as /cluster/tasks and /nodes/{node}/tasks list it. */
export interface PveTask {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user?: string;
  tokenid?: string;
  starttime: number;
  endtime?: number;
  /** "OK", "WARNINGS: n", the error text; "RUNNING" from a node's active list; absent while running. */
  status?: string;
}

/** How many per-node (or per-storage, per-guest) requests run at once: pveproxy has 3 workers by default. */
export const NODE_CONCURRENCY = 4;

/** Runs `fn` over `items`, at most `limit` at a time, results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
