/**
 * Verify, prune and sync jobs with their state (GET /admin/verify|prune|sync: the job's
 * configuration and its JobScheduleStatus in one object). PBS lists a job only when the
 * token may see it: verify jobs with Datastore.Audit or .Verify on the job's store or
 * namespace, prune jobs with .Audit or .Modify, sync jobs with Datastore.Audit there and
 * Remote.Audit on the remote (a local sync: Datastore.Audit on the source store).
 */
import { PveApiError } from "../../pve/errors.js";
import type { ModelReader } from "../../pve/model/visibility.js";
import { PBS_NEEDS, pbsHoldsBelow, pbsPermissions } from "./permissions.js";
import type { PbsJobScheduleStatus, PbsPruneJob, PbsSyncJob, PbsVerifyJob } from "./types.js";

export type JobKind = "verify" | "prune" | "sync";

async function datastoreGap(reader: ModelReader, kind: JobKind): Promise<void> {
  const perms = await pbsPermissions(reader);
  if (!pbsHoldsBelow(perms, "/datastore", "Datastore.Audit")) {
    reader.gap(
      `${kind} jobs of datastores this token cannot audit (PBS leaves them out)`,
      PBS_NEEDS.datastores,
    );
  }
}

/** Verify jobs with state (GET /admin/verify[?store=]). */
export async function pbsVerifyJobs(reader: ModelReader, store?: string): Promise<PbsVerifyJob[]> {
  const [jobs] = await Promise.all([
    reader.get<PbsVerifyJob[]>("/admin/verify", {}, store ? { store } : undefined),
    datastoreGap(reader, "verify"),
  ]);
  return jobs;
}

/** Prune jobs with state (GET /admin/prune[?store=]). */
export async function pbsPruneJobs(reader: ModelReader, store?: string): Promise<PbsPruneJob[]> {
  const [jobs] = await Promise.all([
    reader.get<PbsPruneJob[]>("/admin/prune", {}, store ? { store } : undefined),
    datastoreGap(reader, "prune"),
  ]);
  return jobs;
}

/**
 * Sync jobs of both directions with state (GET /admin/sync, pull and push): each job has
 * `sync-direction` set. A PBS older than push sync (3.3) refuses the parameter: then pull only.
 */
export async function pbsSyncJobs(reader: ModelReader, store?: string): Promise<PbsSyncJob[]> {
  const base = store ? { store } : {};
  const [pull, push, perms] = await Promise.all([
    reader.get<PbsSyncJob[]>("/admin/sync", {}, store ? base : undefined),
    reader
      .get<PbsSyncJob[]>("/admin/sync", {}, { ...base, "sync-direction": "push" })
      .catch((err: unknown) => {
        if (err instanceof PveApiError && err.status === 400) return [] as PbsSyncJob[];
        throw err;
      }),
    pbsPermissions(reader),
    datastoreGap(reader, "sync"),
  ]);
  if (!pbsHoldsBelow(perms, "/remote", "Remote.Audit")) {
    reader.gap(
      "sync jobs with a remote (PBS lists one only with Remote.Audit on its remote)",
      PBS_NEEDS.remotes,
    );
  }
  return [
    ...pull.map((j) => ({ ...j, "sync-direction": j["sync-direction"] ?? ("pull" as const) })),
    ...push.map((j) => ({ ...j, "sync-direction": "push" as const })),
  ];
}

export type JobRunState = "ok" | "warning" | "error" | "unknown" | "running" | "never";

/**
 * A job's last run: `ok` ("OK"), `warning` ("WARNINGS: n"), `unknown` ("unknown": PBS's
 * TaskState::Unknown, a run aborted or cut off by a PBS restart, whose outcome nobody
 * recorded; no verdict), `error` (any other text: PBS stores the error there), `running`
 * (started, not finished), `never`.
 */
export function jobRunState(job: PbsJobScheduleStatus): JobRunState {
  const state = job["last-run-state"];
  if (state === undefined) return job["last-run-upid"] ? "running" : "never";
  if (state === "OK") return "ok";
  if (state === "unknown") return "unknown";
  if (state.startsWith("WARNINGS")) return "warning";
  return "error";
}

/** Whether a job's last run failed. */
export const jobFailed = (job: PbsJobScheduleStatus) => jobRunState(job) === "error";

/** The prune options a job or datastore.cfg sets (keep-* > 0); {} means "keep everything". */
export function keepOptions(job: object): Record<string, number> {
  const source = job as Record<string, unknown>;
  const keep: Record<string, number> = {};
  for (const key of [
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
  ]) {
    const value = Number(source[key]);
    if (source[key] !== undefined && Number.isFinite(value) && value > 0) keep[key] = value;
  }
  return keep;
}

/** "keep-last=3, keep-daily=7", or "keep all" without any. */
export function keepText(keep: Record<string, number>): string {
  const parts = Object.entries(keep).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(", ") : "keep all";
}
