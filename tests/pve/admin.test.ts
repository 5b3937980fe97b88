/**
 * PveAdmin against the simulator and a recording HTTPS server: writes with the admin
 * token (POST status/start returns a UPID, PUT and DELETE reach PVE with the right
 * method, token and parameters), the exact form body on the wire, the 64 KiB body limit
 * checked before connecting, no retry and "may have reached Proxmox" for a write whose
 * connection died, the method in every error and onRequest record, the raw API path
 * (requestPath re-checks what parseApiPath made), and PveReader still unable to send
 * anything but GET.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import {
  parseApiPath,
  PveAdmin,
  type CheckedApiPath,
  type PveReaderOptions,
  type PveRequestRecord,
} from "../../src/pve/admin.js";
import { MAX_BODY_BYTES, PveReader } from "../../src/pve/client.js";
import { PveApiError, PveInputError, PveTlsMismatchError, PveTransportError } from "../../src/pve/errors.js";
import { pveUpid } from "../../src/pve/formats.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";

let sim: Simulator;
const clients: { close(): Promise<void> }[] = [];
/** Every error thrown in this file, scanned for the secret at the end. */
const errors: unknown[] = [];

beforeAll(async () => {
  sim = await startSimulator({ scenario: "demo" });
});
afterEach(() => sim.faults.clear());
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim?.close();
});

function options(overrides: Partial<PveReaderOptions>): PveReaderOptions {
  return {
    host: sim.host,
    port: sim.port,
    tokenId: sim.tokens.admin.id,
    tokenSecret: new Secret(sim.tokens.admin.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 5_000,
    ...overrides,
  };
}

function admin(overrides: Partial<PveReaderOptions> = {}): PveAdmin {
  const a = new PveAdmin(options(overrides));
  clients.push(a);
  return a;
}

function reader(): PveReader {
  const r = new PveReader(
    options({ tokenId: sim.tokens.auditor.id, tokenSecret: new Secret(sim.tokens.auditor.secret) }),
  );
  clients.push(r);
  return r;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    errors.push(err);
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

/** A stopped VM on pve1 (the demo has several). */
async function stoppedVm(): Promise<number> {
  const vms = await admin().request<{ vmid: number; status: string }[]>("GET", "/nodes/{node}/qemu", {
    node: "pve1",
  });
  const vm = vms.find((v) => v.status === "stopped");
  if (!vm) throw new Error("the demo scenario has no stopped VM on pve1");
  return vm.vmid;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("writes through the simulator", () => {
  it("POST status/start returns a UPID; the log shows POST, the admin token and the body keys", async () => {
    const vmid = await stoppedVm();
    const before = sim.requests().length;
    const upid = await admin().request<string>(
      "POST",
      "/nodes/{node}/qemu/{vmid}/status/start",
      { node: "pve1", vmid },
      { body: { timeout: 30, skiplock: undefined } },
    );
    expect(pveUpid.safeParse(upid).success).toBe(true);
    expect(upid).toMatch(/^UPID:pve1:.*:qmstart:\d+:automation@pve!mcp-admin:$/);
    const log = sim.requests().slice(before);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      method: "POST",
      path: `/nodes/pve1/qemu/${vmid}/status/start`,
      tokenId: sim.tokens.admin.id,
      bodyKeys: ["timeout"],
      query: {},
      status: 200,
    });

    // The task it started, through the raw API path with the real UPID.
    await sim.tasksIdle();
    const parsed = parseApiPath("GET", `/nodes/pve1/tasks/${upid}/status`);
    expect(parsed.template).toBe("/nodes/{node}/tasks/{upid}/status");
    expect(parsed.params).toEqual({ node: "pve1", upid });
    const task = await admin().requestPath<{ status: string; upid: string }>("GET", parsed.path);
    expect(task).toMatchObject({ status: "stopped", upid });
    expect(sim.requests().at(-1)?.path).toBe(`/nodes/pve1/tasks/${upid}/status`);
  });

  it("DELETE sends its parameters in the query, with the admin token, and the error names DELETE", async () => {
    const before = sim.requests().length;
    const err = await failure(
      admin().request(
        "DELETE",
        "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
        { node: "pve1", vmid: 100, snapname: "pre_upgrade" },
        { query: { force: true } },
      ),
    );
    // The simulator does not implement this DELETE: PVE's own 501 for an unknown method.
    expect(err).toBeInstanceOf(PveApiError);
    expect(err).toMatchObject({
      status: 501,
      method: "DELETE",
      path: "/nodes/pve1/qemu/100/snapshot/pre_upgrade",
    });
    expect(err.message).toMatch(
      /^PVE answered 501 to DELETE \/nodes\/pve1\/qemu\/100\/snapshot\/pre_upgrade/,
    );
    expect(sim.requests().slice(before)).toMatchObject([
      { method: "DELETE", tokenId: sim.tokens.admin.id, query: { force: "1" }, bodyKeys: [] },
    ]);
  });

  it("PUT sends a form body, and the error names PUT", async () => {
    const before = sim.requests().length;
    const { path } = parseApiPath("PUT", "/access/password");
    const err = await failure(
      admin().requestPath("PUT", path, { body: { userid: "automation@pve", password: "correct horse 1" } }),
    );
    // PVE refuses password changes with an API token (allowtoken 0), after reading the body.
    expect(err).toMatchObject({ status: 403, method: "PUT", path: "/access/password" });
    expect(sim.requests().slice(before)).toMatchObject([
      {
        method: "PUT",
        path: "/access/password",
        tokenId: sim.tokens.admin.id,
        bodyKeys: ["password", "userid"],
      },
    ]);
  });

  it("a 595 from an offline node is a PveApiError that names POST", async () => {
    const err = await failure(
      admin().request("POST", "/nodes/{node}/qemu/{vmid}/status/start", { node: "pve3", vmid: 100 }),
    );
    expect(err).toBeInstanceOf(PveApiError);
    expect(err).toMatchObject({ status: 595, method: "POST", path: "/nodes/pve3/qemu/100/status/start" });
    expect(err.message).toContain("to POST /nodes/pve3/qemu/100/status/start");
  });

  it("reports the real method to onRequest", async () => {
    const records: PveRequestRecord[] = [];
    const a = admin({ onRequest: (record) => records.push(record) });
    await a.request("GET", "/version");
    await failure(a.request("DELETE", "/nodes/{node}/qemu/{vmid}", { node: "pve1", vmid: 999 }));
    await failure(a.request("POST", "/nodes/{node}/qemu/{vmid}/status/start", { node: "pve3", vmid: 100 }));
    expect(records.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: "GET", path: "/version", status: 200 },
      { method: "DELETE", path: "/nodes/pve1/qemu/999", status: 501 },
      { method: "POST", path: "/nodes/pve3/qemu/100/status/start", status: 595 },
    ]);
  });
});

