/**
 * Toolset "core": version, cluster, nodes, guests and storage. Listings use one
 * /cluster/resources call (never a loop over nodes), so an offline node is
 * reported instead of failing the answer.
 */
import { z } from "zod";
import { pveNode, pveVmid } from "../pve/formats.js";
import { redact } from "../redact.js";
import { defineTool, type ReadContext } from "./define.js";
import { formatDuration, WHOLE_DAYS, WHOLE_HOURS } from "../pve/model/duration.js";
import {
  clusterResources,
  guestType,
  isGuest,
  locateGuest,
  offlineNodesOf,
  type ClusterResource,
} from "../pve/model/resources.js";
import { isRefusal } from "../pve/model/visibility.js";
import { tagsOf } from "../pve/model/values.js";
import { clusterResourceSnapshots } from "./cluster.js";
import { cursorPagingInput, cursorPagingOutput, paginate, snapshotOf, PAGED_RESULT_CHARS } from "./paging.js";
import { cleanText, fence, LIMITS } from "../untrusted.js";

const GiB = 1024 ** 3;
const gib = (bytes: number | undefined) => (bytes === undefined ? "?" : (bytes / GiB).toFixed(1));
const pct = (used: number | undefined, total: number | undefined) =>
  used === undefined || !total ? "?" : `${Math.round((used / total) * 100)}%`;
/** "824.8 GiB", "7.5 TiB": a storage's sizes in the unit a person reads them in. */
const size = (bytes: number) =>
  bytes >= 1024 * GiB ? `${(bytes / 1024 / GiB).toFixed(1)} TiB` : `${gib(bytes)} GiB`;

const guestSummary = z.object({
  vmid: z.number().int(),
  name: z.string(),
  type: guestType,
  node: z.string(),
  status: z.string(),
  template: z.boolean(),
  cpus: z.number().optional(),
  memUsed: z.number().optional(),
  memMax: z.number().optional(),
  diskMax: z.number().optional(),
  uptime: z.number().optional(),
  tags: z.array(z.string()),
  pool: z.string().optional(),
  haState: z.string().optional(),
  lock: z.string().optional(),
});

export const getVersion = defineTool({
  name: "get_version",
  title: "Proxmox version and server settings",
  description:
    "PVE version, the node that answers, the token ids (never secrets), TLS mode, which tiers and toolsets are on, and which tools are hidden and why.",
  toolset: "core",
  tier: "read",
  alwaysLoad: true,
  input: {},
  output: {
    version: z.string(),
    release: z.string(),
    repoid: z.string(),
    answeringNode: z.string().nullable(),
    tokenId: z.string(),
    tlsMode: z.string(),
    tiers: z.array(z.string()),
    toolsets: z.array(z.string()),
    tokenExtraPrivileges: z.array(z.string()),
    adminTokenId: z.string().nullable(),
    hiddenTools: z.array(z.object({ name: z.string(), reason: z.string() })),
    warnings: z.array(z.string()),
  },
  needs: [],
  async handle(_args, ctx) {
    const version = await ctx.read.get<{ version: string; release: string; repoid: string }>("/version");
    // Without Sys.Audit on / PVE answers 403: the answering node is then unknown. Any other
    // failure is a real error and is reported as such.
    const status = await ctx.read
      .get<{ type: string; name: string; local?: number }[]>("/cluster/status")
      .catch((err: unknown) => {
        if (isRefusal(err)) return [];
        throw err;
      });
    const answeringNode = status.find((e) => e.type === "node" && e.local === 1)?.name ?? null;
    const out = {
      version: version.version,
      release: version.release,
      repoid: version.repoid,
      answeringNode,
      tokenId: ctx.facts.tokenId,
      tlsMode: ctx.facts.tlsMode,
      tiers: ctx.facts.adminTokenId ? ["read", "dangerous"] : ["read"],
      toolsets: ctx.facts.toolsets ? [...ctx.facts.toolsets] : ["all"],
      tokenExtraPrivileges: [...ctx.access.readExtraPrivileges],
      adminTokenId: ctx.facts.adminTokenId ?? null,
      hiddenTools: [...ctx.access.hiddenTools],
      warnings: [
        ...(ctx.access.readExtraPrivileges.length
          ? [
              `the read token can change things (allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN): ${ctx.access.readExtraPrivileges.join("; ")}`,
            ]
          : []),
        ...ctx.access.adminWarnings,
      ],
    };
    const lines = [
      `Proxmox VE ${out.version} (release ${out.release}, repoid ${out.repoid}); answering node: ${answeringNode ?? "unknown (needs Sys.Audit on /)"}`,
      `read token ${out.tokenId}${out.adminTokenId ? `, admin token ${out.adminTokenId}` : ""}, TLS ${out.tlsMode}, tiers: ${out.tiers.join(", ")}, toolsets: ${out.toolsets.join(", ")}`,
      ...out.hiddenTools.map((t) => `hidden: ${t.name} (${t.reason})`),
      ...out.warnings.map((w) => `WARNING: ${w}`),
    ];
    return { text: lines.join("\n"), structured: out };
  },
});

