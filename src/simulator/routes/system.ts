/**
 * Node system information: certificates, pending updates, disks and SMART,
 * network interfaces, subscription, syslog and version, as pve-manager's
 * API2/{Certificates,APT,Disks,Network,Subscription,Nodes}.pm and pve-storage's
 * Diskmanage.pm answer them; and the QDevice status pve-cluster's ClusterConfig.pm
 * reads from the local node's corosync-qdevice.
 */
import { createHash, generateKeyPairSync, X509Certificate } from "node:crypto";
import { MONTHS } from "../calendar.js";
import type { Cluster, NodeCertificate } from "../cluster.js";
import type { NodeSpec } from "../scenario.js";
import { PveError } from "../errors.js";
import { fingerprint256, issueCertificate } from "../tls.js";
import { param, route, type Route, type RouteContext } from "./route.js";

type DiskSpec = NodeSpec["disks"][number];

const SUBSCRIPTION_URL = "https://www.proxmox.com/en/proxmox-virtual-environment/pricing";
const PUBLIC_KEY_TYPES: Record<string, string> = { rsa: "rsaEncryption", ec: "id-ecPublicKey" };
/** smartctl -A -f brief: `ID# ATTRIBUTE_NAME FLAGS VALUE WORST THRESH FAIL RAW_VALUE`. */
const ATA_ATTRIBUTE = /^([\d\s]{3}) (\S+)\s+(\S{6})\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/;

/** The node of a `{node}` route: every route here is proxied, so the server already resolved it. */
function nodeOf(ctx: RouteContext): NodeSpec {
  return ctx.cluster.nodes.get(param.str(ctx, "node"))!;
}

const DEFAULT_KEY_BITS = 2048;
/** Node certificates reissued with another key size, per cluster: a key is made once. */
const reissued = new WeakMap<Cluster, Map<string, NodeCertificate>>();

/**
 * pve-ssl.pem with the scenario's key size: the same names, dates and SANs, signed by the
 * cluster CA. The simulator's listener keeps serving the 2048-bit one it started with.
 */
function withKeySize(cluster: Cluster, node: NodeSpec, cert: NodeCertificate): NodeCertificate {
  const bits = node.certificates.nodeKeyBits ?? DEFAULT_KEY_BITS;
  if (cert.filename !== "pve-ssl.pem" || bits === DEFAULT_KEY_BITS) return cert;
  let perNode = reissued.get(cluster);
  if (!perNode) reissued.set(cluster, (perNode = new Map()));
  let weak = perNode.get(node.name);
  if (!weak) {
    const ca = cluster.options.keys.ca;
    const pem = issueCertificate({
      subject: cert.subject,
      issuer: cert.issuer,
      notBefore: new Date(cert.notbefore * 1000),
      notAfter: new Date(cert.notafter * 1000),
      san: cert.san,
      publicKey: generateKeyPairSync("rsa", { modulusLength: bits }).publicKey,
      signingKey: ca.privateKey,
      issuerKeyId: createHash("sha1")
        .update(ca.publicKey.export({ type: "spki", format: "der" }))
        .digest(),
    });
    weak = { ...cert, pem, fingerprint: fingerprint256(pem) };
    perNode.set(node.name, weak);
  }
  return weak;
}

function certificatesInfo(ctx: RouteContext): unknown[] {
  const node = nodeOf(ctx);
  return (ctx.cluster.certificates.get(node.name) ?? []).map((served) => {
    const cert = withKeySize(ctx.cluster, node, served);
    const publicKey = new X509Certificate(cert.pem).publicKey;
    return {
      filename: cert.filename,
      fingerprint: cert.fingerprint,
      subject: cert.subject,
      issuer: cert.issuer,
      notbefore: cert.notbefore,
      notafter: cert.notafter,
      san: cert.san,
      pem: cert.pem,
      "public-key-type": PUBLIC_KEY_TYPES[publicKey.asymmetricKeyType ?? ""] ?? publicKey.asymmetricKeyType,
      "public-key-bits": publicKey.asymmetricKeyDetails?.modulusLength,
    };
  });
}

/** udev's /dev/disk/by-id name: bus prefix, model with blanks as underscores, serial. */
function byIdLink(disk: DiskSpec): string {
  const bus = disk.type === "nvme" ? "nvme" : disk.type === "usb" ? "usb" : "ata";
  return `/dev/disk/by-id/${bus}-${disk.model.replace(/\s+/g, "_")}_${disk.serial}`;
}

