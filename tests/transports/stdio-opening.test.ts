/**
 * The opening answered before the server loads (src/transports/stdio-opening.ts): the
 * file the build wrote is what this source records; every early reply equals the real
 * server's answer to the same lines, over generated openings; whatever is not an exact
 * happy path is left to the server; and the streams hand every byte on, drop only the
 * server's answers to what was replied, and report a difference.
 */
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exchange,
  envelope,
  MODERN_REVISIONS,
  recordOpening,
  variantServer,
} from "../../src/transports/stdio-opening-record.js";
import {
  answerOpeningEarly,
  OPENING_VARIANTS,
  openingVariantKey,
  OpeningReplies,
  readRecordedOpening,
  type OpeningVariant,
  type OpeningVariantKey,
  type RecordedOpening,
} from "../../src/transports/stdio-opening.js";

const ROOT = new URL("../../", import.meta.url);
const VERSION = (JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { version: string })
  .version;

let recorded: Record<OpeningVariantKey, RecordedOpening>;
let dir: string;
beforeAll(async () => {
  recorded = await recordOpening(VERSION);
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-opening-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;

/** What the early side replies to a sequence of messages, by request id (stops where it stops). */
function earlyReplies(variant: OpeningVariant, messages: readonly unknown[]): Map<string, Json> {
  const replies = new OpeningReplies(variant);
  const out = new Map<string, Json>();
  for (const message of messages) {
    const step = replies.step(message);
    if (!step) break;
    if (step.reply) out.set(JSON.stringify(step.reply["id"]), step.reply);
    if (step.last) break;
  }
  return out;
}

describe("the recorded opening", () => {
  it("dist/opening/ holds what this source records (npm run build writes it)", () => {
    for (const key of OPENING_VARIANTS) {
      const file = JSON.parse(readFileSync(new URL(`dist/opening/${key}.json`, ROOT), "utf8")) as unknown;
      expect(file, key).toEqual(recorded[key]);
    }
  });

  it("covers every 2025-era version the SDK negotiates and the 2026-07-28 revision, per variant", () => {
    for (const key of OPENING_VARIANTS) {
      const { variant } = recorded[key];
      expect(Object.keys(variant.legacy).sort()).toEqual([...SUPPORTED_PROTOCOL_VERSIONS].sort());
      expect(Object.keys(variant.modern)).toEqual([...MODERN_REVISIONS]);
    }
    const names = (key: OpeningVariantKey) => recorded[key].variant.tools.map((t) => t["name"]);
    expect(names("read-only")).not.toContain("vm_action");
    expect(names("dangerous")).toContain("vm_action");
    expect(names("dangerous")).not.toContain("execute_command");
    expect(names("dangerous+ssh")).toContain("execute_command");
  });

  it("is used only for its own version and format, and only with the default toolsets", () => {
    const opening = new URL("dist/opening/", ROOT);
    expect(readRecordedOpening(opening, "read-only", VERSION)).toEqual(recorded["read-only"].variant);
    expect(readRecordedOpening(opening, "read-only", "0.0.0-other")).toBeUndefined();
    expect(readRecordedOpening(new URL("nowhere/", ROOT), "read-only", VERSION)).toBeUndefined();
    const plain = { toolsets: undefined, dangerous: false, ssh: false, pbs: false };
    expect(openingVariantKey(plain)).toBe("read-only");
    expect(openingVariantKey({ ...plain, pbs: true })).toBe("read-only+pbs");
    expect(openingVariantKey({ ...plain, dangerous: true })).toBe("dangerous");
    expect(openingVariantKey({ ...plain, dangerous: true, ssh: true })).toBe("dangerous+ssh");
    expect(openingVariantKey({ ...plain, dangerous: true, pbs: true })).toBeUndefined();
    expect(openingVariantKey({ ...plain, toolsets: ["core"] })).toBeUndefined();
  });
});

// Generated openings: ids of both kinds, the client capabilities and identities real
// clients send (elicitation forms, roots, sampling, titles), every recorded version.
const id = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.string({ minLength: 1, maxLength: 12 }));
const capabilities = fc.record(
  {
    roots: fc.record({ listChanged: fc.boolean() }, { requiredKeys: [] }),
    sampling: fc.constant({}),
    elicitation: fc.record({ form: fc.constant({}), url: fc.constant({}) }, { requiredKeys: [] }),
    experimental: fc.dictionary(fc.constantFrom("a", "b"), fc.constant({})),
  },
  { requiredKeys: [] },
);
const clientInfo = fc.record(
  {
    name: fc.string({ maxLength: 20 }),
    version: fc.string({ maxLength: 10 }),
    title: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ["name", "version"] },
);

describe("every early reply is the server's own answer", () => {
  for (const key of OPENING_VARIANTS) {
    it(`2025-11-25 era, ${key}: initialize, initialized, tools/list`, async () => {
      const server = variantServer(key, VERSION, dir);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...SUPPORTED_PROTOCOL_VERSIONS),
            capabilities,
            clientInfo,
            id,
            id,
            async (protocolVersion, caps, info, first, second) => {
              fc.pre(JSON.stringify(first) !== JSON.stringify(second));
              const messages = [
                {
                  jsonrpc: "2.0",
                  id: first,
                  method: "initialize",
                  params: { protocolVersion, capabilities: caps, clientInfo: info },
                },
                { jsonrpc: "2.0", method: "notifications/initialized" },
                { jsonrpc: "2.0", id: second, method: "tools/list", params: {} },
              ];
              const early = earlyReplies(recorded[key].variant, messages);
              expect(early.size).toBe(2);
              const answers = await exchange(server.factory, messages);
              for (const answer of answers) expect(early.get(JSON.stringify(answer["id"]))).toEqual(answer);
            },
          ),
          { numRuns: 15 },
        );
      } finally {
        await server.close();
      }
    });

    it(`2026-07-28 era, ${key}: server/discover, tools/list`, async () => {
      const server = variantServer(key, VERSION, dir);
      try {
        await fc.assert(
          fc.asyncProperty(
            capabilities,
            clientInfo,
            id,
            id,
            fc.boolean(),
            async (caps, info, first, second, discoverFirst) => {
              fc.pre(JSON.stringify(first) !== JSON.stringify(second));
              const _meta = {
                ...envelope(MODERN_REVISIONS[0]),
                "io.modelcontextprotocol/clientCapabilities": caps,
                "io.modelcontextprotocol/clientInfo": info,
              };
              const list = { jsonrpc: "2.0", id: second, method: "tools/list", params: { _meta } };
              const messages = discoverFirst
                ? [{ jsonrpc: "2.0", id: first, method: "server/discover", params: { _meta } }, list]
                : [list];
              const early = earlyReplies(recorded[key].variant, messages);
              expect(early.size).toBe(messages.length);
              const answers = await exchange(server.factory, messages);
              for (const answer of answers) expect(early.get(JSON.stringify(answer["id"]))).toEqual(answer);
            },
          ),
          { numRuns: 15 },
        );
      } finally {
        await server.close();
      }
    });
  }
});

