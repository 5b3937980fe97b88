/**
 * The inventory the HTML report draws beside the findings: how full each storage is (a
 * node-local one per node) and which enabled backup jobs cover each guest, with its
 * newest backup when the token may see it. It is read after the checks through the same
 * run cache, with the same requests the backup checks make, so it costs nothing more
 * when they ran and a few requests when they did not. Coverage is the read model's
 * (jobCoverage, as backup-coverage counts it). What the token cannot see goes in
 * `notVisible` with the privilege that would show it, never as an empty list.
 */
import { jobCoverage, jobEnabled, type PveBackupJob } from "../pve/model/backup.js";
import type { ClusterResource, Guest } from "../pve/model/resources.js";
import { isRefusal, type ModelReader } from "../pve/model/visibility.js";
import { cleanText, LIMITS } from "../untrusted.js";
import { backupExcludedDisk } from "./checks/backup.js";
import { errorMessage, type AuditRun } from "./context.js";
import { guestObject, isOn, listOf } from "./shared.js";
import type {
  AuditInventory,
  BackupState,
  CheckFinding,
  InventoryBackupJob,
  InventoryGuest,
  InventoryStorage,
} from "./types.js";

/** A guest table of this many rows stays well under a megabyte of HTML. */
export const MAX_INVENTORY_GUESTS = 2000;
export const MAX_INVENTORY_STORAGES = 100;
const MAX_TAGS = 12;

/** What the inventory needs of a run: its cached GET and its permission look-up. */
export type InventorySource = Pick<AuditRun, "get" | "holds">;

const BACKUP_NEEDS = "Datastore.AllocateSpace on the backup storages and VM.Backup on /vms/{vmid}";

/** The least covered first: what a reader of the table is looking for. */
const STATE_ORDER: readonly BackupState[] = ["none", "disabled", "excluded", "partial", "unknown", "covered"];

const clean = (text: unknown, max: number) => cleanText(String(text ?? ""), max);

/**
 * The inventory; `findings` are the run's, whatever --min-severity: a guest that
 * backup-excluded-disk names is backed up without some of its disks.
 */
export async function buildInventory(
  run: InventorySource,
  findings: readonly CheckFinding[] = [],
): Promise<AuditInventory> {
  const partial = new Set(findings.filter((f) => f.check === backupExcludedDisk.id).map((f) => f.object));
  const inventory: AuditInventory = {
    storages: [],
    storagesOmitted: 0,
    backupJobs: null,
    guests: [],
    guestsTotal: 0,
    notVisible: [],
    notes: [],
  };
  let resources: ClusterResource[];
  try {
    resources = await run.get<ClusterResource[]>("/cluster/resources");
  } catch (err) {
    if (isRefusal(err)) {
      inventory.notVisible.push(
        { about: "storage", what: "storages", needs: "Datastore.Audit on /storage" },
        { about: "backups", what: "guests", needs: "VM.Audit on /vms" },
      );
    } else {
      const what = `not read: ${clean(errorMessage(err), LIMITS.pveMessage)}`;
      inventory.notes.push({ about: "storage", what }, { about: "backups", what });
    }
    return inventory;
  }
  storageUsage(resources, inventory);
  try {
    const storagesVisible = await run.holds("/storage", "Datastore.Audit");
    if (!storagesVisible) {
      inventory.notVisible.push({
        about: "storage",
        what: "storages this token may not see (PVE lists only storages with Datastore.Audit)",
        needs: "Datastore.Audit on /storage",
      });
    }
    await backupCoverage(run, resources, storagesVisible, partial, inventory);
  } catch (err) {
    // The checks' own results stand; only this part of the page is missing, and says so.
    inventory.notes.push({
      about: "backups",
      what: `backup coverage not read: ${clean(errorMessage(err), LIMITS.pveMessage)}`,
    });
  }
  return inventory;
}