export const getClusterStatus = defineTool({
  name: "get_cluster_status",
  title: "Cluster status",
  description: "Cluster name, quorum and each node's membership and online state.",
  toolset: "core",
  tier: "read",
  input: {},
  output: {
    cluster: z
      .object({ name: z.string(), quorate: z.boolean(), nodes: z.number(), version: z.number() })
      .nullable(),
    nodes: z.array(
      z.object({
        name: z.string(),
        nodeid: z.number(),
        ip: z.string().optional(),
        online: z.boolean(),
        local: z.boolean(),
      }),
    ),
  },
  needs: [{ path: "/", privileges: ["Sys.Audit"] }],
  async handle(_args, ctx) {
    type Entry = {
      type: string;
      name: string;
      quorate?: number;
      nodes?: number;
      version?: number;
      nodeid?: number;
      ip?: string;
      online?: number;
      local?: number;
    };
    const entries = await ctx.read.get<Entry[]>("/cluster/status");
    const c = entries.find((e) => e.type === "cluster");
    const cluster = c
      ? { name: c.name, quorate: c.quorate === 1, nodes: c.nodes ?? 0, version: c.version ?? 0 }
      : null;
    const nodes = entries
      .filter((e) => e.type === "node")
      .map((e) => ({
        name: e.name,
        nodeid: e.nodeid ?? 0,
        ip: e.ip,
        online: e.online === 1,
        local: e.local === 1,
      }));
    const head = cluster
      ? `cluster ${cluster.name}: ${cluster.quorate ? "quorate" : "NOT QUORATE"}, ${cluster.nodes} nodes, config version ${cluster.version}`
      : "standalone node (no cluster)";
    const lines = nodes.map(
      (n) =>
        `${n.name} (id ${n.nodeid}, ${n.ip ?? "?"}): ${n.online ? "online" : "OFFLINE"}${n.local ? ", answering" : ""}`,
    );
    return { text: [head, ...lines].join("\n"), structured: { cluster, nodes } };
  },
});

export const getNodes = defineTool({
  name: "get_nodes",
  title: "Nodes",
  description: "Every cluster node with online state, CPU, memory, root disk and uptime.",
  toolset: "core",
  tier: "read",
  input: {},
  output: {
    nodes: z.array(
      z.object({
        node: z.string(),
        status: z.string(),
        cpu: z.number().optional(),
        maxcpu: z.number().optional(),
        mem: z.number().optional(),
        maxmem: z.number().optional(),
        disk: z.number().optional(),
        maxdisk: z.number().optional(),
        uptime: z.number().optional(),
        statsHidden: z.boolean(),
      }),
    ),
  },
  // Nodes are listed without Sys.Audit (only their stats are hidden), so the tool always works.
  needs: [],
  async handle(_args, ctx) {
    type Node = {
      node: string;
      status: string;
      cpu?: number;
      maxcpu?: number;
      mem?: number;
      maxmem?: number;
      disk?: number;
      maxdisk?: number;
      uptime?: number;
    };
    const list = await ctx.read.get<Node[]>("/nodes");
    const nodes = list
      .map((n) => ({
        node: n.node,
        status: n.status,
        cpu: n.cpu,
        maxcpu: n.maxcpu,
        mem: n.mem,
        maxmem: n.maxmem,
        disk: n.disk,
        maxdisk: n.maxdisk,
        uptime: n.uptime,
        statsHidden: n.status === "online" && n.uptime === undefined,
      }))
      .sort((a, b) => a.node.localeCompare(b.node));
    const lines = nodes.map((n) => {
      if (n.status !== "online") return `${n.node}: ${n.status.toUpperCase()}`;
      if (n.statsHidden)
        return `${n.node}: online (stats hidden from this token, which needs Sys.Audit on /nodes/${n.node})`;
      return `${n.node}: online, cpu ${Math.round((n.cpu ?? 0) * 100)}% of ${n.maxcpu}, mem ${gib(n.mem)}/${gib(n.maxmem)} GiB, root ${pct(n.disk, n.maxdisk)}, up ${formatDuration(n.uptime ?? 0, WHOLE_DAYS)}`;
    });
    return { text: lines.join("\n"), structured: { nodes } };
  },
});

