/**
 * Backups and snapshots. Coverage is computed from the job list, enabled jobs only:
 * PVE's own /cluster/backup-info/not-backed-up counts disabled jobs as coverage (and is
 * root-only). Backup volumes are visible only with Datastore.AllocateSpace on the
 * storage and VM.Backup on the guest (or Datastore.Allocate): PVE silently hides the
 * rest, which is stated as a gap, never reported as "no backup".
 */
import {
  backupJobs,
  includedGuests,
  jobCoverage,
  jobEnabled,
  type PveBackupJob,
} from "../../pve/model/backup.js";
import { notificationSystem, routesOf, type NotificationSystem } from "../notification-routes.js";
import { REFERENCES } from "../references.js";
import { cleanText, LIMITS, quoted } from "../../untrusted.js";
import {
  age,
  clusterTasks,
  DAY,
  guestCli,
  guestLabel,
  guestObject,
  guests,
  inspectedGuests,
  isOn,
  listOf,
  onlineNodes,
  pveBoolean,
  reachableGuests,
  taskFailed,
  type Guest,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";
import { guestConfig } from "./firewall.js";

export const BACKUP_MAX_AGE_DAYS = 7;
export const SNAPSHOT_MAX_AGE_DAYS = 30;

interface BackupVisibility {
  /** vmid -> newest visible backup. */
  latest: Map<number, { ctime: number; storage: string; shared: boolean }>;
  /** vmid -> backup storages whose volumes of that guest PVE hides from this token. */
  hidden: Map<number, string[]>;
  /** False when the token may not even list every storage. */
  storagesVisible: boolean;
  /** Node-local backup storages that could not be read ("local on pve3": the node is offline). */
  unreadable: string[];
}

/**
 * The newest backup of each guest, from the content of every backup storage (a shared
 * one read once, a node-local one on each online node), and the guests whose backups
 * this token cannot see.
 */
async function backupVolumes(ctx: AuditContext, list: Guest[]): Promise<BackupVisibility> {
  const resources = await ctx.resources();
  const storagesVisible = await ctx.holds("/storage", "Datastore.Audit");
  const places = new Map<string, { storage: string; node: string; shared: boolean }>();
  const unreadable = new Set<string>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.storage || !r.node || !listOf(r.content).includes("backup")) continue;
    const shared = r.shared === 1;
    if (r.status !== "available") {
      if (!shared) unreadable.add(`${r.storage} on ${r.node}`);
      continue;
    }
    const key = shared ? r.storage : `${r.storage}\u0000${r.node}`;
    if (!places.has(key)) places.set(key, { storage: r.storage, node: r.node, shared });
  }
  const storages = [...new Set([...places.values()].map((p) => p.storage))].sort();
  const full = new Map<string, boolean>();
  const partial = new Map<string, boolean>();
  for (const s of storages) {
    full.set(s, await ctx.holds(`/storage/${s}`, "Datastore.Allocate"));
    partial.set(s, await ctx.holds(`/storage/${s}`, "Datastore.AllocateSpace"));
  }
  const hidden = new Map<number, string[]>();
  for (const g of list) {
    const backup = await ctx.holds(`/vms/${g.vmid}`, "VM.Backup");
    const blind = storages.filter((s) => !full.get(s) && !(partial.get(s) && backup));
    if (blind.length > 0) hidden.set(g.vmid, blind);
  }
  const latest: BackupVisibility["latest"] = new Map();
  await ctx.each(
    [...places.values()].filter((p) => full.get(p.storage) || partial.get(p.storage)),
    (p) => `backups on ${p.storage} (${p.node})`,
    async (p) => {
      const volumes = await ctx.get<{ vmid?: number | string; ctime?: number; content?: string }[]>(
        "/nodes/{node}/storage/{storage}/content",
        { node: p.node, storage: p.storage },
        { content: "backup" },
      );
      for (const v of volumes) {
        const vmid = Number(v.vmid);
        if (v.content !== "backup" || !Number.isInteger(vmid) || typeof v.ctime !== "number") continue;
        const known = latest.get(vmid);
        if (!known || v.ctime > known.ctime)
          latest.set(vmid, { ctime: v.ctime, storage: p.storage, shared: p.shared });
      }
    },
  );
  // A shared storage read through another node is not missing.
  for (const p of places.values()) if (p.shared) unreadable.delete(`${p.storage} on ${p.node}`);
  return { latest, hidden, storagesVisible, unreadable: [...unreadable].sort() };
}

