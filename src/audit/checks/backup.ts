/**
 * Backups and snapshots. Coverage is computed from the job list, enabled jobs only:
 * PVE's own /cluster/backup-info/not-backed-up counts disabled jobs as coverage (and is
 * root-only). Backup volumes are visible only with Datastore.AllocateSpace on the
 * storage and VM.Backup on the guest (or Datastore.Allocate): PVE silently hides the
 * rest, which is stated as a gap, never reported as "no backup".
 */
import { REFERENCES } from "../references.js";
import { cleanText, quoted } from "../../untrusted.js";
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
  pveBoolean,
  reachableGuests,
  taskFailed,
  type Guest,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";
import { guestConfig } from "./firewall.js";

export const BACKUP_MAX_AGE_DAYS = 7;
export const SNAPSHOT_MAX_AGE_DAYS = 30;

interface BackupJob {
  id: string;
  enabled?: number | string;
  all?: number | string;
  vmid?: string;
  exclude?: string;
  pool?: string;
  node?: string;
  storage?: string;
  schedule?: string;
  comment?: string;
}

/** The jobs, or undefined when the token may not read them (gap recorded). */
async function backupJobs(ctx: AuditContext): Promise<BackupJob[] | undefined> {
  return ctx.getOrGap<BackupJob[]>("/cluster/backup", {}, "backup jobs", "Sys.Audit on /");
}

/** PVE::VZDump::get_included_guests: all (minus exclude), a vmid list, or a pool; optionally one node. */
async function jobSelection(ctx: AuditContext, job: BackupJob, list: Guest[]): Promise<Set<number>> {
  const onNode = list.filter((g) => !job.node || g.node === job.node);
  if (isOn(job.all)) {
    const excluded = new Set(listOf(job.exclude).map(Number));
    return new Set(onNode.filter((g) => !excluded.has(g.vmid)).map((g) => g.vmid));
  }
  if (job.pool) {
    // /cluster/resources drops a guest's pool without Pool.Audit on that pool.
    if (!(await ctx.holds(`/pool/${job.pool}`, "Pool.Audit"))) {
      ctx.gap(
        `members of pool ${cleanText(job.pool, 40)} (backup job ${cleanText(job.id, 60)})`,
        `Pool.Audit on /pool/${cleanText(job.pool, 40)}`,
      );
    }
    return new Set(onNode.filter((g) => g.pool === job.pool).map((g) => g.vmid));
  }
  return new Set(listOf(job.vmid).map(Number));
}

interface Coverage {
  /** vmid -> ids of the enabled jobs that back it up. */
  enabled: Map<number, string[]>;
  /** vmid -> ids of disabled jobs that would back it up. */
  disabled: Map<number, string[]>;
  /** vmid -> ids of "all" jobs that exclude it. */
  excludedBy: Map<number, string[]>;
}

async function coverage(ctx: AuditContext, jobs: BackupJob[], list: Guest[]): Promise<Coverage> {
  const result: Coverage = { enabled: new Map(), disabled: new Map(), excludedBy: new Map() };
  const add = (map: Map<number, string[]>, vmid: number, id: string) =>
    map.set(vmid, [...(map.get(vmid) ?? []), id]);
  for (const job of jobs) {
    const id = cleanText(job.id, 60);
    const enabled = job.enabled === undefined || isOn(job.enabled);
    for (const vmid of await jobSelection(ctx, job, list))
      add(enabled ? result.enabled : result.disabled, vmid, id);
    if (isOn(job.all) && enabled) {
      for (const vmid of listOf(job.exclude).map(Number)) add(result.excludedBy, vmid, id);
    }
  }
  return result;
}

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
    const [cover, seen] = await Promise.all([coverage(ctx, jobs, list), backupVolumes(ctx, list)]);
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
    const cover = jobs ? await coverage(ctx, jobs, list) : undefined;
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
    const cover = await coverage(ctx, jobs, await guests(ctx));
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

export const backupChecks = [
  backupCoverage,
  backupAge,
  backupFailed,
  snapshotAge,
  backupExcludedDisk,
] as const;
