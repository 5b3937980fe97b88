/**
 * Toolset "security": firewall options and rules (cluster, node or guest), node
 * certificates and their expiry, and pending package updates with the PVE version and
 * subscription of each node. Per-node reads run with bounded concurrency and skip
 * offline nodes (reported); what the token may not read is stated as a gap, never as
 * "none" (the apt update list needs Sys.Modify, which a read-only token lacks).
 */
import { z } from "zod";
import { PveApiError } from "../pve/errors.js";
import { pveNode, pveVmid } from "../pve/formats.js";
import { mapLimit, NODE_CONCURRENCY } from "../pve/model/concurrency.js";
import { DAY, timeLeft } from "../pve/model/duration.js";
import type { RunReader } from "../pve/model/reader.js";
import {
  clusterResources,
  guestType,
  locateGuest,
  offlineNodesOf,
  type ClusterResource,
} from "../pve/model/resources.js";
import { isRefusal, neededBy, type Gap, type PathParams, type Query } from "../pve/model/visibility.js";
import { defineTool, type AnyTool } from "./define.js";
import { gapsField, gapText } from "./visibility.js";
import { cleanText, fence } from "../untrusted.js";
/** Certificates expiring within this many days are flagged. */
export const CERT_WARN_DAYS = 30;

/** Node entries of /cluster/resources (always listed, whatever the token): online ones and offline ones. */
async function clusterNodes(read: RunReader): Promise<{ online: string[]; offline: string[] }> {
  const entries = await read.get<ClusterResource[]>("/cluster/resources", {}, { type: "node" });
  const offline = offlineNodesOf(entries);
  const online = [
    ...new Set(
      entries.filter((e) => e.type === "node" && e.node && e.status !== "offline").map((e) => e.node!),
    ),
  ].sort();
  return { online, offline };
}

/** One line for a failure on one node of a loop: the status and PVE's message, cleaned. */
function failureText(err: unknown): string {
  if (err instanceof PveApiError) return cleanText(`${err.status} ${err.pveMessage}`, 200);
  return cleanText(err instanceof Error ? err.message : String(err), 200);
}

const isOffline = (err: unknown) => err instanceof PveApiError && err.status === 595;

type ReadOrGap<T> = { data: T; gap?: undefined } | { data?: undefined; gap: Gap };

/**
 * A GET whose 403 is handed back as a gap instead of being recorded on the reader: a
 * node's gaps count only when the rest of that node could be read (nodeUpdates).
 */
async function readOrRefusal<T>(
  read: RunReader,
  template: string,
  params: PathParams,
  what: string,
  needs: string,
  query?: Query,
): Promise<ReadOrGap<T>> {
  try {
    return { data: await read.get<T>(template, params, query) };
  } catch (err) {
    if (isRefusal(err)) return { gap: { what, needs: neededBy(err) ?? needs } };
    throw err;
  }
}

const nodeState = z.enum(["ok", "offline", "error"]);

// ---------------------------------------------------------------------------------------
// get_firewall
// ---------------------------------------------------------------------------------------

type RawRule = {
  pos?: number;
  type?: string;
  action?: string;
  enable?: number;
  macro?: string;
  proto?: string;
  source?: string;
  dest?: string;
  sport?: string;
  dport?: string;
  iface?: string;
  log?: string;
  comment?: string;
  "icmp-type"?: string;
};

const ruleSchema = z.object({
  pos: z.number().int(),
  type: z.string(),
  action: z.string(),
  enable: z.boolean(),
  macro: z.string().optional(),
  proto: z.string().optional(),
  source: z.string().optional(),
  dest: z.string().optional(),
  sport: z.string().optional(),
  dport: z.string().optional(),
  iface: z.string().optional(),
  icmpType: z.string().optional(),
  log: z.string().optional(),
  /** Free text written by whoever may edit the rule: untrusted. */
  comment: z.string().optional(),
});
export type FirewallRule = z.infer<typeof ruleSchema>;

const flagSchema = z.object({
  kind: z.enum(["disabled", "not-enforced", "policy-accept", "open-rule", "net-without-firewall"]),
  message: z.string(),
  /** The rule's position, for open-rule. */
  pos: z.number().int().optional(),
  /** The guest network device, for net-without-firewall. */
  net: z.string().optional(),
});
export type FirewallFlag = z.infer<typeof flagSchema>;

const cleanField = (value: string | undefined, max = 128) =>
  value === undefined || value === "" ? undefined : cleanText(value, max);

