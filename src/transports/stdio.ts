/**
 * MCP over stdio: stdout carries only protocol messages, so nothing else in the
 * process may write to it; diagnostics go to stderr. The SDK picks the era per
 * connection (initialize: 2025-11-25, server/discover: 2026-07-28) and asks the
 * factory for a server of that era.
 */
import { serveStdio as serveOverStdio } from "@modelcontextprotocol/server/stdio";
import type { ServerFactory } from "../server.js";

/** Serves until the client closes stdin; resolves then. */
export async function serveStdio(factory: ServerFactory): Promise<void> {
  const closed = new Promise<void>((resolve) => process.stdin.once("end", () => resolve()));
  const handle = serveOverStdio(factory, {
    onerror: (err) => process.stderr.write(`proxmox-mcp: stdio: ${err.message}\n`),
  });
  await closed;
  await handle.close();
}
