/** The PBS read model: readers over a ModelReader/RunReader on the PBS client, and helpers for tools and checks. */
export * from "./access.js";
export * from "./datastores.js";
export * from "./jobs.js";
export * from "./permissions.js";
export * from "./snapshots.js";
export * from "./tasks.js";
export type * from "./types.js";
