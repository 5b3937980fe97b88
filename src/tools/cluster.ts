/**
 * This process's snapshots of /cluster/resources for cursor paging. Reading it, and the
 * types and parsers of what it lists, are the read model's (src/pve/model/resources.ts).
 */
import type { ClusterResource } from "../pve/model/resources.js";
import { ListingSnapshots } from "./cursor-paging.js";

/**
 * This process's snapshots of /cluster/resources, which listings page through by
 * cursor: one store per process, each snapshot usable only through the client that read it.
 */
export const clusterResourceSnapshots = new ListingSnapshots<ClusterResource[]>("/cluster/resources");