function toRule(raw: RawRule, index: number): FirewallRule {
  return {
    pos: raw.pos ?? index,
    type: cleanText(raw.type ?? "?", 16),
    action: cleanText(raw.action ?? "?", 64),
    enable: raw.enable !== 0,
    macro: cleanField(raw.macro, 64),
    proto: cleanField(raw.proto, 32),
    source: cleanField(raw.source),
    dest: cleanField(raw.dest),
    sport: cleanField(raw.sport),
    dport: cleanField(raw.dport),
    iface: cleanField(raw.iface, 32),
    icmpType: cleanField(raw["icmp-type"], 32),
    log: cleanField(raw.log, 16),
    comment: cleanField(raw.comment, 200),
  };
}

const ANYWHERE = new Set(["0.0.0.0/0", "::/0", "0/0"]);
const PORT_NAMES: Record<string, number> = { ssh: 22 };

/** Whether a PVE dport ("22", "22,80", "8000:8010", "ssh") includes `port`; unknown names do not. */
function portListHas(dport: string, port: number): boolean {
  return dport.split(",").some((item) => {
    const [a, b] = item.trim().split(":");
    const from = PORT_NAMES[(a ?? "").toLowerCase()] ?? Number(a);
    const to = b === undefined ? from : (PORT_NAMES[b.toLowerCase()] ?? Number(b));
    return Number.isInteger(from) && Number.isInteger(to) && port >= from && port <= to;
  });
}

/**
 * Why an enabled inbound ACCEPT rule from anywhere (no source, or 0.0.0.0/0, ::/0) is a
 * problem: SSH (macro or port 22), the web UI/API port 8006, or every port. Undefined
 * for any other rule (an alias or IP set as source is not "anywhere").
 */
export function openRuleReason(rule: FirewallRule): string | undefined {
  if (!rule.enable || rule.type !== "in" || rule.action.toUpperCase() !== "ACCEPT") return undefined;
  if (rule.source !== undefined && !ANYWHERE.has(rule.source)) return undefined;
  if (rule.macro !== undefined)
    return rule.macro.toLowerCase() === "ssh" ? "accepts SSH (22/tcp) from anywhere" : undefined;
  const proto = rule.proto?.toLowerCase();
  if (proto !== undefined && proto !== "tcp" && proto !== "6") return undefined;
  if (rule.dport === undefined)
    return proto ? "accepts every TCP port from anywhere" : "accepts all traffic from anywhere";
  if (portListHas(rule.dport, 22)) return "accepts SSH (22/tcp) from anywhere";
  if (portListHas(rule.dport, 8006)) return "accepts the web UI/API port 8006 from anywhere";
  return undefined;
}

function ruleLine(r: FirewallRule): string {
  if (r.type === "group")
    return `${r.pos} group ${r.action}${r.enable ? "" : " (disabled)"} (security group, not expanded)`;
  const parts = [`${r.pos} ${r.type} ${r.action}${r.enable ? "" : " (disabled)"}`];
  if (r.macro) parts.push(`macro ${r.macro}`);
  if (r.proto) parts.push(r.proto);
  if (r.sport) parts.push(`sport ${r.sport}`);
  if (r.dport) parts.push(`dport ${r.dport}`);
  if (r.icmpType) parts.push(`icmp ${r.icmpType}`);
  parts.push(`from ${r.source ?? "anywhere"}`);
  if (r.dest) parts.push(`to ${r.dest}`);
  if (r.iface) parts.push(`iface ${r.iface}`);
  if (r.log) parts.push(`log ${r.log}`);
  if (r.comment) parts.push(`comment ${JSON.stringify(r.comment)}`);
  return parts.join(" ");
}

type RawOptions = Record<string, string | number>;

function cleanOptions(raw: RawOptions): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "digest") continue;
    out[cleanText(key, 64)] = typeof value === "string" ? cleanText(value, 128) : value;
  }
  return out;
}

/** pve-firewall defaults: the cluster and guests are off unless enabled, a node's host firewall on. */
const ENABLE_DEFAULT = { cluster: 0, node: 1, guest: 0 } as const;

const netSchema = z.object({ net: z.string(), bridge: z.string().optional(), firewall: z.boolean() });

const scopeSchema = z.enum(["cluster", "node", "guest"]);

const firewallOutput = {
  scope: scopeSchema,
  node: z.string().optional(),
  vmid: z.number().int().optional(),
  guestType: guestType.optional(),
  /** This scope's `enable` (PVE's default when unset); null when not visible. */
  enabled: z.boolean().nullable(),
  /** The cluster (Datacenter) firewall's `enable`: nothing is enforced without it; null when not visible. */
  clusterEnabled: z.boolean().nullable(),
  /** Inbound policy in effect (a node uses the cluster's); null when not visible. */
  policyIn: z.string().nullable(),
  policyOut: z.string().nullable(),
  options: z.record(z.string(), z.union([z.string(), z.number()])).nullable(),
  rules: z.array(ruleSchema).nullable(),
  /** Guest scope: each network device and whether it has firewall=1. */
  nets: z.array(netSchema).optional(),
  flags: z.array(flagSchema),
  gaps: gapsField,
};
type FirewallResult = z.infer<z.ZodObject<typeof firewallOutput>>;

