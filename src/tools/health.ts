/**
 * Toolset "health": HA manager state, storage replication, physical disks (SMART) and
 * node network configuration. Problems (HA resources in error or being fenced, failing
 * replication jobs, offline nodes, failing disks) are flagged in the text, first.
 */
import { z } from "zod";
import { PveApiError } from "../pve/errors.js";
import { pveNode } from "../pve/formats.js";
import { mapLimit, NODE_CONCURRENCY } from "../pve/model/concurrency.js";
import { LOW_WEAROUT, wearoutOf, type PveDisk } from "../pve/model/disks.js";
import { formatDuration, SHORT_AGE } from "../pve/model/duration.js";
import { clusterResources, isGuest, offlineNodesOf } from "../pve/model/resources.js";
import { holds } from "../pve/model/visibility.js";
import { defineTool } from "./define.js";
import { isOffline, isoTime, nowSeconds, shortTime } from "./tasks.js";
import { gapsField, gapText } from "./visibility.js";
import { cleanText, fence } from "../untrusted.js";

// ---------------------------------------------------------------------------------------------
// get_ha_status

interface HaStatusEntry {
  id: string;
  type: string;
  node?: string;
  status?: string;
  quorate?: number;
  sid?: string;
  state?: string;
  crm_state?: string;
  request_state?: string;
  "armed-state"?: string;
}

interface HaResource {
  sid: string;
  type?: string;
  state?: string;
  group?: string;
  max_restart?: number;
  max_relocate?: number;
  failback?: number;
  comment?: string;
}

/** Service states that need someone's attention, and what they mean. */
const HA_PROBLEMS: Record<string, string> = {
  error:
    "HA gave up on it (error state): fix the cause, then `ha-manager set <sid> --state disabled` and back to started",
  fence: "its node was lost: HA waits for the node to be fenced before recovering it elsewhere",
  recovery: "being recovered to another node after its node was fenced",
};
/** Transitional or deliberate states worth a mention. */
const HA_NOTES: Record<string, string> = {
  freeze: "frozen (its node is in maintenance or shutting down)",
  starting: "starting",
  request_stop: "stop requested",
  migrate: "migrating",
  relocate: "relocating",
  queued: "queued (not yet picked up by the HA manager)",
};

/** "pve1 (active, watchdog active, Tue Apr 28 08:15:02 2026)" -> "active". */
function lrmState(status: string | undefined): string {
  const inner = /\(([^,)]+)/.exec(status ?? "")?.[1];
  return (inner ?? status ?? "unknown").trim();
}

