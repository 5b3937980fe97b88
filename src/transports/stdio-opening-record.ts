/**
 * Records the server's own answers to the opening of a stdio connection, for every era,
 * protocol version and configuration variant (stdio-opening.ts answers with them early).
 * The build writes them to dist/opening.json (scripts/record-opening.mjs); the tests record
 * them again and compare, and check that every early reply equals the server's answer.
 *
 * The answers come from the real server over the SDK's real stdio entry, given the same
 * lines a client writes: nothing here builds an answer by hand.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { AuditLog } from "../auditlog.js";
import { Secret } from "../config/secret.js";
import type { Config } from "../config/types.js";
import { adminClientOf } from "../pve/admin.js";
import { PbsReader } from "../pbs/client.js";
import { PveReader } from "../pve/client.js";
import { serverFactory, type ServerFactory } from "../server.js";
import { TokenCheck } from "../token-check.js";
import { ALL_TOOLS, buildInventory } from "../tools/inventory.js";
import {
  OPENING_FORMAT,
  OPENING_VARIANTS,
  type OpeningAnswers,
  type OpeningVariant,
  type OpeningVariantKey,
  type RecordedOpening,
} from "./stdio-opening.js";

/** The 2026-07-28 revisions the SDK serves (its list is not exported). */
export const MODERN_REVISIONS = ["2026-07-28"] as const;

type Json = Record<string, unknown>;

/** The lines a client writes, one message each, and the server's responses to its requests, in order. */
export async function exchange(factory: ServerFactory, messages: readonly unknown[]): Promise<Json[]> {
  const input = new PassThrough();
  const output = new PassThrough();
  const handle = serveStdio(factory, { transport: new StdioServerTransport(input, output) });
  const waiting = new Map<string, (message: Json) => void>();
  let buffered = "";
  output.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let newline: number;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const message = JSON.parse(buffered.slice(0, newline)) as Json;
      buffered = buffered.slice(newline + 1);
      if (!("method" in message)) waiting.get(JSON.stringify(message["id"]))?.(message);
    }
  });
  const responses: Json[] = [];
  try {
    for (const message of messages) {
      const id = (message as { id?: unknown }).id;
      const answered =
        id === undefined
          ? undefined
          : new Promise<Json>((resolve) => waiting.set(JSON.stringify(id), resolve));
      input.write(`${JSON.stringify(message)}\n`);
      if (answered) responses.push(await answered);
    }
  } finally {
    input.end();
    await handle.close();
  }
  return responses;
}

/** A configuration for a variant: no request is ever sent, so the host need not exist. */
function recordingConfig(variant: OpeningVariantKey, auditLogPath: string): Config {
  const dangerous = variant.startsWith("dangerous");
  return {
    host: "pve.invalid",
    port: 8006,
    tokenId: "audit@pve!opening",
    tokenSecret: new Secret("00000000-0000-0000-0000-000000000000"),
    tls: { mode: "system" },
    timeoutMs: 15_000,
    service: "PVE",
    logLevel: "info",
    toolsets: undefined,
    allowPrivilegedToken: false,
    auditLogPath,
    ...(dangerous
      ? {
          dangerous: {
            adminTokenId: "admin@pve!opening",
            adminTokenSecret: new Secret("11111111-1111-1111-1111-111111111111"),
            confirm: "required" as const,
            ...(variant === "dangerous+ssh"
              ? {
                  ssh: {
                    host: "pve.invalid",
                    port: 22,
                    username: "root",
                    keyFile: "/nonexistent",
                    privateKey: new Secret("not a key"),
                    hostKeySha256: "SHA256:AAAA",
                    allowlist: [],
                    allowlistSource: [],
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(variant === "read-only+pbs"
      ? {
          pbs: {
            host: "pbs.invalid",
            port: 8007,
            tokenId: "audit@pbs!opening",
            tokenSecret: new Secret("22222222-2222-2222-2222-222222222222"),
            tls: { mode: "system" as const },
            timeoutMs: 15_000,
          },
        }
      : {}),
    sources: {},
  };
}

/** A server factory of a variant, as cli.ts builds it, and what to close after. */
export function variantServer(
  variant: OpeningVariantKey,
  version: string,
  dir: string,
): { factory: ServerFactory; close: () => Promise<void> } {
  const config = recordingConfig(variant, join(dir, `${variant}.jsonl`));
  const tools = buildInventory(ALL_TOOLS, {
    dangerousEnabled: config.dangerous !== undefined,
    toolsets: undefined,
    pbsConfigured: config.pbs !== undefined,
  });
  const pve = new PveReader(config);
  const pbs = config.pbs ? new PbsReader(config.pbs) : undefined;
  const admin = adminClientOf(config);
  const audit = new AuditLog(config.auditLogPath, []);
  const tokenCheck = new TokenCheck({ pve, ...(pbs ? { pbs } : {}), admin, config, tools });
  const factory = serverFactory({
    config,
    pve,
    admin,
    tokenCheck,
    tools,
    audit,
    version,
  });
  return {
    factory,
    close: async () => {
      await pve.close();
      await pbs?.close();
      await admin?.close();
      audit.close();
    },
  };
}

const CLIENT_INFO = { name: "opening-recorder", version: "0" };

/** The 2026-07-28 envelope a request carries. */
export function envelope(revision: string): Json {
  return {
    "io.modelcontextprotocol/protocolVersion": revision,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
  };
}

async function recordVariant(factory: ServerFactory): Promise<OpeningVariant> {
  const resultOf = (response: Json): Json => {
    if (!("result" in response))
      throw new Error(`the server refused its own opening: ${JSON.stringify(response)}`);
    return response["result"] as Json;
  };
  const legacy: Record<string, OpeningAnswers> = {};
  for (const version of SUPPORTED_PROTOCOL_VERSIONS) {
    const [hello, toolsList] = await exchange(factory, [
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: version, capabilities: {}, clientInfo: CLIENT_INFO },
      },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/list" },
    ]);
    legacy[version] = { hello: resultOf(hello!), toolsList: resultOf(toolsList!) };
  }
  const modern: Record<string, OpeningAnswers> = {};
  for (const revision of MODERN_REVISIONS) {
    const params = { _meta: envelope(revision) };
    const [hello, toolsList] = await exchange(factory, [
      { jsonrpc: "2.0", id: 1, method: "server/discover", params },
      { jsonrpc: "2.0", id: 2, method: "tools/list", params },
    ]);
    modern[revision] = { hello: resultOf(hello!), toolsList: resultOf(toolsList!) };
  }
  // The tools are stored once: every version must have listed the very same.
  const tools = legacy[SUPPORTED_PROTOCOL_VERSIONS[0]!]!.toolsList["tools"] as Json[];
  for (const answers of [...Object.values(legacy), ...Object.values(modern)]) {
    const { tools: listed, ...rest } = answers.toolsList;
    if (!isDeepStrictEqual(listed, tools))
      throw new Error("tools/list differs between protocol versions: the opening file cannot store it once");
    answers.toolsList = rest;
  }
  return { tools, legacy, modern };
}

/** Every variant's opening, as this build's server answers it. */
export async function recordOpening(version: string): Promise<Record<OpeningVariantKey, RecordedOpening>> {
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-opening-"));
  try {
    const recorded = {} as Record<OpeningVariantKey, RecordedOpening>;
    for (const key of OPENING_VARIANTS) {
      const server = variantServer(key, version, dir);
      try {
        recorded[key] = { format: OPENING_FORMAT, version, variant: await recordVariant(server.factory) };
      } finally {
        await server.close();
      }
    }
    return recorded;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
