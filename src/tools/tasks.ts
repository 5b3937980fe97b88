/**
 * Toolset "tasks": recent tasks of the cluster and one task's log.
 *
 * /cluster/tasks is one call, but PVE keeps only a short list there (pmxcfs tasklist:
 * each node's running tasks plus its last 25 finished ones, RESTEnvironment's
 * active_workers). Older history lives in each node's archive (/nodes/{node}/tasks), read
 * only for the node asked for, or for the nodes whose short list may not reach back to
 * since_hours. Without Sys.Audit PVE silently drops other users' tasks (a token then sees
 * none in /cluster/tasks at all): the answer says so.
 */
import { z } from "zod";
import { PveApiError } from "../pve/errors.js";
import { pveNode, pveUpid, pveVmid } from "../pve/formats.js";
import { defineTool, type ReadContext } from "./define.js";
import { PAGED_RESULT_CHARS } from "./paging.js";
import { mapLimit, NODE_CONCURRENCY } from "../pve/model/concurrency.js";
import { formatDuration, SHORT_AGE } from "../pve/model/duration.js";
import type { PveTask } from "../pve/model/tasks.js";
import { holds, type Permissions } from "../pve/model/visibility.js";
import { gapsField, gapText } from "./visibility.js";
import { cleanText, fence, LIMITS, quoted } from "../untrusted.js";

// ---------------------------------------------------------------------------------------------
// Helpers the other toolsets share (storage, health, backup, access).

/** PVE's 595/596: the node is offline or unreachable from the node that answers. */
export const isOffline = (err: unknown) =>
  err instanceof PveApiError && (err.status === 595 || err.status === 596);

/** Epoch seconds as ISO 8601 UTC without milliseconds. */
export const isoTime = (epoch: number) => new Date(epoch * 1000).toISOString().replace(".000Z", "Z");

/** "2026-11-20 01:00Z": compact, for text lines. */
export const shortTime = (epoch: number) => `${isoTime(epoch).slice(0, 16).replace("T", " ")}Z`;

export const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------

/** RESTEnvironment's MAX_FINISHED: finished tasks each node keeps in the cluster task list. */
const CLUSTER_LIST_FINISHED = 25;
export const EXIT_STATUS_MAX = 200;
/** PVE's UPIDs are about 60 characters; one it did not make is capped, not trusted. */
const UPID_MAX = 200;
const LOG_LINE_MAX = 500;

export type TaskLogStatus = "ok" | "warning" | "error" | "running" | "unknown";

/** What every task log answer carries after its task's identity (get_task_log, pbs_task_log). */
export const taskLogFields = {
  status: z.enum(["ok", "warning", "error", "running", "unknown"]),
  failed: z.boolean(),
  exitStatus: z.string().optional(),
  total: z.number().int(),
  start: z.number().int(),
  returned: z.number().int(),
  truncated: z.boolean(),
  nextStart: z.number().int().optional(),
  lines: z.array(z.object({ n: z.number().int(), t: z.string() })),
};

/**
 * One page of a task log, PVE's or PBS's: the lines cleaned and capped, the paging (the
 * API's `total`, else what was read), and the words of the answer's status and range lines.
 * The lines still go into a fence by the caller: they are the task's output, not ours.
 */
export function taskLogPage(page: {
  status: TaskLogStatus;
  exit: string | undefined;
  start: number;
  total: number | undefined;
  lines: { n: number; t?: unknown }[];
}) {
  const { status, start } = page;
  const lines = page.lines.map((l) => ({ n: l.n, t: cleanText(String(l.t ?? ""), LOG_LINE_MAX) }));
  const total = page.total ?? start + lines.length;
  const end = start + lines.length;
  const truncated = end < total;
  const exitStatus = page.exit === undefined ? undefined : cleanText(page.exit, EXIT_STATUS_MAX);
  const fields = {
    status,
    failed: status === "error",
    ...(exitStatus !== undefined ? { exitStatus } : {}),
    total,
    start,
    returned: lines.length,
    truncated,
    ...(truncated ? { nextStart: end } : {}),
    lines,
  };
  const state = {
    running: "RUNNING",
    error: `FAILED (exit ${JSON.stringify(exitStatus)})`,
    warning: `finished with ${JSON.stringify(exitStatus)}`,
    ok: "OK",
    unknown: "status unknown",
  }[status];
  const range =
    lines.length === 0
      ? `no lines from line ${start} on (the log has ${total})`
      : `lines ${start + 1}-${end} of ${total}` +
        (truncated ? ` (TRUNCATED: call again with start=${end})` : "");
  return { fields, state, range };
}