function lastBackupText(
  ctx: AuditContext,
  b: { ctime: number; storage: string; shared: boolean } | undefined,
): string {
  if (!b) return "";
  return `last backup ${age(ctx.nowSeconds - b.ctime)} ago on ${b.storage}${b.shared ? "" : " (node-local)"}`;
}

export const backupCoverage = defineCheck({
  id: "backup-coverage",
  code: "PVE-BAK-001",
  references: [REFERENCES.backup],
  severity: "high",
  title: "Guests in no enabled backup job",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const jobs = await backupJobs(ctx);
    if (!jobs) return [];
    const list = await guests(ctx);
    const [cover, seen] = await Promise.all([jobCoverage(ctx, jobs, list), backupVolumes(ctx, list)]);
    const findings: CheckFinding[] = [];
    for (const g of list) {
      if (cover.enabled.has(g.vmid)) continue;
      const disabled = cover.disabled.get(g.vmid);
      const excluded = cover.excludedBy.get(g.vmid);
      const why = disabled
        ? `only in disabled job(s) ${disabled.join(", ")}`
        : excluded
          ? `excluded from job(s) ${excluded.join(", ")}`
          : "in no backup job";
      const known = seen.latest.get(g.vmid);
      const last = known
        ? `; ${lastBackupText(ctx, known)}`
        : seen.storagesVisible && !seen.hidden.has(g.vmid)
          ? `; no backup on any ${seen.unreadable.length > 0 ? `readable storage (not readable: ${seen.unreadable.join(", ")})` : "storage"}`
          : "";
      findings.push({
        check: "backup-coverage",
        severity: "high",
        title: `${guestLabel(g)} is in no enabled backup job`,
        object: guestObject(g),
        evidence: `${why}${last}`,
        remediation: disabled
          ? `pvesh set /cluster/backup/${disabled[0]} --enabled 1, or add it to an enabled job`
          : excluded
            ? `drop it from the exclude list of ${excluded[0]}`
            : "add it to an enabled backup job (Datacenter > Backup)",
      });
    }
    return findings;
  },
});

export const backupAge = defineCheck({
  id: "backup-age",
  code: "PVE-BAK-002",
  references: [REFERENCES.backup],
  severity: "medium",
  title: `Last backup older than ${BACKUP_MAX_AGE_DAYS} days (or missing for a guest in an enabled job)`,
  needs: "Datastore.AllocateSpace on the backup storages and VM.Backup on /vms (write privileges)",
  async run(ctx) {
    const list = await guests(ctx);
    const [jobs, seen] = await Promise.all([backupJobs(ctx), backupVolumes(ctx, list)]);
    const cover = jobs ? await jobCoverage(ctx, jobs, list) : undefined;
    if (!seen.storagesVisible) {
      ctx.gap(
        "backup storages this token may not see (PVE lists only storages with Datastore.Audit)",
        "Datastore.Audit on /storage",
      );
    }
    const findings: CheckFinding[] = [];
    const unseen: Guest[] = [];
    for (const g of list) {
      const known = seen.latest.get(g.vmid);
      const stale = known && ctx.nowSeconds - known.ctime > BACKUP_MAX_AGE_DAYS * DAY;
      if (known && !stale) continue;
      if (seen.hidden.has(g.vmid) || !seen.storagesVisible) {
        unseen.push(g);
        continue;
      }
      if (known) {
        findings.push({
          check: "backup-age",
          severity: "medium",
          title: `Last backup of ${guestLabel(g)} is ${age(ctx.nowSeconds - known.ctime)} old`,
          object: guestObject(g),
          evidence: `${lastBackupText(ctx, known)} (limit ${BACKUP_MAX_AGE_DAYS} d)`,
          remediation: `vzdump ${g.vmid} --storage <backup storage> now; keep it in an enabled job`,
        });
      } else if (cover?.enabled.has(g.vmid)) {
        findings.push({
          check: "backup-age",
          severity: "high",
          title: `${guestLabel(g)} is in an enabled backup job but has no backup`,
          object: guestObject(g),
          evidence: `in job(s) ${cover.enabled.get(g.vmid)!.join(", ")}; no backup volume on any visible backup storage${seen.unreadable.length > 0 ? ` (not readable: ${seen.unreadable.join(", ")})` : ""}`,
          remediation:
            "read the job's last vzdump task log (Task History) and run it by hand once: vzdump --all 0 ...",
        });
      }
    }
    if (unseen.length > 0) {
      const storages = [...new Set(unseen.flatMap((g) => seen.hidden.get(g.vmid) ?? []))].sort();
      const names = unseen.slice(0, 6).map(guestObject).join(", ") + (unseen.length > 6 ? ", ..." : "");
      ctx.gap(
        unseen.length === list.length
          ? `the last backup of every guest (backup volumes${storages.length ? ` on ${storages.join(", ")}` : ""} are hidden from this token)`
          : `the last backup of ${unseen.length} guest(s): ${names}`,
        `Datastore.AllocateSpace on /storage/${storages.length === 1 ? storages[0] : "<backup storage>"} and VM.Backup on /vms/{vmid}`,
        "write privileges a read-only token lacks by design: check by hand in the GUI (storage > Backups) or with pvesm list <storage> --content backup",
      );
    }
    return findings;
  },
});