export const getNodeStatus = defineTool({
  name: "get_node_status",
  title: "Node status",
  description: "One node's kernel, PVE version, CPU, load, memory, swap, root filesystem and boot mode.",
  toolset: "core",
  tier: "read",
  input: { node: pveNode.describe("node name, e.g. pve1") },
  output: {
    node: z.string(),
    pveversion: z.string(),
    kernel: z.string(),
    cpuModel: z.string(),
    cpus: z.number(),
    cpu: z.number(),
    loadavg: z.array(z.string()),
    memory: z.object({ used: z.number(), total: z.number() }),
    swap: z.object({ used: z.number(), total: z.number() }),
    rootfs: z.object({ used: z.number(), total: z.number() }),
    uptime: z.number(),
    bootMode: z.string().optional(),
  },
  needs: [{ path: "/nodes/{node}", privileges: ["Sys.Audit"] }],
  async handle({ node }, ctx) {
    type Status = {
      pveversion: string;
      kversion: string;
      cpuinfo: { model: string; cpus: number };
      cpu: number;
      loadavg: string[];
      memory: { used: number; total: number };
      swap: { used: number; total: number };
      rootfs: { used: number; total: number };
      uptime: number;
      "boot-info"?: { mode: string };
    };
    const s = await ctx.read.get<Status>("/nodes/{node}/status", { node });
    const out = {
      node,
      pveversion: s.pveversion,
      kernel: s.kversion,
      cpuModel: s.cpuinfo.model,
      cpus: s.cpuinfo.cpus,
      cpu: s.cpu,
      loadavg: s.loadavg,
      memory: { used: s.memory.used, total: s.memory.total },
      swap: { used: s.swap.used, total: s.swap.total },
      rootfs: { used: s.rootfs.used, total: s.rootfs.total },
      uptime: s.uptime,
      bootMode: s["boot-info"]?.mode,
    };
    return {
      text:
        `${node}: ${out.pveversion}, ${out.kernel}\n` +
        `cpu ${out.cpuModel} x${out.cpus}, ${Math.round(out.cpu * 100)}% busy, load ${out.loadavg.join(" ")}\n` +
        `mem ${gib(out.memory.used)}/${gib(out.memory.total)} GiB, swap ${gib(out.swap.used)}/${gib(out.swap.total)} GiB, root ${pct(out.rootfs.used, out.rootfs.total)} of ${gib(out.rootfs.total)} GiB, up ${formatDuration(out.uptime, WHOLE_DAYS)}, boot ${out.bootMode ?? "?"}`,
      structured: out,
    };
  },
});

const vmFilters = (args: { node?: string; type: string; status?: string; name?: string; tag?: string }) => ({
  node: args.node,
  type: args.type,
  status: args.status,
  name: args.name,
  tag: args.tag,
});

type VmFilters = Parameters<typeof vmFilters>[0];

/**
 * What a listing needs of a snapshot, worked out once per snapshot (and filters): every
 * further page of it slices the same sorted list and states the same offline nodes (a
 * snapshot is never changed after it is taken, and goes with its answer once no cursor
 * refers to it).
 */
type SnapshotView = { offlineNodes: string[]; matchingByFilters: Map<string, ClusterResource[]> };
const viewOfSnapshot = new WeakMap<readonly ClusterResource[], SnapshotView>();

function viewOf(resources: ClusterResource[]): SnapshotView {
  let view = viewOfSnapshot.get(resources);
  if (!view) {
    view = { offlineNodes: offlineNodesOf(resources), matchingByFilters: new Map() };
    viewOfSnapshot.set(resources, view);
  }
  return view;
}