export const getHaStatus = defineTool({
  name: "get_ha_status",
  title: "HA status",
  description:
    "HA manager: quorum, master, each node's LRM, and every HA resource with its state and settings; resources in error, fence or recovery are flagged.",
  toolset: "health",
  tier: "read",
  input: {},
  output: {
    quorum: z.object({ ok: z.boolean(), status: z.string() }).nullable(),
    master: z.object({ node: z.string(), status: z.string() }).nullable(),
    fencing: z.object({ state: z.string(), status: z.string() }).nullable(),
    lrms: z.array(z.object({ node: z.string(), state: z.string(), status: z.string() })),
    resources: z.array(
      z.object({
        sid: z.string(),
        type: z.string(),
        node: z.string().optional(),
        state: z.string(),
        crmState: z.string().optional(),
        requestedState: z.string().optional(),
        group: z.string().optional(),
        maxRestart: z.number().optional(),
        maxRelocate: z.number().optional(),
        failback: z.boolean().optional(),
        comment: z.string().optional(),
        problem: z.string().optional(),
      }),
    ),
    problems: z.array(z.string()),
  },
  needs: [{ path: "/", privileges: ["Sys.Audit"] }],
  async handle(_args, ctx) {
    const [status, config] = await Promise.all([
      ctx.read.get<HaStatusEntry[]>("/cluster/ha/status/current"),
      ctx.read.get<HaResource[]>("/cluster/ha/resources"),
    ]);
    const problems: string[] = [];
    const q = status.find((e) => e.type === "quorum");
    const quorum = q
      ? { ok: q.quorate === 1 || q.status === "OK", status: cleanText(q.status ?? "", 120) }
      : null;
    if (quorum && !quorum.ok) problems.push(`cluster not quorate: ${quorum.status}`);
    const m = status.find((e) => e.type === "master");
    const master = m ? { node: m.node ?? "", status: cleanText(m.status ?? "", 120) } : null;
    const f = status.find((e) => e.type === "fencing");
    const fencing = f
      ? { state: f["armed-state"] ?? lrmState(f.status), status: cleanText(f.status ?? "", 120) }
      : null;
    const lrms = status
      .filter((e) => e.type === "lrm")
      .map((e) => ({
        node: e.node ?? "",
        state: lrmState(e.status),
        status: cleanText(e.status ?? "", 120),
      }));
    if (master && /dead|drift/.test(lrmState(m?.status)))
      problems.push(`HA master ${master.node}: ${lrmState(m?.status)}`);
    for (const l of lrms)
      if (/dead|drift/.test(l.state))
        problems.push(`LRM of ${l.node}: ${l.state} (node down or HA services stopped)`);

    const services = new Map(
      status.filter((e) => e.type === "service" && e.sid).map((e) => [e.sid as string, e]),
    );
    const sids = [...new Set([...config.map((r) => r.sid), ...services.keys()])].sort();
    if (sids.length > 0 && !master) problems.push("HA resources are configured but no HA master is active");
    const resources = sids.map((sid) => {
      const cfg = config.find((r) => r.sid === sid);
      const svc = services.get(sid);
      const state = svc?.state ?? "not managed yet";
      const problem = HA_PROBLEMS[state]?.replace("<sid>", sid);
      if (problem) problems.push(`${sid} on ${svc?.node ?? "?"}: ${state.toUpperCase()}: ${problem}`);
      return {
        sid,
        type: cfg?.type ?? sid.split(":")[0] ?? "",
        ...(svc?.node ? { node: svc.node } : {}),
        state,
        ...(svc?.crm_state ? { crmState: svc.crm_state } : {}),
        ...((svc?.request_state ?? cfg?.state) ? { requestedState: svc?.request_state ?? cfg?.state } : {}),
        ...(cfg?.group ? { group: cleanText(cfg.group, 64) } : {}),
        ...(cfg?.max_restart !== undefined ? { maxRestart: cfg.max_restart } : {}),
        ...(cfg?.max_relocate !== undefined ? { maxRelocate: cfg.max_relocate } : {}),
        ...(cfg?.failback !== undefined ? { failback: cfg.failback === 1 } : {}),
        ...(cfg?.comment ? { comment: cleanText(cfg.comment, 200) } : {}),
        ...(problem ? { problem } : {}),
      };
    });
    const lines = [
      `quorum: ${quorum ? (quorum.ok ? "OK" : `NOT OK (${quorum.status})`) : "unknown"}; master: ${master ? `${master.node} (${lrmState(m?.status)})` : "none"}` +
        (fencing ? `; fencing: ${fencing.state}` : ""),
      `LRMs: ${lrms.map((l) => `${l.node} ${l.state}`).join(", ") || "none"}`,
      ...problems.map((p) => `PROBLEM: ${p}`),
      resources.length === 0 ? "no HA resources configured" : `${resources.length} HA resource(s):`,
      ...resources.map((r) => {
        const note = HA_NOTES[r.state];
        return (
          `${r.problem ? "PROBLEM " : ""}${r.sid} on ${r.node ?? "?"}: ${r.state}${note ? ` (${note})` : ""}` +
          `${r.requestedState && r.requestedState !== r.state ? `, requested ${r.requestedState}` : ""}` +
          `${r.group ? `, group ${r.group}` : ""}, max_restart ${r.maxRestart ?? "?"}, max_relocate ${r.maxRelocate ?? "?"}` +
          `${r.comment ? ` comment:${JSON.stringify(r.comment)}` : ""}`
        );
      }),
    ];
    return { text: lines.join("\n"), structured: { quorum, master, fencing, lrms, resources, problems } };
  },
});

// ---------------------------------------------------------------------------------------------
// get_replication

interface ReplicationConfig {
  id: string;
  guest: number;
  target: string;
  schedule?: string;
  disable?: number;
  rate?: number;
  comment?: string;
  source?: string;
}

interface ReplicationState extends ReplicationConfig {
  vmtype?: string;
  last_sync?: number;
  last_try?: number;
  next_sync?: number;
  duration?: number;
  fail_count?: number;
  error?: string;
}

