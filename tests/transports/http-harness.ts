/**
 * For the Streamable HTTP tests: the transport started in-process on the real server
 * wiring (one PveReader, TokenCheck and AuditLog shared by all sessions) against a
 * simulator, raw requests through node:http (fetch drops a custom Host header), and
 * SDK clients that send the bearer token.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { FetchLike } from "@modelcontextprotocol/client";
import { type CallToolResult, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/client";
import { AuditLog } from "../../src/auditlog.js";
import { Secret } from "../../src/config/secret.js";
import type { Config, HttpConfig } from "../../src/config/types.js";
import { PveAdmin } from "../../src/pve/admin.js";
import { PveReader } from "../../src/pve/client.js";
import { recordPveRequest } from "../../src/server.js";
import type { Simulator } from "../../src/simulator/index.js";
import { ALL_TOOLS, buildInventory } from "../../src/tools/inventory.js";
import { TokenCheck } from "../../src/token-check.js";
import { startHttpServer, type HttpServerHandle, type HttpServerOptions } from "../../src/transports/http.js";
import { simConfig } from "../helpers/config.js";

/** 43 characters, like a base64 32-byte token. */
export const TOKEN = "mcp-test-token-5f1c9a0e7b3d2c4f6a8e0b1d3c5f";
export const BEARER = `Bearer ${TOKEN}`;
export const MCP_ACCEPT = "application/json, text/event-stream";

export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

export const request = (id: number, method: string, params: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params });

export function httpConfig(overrides: Partial<HttpConfig> = {}): HttpConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    token: new Secret(TOKEN),
    allowedOrigins: [],
    allowPlaintext: false,
    maxSessions: 32,
    sessionIdleS: 1800,
    rateLimit: 100_000,
    maxBodyBytes: 1024 * 1024,
    sources: {},
    ...overrides,
  };
}

export interface TestServer extends HttpServerHandle {
  auditLog: string;
  /** Closes the server (if the test did not), the PVE clients and the audit log. */
  stop(): Promise<void>;
}

export interface TestServerOptions extends Partial<Omit<HttpServerOptions, "http" | "deps">> {
  http?: Partial<HttpConfig>;
  /** Dangerous mode with the simulator's admin token. */
  dangerous?: boolean;
  config?: Partial<Config>;
}

export async function startTestServer(sim: Simulator, options: TestServerOptions = {}): Promise<TestServer> {
  const { http, dangerous = false, config: overrides, ...rest } = options;
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-http-"));
  const auditLog = join(dir, "audit.jsonl");
  const config = simConfig(sim, {
    auditLogPath: auditLog,
    ...(dangerous
      ? {
          dangerous: {
            adminTokenId: sim.tokens.admin.id,
            adminTokenSecret: new Secret(sim.tokens.admin.secret),
            confirm: "required" as const,
          },
        }
      : {}),
    ...overrides,
  });
  const pve = new PveReader({ ...config, onRequest: recordPveRequest });
  const admin = config.dangerous
    ? new PveAdmin({
        ...config,
        tokenId: config.dangerous.adminTokenId,
        tokenSecret: config.dangerous.adminTokenSecret,
        onRequest: recordPveRequest,
      })
    : undefined;
  const tools = buildInventory(ALL_TOOLS, { dangerousEnabled: dangerous, toolsets: undefined });
  const audit = new AuditLog(
    auditLog,
    [config.tokenSecret, config.dangerous?.adminTokenSecret].flatMap((secret) =>
      secret ? [secret.reveal()] : [],
    ),
  );
  const tokenCheck = new TokenCheck({ pve, admin, config, tools });
  const handle = await startHttpServer({
    http: httpConfig(http),
    deps: { config, pve, admin, tokenCheck, tools, audit, version: "test" },
    ...rest,
  });
  return {
    ...handle,
    auditLog,
    async stop() {
      await handle.close();
      await pve.close();
      await admin?.close();
      audit.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The JSON body, or the first SSE event's data; undefined if neither. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RawRequest {
  method?: string;
  /** Default: the URL's path. */
  path?: string;
  /** Set a header to undefined to leave it out; Host defaults to the URL's host. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send the body with chunked encoding (no Content-Length). */
  chunked?: boolean;
  /** CA for https URLs. */
  ca?: string;
  localAddress?: string;
}

/** The headers of an authenticated MCP POST. */
export const mcpHeaders = (more: Record<string, string | undefined> = {}) => ({
  Authorization: BEARER,
  "Content-Type": "application/json",
  Accept: MCP_ACCEPT,
  ...more,
});

export function rawRequest(url: string, req: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  const headers: Record<string, string> = { Host: target.host };
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  if (req.body !== undefined && !req.chunked) headers["Content-Length"] = String(Buffer.byteLength(req.body));
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = send(
      {
        host: target.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: target.port,
        method: req.method ?? "GET",
        path: req.path ?? target.pathname,
        headers,
        agent: false,
        setHost: false,
        ...(req.ca ? { ca: req.ca } : {}),
        ...(req.localAddress ? { localAddress: req.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parse(text) });
        });
      },
    );
    // The server may answer (413, 401) and close before the whole body is written.
    r.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

function parse(text: string): unknown {
  const data = /^data: (.*)$/m.exec(text)?.[1];
  for (const candidate of [text, data]) {
    if (candidate === undefined) continue;
    try {
      return JSON.parse(candidate);
    } catch {
      // not JSON
    }
  }
  return undefined;
}

export interface HttpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export async function connectClient(
  url: string,
  options: {
    token?: string;
    onElicit?: (params: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
    fetch?: FetchLike;
  } = {},
): Promise<HttpClient> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${options.token ?? TOKEN}` } },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { onElicit } = options;
  const client = new Client(
    { name: "http-test", version: "1" },
    onElicit ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  if (onElicit) client.setRequestHandler("elicitation/create", (r) => onElicit(r.params));
  await client.connect(transport);
  return {
    client,
    transport,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}
