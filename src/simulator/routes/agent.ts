/**
 * The QEMU guest agent (pve-reference §5): availability checks in qemu-server's
 * order, read commands that wrap QGA's answer in {result}, and exec/exec-status
 * with qemu-ga's process table (a finished process is forgotten after one report).
 */
import { isRunning, type ExecProcess, type GuestState } from "../cluster.js";
import { PveError } from "../errors.js";
import { agentEnabled, findGuest } from "./guests.js";
import { param, route, type RouteContext, type Route } from "./route.js";

/** qemu-server's assert_agent_available: `agent` configured -> VM running -> guest-ping answered. */
function assertAgentAvailable(g: GuestState): void {
  if (g.config["agent"] === undefined) throw new PveError(500, "No QEMU guest agent configured\n");
  if (!isRunning(g)) throw new PveError(500, `VM ${g.vmid} is not running\n`);
  // A disabled agent gets no channel in QEMU and a paused guest runs nothing: the ping goes unanswered.
  if (!agentEnabled(g) || g.status === "paused" || !g.agent?.running) {
    throw new PveError(500, "QEMU guest agent is not running\n");
  }
}

/** load_config, then assert_agent_available. */
function agentGuest(ctx: RouteContext): GuestState {
  const g = findGuest(ctx, "qemu");
  assertAgentAvailable(g);
  return g;
}

const UNSUPPORTED = {
  error: { class: "Unsupported", desc: "this feature or command is not currently supported" },
};

/** Whether the scenario lists this QGA command (`guest-exec`, or the short `exec`) as rejected. */
function unsupported(g: GuestState, command: string): boolean {
  return g.agent?.unsupported.some((c) => c === command || c === `guest-${command}`) ?? false;
}

function agentCommand(command: string, answer: (g: GuestState) => unknown): Route {
  return route(`GET /nodes/{node}/qemu/{vmid}/agent/${command}`, (ctx) => {
    const g = agentGuest(ctx);
    if (unsupported(g, command)) return { result: UNSUPPORTED };
    return { result: answer(g) };
  });
}

type GuestRun = { exitcode: number; out?: string; err?: string } | { spawnError: string };

/** A tiny deterministic "guest userland" so exec answers look like real command output. */
function runInGuest(g: GuestState, argv: string[], input: string | undefined): GuestRun {
  const [program = "", ...args] = argv;
  const name = program.split("/").pop() ?? program;
  switch (name) {
    case "sh":
    case "bash":
      if (args[0] === "-c" && args[1] !== undefined) return runInGuest(g, args[1].trim().split(/\s+/), input);
      return { exitcode: 0, out: input ?? "" };
    case "true":
      return { exitcode: 0 };
    case "false":
      return { exitcode: 1 };
    case "echo":
      return { exitcode: 0, out: `${args.join(" ")}\n` };
    case "cat":
      if (args.length === 0) return { exitcode: 0, out: input ?? "" };
      if (args[0] === "/etc/hostname") return { exitcode: 0, out: `${g.name}\n` };
      if (args[0] === "/etc/os-release") {
        return {
          exitcode: 0,
          out: 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nID=debian\n',
        };
      }
      return { exitcode: 1, err: `cat: ${args[0]}: No such file or directory\n` };
    case "hostname":
      return { exitcode: 0, out: `${g.name}\n` };
    case "whoami":
      return { exitcode: 0, out: "root\n" };
    case "id":
      return { exitcode: 0, out: "uid=0(root) gid=0(root) groups=0(root)\n" };
    case "uname":
      return {
        exitcode: 0,
        out: args.includes("-a")
          ? `Linux ${g.name} 6.12.48+deb13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.12.48-1 x86_64 GNU/Linux\n`
          : "Linux\n",
      };
    case "uptime": {
      const days = Math.floor((Date.now() / 1000 - g.startedAt) / 86400);
      return {
        exitcode: 0,
        out: ` 10:15:02 up ${days} days, 23:50,  0 users,  load average: 0.08, 0.03, 0.01\n`,
      };
    }
    case "ls": {
      const target = args.find((a) => !a.startsWith("-")) ?? "/root";
      if (["/", "/root", "/etc", "/tmp", "/var", "/home"].includes(target)) {
        return { exitcode: 0, out: target === "/" ? "bin\nboot\ndev\netc\nhome\nroot\ntmp\nusr\nvar\n" : "" };
      }
      return { exitcode: 2, err: `ls: cannot access '${target}': No such file or directory\n` };
    }
    case "df":
      return {
        exitcode: 0,
        out: "Filesystem     1K-blocks    Used Available Use% Mounted on\n/dev/sda1       32845584 6512236  24637092  21% /\n",
      };
    case "sleep":
      return { exitcode: 0 };
    default:
      // GLib's g_spawn error text, passed through by qemu-ga and PVE's check_agent_error.
      return {
        spawnError: `Failed to execute child process \u201c${program}\u201d (No such file or directory)`,
      };
  }
}

