/**
 * Cluster-wide views: /version, /cluster/status, /cluster/resources, /nodes,
 * node status and /pools, with PVE's handler-side filtering (pve-reference §4).
 */
import { isRunning, type Cluster, type GuestState } from "../cluster.js";
import type { NodeSpec, StorageSpec } from "../scenario.js";
import { PveError } from "../errors.js";
import { param, route, type RouteContext, type Route } from "./route.js";
import { versionInfo } from "./system.js";

/** Stats PVE drops from node entries without Sys.Audit on /nodes/<node>. */
function nodeStats(cluster: Cluster, n: NodeSpec): Record<string, number> {
  if (!n.online) return { maxcpu: n.cpus, maxmem: n.memTotal, maxdisk: n.rootfsTotal };
  return {
    uptime: n.uptime + (cluster.now() - cluster.startedAt),
    cpu: n.cpu,
    maxcpu: n.cpus,
    mem: n.memUsed,
    maxmem: n.memTotal,
    disk: n.rootfsUsed,
    maxdisk: n.rootfsTotal,
  };
}

export function guestResource(cluster: Cluster, g: GuestState): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    type: g.type,
    vmid: g.vmid,
    node: g.node,
  };
  entry["name"] = g.name;
  if (!cluster.isOnline(g.node)) {
    entry["status"] = "unknown";
  } else {
    const running = isRunning(g);
    Object.assign(entry, {
      status: g.status === "paused" ? "running" : g.status,
      template: g.template ? 1 : 0,
      uptime: cluster.guestUptime(g),
      maxcpu: g.cpus,
      cpu: running ? g.cpu : 0,
      maxmem: g.maxmem,
      mem: running ? g.mem : 0,
    });
    const memhost = cluster.guestMemhost(g);
    if (memhost !== undefined) entry["memhost"] = memhost;
    Object.assign(entry, {
      maxdisk: g.maxdisk,
      disk: g.type === "lxc" && running ? g.disk : 0,
      netin: running ? g.netin : 0,
      netout: running ? g.netout : 0,
      diskread: running ? g.diskread : 0,
      diskwrite: running ? g.diskwrite : 0,
    });
  }
  if (g.pool) entry["pool"] = g.pool;
  if (g.tags) entry["tags"] = g.tags;
  if (g.lock) entry["lock"] = g.lock;
  if (g.ha && cluster.isOnline(g.node)) entry["hastate"] = g.ha.state;
  return entry;
}

/** PVE sorts guests by vmid as strings ("100" < "1000" < "101"). */
function byVmidString(a: GuestState, b: GuestState): number {
  return String(a.vmid) < String(b.vmid) ? -1 : 1;
}

export function storageOnNode(s: StorageSpec, node: string): boolean {
  return !s.disable && (!s.nodes || s.nodes.includes(node));
}

export function storageUsage(s: StorageSpec, node: string): { total: number; used: number } {
  return s.perNode[node] ?? { total: s.total, used: s.used };
}

