/**
 * execute_vm_command: a program run inside a VM by the QEMU guest agent (agent/exec,
 * then agent/exec-status until it exits). An argument vector, never a shell line: a
 * shell runs only if the caller names one.
 */
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { pveNode, pveVmid } from "../../pve/formats.js";
import { defineTool } from "../define.js";
import { cleanText, exactly, fence } from "../../untrusted.js";
import { assertUnchanged, describeGuest, locateAsAdmin } from "./guests.js";

/** Per stream, in the answer; qemu-ga itself keeps up to 16 MiB. */
export const MAX_OUTPUT_CHARS = 8000;

interface ExecStatus {
  exited: number;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
  "out-truncated"?: number;
  "err-truncated"?: number;
}

/** Capped, and cleaned of terminal escapes, bidi overrides and zero-width characters (lines and tabs stay). */
function capped(text: string | undefined, agentTruncated: boolean): { text: string; truncated: boolean } {
  const value = text ?? "";
  const truncated = agentTruncated || value.length > MAX_OUTPUT_CHARS;
  return { text: cleanText(value.slice(0, MAX_OUTPUT_CHARS), MAX_OUTPUT_CHARS, true), truncated };
}

export const executeVmCommand = defineTool({
  name: "execute_vm_command",
  title: "Run a program in a VM (guest agent)",
  description:
    'Runs a program inside a running VM through the QEMU guest agent: command is the argument vector (["systemctl", "status", "nginx"]), not a shell line. Returns the exit code and capped stdout/stderr. dry_run=true shows the request without sending it.',
  toolset: "dangerous",
  tier: "dangerous",
  input: {
    vmid: pveVmid,
    node: pveNode.optional(),
    command: z
      .array(
        z
          .string()
          .max(4096)
          .refine((arg) => !arg.includes("\0"), "must not contain NUL characters"),
      )
      .min(1)
      .max(64)
      .refine((argv) => argv[0] !== "", "the program (command[0]) must not be empty")
      // pveproxy refuses request bodies over 64 KiB; refuse here, before the person is asked.
      .refine((argv) => argv.join("").length <= 32 * 1024, "must be at most 32768 characters in all"),
    input: z
      .string()
      .max(32 * 1024)
      .optional(),
    timeout_s: z.number().int().min(1).max(600).default(30),
    dry_run: z.boolean().default(false),
  },
  output: {
    vmid: z.number(),
    node: z.string(),
    command: z.array(z.string()),
    dryRun: z.boolean(),
    pid: z.number().optional(),
    exited: z.boolean().optional(),
    exitCode: z.number().nullable().optional(),
    signal: z.number().optional(),
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    stdoutTruncated: z.boolean().optional(),
    stderrTruncated: z.boolean().optional(),
  },
  // VM.Audit finds the guest's node in /cluster/resources.
  needs: [
    { path: "/vms/{vmid}", privileges: ["VM.GuestAgent.Unrestricted", "VM.Monitor"] },
    { path: "/vms/{vmid}", privileges: ["VM.Audit"] },
  ],
  async handle(args, ctx) {
    const guest = await locateAsAdmin(ctx.admin, args.vmid, args.node, ctx.signal);
    if (guest.type !== "qemu") {
      throw new Error(
        `CT ${guest.vmid} is a container: containers have no guest agent; run \`pct exec ${guest.vmid} -- ...\` on ${guest.node} with execute_command instead.`,
      );
    }
    const shown = `[${args.command.map(exactly).join(", ")}]`;
    const request = `POST /api2/json/nodes/${guest.node}/qemu/${guest.vmid}/agent/exec`;
    const base = { vmid: guest.vmid, node: guest.node, command: args.command };
    const what = `run ${shown}${args.input === undefined ? "" : ` with standard input ${exactly(args.input)}`} in ${describeGuest(guest)} through the guest agent`;
    if (args.dry_run) {
      return {
        text: `dry run: would ${what} (${request}, admin token ${ctx.dangerous.adminTokenId}); nothing was sent.`,
        structured: { ...base, dryRun: true },
      };
    }
    await ctx.confirm(`${what}, with the admin token ${ctx.dangerous.adminTokenId}`);
    await assertUnchanged(ctx.admin, guest, ctx.signal);
    const target = { node: guest.node, vmid: guest.vmid };
    const { pid } = await ctx.admin.request<{ pid: number }>(
      "POST",
      "/nodes/{node}/qemu/{vmid}/agent/exec",
      target,
      {
        body: { command: args.command, "input-data": args.input },
        signal: ctx.signal,
      },
    );
    const until = Date.now() + args.timeout_s * 1000;
    let status: ExecStatus;
    for (let pause = 100; ; pause = Math.min(pause * 2, 1000)) {
      status = await ctx.admin.request<ExecStatus>(
        "GET",
        "/nodes/{node}/qemu/{vmid}/agent/exec-status",
        target,
        {
          query: { pid },
          signal: ctx.signal,
        },
      );
      if (status.exited === 1 || Date.now() + pause > until) break;
      await delay(pause, undefined, { signal: ctx.signal });
    }
    if (status.exited !== 1) {
      ctx.recordEffect({ exitCode: null });
      // qemu-ga has no way to stop a process it started.
      throw new Error(
        `${shown} in ${describeGuest(guest)} did not exit within ${args.timeout_s} s; it keeps running in the guest as pid ${pid} (the guest agent cannot stop it).`,
      );
    }
    const exitCode = status.exitcode ?? null;
    ctx.recordEffect({ exitCode });
    const stdout = capped(status["out-data"], status["out-truncated"] === 1);
    const stderr = capped(status["err-data"], status["err-truncated"] === 1);
    const notice = (name: string, s: { truncated: boolean }) =>
      s.truncated ? `\n[${name} truncated at ${MAX_OUTPUT_CHARS} characters]` : "";
    const signalNote = status.signal === undefined ? "" : `, killed by signal ${status.signal}`;
    return {
      text:
        `${shown} in ${describeGuest(guest)}: exit code ${exitCode ?? "none"}${signalNote}\n` +
        (stdout.text ? `${fence("stdout", stdout.text)}${notice("stdout", stdout)}\n` : "stdout: (empty)\n") +
        (stderr.text ? `${fence("stderr", stderr.text)}${notice("stderr", stderr)}` : "stderr: (empty)"),
      structured: {
        ...base,
        dryRun: false,
        pid,
        exited: true,
        exitCode,
        ...(status.signal === undefined ? {} : { signal: status.signal }),
        stdout: stdout.text,
        stderr: stderr.text,
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
      },
    };
  },
});