describe("body size", () => {
  it("refuses a body over 64 KiB before connecting, and sends a body of exactly 64 KiB", async () => {
    let connects = 0;
    const onConnected = () => connects++;
    subscribe("undici:client:connected", onConnected);
    const before = sim.requests().length;
    try {
      const a = admin();
      const err = await failure(
        a.request(
          "POST",
          "/nodes/{node}/qemu/{vmid}/status/start",
          { node: "pve1", vmid: 100 },
          { body: { description: "x".repeat(MAX_BODY_BYTES) } },
        ),
      );
      expect(err).toBeInstanceOf(PveInputError);
      expect(err).toMatchObject({ field: "body" });
      expect(err.message).toMatch(/65548 bytes; pveproxy accepts at most 65536 bytes \(64 KiB\)/);
      // Multi-byte characters count as their UTF-8 bytes, percent-encoded.
      await expect(
        a.request(
          "POST",
          "/nodes/{node}/qemu/{vmid}/status/start",
          { node: "pve1", vmid: 100 },
          { body: { d: "é".repeat(11_000) } },
        ),
      ).rejects.toBeInstanceOf(PveInputError);
      await settle();
      expect(sim.requests().length).toBe(before);
      expect(connects).toBe(0);

      // "k=" + 65534 characters is 65536 bytes: pveproxy takes it (and PVE rejects the unknown key).
      const atLimit = await failure(
        a.request(
          "POST",
          "/nodes/{node}/qemu/{vmid}/status/start",
          { node: "pve1", vmid: 100 },
          { body: { k: "x".repeat(MAX_BODY_BYTES - 2) } },
        ),
      );
      expect(atLimit).toMatchObject({ status: 400, method: "POST" });
      expect(sim.requests().slice(before)).toMatchObject([{ method: "POST", bodyKeys: ["k"] }]);
    } finally {
      unsubscribe("undici:client:connected", onConnected);
    }
  });
});