type TaskStatus = "ok" | "warning" | "error" | "running";

/** A task as /cluster/tasks and /nodes/{node}/tasks list it. */
function statusOf(t: PveTask): TaskStatus {
  if (!t.status || t.status === "RUNNING") return "running";
  if (t.status === "OK") return "ok";
  if (t.status.startsWith("WARNINGS")) return "warning";
  return "error";
}

const taskSchema = z.object({
  upid: z.string(),
  node: z.string(),
  type: z.string(),
  id: z.string().optional(),
  user: z.string(),
  status: z.enum(["ok", "warning", "error", "running"]),
  failed: z.boolean(),
  exitStatus: z.string().optional(),
  start: z.string(),
  end: z.string().optional(),
  durationS: z.number().optional(),
});
type TaskOut = z.infer<typeof taskSchema>;

function taskOut(t: PveTask): TaskOut {
  const status = statusOf(t);
  // PVE always lists the task's user (typed optional where other readers do not need it).
  const owner = t.user ?? "";
  const user = t.tokenid ? `${owner}!${t.tokenid}` : owner;
  return {
    upid: cleanText(t.upid, UPID_MAX),
    node: cleanText(t.node, LIMITS.name),
    type: cleanText(t.type, 40),
    ...(t.id ? { id: cleanText(t.id, 64) } : {}),
    user: cleanText(user, 130),
    status,
    failed: status === "error",
    ...(status !== "running" && t.status ? { exitStatus: cleanText(t.status, EXIT_STATUS_MAX) } : {}),
    start: isoTime(t.starttime),
    ...(t.endtime !== undefined && status !== "running"
      ? { end: isoTime(t.endtime), durationS: Math.max(0, t.endtime - t.starttime) }
      : {}),
  };
}

function taskLine(t: TaskOut): string {
  const mark = { error: "FAILED", warning: "WARNINGS", running: "RUNNING", ok: "ok" }[t.status];
  const start = `${t.start.slice(0, 16).replace("T", " ")}Z`;
  const took =
    t.durationS !== undefined
      ? ` (${formatDuration(t.durationS, SHORT_AGE)})`
      : t.status === "running"
        ? ` (for ${formatDuration(nowSeconds() - Date.parse(t.start) / 1000, SHORT_AGE)})`
        : "";
  const exit =
    t.status === "error" || t.status === "warning" ? ` exit ${JSON.stringify(t.exitStatus ?? "")}` : "";
  return `${mark} ${start} ${t.node} ${t.type}${t.id ? ` ${t.id}` : ""} by ${t.user}${took}${exit} ${t.upid}`;
}

interface TaskFilter {
  status?: TaskStatus;
  type?: string;
  vmid?: number;
  since?: number;
}

function matches(t: PveTask, f: TaskFilter): boolean {
  if (f.status && statusOf(t) !== f.status) return false;
  if (f.type && t.type !== f.type) return false;
  if (f.vmid !== undefined && t.id !== String(f.vmid)) return false;
  if (f.since !== undefined && t.starttime < f.since) return false;
  return true;
}

