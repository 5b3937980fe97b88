/**
 * Both protocol eras on both transports, against the BUILT server (dist/cli.js) and a
 * real v2 client: a 2025-11-25 client (initialize, as Claude Code connects today) and one
 * pinned to 2026-07-28 (server/discover, stateless). Each lists tools, calls one, reads a
 * resource, gets a prompt, and has a dangerous call confirmed, declined, and (2026) its
 * sealed state replayed, altered or tampered with; nothing is sent to Proxmox unless the
 * person said yes to exactly that call.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  Client,
  ProtocolError,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type Transport,
} from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import {
  auditLines,
  CLI,
  killLeftovers,
  serveHttp,
  simEnv,
  stopHttpServers,
  tempDir,
  textOf,
} from "./harness.js";

const STOPPED_VM = 101; // db01 on pve1
const HTTP_TOKEN = "eras-test-token-8c1f4a2e9b7d3c5a0f6e1b2d4c";
type Era = "2025-11-25" | "2026-07-28";
type Kind = "stdio" | "http";

// A fresh cluster for every test: each one starts the same stopped VM.
let sim: Simulator;
afterAll(() => killLeftovers());

interface Cell {
  client: Client;
  auditLog: string;
  /** The elicitation answers the client gave, in order. */
  asked: string[];
  close(): Promise<void>;
}

let answer: "accept" | "decline" = "accept";

function env(dir: string): Record<string, string> {
  return {
    HOME: dir,
    PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"),
    ...simEnv(sim),
    ENABLE_DANGEROUS_COMMANDS: "true",
    PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
    PROXMOX_ADMIN_TOKEN_SECRET: sim.tokens.admin.secret,
  };
}