function matchingGuests(resources: ClusterResource[], filters: VmFilters): ClusterResource[] {
  const key = JSON.stringify(vmFilters(filters));
  const { matchingByFilters } = viewOf(resources);
  const known = matchingByFilters.get(key);
  if (known) return known;
  const name = filters.name?.toLowerCase();
  const tag = filters.tag?.toLowerCase();
  const matching = resources
    .filter(isGuest)
    .filter((r) => filters.type === "all" || r.type === filters.type)
    .filter((r) => !filters.node || r.node === filters.node)
    .filter((r) => !filters.status || r.status === filters.status)
    .filter((r) => !name || (r.name ?? "").toLowerCase().includes(name))
    .filter((r) => !tag || tagsOf(r.tags).some((t) => t.toLowerCase() === tag))
    .sort((a, b) => (a.vmid ?? 0) - (b.vmid ?? 0));
  matchingByFilters.set(key, matching);
  return matching;
}

export const getVms = defineTool({
  name: "get_vms",
  title: "List VMs and containers",
  description:
    "Guests of the whole cluster from one /cluster/resources call, filtered, with totals; further pages: cursor=nextCursor, same filters, from that one answer. " +
    "Offline nodes are reported, not fatal.",
  toolset: "core",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    node: pveNode.optional().describe("only guests on this node"),
    type: z.enum(["qemu", "lxc", "all"]).default("all"),
    status: z
      .enum(["running", "stopped", "unknown"])
      .optional()
      .describe(
        '"running" includes paused guests (PVE lists them as running); "unknown": on an offline node',
      ),
    name: z.string().max(64).optional().describe("case-insensitive substring of the name"),
    tag: z.string().max(64).optional().describe("exact tag, case-insensitive"),
    ...cursorPagingInput(50),
  },
  output: {
    ...cursorPagingOutput,
    offlineNodes: z.array(z.string()),
    guests: z.array(guestSummary),
  },
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  checkArgs(args) {
    if (args.cursor === undefined) return;
    if (args.offset !== undefined) {
      throw new Error(
        "cursor and offset given together: a cursor carries its own position; pass only cursor (the next page) or only offset (a fresh listing from there).",
      );
    }
    clusterResourceSnapshots.check("get_vms", vmFilters(args), args.cursor);
  },
  async handle(args, ctx) {
    const listing = await clusterResourceSnapshots.list(
      "get_vms",
      vmFilters(args),
      args.cursor,
      ctx.read.client,
      () => clusterResources(ctx.read),
    );
    const resources = listing.data;
    const matching = matchingGuests(resources, args);
    const start = listing.position ?? args.offset ?? 0;
    const page = paginate(matching, args.limit, start, "guest", listing.cursorAt);
    const { snapshot, line } = snapshotOf(
      listing,
      clusterResourceSnapshots.source,
      "get_vms",
      args.cursor !== undefined || page.meta.truncated,
    );
    const offlineNodes = [...viewOf(resources).offlineNodes];
    const guests = page.items.map((r) => ({
      vmid: r.vmid as number,
      name: cleanText(r.name ?? "", LIMITS.name),
      type: r.type as "qemu" | "lxc",
      node: r.node ?? "",
      status: r.status ?? "unknown",
      template: r.template === 1,
      cpus: r.maxcpu,
      memUsed: r.mem,
      memMax: r.maxmem,
      diskMax: r.maxdisk,
      uptime: r.uptime,
      tags: tagsOf(r.tags).map((t) => cleanText(t, LIMITS.tag)),
      pool: r.pool,
      haState: r.hastate,
      lock: r.lock,
    }));
    const lines = guests.map(
      (g) =>
        `${g.vmid} ${g.type} ${g.node} ${g.status}${g.template ? " template" : ""}${g.lock ? ` locked(${g.lock})` : ""} ` +
        `${g.cpus ?? "?"}cpu mem ${gib(g.memUsed)}/${gib(g.memMax)}GiB${g.tags.length ? ` tags:${g.tags.join(",")}` : ""} name:${JSON.stringify(g.name)}`,
    );
    const offline = offlineNodes.length
      ? `\noffline node(s): ${offlineNodes.join(", ")}: their guests show status "unknown"`
      : "";
    const unfiltered =
      args.type === "all" && !args.node && !args.status && args.name === undefined && args.tag === undefined;
    const none = unfiltered
      ? "no guest visible: PVE hides guests this token may not see (needs VM.Audit on /vms or on the guests)"
      : "no guest matches";
    return {
      text: `${matching.length === 0 ? none : page.header}${line}${offline}\n${lines.join("\n")}`.trimEnd(),
      structured: {
        ...page.meta,
        snapshot,
        offlineNodes,
        guests,
      },
    };
  },
});

