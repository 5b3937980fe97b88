/**
 * Scale-out (issue 12 item 6): two BUILT servers (`node dist/cli.js serve --http`) behind a
 * real HAProxy running the committed deploy/haproxy/haproxy.cfg (round robin, no affinity
 * for the 2026-07-28 era; a stick table on Mcp-Session-Id for 2025-11-25 sessions), both
 * pointed at one simulator and sharing MCP_HTTP_TOKEN, MCP_CONFIRM_KEY and
 * MCP_CONFIRM_STATE_DIR, each with its own audit log. The audit logs tell which process
 * answered what.
 *
 * HAProxy comes from Debian's package (`apt-get install haproxy`); .ci/run installs it
 * and sets PROXMOX_MCP_TEST_REQUIRE_HAPROXY=1, so in CI a missing haproxy fails here
 * instead of skipping.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport, type FetchLike } from "@modelcontextprotocol/client";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findHaproxy, startHaproxy, type Haproxy } from "../../scripts/lib/haproxy.mjs";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { issueCertificate } from "../../src/simulator/tls.js";
import {
  auditLines,
  serveHttp,
  simEnv,
  stopHttpServers,
  tempDir,
  textOf,
  type HttpChild,
} from "./harness.js";

const HAPROXY = findHaproxy();
const REQUIRED = Boolean(process.env["CI"] || process.env["PROXMOX_MCP_TEST_REQUIRE_HAPROXY"]);
if (!HAPROXY && !REQUIRED) {
  console.warn(
    "scale-out tests skipped: haproxy is not installed (install haproxy: apt-get install haproxy)",
  );
}

const TOKEN = "scale-out-token-7c1e94b2a05fd3866e0b4f1a";
const CONFIRM_KEY = "scale-out-confirm-key-3b8d1f60c94e2a7d";
const OTHER_KEY = "scale-out-other-key-e5a0c7b3d9f14286";
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";

interface Backend extends HttpChild {
  /** mcp1 and mcp2 behind HAProxy (its `server` lines), or a process of its own. */
  name: "mcp1" | "mcp2" | "stranger";
  port: number;
}

const dirs: string[] = [];

/**
 * `node dist/cli.js serve --http` on a free loopback port, dangerous tier on, logging one
 * line per HTTP request (PROXMOX_LOG_LEVEL=debug); resolves on its listening line.
 */
async function serveBackend(
  sim: Simulator,
  name: Backend["name"],
  env: Record<string, string>,
): Promise<Backend> {
  const server = await serveHttp({
    PROXMOX_LOG_LEVEL: "debug",
    MCP_HTTP_TOKEN: TOKEN,
    MCP_HTTP_RATE_LIMIT: "100000",
    ...simEnv(sim, sim.tokens.auditor, {
      ENABLE_DANGEROUS_COMMANDS: "true",
      PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
      PROXMOX_ADMIN_TOKEN_SECRET: sim.tokens.admin.secret,
    }),
    ...env,
  });
  return Object.assign(server, { name, port: Number(new URL(server.url).port) });
}