export const backupFailed = defineCheck({
  id: "backup-failed",
  code: "PVE-BAK-003",
  references: [REFERENCES.backup],
  severity: "high",
  title: `Latest backup run failed (per node, last ${BACKUP_MAX_AGE_DAYS} days)`,
  needs: "Sys.Audit on / and on /nodes/{node}",
  async run(ctx) {
    const [tasks, list] = await Promise.all([clusterTasks(ctx), guests(ctx)]);
    const since = ctx.nowSeconds - BACKUP_MAX_AGE_DAYS * DAY;
    const latest = new Map<string, (typeof tasks)[number]>();
    for (const t of tasks) {
      if (t.type !== "vzdump" || t.endtime === undefined || t.endtime < since) continue;
      const known = latest.get(t.node);
      if (!known || t.endtime > known.endtime!) latest.set(t.node, t);
    }
    const findings: CheckFinding[] = [];
    const failed = [...latest.values()].filter(taskFailed).sort((a, b) => (a.node < b.node ? -1 : 1));
    await ctx.each(
      failed,
      (t) => `backup task on ${t.node}`,
      async (t) => {
        const node = cleanText(t.node, 64);
        const when = `${age(ctx.nowSeconds - t.endtime!)} ago`;
        // The exit status and the failure reasons are the task's words, quoted apart from ours.
        const status = quoted(t.status ?? "", 80);
        const log = await ctx.getOrGap<{ n: number; t: string }[]>(
          "/nodes/{node}/tasks/{upid}/log",
          { node: t.node, upid: t.upid },
          `which guests failed in the backup task on ${node}`,
          `Sys.Audit on /nodes/${node}`,
          { limit: 5000 },
        );
        const failures = new Map<number, string>();
        for (const { t: line } of log ?? []) {
          const m = /^ERROR: Backup of VM (\d+) failed - (.*)$/.exec(line);
          if (m && !failures.has(Number(m[1]))) failures.set(Number(m[1]), m[2] ?? "");
        }
        for (const [vmid, reason] of failures) {
          const g = list.find((x) => x.vmid === vmid);
          const object = g ? guestObject(g) : `VM ${vmid}`;
          findings.push({
            check: "backup-failed",
            severity: "high",
            title: `Backup of ${g ? guestLabel(g) : object} failed in the last run on ${node} (${when})`,
            object,
            evidence: `vzdump ended ${status}: ${quoted(reason, 120)}`,
            remediation: `fix the cause, then: vzdump ${vmid} --storage <backup storage> (on ${node})`,
          });
        }
        if (failures.size === 0) {
          findings.push({
            check: "backup-failed",
            severity: "high",
            title: `The last backup run on ${node} failed (${when})`,
            object: cleanText(t.upid, 200),
            evidence: `vzdump ended ${status}`,
            remediation: `read the task log (${node} > Task History) and run the job again`,
          });
        }
      },
    );
    return findings;
  },
});