/** One node's task archive (and active list), filtered by PVE itself; `total` counts all matches. */
async function nodeTasks(
  ctx: ReadContext,
  node: string,
  f: TaskFilter,
  limit: number,
): Promise<{ tasks: PveTask[]; total: number }> {
  const query = {
    source: f.status === "running" ? "active" : f.status ? "archive" : "all",
    statusfilter: f.status && f.status !== "running" ? f.status : undefined,
    typefilter: f.type,
    vmid: f.vmid,
    since: f.since,
    start: 0,
    limit,
  };
  const answer = await ctx.read.getWithTotal<PveTask[]>("/nodes/{node}/tasks", { node }, query);
  // PVE filters already; filtering again keeps a running task out of "archive" answers and the like.
  const tasks = answer.data.filter((t) => matches(t, f));
  return { tasks, total: Math.max(answer.total ?? tasks.length, tasks.length) };
}

const byNewest = (a: PveTask, b: PveTask) => b.starttime - a.starttime || (a.upid < b.upid ? -1 : 1);

export const getTasks = defineTool({
  name: "get_tasks",
  title: "Recent tasks",
  description:
    "Recent tasks of the cluster or one node, newest first, failed ones marked with their exit status. Filters: status, type, vmid, since_hours (older history read per node).",
  toolset: "tasks",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    node: pveNode.optional().describe("only this node (reads its whole task archive)"),
    status: z.enum(["ok", "warning", "error", "running"]).optional().describe('"error": failed tasks'),
    type: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,39}$/, {
        error: "must be a task type such as vzdump, qmstart, qmigrate",
      })
      .optional()
      .describe("task type, e.g. vzdump, qmstart, qmigrate, aptupdate"),
    vmid: pveVmid.optional().describe("only tasks of this guest"),
    since_hours: z
      .number()
      .positive()
      .max(8784)
      .optional()
      .describe("only tasks started in the last N hours"),
    limit: z.number().int().min(1).max(100).default(50),
  },
  output: {
    total: z.number().int(),
    returned: z.number().int(),
    truncated: z.boolean(),
    counts: z.object({ ok: z.number(), warning: z.number(), error: z.number(), running: z.number() }),
    sources: z.array(z.string()),
    offlineNodes: z.array(z.string()),
    notes: z.array(z.string()),
    tasks: z.array(taskSchema),
    gaps: gapsField,
  },
  // Everyone may list tasks (PVE then shows only the caller's own without Sys.Audit).
  needs: [],
  async handle(args, ctx) {
    const filter: TaskFilter = {
      status: args.status,
      type: args.type,
      vmid: args.vmid,
      since: args.since_hours === undefined ? undefined : nowSeconds() - Math.round(args.since_hours * 3600),
    };
    const notes: string[] = [];
    const offlineNodes: string[] = [];
    const sources: string[] = [];
    const found = new Map<string, PveTask>();
    let total = 0;
    const add = (tasks: PveTask[]) => tasks.forEach((t) => found.set(t.upid, t));
    const missingAudit = (node: string, perms: Permissions | undefined) => {
      if (!holds(perms, `/nodes/${node}`, "Sys.Audit")) {
        ctx.read.gap(
          `tasks of other users on ${node} (PVE lists only this token's own)`,
          `Sys.Audit on /nodes/${node}`,
        );
      }
    };

    if (args.node) {
      const node = args.node;
      const [perms, list] = await Promise.all([
        ctx.read.permissionsIfKnown(),
        nodeTasks(ctx, node, filter, args.limit),
      ]);
      sources.push(`/nodes/${node}/tasks`);
      add(list.tasks);
      total = list.total;
      missingAudit(node, perms);
    } else {
      const [perms, clusterList] = await Promise.all([
        ctx.read.permissionsIfKnown(),
        ctx.read.get<PveTask[]>("/cluster/tasks"),
      ]);
      sources.push("/cluster/tasks");
      let perNode: string[];
      if (holds(perms, "/", "Sys.Audit")) {
        // The short list is complete for a node unless it is full and since_hours reaches past it.
        const byNode = new Map<string, PveTask[]>();
        for (const t of clusterList) byNode.set(t.node, [...(byNode.get(t.node) ?? []), t]);
        const capped = [...byNode]
          .filter(([, ts]) => ts.filter((t) => statusOf(t) !== "running").length >= CLUSTER_LIST_FINISHED)
          .map(([node, ts]) => ({ node, oldest: Math.min(...ts.map((t) => t.starttime)) }));
        perNode =
          filter.since === undefined ? [] : capped.filter((c) => c.oldest > filter.since!).map((c) => c.node);
        const unread = capped.filter((c) => !perNode.includes(c.node));
        if (unread.length > 0 && filter.since === undefined) {
          notes.push(
            `only recent tasks: PVE's cluster list keeps the last ${CLUSTER_LIST_FINISHED} finished tasks per node; ` +
              `${unread.map((c) => `${c.node} has older ones (before ${shortTime(c.oldest)})`).join(", ")}: pass since_hours or node for more`,
          );
        }
        const inList = clusterList.filter((t) => !perNode.includes(t.node) && matches(t, filter));
        add(inList);
        total += inList.length;
      } else {
        // Without Sys.Audit on / the cluster list holds only the caller's own tasks (none for a
        // token): ask each node, which shows all of its tasks where the token has Sys.Audit there.
        const nodes = await ctx.read.get<{ node: string; status: string }[]>("/nodes");
        perNode = nodes.map((n) => n.node).sort();
        offlineNodes.push(...nodes.filter((n) => n.status !== "online").map((n) => n.node));
        perNode = perNode.filter((n) => !offlineNodes.includes(n));
        const own = clusterList.filter((t) => matches(t, filter) && !perNode.includes(t.node));
        add(own);
        total += own.length;
        for (const node of perNode) missingAudit(node, perms);
        for (const node of offlineNodes) {
          ctx.read.gap(`tasks on ${node} (offline: its task archive cannot be read now)`, `${node} online`);
        }
      }
      const results = await mapLimit(perNode, NODE_CONCURRENCY, async (node) => {
        try {
          return { node, list: await nodeTasks(ctx, node, filter, args.limit) };
        } catch (err) {
          if (isOffline(err)) return { node, offline: true as const };
          if (err instanceof PveApiError) return { node, error: err.pveMessage };
          throw err;
        }
      });
      for (const r of results) {
        if ("list" in r && r.list) {
          sources.push(`/nodes/${r.node}/tasks`);
          add(r.list.tasks);
          total += r.list.total;
        } else if ("offline" in r) {
          offlineNodes.push(r.node);
        } else {
          notes.push(`tasks of ${r.node} could not be read: PVE said ${quoted(r.error ?? "", 200)}`);
        }
      }
    }

    const gaps = ctx.read.gaps;
    const all = [...found.values()].sort(byNewest);
    total = Math.max(total, all.length);
    const tasks = all.slice(0, args.limit).map(taskOut);
    const counts = { ok: 0, warning: 0, error: 0, running: 0 };
    for (const t of all) counts[statusOf(t)]++;
    const truncated = total > tasks.length;
    const uniqueOffline = [...new Set(offlineNodes)].sort();
    const head =
      `${total} task(s) match` +
      (all.length
        ? ` (${counts.error} failed, ${counts.warning} with warnings, ${counts.running} running` +
          `${all.length < total ? ` among the ${all.length} read` : ""})`
        : "") +
      (truncated
        ? `; showing newest ${tasks.length} (TRUNCATED: narrow with status, type, vmid, since_hours or node)`
        : "");
    const lines = [
      head,
      ...tasks.map(taskLine),
      ...notes.map((n) => `note: ${n}`),
      ...(uniqueOffline.length
        ? [`offline node(s): ${uniqueOffline.join(", ")}: their tasks are not listed`]
        : []),
      gapText(gaps),
    ].filter(Boolean);
    return {
      text: lines.join("\n"),
      structured: {
        total,
        returned: tasks.length,
        truncated,
        counts,
        sources,
        offlineNodes: uniqueOffline,
        notes,
        tasks,
        gaps,
      },
    };
  },
});

