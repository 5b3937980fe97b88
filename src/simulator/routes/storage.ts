/**
 * Storage: storage.cfg (/storage), per-node status and content. Content listing
 * drops every volume the caller may not access, exactly as pve-storage's
 * check_volume_access does: a PVEAuditor sees ISOs and templates, never backups.
 */
import type { Cluster } from "../cluster.js";
import { sha1 } from "../cluster.js";
import { parameterError, PveError } from "../errors.js";
import type { StorageSpec, VolumeSpec } from "../scenario.js";
import { storageOnNode, storageUsage } from "./cluster.js";
import { param, route, type RouteContext, type Route } from "./route.js";

function canSeeStorage(ctx: RouteContext, sid: string): boolean {
  return ctx.cluster.engine.hasAny(ctx.authid, `/storage/${sid}`, [
    "Datastore.Audit",
    "Datastore.AllocateSpace",
  ]);
}

function storageCfgDigest(cluster: Cluster): string {
  return sha1(
    JSON.stringify([...cluster.storages.values()].map((s) => [s.storage, s.type, s.content, s.config])),
  );
}

function nodeStorageStatus(cluster: Cluster, s: StorageSpec, node: string): Record<string, unknown> {
  const active = s.active && cluster.isOnline(node) && !s.disable;
  const entry: Record<string, unknown> = {
    storage: s.storage,
    type: s.type,
    content: s.content,
    active: active ? 1 : 0,
    enabled: s.disable ? 0 : 1,
    shared: s.shared,
  };
  if (active) {
    const { total, used } = storageUsage(s, node);
    Object.assign(entry, { total, used, avail: total - used, used_fraction: total ? used / total : 0 });
  }
  return entry;
}

function storageOfNode(ctx: RouteContext): StorageSpec {
  const sid = param.str(ctx, "storage");
  const s = ctx.cluster.storages.get(sid);
  if (!s || !storageOnNode(s, param.str(ctx, "node"))) throw parameterError({ storage: "No such storage." });
  return s;
}

/** volume_list's storage_config and activate_storage checks, which die (500) for the content index. */
function storageForContent(ctx: RouteContext): StorageSpec {
  const sid = param.str(ctx, "storage");
  const node = param.str(ctx, "node");
  const s = ctx.cluster.storages.get(sid);
  if (!s) throw new PveError(500, `storage '${sid}' does not exist\n`);
  if (s.disable) throw new PveError(500, `storage '${sid}' is disabled\n`);
  if (s.nodes && !s.nodes.includes(node)) {
    throw new PveError(500, `storage '${sid}' is not available on node '${node}'\n`);
  }
  return s;
}

/** pve-storage check_volume_access, as called by the content index (no owner VM given). */
function volumeVisible(ctx: RouteContext, sid: string, v: VolumeSpec): boolean {
  const privs = ctx.cluster.engine.permissions(ctx.authid, `/storage/${sid}`);
  if (privs.has("Datastore.Allocate")) return true;
  if (v.content === "iso" || v.content === "vztmpl") {
    return privs.has("Datastore.AllocateSpace") || privs.has("Datastore.Audit");
  }
  if (v.content === "backup" && v.vmid !== undefined) {
    return (
      privs.has("Datastore.AllocateSpace") &&
      ctx.cluster.engine.has(ctx.authid, `/vms/${v.vmid}`, "VM.Backup")
    );
  }
  return false;
}

function content(ctx: RouteContext): unknown[] {
  const s = storageForContent(ctx);
  const node = param.str(ctx, "node");
  const contentFilter = param.optStr(ctx, "content");
  const vmidFilter = param.optInt(ctx, "vmid");
  return s.volumes
    .filter((v) => s.shared || !v.node || v.node === node)
    .filter((v) => !contentFilter || v.content === contentFilter)
    .filter((v) => vmidFilter === undefined || v.vmid === vmidFilter)
    .filter((v) => volumeVisible(ctx, s.storage, v))
    .sort((a, b) => (a.volid < b.volid ? -1 : 1))
    .map((v) => {
      const entry: Record<string, unknown> = {
        volid: v.volid,
        content: v.content,
        format: v.format,
        size: v.size,
      };
      if (v.ctime !== undefined) entry["ctime"] = ctx.cluster.time(v.ctime);
      if (v.vmid !== undefined) entry["vmid"] = v.vmid;
      if (v.notes !== undefined) entry["notes"] = v.notes.split("\n")[0];
      if (v.protected !== undefined) entry["protected"] = v.protected;
      if (v.used !== undefined) entry["used"] = v.used;
      if (v.parent !== undefined) entry["parent"] = v.parent;
      if (v.verification !== undefined) entry["verification"] = v.verification;
      return entry;
    });
}

export const storageRoutes: Route[] = [
  route("GET /storage", (ctx) => {
    const type = param.optStr(ctx, "type");
    const digest = storageCfgDigest(ctx.cluster);
    return [...ctx.cluster.storages.values()]
      .filter((s) => (!type || s.type === type) && canSeeStorage(ctx, s.storage))
      .map((s) => {
        const entry: Record<string, unknown> = {
          storage: s.storage,
          type: s.type,
          ...s.config,
          content: s.content,
        };
        if (s.shared) entry["shared"] = 1;
        if (s.disable) entry["disable"] = 1;
        if (s.nodes) entry["nodes"] = s.nodes.join(",");
        entry["digest"] = digest;
        return entry;
      });
  }),

  route("GET /nodes/{node}/storage", (ctx) => {
    const node = param.str(ctx, "node");
    const only = param.optStr(ctx, "storage");
    const contentFilter = param.optStr(ctx, "content")?.split(",");
    const enabledOnly = param.flag(ctx, "enabled");
    // storage_info: the node's storages offering the content asked for.
    const known = [...ctx.cluster.storages.values()]
      .filter((s) => !s.nodes || s.nodes.includes(node))
      .filter((s) => !contentFilter || contentFilter.some((c) => s.content.split(",").includes(c)));
    if (only && !known.some((s) => s.storage === only)) throw parameterError({ storage: "No such storage." });
    return known
      .filter((s) => (!only || s.storage === only) && (!enabledOnly || !s.disable))
      .filter((s) => canSeeStorage(ctx, s.storage))
      .map((s) => nodeStorageStatus(ctx.cluster, s, node));
  }),

  route("GET /nodes/{node}/storage/{storage}/status", (ctx) => {
    const { storage: _sid, ...status } = nodeStorageStatus(
      ctx.cluster,
      storageOfNode(ctx),
      param.str(ctx, "node"),
    );
    delete status["used_fraction"];
    return status;
  }),

  route("GET /nodes/{node}/storage/{storage}/content", content),
];
