/**
 * Guest power actions. Like qemu-server and pve-container, some checks fail the
 * request itself (500 before a task exists) and the rest fail inside the task
 * (200 with a UPID whose task ends in an error). HA-managed guests start and stop
 * through the HA stack (hastart / hastop tasks).
 */
import type { GuestState } from "../cluster.js";
import { parameterError, PveError } from "../errors.js";
import { findGuest, type GuestType } from "./guests.js";
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
    suspend: "qmsuspend",
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

const running = (g: GuestState) => g.status === "running" || g.status === "paused";

/** Checks that fail the request itself, before any task is forked. */
function precheck(g: GuestState, action: Action, ctx: RouteContext): void {
  if (param.flag(ctx, "skiplock") && ctx.authid !== "root@pam") {
    throw parameterError({ skiplock: "Only root may use this option." });
  }
  if (g.type === "lxc") {
    if (action === "start" && running(g)) throw new PveError(500, `CT ${g.vmid} already running\n`);
    if (action !== "start" && !running(g)) throw new PveError(500, `CT ${g.vmid} not running\n`);
    return;
  }
  if ((action === "reboot" || action === "resume" || action === "suspend") && !running(g)) {
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
 * What the task does when it runs; it reads the state at that moment. The guest's
 * lock is checked here, inside the task, as qemu-server and pve-container do (a VM
 * suspended to disk may start despite its "suspended" lock).
 */
function perform(g: GuestState, action: Action, now: () => number, skiplock: boolean): Outcome {
  const kind = label(g.type);
  if (g.lock && !skiplock && !(action === "start" && g.lock === "suspended")) {
    return { ok: false, error: `${kind} is locked (${g.lock})` };
  }
  switch (action) {
    case "start":
      if (g.template)
        return { ok: false, error: `you can't start a ${kind.toLowerCase()} if it's a template` };
      if (running(g)) return { ok: false, error: `${kind} ${g.vmid} already running` };
      g.status = "running";
      g.startedAt = now();
      return { ok: true };
    case "stop":
    case "shutdown":
      g.status = "stopped";
      return { ok: true };
    case "reboot":
    case "reset":
      if (!running(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      g.status = "running";
      g.startedAt = now();
      return { ok: true };
    case "suspend":
      if (!running(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      g.status = "paused";
      return { ok: true };
    case "resume":
      if (!running(g)) return { ok: false, error: `${kind} ${g.vmid} not running` };
      g.status = "running";
      return { ok: true };
  }
}

function powerAction(ctx: RouteContext, type: GuestType, action: Action): string {
  const g = findGuest(ctx, type);
  precheck(g, action, ctx);
  const skiplock = param.flag(ctx, "skiplock");
  const { cluster } = ctx;
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
        const outcome =
          action === "start" && running(g)
            ? { ok: true as const }
            : perform(g, action, () => cluster.now(), skiplock);
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
    type: TASK_TYPE[type][action],
    id: String(g.vmid),
    authid: ctx.authid,
    run: () => perform(g, action, () => cluster.now(), skiplock),
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
