/**
 * Tasks as /cluster/tasks and /nodes/{node}/tasks list them. Without Sys.Audit PVE
 * silently lists only the caller's own tasks (for a token: none).
 */
import type { ModelReader } from "./visibility.js";

export interface PveTask {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user?: string;
  tokenid?: string;
  starttime: number;
  endtime?: number;
  /** "OK", "WARNINGS: n", the error text; "RUNNING" from a node's active list; absent while running. */
  status?: string;
}

/** "OK" or "WARNINGS: n": the task did its job. */
export function taskSucceeded(status: string | undefined): boolean {
  return status === "OK" || (status ?? "").startsWith("WARNINGS");
}

/** A finished task that failed: its status is neither OK nor "WARNINGS: n". */
export function taskFailed(t: PveTask): boolean {
  return t.status !== undefined && t.endtime !== undefined && !taskSucceeded(t.status);
}

export function taskRunning(t: PveTask): boolean {
  return t.endtime === undefined && (t.status === undefined || t.status === "RUNNING");
}

/** GET /cluster/tasks; without Sys.Audit on / PVE lists only the token's own tasks (for a token: none). */
export async function clusterTasks(reader: ModelReader): Promise<PveTask[]> {
  const tasks = await reader.get<PveTask[]>("/cluster/tasks");
  if (!(await reader.holds("/", "Sys.Audit"))) {
    reader.gap("tasks of other users (PVE lists only this token's own tasks)", "Sys.Audit on /");
  }
  return tasks;
}
