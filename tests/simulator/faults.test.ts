/**
 * Faults on demand: latency, hang, stall, reset, truncate and status rules; `times`,
 * method filters, glob and RegExp paths, remove / clear, and close() while requests
 * hang or stall. Client deadlines only abort requests; nothing here measures time.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { request } from "node:https";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { api, tokenHeader } from "../helpers/client.js";

/** How long the client waits for an answer that is not supposed to come. */
const DEADLINE_MS = 200;

let sim: Simulator;
/** Closed by a test while requests hang and stall on it. */
let closing: Simulator;

beforeAll(async () => {
  [sim, closing] = await Promise.all([startSimulator(), startSimulator()]);
});
afterAll(async () => {
  await Promise.all([sim?.close(), closing?.close()]);
});
afterEach(() => sim.faults.clear());

interface Opened {
  /** Settles with the response head, or rejects with the request's error. */
  response: Promise<IncomingMessage>;
  /** Settles once the exchange is over, however it ended. */
  outcome: Promise<Outcome>;
}

type Outcome =
  | { kind: "complete"; status: number; headers: IncomingHttpHeaders; body: Buffer }
  | { kind: "body-aborted"; status: number; headers: IncomingHttpHeaders; received: number; error: string }
  | { kind: "error"; code: string | undefined; message: string; name: string };

/**
 * A raw request that reports how it ended: a complete answer, an answer whose body
 * broke off, or an error (with `signal`, AbortError when the client gave up).
 */
function open(s: Simulator, path: string, options: { method?: string; signal?: AbortSignal } = {}): Opened {
  const headers = { Authorization: tokenHeader(s.tokens.auditor) };
  let onResponse!: (res: IncomingMessage) => void;
  let onResponseError!: (err: Error) => void;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    onResponse = resolve;
    onResponseError = reject;
  });
  response.catch(() => undefined);
  const outcome = new Promise<Outcome>((resolve) => {
    let head: { status: number; headers: IncomingHttpHeaders } | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const req = request(
      {
        host: "127.0.0.1",
        port: s.port,
        method: options.method ?? "GET",
        path: `/api2/json${path}`,
        ca: s.caPem,
        agent: false,
        headers,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        head = { status: res.statusCode ?? 0, headers: res.headers };
        onResponse(res);
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          received += c.length;
        });
        res.on("end", () => resolve({ kind: "complete", ...head!, body: Buffer.concat(chunks) }));
        res.on("error", (err) => resolve({ kind: "body-aborted", ...head!, received, error: err.message }));
        res.on("close", () => {
          if (!res.complete) resolve({ kind: "body-aborted", ...head!, received, error: "closed" });
        });
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      onResponseError(err);
      // After the head, an error (abort, reset) means the body broke off.
      if (head) resolve({ kind: "body-aborted", ...head, received, error: err.message });
      else resolve({ kind: "error", code: err.code, message: err.message, name: err.name });
    });
    req.end();
  });
  return { response, outcome };
}