export const snapshotAge = defineCheck({
  id: "snapshot-age",
  code: "PVE-GST-001",
  references: [REFERENCES.qemu, REFERENCES.containers],
  severity: "low",
  title: `Snapshots older than ${SNAPSHOT_MAX_AGE_DAYS} days`,
  needs: "VM.Audit on /vms",
  async run(ctx) {
    const { guests: list, note } = inspectedGuests("snapshot-age", await reachableGuests(ctx));
    const findings: CheckFinding[] = [...note];
    await ctx.each(list, guestObject, async (g) => {
      const params = { node: g.node, vmid: g.vmid };
      const snapshots = await (g.type === "lxc"
        ? ctx.get<{ name: string; snaptime?: number }[]>("/nodes/{node}/lxc/{vmid}/snapshot", params)
        : ctx.get<{ name: string; snaptime?: number }[]>("/nodes/{node}/qemu/{vmid}/snapshot", params));
      const old = snapshots
        .filter((s) => s.name !== "current" && typeof s.snaptime === "number")
        .filter((s) => ctx.nowSeconds - s.snaptime! > SNAPSHOT_MAX_AGE_DAYS * DAY)
        .sort((a, b) => a.snaptime! - b.snaptime!);
      if (old.length === 0) return;
      const shown = old
        .slice(0, 4)
        .map((s) => `${cleanText(s.name, 40)} (${age(ctx.nowSeconds - s.snaptime!)})`);
      findings.push({
        check: "snapshot-age",
        severity: "low",
        title: `${guestLabel(g)} has ${old.length} snapshot(s) older than ${SNAPSHOT_MAX_AGE_DAYS} days`,
        object: guestObject(g),
        evidence: `${shown.join(", ")}${old.length > 4 ? ` (+${old.length - 4} more)` : ""}`,
        remediation: `delete those no longer needed (they hold space, slow the disk): ${guestCli(g)} delsnapshot ${g.vmid} ${cleanText(old[0]!.name, 40)}`,
      });
    });
    return findings;
  },
});

/** Guest config keys that hold a disk or a container's mount point. */
const DISK_KEY = /^(?:(?:scsi|virtio|sata|ide|efidisk|tpmstate)\d+|mp\d+)$/;

/**
 * The disks of a config a backup leaves out: a VM's with backup off (passthrough disks
 * included: vzdump reads them too); a container's volume mount points unless backup is
 * on (their default is off). CD-ROMs, and a container's bind and device mounts (a host
 * path), are never in a backup and are not the guest's disks.
 */
function disksLeftOut(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, raw] of Object.entries(config)) {
    if (!DISK_KEY.test(key) || typeof raw !== "string") continue;
    const [volume = "", ...options] = raw.split(",");
    const mountPoint = key.startsWith("mp");
    if (options.includes("media=cdrom") || volume === "none" || (mountPoint && volume.startsWith("/")))
      continue;
    const flag = pveBoolean(options.find((o) => o.startsWith("backup="))?.slice("backup=".length));
    if (mountPoint ? flag === true : flag !== false) continue;
    out.push(
      `${key} (${cleanText(volume, 80)}, ${flag === undefined ? "a mount point: backup=1 is not its default" : "backup off"})`,
    );
  }
  return out.sort();
}

export const backupExcludedDisk = defineCheck({
  id: "backup-excluded-disk",
  code: "PVE-BAK-004",
  references: [REFERENCES.backup],
  severity: "medium",
  title: "Disks left out of the backup of guests an enabled job backs up",
  needs: "Sys.Audit on / and VM.Audit on /vms",
  async run(ctx) {
    const jobs = await backupJobs(ctx);
    if (!jobs) return [];
    const cover = await jobCoverage(ctx, jobs, await guests(ctx));
    const { guests: covered, note } = inspectedGuests(
      "backup-excluded-disk",
      (await reachableGuests(ctx)).filter((g) => cover.enabled.has(g.vmid)),
    );
    const findings: CheckFinding[] = [...note];
    await ctx.each(covered, guestObject, async (g) => {
      const leftOut = disksLeftOut(await guestConfig(ctx, g));
      if (leftOut.length === 0) return;
      findings.push({
        check: "backup-excluded-disk",
        severity: "medium",
        title: `${guestLabel(g)} is backed up without ${leftOut.length === 1 ? "one of its disks" : `${leftOut.length} of its disks`}`,
        object: guestObject(g),
        evidence: `in job(s) ${cover.enabled.get(g.vmid)!.join(", ")}, but not in the backup: ${leftOut.join("; ")}`,
        remediation: `if that data matters, include it: ${guestCli(g)} set ${g.vmid} --<disk> <its value with backup=1 in place of backup=0, or added> (or back it up another way)`,
      });
    });
    return findings;
  },
});