function resources(ctx: RouteContext): unknown[] {
  const { cluster, authid } = ctx;
  const type = param.optStr(ctx, "type");
  const engine = cluster.engine;
  const out: Record<string, unknown>[] = [];
  const guests = [...cluster.guests.values()];

  if (!type) {
    for (const pool of cluster.scenario.pools) {
      if (!engine.has(authid, `/pool/${pool.poolid}`, "Pool.Audit")) continue;
      const members = guests.filter((g) => g.pool === pool.poolid && cluster.isOnline(g.node));
      const running = members.filter(isRunning);
      const maxcpu = members.reduce((s, g) => s + g.cpus, 0);
      out.push({
        id: `/pool/${pool.poolid}`,
        type: "pool",
        pool: pool.poolid,
        uptime: Math.max(0, ...running.map((g) => cluster.guestUptime(g))),
        mem: running.reduce((s, g) => s + g.mem, 0),
        maxmem: members.reduce((s, g) => s + g.maxmem, 0),
        cpu: maxcpu ? running.reduce((s, g) => s + g.cpu * g.cpus, 0) / maxcpu : 0,
        maxcpu,
      });
    }
  }
  if (!type || type === "vm") {
    for (const g of guests.sort(byVmidString)) {
      if (!engine.has(authid, `/vms/${g.vmid}`, "VM.Audit")) continue;
      const entry = guestResource(cluster, g);
      if (g.pool && !engine.has(authid, `/pool/${g.pool}`, "Pool.Audit")) delete entry["pool"];
      out.push(entry);
    }
  }
  if (!type || type === "node") {
    for (const n of cluster.nodes.values()) {
      const entry: Record<string, unknown> = {
        id: `node/${n.name}`,
        type: "node",
        node: n.name,
        status: n.online ? "online" : "offline",
        level: n.level,
      };
      if (engine.has(authid, `/nodes/${n.name}`, "Sys.Audit")) Object.assign(entry, nodeStats(cluster, n));
      entry["cgroup-mode"] = 2;
      out.push(entry);
    }
  }
  if (!type || type === "storage") {
    for (const s of cluster.storages.values()) {
      if (!engine.has(authid, `/storage/${s.storage}`, "Datastore.Audit")) continue;
      for (const n of cluster.nodes.values()) {
        if (!storageOnNode(s, n.name)) continue;
        const entry: Record<string, unknown> = {
          id: `storage/${n.name}/${s.storage}`,
          type: "storage",
          storage: s.storage,
          node: n.name,
          plugintype: s.type,
          status: n.online && s.active ? "available" : "unknown",
          shared: s.shared,
          content: s.content,
        };
        if (n.online && s.active) {
          const usage = storageUsage(s, n.name);
          Object.assign(entry, { disk: usage.used, maxdisk: usage.total });
        }
        out.push(entry);
      }
    }
  }
  if (!type || type === "sdn") {
    if (engine.has(authid, "/sdn/zones/localnetwork", "SDN.Audit")) {
      for (const n of cluster.nodes.values()) {
        out.push(
          cluster.version === 9
            ? {
                id: `network/${n.name}/zone/localnetwork`,
                type: "network",
                "network-type": "zone",
                network: "localnetwork",
                node: n.name,
                status: "ok",
              }
            : {
                id: `sdn/${n.name}/localnetwork`,
                type: "sdn",
                sdn: "localnetwork",
                node: n.name,
                status: "ok",
              },
        );
      }
    }
  }
  return out;
}

/** The guests of a pool (PVE 9 pool index with `poolid`): /cluster/resources entries, VM.Audit-filtered. */
function poolMembers(ctx: RouteContext, poolid: string): unknown[] {
  const type = param.optStr(ctx, "type");
  return [...ctx.cluster.guests.values()]
    .filter((g) => g.pool === poolid && (!type || g.type === type))
    .filter((g) => ctx.cluster.engine.has(ctx.authid, `/vms/${g.vmid}`, "VM.Audit"))
    .sort(byVmidString)
    .map((g) => guestResource(ctx.cluster, g));
}

function nodeStatus(ctx: RouteContext): unknown {
  const n = ctx.cluster.nodes.get(param.str(ctx, "node")) as NodeSpec;
  const stats = nodeStats(ctx.cluster, n);
  const pve = ctx.cluster.pveVersionOf(n);
  const status: Record<string, unknown> = {
    uptime: stats["uptime"],
    idle: 0,
    loadavg: n.loadavg,
    kversion: `Linux ${pve.kernel} ${pve.kernelBuild}`,
    "current-kernel": { sysname: "Linux", release: pve.kernel, version: pve.kernelBuild, machine: "x86_64" },
  };
  status["boot-info"] = { mode: n.bootMode, secureboot: n.secureboot };
  status["cpuinfo"] = {
    user_hz: 100,
    mhz: n.mhz,
    model: n.cpuModel,
    sockets: n.sockets,
    cores: n.cores,
    cpus: n.cpus,
    hvm: "1",
    flags:
      "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm svm aes avx avx2",
  };
  const memFree = n.memTotal - n.memUsed;
  Object.assign(status, {
    cpu: n.cpu,
    wait: n.wait,
    memory: { free: Math.floor(memFree * 0.2), total: n.memTotal, available: memFree, used: n.memUsed },
    ksm: { shared: 0 },
    swap: { free: n.swapTotal - n.swapUsed, total: n.swapTotal, used: n.swapUsed },
    pveversion: `pve-manager/${pve.version}/${pve.repoid}`,
    rootfs: {
      total: n.rootfsTotal,
      avail: n.rootfsTotal - n.rootfsUsed - Math.floor(n.rootfsTotal * 0.05),
      used: n.rootfsUsed,
      free: n.rootfsTotal - n.rootfsUsed,
    },
  });
  return status;
}