describe("what is left to the server", () => {
  const variant = () => recorded["read-only"].variant;
  const init = (params: Json = {}) => ({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "c", version: "1" },
      ...params,
    },
  });
  const modernMeta = envelope(MODERN_REVISIONS[0]);
  const refused: [string, unknown[]][] = [
    ["a version not recorded", [init({ protocolVersion: "2099-01-01" })]],
    ["an unknown initialize field", [init({ extra: true })]],
    ["capabilities that are not objects", [init({ capabilities: { elicitation: true } })]],
    ["a clientInfo with icons", [init({ clientInfo: { name: "c", version: "1", icons: [] } })]],
    ["an initialize carrying the 2026 envelope", [init({ _meta: modernMeta })]],
    ["an id of null", [{ ...init(), id: null }]],
    ["a fractional id", [{ ...init(), id: 1.5 }]],
    ["a batch", [[init()]]],
    ["another JSON-RPC version", [{ ...init(), jsonrpc: "1.0" }]],
    ["a claim-less tools/list first", [{ jsonrpc: "2.0", id: 1, method: "tools/list" }]],
    ["ping", [{ jsonrpc: "2.0", id: 1, method: "ping" }]],
    [
      "a tools/list with a cursor",
      [init(), { jsonrpc: "2.0", id: 2, method: "tools/list", params: { cursor: "x" } }],
    ],
    ["a second initialize", [init(), { ...init(), id: 2 }]],
    [
      "a tool call",
      [init(), { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "get_version" } }],
    ],
    [
      "a 2026 request after a 2025 initialize",
      [init(), { jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: modernMeta } }],
    ],
    [
      "an envelope with an extra key",
      [
        {
          jsonrpc: "2.0",
          id: 1,
          method: "server/discover",
          params: { _meta: { ...modernMeta, "io.modelcontextprotocol/logLevel": "debug" } },
        },
      ],
    ],
    [
      "an envelope without clientInfo",
      [
        {
          jsonrpc: "2.0",
          id: 1,
          method: "server/discover",
          params: { _meta: { ...modernMeta, "io.modelcontextprotocol/clientInfo": undefined } },
        },
      ],
    ],
    [
      "an unknown revision",
      [
        {
          jsonrpc: "2.0",
          id: 1,
          method: "server/discover",
          params: { _meta: { ...modernMeta, "io.modelcontextprotocol/protocolVersion": "2027-01-01" } },
        },
      ],
    ],
  ];
  for (const [what, messages] of refused) {
    it(`${what}: no reply, the early answers end there`, () => {
      const replies = new OpeningReplies(variant());
      const steps = messages.map((m) => replies.step(JSON.parse(JSON.stringify(m))));
      expect(steps.at(-1)).toBeUndefined();
    });
  }
});