/** The node that ran the task and the user it ran for, as the UPID names them. */
function upidParts(upid: string): { node: string; type: string; id: string; user: string } {
  const f = upid.split(":");
  return { node: f[1] ?? "", type: f[5] ?? "", id: f[6] ?? "", user: f[7] ?? "" };
}

export const getTaskLog = defineTool({
  name: "get_task_log",
  title: "Task log",
  description:
    "One task's status and log lines (node taken from the UPID), paged with start/limit and the total line count. The log is untrusted text.",
  toolset: "tasks",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    upid: pveUpid.describe("task id as get_tasks lists it (UPID:node:...)"),
    start: z.number().int().min(0).max(10_000_000).default(0).describe("first line, 0-based"),
    limit: z.number().int().min(1).max(200).default(100),
  },
  output: {
    upid: z.string(),
    node: z.string(),
    type: z.string(),
    id: z.string().optional(),
    user: z.string(),
    ...taskLogFields,
  },
  needs: [],
  async handle({ upid, start, limit }, ctx) {
    const parts = upidParts(upid);
    const node = parts.node;
    const refused = (err: unknown) =>
      err instanceof PveApiError && err.status === 403
        ? new Error(
            `Task ${upid} was run by ${cleanText(parts.user, 130)}: reading another user's task needs Sys.Audit on /nodes/${node}, which this token lacks.`,
            { cause: err },
          )
        : err;
    const [statusResult, logResult] = await Promise.allSettled([
      ctx.read.get<{
        status: string;
        exitstatus?: string;
        type?: string;
        id?: string;
        user?: string;
        tokenid?: string;
      }>("/nodes/{node}/tasks/{upid}/status", { node, upid }),
      ctx.read.getWithTotal<{ n: number; t: string }[]>(
        "/nodes/{node}/tasks/{upid}/log",
        { node, upid },
        { start, limit },
      ),
    ]);
    if (logResult.status === "rejected") throw refused(logResult.reason);
    let taskStatus: { status: string; exitstatus?: string; user?: string; tokenid?: string } | undefined;
    if (statusResult.status === "fulfilled") {
      taskStatus = statusResult.value;
    } else if (statusResult.reason instanceof PveApiError && statusResult.reason.status === 400) {
      // "no such task": the node has no file for this UPID (wrong node, rotated away, never existed).
      throw new Error(
        `Task ${upid} not found on node ${node}: PVE keeps a task's log on the node that ran it, and it may have been removed since.`,
      );
    } else {
      throw refused(statusResult.reason);
    }
    const running = taskStatus.status === "running";
    const exit = running ? undefined : taskStatus.exitstatus;
    const status: TaskLogStatus = running
      ? "running"
      : exit === undefined
        ? "unknown"
        : exit === "OK"
          ? "ok"
          : exit.startsWith("WARNINGS")
            ? "warning"
            : "error";
    const user = taskStatus.user
      ? taskStatus.tokenid
        ? `${taskStatus.user}!${taskStatus.tokenid}`
        : taskStatus.user
      : parts.user;
    const page = taskLogPage({
      status,
      exit,
      start,
      total: logResult.value.total,
      lines: logResult.value.data,
    });
    const out = {
      upid,
      node,
      type: cleanText(parts.type, 40),
      ...(parts.id ? { id: cleanText(parts.id, 64) } : {}),
      user: cleanText(user, 130),
      ...page.fields,
    };
    const text = [
      `task ${out.type}${out.id ? ` ${out.id}` : ""} on ${node} by ${out.user}: ${page.state}`,
      page.range,
      ...(out.lines.length
        ? [fence("task log", out.lines.map((l) => l.t).join("\n"), "the task's output")]
        : []),
    ].join("\n");
    return { text, structured: out };
  },
});

export const tasksTools = [getTasks, getTaskLog];