export const clusterRoutes: Route[] = [
  route("GET /version", ({ cluster }) =>
    versionInfo(cluster, cluster.nodes.get(cluster.localNode) as NodeSpec),
  ),

  route("GET /cluster/status", ({ cluster }) => {
    const nodes = [...cluster.nodes.values()];
    const name = cluster.scenario.clusterName;
    const nodeEntries = nodes.map((n) => ({
      type: "node",
      id: `node/${n.name}`,
      name: n.name,
      nodeid: name ? n.nodeid : 0,
      ip: n.ip,
      local: n.name === cluster.localNode ? 1 : 0,
      online: n.online ? 1 : 0,
      level: n.level,
    }));
    if (!name) return nodeEntries;
    const online = nodes.filter((n) => n.online).length;
    return [
      {
        type: "cluster",
        id: "cluster",
        name,
        nodes: nodes.length,
        quorate: online * 2 > nodes.length ? 1 : 0,
        version: cluster.scenario.clusterConfigVersion,
      },
      ...nodeEntries,
    ];
  }),

  route("GET /cluster/resources", resources),

  // pve-cluster's ClusterConfig.pm: the totem section and the nodelist of corosync.conf, as
  // its parser gives them (every value a string); a standalone node has no corosync.conf.
  route("GET /cluster/config/totem", ({ cluster }) => {
    const { clusterName, clusterConfigVersion, corosync } = corosyncOf(cluster);
    const totem: Record<string, unknown> = {
      cluster_name: clusterName,
      config_version: String(clusterConfigVersion),
      interface: Object.fromEntries(
        Array.from({ length: corosync.links }, (_, link) => [String(link), { linknumber: String(link) }]),
      ),
      ip_version: "ipv4-6",
      link_mode: "passive",
      version: "2",
    };
    if (corosync.secauth) totem["secauth"] = corosync.secauth;
    if (corosync.crypto_cipher) totem["crypto_cipher"] = corosync.crypto_cipher;
    if (corosync.crypto_hash) totem["crypto_hash"] = corosync.crypto_hash;
    return totem;
  }),
  route("GET /cluster/config/nodes", ({ cluster }) => {
    const { corosync } = corosyncOf(cluster);
    return [...cluster.nodes.values()].map((n) => {
      const entry: Record<string, unknown> = {
        node: n.name,
        name: n.name,
        nodeid: String(n.nodeid),
        quorum_votes: "1",
        ring0_addr: n.ip,
      };
      for (let link = 1; link < corosync.links; link++)
        entry[`ring${link}_addr`] = `10.${link}.0.${n.nodeid}`;
      return entry;
    });
  }),

  route("GET /nodes", ({ cluster, authid }) =>
    [...cluster.nodes.values()].map((n) => {
      const entry: Record<string, unknown> = {
        node: n.name,
        status: n.online ? "online" : "offline",
        type: "node",
        id: `node/${n.name}`,
        level: n.level,
      };
      if (cluster.engine.has(authid, `/nodes/${n.name}`, "Sys.Audit"))
        Object.assign(entry, nodeStats(cluster, n));
      const cert = cluster.certificates.get(n.name)?.find((c) => c.filename === "pve-ssl.pem");
      entry["ssl_fingerprint"] = cert?.fingerprint;
      return entry;
    }),
  ),

  route("GET /nodes/{node}", () =>
    [
      "aplinfo",
      "apt",
      "capabilities",
      "ceph",
      "certificates",
      "config",
      "disks",
      "dns",
      "execute",
      "firewall",
      "hardware",
      "hosts",
      "journal",
      "lxc",
      "migrateall",
      "netstat",
      "network",
      "qemu",
      "query-url-metadata",
      "replication",
      "report",
      "rrd",
      "rrddata",
      "scan",
      "sdn",
      "services",
      "spiceshell",
      "startall",
      "status",
      "stopall",
      "storage",
      "subscription",
      "suspendall",
      "syslog",
      "tasks",
      "termproxy",
      "time",
      "version",
      "vncshell",
      "vzdump",
      "wakeonlan",
    ].map((name) => ({ name })),
  ),

  route("GET /nodes/{node}/status", nodeStatus),

  route("GET /pools", (ctx) => {
    const poolid = param.optStr(ctx, "poolid");
    const pools = ctx.cluster.scenario.pools.filter(
      (p) =>
        (!poolid || p.poolid === poolid) &&
        ctx.cluster.engine.has(ctx.authid, `/pool/${p.poolid}`, "Pool.Audit"),
    );
    if (poolid && pools.length === 0) throw new PveError(500, `pool '${poolid}' does not exist\n`);
    return pools.map((p) => {
      const entry: Record<string, unknown> = { poolid: p.poolid };
      if (p.comment) entry["comment"] = p.comment;
      if (poolid) entry["members"] = poolMembers(ctx, p.poolid);
      return entry;
    });
  }),
];

/** The corosync configuration of a cluster; a standalone node has none, as PVE says. */
function corosyncOf(cluster: Cluster) {
  const { clusterName, clusterConfigVersion, corosync } = cluster.scenario;
  if (!clusterName) {
    throw new PveError(
      500,
      "Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n",
    );
  }
  return { clusterName, clusterConfigVersion, corosync };
}