type Scope = z.infer<typeof scopeSchema>;

/** Reads one scope's firewall: options + rules (+ the cluster's options, + a guest's nets). */
export async function readFirewall(
  read: RunReader,
  args: { scope: Scope; node?: string; vmid?: number },
): Promise<FirewallResult> {
  const { scope } = args;
  let where: { template: string; params: Record<string, string | number>; what: string; needs: string };
  let guest: { node: string; type: "qemu" | "lxc"; vmid: number } | undefined;
  if (scope === "cluster") {
    where = { template: "/cluster/firewall", params: {}, what: "cluster firewall", needs: "Sys.Audit on /" };
  } else if (scope === "node") {
    const node = args.node!;
    where = {
      template: "/nodes/{node}/firewall",
      params: { node },
      what: `host firewall of ${node}`,
      needs: `Sys.Audit on /nodes/${node}`,
    };
  } else {
    const vmid = args.vmid!;
    const g = locateGuest(await clusterResources(read), vmid, args.node);
    guest = { node: g.node, type: g.type, vmid };
    where = {
      template: `/nodes/{node}/${g.type}/{vmid}/firewall`,
      params: { node: g.node, vmid },
      what: `firewall of ${g.type === "qemu" ? "VM" : "CT"} ${vmid}`,
      needs: `VM.Audit on /vms/${vmid}`,
    };
  }
  const [clusterOptions, options, rules, config] = await Promise.all([
    scope === "cluster"
      ? undefined
      : read.readOrGap<RawOptions>(
          "/cluster/firewall/options",
          {},
          "cluster firewall state (whether any firewall is enforced)",
          "Sys.Audit on /",
        ),
    read.readOrGap<RawOptions>(
      `${where.template}/options`,
      where.params,
      `${where.what} options`,
      where.needs,
    ),
    read.readOrGap<RawRule[]>(`${where.template}/rules`, where.params, `${where.what} rules`, where.needs),
    guest
      ? read.readOrGap<Record<string, string | number>>(
          `/nodes/{node}/${guest.type}/{vmid}/config`,
          { node: guest.node, vmid: guest.vmid },
          `network devices of VM/CT ${guest.vmid} (firewall=1)`,
          `VM.Audit on /vms/${guest.vmid}`,
          { current: 1 },
        )
      : undefined,
  ]);

  const clusterRaw = scope === "cluster" ? options : clusterOptions;
  const clusterEnabled = clusterRaw ? Number(clusterRaw["enable"] ?? ENABLE_DEFAULT.cluster) === 1 : null;
  const enabled = options ? Number(options["enable"] ?? ENABLE_DEFAULT[scope]) === 1 : null;
  // The host firewall has no policy of its own: it uses the cluster's policy_in/out.
  const policySource = scope === "node" ? clusterRaw : options;
  const policyIn = policySource ? cleanText(String(policySource["policy_in"] ?? "DROP"), 16) : null;
  const policyOut = policySource ? cleanText(String(policySource["policy_out"] ?? "ACCEPT"), 16) : null;
  const ruleList = rules ? rules.map(toRule) : null;

  let nets: z.infer<typeof netSchema>[] | undefined;
  if (config) {
    nets = Object.entries(config)
      .filter(([key]) => /^net\d+$/.test(key))
      .sort(([a], [b]) => Number(a.slice(3)) - Number(b.slice(3)))
      .map(([key, value]) => {
        const fields = String(value).split(",");
        const bridge = fields.find((f) => f.startsWith("bridge="))?.slice("bridge=".length);
        return { net: key, bridge: cleanField(bridge, 32), firewall: fields.includes("firewall=1") };
      });
  }

  const flags: FirewallFlag[] = [];
  const label =
    scope === "cluster"
      ? "the cluster (Datacenter) firewall"
      : scope === "node"
        ? `the host firewall of ${args.node}`
        : where.what.replace(/^firewall/, "the firewall");
  if (enabled === false) {
    flags.push({
      kind: "disabled",
      message:
        scope === "cluster"
          ? "the cluster (Datacenter) firewall is disabled: PVE enforces no node or guest firewall rule while it is off"
          : `${label} is disabled`,
    });
  }
  if (scope !== "cluster" && clusterEnabled === false) {
    flags.push({
      kind: "not-enforced",
      message: `not enforced: the cluster (Datacenter) firewall is disabled, and PVE applies node and guest firewalls only when it is enabled`,
    });
  }
  if (policyIn === "ACCEPT") {
    flags.push({
      kind: "policy-accept",
      message: `inbound policy ACCEPT${scope === "node" ? " (the cluster's policy_in, which hosts use)" : ""}: traffic no rule drops is accepted`,
    });
  }
  for (const rule of ruleList ?? []) {
    const reason = openRuleReason(rule);
    if (reason) flags.push({ kind: "open-rule", message: `rule ${rule.pos} ${reason}`, pos: rule.pos });
  }
  for (const net of nets ?? []) {
    if (!net.firewall) {
      flags.push({
        kind: "net-without-firewall",
        message: `${net.net} has no firewall=1: the guest firewall does not filter this device`,
        net: net.net,
      });
    }
  }
  return {
    scope,
    ...(scope === "node" ? { node: args.node } : {}),
    ...(guest ? { node: guest.node, vmid: guest.vmid, guestType: guest.type } : {}),
    enabled,
    clusterEnabled,
    policyIn,
    policyOut,
    options: options ? cleanOptions(options) : null,
    rules: ruleList,
    ...(nets ? { nets } : {}),
    flags,
    gaps: read.gaps,
  };
}

