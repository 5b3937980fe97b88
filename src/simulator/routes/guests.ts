/**
 * QEMU and LXC guests of a node: lists, status/current, config and snapshots,
 * shaped like qemu-server's and pve-container's vmstatus() (pve-reference §2).
 */
import { isRunning, type Cluster, type GuestState } from "../cluster.js";
import { PveError } from "../errors.js";
import { param, route, type RouteContext, type Route } from "./route.js";

export type GuestType = "qemu" | "lxc";

/** The guest of the request's {node} and {vmid}, if its config file is on that node. */
export function localGuest(ctx: RouteContext, type: GuestType): GuestState | undefined {
  const g = ctx.cluster.guests.get(param.int(ctx, "vmid"));
  return g && g.node === param.str(ctx, "node") && g.type === type ? g : undefined;
}

/** load_config's error for a guest whose config file is not on the request's node. */
export function missingConfigError(ctx: RouteContext, type: GuestType): string {
  const dir = type === "qemu" ? "qemu-server" : "lxc";
  return `Configuration file 'nodes/${param.str(ctx, "node")}/${dir}/${param.int(ctx, "vmid")}.conf' does not exist`;
}

/** PVE's load_config: a guest that is not on this node (or not of this type) has no config file here. */
export function findGuest(ctx: RouteContext, type: GuestType): GuestState {
  const g = localGuest(ctx, type);
  if (!g) throw new PveError(500, `${missingConfigError(ctx, type)}\n`);
  return g;
}

/** qemu-server's parse_guest_agent: the `agent` property string's `enabled` (its default key). */
export function agentEnabled(g: GuestState): boolean {
  const agent = g.config["agent"];
  if (agent === undefined) return false;
  for (const part of String(agent).split(",")) {
    const [key, value = ""] = part.includes("=") ? part.split("=", 2) : ["enabled", part];
    if (key === "enabled") return /^(?:1|on|yes|true)$/i.test(value);
  }
  return false;
}

/** The common part of vmstatus() for one guest. */
function vmstatus(cluster: Cluster, g: GuestState): Record<string, unknown> {
  const running = isRunning(g);
  const entry: Record<string, unknown> = { vmid: g.vmid, name: g.name };
  if (g.type === "lxc") entry["type"] = "lxc";
  entry["status"] = running ? "running" : "stopped";
  if (running) entry["pid"] = g.pid ?? 1000 + (g.vmid % 60000);
  Object.assign(entry, {
    uptime: cluster.guestUptime(g),
    cpus: g.cpus,
    cpu: running ? g.cpu : 0,
    mem: running ? g.mem : 0,
  });
  const memhost = cluster.guestMemhost(g);
  if (memhost !== undefined) entry["memhost"] = memhost;
  entry["maxmem"] = g.maxmem;
  if (g.type === "lxc") {
    entry["swap"] = 0;
    entry["maxswap"] = g.maxswap ?? g.maxmem;
  }
  Object.assign(entry, {
    disk: g.type === "lxc" && running ? g.disk : 0,
    maxdisk: g.maxdisk,
    netin: running ? g.netin : 0,
    netout: running ? g.netout : 0,
    diskread: running ? g.diskread : 0,
    diskwrite: running ? g.diskwrite : 0,
  });
  if (g.template) entry["template"] = 1;
  if (g.type === "qemu" && g.config["serial0"] !== undefined) entry["serial"] = 1;
  if (g.lock) entry["lock"] = g.lock;
  if (g.tags) entry["tags"] = g.tags;
  if (running && cluster.version === 9) {
    entry["pressurecpusome"] = 0;
    if (g.type === "qemu") entry["pressurecpufull"] = 0;
    Object.assign(entry, {
      pressureiosome: 0,
      pressureiofull: 0,
      pressurememorysome: 0,
      pressurememoryfull: 0,
    });
  }
  return entry;
}

function listGuests(ctx: RouteContext, type: GuestType): unknown[] {
  const node = param.str(ctx, "node");
  const out: unknown[] = [];
  for (const g of ctx.cluster.guests.values()) {
    if (g.node !== node || g.type !== type) continue;
    if (!ctx.cluster.engine.has(ctx.authid, `/vms/${g.vmid}`, "VM.Audit")) continue;
    out.push(vmstatus(ctx.cluster, g));
  }
  // Perl hash order: not sorted by vmid. A stable shuffle keeps answers reproducible.
  return out.sort(
    (a, b) => hashOrder((a as { vmid: number }).vmid) - hashOrder((b as { vmid: number }).vmid),
  );
}

