/**
 * PBS tasks (GET /nodes/{node}/tasks, paged with `total`) and task logs. PBS serves tasks
 * of its own node under any node name; "localhost" is what it answers with. Without
 * Sys.Audit on /system/tasks a token sees only its own tasks and those of jobs it holds
 * privileges for: a gap.
 */
import type { ModelReader, Query } from "../../pve/model/visibility.js";
import { PBS_NEEDS, pbsHolds, pbsPermissions } from "./permissions.js";
import type { PbsTask, PbsTaskLogLine, PbsTaskStatus } from "./types.js";

export const PBS_NODE = "localhost";

/** A reader that can read PBS's paged totals (a RunReader over a PbsReader is one). */
export interface PagedReader extends ModelReader {
  getWithTotal<T>(
    template: string,
    params?: Record<string, string | number>,
    query?: Query,
  ): Promise<{ data: T; total?: number }>;
}

export interface TaskQuery {
  start?: number;
  /** PBS's default is 50; 0 = all. */
  limit?: number;
  errors?: boolean;
  running?: boolean;
  typefilter?: string;
  statusfilter?: "ok" | "warning" | "error" | "unknown";
  store?: string;
  since?: number;
  until?: number;
  userfilter?: string;
}

/**
 * One page of tasks, newest first as PBS gives them (running ones first), with PBS's total
 * (PBS reports shown + start + 1 while the page is full: "at least").
 */
export async function pbsTasks(
  reader: PagedReader,
  query: TaskQuery = {},
): Promise<{ tasks: PbsTask[]; total: number }> {
  const [answer, perms] = await Promise.all([
    reader.getWithTotal<PbsTask[]>("/nodes/{node}/tasks", { node: PBS_NODE }, { ...query }),
    pbsPermissions(reader),
  ]);
  if (!pbsHolds(perms, "/system/tasks", "Sys.Audit")) {
    reader.gap("tasks of other users (PBS lists only this token's own and its jobs')", PBS_NEEDS.tasks);
  }
  const start = query.start ?? 0;
  return { tasks: answer.data, total: Math.max(answer.total ?? 0, start + answer.data.length) };
}

export type PbsTaskState = "ok" | "warning" | "error" | "running" | "unknown";

/** A listed task's state: no status yet = running; "OK"; "WARNINGS: n"; "unknown"; else its error. */
export function taskState(task: Pick<PbsTask, "status" | "endtime">): PbsTaskState {
  const status = task.status;
  if (status === undefined || status === "RUNNING") return task.endtime === undefined ? "running" : "unknown";
  if (status === "OK") return "ok";
  if (status.startsWith("WARNINGS")) return "warning";
  if (status === "unknown") return "unknown";
  return "error";
}

/** One task's status (GET …/tasks/{upid}/status). */
export function pbsTaskStatus(reader: ModelReader, upid: string): Promise<PbsTaskStatus> {
  return reader.get<PbsTaskStatus>("/nodes/{node}/tasks/{upid}/status", { node: PBS_NODE, upid });
}

/** Lines of a task's log (GET …/tasks/{upid}/log) with PBS's total line count. */
export async function pbsTaskLog(
  reader: PagedReader,
  upid: string,
  start = 0,
  limit = 50,
): Promise<{ lines: PbsTaskLogLine[]; total: number }> {
  const answer = await reader.getWithTotal<PbsTaskLogLine[]>(
    "/nodes/{node}/tasks/{upid}/log",
    { node: PBS_NODE, upid },
    { start, limit },
  );
  return { lines: answer.data, total: Math.max(answer.total ?? 0, start + answer.data.length) };
}

/** The fields of a PBS UPID: UPID:node:pid:pstart:task_id:starttime:type:id:authid: (id escaped). */
export function parsePbsUpid(
  upid: string,
): { node: string; starttime: number; type: string; id: string; authid: string } | undefined {
  const f = upid.split(":");
  if (f.length < 10 || f[0] !== "UPID") return undefined;
  return {
    node: f[1] ?? "",
    starttime: parseInt(f[5] ?? "", 16),
    type: f[6] ?? "",
    id: unescapeWorkerId(f[7] ?? ""),
    authid: f[8] ?? "",
  };
}

/** proxmox-sys's systemd unit escaping of worker ids: "\x2d" -> "-", "-" -> "/". */
function unescapeWorkerId(id: string): string {
  return id
    .replace(/-/g, "/")
    .replace(/\\x([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
