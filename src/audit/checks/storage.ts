/**
 * Where guest data lives: directory storages that share the node's root filesystem,
 * ZFS pools that lost redundancy or go unscrubbed, LVM thin pools running out of
 * metadata. The ZFS and LVM lists need Sys.Audit on / (not on the node); one read per
 * online node each, and one zpool status per pool.
 */
import { REFERENCES } from "../references.js";
import { cleanText } from "../../untrusted.js";
import { age, DAY, isOn, listOf, onlineNodes, perNode, pveBoolean } from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";

const SYS_AUDIT_ROOT = "Sys.Audit on /";
const GiB = 1024 ** 3;
const gib = (bytes: number) => (bytes / GiB).toFixed(0);

/**
 * A read on every online node that needs Sys.Audit on /: a refusal is the same on every
 * node, so it is one gap (getOrGap's), and the nodes that answered are checked.
 */
async function onEachNode<T>(
  ctx: AuditContext,
  template: string,
  what: string,
): Promise<{ node: string; data: T }[]> {
  const answers: { node: string; data: T }[] = [];
  await ctx.each(
    await onlineNodes(ctx),
    (node) => `node ${node}`,
    async (node) => {
      const data = await ctx.getOrGap<T>(template, { node }, what, SYS_AUDIT_ROOT);
      if (data !== undefined) answers.push({ node, data });
    },
  );
  return answers.sort((a, b) => (a.node < b.node ? -1 : 1));
}

// ---------------------------------------------------------------- directory storages on /

interface StorageConfig {
  storage: string;
  type: string;
  content?: string;
  path?: string;
  is_mountpoint?: string | number;
  disable?: string | number;
}

interface NodeStatus {
  rootfs?: { total?: number };
}

const GUEST_CONTENT = new Set(["images", "rootdir"]);

export const dirOnRoot = defineCheck({
  id: "dir-on-root",
  code: "PVE-STO-003",
  references: [REFERENCES.storageDirectory],
  severity: "medium",
  title: "Directory storages with guest disks on the node's root filesystem",
  needs: "Datastore.Audit on /storage, Sys.Audit on /nodes/{node}",
  async run(ctx) {
    const [config, resources] = await Promise.all([ctx.get<StorageConfig[]>("/storage"), ctx.resources()]);
    if (!(await ctx.holds("/storage", "Datastore.Audit"))) {
      ctx.gap(
        "storages this token may not see (PVE lists only storages with Datastore.Audit)",
        "Datastore.Audit on /storage",
      );
    }
    // is_mountpoint (yes, or the mount point's path) makes PVE use the storage only while mounted.
    const candidates = config.filter(
      (s) =>
        s.type === "dir" &&
        !isOn(s.disable) &&
        listOf(s.content).some((c) => GUEST_CONTENT.has(c)) &&
        (s.is_mountpoint === undefined || pveBoolean(s.is_mountpoint) === false),
    );
    if (candidates.length === 0) return [];
    const rootfs = new Map(
      (
        await perNode<NodeStatus>(
          ctx,
          "/nodes/{node}/status",
          (nodes) => `the root filesystem of ${nodes}`,
          "Sys.Audit",
        )
      ).map(({ node, data }) => [node, data.rootfs?.total]),
    );
    const findings: CheckFinding[] = [];
    for (const s of candidates.sort((a, b) => (a.storage < b.storage ? -1 : 1))) {
      const sid = cleanText(s.storage, 64);
      const content = listOf(s.content);
      const path = cleanText(s.path ?? "?", 120);
      const kept = content.filter((c) => !GUEST_CONTENT.has(c));
      for (const r of resources) {
        if (r.type !== "storage" || r.storage !== s.storage || !r.node || !r.maxdisk) continue;
        const rootTotal = rootfs.get(r.node);
        // statfs of a directory on / reports the root filesystem's size, to the byte.
        if (rootTotal === undefined || r.maxdisk !== rootTotal) continue;
        findings.push({
          check: "dir-on-root",
          severity: "medium",
          title: `Storage ${sid} keeps guest disks on the root filesystem of ${r.node}`,
          object: `${sid} on ${r.node}`,
          evidence: `dir ${path} (content ${cleanText(content.join(","), 80)}, no is_mountpoint) is as large as / (${gib(rootTotal)} GiB): guests filling it fill /, and pmxcfs, logging and the node stop`,
          remediation: `mount a disk of its own at ${path} and pvesm set ${sid} --is_mountpoint yes; or move the guest volumes elsewhere (qm disk move / pct move-volume) and pvesm set ${sid} --content ${kept.length > 0 ? cleanText(kept.join(","), 80) : "iso,vztmpl"}`,
        });
      }
    }
    return findings;
  },
});