async function open(kind: Kind, era: Era): Promise<Cell> {
  const dir = tempDir();
  const transport: Transport =
    kind === "stdio"
      ? new StdioClientTransport({ command: process.execPath, args: [CLI], env: env(dir), cwd: dir })
      : new StreamableHTTPClientTransport(
          new URL((await serveHttp({ ...env(dir), MCP_HTTP_TOKEN: HTTP_TOKEN })).url),
          {
            requestInit: { headers: { Authorization: `Bearer ${HTTP_TOKEN}` } },
          },
        );
  const asked: string[] = [];
  const client = new Client(
    { name: "eras-e2e", version: "0.0.0" },
    {
      capabilities: { elicitation: { form: {} } },
      ...(era === "2026-07-28" ? { versionNegotiation: { mode: { pin: era } } } : {}),
    },
  );
  client.setRequestHandler("elicitation/create", (request) => {
    asked.push(request.params.message);
    return answer === "accept" ? { action: "accept", content: { confirm: true } } : { action: "decline" };
  });
  await client.connect(transport);
  return {
    client,
    auditLog: join(dir, "audit.jsonl"),
    asked,
    async close() {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const writes = () => sim.requests().filter((r) => r.method !== "GET");

/** A tools/call that hands an input_required result back instead of answering it. */
function rawCall(client: Client, params: Record<string, unknown>) {
  return client.request(
    { method: "tools/call", params: params as { name: string } },
    { allowInputRequired: true },
  ) as Promise<CallToolResult & { resultType?: string; requestState?: string }>;
}

const accepted = { confirm: { action: "accept", content: { confirm: true } } };
const START = { name: "vm_action", arguments: { vmid: STOPPED_VM, action: "start" } };
/** A write whose confirmation text does not change once done (a start's does: "now running"). */
const RESET = { name: "vm_action", arguments: { vmid: 100, action: "reset" } }; // web01, running

describe.each([
  ["stdio", "2025-11-25"],
  ["stdio", "2026-07-28"],
  ["http", "2025-11-25"],
  ["http", "2026-07-28"],
] as [Kind, Era][])("%s, protocol %s", (kind, era) => {
  let cell: Cell;
  beforeEach(async () => {
    answer = "accept";
    sim = await startSimulator({ scenario: "demo" });
    cell = await open(kind, era);
    sim.clearRequests();
  });
  afterEach(async () => {
    await cell.close();
    stopHttpServers();
    await sim.close();
  });

  it("negotiates the era and lists the tools (2026: with ttlMs and cacheScope private)", async () => {
    expect(cell.client.getNegotiatedProtocolVersion()).toBe(era);
    const listed = (await cell.client.request({ method: "tools/list" })) as {
      tools: { name: string }[];
      ttlMs?: number;
      cacheScope?: string;
    };
    expect(listed.tools.map((t) => t.name)).toContain("vm_action");
    expect(listed.tools.map((t) => t.name)).toContain("get_version");
    if (era === "2026-07-28") expect(listed).toMatchObject({ ttlMs: 60_000, cacheScope: "private" });
    else expect(listed.ttlMs).toBeUndefined();
  });

  it("calls a read tool, reads a resource and gets a prompt", async () => {
    const version = (await cell.client.callTool({ name: "get_version", arguments: {} })) as CallToolResult;
    expect(textOf(version)).toContain("Proxmox VE");
    const status = await cell.client.readResource({ uri: "pve://cluster/status" });
    expect(JSON.stringify(status.contents)).toContain("quorate");
    const prompt = await cell.client.getPrompt({ name: "troubleshoot_guest", arguments: { vmid: "100" } });
    expect(JSON.stringify(prompt.messages)).toContain("get_vm_status");
  });

  it("a dangerous call the person accepts runs once, audited with its confirmation", async () => {
    const result = (await cell.client.callTool(START)) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(cell.asked).toHaveLength(1);
    expect(cell.asked[0]).toContain(`VM ${STOPPED_VM}`);
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /nodes/pve1/qemu/${STOPPED_VM}/status/start`,
    ]);
    const lines = auditLines(cell.auditLog).filter((l) => l["tool"] === "vm_action");
    expect(lines.at(-1)).toMatchObject({ outcome: "ok", confirmation: "accepted" });
    // 2026: the question was a result of its own round, logged as such.
    if (era === "2026-07-28") expect(lines.map((l) => l["outcome"])).toContain("asked");
  });

  it("a dangerous call the person declines sends nothing", async () => {
    answer = "decline";
    const result = (await cell.client.callTool(START)) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("declined");
    expect(writes()).toEqual([]);
    const lines = auditLines(cell.auditLog).filter((l) => l["tool"] === "vm_action");
    expect(lines.at(-1)).toMatchObject({ outcome: "error", confirmation: "declined" });
  });

  if (era === "2026-07-28") {
    it("a sealed state is good once, for exactly the call it was asked for", async () => {
      const first = await rawCall(cell.client, RESET);
      expect(first.resultType).toBe("input_required");
      const state = first.requestState!;
      // Other arguments with that state: refused, nothing sent.
      const other = await rawCall(cell.client, {
        ...RESET,
        arguments: { ...RESET.arguments, vmid: 102 },
        inputResponses: accepted,
        requestState: state,
      });
      expect(textOf(other)).toContain("does not belong to this call");
      const done = await rawCall(cell.client, { ...RESET, inputResponses: accepted, requestState: state });
      expect(done.isError, textOf(done)).toBeFalsy();
      expect(writes()).toHaveLength(1);
      const replay = await rawCall(cell.client, {
        ...RESET,
        inputResponses: accepted,
        requestState: state,
      });
      expect(textOf(replay)).toContain("already used");
      expect(writes()).toHaveLength(1);
    });

    it("a tampered state is refused before the tool runs", async () => {
      const first = await rawCall(cell.client, START);
      const [version, payload, mac] = first.requestState!.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >;
      const forged = Buffer.from(JSON.stringify({ ...claims, exp: 4_102_444_800 })).toString("base64url");
      const attempt = rawCall(cell.client, {
        ...START,
        inputResponses: accepted,
        requestState: `${version}.${forged}.${mac}`,
      });
      await expect(attempt).rejects.toBeInstanceOf(ProtocolError);
      await expect(attempt).rejects.toMatchObject({ code: -32602 });
      expect(writes()).toEqual([]);
      expect(auditLines(cell.auditLog).at(-1)).toMatchObject({
        tool: "requestState:tools/call",
        outcome: "rejected",
        pveRequests: [],
      });
    });
  } else {
    it("a state sent on a 2025 connection is refused, whatever it holds", async () => {
      // A state minted for the 2026 era by this very server (HTTP), or by another process (stdio).
      const modern = await open(kind, "2026-07-28");
      const minted = (await rawCall(modern.client, START)).requestState!;
      await modern.close();
      const injected = rawCall(cell.client, { ...START, inputResponses: accepted, requestState: minted });
      const outcome = await injected.then(
        (r) => textOf(r),
        (err: unknown) => `${(err as ProtocolError).code}`,
      );
      expect(outcome).toMatch(/does not belong to this call|-32602/);
      expect(writes()).toEqual([]);
    });
  }
});