function storageUsage(resources: ClusterResource[], inventory: AuditInventory): void {
  const entries = new Map<string, InventoryStorage>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.storage || !r.node) continue;
    const shared = isOn(r.shared);
    const key = shared ? r.storage : `${r.storage}\u0000${r.node}`;
    const usage =
      r.status === "available" && typeof r.disk === "number" && typeof r.maxdisk === "number"
        ? { used: r.disk, total: r.maxdisk }
        : { used: null, total: null };
    const known = entries.get(key);
    // A shared storage is the same everywhere: the first node that reports its usage speaks for it.
    if (known && (known.used !== null || usage.used === null)) continue;
    entries.set(key, {
      storage: clean(r.storage, LIMITS.name),
      node: shared ? null : clean(r.node, LIMITS.name),
      type: clean(r.plugintype, 32),
      shared,
      ...usage,
      content: listOf(r.content).map((c) => clean(c, 32)),
    });
  }
  const fill = (s: InventoryStorage) => (s.used !== null && s.total ? s.used / s.total : -1);
  const sorted = [...entries.values()].sort(
    (a, b) =>
      fill(b) - fill(a) ||
      a.storage.localeCompare(b.storage, "en", { numeric: true }) ||
      (a.node ?? "").localeCompare(b.node ?? "", "en", { numeric: true }),
  );
  inventory.storages = sorted.slice(0, MAX_INVENTORY_STORAGES);
  inventory.storagesOmitted = sorted.length - inventory.storages.length;
  if (inventory.storagesOmitted > 0) {
    inventory.notes.push({
      about: "storage",
      what: `${inventory.storagesOmitted} emptier storage(s) past the first ${MAX_INVENTORY_STORAGES} are not drawn`,
    });
  }
  const silent = [...new Set(sorted.filter((s) => s.used === null).map((s) => s.node ?? s.storage))];
  if (silent.length > 0) {
    inventory.notes.push({
      about: "storage",
      what: `no usage reported (node offline or storage inactive): ${silent.sort().join(", ")}`,
    });
  }
}

async function backupCoverage(
  run: InventorySource,
  resources: ClusterResource[],
  storagesVisible: boolean,
  partial: ReadonlySet<string>,
  inventory: AuditInventory,
): Promise<void> {
  if (!(await run.holds("/vms", "VM.Audit"))) {
    inventory.notVisible.push({
      about: "backups",
      what: "guests this token may not see (PVE lists only guests with VM.Audit)",
      needs: "VM.Audit on /vms",
    });
  }
  const guests = resources
    .filter(
      (r): r is Guest =>
        (r.type === "qemu" || r.type === "lxc") && typeof r.vmid === "number" && typeof r.node === "string",
    )
    .sort((a, b) => a.vmid - b.vmid);
  inventory.guestsTotal = guests.length;

  let jobs: PveBackupJob[] | null = null;
  try {
    jobs = await run.get<PveBackupJob[]>("/cluster/backup");
  } catch (err) {
    if (isRefusal(err)) {
      inventory.notVisible.push({ about: "backups", what: "backup jobs", needs: "Sys.Audit on /" });
    } else {
      inventory.notes.push({
        about: "backups",
        what: `backup jobs not read: ${clean(errorMessage(err), LIMITS.pveMessage)}`,
      });
    }
  }
  inventory.backupJobs = jobs?.map(jobOf) ?? null;

  const notVisible: ModelReader = {
    get: (template, params, query) => run.get(template, params, query),
    holds: (path, privilege) => run.holds(path, privilege),
    gap: (what, needs) => inventory.notVisible.push({ about: "backups", what, needs }),
  };
  const { enabled, disabled, excludedBy } = await jobCoverage(notVisible, jobs ?? [], guests);

  const backups = await lastBackups(run, resources, guests, storagesVisible, inventory);
  const rows: InventoryGuest[] = guests.map((g) => {
    const state: BackupState =
      jobs === null
        ? "unknown"
        : enabled.has(g.vmid)
          ? partial.has(guestObject(g))
            ? "partial"
            : "covered"
          : disabled.has(g.vmid)
            ? "disabled"
            : excludedBy.has(g.vmid)
              ? "excluded"
              : "none";
    return {
      vmid: g.vmid,
      type: g.type,
      name: clean(g.name, LIMITS.name),
      node: clean(g.node, LIMITS.name),
      tags: listOf(g.tags)
        .slice(0, MAX_TAGS)
        .map((t) => clean(t, LIMITS.tag)),
      template: isOn(g.template),
      state,
      jobs: enabled.get(g.vmid) ?? [],
      disabledJobs: disabled.get(g.vmid) ?? [],
      excludedBy: excludedBy.get(g.vmid) ?? [],
      backupsVisible: !backups.hidden.has(g.vmid),
      lastBackup: backups.latest.get(g.vmid) ?? null,
    };
  });
  rows.sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.vmid - b.vmid);
  inventory.guests = rows.slice(0, MAX_INVENTORY_GUESTS);
  if (rows.length > MAX_INVENTORY_GUESTS) {
    inventory.notes.push({
      about: "backups",
      what: `${rows.length - MAX_INVENTORY_GUESTS} of ${rows.length} guests are not listed (the best covered ones): the table stops at ${MAX_INVENTORY_GUESTS}`,
    });
  }
}