/** A self-signed certificate for 127.0.0.1, HAProxy's frontend certificate. */
function frontendCertificate(): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certPem = issueCertificate({
    subject: "/CN=proxmox-mcp scale-out test",
    issuer: "/CN=proxmox-mcp scale-out test",
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    san: ["127.0.0.1", "localhost"],
    publicKey,
    signingKey: privateKey,
  });
  return { certPem, keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One POST /mcp with the bearer token, over https (through HAProxy, trusting `ca`) or http (straight to a process). */
function post(url: string, body: unknown, headers: Record<string, string>, ca?: string): Promise<Answer> {
  const target = new URL(url);
  const text = JSON.stringify(body);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent: false,
        ...(ca ? { ca } : {}),
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "Content-Length": String(Buffer.byteLength(text)),
          ...headers,
        },
      },
      (res) => {
        let answer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (answer += chunk));
        res.on("error", reject);
        res.on("end", () => {
          // JSON, or an SSE stream whose data lines carry the JSON-RPC answer.
          const data = /^data: (.*)$/m.exec(answer)?.[1];
          let json: unknown;
          try {
            json = JSON.parse(data ?? answer);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

let nextId = 1;
/**
 * A 2026-07-28 tools/call as the SDK's client sends it (captured from
 * @modelcontextprotocol/client 2.4.0): the era and method in headers, the per-request
 * `_meta` envelope (protocol version, client info, client capabilities) in the body.
 */
function modernCall(name: string, args: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return {
    headers: { "Mcp-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name },
    body: {
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        ...more,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "scale-out-raw", version: "0" },
          "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
        },
      },
    },
  };
}

const ACCEPT = { confirm: { action: "accept", content: { confirm: true } } };

type Line = Record<string, unknown>;
const linesOf = (backend: Backend): Line[] =>
  existsSync(backend.auditLog) ? auditLines(backend.auditLog) : [];
/** The audit lines of calls of `tool` whose arguments include `args`. */
const isCall =
  (tool: string, args: Record<string, unknown> = {}) =>
  (line: Line) =>
    line["tool"] === tool &&
    Object.entries(args).every(([key, value]) => (line["args"] as Record<string, unknown>)?.[key] === value);

describe.skipIf(!HAPROXY && !REQUIRED)("two processes behind HAProxy", () => {
  let sim: Simulator;
  let backends: [Backend, Backend];
  let haproxy: Haproxy;
  let certPem: string;
  let agent: Agent;
  let trusting: FetchLike;
  const clients: Client[] = [];

  beforeAll(async () => {
    if (!HAPROXY) {
      throw new Error(
        "haproxy is not installed, and CI / PROXMOX_MCP_TEST_REQUIRE_HAPROXY asks for these tests: apt-get install haproxy",
      );
    }
    sim = await startSimulator({});
    const stateDir = tempDir();
    dirs.push(stateDir);
    const shared = { MCP_CONFIRM_KEY: CONFIRM_KEY, MCP_CONFIRM_STATE_DIR: join(stateDir, "confirmations") };
    backends = await Promise.all([serveBackend(sim, "mcp1", shared), serveBackend(sim, "mcp2", shared)]);
    const cert = frontendCertificate();
    certPem = cert.certPem;
    haproxy = await startHaproxy({ backends: backends.map((b) => b.port), ...cert, binary: HAPROXY });
    // HAProxy's first health check of each process (within `inter 2s`): GET /healthz, answered 200.
    // (The address in that line may read "unknown": HAProxy has closed the connection by then.)
    await Promise.all(backends.map((b) => b.waitFor(/^proxmox-mcp: http \S+ GET \/healthz -> 200 /m)));
    agent = new Agent({ connect: { ca: certPem } });
    trusting = ((url, init) => undiciFetch(url, { ...init, dispatcher: agent } as never)) as FetchLike;
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await agent?.close();
    await haproxy?.stop();
    stopHttpServers();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await sim?.close();
  });

  /** The SDK's client through HAProxy: pinned to 2026-07-28, or the default 2025-11-25 session. */
  async function connect(
    era: "modern" | "legacy",
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const client = new Client(
      { name: `scale-out-${era}`, version: "0" },
      {
        ...(era === "modern" ? { versionNegotiation: { mode: { pin: MODERN } } } : {}),
        capabilities: { elicitation: { form: {} } },
      },
    );
    client.setRequestHandler("elicitation/create", async () => ({
      action: "accept",
      content: { confirm: true },
    }));
    const transport = new StreamableHTTPClientTransport(new URL(haproxy.url), {
      fetch: trusting,
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  it("runs the committed config with its listening ports, paths and root-only lines changed, both servers UP", async () => {
    expect(haproxy.config).toMatch(/^ {4}balance roundrobin$/m);
    expect(haproxy.config).toMatch(/^ {4}stick match req\.hdr\(mcp-session-id\)$/m);
    expect(haproxy.config).toMatch(/^ {4}stick store-response res\.hdr\(mcp-session-id\)$/m);
    expect(haproxy.config).toMatch(/^ {4}http-check send meth GET uri \/healthz /m);
    expect(haproxy.config).toContain(`server mcp1 127.0.0.1:${backends[0].port}`);
    expect(haproxy.config).toContain(`server mcp2 127.0.0.1:${backends[1].port}`);
    const states = await haproxy.serverStates();
    for (const server of ["mcp/mcp1", "mcp/mcp2"]) {
      expect(states[server]).toMatchObject({ status: expect.stringMatching(/^UP/), check_status: "L7OK" });
    }
  });

  it("a 2026-07-28 client: its calls land on both processes, with no affinity and no session", async () => {
    const { client, transport } = await connect("modern");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("vm_action");
    for (let i = 0; i < 20; i++) {
      const result = await client.callTool({ name: "get_nodes", arguments: {} });
      expect(result.isError, textOf(result as never)).toBeFalsy();
    }
    expect(transport.sessionId).toBeUndefined();
    const served = backends.map((b) => linesOf(b).filter(isCall("get_nodes")).length);
    // Round robin: both served calls, together all 20.
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
    expect(served[0]! + served[1]!).toBe(20);
    for (const backend of backends) {
      expect(
        linesOf(backend)
          .filter(isCall("get_nodes"))
          .every((l) => l["outcome"] === "ok"),
      ).toBe(true);
    }
  });

  it("a dangerous call confirmed in two rounds on two processes (shared MCP_CONFIRM_KEY): asked on one, done on the other", async () => {
    const { client } = await connect("modern");
    sim.clearRequests();
    const args = { vmid: 101, action: "start" };
    const result = await client.callTool({ name: "vm_action", arguments: args });
    expect(result.isError, textOf(result as never)).toBeFalsy();
    expect(textOf(result as never)).toMatch(/^start of VM 101 "db01" on pve1 started as task UPID:/);

    const [one, two] = backends.map((b) => linesOf(b).filter(isCall("vm_action", args)));
    const asking = one!.some((l) => l["outcome"] === "asked") ? 0 : 1;
    const doing = 1 - asking;
    const [asked, done] = [asking === 0 ? one! : two!, doing === 0 ? one! : two!];
    expect(asked.map((l) => [l["outcome"], l["confirmation"]])).toEqual([
      ["started", undefined],
      ["asked", "asked"],
    ]);
    expect(done.map((l) => [l["outcome"], l["confirmation"]])).toEqual([
      ["started", undefined],
      ["ok", "accepted"],
    ]);
    expect(done[1]?.["effect"]).toMatchObject({ upid: expect.stringMatching(/^UPID:pve1:.*:qmstart:101:/) });
    expect(
      sim
        .requests()
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path} ${r.tokenId}`),
    ).toEqual([`POST /nodes/pve1/qemu/101/status/start ${sim.tokens.admin.id}`]);
  });

  it("a state is good once across processes (MCP_CONFIRM_STATE_DIR); another key refuses it (-32602)", async () => {
    sim.clearRequests();
    const args = { vmid: 100, action: "reset" };
    // Round 1 through HAProxy: the question and the sealed state.
    const first = modernCall("vm_action", args);
    const asked = await post(haproxy.url, first.body, first.headers, certPem);
    expect(asked.status).toBe(200);
    expect(asked.json.result).toMatchObject({
      resultType: "input_required",
      inputRequests: { confirm: { method: "elicitation/create" } },
    });
    const requestState = asked.json.result.requestState as string;
    expect(requestState).toMatch(/^v1\./);

    // Without the shared key: a third process with another MCP_CONFIRM_KEY cannot open the state.
    const stranger = await serveBackend(sim, "stranger", { MCP_CONFIRM_KEY: OTHER_KEY });
    const foreign = modernCall("vm_action", args, { inputResponses: ACCEPT, requestState });
    const refused = await post(stranger.url, foreign.body, foreign.headers);
    expect(refused.json.error).toMatchObject({ code: -32602, message: "Invalid or expired requestState" });
    stranger.child.kill("SIGTERM");
    expect(await stranger.exited).toEqual({ code: 0, signal: null });

    // Round 2 through HAProxy: round robin sends it to the other process, which runs it.
    const second = modernCall("vm_action", args, { inputResponses: ACCEPT, requestState });
    const done = await post(haproxy.url, second.body, second.headers, certPem);
    expect(done.json.result?.isError, JSON.stringify(done.json)).toBeFalsy();
    expect(done.json.result.content[0].text).toMatch(/^reset of VM 100 "web01" on pve1 started as task/);

    // The same round 2 again: refused, on whichever process it lands.
    const again = modernCall("vm_action", args, { inputResponses: ACCEPT, requestState });
    const replay = await post(haproxy.url, again.body, again.headers, certPem);
    expect(replay.json.result).toMatchObject({ isError: true });
    expect(replay.json.result.content[0].text).toBe(
      "Not done: this confirmation was already used; call the tool again to be asked.",
    );

    // Exactly one reset reached Proxmox.
    expect(
      sim
        .requests()
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual(["POST /nodes/pve1/qemu/100/status/reset"]);

    // Asked on one process, done on the other, and the replay refused by the one that did not run it.
    const logs = backends.map((b) =>
      linesOf(b)
        .filter(isCall("vm_action", args))
        .filter((l) => l["outcome"] !== "started")
        .map((l) => `${l["outcome"]} ${l["confirmation"]}`),
    );
    const doer = logs.findIndex((l) => l.includes("ok accepted"));
    expect(doer).toBeGreaterThanOrEqual(0);
    expect(logs[doer]).toEqual(["ok accepted"]);
    expect(logs[1 - doer]).toEqual(["asked asked", "error not asked"]);
    const refusal = linesOf(backends[1 - doer]!).findLast(isCall("vm_action", args));
    expect(refusal?.["error"]).toMatch(/already used/);
  });

  it("a 2025-11-25 session sticks to the process that opened it (stick table on Mcp-Session-Id)", async () => {
    const before = backends.map((b) => linesOf(b).length);
    const { client, transport } = await connect("legacy");
    const sessionId = transport.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    for (let i = 0; i < 10; i++) {
      const result = await client.callTool({ name: "get_cluster_status", arguments: {} });
      expect(result.isError, textOf(result as never)).toBeFalsy();
    }
    // A dangerous call: the question goes out on the call's SSE stream, the answer comes
    // back as a POST with the session id: the same process must get it.
    const reboot = await client.callTool({ name: "vm_action", arguments: { vmid: 100, action: "reboot" } });
    expect(reboot.isError, textOf(reboot as never)).toBeFalsy();

    const added = backends.map((b, i) => linesOf(b).slice(before[i]));
    const home = added.findIndex((lines) => lines.length > 0);
    expect(home).toBeGreaterThanOrEqual(0);
    expect(added[1 - home]).toEqual([]);
    expect(added[home]!.map((l) => `${l["tool"]} ${l["outcome"]}`)).toEqual([
      ...Array<string>(10).fill("get_cluster_status ok"),
      "vm_action started",
      "vm_action ok",
    ]);
    expect(added[home]![11]?.["confirmation"]).toBe("accepted");

    // HAProxy learned the session from the response header, for the server that answered.
    const table = await haproxy.command("show table mcp");
    expect(table).toMatch(new RegExp(`key=${sessionId} .*server_id=${home + 1}\\b`));
    expect(table).toMatch(new RegExp(`server_key=${backends[home]!.name}\\b`));

    // Why the affinity: the other process does not know the session.
    const elsewhere = await post(
      backends[1 - home]!.url,
      { jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name: "get_nodes", arguments: {} } },
      { "Mcp-Session-Id": sessionId!, "Mcp-Protocol-Version": LEGACY },
    );
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.json.error.message).toMatch(/^Session not found/);

    await transport.terminateSession();
  });

  it("one process stops (SIGTERM): the other takes every call, no error; both exit 0 with their own audit lines", async () => {
    const { client } = await connect("modern");
    const [first, second] = backends;
    first.child.kill("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const before = linesOf(second).length;
    // Round robin still names the stopped process until its health checks fail; HAProxy
    // retries the refused connection on the other one (retry-on conn-failure, redispatch).
    for (let i = 0; i < 6; i++) {
      const result = await client.callTool({ name: "get_version", arguments: {} });
      expect(result.isError, textOf(result as never)).toBeFalsy();
    }
    expect(
      linesOf(second)
        .slice(before)
        .map((l) => `${l["tool"]} ${l["outcome"]}`),
    ).toEqual(Array<string>(6).fill("get_version ok"));
    await client.close();
    second.child.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });

    for (const backend of backends) {
      // One process, one audit session (one hash chain), and no secret in what it printed.
      expect(new Set(linesOf(backend).map((l) => l["session"])).size).toBe(1);
      expect(backend.stderr()).not.toContain(TOKEN);
      expect(backend.stderr()).not.toContain(CONFIRM_KEY);
    }
  });
});