// ---------------------------------------------------------------- ZFS

interface ZfsPool {
  name: string;
  health?: string;
  size?: number;
  alloc?: number;
}

interface ZfsVdev {
  name?: string;
  state?: string;
  msg?: string;
  children?: ZfsVdev[];
}

interface ZfsDetail {
  name?: string;
  state?: string;
  status?: string;
  action?: string;
  scan?: string;
  errors?: string;
  children?: ZfsVdev[];
}

const ZFS_POOLS = "the ZFS pools (zpool list, zpool status)";

async function zfsPools(ctx: AuditContext): Promise<{ node: string; pool: ZfsPool }[]> {
  const answers = await onEachNode<ZfsPool[]>(ctx, "/nodes/{node}/disks/zfs", ZFS_POOLS);
  return answers.flatMap(({ node, data }) =>
    [...data].sort((a, b) => (a.name < b.name ? -1 : 1)).map((pool) => ({ node, pool })),
  );
}

/**
 * zpool status of one pool; undefined when refused (a gap). PVE's {name} here has the
 * storage ID format (pve-storage-id), the client's {storage} rule: the same path.
 */
function zfsDetail(ctx: AuditContext, node: string, name: string): Promise<ZfsDetail | undefined> {
  return ctx.getOrGap<ZfsDetail>(
    "/nodes/{node}/disks/zfs/{storage}",
    { node, storage: name },
    ZFS_POOLS,
    SYS_AUDIT_ROOT,
  );
}

/** Leaf devices not ONLINE (spares waiting are AVAIL): "…-part1 FAULTED (too many errors)". */
function failedDevices(vdevs: ZfsVdev[] | undefined): { name: string; text: string }[] {
  return (vdevs ?? []).flatMap((v) => {
    if (v.children?.length) return failedDevices(v.children);
    const state = cleanText(v.state ?? "", 20);
    if (!state || state === "ONLINE" || state === "AVAIL") return [];
    const name = cleanText(v.name ?? "?", 120);
    const msg = v.msg ? ` (${cleanText(v.msg, 80)})` : "";
    return [{ name, text: `${name} ${state}${msg}` }];
  });
}

/** A pool that is not there any more (or cannot be written): its data is unreachable. */
const POOL_DOWN = new Set(["FAULTED", "UNAVAIL", "SUSPENDED"]);

export const zfsHealth = defineCheck({
  id: "zfs-health",
  code: "PVE-STO-004",
  references: [REFERENCES.zfs],
  severity: "high",
  title: "ZFS pools not ONLINE (degraded, faulted, unavailable)",
  needs: SYS_AUDIT_ROOT,
  async run(ctx) {
    const pools = (await zfsPools(ctx)).filter(({ pool }) => (pool.health ?? "ONLINE") !== "ONLINE");
    const findings = new Map<string, CheckFinding>();
    await ctx.each(
      pools,
      ({ node, pool }) => `pool ${pool.name} on ${node}`,
      async ({ node, pool }) => {
        const name = cleanText(pool.name, 64);
        const health = cleanText(pool.health ?? "?", 20);
        const detail = await zfsDetail(ctx, node, pool.name);
        const failed = failedDevices(detail?.children?.[0]?.children);
        const status = detail?.status ? `; ${cleanText(detail.status, 160)}` : "";
        const down = POOL_DOWN.has(health);
        findings.set(`${node}\u0000${pool.name}`, {
          check: "zfs-health",
          severity: down ? "critical" : "high",
          title: `ZFS pool ${name} on ${node} is ${health}`,
          object: `${name} on ${node}`,
          evidence: `health ${health}${failed.length > 0 ? `; ${failed.map((f) => f.text).join(", ")}` : ""}${status}`,
          remediation:
            failed.length > 0 && !down
              ? `replace the failed disk: zpool replace ${name} ${failed[0]!.name} /dev/disk/by-id/<new disk> (on ${node}), then watch the resilver with zpool status ${name}`
              : `zpool status -v ${name} on ${node}: reconnect or replace the missing devices and zpool clear ${name}; if it stays ${health}, restore its guests from backup`,
        });
      },
    );
    return pools.flatMap(({ node, pool }) => findings.get(`${node}\u0000${pool.name}`) ?? []);
  },
});