describe("the streams", () => {
  const lines = (...messages: unknown[]) => messages.map((m) => `${JSON.stringify(m)}\n`).join("");
  const initialize = {
    jsonrpc: "2.0",
    id: 7,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
  };
  const list = { jsonrpc: "2.0", id: 8, method: "tools/list" };

  function start(waitMs = 60_000) {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const written: string[] = [];
    stdout.on("data", (chunk: Buffer) => written.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
    const mismatches: string[] = [];
    const early = answerOpeningEarly({
      variant: recorded["read-only"].variant,
      stdin,
      stdout,
      waitMs,
      onMismatch: (method) => mismatches.push(method),
    });
    const replayed: string[] = [];
    early.input.on("data", (chunk: Buffer) => replayed.push(chunk.toString("utf8")));
    return { stdin, early, written, mismatches, replayed: () => replayed.join("") };
  }

  it("replies to the opening, hands every byte on in order, and drops only the server's answers to what it replied", async () => {
    const { stdin, early, written, mismatches, replayed } = start();
    const call = {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "get_version", arguments: {} },
    };
    // Split mid-line: the early side reads lines, not chunks.
    const text = lines(initialize, { jsonrpc: "2.0", method: "notifications/initialized" }, list, call);
    stdin.write(text.slice(0, 40));
    stdin.write(text.slice(40));
    await early.loadNeeded;
    expect(written.map((l) => (JSON.parse(l) as Json)["id"])).toEqual([7, 8]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(replayed()).toBe(text);

    const [hello, tools] = written.map((l) => JSON.parse(l) as Json);
    const write = (message: unknown) =>
      new Promise<void>((resolve, reject) =>
        early.output.write(`${JSON.stringify(message)}\n`, (err) => (err ? reject(err) : resolve())),
      );
    const before = written.length;
    await write(hello);
    await write(tools);
    await write({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
    await write({ jsonrpc: "2.0", id: 9, result: { content: [] } });
    // The same id again is a new answer (a client may reuse ids once answered): it passes.
    await write(tools);
    expect(written.slice(before).map((l) => JSON.parse(l) as Json)).toEqual([
      { jsonrpc: "2.0", method: "notifications/tools/list_changed" },
      { jsonrpc: "2.0", id: 9, result: { content: [] } },
      tools,
    ]);
    expect(mismatches).toEqual([]);
  });

  it("reports a server answer that differs from the early reply", async () => {
    const { stdin, early, written, mismatches } = start();
    stdin.write(lines(initialize, list));
    await early.loadNeeded;
    const [hello] = written.map((l) => JSON.parse(l) as Json);
    await new Promise<void>((resolve) =>
      early.output.write(`${JSON.stringify({ ...hello, result: { other: true } })}\n`, () => resolve()),
    );
    expect(mismatches).toEqual(["initialize"]);
    expect(written).toHaveLength(2);
  });

  it("loads the server at the first message it does not reply to, without replying to it", async () => {
    const { stdin, early, written, replayed } = start();
    stdin.write(lines(initialize, { jsonrpc: "2.0", id: 2, method: "ping" }, list));
    await early.loadNeeded;
    expect(written.map((l) => (JSON.parse(l) as Json)["id"])).toEqual([7]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(replayed()).toContain('"method":"tools/list"');
  });

  it("loads the server when the client closes its input, or waits too long", async () => {
    const closing = start();
    closing.stdin.end(lines(initialize));
    await closing.early.loadNeeded;
    expect(closing.written).toHaveLength(1);

    const waiting = start(1);
    waiting.stdin.write(lines(initialize));
    await waiting.early.loadNeeded;
    expect(waiting.written).toHaveLength(1);
  });
});