describe("failures of writes", () => {
  it("a reset connection fails once, is not retried, and says the POST may have reached Proxmox", async () => {
    sim.faults.add({ kind: "reset", method: "POST", path: "/nodes/pve1/qemu/*/status/start" });
    const before = sim.requests().length;
    const err = await failure(
      admin().request("POST", "/nodes/{node}/qemu/{vmid}/status/start", { node: "pve1", vmid: 100 }),
    );
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).toMatchObject({ kind: "network", mayHaveReachedProxmox: true });
    expect(err.message).toContain("POST /nodes/pve1/qemu/100/status/start");
    expect(err.message).toMatch(/may have reached Proxmox; check the task list before retrying/);
    await settle();
    expect(
      sim
        .requests()
        .slice(before)
        .filter((e) => e.method === "POST"),
    ).toHaveLength(1);
  });

  it("a write that times out may have reached Proxmox, and is sent once", async () => {
    sim.faults.add({ kind: "hang", method: "POST", path: "/nodes/pve1/qemu/*/status/stop" });
    const before = sim.requests().length;
    const err = await failure(
      admin({ timeoutMs: 300 }).request("POST", "/nodes/{node}/qemu/{vmid}/status/stop", {
        node: "pve1",
        vmid: 100,
      }),
    );
    expect(err).toMatchObject({ kind: "timeout", mayHaveReachedProxmox: true });
    expect(err.message).toMatch(/300 ms.*\n.*may have reached Proxmox/);
    await settle();
    expect(sim.requests().slice(before).length).toBeLessThanOrEqual(1);
  });

  it("a truncated answer to a write is a protocol error that may have reached Proxmox", async () => {
    sim.faults.add({ kind: "truncate", method: "POST", path: "/nodes/pve1/qemu/*/status/start" });
    const err = await failure(
      admin().request("POST", "/nodes/{node}/qemu/{vmid}/status/start", { node: "pve1", vmid: 100 }),
    );
    expect(err).toMatchObject({ kind: "protocol", mayHaveReachedProxmox: true });
  });

  it("a failed GET does not claim anything may have changed", async () => {
    sim.faults.add({ kind: "reset", path: "/version" });
    const err = await failure(admin().request("GET", "/version"));
    expect(err).toMatchObject({ kind: "network", mayHaveReachedProxmox: false });
    expect(err.message).not.toMatch(/may have reached/);
  });

  it("a wrong pin sends nothing, and says nothing was sent", async () => {
    const wrong = sim.fingerprint.replace(/^../, sim.fingerprint.startsWith("AA") ? "BB" : "AA");
    const before = sim.requests().length;
    const err = await failure(
      admin({ tls: { mode: "fingerprint", fingerprint: wrong } }).request(
        "POST",
        "/nodes/{node}/qemu/{vmid}/status/start",
        { node: "pve1", vmid: 100 },
      ),
    );
    expect(err).toBeInstanceOf(PveTlsMismatchError);
    expect(err).toMatchObject({ mayHaveReachedProxmox: false });
    expect(err.message).toContain("nothing was sent");
    await settle();
    expect(sim.requests().length).toBe(before);
  });

  it("a refused connection says nothing about a write that may have happened", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(admin({ port }).request("POST", "/nodes/{node}/status", { node: "pve1" }));
    expect(err).toMatchObject({ kind: "network", mayHaveReachedProxmox: false });
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("an already aborted signal sends nothing", async () => {
    const before = sim.requests().length;
    const err = await failure(
      admin().request(
        "POST",
        "/nodes/{node}/qemu/{vmid}/status/start",
        { node: "pve1", vmid: 100 },
        { signal: AbortSignal.abort() },
      ),
    );
    expect(err.name).toBe("AbortError");
    expect(sim.requests().length).toBe(before);
  });
});