/** API2/Disks.pm list filters: `unused` = no usage at all; journal disks = no OSD, empty or GPT/LVM. */
function diskMatchesType(disk: DiskSpec, type: string | undefined): boolean {
  if (type === "unused") return !disk.used;
  if (type === "journal_disks") {
    if (disk.osdid >= 0) return false;
    return !disk.used || (disk.used === "partitions" && disk.gpt === 1) || disk.used === "LVM";
  }
  return true;
}

function listDisks(ctx: RouteContext): unknown[] {
  const skipSmart = param.flag(ctx, "skipsmart");
  const type = param.optStr(ctx, "type");
  return [...nodeOf(ctx).disks]
    .sort((a, b) => (a.devpath < b.devpath ? -1 : a.devpath > b.devpath ? 1 : 0))
    .filter((disk) => diskMatchesType(disk, type))
    .map((disk) => {
      const entry: Record<string, unknown> = {
        devpath: disk.devpath,
        type: disk.type,
        size: disk.size,
        model: disk.model,
        serial: disk.serial,
        vendor: disk.vendor,
        wwn: disk.wwn,
        gpt: disk.gpt,
        rpm: disk.rpm,
        health: skipSmart ? "UNKNOWN" : disk.health,
        wearout: skipSmart ? "N/A" : disk.wearout,
        by_id_link: byIdLink(disk),
        osdid: disk.osdid,
        "osdid-list": null,
      };
      if (disk.used) entry["used"] = disk.used;
      return entry;
    });
}

/** Diskmanage::get_smart_data over the disk's smartctl output. */
function smartData(disk: DiskSpec): Record<string, unknown> {
  const lines = (disk.smartText ?? "").split("\n");
  if (disk.type === "nvme") {
    const result: Record<string, unknown> = { health: disk.health, type: "text" };
    if (disk.smartText !== undefined) result["text"] = lines.map((l) => `${l}\n`).join("");
    const used = /Percentage Used(?: endurance indicator)?:\s*(\d+(?:\.\d+)?)%/i.exec(disk.smartText ?? "");
    if (used) result["wearout"] = 100 - Number(used[1]);
    return result;
  }
  const attributes = lines.flatMap((line) => {
    const m = ATA_ATTRIBUTE.exec(line);
    if (!m) return [];
    const value = Number(m[4]);
    return [
      {
        id: m[1],
        name: m[2],
        flags: m[3],
        value,
        normalized: value,
        worst: Number(m[5]),
        threshold: m[6] === "---" ? 0 : Number(m[6]),
        fail: m[7],
        raw: m[8],
      },
    ];
  });
  const result: Record<string, unknown> = { health: disk.health, type: "ata" };
  if (attributes.length > 0) result["attributes"] = attributes;
  return result;
}

function smart(ctx: RouteContext): unknown {
  const disk = nodeOf(ctx).disks.find((d) => d.devpath === param.str(ctx, "disk"));
  if (!disk) throw new PveError(500, "not a valid block device\n");
  if (param.flag(ctx, "healthonly")) return { health: disk.health };
  return smartData(disk);
}

/** Network.pm index: `lo` is never listed; any_bridge / any_local_bridge match Linux and OVS bridges. */
function networkTypeMatches(type: unknown, filter: string | undefined): boolean {
  if (filter === undefined || filter === "include_sdn") return true;
  if (filter === "any_bridge" || filter === "any_local_bridge")
    return type === "bridge" || type === "OVSBridge";
  return type === filter;
}

function listNetwork(ctx: RouteContext): unknown[] {
  const filter = param.optStr(ctx, "type");
  return nodeOf(ctx)
    .network.filter((iface) => iface["iface"] !== "lo" && networkTypeMatches(iface["type"], filter))
    .map((iface) => ({ ...iface }));
}

/** The server id PVE derives from the node's SSH host key: 32 upper-case hex digits. */
function serverId(node: NodeSpec): string {
  return (
    node.subscription.serverid ??
    createHash("md5").update(`ssh-host-key:${node.name}`).digest("hex").toUpperCase()
  );
}