describe("fault kinds", () => {
  it("latency: the request still succeeds", async () => {
    sim.faults.add({ kind: "latency", path: "/version", ms: 30 });
    const res = await api(sim, { path: "/version", token: sim.tokens.auditor });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ release: expect.any(String) });
  });

  it("hang: no status line ever comes, the client's deadline fires", async () => {
    sim.faults.add({ kind: "hang", path: "/version" });
    const { response, outcome } = open(sim, "/version", { signal: AbortSignal.timeout(DEADLINE_MS) });
    await expect(response).rejects.toMatchObject({ name: "AbortError" });
    expect(await outcome).toMatchObject({ kind: "error", name: "AbortError" });
    // Other paths are not affected.
    expect((await api(sim, { path: "/nodes", token: sim.tokens.auditor })).status).toBe(200);
  });

  it("stall: 200 with headers and a Content-Length, then the body never completes", async () => {
    sim.faults.add({ kind: "stall", path: "/cluster/resources" });
    const ac = new AbortController();
    const { response, outcome } = open(sim, "/cluster/resources", { signal: ac.signal });
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(res.headers["content-encoding"]).toBeUndefined();
    const length = Number(res.headers["content-length"]);
    expect(length).toBeGreaterThan(0);
    const deadline = setTimeout(() => ac.abort(), DEADLINE_MS);
    const result = await outcome;
    clearTimeout(deadline);
    expect(result.kind).toBe("body-aborted");
    if (result.kind === "body-aborted") expect(result.received).toBeLessThan(length);
  });

  it("reset: the connection is reset before any answer", async () => {
    sim.faults.add({ kind: "reset", path: "/version" });
    const { outcome } = open(sim, "/version");
    const result = await outcome;
    expect(result.kind).toBe("error");
    if (result.kind === "error") {
      expect(
        result.code === "ECONNRESET" || result.message === "socket hang up",
        JSON.stringify(result),
      ).toBe(true);
    }
  });

  it("truncate: 200, but the body is cut and not valid JSON", async () => {
    sim.faults.add({ kind: "truncate", path: "/cluster/resources" });
    const res = await api(sim, {
      path: "/cluster/resources",
      token: sim.tokens.auditor,
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(Number(res.headers["content-length"])).toBe(Buffer.byteLength(res.raw));
    expect(res.raw.startsWith('{"data":[')).toBe(true);
    expect(res.body).toBeUndefined();
    expect(() => JSON.parse(res.raw)).toThrow(SyntaxError);
  });

  it("truncate applies to error answers too", async () => {
    sim.faults.add({ kind: "truncate", path: "/nodes/pve1/qemu/100/status/stop" });
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/100/status/stop",
      token: sim.tokens.auditor,
    });
    expect(res.status).toBe(403);
    expect(res.raw.length).toBeGreaterThan(0);
    expect(() => JSON.parse(res.raw)).toThrow(SyntaxError);
  });

  it("status: answers that status and message with PVE's JSON error body", async () => {
    sim.faults.add({
      kind: "status",
      path: "/cluster/resources",
      status: 503,
      message: "Service Unavailable",
    });
    const res = await api(sim, { path: "/cluster/resources", token: sim.tokens.auditor });
    expect(res.status).toBe(503);
    expect(res.reason).toBe("Service Unavailable");
    expect(res.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(res.headers["server"]).toBe("pve-api-daemon/3.0");
    expect(res.body).toEqual({ data: null, message: "Service Unavailable\n" });
  });

  it("status: defaults to 500 'simulated failure', and comes before authentication", async () => {
    sim.faults.add({ kind: "status", path: "/version" });
    const res = await api(sim, { path: "/version" });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ data: null, message: "simulated failure\n" });
  });

  it("logs a faulted request with the status it got", async () => {
    sim.faults.add({ kind: "status", path: "/version", status: 502, message: "Bad Gateway" });
    sim.clearRequests();
    await api(sim, { path: "/version", token: sim.tokens.auditor });
    expect(sim.requests()).toEqual([
      expect.objectContaining({ method: "GET", path: "/version", status: 502 }),
    ]);
  });
});

