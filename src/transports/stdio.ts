/**
 * MCP over stdio: stdout carries only protocol messages, so nothing else in the
 * process may write to it; diagnostics go to stderr. The SDK picks the era per
 * connection (initialize: 2025-11-25, server/discover: 2026-07-28) and asks the
 * factory for a server of that era.
 */
import type { Readable, Writable } from "node:stream";
import { serveStdio as serveOverStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { ServerFactory } from "../server.js";

/** The streams a connection is read from and written to, when not stdin and stdout themselves. */
export interface StdioStreams {
  input: Readable;
  output: Writable;
}

/** Serves until the client closes its end of the input; resolves then. */
export async function serveStdio(factory: ServerFactory, streams?: StdioStreams): Promise<void> {
  const input = streams?.input ?? process.stdin;
  const closed = new Promise<void>((resolve) =>
    input.readableEnded ? resolve() : input.once("end", () => resolve()),
  );
  const handle = serveOverStdio(factory, {
    ...(streams ? { transport: new StdioServerTransport(streams.input, streams.output) } : {}),
    onerror: (err) => process.stderr.write(`proxmox-mcp: stdio: ${err.message}\n`),
  });
  await closed;
  await handle.close();
}
