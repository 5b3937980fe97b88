/**
 * Guest power actions. Like qemu-server and pve-container, some checks fail the
 * request itself (500 before a task exists) and the rest fail inside the task
 * (200 with a UPID whose task ends in an error). HA-managed guests start and stop
 * through the HA stack (hastart / hastop tasks).
 */
import { isRunning, type GuestState } from "../cluster.js";
import { parameterError, PveError } from "../errors.js";
import { localGuest, missingConfigError, type GuestType } from "./guests.js";
import { param, route, type RouteContext, type Route } from "./route.js";

type Action = "start" | "stop" | "shutdown" | "reboot" | "reset" | "suspend" | "resume";
type Outcome = { ok: true; log?: string[] } | { ok: false; error: string };

const TASK_TYPE: Record<GuestType, Record<Action, string>> = {
  qemu: {
    start: "qmstart",
    stop: "qmstop",
    shutdown: "qmshutdown",
    reboot: "qmreboot",
    reset: "qmreset",
    // Suspending to disk is "qmsuspend" (see powerAction).
    suspend: "qmpause",
    resume: "qmresume",
  },
  lxc: {
    start: "vzstart",
    stop: "vzstop",
    shutdown: "vzshutdown",
    reboot: "vzreboot",
    reset: "vzreset",
    suspend: "vzsuspend",
    resume: "vzresume",
  },
};

/** Handlers that fork their task before loading the config: a missing guest fails inside the task. */
const CONFIG_LOADED_IN_TASK: Record<GuestType, Action[]> = {
  qemu: ["start", "stop", "shutdown"],
  lxc: ["start"],
};

/** Checks that fail the request itself, before any task is forked (skiplock is checked before these). */
function precheck(g: GuestState, action: Action, ctx: RouteContext): void {
  if (g.type === "lxc") {
    if (action === "start" && isRunning(g)) throw new PveError(500, `CT ${g.vmid} already running\n`);
    if (action !== "start" && !isRunning(g)) throw new PveError(500, `CT ${g.vmid} not running\n`);
    return;
  }
  const suspendedToDisk = action === "resume" && g.lock === "suspended";
  if (["reboot", "reset", "resume", "suspend"].includes(action) && !isRunning(g) && !suspendedToDisk) {
    throw new PveError(500, `VM ${g.vmid} not running\n`);
  }
  if (
    (action === "shutdown" || action === "reboot") &&
    g.status === "paused" &&
    !param.flag(ctx, "forceStop")
  ) {
    throw new PveError(500, "VM is paused - cannot shutdown\n");
  }
}

/**
 * A guest whose config file is not on the node: handlers that load the config in
 * their task fork it anyway; the others die in check_running, which for qemu-server
 * asserts that the config file exists and for pve-container only asks whether the CT runs.
 */
function missingGuest(ctx: RouteContext, type: GuestType, action: Action): string {
  const node = param.str(ctx, "node");
  const vmid = param.int(ctx, "vmid");
  if (!CONFIG_LOADED_IN_TASK[type].includes(action)) {
    throw new PveError(
      500,
      type === "qemu"
        ? `unable to find configuration file for VM ${vmid} on node '${node}'\n`
        : `CT ${vmid} not running\n`,
    );
  }
  const error = missingConfigError(ctx, type);
  return ctx.cluster.startTask({
    node,
    type: TASK_TYPE[type][action],
    id: String(vmid),
    authid: ctx.authid,
    run: () => ({ ok: false, error }),
  }).upid;
}

interface PerformOptions {
  now: () => number;
  skiplock: boolean;
  todisk: boolean;
}

/**
 * What the task does when it runs; it reads the state at that moment. The guest's
 * lock is checked here, inside the task, as qemu-server and pve-container do. A VM
 * suspended to disk (lock "suspended") starts, or resumes, from its saved state.
 */
function perform(g: GuestState, action: Action, opts: PerformOptions): Outcome {
  const kind = label(g.type);
  const fromDisk = (action === "start" || action === "resume") && g.lock === "suspended";
  if (g.lock && !opts.skiplock && !fromDisk) {
    return { ok: false, error: `${kind} is locked (${g.lock})` };
  }
  switch (fromDisk ? "start" : action) {
    case "start":
      if (g.template)
        return { ok: false, error: `you can't start a ${kind.toLowerCase()} if it's a template` };
      if (isRunning(g)) return { ok: false, error: `${kind} ${g.vmid} already running` };
      if (g.lock === "suspended") delete g.lock;
      g.status = "running";
      g.startedAt = opts.now();
      return { ok: true };
    case "stop":
    case "shutdown":
      g.status = "stopped";
      return { ok: true };
    case "reboot":
    case "reset":
      if (!isRunning(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      g.status = "running";
      g.startedAt = opts.now();
      return { ok: true };
    case "suspend":
      if (!isRunning(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      if (opts.todisk) {
        g.status = "stopped";
        g.lock = "suspended";
      } else {
        g.status = "paused";
      }
      return { ok: true };
    case "resume":
      if (!isRunning(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      g.status = "running";
      return { ok: true };
  }
}

function powerAction(ctx: RouteContext, type: GuestType, action: Action): string {
  const skiplock = param.flag(ctx, "skiplock");
  if (skiplock && ctx.authid !== "root@pam") {
    throw parameterError({ skiplock: "Only root may use this option." });
  }
  const g = localGuest(ctx, type);
  if (!g) return missingGuest(ctx, type, action);
  precheck(g, action, ctx);
  const { cluster } = ctx;
  const todisk = param.flag(ctx, "todisk");
  const opts: PerformOptions = { now: () => cluster.now(), skiplock, todisk };
  if (g.ha && (action === "start" || action === "stop" || action === "shutdown")) {
    const ha = g.ha;
    const sid = `${type === "qemu" ? "vm" : "ct"}:${g.vmid}`;
    const target = action === "start" ? "started" : "stopped";
    return cluster.startTask({
      node: g.node,
      type: action === "start" ? "hastart" : "hastop",
      id: String(g.vmid),
      authid: ctx.authid,
      run: () => {
        ha.state = target;
        // The task only records the requested state (ha-manager set): asking to start a
        // running service is no error.
        const outcome = action === "start" && isRunning(g) ? { ok: true as const } : perform(g, action, opts);
        return {
          ...outcome,
          log: [
            `Requesting HA ${action === "start" ? "start" : "stop"} for ${label(type)} ${g.vmid}`,
            `service '${sid}' request state changed to '${target}'`,
          ],
        };
      },
    }).upid;
  }
  return cluster.startTask({
    node: g.node,
    type: todisk ? "qmsuspend" : TASK_TYPE[type][action],
    id: String(g.vmid),
    authid: ctx.authid,
    run: () => perform(g, action, opts),
  }).upid;
}

function label(type: GuestType): string {
  return type === "qemu" ? "VM" : "CT";
}

const QEMU_ACTIONS: Action[] = ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"];
const LXC_ACTIONS: Action[] = ["start", "stop", "shutdown", "reboot", "suspend", "resume"];

export const powerRoutes: Route[] = [
  ...QEMU_ACTIONS.map((a) =>
    route(`POST /nodes/{node}/qemu/{vmid}/status/${a}`, (ctx) => powerAction(ctx, "qemu", a)),
  ),
  ...LXC_ACTIONS.map((a) =>
    route(`POST /nodes/{node}/lxc/{vmid}/status/${a}`, (ctx) => powerAction(ctx, "lxc", a)),
  ),
];
