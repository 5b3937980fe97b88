/**
 * Task lists, status and logs (pve-manager API2/Tasks.pm, Cluster.pm tasks).
 * A caller without Sys.Audit sees only its own tasks: a user its own and its
 * tokens', a token only its own (and on /cluster/tasks, a token never matches).
 */
import { parseUpid, type Task } from "../cluster.js";
import { parameterError } from "../errors.js";
import { splitTokenId, isTokenId } from "../acl.js";
import { permissionDenied } from "../checks.js";
import { param, route, type RouteContext, type Route } from "./route.js";

/** Tasks.pm's convert_token_task: a token's task names its user and the token apart. */
function taskUser(authid: string): { user: string; tokenid?: string } {
  if (!isTokenId(authid)) return { user: authid };
  const { userid, name } = splitTokenId(authid);
  return { user: userid, tokenid: name };
}

/** Tasks.pm's check_task_user: a token owns its own tasks, a user its own and its tokens'. */
function isOwner(ctx: RouteContext, taskAuthid: string): boolean {
  if (taskAuthid === ctx.authid) return true;
  return !ctx.isToken && taskUser(taskAuthid).user === ctx.authid;
}

function finished(t: Task): boolean {
  return t.exitstatus !== undefined;
}

function listEntry(t: Task): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    ...taskUser(t.authid),
  };
  if (finished(t)) {
    if (t.endtime !== undefined) entry["endtime"] = t.endtime;
    entry["status"] = t.exitstatus;
  }
  return entry;
}

/** statusfilter classes of PVE: ok, warning, error, unknown. */
function statusClass(t: Task): string {
  if (!finished(t)) return "unknown";
  if (t.exitstatus === "OK") return "ok";
  if (t.exitstatus?.startsWith("WARNINGS")) return "warning";
  return "error";
}

/** upid_decode: the task file of a well-formed UPID, which this node may not have. */
function lookupTask(ctx: RouteContext): { task: Task | undefined; authid: string } {
  const upid = param.str(ctx, "upid");
  const parsed = parseUpid(upid);
  if (!parsed) throw parameterError({ upid: "unable to parse worker upid" });
  const onThisNode = parsed.node === param.str(ctx, "node");
  return {
    task: onThisNode ? ctx.cluster.tasks.find((t) => t.upid === upid) : undefined,
    authid: parsed.authid,
  };
}

/** Someone else's task needs Sys.Audit on the node; the owner is the one the UPID names. */
function checkTaskAccess(ctx: RouteContext, taskAuthid: string): void {
  const node = param.str(ctx, "node");
  if (!isOwner(ctx, taskAuthid) && !ctx.cluster.engine.has(ctx.authid, `/nodes/${node}`, "Sys.Audit")) {
    throw permissionDenied(`/nodes/${node}, Sys.Audit`);
  }
}

function logLines(t: Task | undefined): string[] {
  // dump_logfile's answer when the task has no log file here.
  if (!t) return ["unable to open file - No such file or directory"];
  if (t.log.length > 0 || !finished(t)) return t.log;
  return [t.exitstatus === "OK" ? "TASK OK" : `TASK ERROR: ${t.exitstatus}`];
}

export const taskRoutes: Route[] = [
  route("GET /cluster/tasks", (ctx) => {
    const all = ctx.cluster.engine.has(ctx.authid, "/", "Sys.Audit");
    return ctx.cluster.tasks
      .filter((t) => all || taskUser(t.authid).user === ctx.authid)
      .map((t) => ({ ...listEntry(t), saved: finished(t) ? "1" : "0" }));
  }),

  route("GET /nodes/{node}/tasks", (ctx) => {
    const node = param.str(ctx, "node");
    const audit = ctx.cluster.engine.has(ctx.authid, `/nodes/${node}`, "Sys.Audit");
    const source = param.optStr(ctx, "source") ?? "archive";
    const typefilter = param.optStr(ctx, "typefilter");
    const userfilter = param.optStr(ctx, "userfilter")?.toLowerCase();
    const vmid = param.optInt(ctx, "vmid");
    const since = param.optInt(ctx, "since");
    const until = param.optInt(ctx, "until");
    const errorsOnly = param.flag(ctx, "errors");
    // errors=1 replaces any statusfilter: every class but "ok".
    const statusfilter = errorsOnly
      ? ["warning", "error", "unknown"]
      : param
          .optStr(ctx, "statusfilter")
          ?.toLowerCase()
          .split(/[,;\s]+/);
    const matches = ctx.cluster.tasks.filter((t) => {
      if (t.node !== node) return false;
      if (source === "archive" && !finished(t)) return false;
      if (source === "active" && finished(t)) return false;
      if (!audit && !isOwner(ctx, t.authid)) return false;
      if (typefilter && t.type !== typefilter) return false;
      if (userfilter && !taskUser(t.authid).user.toLowerCase().includes(userfilter)) return false;
      if (vmid !== undefined && t.id !== String(vmid)) return false;
      if (since !== undefined && t.starttime < since) return false;
      if (until !== undefined && t.starttime > until) return false;
      if (statusfilter && !statusfilter.includes(statusClass(t))) return false;
      return true;
    });
    const start = param.optInt(ctx, "start") ?? 0;
    const limit = param.optInt(ctx, "limit") ?? 50;
    ctx.setTotal(matches.length);
    return matches.slice(start, start + limit).map((t) => {
      const entry = listEntry(t);
      if (!finished(t)) entry["status"] = "RUNNING";
      return entry;
    });
  }),

  route("GET /nodes/{node}/tasks/{upid}/status", (ctx) => {
    const { task: t, authid } = lookupTask(ctx);
    if (!t) throw parameterError({ upid: "no such task" });
    checkTaskAccess(ctx, authid);
    const { endtime: _e, status: _s, ...entry } = listEntry(t);
    return finished(t)
      ? { ...entry, status: "stopped", exitstatus: t.exitstatus }
      : { ...entry, status: "running" };
  }),

  route("GET /nodes/{node}/tasks/{upid}/log", (ctx) => {
    const { task, authid } = lookupTask(ctx);
    checkTaskAccess(ctx, authid);
    const lines = logLines(task);
    const start = param.optInt(ctx, "start") ?? 0;
    const limit = param.optInt(ctx, "limit") ?? 50;
    ctx.setTotal(lines.length);
    return lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
  }),
];
