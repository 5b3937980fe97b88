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

function taskUser(t: Task): { user: string; tokenid?: string } {
  if (!isTokenId(t.authid)) return { user: t.authid };
  const { userid, name } = splitTokenId(t.authid);
  return { user: userid, tokenid: name };
}

function isOwner(ctx: RouteContext, t: Task): boolean {
  if (t.authid === ctx.authid) return true;
  return !ctx.isToken && taskUser(t).user === ctx.authid;
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
    ...taskUser(t),
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

function findTask(ctx: RouteContext): Task {
  const upid = param.str(ctx, "upid");
  const parsed = parseUpid(upid);
  if (!parsed) throw parameterError({ upid: "unable to parse worker upid" });
  const task = ctx.cluster.tasks.find((t) => t.upid === upid);
  if (!task || parsed.node !== param.str(ctx, "node")) throw parameterError({ upid: "no such task" });
  const node = param.str(ctx, "node");
  if (!isOwner(ctx, task) && !ctx.cluster.engine.has(ctx.authid, `/nodes/${node}`, "Sys.Audit")) {
    throw permissionDenied(`/nodes/${node}, Sys.Audit`);
  }
  return task;
}

function logLines(t: Task): string[] {
  if (t.log.length > 0 || !finished(t)) return t.log;
  return [t.exitstatus === "OK" ? "TASK OK" : `TASK ERROR: ${t.exitstatus}`];
}

export const taskRoutes: Route[] = [
  route("GET /cluster/tasks", (ctx) => {
    const all = ctx.cluster.engine.has(ctx.authid, "/", "Sys.Audit");
    return ctx.cluster.tasks
      .filter((t) => all || taskUser(t).user === ctx.authid)
      .map((t) => ({ ...listEntry(t), saved: finished(t) ? "1" : "0" }));
  }),

  route("GET /nodes/{node}/tasks", (ctx) => {
    const node = param.str(ctx, "node");
    const audit = ctx.cluster.engine.has(ctx.authid, `/nodes/${node}`, "Sys.Audit");
    const source = param.optStr(ctx, "source") ?? "archive";
    const typefilter = param.optStr(ctx, "typefilter");
    const userfilter = param.optStr(ctx, "userfilter");
    const vmid = param.optInt(ctx, "vmid");
    const since = param.optInt(ctx, "since");
    const until = param.optInt(ctx, "until");
    const statusfilter = param.optStr(ctx, "statusfilter")?.split(",");
    const errorsOnly = param.flag(ctx, "errors");
    const matches = ctx.cluster.tasks.filter((t) => {
      if (t.node !== node) return false;
      if (source === "archive" && !finished(t)) return false;
      if (source === "active" && finished(t)) return false;
      if (!audit && !isOwner(ctx, t)) return false;
      if (typefilter && t.type !== typefilter) return false;
      if (userfilter && !t.authid.includes(userfilter)) return false;
      if (vmid !== undefined && t.id !== String(vmid)) return false;
      if (since !== undefined && t.starttime < since) return false;
      if (until !== undefined && t.starttime > until) return false;
      if (errorsOnly && t.exitstatus === "OK") return false;
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
    const t = findTask(ctx);
    const { endtime: _e, status: _s, ...entry } = listEntry(t);
    return finished(t)
      ? { ...entry, status: "stopped", exitstatus: t.exitstatus }
      : { ...entry, status: "running" };
  }),

  route("GET /nodes/{node}/tasks/{upid}/log", (ctx) => {
    const lines = logLines(findTask(ctx));
    const start = param.optInt(ctx, "start") ?? 0;
    const limit = param.optInt(ctx, "limit") ?? 50;
    ctx.setTotal(lines.length);
    return lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
  }),
];
