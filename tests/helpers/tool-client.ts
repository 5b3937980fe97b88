/**
 * Read tools in-process, through the real server wrapper and an SDK client: the
 * start-up token check, redaction, caps and the client's outputSchema validation all
 * apply (the client checks structuredContent against each tool's outputSchema once it
 * has listed the tools). Talks to a simulator as `token` (default: its auditor).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { AuditLog } from "../../src/auditlog.js";
import { Secret } from "../../src/config/secret.js";
import { PveReader } from "../../src/pve/client.js";
import { createMcpServer, recordPveRequest } from "../../src/server.js";
import type { Simulator } from "../../src/simulator/index.js";
import type { AnyTool } from "../../src/tools/define.js";
import { TokenCheck } from "../../src/token-check.js";
import { simConfig } from "./config.js";

/** A tool's answer; structuredContent as JSON (the SDK types it as an empty object). */
export type ToolAnswer = CallToolResult & {
  structuredContent?: Record<string, unknown>;
  text: string;
};

export interface ToolClient {
  client: Client;
  /** Calls a tool; `text` joins its text blocks. */
  call(name: string, args?: Record<string, unknown>): Promise<ToolAnswer>;
  close(): Promise<void>;
}

export async function toolClient(
  sim: Simulator,
  tools: readonly AnyTool[],
  token: { id: string; secret: string } = sim.tokens.auditor,
  {
    allowPrivilegedToken = false,
    auditWaiversPath,
  }: { allowPrivilegedToken?: boolean; auditWaiversPath?: string } = {},
): Promise<ToolClient> {
  const config = simConfig(sim, {
    tokenId: token.id,
    tokenSecret: new Secret(token.secret),
    allowPrivilegedToken,
    ...(auditWaiversPath ? { auditWaiversPath } : {}),
    auditLogPath: join(mkdtempSync(join(tmpdir(), "tool-client-")), "audit.jsonl"),
  });
  const pve = new PveReader({ ...config, onRequest: recordPveRequest });
  const audit = new AuditLog(config.auditLogPath);
  const tokenCheck = new TokenCheck({ pve, config, tools });
  const server = createMcpServer({ config, pve, tokenCheck, tools: [...tools], audit, version: "test" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "tool-client", version: "1" });
  await client.connect(clientSide);
  await client.listTools();
  return {
    client,
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
      return { ...result, structuredContent: result.structuredContent as Record<string, unknown>, text };
    },
    async close() {
      await client.close();
      await pve.close();
      audit.close();
    },
  };
}