describe("raw API paths", () => {
  it("sends what parseApiPath made, percent-encoded, for the method it was parsed for", async () => {
    const a = admin();
    const resources = await a.requestPath<unknown[]>("GET", parseApiPath("GET", "/cluster/resources").path, {
      query: { type: "vm" },
    });
    expect(resources.length).toBeGreaterThan(0);
    expect(sim.requests().at(-1)).toMatchObject({
      method: "GET",
      path: "/cluster/resources",
      query: { type: "vm" },
      tokenId: sim.tokens.admin.id,
    });
    const version = await a.requestPath<{ version: string }>(
      "GET",
      parseApiPath("GET", "/api2/json/version").path,
    );
    expect(version.version).toBeTruthy();
  });

  it("refuses a path parsed for another method, or a forged one, without sending anything", async () => {
    const a = admin();
    const before = sim.requests().length;
    const current = parseApiPath("GET", "/nodes/pve1/qemu/100/status/current").path;
    const err = await failure(a.requestPath("POST", current));
    expect(err).toBeInstanceOf(PveInputError);
    expect(err.message).toMatch(/exists for GET only/);
    for (const forged of [
      "/nodes/pve1%2F..%2Faccess/status",
      "/nodes/pve1/../access/users",
      "/version?x=1",
      "%zz",
    ]) {
      const e = await failure(a.requestPath("GET", forged as CheckedApiPath));
      expect(e).toBeInstanceOf(PveInputError);
    }
    expect(sim.requests().length).toBe(before);
  });
});

