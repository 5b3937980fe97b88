/**
 * Storage: storage.cfg (/storage), per-node status and content. Content listing
 * drops every volume the caller may not access, exactly as pve-storage's
 * check_volume_access does: a PVEAuditor sees ISOs and templates, never backups.
 * And the node's ZFS pools and LVM thin pools, as pve-storage's API2/Disks/ZFS.pm
 * and LVMThin.pm read them from zpool and lvs.
 */
import { MONTHS } from "../calendar.js";
import type { Cluster } from "../cluster.js";
import { sha1 } from "../cluster.js";
import { parameterError, PveError } from "../errors.js";
import type { NodeSpec, StorageSpec, VolumeSpec } from "../scenario.js";
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

type ZfsPool = NodeSpec["zfsPools"][number];
type ZfsDevice = ZfsPool["vdevs"][number]["devices"][number];

/** Every route here is proxied to its node, so the server already resolved it. */
function nodeOf(ctx: RouteContext): NodeSpec {
  return ctx.cluster.nodes.get(param.str(ctx, "node"))!;
}

/** `zpool list -HpPLo name,size,alloc,free,frag,dedup,health`, numbers as numbers. */
function zfsPools(ctx: RouteContext): unknown[] {
  return nodeOf(ctx).zfsPools.map((p) => ({
    name: p.name,
    size: p.size,
    alloc: p.alloc,
    free: p.size - p.alloc,
    frag: p.frag,
    dedup: p.dedup,
    health: p.health,
  }));
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const two = (n: number, fill = "0") => String(n).padStart(2, fill);

/** ctime(3) without its newline: "Sun Nov  9 00:34:22 2025". */
function ctime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate(), " ")} ${time} ${d.getUTCFullYear()}`;
}

/** zpool's secs_to_dhms: "00:10:21", "1 days 02:03:04". */
function dhms(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hms = `${two(Math.floor(seconds / 3600) % 24)}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  return days > 0 ? `${days} days ${hms}` : hms;
}

/** zfs_nicebytes: "512M", "45.2G", "1.10T". */
function nicebytes(bytes: number): string {
  const units = ["B", "K", "M", "G", "T", "P"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes}B`;
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)}${units[unit]}`;
}

/**
 * The "scan:" value as PVE's parser keeps it: zpool's line, with the progress lines of a
 * running scan appended after a blank.
 */
function scanLine(cluster: Cluster, pool: ZfsPool): string {
  const scan = pool.scan ?? {
    type: "scrub" as const,
    state: "finished" as const,
    at: "now-10d",
    repaired: "0B",
    duration: 1821,
    errors: 0,
  };
  if (typeof scan === "string") return scan;
  const at = ctime(cluster.time(scan.at));
  const done = `${nicebytes(pool.alloc / 2)} / ${nicebytes(pool.alloc)}`;
  switch (scan.state) {
    case "finished":
      return `${scan.type === "scrub" ? "scrub repaired" : "resilvered"} ${scan.repaired} in ${dhms(scan.duration)} with ${scan.errors} errors on ${at}`;
    case "canceled":
      return `${scan.type} canceled on ${at}`;
    case "paused":
      return `scrub paused since ${at} scrub started on ${at} ${done} scanned, ${done} issued, ${scan.repaired} repaired, 50.00% done`;
    case "scanning":
      return `${scan.type} in progress since ${at} ${done} scanned at 412M/s, ${done} issued at 398M/s ${scan.repaired} ${scan.type === "scrub" ? "repaired" : "resilvered"}, 50.00% done, 00:35:12 to go`;
  }
}

/** A vdev as PVE's parser builds it from the config section: leaves marked, levels dropped. */
function vdevEntry(device: ZfsDevice, children: unknown[]): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    name: device.name,
    state: device.state,
    read: device.read,
    write: device.write,
    cksum: device.cksum,
    msg: device.msg,
  };
  if (children.length > 0) entry["children"] = children;
  entry["leaf"] = children.length > 0 ? 0 : 1;
  return entry;
}

/** `zpool status -P <name>` as API2/Disks/ZFS.pm's detail parses it. */
function zfsDetail(ctx: RouteContext): unknown {
  const name = param.str(ctx, "name");
  const pool = nodeOf(ctx).zfsPools.find((p) => p.name === name);
  if (!pool) throw new PveError(500, `command '/sbin/zpool status -P ${name}' failed: exit code 1\n`);
  const result: Record<string, unknown> = { name: pool.name, state: pool.health };
  if (pool.status !== undefined) result["status"] = pool.status;
  if (pool.action !== undefined) result["action"] = pool.action;
  if (pool.see !== undefined) result["see"] = pool.see;
  result["scan"] = scanLine(ctx.cluster, pool);
  result["errors"] = pool.errors;
  const vdevs = pool.vdevs.map((v) =>
    vdevEntry(
      v,
      v.devices.map((d) => vdevEntry(d, [])),
    ),
  );
  const root: ZfsDevice = { name: pool.name, state: pool.health, read: 0, write: 0, cksum: 0, msg: "" };
  result["children"] = [vdevEntry(root, vdevs)];
  result["leaf"] = 0;
  return result;
}

const MiB = 1024 ** 2;

/**
 * `lvs` thin pools (LVMPlugin::lvm_list_volumes entries of type t). Unless the scenario
 * lists them: one per lvmthin storage on the node, metadata 1 % of the pool, as the
 * installer sizes it, and used in step with the data.
 */
function lvmThinPools(ctx: RouteContext): unknown[] {
  const node = nodeOf(ctx);
  const ctime = String(ctx.cluster.startedAt - 400 * 86400);
  const extra = { lv_state: "a", lv_type: "t", ctime };
  if (node.lvmThinPools) return node.lvmThinPools.map((p) => ({ ...p, ...extra }));
  const pools = new Map<string, Record<string, unknown>>();
  for (const s of ctx.cluster.storages.values()) {
    if (s.type !== "lvmthin" || !s.active || !storageOnNode(s, node.name)) continue;
    const vg = String(s.config["vgname"] ?? "pve");
    const lv = String(s.config["thinpool"] ?? "data");
    const { total, used } = storageUsage(s, node.name);
    const metadataSize = Math.max(4 * MiB, Math.round(total / 100 / (4 * MiB)) * 4 * MiB);
    pools.set(`${vg}/${lv}`, {
      lv,
      vg,
      lv_size: total,
      used,
      metadata_size: metadataSize,
      metadata_used: Math.floor(metadataSize * (0.02 + (total ? used / total : 0) / 5)),
      ...extra,
    });
  }
  return [...pools.values()];
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

  route("GET /nodes/{node}/disks/zfs", zfsPools),
  route("GET /nodes/{node}/disks/zfs/{name}", zfsDetail),
  route("GET /nodes/{node}/disks/lvmthin", lvmThinPools),
];