function hashOrder(vmid: number): number {
  return Math.imul(vmid ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
}

function haStatus(g: GuestState): Record<string, unknown> {
  if (!g.ha) return { managed: 0 };
  return { managed: 1, state: g.ha.state, ...(g.ha.group ? { group: g.ha.group } : {}) };
}

function statusCurrent(ctx: RouteContext, type: GuestType): unknown {
  const { cluster } = ctx;
  const g = findGuest(ctx, type);
  const entry = vmstatus(cluster, g);
  const running = isRunning(g);
  entry["ha"] = haStatus(g);
  if (type === "lxc") return entry;
  if (agentEnabled(g)) entry["agent"] = 1;
  entry["qmpstatus"] = g.status === "paused" ? "paused" : running ? "running" : "stopped";
  if (running) {
    const freemem = Math.max(0, g.maxmem - g.mem);
    Object.assign(entry, {
      "running-machine": "pc-i440fx-10.0+pve0",
      "running-qemu": "10.0.2",
      balloon: g.maxmem,
      ballooninfo: {
        actual: g.maxmem,
        max_mem: g.maxmem,
        free_mem: freemem,
        total_mem: g.maxmem - 190000000,
        major_page_faults: 2417,
        minor_page_faults: 91837742,
        mem_swapped_in: 0,
        mem_swapped_out: 0,
        last_update: cluster.now(),
      },
      freemem,
      nics: { [`tap${g.vmid}i0`]: { netin: g.netin, netout: g.netout } },
      "proxmox-support": {
        "pbs-dirty-bitmap": true,
        "pbs-dirty-bitmap-migration": true,
        "pbs-dirty-bitmap-savevm": true,
        "pbs-masterkey": true,
        "pbs-library-version": "2.0.1 (UNKNOWN)",
        "query-bitmap-info": true,
        "backup-fleecing": true,
        "backup-max-workers": true,
      },
    });
  }
  return entry;
}

function config(ctx: RouteContext, type: GuestType): unknown {
  const g = findGuest(ctx, type);
  const snapname = param.optStr(ctx, "snapshot");
  if (snapname && !g.snapshots.some((s) => s.name === snapname)) {
    throw new PveError(500, `snapshot '${snapname}' does not exist\n`);
  }
  const out: Record<string, unknown> = { ...g.config };
  if (type === "qemu") out["name"] = g.name;
  else out["hostname"] = g.name;
  if (g.tags) out["tags"] = g.tags;
  if (g.template) out["template"] = 1;
  if (g.lock) out["lock"] = g.lock;
  if (type === "lxc" && g.rawLxc.length > 0) out["lxc"] = g.rawLxc.map(([key, value]) => [key, value]);
  const latest = latestSnapshot(g);
  if (latest && !snapname) out["parent"] = latest;
  // qemu-server never returns the cloud-init password in clear.
  if (out["cipassword"] !== undefined) out["cipassword"] = "**********";
  out["digest"] = ctx.cluster.guestDigest(g);
  return out;
}

/**
 * vm_pending: the config as GuestHelpers::config_with_pending_array lists it, one
 * {key, value} per option (digest included, the snapshot and pending sections left out);
 * cipassword masked as in the config answer. Scenarios have no pending changes.
 */
function pending(ctx: RouteContext, type: GuestType): unknown[] {
  return Object.entries(config(ctx, type) as Record<string, unknown>).map(([key, value]) => ({ key, value }));
}

function latestSnapshot(g: GuestState): string | undefined {
  return [...g.snapshots].sort((a, b) => b.snaptime - a.snaptime)[0]?.name;
}

function snapshots(ctx: RouteContext, type: GuestType): unknown[] {
  const g = findGuest(ctx, type);
  const list: Record<string, unknown>[] = g.snapshots.map((s) => {
    const entry: Record<string, unknown> = { name: s.name, description: s.description, snaptime: s.snaptime };
    if (type === "qemu") entry["vmstate"] = s.vmstate ?? 0;
    if (s.parent) entry["parent"] = s.parent;
    return entry;
  });
  const current: Record<string, unknown> = {
    name: "current",
    description: "You are here!",
    digest: ctx.cluster.guestDigest(g),
    running: isRunning(g) ? 1 : 0,
  };
  const parent = latestSnapshot(g);
  if (parent) current["parent"] = parent;
  list.push(current);
  return list;
}

export const guestRoutes: Route[] = (["qemu", "lxc"] as const).flatMap((type) => [
  route(`GET /nodes/{node}/${type}`, (ctx) => listGuests(ctx, type)),
  route(`GET /nodes/{node}/${type}/{vmid}/status/current`, (ctx) => statusCurrent(ctx, type)),
  route(`GET /nodes/{node}/${type}/{vmid}/config`, (ctx) => config(ctx, type)),
  route(`GET /nodes/{node}/${type}/{vmid}/snapshot`, (ctx) => snapshots(ctx, type)),
  route(`GET /nodes/{node}/${type}/{vmid}/pending`, (ctx) => pending(ctx, type)),
]);