function subscription(ctx: RouteContext): unknown {
  const node = nodeOf(ctx);
  const info = node.subscription;
  const mayAudit = ctx.cluster.engine.has(ctx.authid, `/nodes/${node.name}`, "Sys.Audit");
  if (info.status === "notfound") {
    const result: Record<string, unknown> = {
      status: "notfound",
      message: "There is no subscription key",
      url: SUBSCRIPTION_URL,
    };
    if (mayAudit) result["serverid"] = serverId(node);
    return result;
  }
  // Without Sys.Audit PVE answers status, the stored message (none here, so null) and the shop URL.
  if (!mayAudit) return { status: info.status, message: null, url: SUBSCRIPTION_URL };
  const result: Record<string, unknown> = { status: info.status };
  if (info.key !== undefined) result["key"] = info.key;
  if (info.checktime !== undefined) result["checktime"] = ctx.cluster.time(info.checktime);
  if (info.productname !== undefined) result["productname"] = info.productname;
  if (info.regdate !== undefined) result["regdate"] = info.regdate;
  if (info.nextduedate !== undefined) result["nextduedate"] = info.nextduedate;
  // PVE parses the level from the key, and only for an active subscription.
  const level = info.level ?? /^pve[124]([cbsp])-/.exec(info.key ?? "")?.[1];
  if (info.status === "active" && level) result["level"] = level;
  result["serverid"] = serverId(node);
  result["sockets"] = node.sockets;
  result["url"] = SUBSCRIPTION_URL;
  return result;
}

/** Epoch seconds of a syslog line ("Nov 21 06:52:17 ..."), in the latest year that is not in the future. */
function syslogTime(line: string, now: number): number | undefined {
  const m = /^(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) /.exec(line);
  const month = m ? MONTHS.indexOf(m[1] as string) : -1;
  if (!m || month < 0) return undefined;
  const at = (year: number) =>
    Date.UTC(year, month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
  const year = new Date(now * 1000).getUTCFullYear();
  return at(year) > now + 86400 ? at(year - 1) : at(year);
}

/** journalctl --since/--until: "YYYY-MM-DD[ HH:MM[:SS]]". */
function journalTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const [date, time = "00:00:00"] = value.split(" ");
  return Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}Z`) / 1000;
}

/** PVE::Tools::dump_journal: lines numbered from 1, `total` = all matching lines, "no content" when empty. */
function syslog(ctx: RouteContext): unknown[] {
  const node = nodeOf(ctx);
  const now = ctx.cluster.now();
  const since = journalTime(param.optStr(ctx, "since"));
  const until = journalTime(param.optStr(ctx, "until"));
  const service = param.optStr(ctx, "service")?.replace(/\.service$/, "");
  // journalctl --unit: lines logged under the unit's syslog identifier.
  const fromService = service && new RegExp(`^\\S+ +\\S+ \\S+ \\S+ ${escapeRegExp(service)}(\\[\\d+\\])?:`);
  const lines = node.syslog.filter((line) => {
    if (fromService && !fromService.test(line)) return false;
    const time = syslogTime(line, now);
    if (time === undefined) return since === undefined && until === undefined;
    return (since === undefined || time >= since) && (until === undefined || time <= until);
  });
  const start = param.optInt(ctx, "start") ?? 0;
  const limit = param.optInt(ctx, "limit") || 50;
  if (lines.length === 0) {
    ctx.setTotal(1);
    return [{ n: 1, t: "no content" }];
  }
  ctx.setTotal(lines.length);
  return lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * GET /cluster/config/qdevice: the `status verbose` keys PVE keeps, from the local node's
 * corosync-qdevice socket; without a QDevice there is no socket, and the answer is {}.
 */
function qdeviceStatus(ctx: RouteContext): Record<string, string> {
  const qdevice = ctx.cluster.scenario.qdevice;
  if (!qdevice || !ctx.cluster.scenario.clusterName) return {};
  return {
    Model: "Net",
    "QNetd host": `${qdevice.host}:5403`,
    Algorithm: "Fifty-Fifty split",
    "Tie-breaker": "Node with lowest node ID",
    State: qdevice.state,
  };
}

/** GET /version and /nodes/{node}/version: the node's pve-manager version. */
export function versionInfo(cluster: Cluster, node: NodeSpec): Record<string, string> {
  const { version, release, repoid } = cluster.pveVersionOf(node);
  return { version, release, repoid };
}

export const systemRoutes: Route[] = [
  route("GET /nodes/{node}/certificates/info", certificatesInfo),
  route("GET /nodes/{node}/apt/update", (ctx) => nodeOf(ctx).aptUpdates.map((update) => ({ ...update }))),
  route("GET /nodes/{node}/disks/list", listDisks),
  route("GET /nodes/{node}/disks/smart", smart),
  route("GET /nodes/{node}/network", listNetwork),
  route("GET /nodes/{node}/subscription", subscription),
  route("GET /nodes/{node}/syslog", syslog),
  route("GET /nodes/{node}/version", (ctx) => versionInfo(ctx.cluster, nodeOf(ctx))),
  route("GET /cluster/config/qdevice", qdeviceStatus),
];