/** The online nodes a job runs on: those of the guests it selects (vzdump backs up each guest on its node). */
async function jobNodes(ctx: AuditContext, job: PveBackupJob, list: Guest[]): Promise<string[]> {
  const online = new Set(await onlineNodes(ctx));
  const selected = new Set(await includedGuests(ctx, job, list));
  return [
    ...new Set(list.filter((g) => selected.has(g.vmid) && online.has(g.node)).map((g) => g.node)),
  ].sort();
}

/** storage.cfg as GET /storage lists it (secrets such as a PBS password live in /etc/pve/priv, never here). */
interface StorageConfig {
  storage: string;
  type?: string;
  disable?: number | string;
  "prune-backups"?: string | Record<string, unknown>;
  maxfiles?: number | string;
  server?: string;
  port?: number | string;
  datastore?: string;
  namespace?: string;
  fingerprint?: string;
  /** PBS: the fingerprint of the client-side encryption key (or 1); the key is in /etc/pve/priv/storage/<id>.enc. */
  "encryption-key"?: string;
}

async function storageConfig(ctx: AuditContext): Promise<StorageConfig[]> {
  return ctx.get<StorageConfig[]>("/storage");
}

/** What `vzdump` falls back to on a node (/etc/vzdump.conf, the storage's retention, PVE's defaults). */
interface VzdumpDefaults {
  storage?: string;
  "prune-backups"?: string;
  mailto?: string;
  "notification-mode"?: string;
}

/** GET /nodes/{node}/vzdump/defaults, for the job's storage (the node's default storage when it names none). */
function vzdumpDefaults(
  ctx: AuditContext,
  node: string,
  storage: string | undefined,
): Promise<VzdumpDefaults | undefined> {
  const sid = cleanText(storage ?? "local", 60);
  return ctx.getOrGap<VzdumpDefaults>(
    "/nodes/{node}/vzdump/defaults",
    { node },
    `the backup defaults of ${node} (/etc/vzdump.conf) for storage ${sid}`,
    `Datastore.Audit on /storage/${sid}`,
    storage ? { storage } : undefined,
  );
}

interface Retention {
  text: string;
  keepsAll: boolean;
}

/**
 * A prune-backups value (property string or object). PVE keeps every backup when
 * keep-all is on or no keep-* option is above 0 (prune_mark_backup_group).
 */
function retentionOf(value: unknown): Retention | undefined {
  let pairs: [string, string][];
  if (typeof value === "string") {
    pairs = value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => [part.split("=")[0]!.trim(), part.slice(part.indexOf("=") + 1).trim()]);
  } else if (value && typeof value === "object") {
    pairs = Object.entries(value).map(([k, v]) => [k, String(v)]);
  } else {
    return undefined;
  }
  if (pairs.length === 0) return undefined;
  const keepsAll =
    pairs.some(([k, v]) => k === "keep-all" && isOn(v)) ||
    !pairs.some(([k, v]) => k.startsWith("keep-") && k !== "keep-all" && Number(v) > 0);
  return { text: cleanText(pairs.map(([k, v]) => `${k}=${v}`).join(","), 120), keepsAll };
}

/** PVE 8's maxfiles: keep-last=N, 0 for keep all. */
function maxfilesOf(value: unknown): Retention | undefined {
  const n = Number(value);
  if (value === undefined || value === "" || !Number.isInteger(n) || n < 0) return undefined;
  return { text: `maxfiles=${n}`, keepsAll: n === 0 };
}

const retentionExample = "keep-daily=7,keep-weekly=4,keep-monthly=6";