describe("the wire (a recording HTTPS server with the simulator's certificate)", () => {
  interface Recorded {
    method: string;
    url: string;
    headers: IncomingMessage["headers"];
    body: string;
  }
  let server: Server;
  let port: number;
  const recorded: Recorded[] = [];
  let connections = 0;

  beforeAll(async () => {
    server = createServer(
      { cert: sim.cluster.servedCertificate().pem, key: sim.cluster.pki.nodeKeyPem },
      (req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          recorded.push({
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
          res.writeHead(200, { "Content-Type": "application/json;charset=UTF-8" });
          res.end('{"data":null}');
        });
      },
    );
    server.on("secureConnection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const onWire = () => admin({ port });

  it("POST and PUT: an x-www-form-urlencoded body, booleans as 1/0, undefined left out, arrays repeated", async () => {
    recorded.length = 0;
    const a = onWire();
    await a.request(
      "POST",
      "/nodes/{node}/qemu/{vmid}/agent/exec",
      { node: "pve1", vmid: 100 },
      {
        body: {
          command: ["sh", "-c", "echo a&b=c;d #e %f /é+"],
          "input-data": undefined,
          flag: true,
          off: false,
          n: 5,
        },
      },
    );
    await a.requestPath("PUT", parseApiPath("PUT", "/nodes/pve1/qemu/100/config").path, {
      body: { description: "line 1\nline 2" },
    });
    const expected =
      "command=sh&command=-c&command=echo+a%26b%3Dc%3Bd+%23e+%25f+%2F%C3%A9%2B&flag=1&off=0&n=5";
    expect(recorded.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      { method: "POST", url: "/api2/json/nodes/pve1/qemu/100/agent/exec", body: expected },
      { method: "PUT", url: "/api2/json/nodes/pve1/qemu/100/config", body: "description=line+1%0Aline+2" },
    ]);
    expect(recorded[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(recorded[0]?.headers["content-length"]).toBe(String(Buffer.byteLength(expected)));
    expect(recorded[0]?.headers["authorization"]).toBe(
      `PVEAPIToken=${sim.tokens.admin.id}=${sim.tokens.admin.secret}`,
    );
  });

  it("a write without parameters sends no body and no Content-Type", async () => {
    recorded.length = 0;
    await onWire().request(
      "POST",
      "/nodes/{node}/qemu/{vmid}/status/start",
      { node: "pve1", vmid: 100 },
      {
        body: { skiplock: undefined },
      },
    );
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.body).toBe("");
    expect(recorded[0]?.headers["content-type"]).toBeUndefined();
    expect(recorded[0]?.headers["content-length"] ?? "0").toBe("0");
    expect(recorded[0]?.headers["transfer-encoding"]).toBeUndefined();
  });

  it("GET and DELETE: parameters in the query, no body; a body for them is refused before sending", async () => {
    recorded.length = 0;
    const a = onWire();
    await a.request(
      "DELETE",
      "/nodes/{node}/qemu/{vmid}",
      { node: "pve1", vmid: 100 },
      {
        query: { purge: true, "destroy-unreferenced-disks": 1, skiplock: undefined },
      },
    );
    await a.request("GET", "/nodes/{node}/tasks", { node: "pve1" }, { query: { limit: 5 } });
    expect(recorded.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      {
        method: "DELETE",
        url: "/api2/json/nodes/pve1/qemu/100?purge=1&destroy-unreferenced-disks=1",
        body: "",
      },
      { method: "GET", url: "/api2/json/nodes/pve1/tasks?limit=5", body: "" },
    ]);
    expect(recorded.every((r) => r.headers["content-type"] === undefined)).toBe(true);
    await expect(a.request("DELETE", "/version", {}, { body: { x: 1 } })).rejects.toThrow(/carries no body/);
    await expect(a.request("GET", "/version", {}, { body: { x: 1 } })).rejects.toThrow(/carries no body/);
    expect(recorded).toHaveLength(2);
  });

  it("each write gets a connection of its own; reads share one", async () => {
    const a = onWire();
    await a.request("GET", "/version");
    await settle();
    const start = connections;
    for (let i = 0; i < 6; i++) await a.request("GET", "/version");
    // At most one more: undici may open a second one for a request sent in the tick an answer ended.
    expect(connections - start).toBeLessThanOrEqual(1);
    const reads = connections;
    for (let i = 0; i < 3; i++) await a.request("POST", "/nodes/{node}/status", { node: "pve1" });
    expect(connections - reads).toBe(3);
  });
});

describe("PveReader stays GET-only", () => {
  it("has no way to name a method, in its types or at run time", async () => {
    const r = reader();
    const before = sim.requests().length;
    // @ts-expect-error PveReader has no request()
    expect(() => r.request("POST", "/nodes/{node}/status", { node: "pve1" })).toThrow(TypeError);
    // @ts-expect-error nor post()
    expect(() => r.post("/nodes/{node}/status", { node: "pve1" })).toThrow(TypeError);
    // @ts-expect-error GetOptions has no method ...
    await r.get("/version", {}, { method: "POST" });
    // @ts-expect-error ... and no body
    await r.get("/version", {}, { body: { x: 1 } });
    expect(
      sim
        .requests()
        .slice(before)
        .map((e) => `${e.method} ${e.path} ${e.bodyKeys.length}`),
    ).toEqual(["GET /version 0", "GET /version 0"]);
    expect(Object.getOwnPropertyNames(PveReader.prototype).sort()).toEqual([
      "close",
      "constructor",
      "get",
      "getPath",
      "getWithTotal",
    ]);
  });

  it("PveAdmin has exactly request, requestPath and close", () => {
    expect(Object.getOwnPropertyNames(PveAdmin.prototype).sort()).toEqual([
      "close",
      "constructor",
      "request",
      "requestPath",
    ]);
  });

  it("refuses a method PVE does not have, before sending", async () => {
    const before = sim.requests().length;
    // @ts-expect-error not an ApiMethod
    await expect(admin().request("PATCH", "/version")).rejects.toThrow(/not a PVE API method/);
    expect(sim.requests().length).toBe(before);
  });
});

describe("secrets", () => {
  it("serializes and inspects without the secret", () => {
    const a = admin();
    expect(JSON.stringify(a)).toBe("{}");
    expect(inspect(a, { showHidden: true, depth: 10 })).not.toContain(sim.tokens.admin.secret);
  });

  it("no error thrown in this file contains the admin secret", () => {
    expect(errors.length).toBeGreaterThan(10);
    for (const err of errors) {
      const views = [String(err), JSON.stringify(err), inspect(err, { showHidden: true, depth: 10 })];
      for (const view of views) {
        expect(view).not.toContain(sim.tokens.admin.secret);
        expect(view).not.toMatch(/PVEAPIToken|Authorization/i);
      }
    }
  });
});
