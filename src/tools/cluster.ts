/**
 * What several read toolsets share: /cluster/resources in one call (guests, nodes and
 * storages together, so an offline node is reported instead of failing the answer), and
 * this process's snapshots of it for cursor paging. The types and parsers of what it
 * lists are the read model's (src/pve/model/resources.ts).
 */
import type { PveReader } from "../pve/client.js";
import type { ClusterResource } from "../pve/model/resources.js";
import { ListingSnapshots } from "./cursor-paging.js";

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