function firewallText(r: FirewallResult): string {
  const title =
    r.scope === "cluster"
      ? "cluster (Datacenter) firewall"
      : r.scope === "node"
        ? `host firewall of ${r.node}`
        : `firewall of ${r.guestType === "lxc" ? "CT" : "VM"} ${r.vmid} on ${r.node}`;
  const state = r.enabled === null ? "state not visible" : r.enabled ? "enabled" : "DISABLED";
  const cluster =
    r.scope === "cluster" || r.clusterEnabled === null
      ? ""
      : `; cluster firewall ${r.clusterEnabled ? "enabled" : "DISABLED"}`;
  const policy = r.policyIn === null ? "" : `; policy in ${r.policyIn}, out ${r.policyOut}`;
  const lines = [`${title}: ${state}${cluster}${policy}`];
  if (r.options) {
    const shown = Object.entries(r.options).map(([k, v]) => `${k}=${v}`);
    lines.push(`options: ${shown.length ? shown.join(" ") : "(none set: PVE defaults)"}`);
  }
  for (const n of r.nets ?? []) {
    lines.push(`${n.net}${n.bridge ? ` (${n.bridge})` : ""}: ${n.firewall ? "firewall=1" : "NO firewall=1"}`);
  }
  lines.push(...r.flags.map((f) => `FLAG: ${f.message}`));
  if (r.rules) {
    if (r.rules.length === 0) lines.push("rules: none");
    else {
      lines.push(`rules (${r.rules.length}, in order; the first match wins):`);
      lines.push(
        fence(
          "firewall rules",
          r.rules.map(ruleLine).join("\n"),
          "Proxmox (comments, aliases: user-written)",
        ),
      );
    }
  }
  const gaps = gapText(r.gaps);
  if (gaps) lines.push(gaps);
  return lines.join("\n");
}

export const getFirewall = defineTool({
  name: "get_firewall",
  title: "Firewall options and rules",
  description:
    "Firewall options and rules of the cluster, a node or a guest, with flags: disabled, not enforced (cluster firewall off), policy ACCEPT, SSH/8006 open to anywhere, guest NICs without firewall=1.",
  toolset: "security",
  tier: "read",
  input: {
    scope: scopeSchema.describe("cluster (Datacenter), node (host firewall) or guest"),
    node: pveNode.optional().describe("scope node: the node; scope guest: optional, found automatically"),
    vmid: pveVmid.optional().describe("scope guest: VM or container id"),
  },
  output: firewallOutput,
  // Guest scope needs VM.Audit on the guest; cluster and node scopes report a 403 as a gap.
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  async handle(args, ctx) {
    if (args.scope === "node" && !args.node) throw new Error('scope "node" needs node (e.g. node: "pve1").');
    if (args.scope === "guest" && args.vmid === undefined)
      throw new Error('scope "guest" needs vmid (e.g. vmid: 100).');
    if (args.scope === "cluster" && (args.node || args.vmid !== undefined))
      throw new Error('scope "cluster" takes no node or vmid: use scope "node" or "guest" for those.');
    if (args.scope === "node" && args.vmid !== undefined)
      throw new Error('scope "node" takes no vmid: use scope "guest" for a guest\'s firewall.');
    const result = await readFirewall(ctx.read, args);
    return { text: firewallText(result), structured: result };
  },
});

// ---------------------------------------------------------------------------------------
// get_certificates
// ---------------------------------------------------------------------------------------

type RawCert = {
  filename?: string;
  fingerprint?: string;
  subject?: string;
  issuer?: string;
  notbefore?: number;
  notafter?: number;
  san?: string[];
  "public-key-type"?: string;
  "public-key-bits"?: number;
};

