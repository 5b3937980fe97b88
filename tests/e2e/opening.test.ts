/**
 * The early opening, end to end: the built server answers initialize or server/discover
 * and tools/list from dist/opening/ before it loads the rest, and then serves everything
 * else itself, whatever the client does next. Driven with raw JSON-RPC lines, the way a
 * client writes them, so the order and timing of what is sent are the test's own.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import type { RecordedOpening } from "../../src/transports/stdio-opening.js";
import { testScenario } from "../helpers/scenarios.js";
import { CLI, simEnv, tempDir } from "./harness.js";

type Json = Record<string, unknown>;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(async () => {
  await sim?.close();
});

const recorded = JSON.parse(
  readFileSync(new URL("../../dist/opening/read-only.json", import.meta.url), "utf8"),
) as RecordedOpening;

interface RawSession {
  child: ChildProcessWithoutNullStreams;
  send(message: unknown): void;
  answer(id: number): Promise<Json>;
  exited: Promise<number | null>;
  stderr(): string;
}

function rawSession(env: Record<string, string>): RawSession {
  const dir = tempDir();
  const child = spawn(process.execPath, [CLI], {
    cwd: dir,
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"), ...env },
  });
  const answers = new Map<string, Json>();
  const waiting = new Map<string, (message: Json) => void>();
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    let newline: number;
    while ((newline = stdout.indexOf("\n")) !== -1) {
      const message = JSON.parse(stdout.slice(0, newline)) as Json;
      stdout = stdout.slice(newline + 1);
      if ("method" in message) continue;
      const key = JSON.stringify(message["id"]);
      answers.set(key, message);
      waiting.get(key)?.(message);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    child,
    send: (message) => child.stdin.write(`${JSON.stringify(message)}\n`),
    answer: (id) =>
      new Promise((resolve) => {
        const key = JSON.stringify(id);
        const known = answers.get(key);
        if (known) resolve(known);
        else waiting.set(key, resolve);
      }),
    exited,
    stderr: () => stderr,
  };
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};
const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };
const GET_VERSION = { name: "get_version", arguments: {} };
const MISMATCH = /early answer/;

function textOfAnswer(answer: Json): string {
  const result = answer["result"] as { content?: { text?: string }[] } | undefined;
  return (result?.content ?? []).map((c) => c.text ?? "").join("\n");
}

describe("the opening answered early", () => {
  it("2025-11-25: initialize and tools/list are the recorded answers; a call after them is the server's", async () => {
    const session = rawSession(simEnv(sim));
    session.send(INITIALIZE);
    session.send(INITIALIZED);
    session.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    session.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: GET_VERSION });
    const legacy = recorded.variant.legacy["2025-11-25"]!;
    expect(await session.answer(1)).toEqual({ jsonrpc: "2.0", id: 1, result: legacy.hello });
    expect(await session.answer(2)).toEqual({
      jsonrpc: "2.0",
      id: 2,
      result: { tools: recorded.variant.tools, ...legacy.toolsList },
    });
    expect(textOfAnswer(await session.answer(3))).toMatch(/Proxmox VE 9\.1\.9/);
    session.child.stdin.end();
    expect(await session.exited).toBe(0);
    expect(session.stderr()).toMatch(/ready: the read token/);
    expect(session.stderr()).not.toMatch(MISMATCH);
  });

  it("a client that calls a tool without listing first is served once the server has loaded", async () => {
    const session = rawSession(simEnv(sim));
    session.send(INITIALIZE);
    session.send(INITIALIZED);
    session.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: GET_VERSION });
    expect(textOfAnswer(await session.answer(2))).toMatch(/Proxmox VE 9\.1\.9/);
    session.child.stdin.end();
    expect(await session.exited).toBe(0);
    expect(session.stderr()).not.toMatch(MISMATCH);
  });

  it("2026-07-28: server/discover and tools/list are the recorded answers; the call after them is the server's", async () => {
    const _meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
    };
    const session = rawSession(simEnv(sim));
    session.send({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta } });
    session.send({ jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta } });
    session.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { ...GET_VERSION, _meta } });
    const modern = recorded.variant.modern["2026-07-28"]!;
    expect(await session.answer(1)).toEqual({ jsonrpc: "2.0", id: 1, result: modern.hello });
    expect(await session.answer(2)).toEqual({
      jsonrpc: "2.0",
      id: 2,
      result: { tools: recorded.variant.tools, ...modern.toolsList },
    });
    expect(textOfAnswer(await session.answer(3))).toMatch(/Proxmox VE 9\.1\.9/);
    session.child.stdin.end();
    expect(await session.exited).toBe(0);
    expect(session.stderr()).not.toMatch(MISMATCH);
  });

  it("a client that leaves right after initialize: the server loads, finds its input closed, and exits 0", async () => {
    const session = rawSession(simEnv(sim));
    session.send(INITIALIZE);
    expect((await session.answer(1))["result"]).toEqual(recorded.variant.legacy["2025-11-25"]!.hello);
    session.child.stdin.end();
    expect(await session.exited).toBe(0);
  });

  it("with other toolsets than the default ones, the server answers the opening itself", async () => {
    const session = rawSession(simEnv(sim, sim.tokens.auditor, { PROXMOX_TOOLSETS: "core" }));
    session.send(INITIALIZE);
    session.send(INITIALIZED);
    session.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const { tools } = (await session.answer(2))["result"] as { tools: { name: string }[] };
    expect(tools.map((t) => t.name)).toContain("get_vms");
    expect(tools.map((t) => t.name)).not.toContain("get_users");
    session.child.stdin.end();
    expect(await session.exited).toBe(0);
  });

  it("a configuration error still stops the server before it answers anything", async () => {
    const session = rawSession({ PROXMOX_HOST: "pve.example.com" });
    session.send(INITIALIZE);
    expect(await session.exited).toBe(2);
    expect(session.stderr()).toMatch(/PROXMOX_TOKEN_ID/);
  });
});