/** "server 192.0.2.60:8008, datastore main": where a PBS storage sends backups (storage.cfg text, cleaned). */
function pbsTarget(s: StorageConfig): string {
  const port = s.port !== undefined && String(s.port) !== "8007" ? `:${cleanText(String(s.port), 8)}` : "";
  const ns = s.namespace ? `, namespace ${cleanText(s.namespace, LIMITS.name)}` : "";
  return `server ${cleanText(s.server ?? "?", 253)}${port}, datastore ${cleanText(s.datastore ?? "?", LIMITS.name)}${ns}`;
}

/** Why a job keeps every backup, or undefined when it prunes (or that cannot be told). */
async function keepsEverything(
  ctx: AuditContext,
  job: PveBackupJob,
  storages: StorageConfig[],
  list: Guest[],
): Promise<{ why: string; storage: string | undefined } | undefined> {
  const own = retentionOf(job["prune-backups"]) ?? maxfilesOf(job.maxfiles);
  if (own && !own.keepsAll) return undefined;
  const sid = job.storage ? cleanText(job.storage, 60) : undefined;
  if (own) return { why: `the job sets prune-backups ${own.text}, which keeps all`, storage: job.storage };
  const storage = job.storage ? storages.find((s) => s.storage === job.storage) : undefined;
  if (job.storage && !storage) {
    ctx.gap(
      `the retention of storage ${sid} (backup job ${cleanText(job.id, 60)})`,
      `Datastore.Audit on /storage/${sid}`,
    );
    return undefined;
  }
  const onStorage = storage
    ? (retentionOf(storage["prune-backups"]) ?? maxfilesOf(storage.maxfiles))
    : undefined;
  if (onStorage && !onStorage.keepsAll) return undefined;
  if (onStorage) {
    return {
      why: `no prune-backups on the job, and storage ${sid} sets ${onStorage.text}, which keeps all`,
      storage: job.storage,
    };
  }
  // Neither sets one: vzdump falls back to the node's /etc/vzdump.conf, and then to keep-all.
  const keepAll: string[] = [];
  const unread: string[] = [];
  let used = job.storage;
  for (const node of await jobNodes(ctx, job, list)) {
    const defaults = await vzdumpDefaults(ctx, node, job.storage);
    if (!defaults) {
      unread.push(node);
      continue;
    }
    used ??= defaults.storage;
    const fallback = retentionOf(defaults["prune-backups"]);
    if (!fallback || fallback.keepsAll) keepAll.push(node);
  }
  if (keepAll.length === 0 && (unread.length === 0 || !job.storage)) return undefined;
  const usedText = used ? cleanText(used, 60) : "its default storage";
  const conf = keepAll.length > 0 ? ` or in /etc/vzdump.conf of ${keepAll.join(", ")}` : "";
  const unreadText = unread.length > 0 ? ` (/etc/vzdump.conf of ${unread.join(", ")} not readable)` : "";
  return {
    why: `no prune-backups on the job, on storage ${usedText}${conf}${unreadText}, so PVE's default applies: keep all`,
    storage: used,
  };
}

export const backupRetention = defineCheck({
  id: "backup-retention",
  code: "PVE-BAK-005",
  references: [REFERENCES.backup],
  severity: "medium",
  title: "Enabled backup jobs that keep every backup (no retention on the job, its storage or the node)",
  needs: "Sys.Audit on / and Datastore.Audit on /storage",
  async run(ctx) {
    const jobs = await backupJobs(ctx);
    const enabled = (jobs ?? []).filter(jobEnabled);
    if (enabled.length === 0) return [];
    const [storages, list] = await Promise.all([storageConfig(ctx), guests(ctx)]);
    const findings: CheckFinding[] = [];
    await ctx.each(
      enabled,
      (job) => `backup job ${cleanText(job.id, 60)}`,
      async (job) => {
        const kept = await keepsEverything(ctx, job, storages, list);
        if (!kept) return;
        const id = cleanText(job.id, 60);
        const sid = kept.storage ? cleanText(kept.storage, 60) : "its storage";
        const pbs = storages.find((s) => s.storage === kept.storage && s.type === "pbs");
        findings.push({
          check: "backup-retention",
          severity: pbs ? "low" : "medium",
          title: `Backup job ${id} keeps every backup on ${sid}`,
          object: id,
          evidence: pbs
            ? `${kept.why}; a prune job on the PBS (${pbsTarget(pbs)}) is not visible from PVE`
            : `${kept.why}; backups pile up until ${sid} is full, and then every backup fails`,
          remediation: pbs
            ? `if the PBS datastore has no prune job (PBS GUI: Datastore > Prune & GC), set one there or here: pvesh set /cluster/backup/${id} --prune-backups ${retentionExample}`
            : `pvesh set /cluster/backup/${id} --prune-backups ${retentionExample} (or for every job on it: pvesm set ${sid} --prune-backups ${retentionExample})`,
        });
      },
    );
    return findings.sort((a, b) => (a.object < b.object ? -1 : 1));
  },
});