/** qemu_exec checks its arguments before assert_agent_available. */
function exec(ctx: RouteContext): unknown {
  const g = findGuest(ctx, "qemu");
  const command = (ctx.params["command"] as string[] | undefined) ?? [];
  const input = param.optStr(ctx, "input-data");
  if (command.length === 0 && input === undefined) {
    throw new PveError(500, "command or input-data (or both) required\n");
  }
  assertAgentAvailable(g);
  // agent_cmd + check_agent_error: a QGA error object dies as "Agent error: <desc>".
  if (unsupported(g, "exec")) throw new PveError(500, `Agent error: ${UNSUPPORTED.error.desc}\n`);
  const result = runInGuest(g, command, input);
  if ("spawnError" in result) throw new PveError(500, `Agent error: ${result.spawnError}\n`);
  const pid = ctx.cluster.nextExecPid();
  let table = ctx.cluster.execs.get(g.vmid);
  if (!table) ctx.cluster.execs.set(g.vmid, (table = new Map()));
  const proc: ExecProcess = {
    pid,
    exitcode: result.exitcode,
    exitsAt: Date.now() + ctx.cluster.options.execDurationMs,
  };
  if (result.out) proc.out = result.out;
  if (result.err) proc.err = result.err;
  table.set(pid, proc);
  return { pid };
}

function execStatus(ctx: RouteContext): unknown {
  const g = agentGuest(ctx);
  const pid = param.int(ctx, "pid");
  if (unsupported(g, "exec-status")) throw new PveError(500, `Agent error: ${UNSUPPORTED.error.desc}\n`);
  const table = ctx.cluster.execs.get(g.vmid);
  const proc = table?.get(pid);
  if (!proc) throw new PveError(500, "Agent error: Invalid parameter 'pid'\n");
  if (Date.now() < proc.exitsAt) return { exited: 0 };
  // qemu-ga reaps the process once it has reported its exit.
  table?.delete(pid);
  const status: Record<string, unknown> = { exited: 1, exitcode: proc.exitcode };
  if (proc.out) status["out-data"] = proc.out;
  if (proc.err) status["err-data"] = proc.err;
  return status;
}

export const agentRoutes: Route[] = [
  agentCommand("network-get-interfaces", (g) => g.agent?.interfaces ?? []),
  agentCommand(
    "get-osinfo",
    (g) =>
      g.agent?.osinfo ?? {
        id: "debian",
        name: "Debian GNU/Linux",
        "pretty-name": "Debian GNU/Linux 13 (trixie)",
        version: "13 (trixie)",
        "version-id": "13",
        "kernel-release": "6.12.48+deb13-amd64",
        "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.12.48-1",
        machine: "x86_64",
      },
  ),
  route("POST /nodes/{node}/qemu/{vmid}/agent/exec", exec),
  route("GET /nodes/{node}/qemu/{vmid}/agent/exec-status", execStatus),
];