const certSchema = z.object({
  filename: z.string(),
  /** pveproxy serves pveproxy-ssl.pem on port 8006 when it exists, else pve-ssl.pem. */
  served: z.boolean(),
  subject: z.string(),
  issuer: z.string(),
  san: z.array(z.string()),
  notBefore: z.string().nullable(),
  notAfter: z.string().nullable(),
  daysLeft: z.number().int().nullable(),
  expiry: z.enum(["ok", "expiring", "expired", "not-yet-valid", "unknown"]),
  fingerprint: z.string(),
  keyType: z.string().optional(),
  keyBits: z.number().int().optional(),
});
export type NodeCertificateInfo = z.infer<typeof certSchema>;

const certNodeSchema = z.object({
  node: z.string(),
  state: nodeState,
  error: z.string().optional(),
  certificates: z.array(certSchema),
});

const certificatesOutput = {
  nodes: z.array(certNodeSchema),
  /** Certificates expired or expiring within 30 days. */
  flagged: z.array(
    z.object({ node: z.string(), filename: z.string(), expiry: z.string(), daysLeft: z.number().int() }),
  ),
};
type CertificatesResult = z.infer<z.ZodObject<typeof certificatesOutput>>;

const isoDate = (epoch: number | undefined) =>
  typeof epoch === "number" && Number.isFinite(epoch) ? new Date(epoch * 1000).toISOString() : null;

function toCert(raw: RawCert, files: Set<string>, now: number): NodeCertificateInfo {
  const filename = cleanText(raw.filename ?? "?", 64);
  const notAfter = typeof raw.notafter === "number" ? raw.notafter : undefined;
  const notBefore = typeof raw.notbefore === "number" ? raw.notbefore : undefined;
  const daysLeft = notAfter === undefined ? null : Math.floor((notAfter - now) / DAY);
  const expiry =
    notAfter === undefined
      ? "unknown"
      : notAfter <= now
        ? "expired"
        : notBefore !== undefined && notBefore > now
          ? "not-yet-valid"
          : notAfter - now < CERT_WARN_DAYS * DAY
            ? "expiring"
            : "ok";
  const served = files.has("pveproxy-ssl.pem") ? filename === "pveproxy-ssl.pem" : filename === "pve-ssl.pem";
  return {
    filename,
    served,
    subject: cleanText(raw.subject ?? "", 256),
    issuer: cleanText(raw.issuer ?? "", 256),
    san: (raw.san ?? []).slice(0, 50).map((s) => cleanText(String(s), 128)),
    notBefore: isoDate(notBefore),
    notAfter: isoDate(notAfter),
    daysLeft,
    expiry,
    fingerprint: cleanText(raw.fingerprint ?? "", 128),
    ...(raw["public-key-type"] ? { keyType: cleanText(raw["public-key-type"], 32) } : {}),
    ...(typeof raw["public-key-bits"] === "number" ? { keyBits: raw["public-key-bits"] } : {}),
  };
}

async function nodeCertificates(read: RunReader, node: string, now: number) {
  const raw = await read.get<RawCert[]>("/nodes/{node}/certificates/info", { node });
  const files = new Set(raw.map((c) => c.filename ?? ""));
  return raw.map((c) => toCert(c, files, now));
}

/** Certificates of one node (errors thrown), or of every online node (offline and failing nodes reported). */
async function readCertificates(
  read: RunReader,
  node: string | undefined,
  now: number,
): Promise<CertificatesResult> {
  let nodes: z.infer<typeof certNodeSchema>[];
  if (node) {
    nodes = [{ node, state: "ok", certificates: await nodeCertificates(read, node, now) }];
  } else {
    const { online, offline } = await clusterNodes(read);
    const perNode = await mapLimit(online, NODE_CONCURRENCY, async (name) => {
      try {
        return {
          node: name,
          state: "ok" as const,
          certificates: await nodeCertificates(read, name, now),
        };
      } catch (err) {
        if (read.signal?.aborted) throw err;
        return {
          node: name,
          state: isOffline(err) ? ("offline" as const) : ("error" as const),
          error: failureText(err),
          certificates: [],
        };
      }
    });
    nodes = [
      ...perNode,
      ...offline.map((name) => ({ node: name, state: "offline" as const, certificates: [] })),
    ].sort((a, b) => a.node.localeCompare(b.node));
  }
  const flagged = nodes.flatMap((n) =>
    n.certificates
      .filter((c) => (c.expiry === "expired" || c.expiry === "expiring") && c.daysLeft !== null)
      .map((c) => ({ node: n.node, filename: c.filename, expiry: c.expiry, daysLeft: c.daysLeft as number })),
  );
  return { nodes, flagged };
}

/** Seconds from `now` to the certificate's notAfter (exact: the ISO text was made from epoch seconds). */
const secondsLeft = (c: { notAfter: string | null }, now: number) =>
  c.notAfter ? Date.parse(c.notAfter) / 1000 - now : 0;