const vmidInput = {
  vmid: pveVmid.describe("VM or container id, e.g. 100"),
  node: pveNode.optional().describe("node of the guest; found automatically when omitted"),
};

export const getVmStatus = defineTool({
  name: "get_vm_status",
  title: "VM or container status",
  description:
    "Live status of one VM or container (found on its node automatically): state, CPU, memory, disk, network, HA, agent.",
  toolset: "core",
  tier: "read",
  input: vmidInput,
  output: {
    vmid: z.number().int(),
    type: guestType,
    node: z.string(),
    name: z.string(),
    status: z.string(),
    qmpstatus: z.string().optional(),
    uptime: z.number(),
    cpu: z.number(),
    cpus: z.number(),
    mem: z.number(),
    maxmem: z.number(),
    maxdisk: z.number(),
    netin: z.number(),
    netout: z.number(),
    haManaged: z.boolean(),
    haState: z.string().optional(),
    agent: z.boolean(),
    lock: z.string().optional(),
    tags: z.array(z.string()),
  },
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  async handle({ vmid, node }, ctx) {
    const g = locateGuest(await clusterResources(ctx.read), vmid, node);
    type Status = {
      name?: string;
      status: string;
      qmpstatus?: string;
      uptime?: number;
      cpu?: number;
      cpus?: number;
      mem?: number;
      maxmem?: number;
      maxdisk?: number;
      netin?: number;
      netout?: number;
      ha?: { managed?: number; state?: string };
      agent?: number;
      lock?: string;
      tags?: string;
    };
    const s = await ctx.read.get<Status>(`/nodes/{node}/${g.type}/{vmid}/status/current`, {
      node: g.node,
      vmid,
    });
    const out = {
      vmid,
      type: g.type,
      node: g.node,
      name: cleanText(s.name ?? g.name ?? "", LIMITS.name),
      status: s.status,
      qmpstatus: s.qmpstatus,
      uptime: s.uptime ?? 0,
      cpu: s.cpu ?? 0,
      cpus: Number(s.cpus ?? 0),
      mem: s.mem ?? 0,
      maxmem: s.maxmem ?? 0,
      maxdisk: s.maxdisk ?? 0,
      netin: s.netin ?? 0,
      netout: s.netout ?? 0,
      haManaged: s.ha?.managed === 1,
      haState: s.ha?.state,
      agent: s.agent === 1,
      lock: s.lock,
      tags: tagsOf(s.tags).map((t) => cleanText(t, LIMITS.tag)),
    };
    return {
      text:
        `${out.type} ${vmid} on ${out.node}: ${out.status}${out.qmpstatus && out.qmpstatus !== out.status ? ` (${out.qmpstatus})` : ""}` +
        `${out.lock ? `, locked (${out.lock})` : ""}, up ${formatDuration(out.uptime, WHOLE_HOURS)}, cpu ${Math.round(out.cpu * 100)}% of ${out.cpus}, ` +
        `mem ${gib(out.mem)}/${gib(out.maxmem)} GiB, disk ${gib(out.maxdisk)} GiB, HA ${out.haManaged ? (out.haState ?? "managed") : "no"}, agent ${out.agent ? "on" : "off"}\n` +
        `name: ${JSON.stringify(out.name)}${out.tags.length ? `, tags: ${out.tags.join(",")}` : ""}`,
      structured: out,
    };
  },
});

/**
 * A config value that is not a string or a number: a container's raw LXC keys come as
 * [[key, value], ...] and are shown as the config file has them, one "key: value" line
 * each; anything else PVE might add is shown as JSON rather than refused.
 */
function configLines(value: unknown): string {
  if (Array.isArray(value) && value.every((line) => Array.isArray(line) && line.length === 2)) {
    return (value as unknown[][]).map(([key, setting]) => `${String(key)}: ${String(setting)}`).join("\n");
  }
  return JSON.stringify(value) ?? "";
}

