/**
 * The Streamable HTTP transport in-process, against the simulator: the bearer token
 * on every request (and zero Proxmox requests without it), Host and Origin checks,
 * body and rate limits, sessions (separate, capped, expiring), /healthz and /readyz,
 * elicitation over HTTP, graceful shutdown and TLS. No test sleeps: the clock of the
 * rate limit and of idle expiry is the test's.
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import type { FetchLike } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { issueCertificate } from "../../src/simulator/tls.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { Secret } from "../../src/config/secret.js";
import { testScenario } from "../helpers/scenarios.js";
import {
  BEARER,
  connectClient,
  INITIALIZE,
  mcpHeaders,
  rawRequest,
  request,
  startTestServer,
  textOf,
  TOKEN,
  type HttpClient,
  type TestServer,
} from "./http-harness.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

/** Servers and clients a test started; closed after it even when it fails. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const s = await startTestServer(sim, options);
  cleanups.push(() => s.stop());
  return s;
}

async function client(url: string, options: Parameters<typeof connectClient>[1] = {}): Promise<HttpClient> {
  const c = await connectClient(url, options);
  cleanups.push(() => c.close());
  return c;
}

const base = (s: TestServer) => s.url.replace(/\/mcp$/, "");
const initialize = (s: TestServer, headers: Record<string, string | undefined> = {}) =>
  rawRequest(s.url, { method: "POST", headers: mcpHeaders(headers), body: INITIALIZE });

describe("the bearer token, on every request", () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await server();
    sim.clearRequests();
  });

  it("no token or a wrong one: 401 with WWW-Authenticate: Bearer, a JSON-RPC error, no session and zero Proxmox requests", async () => {
    const wrong = [
      undefined,
      "",
      "Bearer",
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.replace(/.$/, "0")}`,
      `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
      `Bearer ${TOKEN} ${TOKEN}`,
      TOKEN,
    ];
    for (const authorization of wrong) {
      const res = await initialize(s, { Authorization: authorization });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="proxmox-mcp"/);
      expect(res.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 }, id: null });
      expect(res.json.error.message).toContain("Authorization: Bearer");
      expect(res.text).not.toContain(TOKEN);
    }
    // A presented but wrong token says so, as RFC 6750 asks.
    expect(
      (await initialize(s, { Authorization: `Bearer ${"x".repeat(40)}` })).headers["www-authenticate"],
    ).toContain('error="invalid_token"');
    for (const [method, path] of [
      ["GET", "/mcp"],
      ["DELETE", "/mcp"],
      ["GET", "/readyz"],
    ] as const) {
      const res = await rawRequest(`${base(s)}${path}`, { method, headers: { Accept: "text/event-stream" } });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect(s.sessionCount()).toBe(0);
    expect(sim.requests()).toEqual([]);
  });

  it("refuses before reading the body: a body over the size limit still gets 401, not 413", async () => {
    const res = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders({ Authorization: undefined, "Content-Length": String(50 * 1024 * 1024) }),
    });
    expect(res.status).toBe(401);
    expect(res.headers["connection"]).toBe("close");
  });

  it("a session id is not a credential: a known session without the token gets 401 and Proxmox sees nothing", async () => {
    const c = await client(s.url);
    const sessionId = c.transport.sessionId!;
    sim.clearRequests();
    for (const authorization of [undefined, `Bearer ${"y".repeat(43)}`]) {
      const res = await rawRequest(s.url, {
        method: "POST",
        headers: mcpHeaders({ Authorization: authorization, "Mcp-Session-Id": sessionId }),
        body: request(7, "tools/call", { name: "get_nodes", arguments: {} }),
      });
      expect(res.status).toBe(401);
    }
    expect(sim.requests()).toEqual([]);
    // The same session with the token works, and Proxmox saw only the read token, never ours.
    const result = await c.call("get_nodes");
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sim.requests().length).toBeGreaterThan(0);
    expect(new Set(sim.requests().map((r) => r.tokenId))).toEqual(new Set([sim.tokens.auditor.id]));
  });

  it("the scheme name is case-insensitive (RFC 7235)", async () => {
    expect((await initialize(s, { Authorization: `bearer ${TOKEN}` })).status).toBe(200);
  });

  it("never logs the token", async () => {
    const lines: string[] = [];
    const logged = await server({ log: (line) => lines.push(line) });
    await initialize(logged, { Authorization: `Bearer ${"z".repeat(40)}` });
    await initialize(logged);
    await logged.close();
    expect(lines.join("\n")).toMatch(/POST \/mcp -> 401 in \d+ ms/);
    expect(lines.join("\n")).toMatch(/POST \/mcp -> 200 in \d+ ms/);
    expect(lines.join("\n")).not.toContain(TOKEN);
    expect(lines.join("\n")).not.toContain("z".repeat(40));
  });
});

describe("DNS rebinding: Host allow-list and Origin check", () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await server();
  });

  it("403 for the conformance probe (Host and Origin evil.example.com), with or without a token", async () => {
    for (const authorization of [BEARER, undefined]) {
      const res = await initialize(s, {
        Host: "evil.example.com",
        Origin: "http://evil.example.com",
        Authorization: authorization,
      });
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain("DNS rebinding");
    }
    expect(s.sessionCount()).toBe(0);
  });

  it("403 for a bad Host alone, also with the port and on /healthz", async () => {
    for (const host of [
      "evil.example.com",
      `evil.example.com:${s.port}`,
      "127.0.0.1.evil.example",
      "",
      "a b",
    ]) {
      expect((await initialize(s, { Host: host })).status, host).toBe(403);
    }
    expect((await rawRequest(`${base(s)}/healthz`, { headers: { Host: "evil.example.com" } })).status).toBe(
      403,
    );
  });

  it("403 for a bad Origin alone, before the token is looked at", async () => {
    for (const origin of ["http://evil.example.com", "null", "https://127.0.0.1.evil.example", "file://"]) {
      expect((await initialize(s, { Origin: origin })).status, origin).toBe(403);
      expect((await initialize(s, { Origin: origin, Authorization: undefined })).status, origin).toBe(403);
    }
  });

  it("answers to the loopback names on any port (an SSH tunnel changes it) and loopback origins on a loopback bind", async () => {
    for (const host of [
      "localhost",
      `localhost:${s.port}`,
      `127.0.0.1:${s.port}`,
      `[::1]:${s.port}`,
      "LOCALHOST:9000",
    ]) {
      expect((await initialize(s, { Host: host })).status, host).toBe(200);
    }
    const res = await initialize(s, { Origin: "http://localhost:6274" });
    expect(res.status).toBe(200);
    // Allowed to call, but no CORS grant for an origin the operator did not list.
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("MCP_ALLOWED_ORIGINS: listed origins (and their hosts) pass and get CORS; others do not", async () => {
    const listed = await server({ http: { allowedOrigins: ["https://mcp.example.com"] } });
    const res = await initialize(listed, { Host: "mcp.example.com", Origin: "https://mcp.example.com" });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("https://mcp.example.com");
    expect(res.headers["access-control-expose-headers"]).toContain("Mcp-Session-Id");
    // The browser's preflight carries no credentials.
    const preflight = await rawRequest(listed.url, {
      method: "OPTIONS",
      headers: { Origin: "https://mcp.example.com", "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-headers"]).toContain("Authorization");
    expect((await initialize(listed, { Origin: "https://other.example.com" })).status).toBe(403);
    expect((await initialize(listed, { Origin: "http://mcp.example.com" })).status).toBe(403);
    const unlisted = await rawRequest(listed.url, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:1" },
    });
    expect(unlisted.status).toBe(405);
  });
});

describe("limits", () => {
  it("413 for a body over MCP_HTTP_MAX_BODY, by Content-Length or by counting a chunked body; no session", async () => {
    const s = await server({ http: { maxBodyBytes: 1024 } });
    const big = request(1, "initialize", { pad: "x".repeat(4096) });
    for (const chunked of [false, true]) {
      const res = await rawRequest(s.url, {
        method: "POST",
        headers: mcpHeaders(chunked ? { "Transfer-Encoding": "chunked" } : {}),
        body: big,
        chunked,
      });
      expect(res.status, `chunked: ${chunked}`).toBe(413);
      expect(res.json.error.message).toContain("MCP_HTTP_MAX_BODY");
      expect(res.headers["connection"]).toBe("close");
    }
    expect(s.sessionCount()).toBe(0);
    expect((await initialize(s)).status).toBe(200);
  });

  it("429 with Retry-After past MCP_HTTP_RATE_LIMIT for the token, counted after authentication; refills with time", async () => {
    let clock = 1_000_000;
    const s = await server({ http: { rateLimit: 3 }, now: () => clock });
    const get = (headers: Record<string, string | undefined> = {}, localAddress?: string) =>
      rawRequest(s.url, {
        headers: { Authorization: BEARER, Accept: "text/event-stream", ...headers },
        ...(localAddress ? { localAddress } : {}),
      });
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(400); // no session: counted all the same
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("20"); // one request every 60/3 s
    expect(limited.json.error.message).toContain("MCP_HTTP_RATE_LIMIT");
    // The allowance is the token's, whichever address it comes from (Linux routes all of 127/8 to loopback).
    expect((await get({}, "127.0.0.2")).status).toBe(429);
    // A request without the token is not the token's: it is refused for that, not counted against it.
    expect((await get({ Authorization: undefined })).status).toBe(401);
    // /healthz is not limited: probes keep working.
    expect((await rawRequest(`${base(s)}/healthz`)).status).toBe(200);
    clock += 19_999;
    expect((await get()).status).toBe(429);
    clock += 1;
    expect((await get()).status).toBe(400);
  });

  it("a flood of wrong tokens from the client's own address never holds the client with the token at 429", async () => {
    const clock = 2_000_000;
    const s = await server({ http: { rateLimit: 100 }, now: () => clock });
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      // Wrong tokens and none: both are failed authentications.
      const res = await initialize(s, {
        Authorization: i % 2 === 0 ? `Bearer ${"w".repeat(43)}` : undefined,
      });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers["retry-after"]).toBe("1");
        expect(res.json.error.message).toMatch(
          /more than 60 failed authentications a minute from this address/,
        );
      }
    }
    // Failed authentications have their own allowance, stricter than the token's: 60 a minute at most.
    expect(statuses.filter((status) => status === 401)).toHaveLength(60);
    expect(statuses.filter((status) => status === 429)).toHaveLength(90);
    // Another address's failures are counted on their own.
    const elsewhere = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders({ Authorization: undefined }),
      body: INITIALIZE,
      localAddress: "127.0.0.2",
    });
    expect(elsewhere.status).toBe(401);
    // The real client, same address, same (frozen) minute: it connects and its calls go through.
    const c = await client(s.url);
    const result = await c.call("get_nodes");
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((await rawRequest(`${base(s)}/readyz`, { headers: { Authorization: BEARER } })).status).toBe(200);
    expect(s.sessionCount()).toBe(1);
  });

  it("503 with a clear message when MCP_HTTP_MAX_SESSIONS are open; a closed session frees its place", async () => {
    const s = await server({ http: { maxSessions: 2 } });
    const a = await client(s.url);
    await client(s.url);
    const full = await initialize(s);
    expect(full.status).toBe(503);
    expect(full.json.error.message).toMatch(/all 2 sessions are in use \(MCP_HTTP_MAX_SESSIONS\)/);
    await a.transport.terminateSession();
    expect(s.sessionCount()).toBe(1);
    expect((await initialize(s)).status).toBe(200);
  });
});

describe("sessions", () => {
  it("two clients get separate sessions; ending one leaves the other working", async () => {
    const s = await server();
    const a = await client(s.url);
    const b = await client(s.url);
    expect(a.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    expect(s.sessionCount()).toBe(2);
    for (const c of [a, b]) {
      const result = await c.call("get_nodes");
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(textOf(result)).toContain("pve1");
    }
    const ended = a.transport.sessionId!;
    await a.transport.terminateSession();
    expect(s.sessionCount()).toBe(1);
    const gone = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders({ "Mcp-Session-Id": ended }),
      body: request(2, "tools/list"),
    });
    expect(gone.status).toBe(404);
    expect((await b.client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it("400 without a session id unless the request is initialize; 404 (code -32001) for an unknown id", async () => {
    const s = await server();
    const noSession = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders(),
      body: request(1, "tools/list"),
    });
    expect(noSession.status).toBe(400);
    expect(noSession.json.error.message).toContain("initialize");
    const unknown = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders({ "Mcp-Session-Id": "00000000-0000-4000-8000-000000000000" }),
      body: request(1, "tools/list"),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe(-32001);
    expect(
      (await rawRequest(s.url, { method: "POST", headers: mcpHeaders(), body: "{not json" })).status,
    ).toBe(400);
    expect(
      (
        await rawRequest(s.url, {
          method: "POST",
          headers: mcpHeaders({ "Content-Type": "text/plain" }),
          body: INITIALIZE,
        })
      ).status,
    ).toBe(415);
    expect((await rawRequest(s.url, { method: "PUT", headers: mcpHeaders() })).status).toBe(405);
    expect((await rawRequest(`${base(s)}/other`, { headers: mcpHeaders() })).status).toBe(404);
  });

  it("a session unused for MCP_HTTP_SESSION_IDLE_S is closed; its id then gets 404", async () => {
    let clock = 5_000_000;
    const s = await server({ http: { sessionIdleS: 60 }, now: () => clock });
    const idle = await client(s.url);
    const id = idle.transport.sessionId!;
    clock += 59_999;
    expect(await s.expireIdleSessions()).toBe(0);
    clock += 1;
    expect(await s.expireIdleSessions()).toBe(1);
    expect(s.sessionCount()).toBe(0);
    const res = await rawRequest(s.url, {
      method: "POST",
      headers: mcpHeaders({ "Mcp-Session-Id": id }),
      body: request(3, "tools/list"),
    });
    expect(res.status).toBe(404);
    expect(res.json.error.message).toContain("MCP_HTTP_SESSION_IDLE_S");
    await expect(idle.client.listTools()).rejects.toThrow(/404|Session not found/);
  });

  it("a request counts as use: the idle time starts again", async () => {
    let clock = 0;
    const s = await server({ http: { sessionIdleS: 60 }, now: () => clock });
    const c = await client(s.url);
    clock += 50_000;
    await c.client.listTools();
    clock += 50_000;
    expect(await s.expireIdleSessions()).toBe(0);
    expect((await c.call("get_version")).isError).toBeFalsy();
  });
});

describe("/healthz and /readyz", () => {
  it("/healthz needs no token and says only that the process is alive", async () => {
    const s = await server();
    sim.clearRequests();
    const res = await rawRequest(`${base(s)}/healthz`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"status":"ok"}');
    expect(sim.requests()).toEqual([]);
  });

  it("/readyz needs the token, then says ready when Proxmox answers and the token check passed", async () => {
    const s = await server();
    expect((await rawRequest(`${base(s)}/readyz`)).status).toBe(401);
    const res = await rawRequest(`${base(s)}/readyz`, { headers: { Authorization: BEARER } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ready" });
    expect(sim.requests().map((r) => r.path)).toEqual(
      expect.arrayContaining(["/access/permissions", "/version"]),
    );
  });

  it("/readyz: 503 with a one-line reason when Proxmox is unreachable or refuses the token, never a secret", async () => {
    const closedPort = await freePort();
    const unreachable = await server({ config: { port: closedPort } });
    const down = await rawRequest(`${base(unreachable)}/readyz`, { headers: { Authorization: BEARER } });
    expect(down.status).toBe(503);
    expect(down.json.status).toBe("not ready");
    expect(down.json.reason).toMatch(/ECONNREFUSED|refused|connect/i);
    expect(down.json.reason).not.toContain("\n");

    const refused = await server({
      config: { tokenSecret: new Secret("00000000-0000-4000-8000-00000000dead") },
    });
    const res = await rawRequest(`${base(refused)}/readyz`, { headers: { Authorization: BEARER } });
    expect(res.status).toBe(503);
    expect(res.json.reason).toMatch(/401|refused|secret/i);
    expect(res.text).not.toContain("00000000-0000-4000-8000-00000000dead");
    expect(res.text).not.toContain(sim.tokens.auditor.secret);
    expect(res.text).not.toContain(TOKEN);
  });
});

describe("elicitation over HTTP (dangerous mode)", () => {
  it("a dangerous call asks the person through the session, then acts with the admin token", async () => {
    const s = await server({ dangerous: true });
    const questions: ElicitRequest["params"][] = [];
    const c = await client(s.url, {
      onElicit: (params) => {
        questions.push(params);
        return { action: "accept", content: { confirm: true } };
      },
    });
    sim.clearRequests();
    const result = await c.call("vm_action", { vmid: 101, action: "start" });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(questions).toHaveLength(1);
    expect(questions[0]?.message).toContain('start VM 101 "db01" on pve1');
    const writes = sim.requests().filter((r) => r.method !== "GET");
    expect(writes.map((r) => `${r.method} ${r.path} ${r.tokenId}`)).toEqual([
      `POST /nodes/pve1/qemu/101/status/start ${sim.tokens.admin.id}`,
    ]);
  });
});

describe("graceful shutdown", () => {
  /** A client whose confirmation answer waits for the test: its call stays in flight until then. */
  async function heldCall(s: TestServer, vmid: number, action: string) {
    let asked!: () => void;
    let release!: (answer: ElicitResult) => void;
    const question = new Promise<void>((resolve) => (asked = resolve));
    const answer = new Promise<ElicitResult>((resolve) => (release = resolve));
    const c = await client(s.url, {
      onElicit: () => {
        asked();
        return answer;
      },
    });
    const result = c.call("vm_action", { vmid, action });
    await question;
    return { client: c, result, release };
  }

  it("stops taking new work, lets the call in flight finish (its confirmation still gets through), then closes", async () => {
    let clock = 0;
    const s = await server({ dangerous: true, http: { sessionIdleS: 60 }, now: () => clock });
    const { result, release } = await heldCall(s, 100, "suspend");
    expect(s.inFlight()).toBe(1);
    // A busy session does not expire, however long the person takes.
    clock += 3_600_000;
    expect(await s.expireIdleSessions()).toBe(0);

    const closing = s.close();
    let closed = false;
    void closing.then(() => (closed = true));
    const refused = await initialize(s);
    expect(refused.status).toBe(503);
    expect(refused.json.error.message).toContain("shutting down");
    const ready = await rawRequest(`${base(s)}/readyz`, { headers: { Authorization: BEARER } });
    expect(ready.status).toBe(503);
    // A load balancer's liveness probe learns it too, and sends new clients elsewhere.
    const health = await rawRequest(`${base(s)}/healthz`);
    expect(health.status).toBe(503);
    expect(health.json).toEqual({ status: "shutting down" });
    expect(closed).toBe(false);

    release({ action: "accept", content: { confirm: true } });
    const done = await result;
    expect(done.isError, textOf(done)).toBeFalsy();
    await closing;
    expect(s.sessionCount()).toBe(0);
    await expect(rawRequest(`${base(s)}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("is bounded: a call still waiting after the grace period is cut off", async () => {
    const s = await server({ dangerous: true, shutdownGraceMs: 1 });
    const held = await heldCall(s, 103, "suspend");
    sim.clearRequests();
    await s.close();
    expect(s.sessionCount()).toBe(0);
    // The server is gone without answering; the client gives up when it closes.
    await held.client.close();
    await expect(held.result).rejects.toThrow();
    held.release({ action: "accept", content: { confirm: true } });
    expect(sim.requests().filter((r) => r.method !== "GET")).toEqual([]);
  });
});

describe("TLS", () => {
  it("serves https with the configured certificate; an SDK client that trusts it works end to end", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const cert = issueCertificate({
      subject: "/CN=proxmox-mcp test",
      issuer: "/CN=proxmox-mcp test",
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
      san: ["127.0.0.1", "localhost"],
      publicKey,
      signingKey: privateKey,
    });
    const key = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const s = await server({
      http: { tls: { certFile: "cert.pem", keyFile: "key.pem", cert, key: new Secret(key) } },
    });
    expect(s.url).toBe(`https://127.0.0.1:${s.port}/mcp`);
    const agent = new Agent({ connect: { ca: cert } });
    cleanups.push(() => agent.close());
    const trusting = ((url, init) => undiciFetch(url, { ...init, dispatcher: agent } as never)) as FetchLike;
    const c = await client(s.url, { fetch: trusting });
    const result = await c.call("get_nodes");
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((await rawRequest(`${base(s)}/healthz`, { ca: cert })).status).toBe(200);
    // A client that does not trust the certificate gets nothing.
    await expect(rawRequest(`${base(s)}/healthz`)).rejects.toThrow(/self.signed|certificate/i);
  });
});

/** A port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