function certLine(c: NodeCertificateInfo, now: number): string {
  const until = c.notAfter ? c.notAfter.slice(0, 10) : "?";
  const state =
    c.expiry === "expired"
      ? `EXPIRED ${timeLeft(-secondsLeft(c, now))} ago (${until})`
      : c.expiry === "expiring"
        ? `EXPIRES IN ${timeLeft(secondsLeft(c, now))} (${until})`
        : c.expiry === "not-yet-valid"
          ? `NOT YET VALID (from ${c.notBefore?.slice(0, 10)})`
          : `valid until ${until} (${c.notAfter ? timeLeft(secondsLeft(c, now)) : "?"})`;
  const san = c.san.length
    ? `; SAN ${c.san.slice(0, 8).join(", ")}${c.san.length > 8 ? ` +${c.san.length - 8}` : ""}`
    : "";
  const key = c.keyType ? `; ${c.keyType}${c.keyBits ? ` ${c.keyBits}` : ""}` : "";
  return `  ${c.filename}${c.served ? " (served on 8006)" : ""}: ${state}; subject ${c.subject}; issuer ${c.issuer}${san}${key}; SHA-256 ${c.fingerprint}`;
}

function certificatesText(r: CertificatesResult, now: number): string {
  const lines: string[] = [];
  const flagged = r.nodes.flatMap((n) =>
    n.certificates.filter((c) => c.expiry === "expired" || c.expiry === "expiring").map((c) => ({ n, c })),
  );
  if (flagged.length) {
    lines.push(
      ...flagged.map(({ n, c }) =>
        c.expiry === "expired"
          ? `FLAG: ${n.node} ${c.filename} has EXPIRED`
          : `FLAG: ${n.node} ${c.filename} expires in ${timeLeft(secondsLeft(c, now))} (< ${CERT_WARN_DAYS} d)`,
      ),
    );
  } else {
    const checked = r.nodes.filter((n) => n.state === "ok").length;
    lines.push(
      `no certificate expired or expiring within ${CERT_WARN_DAYS} days on the ${checked} node(s) checked`,
    );
  }
  // The cluster CA is the same file on every node: shown in full once.
  const seen = new Map<string, string>();
  for (const n of r.nodes) {
    if (n.state === "offline") lines.push(`${n.node}: OFFLINE, not checked${n.error ? ` (${n.error})` : ""}`);
    else if (n.state === "error") lines.push(`${n.node}: could not read certificates (${n.error})`);
    else {
      lines.push(`${n.node}:`);
      for (const c of n.certificates) {
        const first = c.fingerprint ? seen.get(c.fingerprint) : undefined;
        if (first) lines.push(`  ${c.filename}: the same certificate as on ${first}`);
        else {
          lines.push(certLine(c, now));
          if (c.fingerprint) seen.set(c.fingerprint, n.node);
        }
      }
    }
  }
  return lines.join("\n");
}

export const getCertificates = defineTool({
  name: "get_certificates",
  title: "Node certificates and expiry",
  description:
    "TLS certificates of one node or all online nodes: subject, issuer, SANs, validity, days left, SHA-256; flags expired and expiring within 30 days. Offline nodes are reported.",
  toolset: "security",
  tier: "read",
  input: { node: pveNode.optional().describe("only this node; all online nodes when omitted") },
  output: certificatesOutput,
  // /nodes/{node}/certificates/info and /cluster/resources are open to any token.
  needs: [],
  async handle({ node }, ctx) {
    const now = Math.floor(Date.now() / 1000);
    const result = await readCertificates(ctx.read, node, now);
    return { text: certificatesText(result, now), structured: result };
  },
});

// ---------------------------------------------------------------------------------------
// get_updates
// ---------------------------------------------------------------------------------------

type RawUpdate = {
  Package?: string;
  Version?: string;
  OldVersion?: string;
  Origin?: string;
  Section?: string;
  Priority?: string;
};

/**
 * PVE's update list does not mark security updates (Debian-Security packages have Origin
 * "Debian" like any other), so packages whose updates are security-relevant as a rule
 * are flagged by name, with the reason.
 */
const SECURITY_PACKAGES: [RegExp, string][] = [
  [
    /^(openssl|libssl\S*|libcrypto\S*|libgnutls\S*|gnutls-bin|libnss3|ca-certificates)$/,
    "TLS/crypto library",
  ],
  [/^(openssh-\S+|libssh\S*)$/, "SSH"],
  [/^(proxmox-kernel-\S+|pve-kernel-\S+|linux-image-\S+|proxmox-default-kernel)$/, "kernel"],
  [/^(libc6|libc-bin|libc-l10n|locales)$/, "C library"],
  [/^(sudo|polkitd|libpolkit\S*|login|passwd|libpam\S*)$/, "authentication/privileges"],
  [/^(pve-qemu-kvm|lxc-pve|lxcfs)$/, "hypervisor/container runtime"],
  [/^(intel-microcode|amd64-microcode)$/, "CPU microcode"],
  [/^(pve-firewall|proxmox-firewall|libpve-access-control|libpve-http-server-perl)$/, "PVE access/firewall"],
  [
    /^(curl|libcurl\S*|wget|bind9\S*|libexpat1|libxml2\S*|zlib1g|liblzma5|xz-utils|systemd|libsystemd\S*|udev)$/,
    "widely exposed library/daemon",
  ],
];