function jobOf(job: PveBackupJob): InventoryBackupJob {
  return {
    id: clean(job.id, 60),
    enabled: jobEnabled(job),
    comment: clean(job.comment, 200),
    schedule: clean(job.schedule, 100),
    storage: clean(job.storage, LIMITS.name),
  };
}

/**
 * The newest backup of each guest on the backup storages (a shared one read once, a
 * node-local one per online node: the reads backup-age makes), and the guests whose
 * backup volumes PVE hides from this token: it lists them only with Datastore.Allocate
 * on the storage, or Datastore.AllocateSpace there and VM.Backup on the guest.
 */
async function lastBackups(
  run: InventorySource,
  resources: ClusterResource[],
  guests: Guest[],
  storagesVisible: boolean,
  inventory: AuditInventory,
): Promise<{ latest: Map<number, { time: number; storage: string }>; hidden: Set<number> }> {
  const places = new Map<string, { storage: string; node: string }>();
  const unreadable = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.storage || !r.node || !listOf(r.content).includes("backup")) continue;
    const key = isOn(r.shared) ? r.storage : `${r.storage}\u0000${r.node}`;
    if (r.status !== "available") {
      unreadable.set(key, `${clean(r.storage, LIMITS.name)} on ${clean(r.node, LIMITS.name)}`);
      continue;
    }
    if (!places.has(key)) places.set(key, { storage: r.storage, node: r.node });
  }
  // A shared storage read through another node is not missing.
  const unread = [...unreadable].filter(([key]) => !places.has(key)).map(([, where]) => where);
  const storages = [...new Set([...places.values()].map((p) => p.storage))].sort();
  const full = new Set<string>();
  const partial = new Set<string>();
  for (const s of storages) {
    if (await run.holds(`/storage/${s}`, "Datastore.Allocate")) full.add(s);
    else if (await run.holds(`/storage/${s}`, "Datastore.AllocateSpace")) partial.add(s);
  }
  const hidden = new Set<number>();
  for (const g of guests) {
    if (!storagesVisible) {
      hidden.add(g.vmid);
      continue;
    }
    const mayBackUp = partial.size > 0 && (await run.holds(`/vms/${g.vmid}`, "VM.Backup"));
    if (storages.some((s) => !full.has(s) && !(partial.has(s) && mayBackUp))) hidden.add(g.vmid);
  }
  if (hidden.size > 0) {
    inventory.notVisible.push({
      about: "backups",
      what:
        hidden.size === guests.length
          ? "the last backup of every guest (PVE hides backup volumes from this token)"
          : `the last backup of ${hidden.size} guest(s)`,
      needs: BACKUP_NEEDS,
    });
  }

  const latest = new Map<number, { time: number; storage: string }>();
  const failed: string[] = [];
  await Promise.all(
    [...places.values()]
      .filter((p) => full.has(p.storage) || partial.has(p.storage))
      .map(async (p) => {
        const where = `${clean(p.storage, LIMITS.name)} on ${clean(p.node, LIMITS.name)}`;
        let volumes: { vmid?: number | string; ctime?: number; content?: string }[];
        try {
          volumes = await run.get("/nodes/{node}/storage/{storage}/content", p, { content: "backup" });
        } catch (err) {
          failed.push(`backups on ${where} not read: ${clean(errorMessage(err), LIMITS.pveMessage)}`);
          return;
        }
        for (const v of volumes) {
          const vmid = Number(v.vmid);
          if (v.content !== "backup" || !Number.isInteger(vmid) || typeof v.ctime !== "number") continue;
          const known = latest.get(vmid);
          if (!known || v.ctime > known.time)
            latest.set(vmid, { time: v.ctime, storage: clean(p.storage, LIMITS.name) });
        }
      }),
  );
  inventory.notes.push(...failed.sort().map((what) => ({ about: "backups" as const, what })));
  if (unread.length > 0) {
    inventory.notes.push({
      about: "backups",
      what: `backups not read (node offline or storage inactive): ${unread.sort().join(", ")}`,
    });
  }
  return { latest, hidden };
}
