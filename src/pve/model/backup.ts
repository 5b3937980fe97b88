/** Backup jobs as GET /cluster/backup lists them: the vzdump sections of jobs.cfg. */
import { cleanText, LIMITS } from "../../untrusted.js";
import type { ClusterResource } from "./resources.js";
import { isOn, isOnByDefault, listOf } from "./values.js";
import { readOrGap, type ModelReader } from "./visibility.js";

/** One job (older PVE: starttime + dow instead of schedule). */
export interface PveBackupJob {
  id: string;
  enabled?: number | string;
  schedule?: string;
  starttime?: string;
  dow?: string;
  "next-run"?: number;
  storage?: string;
  node?: string;
  all?: number | string;
  vmid?: string;
  pool?: string;
  exclude?: string;
  mode?: string;
  /** A property string; newer PVE lists it as an object. */
  "prune-backups"?: string | Record<string, string | number>;
  /** PVE 8 and older: keep-last=N (0 keeps all); PVE 9 dropped it. */
  maxfiles?: number | string;
  mailto?: string;
  "notification-mode"?: string;
  comment?: string;
  "notes-template"?: string;
}

/** jobs.cfg's `enabled` defaults to 1. */
export function jobEnabled(job: Pick<PveBackupJob, "enabled">): boolean {
  return isOnByDefault(job.enabled);
}

/** The backup jobs (GET /cluster/backup, Sys.Audit on /), or undefined with a gap when refused. */
export function backupJobs(reader: ModelReader): Promise<PveBackupJob[] | undefined> {
  return readOrGap<PveBackupJob[]>(reader, "/cluster/backup", {}, "backup jobs", "Sys.Audit on /");
}

/** The guests a job names, in the shape jobs.cfg gives them. */
export interface JobSelection {
  kind: "all" | "vmids" | "pool";
  vmids: number[];
  pool?: string;
  /** Only an "all" job excludes (PVE: "assumes --all"). */
  exclude: number[];
  node?: string;
}

/**
 * PVE::VZDump::get_included_guests, in its order: a pool's members, else a vmid list,
 * else all minus exclude (exclude counts for nothing else); a job's node limits any of them.
 */
export function jobSelection(
  job: Pick<PveBackupJob, "pool" | "vmid" | "all" | "exclude" | "node">,
): JobSelection {
  const node = job.node ? { node: job.node } : {};
  if (job.pool) return { kind: "pool", vmids: [], pool: job.pool, exclude: [], ...node };
  const vmids = vmidList(job.vmid);
  if (vmids.length > 0) return { kind: "vmids", vmids, exclude: [], ...node };
  if (isOn(job.all)) return { kind: "all", vmids: [], exclude: vmidList(job.exclude), ...node };
  return { kind: "vmids", vmids: [], exclude: [], ...node };
}

/** Whether the job backs up this guest (as /cluster/resources lists it). */
function selects(selection: JobSelection, guest: Pick<ClusterResource, "vmid" | "node" | "pool">): boolean {
  if (guest.vmid === undefined || (selection.node && guest.node !== selection.node)) return false;
  if (selection.kind === "pool") return guest.pool === selection.pool;
  if (selection.kind === "vmids") return selection.vmids.includes(guest.vmid);
  return !selection.exclude.includes(guest.vmid);
}

/**
 * The vmids a job backs up, of `guests` (those this token sees). A vmid list without a
 * node keeps the ids it cannot see: PVE backs them up all the same. /cluster/resources
 * drops a guest's pool without Pool.Audit on the pool, which becomes a gap.
 */
export async function includedGuests(
  reader: ModelReader,
  job: PveBackupJob,
  guests: readonly Pick<ClusterResource, "vmid" | "node" | "pool">[],
): Promise<number[]> {
  const selection = jobSelection(job);
  if (selection.kind === "pool" && !(await reader.holds(`/pool/${selection.pool}`, "Pool.Audit"))) {
    const pool = cleanText(selection.pool ?? "", 40);
    reader.gap(
      `members of pool ${pool} (backup job ${cleanText(job.id, LIMITS.name)})`,
      `Pool.Audit on /pool/${pool}`,
    );
  }
  if (selection.kind === "vmids" && !selection.node) return selection.vmids;
  return guests.filter((g) => selects(selection, g)).map((g) => g.vmid as number);
}

/** Which jobs back up each guest (by vmid): enabled and disabled jobs apart, and the "all" jobs that exclude it. */
export interface JobCoverage {
  enabled: Map<number, string[]>;
  disabled: Map<number, string[]>;
  excludedBy: Map<number, string[]>;
}

/** The coverage `jobs` give `guests` (job ids cleaned for display); gaps as includedGuests states them. */
export async function jobCoverage(
  reader: ModelReader,
  jobs: readonly PveBackupJob[],
  guests: readonly Pick<ClusterResource, "vmid" | "node" | "pool">[],
): Promise<JobCoverage> {
  const coverage: JobCoverage = { enabled: new Map(), disabled: new Map(), excludedBy: new Map() };
  const add = (map: Map<number, string[]>, vmid: number, id: string) =>
    map.set(vmid, [...(map.get(vmid) ?? []), id]);
  for (const job of jobs) {
    const id = cleanText(job.id, LIMITS.name);
    const enabled = jobEnabled(job);
    for (const vmid of new Set(await includedGuests(reader, job, guests))) {
      add(enabled ? coverage.enabled : coverage.disabled, vmid, id);
    }
    if (enabled) for (const vmid of jobSelection(job).exclude) add(coverage.excludedBy, vmid, id);
  }
  return coverage;
}

/** pve-vmid-list: ids separated by commas, semicolons or spaces (anything else is dropped). */
function vmidList(text: string | undefined): number[] {
  return listOf(text)
    .filter((v) => /^\d+$/.test(v))
    .map(Number);
}