describe("rule matching", () => {
  const get = (path: string) => api(sim, { path, token: sim.tokens.auditor });

  it("times: 1 applies to one matching request, then the rule is gone", async () => {
    sim.faults.add({ kind: "status", path: "/version", status: 502, message: "Bad Gateway", times: 1 });
    expect(sim.faults.list()).toHaveLength(1);
    expect((await get("/nodes")).status).toBe(200); // not matching: does not use up the rule
    expect((await get("/version")).status).toBe(502);
    expect(sim.faults.list()).toEqual([]);
    expect((await get("/version")).status).toBe(200);
  });

  it("times: 2 applies twice", async () => {
    sim.faults.add({ kind: "status", path: "/version", status: 503, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get("/version")).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it("method: only requests with that method (case-insensitive) are hit", async () => {
    sim.faults.add({ kind: "status", path: "/nodes/pve1/qemu/101/status/*", method: "post", status: 500 });
    expect((await get("/nodes/pve1/qemu/101/status/current")).status).toBe(200);
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/101/status/start",
      token: sim.tokens.auditor,
    });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("simulated failure\n");
  });

  it("glob: '*' matches any characters including '/', and the pattern is anchored", async () => {
    sim.faults.add({ kind: "status", path: "/nodes/*/qemu", status: 503 });
    expect((await get("/nodes/pve1/qemu")).status).toBe(503);
    expect((await get("/nodes/pve2/qemu")).status).toBe(503);
    expect((await get("/nodes/pve1/lxc")).status).toBe(200);
    expect((await get("/nodes/pve1/qemu/100/config")).status).toBe(200);
    sim.faults.clear();

    sim.faults.add({ kind: "status", path: "/nodes/*/config", status: 503 });
    expect((await get("/nodes/pve1/qemu/100/config")).status).toBe(503);
    expect((await get("/nodes/pve1/lxc/200/config")).status).toBe(503);
    expect((await get("/nodes/pve1/qemu/100/status/current")).status).toBe(200);
  });

  it("glob: other characters are literal, and the query string is not part of the path", async () => {
    sim.faults.add({ kind: "status", path: "/cluster/resources", status: 503 });
    expect((await get("/cluster/resources?type=vm")).status).toBe(503);
    sim.faults.clear();
    sim.faults.add({ kind: "status", path: "/cluster.resources", status: 503 });
    expect((await get("/cluster/resources")).status).toBe(200);
  });

  it("matches the decoded path", async () => {
    sim.faults.add({ kind: "status", path: "/nodes/pve1/qemu/100/config", status: 503 });
    expect((await get("/nodes/pve1/qemu/100%2Fconfig")).status).toBe(503);
  });

  it("RegExp paths", async () => {
    sim.faults.add({ kind: "status", path: /^\/cluster\/(resources|tasks)$/, status: 504 });
    expect((await get("/cluster/resources")).status).toBe(504);
    expect((await get("/cluster/tasks")).status).toBe(504);
    expect((await get("/cluster/status")).status).toBe(200);
  });

  it("remove(id) drops one rule, clear() drops all", async () => {
    const a = sim.faults.add({ kind: "status", path: "/version", status: 502 });
    const b = sim.faults.add({ kind: "status", path: "/nodes", status: 503 });
    expect(a).not.toBe(b);
    expect(sim.faults.list().map((r) => r.path)).toEqual(["/version", "/nodes"]);
    sim.faults.remove(a);
    expect(sim.faults.list().map((r) => r.path)).toEqual(["/nodes"]);
    expect((await get("/version")).status).toBe(200);
    expect((await get("/nodes")).status).toBe(503);
    sim.faults.add({ kind: "hang", path: "/cluster/*" });
    sim.faults.clear();
    expect(sim.faults.list()).toEqual([]);
    expect((await get("/nodes")).status).toBe(200);
    expect((await get("/cluster/resources")).status).toBe(200);
  });

  it("several rules can hit one request: latency then a status", async () => {
    sim.faults.add({ kind: "latency", path: "/version", ms: 10 });
    sim.faults.add({ kind: "status", path: "/version", status: 503 });
    expect((await get("/version")).status).toBe(503);
  });
});

describe("close()", () => {
  it("resolves while one request hangs and another stalls; both clients see the connection end", async () => {
    closing.faults.add({ kind: "hang", path: "/version" });
    closing.faults.add({ kind: "stall", path: "/cluster/resources" });
    // Learn when the hanging request has reached the server (its fault rules are looked up).
    const match = closing.faults.match.bind(closing.faults);
    const hangArrived = new Promise<void>((resolve) => {
      closing.faults.match = (method, path) => {
        const hits = match(method, path);
        if (hits.some((h) => h.kind === "hang")) resolve();
        return hits;
      };
    });

    const hanging = open(closing, "/version");
    const stalled = open(closing, "/cluster/resources");
    await hangArrived;
    const head = await stalled.response;
    expect(head.statusCode).toBe(200);

    await closing.close();

    expect(await hanging.outcome).toMatchObject({ kind: "error" });
    expect(await stalled.outcome).toMatchObject({ kind: "body-aborted" });
  });
});