export function securityReason(pkg: string): string | undefined {
  return SECURITY_PACKAGES.find(([re]) => re.test(pkg))?.[1];
}

const updateSchema = z.object({
  package: z.string(),
  from: z.string(),
  to: z.string(),
  origin: z.string(),
  security: z.boolean(),
  /** Why it is flagged security-relevant. */
  reason: z.string().optional(),
});

/** Packages listed per node (security-relevant first). */
const MAX_PACKAGES = 100;

const updatesNodeSchema = z.object({
  node: z.string(),
  state: nodeState,
  error: z.string().optional(),
  pveVersion: z.string().optional(),
  release: z.string().optional(),
  subscription: z
    .object({
      status: z.string(),
      productName: z.string().optional(),
      level: z.string().optional(),
      nextDueDate: z.string().optional(),
      checkedAt: z.string().optional(),
      /** Product, level and due date are hidden without Sys.Audit on the node. */
      detailsHidden: z.boolean(),
    })
    .optional(),
  /** null: the list is not visible to this token (see gaps). */
  updates: z
    .object({
      total: z.number().int(),
      security: z.number().int(),
      packages: z.array(updateSchema),
      truncated: z.boolean(),
    })
    .nullable(),
});

const updatesOutput = { nodes: z.array(updatesNodeSchema), gaps: gapsField };
type UpdatesResult = z.infer<z.ZodObject<typeof updatesOutput>>;
type UpdatesNode = z.infer<typeof updatesNodeSchema>;

type RawSubscription = {
  status?: string;
  productname?: string;
  level?: string;
  nextduedate?: string;
  checktime?: number;
  serverid?: string;
};

/**
 * One node's updates, version and subscription, and what of them it could not see: the
 * caller records the gaps of the nodes that could be read, in node order.
 */
async function nodeUpdates(read: RunReader, node: string): Promise<{ entry: UpdatesNode; gaps: Gap[] }> {
  const [apt, version, sub] = await Promise.all([
    readOrRefusal<RawUpdate[]>(
      read,
      "/nodes/{node}/apt/update",
      { node },
      `pending updates on ${node}`,
      `Sys.Modify on /nodes/${node}`,
    ),
    read.get<{ version?: string; release?: string }>("/nodes/{node}/version", { node }),
    read.get<RawSubscription>("/nodes/{node}/subscription", { node }),
  ]);
  const gaps: Gap[] = apt.gap ? [apt.gap] : [];
  // PVE answers serverid (and, for a key, product, level, due date) only with Sys.Audit on the node.
  const detailsHidden = sub.serverid === undefined;
  if (detailsHidden && sub.status !== "notfound") {
    gaps.push({
      what: `subscription details of ${node} (product, level, due date)`,
      needs: `Sys.Audit on /nodes/${node}`,
    });
  }
  let updates: UpdatesNode["updates"] = null;
  if (apt.data) {
    const all = apt.data
      .map((u) => {
        const name = cleanText(u.Package ?? "?", 96);
        const reason = securityReason(name);
        return {
          package: name,
          from: cleanText(u.OldVersion ?? "?", 64),
          to: cleanText(u.Version ?? "?", 64),
          origin: cleanText(u.Origin ?? "unknown", 64),
          security: reason !== undefined,
          ...(reason ? { reason } : {}),
        };
      })
      .sort((a, b) => Number(b.security) - Number(a.security) || a.package.localeCompare(b.package));
    updates = {
      total: all.length,
      security: all.filter((u) => u.security).length,
      packages: all.slice(0, MAX_PACKAGES),
      truncated: all.length > MAX_PACKAGES,
    };
  }
  const entry: UpdatesNode = {
    node,
    state: "ok",
    ...(version.version ? { pveVersion: cleanText(version.version, 32) } : {}),
    ...(version.release ? { release: cleanText(version.release, 16) } : {}),
    subscription: {
      status: cleanText(sub.status ?? "unknown", 32),
      ...(sub.productname ? { productName: cleanText(sub.productname, 128) } : {}),
      ...(sub.level ? { level: cleanText(sub.level, 8) } : {}),
      ...(sub.nextduedate ? { nextDueDate: cleanText(sub.nextduedate, 32) } : {}),
      ...(typeof sub.checktime === "number" ? { checkedAt: isoDate(sub.checktime) ?? undefined } : {}),
      detailsHidden,
    },
    updates,
  };
  return { entry, gaps };
}