export const getReplication = defineTool({
  name: "get_replication",
  title: "Storage replication",
  description:
    "Replication jobs with source, target, schedule and state: last sync, failures (fail_count, last error), next run; offline source or target nodes noted.",
  toolset: "health",
  tier: "read",
  input: {},
  output: {
    jobs: z.array(
      z.object({
        id: z.string(),
        guest: z.number().int(),
        guestType: z.string().optional(),
        source: z.string().optional(),
        target: z.string(),
        schedule: z.string(),
        state: z.enum(["ok", "failing", "disabled", "unknown"]),
        lastSync: z.string().nullable().optional(),
        lastTry: z.string().optional(),
        nextSync: z.string().optional(),
        durationS: z.number().optional(),
        failCount: z.number().int().optional(),
        error: z.string().optional(),
        rate: z.number().optional(),
        comment: z.string().optional(),
        sourceOffline: z.boolean(),
        targetOffline: z.boolean(),
        note: z.string().optional(),
      }),
    ),
    offlineNodes: z.array(z.string()),
    gaps: gapsField,
  },
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  async handle(_args, ctx) {
    const [configs, resources, perms] = await Promise.all([
      ctx.read.get<ReplicationConfig[]>("/cluster/replication"),
      clusterResources(ctx.read),
      ctx.read.permissionsIfKnown(),
    ]);
    const offline = new Set(offlineNodesOf(resources));
    const guests = new Map(resources.filter(isGuest).map((g) => [g.vmid as number, g]));
    const sourceOf = (job: ReplicationConfig) => guests.get(job.guest)?.node ?? job.source;
    // pvesr keeps the job state on the guest's node: ask each online node that holds one.
    const nodes = [
      ...new Set(
        configs
          .filter((j) => !j.disable)
          .map(sourceOf)
          .filter((n): n is string => !!n && !offline.has(n)),
      ),
    ].sort();
    const states = new Map<string, ReplicationState>();
    const nodeErrors = new Map<string, string>();
    await mapLimit(nodes, NODE_CONCURRENCY, async (node) => {
      try {
        const list = await ctx.read.get<ReplicationState[]>("/nodes/{node}/replication", { node });
        for (const s of list) states.set(s.id, s);
      } catch (err) {
        if (isOffline(err)) offline.add(node);
        else if (err instanceof PveApiError) nodeErrors.set(node, cleanText(err.pveMessage, 200));
        else throw err;
      }
    });
    const now = nowSeconds();
    const when = (t: number | undefined) => (t ? isoTime(t) : undefined);
    const jobs = [...configs]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((job) => {
        const source = sourceOf(job);
        const s = states.get(job.id);
        const sourceOffline = !!source && offline.has(source);
        const targetOffline = offline.has(job.target);
        const failCount = s?.fail_count;
        const state: "ok" | "failing" | "disabled" | "unknown" = job.disable
          ? "disabled"
          : !s
            ? "unknown"
            : (failCount ?? 0) > 0
              ? "failing"
              : "ok";
        const note =
          state !== "unknown"
            ? undefined
            : sourceOffline
              ? `source node ${source} is offline: state unknown`
              : source && nodeErrors.has(source)
                ? `state of ${source} could not be read: ${nodeErrors.get(source)}`
                : source === job.target
                  ? `the guest now runs on the target ${job.target}: PVE skips the job there`
                  : "no state reported (not run yet?)";
        return {
          id: job.id,
          guest: job.guest,
          ...(s?.vmtype || guests.get(job.guest)?.type
            ? { guestType: s?.vmtype ?? guests.get(job.guest)?.type }
            : {}),
          ...(source ? { source } : {}),
          target: job.target,
          schedule: job.schedule ?? "*/15",
          state,
          ...(s ? { lastSync: when(s.last_sync) ?? null } : {}),
          ...(s?.last_try ? { lastTry: isoTime(s.last_try) } : {}),
          ...(s?.next_sync ? { nextSync: isoTime(s.next_sync) } : {}),
          ...(s?.duration !== undefined ? { durationS: s.duration } : {}),
          ...(failCount !== undefined ? { failCount } : {}),
          ...(s?.error ? { error: cleanText(s.error, 400) } : {}),
          ...(job.rate !== undefined ? { rate: job.rate } : {}),
          ...(job.comment ? { comment: cleanText(job.comment, 200) } : {}),
          sourceOffline,
          targetOffline,
          ...(note ? { note } : {}),
          lastSyncEpoch: s?.last_sync,
        };
      });
    if (!holds(perms, "/vms", "VM.Audit")) {
      ctx.read.gap(
        "replication jobs of guests this token may not see (PVE lists only jobs of guests with VM.Audit)",
        "VM.Audit on /vms",
      );
    }
    const gaps = ctx.read.gaps;
    const lines = jobs.map((j) => {
      const kind = j.guestType === "lxc" ? "CT" : j.guestType === "qemu" ? "VM" : "guest";
      const route = `${j.source ?? "?"}${j.sourceOffline ? " (OFFLINE)" : ""} -> ${j.target}${j.targetOffline ? " (OFFLINE)" : ""}`;
      const synced =
        j.lastSyncEpoch === undefined
          ? ""
          : j.lastSyncEpoch
            ? `, last sync ${shortTime(j.lastSyncEpoch)} (${formatDuration(now - j.lastSyncEpoch, SHORT_AGE)} ago)`
            : ", never synced";
      const status =
        j.state === "failing"
          ? `FAILING (fail_count ${j.failCount})${synced}` +
            (j.nextSync
              ? `, retry ${shortTime(Date.parse(j.nextSync) / 1000)}`
              : j.targetOffline
                ? `, no retry while target ${j.target} is offline`
                : ", no retry scheduled") +
            `, error: ${JSON.stringify(j.error ?? "")}`
          : j.state === "ok"
            ? `ok${synced}${j.nextSync ? `, next ${shortTime(Date.parse(j.nextSync) / 1000)}` : ""}${j.targetOffline ? `, but target ${j.target} is OFFLINE now` : ""}`
            : j.state === "disabled"
              ? "disabled"
              : `unknown: ${j.note}`;
      return `${j.state === "failing" ? "PROBLEM " : ""}${j.id} ${kind} ${j.guest} ${route} every ${j.schedule}: ${status}${j.comment ? ` comment:${JSON.stringify(j.comment)}` : ""}`;
    });
    const offlineNodes = [...offline].sort();
    const text = [
      jobs.length === 0
        ? "no replication jobs"
        : `${jobs.length} replication job(s), ${jobs.filter((j) => j.state === "failing").length} failing`,
      ...lines,
      ...(offlineNodes.length ? [`offline node(s): ${offlineNodes.join(", ")}`] : []),
      gapText(gaps),
    ]
      .filter(Boolean)
      .join("\n");
    return {
      text,
      structured: { jobs: jobs.map(({ lastSyncEpoch: _e, ...j }) => j), offlineNodes, gaps },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// get_disks

interface SmartAttribute {
  id: string;
  name: string;
  value: number;
  worst: number;
  threshold: number;
  fail: string;
  raw: string;
}

/** ATA attributes that count failing or pending sectors and errors: any raw value above 0 is bad news. */
const BAD_WHEN_NONZERO = new Set([5, 10, 184, 187, 188, 196, 197, 198, 199]);
const NVME_LINES =
  /critical warning|media and data integrity|available spare|percentage used|error information log|unsafe shutdowns/i;
const OK_HEALTH = new Set(["PASSED", "OK"]);
/** smartctl's WHEN_FAILED column. */
const FAIL_TEXT: Record<string, string> = { NOW: " FAILING NOW", Past: " failed in the past", "-": "" };
const smartSchema = z.object({
  health: z.string().optional(),
  attributes: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        value: z.number(),
        worst: z.number(),
        threshold: z.number(),
        fail: z.string(),
        raw: z.string(),
      }),
    )
    .optional(),
  lines: z.array(z.string()).optional(),
});
type SmartOut = z.infer<typeof smartSchema>;

/** GET /nodes/{node}/disks/smart: ATA attributes, or smartctl's text for NVMe. */
type RawSmart = { health?: string; attributes?: SmartAttribute[]; text?: string };

function smartOut(smart: RawSmart): SmartOut {
  const attributes = (smart.attributes ?? [])
    .filter((a) => {
      const id = Number(a.id.trim());
      return (
        (a.fail && a.fail !== "-") ||
        (a.threshold > 0 && a.value <= a.threshold) ||
        (BAD_WHEN_NONZERO.has(id) && /^[1-9]/.test(a.raw.trim()))
      );
    })
    .slice(0, 12)
    .map((a) => ({
      id: a.id.trim(),
      name: cleanText(a.name, 40),
      value: a.value,
      worst: a.worst,
      threshold: a.threshold,
      fail: cleanText(a.fail, 20),
      raw: cleanText(a.raw, 40),
    }));
  const lines = (smart.text ?? "")
    .split("\n")
    .filter((l) => NVME_LINES.test(l))
    .slice(0, 12)
    .map((l) => cleanText(l.trim(), 120));
  return {
    ...(smart.health ? { health: cleanText(smart.health, 20) } : {}),
    ...(smart.attributes ? { attributes } : {}),
    ...(lines.length ? { lines } : {}),
  };
}

const sizeText = (bytes: number | undefined) =>
  bytes === undefined
    ? "?"
    : bytes >= 1e12
      ? `${(bytes / 1e12).toFixed(2)} TB`
      : `${(bytes / 1e9).toFixed(1)} GB`;

export const getDisks = defineTool({
  name: "get_disks",
  title: "Physical disks and SMART",
  description:
    "A node's physical disks: type, size, model, SMART health, SSD wearout, what uses them; SMART details for failing disks.",
  toolset: "health",
  tier: "read",
  input: { node: pveNode.describe("node name, e.g. pve1") },
  output: {
    node: z.string(),
    disks: z.array(
      z.object({
        devpath: z.string(),
        type: z.string(),
        size: z.number().optional(),
        model: z.string().optional(),
        serial: z.string().optional(),
        vendor: z.string().optional(),
        wwn: z.string().optional(),
        health: z.string(),
        wearout: z
          .number()
          .nullable()
          .describe("percent of rated life left (SSD/NVMe); null when not reported"),
        usedBy: z.string().optional(),
        rpm: z.number().optional(),
        osdid: z.number().optional(),
        problem: z.string().optional(),
        smart: smartSchema.optional(),
      }),
    ),
    problems: z.array(z.string()),
    gaps: gapsField,
  },
  // PVE: Sys.Audit on / or on /nodes/{node}; SMART details need it on /.
  needs: [{ path: "/nodes/{node}", privileges: ["Sys.Audit"] }],
  async handle({ node }, ctx) {
    const list = await ctx.read.get<PveDisk[]>("/nodes/{node}/disks/list", { node });
    const disks = list
      .map((d) => {
        const health = cleanText(d.health ?? "UNKNOWN", 20);
        const wearout = wearoutOf(d.wearout);
        const issues = [
          ...(!OK_HEALTH.has(health) && health !== "UNKNOWN"
            ? [`SMART health ${health}: back up its data and replace it`]
            : []),
          ...(wearout !== null && wearout <= LOW_WEAROUT ? [`worn out: ${wearout}% of rated life left`] : []),
        ];
        return {
          devpath: cleanText(d.devpath, 100),
          type: cleanText(d.type ?? "unknown", 20),
          ...(d.size !== undefined ? { size: d.size } : {}),
          ...(d.model ? { model: cleanText(d.model, 64) } : {}),
          ...(d.serial ? { serial: cleanText(d.serial, 64) } : {}),
          ...(d.vendor ? { vendor: cleanText(d.vendor.trim(), 32) } : {}),
          ...(d.wwn && d.wwn !== "unknown" ? { wwn: cleanText(d.wwn, 64) } : {}),
          health,
          wearout,
          ...(d.used ? { usedBy: cleanText(d.used, 64) } : {}),
          ...(d.rpm ? { rpm: d.rpm } : {}),
          ...(d.osdid !== undefined && d.osdid >= 0 ? { osdid: d.osdid } : {}),
          ...(issues.length ? { problem: issues.join("; ") } : {}),
        };
      })
      .sort((a, b) => a.devpath.localeCompare(b.devpath));
    // SMART attributes only for disks whose health is not fine (one request each, bounded).
    const failing = disks.filter((d) => !OK_HEALTH.has(d.health) && d.health !== "UNKNOWN");
    const smart = new Map<string, SmartOut>();
    await mapLimit(failing, NODE_CONCURRENCY, async (d) => {
      const data = await ctx.read.readOrGap<RawSmart>(
        "/nodes/{node}/disks/smart",
        { node },
        `SMART attributes of ${d.devpath} on ${node}`,
        "Sys.Audit on /",
        { disk: d.devpath },
      );
      if (data) smart.set(d.devpath, smartOut(data));
    });
    const gaps = ctx.read.gaps;
    const out = disks.map((d) => ({ ...d, smart: smart.get(d.devpath) }));
    const problems = out
      .filter((d) => d.problem)
      .map(
        (d) =>
          `${d.devpath} (${d.model ?? "?"}, ${d.serial ?? "?"}${d.usedBy ? `, used by ${d.usedBy}` : ""}): ${d.problem}`,
      );
    const lines = out.flatMap((d) => {
      const wear = d.wearout === null ? "" : `, wearout ${d.wearout}% life left`;
      const head =
        `${d.problem ? "PROBLEM " : ""}${d.devpath} ${d.type} ${sizeText(d.size)} ${d.model ?? "?"} (serial ${d.serial ?? "?"})` +
        `${d.usedBy ? ` used by ${d.usedBy}` : " unused"}${d.rpm ? ` ${d.rpm}rpm` : ""}: SMART ${d.health}${wear}` +
        `${d.problem ? ` — ${d.problem.replace(`SMART health ${d.health}: `, "")}` : ""}`;
      const detail = [
        ...(d.smart?.attributes ?? []).map(
          (a) =>
            `  smart ${a.id} ${a.name}: raw ${a.raw}, value ${a.value} (worst ${a.worst}, threshold ${a.threshold})${FAIL_TEXT[a.fail] ?? (a.fail !== "-" ? ` ${a.fail}` : "")}`,
        ),
        ...(d.smart?.lines ?? []).map((l) => `  smart ${l}`),
      ];
      return [head, ...detail];
    });
    const text = [
      `${node}: ${out.length} disk(s)${problems.length ? `, ${problems.length} with problems` : ", no problem reported"}`,
      ...lines,
      gapText(gaps),
    ]
      .filter(Boolean)
      .join("\n");
    return { text, structured: { node, disks: out, problems, gaps } };
  },
});

// ---------------------------------------------------------------------------------------------
// get_network

interface PveInterface {
  iface: string;
  type: string;
  method?: string;
  method6?: string;
  address?: string;
  netmask?: string;
  cidr?: string;
  gateway?: string;
  address6?: string;
  netmask6?: string;
  cidr6?: string;
  gateway6?: string;
  active?: number;
  autostart?: number;
  exists?: number;
  bridge_ports?: string;
  bridge_vlan_aware?: number;
  bridge_vids?: string;
  slaves?: string;
  bond_mode?: string;
  "bond-primary"?: string;
  "vlan-id"?: number | string;
  "vlan-raw-device"?: string;
  mtu?: number | string;
  comments?: string;
  ovs_ports?: string;
  ovs_bonds?: string;
}

const TYPE_ORDER = [
  "bridge",
  "OVSBridge",
  "bond",
  "OVSBond",
  "vlan",
  "OVSIntPort",
  "OVSPort",
  "eth",
  "alias",
  "vnet",
  "fabric",
];

export const getNetwork = defineTool({
  name: "get_network",
  title: "Node network",
  description:
    "A node's network interfaces (bridges, bonds, VLANs, NICs): addresses, gateway, ports, active and autostart state, and pending changes not yet applied.",
  toolset: "health",
  tier: "read",
  input: { node: pveNode.describe("node name, e.g. pve1") },
  output: {
    node: z.string(),
    interfaces: z.array(
      z.object({
        iface: z.string(),
        type: z.string(),
        active: z.boolean(),
        autostart: z.boolean(),
        exists: z.boolean().optional(),
        method: z.string().optional(),
        method6: z.string().optional(),
        cidr: z.string().optional(),
        gateway: z.string().optional(),
        cidr6: z.string().optional(),
        gateway6: z.string().optional(),
        ports: z.string().optional(),
        vlanAware: z.boolean().optional(),
        vlanIds: z.string().optional(),
        bondMode: z.string().optional(),
        vlanId: z.string().optional(),
        vlanRawDevice: z.string().optional(),
        mtu: z.number().optional(),
        comments: z.string().optional(),
        warning: z.string().optional(),
      }),
    ),
    pendingChanges: z.string().nullable(),
  },
  needs: [],
  async handle({ node }, ctx) {
    const answer = await ctx.read.getWithTotal<PveInterface[]>("/nodes/{node}/network", { node });
    // PVE puts the diff of /etc/network/interfaces.new beside `data` (result attribute "changes").
    const changes = (answer as { changes?: unknown }).changes;
    const pendingChanges =
      typeof changes === "string" && changes.trim() ? cleanText(changes, 4000, true) : null;
    const rank = (t: string) => TYPE_ORDER.indexOf(t) + 1 || TYPE_ORDER.length + 1;
    const c = (v: string | undefined, max = 100) => (v ? cleanText(v, max) : undefined);
    const interfaces = answer.data
      .map((i) => {
        const cidr = i.cidr ?? (i.address ? `${i.address}${i.netmask ? `/${i.netmask}` : ""}` : undefined);
        const cidr6 =
          i.cidr6 ?? (i.address6 ? `${i.address6}${i.netmask6 ? `/${i.netmask6}` : ""}` : undefined);
        const ports = i.bridge_ports ?? i.slaves ?? i.ovs_ports ?? i.ovs_bonds;
        const active = i.active === 1;
        const autostart = i.autostart === 1;
        const warning =
          autostart && !active
            ? "set to start at boot but not active"
            : i.exists === 0 && i.type === "eth"
              ? "configured but the device does not exist"
              : undefined;
        const mtu = i.mtu === undefined ? undefined : Number(i.mtu);
        return {
          iface: cleanText(i.iface, 64),
          type: cleanText(i.type, 20),
          active,
          autostart,
          ...(i.exists !== undefined ? { exists: i.exists === 1 } : {}),
          ...(i.method ? { method: c(i.method, 20) } : {}),
          ...(i.method6 ? { method6: c(i.method6, 20) } : {}),
          ...(cidr ? { cidr: c(cidr) } : {}),
          ...(i.gateway ? { gateway: c(i.gateway) } : {}),
          ...(cidr6 ? { cidr6: c(cidr6) } : {}),
          ...(i.gateway6 ? { gateway6: c(i.gateway6) } : {}),
          ...(ports ? { ports: c(ports, 200) } : {}),
          ...(i.bridge_vlan_aware !== undefined ? { vlanAware: i.bridge_vlan_aware === 1 } : {}),
          ...(i.bridge_vids ? { vlanIds: c(i.bridge_vids) } : {}),
          ...(i.bond_mode ? { bondMode: c(i.bond_mode, 40) } : {}),
          ...(i["vlan-id"] !== undefined ? { vlanId: String(i["vlan-id"]) } : {}),
          ...(i["vlan-raw-device"] ? { vlanRawDevice: c(i["vlan-raw-device"], 64) } : {}),
          ...(mtu !== undefined && Number.isFinite(mtu) ? { mtu } : {}),
          ...(i.comments?.trim() ? { comments: cleanText(i.comments.trim(), 200) } : {}),
          ...(warning ? { warning } : {}),
        };
      })
      .sort(
        (a, b) => rank(a.type) - rank(b.type) || a.iface.localeCompare(b.iface, undefined, { numeric: true }),
      );
    const lines = interfaces.map(
      (i) =>
        `${i.warning ? "WARNING " : ""}${i.iface} ${i.type} ${i.active ? "active" : "inactive"}${i.autostart ? " autostart" : ""}` +
        `${i.method && i.method !== "manual" ? ` ${i.method}` : ""}${i.cidr ? ` ${i.cidr}` : ""}${i.gateway ? ` gw ${i.gateway}` : ""}` +
        `${i.cidr6 ? ` ${i.cidr6}` : ""}${i.gateway6 ? ` gw6 ${i.gateway6}` : ""}${i.ports ? ` ports ${i.ports}` : ""}` +
        `${i.bondMode ? ` mode ${i.bondMode}` : ""}${i.vlanAware ? ` vlan-aware${i.vlanIds ? ` ${i.vlanIds}` : ""}` : ""}` +
        `${i.vlanRawDevice ? ` on ${i.vlanRawDevice}` : ""}${i.vlanId ? ` vlan ${i.vlanId}` : ""}${i.mtu ? ` mtu ${i.mtu}` : ""}` +
        `${i.warning ? ` (${i.warning})` : ""}${i.comments ? ` comment:${JSON.stringify(i.comments)}` : ""}`,
    );
    const text = [
      `${node}: ${interfaces.length} interface(s) (loopback not listed)`,
      ...lines,
      ...(pendingChanges
        ? [
            `PENDING network changes (not applied yet):`,
            fence("network diff", pendingChanges, "the node's interfaces.new"),
          ]
        : []),
    ].join("\n");
    return { text, structured: { node, interfaces, pendingChanges } };
  },
});

export const healthTools = [getHaStatus, getReplication, getDisks, getNetwork];