export const getVmConfig = defineTool({
  name: "get_vm_config",
  title: "VM or container configuration",
  description:
    "Current configuration of one VM or container (found automatically; pending changes not applied). Secrets (cloud-init password, SSH keys, anything password- or key-like) are redacted; the whole listing is untrusted text.",
  toolset: "core",
  tier: "read",
  input: vmidInput,
  output: {
    vmid: z.number().int(),
    type: guestType,
    node: z.string(),
    config: z.record(z.string(), z.union([z.string(), z.number()])),
  },
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  async handle({ vmid, node }, ctx) {
    const g = locateGuest(await clusterResources(ctx.read), vmid, node);
    const raw = await ctx.read.get<Record<string, unknown>>(
      `/nodes/{node}/${g.type}/{vmid}/config`,
      { node: g.node, vmid },
      // Without current=1 PVE answers the config with pending changes applied.
      { current: 1 },
    );
    const cleaned: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (key === "digest") continue;
      cleaned[key] =
        typeof value === "number"
          ? value
          : typeof value === "string"
            ? cleanText(value, key === "description" ? LIMITS.description : 2000, key === "description")
            : cleanText(configLines(value), 4000, true);
    }
    // Text and structured output come from the same redacted config: key rules (sshkeys,
    // cipassword, *_password...) and value patterns apply to both alike.
    const config = redact(cleaned);
    const { description, ...rest } = config;
    const lines = Object.keys(rest)
      .sort()
      .map((k) => `${k}: ${rest[k]}`);
    if (description !== undefined) {
      lines.push(`description:\n${String(description).replace(/^/gm, "  ")}`);
    }
    // ciuser, searchdomain, hookscript paths, LXC entrypoint/env... are free strings too.
    return {
      text: `${g.type} ${vmid} on ${g.node}\n${fence("config", lines.join("\n"))}`,
      structured: { vmid, type: g.type, node: g.node, config },
    };
  },
});

export const getStorage = defineTool({
  name: "get_storage",
  title: "Storage usage",
  description:
    "Storages with type, content, shared flag and usage, per node (one call for the whole cluster, or one node).",
  toolset: "core",
  tier: "read",
  input: { node: pveNode.optional().describe("only this node's view") },
  output: {
    storages: z.array(
      z.object({
        storage: z.string(),
        node: z.string(),
        type: z.string(),
        content: z.string(),
        shared: z.boolean(),
        status: z.string(),
        used: z.number().optional(),
        total: z.number().optional(),
        usedFraction: z.number().optional(),
      }),
    ),
  },
  needs: [{ path: "/storage/{storage}", privileges: ["Datastore.Audit"] }],
  async handle({ node }, ctx) {
    const storages = node ? await nodeStorages(ctx, node) : await clusterStorages(ctx);
    storages.sort((a, b) => a.storage.localeCompare(b.storage) || a.node.localeCompare(b.node));
    const lines = storages.map(
      (s) =>
        `${s.storage}@${s.node} ${s.type}${s.shared ? " shared" : ""} [${s.content}] status ${s.status}` +
        // PVE calls an active storage "available": the numbers must not read as available space.
        (s.total && s.used !== undefined
          ? `, used ${size(s.used)} of ${size(s.total)} (${pct(s.used, s.total)}), free ${size(Math.max(0, s.total - s.used))}` +
            `${(s.usedFraction ?? 0) >= 0.9 ? " NEARLY FULL" : ""}`
          : ""),
    );
    return {
      text: lines.length ? lines.join("\n") : "no storage visible (needs Datastore.Audit on /storage)",
      structured: { storages },
    };
  },
});

async function clusterStorages(ctx: ReadContext) {
  const list = await ctx.read.get<ClusterResource[]>("/cluster/resources", {}, { type: "storage" });
  return list.map((s) => ({
    storage: s.storage ?? "",
    node: s.node ?? "",
    type: s.plugintype ?? "",
    content: s.content ?? "",
    shared: s.shared === 1,
    status: s.status ?? "unknown",
    used: s.disk,
    total: s.maxdisk,
    usedFraction: s.maxdisk ? (s.disk ?? 0) / s.maxdisk : undefined,
  }));
}

async function nodeStorages(ctx: ReadContext, node: string) {
  type Entry = {
    storage: string;
    type: string;
    content: string;
    shared?: number;
    active?: number;
    enabled?: number;
    used?: number;
    total?: number;
    used_fraction?: number;
  };
  const list = await ctx.read.get<Entry[]>("/nodes/{node}/storage", { node });
  return list.map((s) => ({
    storage: s.storage,
    node,
    type: s.type,
    content: s.content,
    shared: s.shared === 1,
    status: s.enabled === 0 ? "disabled" : s.active === 1 ? "available" : "inactive",
    used: s.used,
    total: s.total,
    usedFraction: s.used_fraction,
  }));
}

export const coreTools = [
  getVersion,
  getClusterStatus,
  getNodes,
  getNodeStatus,
  getVms,
  getVmStatus,
  getVmConfig,
  getStorage,
];