/** Who hears of a failed run of `job` on `node`, or why nobody does; undefined when it cannot be told. */
async function silence(
  ctx: AuditContext,
  job: PveBackupJob,
  node: string,
  system: () => Promise<NotificationSystem | undefined>,
): Promise<{ why: string; severity: "medium" | "low"; fix: string } | undefined> {
  const id = cleanText(job.id, 60);
  let mode = job["notification-mode"];
  let mailto = job.mailto;
  // What the job leaves unset comes from /etc/vzdump.conf; the notification system ignores mailto.
  if (mode !== "notification-system" && (mode === undefined || mailto === undefined)) {
    const defaults = await vzdumpDefaults(ctx, node, job.storage);
    if (!defaults) return undefined;
    if (mailto === undefined && !(await ctx.holds(`/nodes/${node}`, "Sys.Audit"))) {
      ctx.gap(
        `mail recipients in /etc/vzdump.conf of ${node} (PVE leaves them out)`,
        `Sys.Audit on /nodes/${node}`,
      );
      return undefined;
    }
    mode ??= defaults["notification-mode"];
    mailto ??= defaults.mailto;
  }
  const recipients = listOf(mailto);
  const shown = cleanText(mode ?? "auto", 40);
  if (shown === "legacy-sendmail" || (shown === "auto" && recipients.length > 0)) {
    if (recipients.length > 0) return undefined;
    return {
      why: "notification-mode legacy-sendmail and no mailto on the job or in /etc/vzdump.conf: vzdump mails nobody and bypasses the notification system",
      severity: "medium",
      fix: `pvesh set /cluster/backup/${id} --notification-mode notification-system (then Datacenter > Notifications decides), or --mailto <address>`,
    };
  }
  const notifications = await system();
  if (!notifications) return undefined;
  const routing = routesOf(notifications, {
    severity: "error",
    fields: { type: "vzdump", hostname: node, "job-id": job.id },
  });
  if (routing.reached.length > 0 || routing.unknown.length > 0) return undefined;
  const via = `notification-mode ${shown}${shown === "auto" ? " without mailto" : ""}: the notification system`;
  const fixUser = routing.withoutEmail[0];
  const fix = fixUser
    ? `pveum user modify ${fixUser} --email <address> (or route errors elsewhere: Datacenter > Notifications)`
    : "pvesh create /cluster/notifications/matchers --name backup-errors --match-severity error --target <a target that reaches someone>";
  if (routing.limited.length > 0) {
    return {
      why: `${via}; only a route that depends on the hour or on a rule not judged here may reach someone: ${routing.limited.slice(0, 2).join("; ")}`,
      severity: "low",
      fix,
    };
  }
  return {
    why: `${via}, where a vzdump error reaches nobody: ${routing.blocked.slice(0, 4).join("; ")}${routing.blocked.length > 4 ? "; ..." : ""}`,
    severity: "medium",
    fix,
  };
}