/** zfsutils-linux scrubs every pool on the second Sunday of each month: a month and some slack. */
const SCRUB_MAX_AGE = 35 * DAY;
const CTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** zpool prints ctime(3) in the node's time zone, which PVE does not say: read as UTC (hours off, never days). */
function ctimeSeconds(text: string): number | undefined {
  const m = CTIME.exec(text.trim());
  if (!m) return undefined;
  const [, month, day, hour, minute, second, year] = m;
  return (
    Date.UTC(
      Number(year),
      MONTHS.indexOf(month!),
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
    ) / 1000
  );
}

type Scan =
  | { kind: "none" }
  | { kind: "running" }
  | { kind: "finished"; type: "scrub" | "resilver"; errors: number; at: number }
  | { kind: "stopped"; type: "scrub" | "resilver"; how: "canceled" | "paused"; at: number }
  | { kind: "unknown" };

/** zpool status' "scan:" line, as PVE passes it on (progress lines of a running scan appended). */
export function parseScan(scan: string | undefined): Scan {
  const line = (scan ?? "").trim();
  if (/^none requested\b/.test(line)) return { kind: "none" };
  if (/^(?:scrub|resilver) in progress since /.test(line)) return { kind: "running" };
  const finished = /^(scrub repaired|resilvered) \S+ in .+? with (\d+) errors on (.+)$/.exec(line);
  if (finished) {
    const at = ctimeSeconds(finished[3]!);
    if (at === undefined) return { kind: "unknown" };
    return {
      kind: "finished",
      type: finished[1] === "resilvered" ? "resilver" : "scrub",
      errors: Number(finished[2]),
      at,
    };
  }
  const stopped = /^(scrub|resilver) (canceled on|paused since) (.+)$/.exec(line);
  if (stopped) {
    const at = ctimeSeconds(stopped[3]!);
    if (at === undefined) return { kind: "unknown" };
    const how = stopped[2] === "canceled on" ? "canceled" : "paused";
    return { kind: "stopped", type: stopped[1] === "resilver" ? "resilver" : "scrub", how, at };
  }
  return { kind: "unknown" };
}

function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

