/** Runs a command in-process with a fake terminal: its own env, a fresh cwd, captured output. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandIo } from "../../src/commands/setup.js";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runIn(
  command: (argv: string[], io: CommandIo) => Promise<number>,
  argv: string[],
  env: Record<string, string>,
  { tty = false }: { tty?: boolean } = {},
): Promise<Ran> {
  const cwd = mkdtempSync(join(tmpdir(), "proxmox-mcp-command-"));
  let stdout = "";
  let stderr = "";
  try {
    const code = await command(argv, {
      // HOME in the fresh directory: no real configuration or audit log is touched.
      env: { HOME: cwd, ...env },
      cwd,
      stdout: { write: (text: string) => (stdout += text), isTTY: tty },
      stderr: { write: (text: string) => (stderr += text) },
    });
    return { code, stdout, stderr };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