export const backupNotify = defineCheck({
  id: "backup-notify",
  code: "PVE-BAK-006",
  references: [REFERENCES.backup, REFERENCES.notifications],
  severity: "medium",
  title: "Enabled backup jobs whose failures notify nobody",
  needs: "Sys.Audit on /, Mapping.Audit on /mapping/notifications and Datastore.Audit on /storage",
  async run(ctx) {
    const jobs = await backupJobs(ctx);
    const enabled = (jobs ?? []).filter(jobEnabled);
    if (enabled.length === 0) return [];
    const list = await guests(ctx);
    let loaded: Promise<NotificationSystem | undefined> | undefined;
    const system = () => (loaded ??= notificationSystem(ctx));
    const findings: CheckFinding[] = [];
    await ctx.each(
      enabled,
      (job) => `backup job ${cleanText(job.id, 60)}`,
      async (job) => {
        const nodes = await jobNodes(ctx, job, list);
        const silent = new Map<
          string,
          { why: string; severity: "medium" | "low"; fix: string; nodes: string[] }
        >();
        for (const node of nodes) {
          const found = await silence(ctx, job, node, system);
          if (!found) continue;
          const known = silent.get(found.why);
          if (known) known.nodes.push(node);
          else silent.set(found.why, { ...found, nodes: [node] });
        }
        const id = cleanText(job.id, 60);
        for (const s of silent.values()) {
          const where = s.nodes.length < nodes.length ? ` on ${s.nodes.join(", ")}` : "";
          findings.push({
            check: "backup-notify",
            severity: s.severity,
            title: `Failures of backup job ${id}${where} notify nobody`,
            object: id,
            evidence: s.why,
            remediation: s.fix,
          });
        }
      },
    );
    return findings.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  },
});

/** Enabled PBS storages as storage.cfg lists them, and a gap for those PVE hides. */
async function pbsStorages(ctx: AuditContext): Promise<StorageConfig[]> {
  const list = await storageConfig(ctx);
  if (!(await ctx.holds("/storage", ["Datastore.Audit", "Datastore.AllocateSpace"]))) {
    ctx.gap(
      "storages this token may not see (PVE lists only storages with Datastore.Audit)",
      "Datastore.Audit on /storage",
    );
  }
  return list
    .filter((s) => s.type === "pbs" && !isOn(s.disable))
    .sort((a, b) => (a.storage < b.storage ? -1 : 1));
}

export const pbsEncryption = defineCheck({
  id: "pbs-encryption",
  code: "PVE-BAK-007",
  references: [REFERENCES.backup, REFERENCES.pbsStorage],
  severity: "medium",
  title: "Proxmox Backup Server storages without client-side encryption",
  needs: "Datastore.Audit on /storage",
  async run(ctx) {
    return (await pbsStorages(ctx))
      .filter((s) => !s["encryption-key"])
      .map((s) => {
        const sid = cleanText(s.storage, 60);
        return {
          check: "pbs-encryption",
          severity: "medium",
          title: `PBS storage ${sid} sends backups unencrypted`,
          object: sid,
          evidence: `${pbsTarget(s)}; no encryption-key in storage.cfg (PVE records the key's fingerprint there once one is set): whoever reads the datastore reads the guests' data`,
          remediation: `pvesm set ${sid} --encryption-key autogen, then keep a copy of the key off the cluster (Datacenter > Storage > ${sid} > Encryption); it applies to new backups`,
        } satisfies CheckFinding;
      });
  },
});

export const pbsFingerprint = defineCheck({
  id: "pbs-fingerprint",
  code: "PVE-BAK-008",
  references: [REFERENCES.pbsStorage],
  severity: "low",
  title: "Proxmox Backup Server storages without a pinned certificate fingerprint",
  needs: "Datastore.Audit on /storage",
  async run(ctx) {
    return (await pbsStorages(ctx))
      .filter((s) => !s.fingerprint)
      .map((s) => {
        const sid = cleanText(s.storage, 60);
        return {
          check: "pbs-fingerprint",
          severity: "low",
          title: `PBS storage ${sid} has no certificate fingerprint pinned`,
          object: sid,
          evidence: `${pbsTarget(s)}, no fingerprint: the nodes trust any certificate their system CA store accepts (fine for a publicly signed one; a self-signed PBS then only works if its CA was added to that store)`,
          remediation: `pvesm set ${sid} --fingerprint <SHA-256 fingerprint from proxmox-backup-manager cert info on the PBS>`,
        } satisfies CheckFinding;
      });
  },
});

export const backupChecks = [
  backupCoverage,
  backupAge,
  backupFailed,
  snapshotAge,
  backupExcludedDisk,
  backupRetention,
  backupNotify,
  pbsEncryption,
  pbsFingerprint,
] as const;