/** Updates, version and subscription of one node (errors thrown), or of every online node. */
export async function readUpdates(read: RunReader, node: string | undefined): Promise<UpdatesResult> {
  if (node) {
    const { entry, gaps } = await nodeUpdates(read, node);
    for (const g of gaps) read.gap(g.what, g.needs);
    return { nodes: [entry], gaps: read.gaps };
  }
  const { online, offline } = await clusterNodes(read);
  const perNode = await mapLimit(online, NODE_CONCURRENCY, async (name) => {
    try {
      return await nodeUpdates(read, name);
    } catch (err) {
      if (read.signal?.aborted) throw err;
      const entry: UpdatesNode = {
        node: name,
        state: isOffline(err) ? "offline" : "error",
        error: failureText(err),
        updates: null,
      };
      return { entry, gaps: [] };
    }
  });
  const nodes = [
    ...perNode.map((r) => r.entry),
    ...offline.map((name): UpdatesNode => ({ node: name, state: "offline", updates: null })),
  ].sort((a, b) => a.node.localeCompare(b.node));
  for (const g of perNode.flatMap((r) => r.gaps)) read.gap(g.what, g.needs);
  return { nodes, gaps: read.gaps };
}

function subscriptionText(s: NonNullable<UpdatesNode["subscription"]>, node: string): string {
  if (s.status === "notfound") return "subscription: none";
  const details = [
    s.productName,
    s.level ? `level ${s.level}` : undefined,
    s.nextDueDate ? `next due ${s.nextDueDate}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
  if (s.detailsHidden) return `subscription ${s.status} (details need Sys.Audit on /nodes/${node})`;
  return `subscription ${s.status}${details ? ` (${details})` : ""}`;
}

function updatesText(r: UpdatesResult): string {
  const lines: string[] = [];
  for (const n of r.nodes) {
    if (n.state !== "ok") {
      lines.push(
        n.state === "offline"
          ? `${n.node}: OFFLINE, not checked${n.error ? ` (${n.error})` : ""}`
          : `${n.node}: could not be read (${n.error})`,
      );
      continue;
    }
    const head = [
      `PVE ${n.pveVersion ?? "?"}`,
      n.subscription ? subscriptionText(n.subscription, n.node) : undefined,
    ]
      .filter(Boolean)
      .join("; ");
    lines.push(`${n.node}: ${head}`);
    if (!n.updates) {
      lines.push(`  pending updates on ${n.node}: not visible (needs Sys.Modify on /nodes/${n.node})`);
      continue;
    }
    const u = n.updates;
    if (u.total === 0) {
      lines.push("  no pending updates (as of the last package index refresh)");
      continue;
    }
    lines.push(
      `  ${u.total} pending update(s), ${u.security} security-relevant${u.truncated ? ` (first ${u.packages.length} listed)` : ""}`,
    );
    for (const p of u.packages.filter((p) => p.security)) {
      lines.push(`  SECURITY ${p.package} ${p.from} -> ${p.to} (${p.origin}; ${p.reason})`);
    }
    const others = u.packages.filter((p) => !p.security);
    if (others.length)
      lines.push(`  other: ${others.map((p) => `${p.package} ${p.from} -> ${p.to}`).join(", ")}`);
  }
  const hiddenApt = r.nodes.some((n) => n.state === "ok" && !n.updates);
  if (hiddenApt) {
    lines.push(
      "Sys.Modify is a write privilege a read-only token should not hold: check pending updates on the host (apt list --upgradable) instead.",
    );
  }
  if (r.nodes.some((n) => n.updates?.security)) {
    lines.push("PVE does not mark security updates; flagged by package (TLS, SSH, kernel, libc, ...).");
  }
  const gaps = gapText(r.gaps.filter((g) => !g.what.startsWith("pending updates on ")));
  if (gaps) lines.push(gaps);
  return lines.join("\n");
}

export const getUpdates = defineTool({
  name: "get_updates",
  title: "Pending updates, PVE version and subscription",
  description:
    "Per node: pending package updates (security-relevant ones flagged), PVE version and subscription status. The update list needs Sys.Modify; without it the answer says so.",
  toolset: "security",
  tier: "read",
  input: { node: pveNode.optional().describe("only this node; all online nodes when omitted") },
  output: updatesOutput,
  // Version and subscription are open to any token; the apt list (Sys.Modify) is reported as a gap.
  needs: [],
  async handle({ node }, ctx) {
    const result = await readUpdates(ctx.read, node);
    return { text: updatesText(result), structured: result };
  },
});

export const securityTools = [getFirewall, getCertificates, getUpdates] as const satisfies readonly AnyTool[];
