/**
 * Backup jobs (jobs.cfg) and PVE's coverage report. Like pve-manager's
 * BackupInfo, the report counts every job, enabled or not.
 */
import type { Cluster, GuestState } from "../cluster.js";
import type { Scenario } from "../scenario.js";
import { nextRun } from "../calendar.js";
import { route, type Route } from "./route.js";

type BackupJob = Scenario["backupJobs"][number];

/** PVE::VZDump::get_included_guests: all (minus exclude, optionally per node), a vmid list, or a pool. */
function includedGuests(cluster: Cluster, job: BackupJob): Set<number> {
  const guests = [...cluster.guests.values()].filter((g) => !job.node || g.node === job.node);
  const list = (s?: string) =>
    new Set(
      (s ?? "")
        .split(/[,;\s]+/)
        .filter(Boolean)
        .map(Number),
    );
  if (job.all) {
    const excluded = list(job.exclude);
    return new Set(guests.filter((g) => !excluded.has(g.vmid)).map((g) => g.vmid));
  }
  if (job.pool) return new Set(guests.filter((g) => g.pool === job.pool).map((g) => g.vmid));
  return list(job.vmid);
}

function jobEntry(cluster: Cluster, job: BackupJob): Record<string, unknown> {
  const { "next-run": configured, ...rest } = job;
  const entry: Record<string, unknown> = { ...rest, type: "vzdump" };
  const next = configured !== undefined ? cluster.time(configured) : nextRun(job.schedule, cluster.now());
  if (next !== undefined) entry["next-run"] = next;
  return entry;
}

export const backupRoutes: Route[] = [
  route("GET /cluster/backup", ({ cluster }) =>
    cluster.scenario.backupJobs.map((job) => jobEntry(cluster, job)),
  ),

  route("GET /cluster/backup-info", () => [{ subdir: "not-backed-up" }]),

  route("GET /cluster/backup-info/not-backed-up", ({ cluster }) => {
    const covered = new Set(cluster.scenario.backupJobs.flatMap((job) => [...includedGuests(cluster, job)]));
    return [...cluster.guests.values()]
      .filter((g: GuestState) => !covered.has(g.vmid))
      .sort((a, b) => a.vmid - b.vmid)
      .map((g) => ({ vmid: g.vmid, name: g.name, type: g.type }));
  }),
];
