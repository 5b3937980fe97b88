/** Backup jobs as GET /cluster/backup lists them: the vzdump sections of jobs.cfg. */
import { isOnByDefault } from "./values.js";

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
  "prune-backups"?: string | Record<string, string | number>;
  maxfiles?: number;
  comment?: string;
  "notes-template"?: string;
}

/** jobs.cfg's `enabled` defaults to 1. */
export function jobEnabled(job: Pick<PveBackupJob, "enabled">): boolean {
  return isOnByDefault(job.enabled);
}