export const zfsScrub = defineCheck({
  id: "zfs-scrub",
  code: "PVE-STO-005",
  references: [REFERENCES.zfs],
  severity: "low",
  title: "ZFS pools never scrubbed, not scrubbed for 35 days, or whose last scrub found errors",
  needs: SYS_AUDIT_ROOT,
  async run(ctx) {
    const pools = await zfsPools(ctx);
    const findings = new Map<string, CheckFinding>();
    await ctx.each(
      pools,
      ({ node, pool }) => `pool ${pool.name} on ${node}`,
      async ({ node, pool }) => {
        const detail = await zfsDetail(ctx, node, pool.name);
        if (!detail) return;
        const name = cleanText(pool.name, 64);
        const shown = cleanText(detail.scan ?? "(no scan line)", 200);
        const scan = parseScan(detail.scan);
        const scrubNow = `zpool scrub ${name} (on ${node}), and keep zfsutils-linux's monthly scrub in /etc/cron.d/zfsutils-linux`;
        const base = { check: "zfs-scrub", object: `${name} on ${node}` };
        let finding: CheckFinding | undefined;
        if (scan.kind === "none") {
          finding = {
            ...base,
            severity: "low",
            title: `ZFS pool ${name} on ${node} has never been scrubbed`,
            evidence: `scan: ${shown}: bad sectors and silent corruption stay unfound until the data is read, maybe when a disk has already failed`,
            remediation: scrubNow,
          };
        } else if (scan.kind === "finished" && scan.errors > 0) {
          finding = {
            ...base,
            severity: "medium",
            title: `The last ${scan.type} of ZFS pool ${name} on ${node} found ${scan.errors} error(s)`,
            evidence: `scan: ${shown}; errors: ${cleanText(detail.errors ?? "?", 120)}`,
            remediation: `zpool status -v ${name} on ${node} lists the damaged files: restore them from backup, then zpool clear ${name} and zpool scrub ${name}`,
          };
        } else if (scan.kind === "finished" && ctx.nowSeconds - scan.at > SCRUB_MAX_AGE) {
          finding = {
            ...base,
            severity: "low",
            title:
              scan.type === "scrub"
                ? `ZFS pool ${name} on ${node} was last scrubbed ${age(ctx.nowSeconds - scan.at)} ago`
                : `ZFS pool ${name} on ${node} has not been scrubbed since a resilver ${age(ctx.nowSeconds - scan.at)} ago`,
            evidence: `scan: ${shown} (${isoDate(scan.at)})`,
            remediation: scrubNow,
          };
        } else if (scan.kind === "stopped") {
          finding = {
            ...base,
            severity: "low",
            title: `The last ${scan.type} of ZFS pool ${name} on ${node} was ${scan.how}`,
            evidence: `scan: ${shown}: no completed scrub is known (zpool keeps only the last scan)`,
            remediation: scan.how === "paused" ? `zpool scrub ${name} (on ${node}) resumes it` : scrubNow,
          };
        } else if (scan.kind === "unknown") {
          finding = {
            ...base,
            severity: "low",
            title: `The scrub state of ZFS pool ${name} on ${node} could not be read`,
            evidence: `scan: ${shown}`,
            remediation: `zpool status ${name} on ${node} shows the last scrub; zpool scrub ${name} if there is none`,
          };
        }
        if (finding) findings.set(`${node}\u0000${pool.name}`, finding);
      },
    );
    return pools.flatMap(({ node, pool }) => findings.get(`${node}\u0000${pool.name}`) ?? []);
  },
});

// ---------------------------------------------------------------- LVM thin

interface ThinPool {
  lv?: string;
  vg?: string;
  lv_size?: number;
  used?: number;
  metadata_size?: number;
  metadata_used?: number;
}

const METADATA_WARN = 0.8;
const MiB = 1024 ** 2;

export const lvmThinMetadata = defineCheck({
  id: "lvmthin-metadata",
  code: "PVE-STO-006",
  references: [REFERENCES.lvm],
  severity: "high",
  title: `LVM thin pools whose metadata is more than ${METADATA_WARN * 100} % used (a full data area: see storage-usage)`,
  needs: SYS_AUDIT_ROOT,
  async run(ctx) {
    const answers = await onEachNode<ThinPool[]>(
      ctx,
      "/nodes/{node}/disks/lvmthin",
      "the LVM thin pools (lvs)",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const pool of [...data].sort((a, b) => (`${a.vg}/${a.lv}` < `${b.vg}/${b.lv}` ? -1 : 1))) {
        if (!pool.metadata_size || pool.metadata_used === undefined) continue;
        const used = pool.metadata_used / pool.metadata_size;
        if (used <= METADATA_WARN) continue;
        const id = `${cleanText(pool.vg ?? "?", 64)}/${cleanText(pool.lv ?? "?", 64)}`;
        const fill = pool.lv_size ? ` (data ${Math.round(((pool.used ?? 0) / pool.lv_size) * 100)} %)` : "";
        findings.push({
          check: "lvmthin-metadata",
          severity: "high",
          title: `Metadata of thin pool ${id} on ${node} is ${Math.round(used * 100)} % full`,
          object: `${id} on ${node}`,
          evidence: `${Math.round(pool.metadata_used / MiB)} of ${Math.round(pool.metadata_size / MiB)} MiB metadata used${fill}: when it is full the pool turns read-only and can be corrupted, with every guest disk in it`,
          remediation: `lvextend --poolmetadatasize +1G ${id} (on ${node}; it needs free extents in the volume group: vgs ${cleanText(pool.vg ?? "?", 64)})`,
        });
      }
    }
    return findings;
  },
});

export const storageChecks = [dirOnRoot, zfsHealth, zfsScrub, lvmThinMetadata] as const;
