/**
 * execute_command: a command on the Proxmox host over SSH. Key authentication only,
 * the host key pinned (no pin, no connection), and an optional allow-list checked
 * before any connection is opened.
 */
import { z } from "zod";
import { isCommandAllowed } from "../../config/ssh-allowlist.js";
import { runSshCommand } from "../../ssh/exec.js";
import { defineTool } from "../define.js";
import { cleanText, exactly, fence } from "../../untrusted.js";

/** Per stream, in the answer. */
export const MAX_OUTPUT_BYTES = 8000;

export const executeCommand = defineTool({
  name: "execute_command",
  title: "Run a command on the Proxmox host (SSH)",
  description:
    "Runs a shell command on the Proxmox host over SSH (pinned host key, key authentication, optional allow-list). Returns the exit code and capped stdout/stderr; the timeout closes the session. dry_run=true shows what would run without connecting.",
  toolset: "dangerous",
  tier: "dangerous",
  input: {
    command: z
      .string()
      .min(1)
      .max(8192)
      .refine((command) => !command.includes("\0"), "must not contain NUL characters"),
    timeout_s: z.number().int().min(1).max(600).default(30),
    dry_run: z.boolean().default(false),
  },
  output: {
    command: z.string(),
    target: z.string(),
    dryRun: z.boolean(),
    exitCode: z.number().nullable().optional(),
    exitSignal: z.string().optional(),
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    stdoutTruncated: z.boolean().optional(),
    stderrTruncated: z.boolean().optional(),
  },
  needs: [],
  unavailableWith: (facts) =>
    facts.sshConfigured
      ? undefined
      : "SSH is not set up: set PROXMOX_SSH_KEY_FILE and PROXMOX_SSH_HOST_KEY (see README, dangerous mode)",
  async handle(args, ctx) {
    const ssh = ctx.dangerous.ssh;
    if (!ssh) throw new Error("execute_command needs PROXMOX_SSH_KEY_FILE and PROXMOX_SSH_HOST_KEY.");
    const target = `${ssh.username}@${ssh.host.includes(":") ? `[${ssh.host}]` : ssh.host}:${ssh.port}`;
    const shown = exactly(args.command);
    if (!isCommandAllowed(args.command, ssh.allowlist)) {
      throw new Error(
        `${shown} is not allowed by PROXMOX_SSH_COMMAND_ALLOWLIST (each pattern must match the whole command: ${ssh.allowlistSource.map((p) => JSON.stringify(p)).join(", ")}); nothing was run.`,
      );
    }
    const base = { command: args.command, target };
    const what = `run ${shown} on ${target} over SSH (host key ${ssh.hostKeySha256})`;
    if (args.dry_run) {
      return {
        text: `dry run: would ${what}; no connection was made.`,
        structured: { ...base, dryRun: true },
      };
    }
    await ctx.confirm(what);
    const result = await runSshCommand(
      {
        host: ssh.host,
        port: ssh.port,
        username: ssh.username,
        privateKey: ssh.privateKey,
        ...(ssh.passphrase ? { passphrase: ssh.passphrase } : {}),
        hostKeySha256: ssh.hostKeySha256,
      },
      args.command,
      { timeoutMs: args.timeout_s * 1000, maxOutputBytes: MAX_OUTPUT_BYTES, signal: ctx.signal },
    );
    ctx.recordEffect({ exitCode: result.exitCode });
    // Terminal escapes, bidi overrides and zero-width characters go; lines and tabs stay.
    const stdout = cleanText(result.stdout, MAX_OUTPUT_BYTES, true);
    const stderr = cleanText(result.stderr, MAX_OUTPUT_BYTES, true);
    const output =
      (stdout ? `${fence("stdout", stdout, "the host")}\n` : "stdout: (empty)\n") +
      (result.stdoutTruncated ? `[stdout truncated at ${MAX_OUTPUT_BYTES} bytes]\n` : "") +
      (stderr ? fence("stderr", stderr, "the host") : "stderr: (empty)") +
      (result.stderrTruncated ? `\n[stderr truncated at ${MAX_OUTPUT_BYTES} bytes]` : "");
    if (result.timedOut) {
      throw new Error(
        `${shown} on ${target} did not finish within ${args.timeout_s} s: the session was killed and closed (for root, OpenSSH refuses the kill signal, so a command that writes nothing more may still run; check with ps). Output so far:\n${output}`,
      );
    }
    const ended =
      result.exitCode !== null
        ? `exit code ${result.exitCode}`
        : `no exit code${result.exitSignal ? ` (signal ${result.exitSignal})` : ""}`;
    return {
      text: `${shown} on ${target}: ${ended}\n${output}`,
      structured: {
        ...base,
        dryRun: false,
        exitCode: result.exitCode,
        ...(result.exitSignal ? { exitSignal: result.exitSignal } : {}),
        stdout,
        stderr,
        stdoutTruncated: result.stdoutTruncated,
        stderrTruncated: result.stderrTruncated,
      },
    };
  },
});
