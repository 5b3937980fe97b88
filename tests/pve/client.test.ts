/**
 * PveReader against the simulator: TLS modes (CA file, pinning, system CAs, insecure),
 * hostile path values that must send nothing, faults (hang, stall, truncate, reset,
 * status), PVE's errors (401, 403, 400 field errors, 595), gzip, caller aborts, and the
 * token secret staying out of every error, serialization and inspection.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { TlsMode } from "../../src/config/types.js";
import { PveReader, type PveReaderOptions, type PveRequestRecord } from "../../src/pve/client.js";
import { PveApiError, PveInputError, PveTlsMismatchError, PveTransportError } from "../../src/pve/errors.js";
import { RULES } from "../../src/pve/formats.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";

let sim: Simulator;
const readers: PveReader[] = [];
/** Every error a reader threw in this file, scanned for the secret at the end. */
const errors: unknown[] = [];

beforeAll(async () => {
  sim = await startSimulator();
});
afterEach(() => sim.faults.clear());
afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await sim?.close();
});

const caFile = (): TlsMode => ({ mode: "ca-file", caFile: "pve-root-ca.pem", caPem: sim.caPem });

function reader(overrides: Partial<PveReaderOptions> = {}): PveReader {
  const r = new PveReader({
    host: sim.host,
    port: sim.port,
    tokenId: sim.tokens.auditor.id,
    tokenSecret: new Secret(sim.tokens.auditor.secret),
    tls: caFile(),
    timeoutMs: 5_000,
    ...overrides,
  });
  readers.push(r);
  return r;
}

/** The error `promise` rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    errors.push(err);
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

interface Version {
  version: string;
  release: string;
}

describe("TLS modes", () => {
  it("reads /version and /cluster/resources trusting the cluster CA file", async () => {
    const r = reader();
    expect((await r.get<Version>("/version")).release).toMatch(/^\d+\.\d+$/);
    const resources = await r.get<{ type: string }[]>("/cluster/resources");
    expect(resources.some((x) => x.type === "qemu")).toBe(true);
  });

  it("reads with the certificate's fingerprint pinned, in either case and with or without colons", async () => {
    for (const fingerprint of [sim.fingerprint, sim.fingerprint.replace(/:/g, "").toLowerCase()]) {
      const r = reader({ tls: { mode: "fingerprint", fingerprint } });
      expect((await r.get<Version>("/version")).version).toBeTruthy();
      expect((await r.get<unknown[]>("/cluster/resources")).length).toBeGreaterThan(0);
    }
  });

  it("refuses a wrong pin naming both fingerprints, and sends no request", async () => {
    const wrong = sim.fingerprint.replace(/^../, sim.fingerprint.startsWith("AA") ? "BB" : "AA");
    const before = sim.requests().length;
    const err = await failure(reader({ tls: { mode: "fingerprint", fingerprint: wrong } }).get("/version"));
    expect(err).toBeInstanceOf(PveTlsMismatchError);
    expect(err).toMatchObject({ kind: "tls", expected: wrong, actual: sim.fingerprint });
    expect(err.message).toContain(wrong);
    expect(err.message).toContain(sim.fingerprint);
    expect(sim.requests().length).toBe(before);
  });

  it("writes not one byte (so no token) to a server whose certificate is not the pinned one", async () => {
    // The simulator's certificate and key on a bare TLS server that counts what it receives.
    let received = 0;
    const server = createTlsServer(
      { cert: sim.cluster.servedCertificate().pem, key: sim.cluster.pki.nodeKeyPem },
      (socket) => {
        socket.on("data", (chunk: Buffer) => (received += chunk.length));
        socket.on("error", () => undefined);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const port = (server.address() as AddressInfo).port;
      // Control: with the right pin the request arrives (and then hangs: this server never answers).
      const right = reader({
        port,
        tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
        timeoutMs: 300,
      });
      expect(await failure(right.get("/version"))).toMatchObject({ kind: "timeout" });
      await settle();
      expect(received).toBeGreaterThan(0);

      received = 0;
      const pinned = "00:".repeat(31) + "00";
      const wrong = reader({ port, tls: { mode: "fingerprint", fingerprint: pinned }, timeoutMs: 2_000 });
      expect(await failure(wrong.get("/version"))).toBeInstanceOf(PveTlsMismatchError);
      await settle();
      expect(received).toBe(0);
    } finally {
      server.close();
    }
  });

  it("fails with kind tls when only the system CAs are trusted", async () => {
    const err = await failure(reader({ tls: { mode: "system" } }).get("/version"));
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).not.toBeInstanceOf(PveTlsMismatchError);
    expect((err as PveTransportError).kind).toBe("tls");
    expect(err.message).toMatch(/PROXMOX_CA_FILE|PROXMOX_TLS_FINGERPRINT/);
  });

  it("works with verification off (insecure)", async () => {
    expect((await reader({ tls: { mode: "insecure" } }).get<Version>("/version")).version).toBeTruthy();
  });

  it("never changes the process-wide TLS setting", () => {
    expect(process.env["NODE_TLS_REJECT_UNAUTHORIZED"]).toBeUndefined();
  });
});

describe("path values", () => {
  const hostileNodes: [string, unknown][] = [
    ["../access", "../access"],
    ["a path with a fragment", "pve/qemu/101/status/stop#"],
    ["an encoded slash", "%2F"],
    ["a query", "pve1?x=1"],
    ["Cyrillic look-alikes", "\u0440v\u04351"],
    ["empty", ""],
    ["1000 characters", "p".repeat(1000)],
    ["a dot-dot segment", ".."],
    ["a number", 1],
  ];
  const hostileVmids: unknown[] = [0, 99, "0100", -1, "1e3", 1_000_000_000, "100 ", 100.5, "100/../101", ""];

  it.each(hostileNodes)("refuses node = %s without sending anything", async (_label, node) => {
    const before = sim.requests().length;
    const err = await failure(reader().get("/nodes/{node}/qemu", { node: node as string }));
    expect(err).toBeInstanceOf(PveInputError);
    expect(err).toMatchObject({ field: "node", rule: RULES.node });
    expect(err.message).toBe(`node: ${RULES.node}`);
    expect(sim.requests().length).toBe(before);
  });

  it.each(hostileVmids.map((v) => [v]))("refuses vmid = %j without sending anything", async (vmid) => {
    const before = sim.requests().length;
    const err = await failure(
      reader().get("/nodes/{node}/qemu/{vmid}/status/current", { node: "pve1", vmid: vmid as number }),
    );
    expect(err).toBeInstanceOf(PveInputError);
    expect(err.message).toBe(`vmid: ${RULES.vmid}`);
    expect(sim.requests().length).toBe(before);
  });

  it("fills valid values into the template, vmid as a number or a decimal string", async () => {
    const r = reader();
    for (const vmid of [100, "100"]) {
      const status = await r.get<{ vmid: number }>("/nodes/{node}/qemu/{vmid}/status/current", {
        node: "pve1",
        vmid,
      });
      expect(status.vmid).toBe(100);
    }
    expect(sim.requests().at(-1)?.path).toBe("/nodes/pve1/qemu/100/status/current");
  });

  it("treats a bad template as a programming error and sends nothing", async () => {
    const r = reader();
    const before = sim.requests().length;
    await expect(r.get("/nodes/{nodename}/qemu", { nodename: "pve1" })).rejects.toThrow(/has no format/);
    await expect(r.get("/nodes/{node}/qemu")).rejects.toThrow(/\{node\} has no value/);
    await expect(r.get("/nodes/{node}/qemu", { node: "pve1", vmid: 100 })).rejects.toThrow(/has no \{vmid\}/);
    await expect(r.get("/nodes/../access/users")).rejects.toThrow(/malformed/);
    await expect(r.get("/nodes/pve1/qemu?type=x")).rejects.toThrow(/malformed/);
    expect(sim.requests().length).toBe(before);
  });

  it("encodes query values (booleans as 1/0, undefined left out)", async () => {
    const r = reader();
    await r.get(
      "/nodes/{node}/tasks",
      { node: "pve1" },
      { query: { errors: true, limit: 5, vmid: undefined } },
    );
    expect(sim.requests().at(-1)?.query).toEqual({ errors: "1", limit: "5" });
    await failure(r.get("/cluster/resources", {}, { query: { type: "vm&type=node#x" } }));
    expect(sim.requests().at(-1)?.query).toEqual({ type: "vm&type=node#x" });
  });
});

describe("faults", () => {
  it("a hang before the headers fails with kind timeout, after one request", async () => {
    sim.faults.add({ kind: "hang", path: "/version" });
    const before = sim.requests().length;
    const err = await failure(reader({ timeoutMs: 300 }).get("/version"));
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).toMatchObject({ kind: "timeout" });
    expect(err.message).toContain("300 ms");
    await new Promise((resolve) => setTimeout(resolve, 50)); // the hung request is logged when it closes
    expect(sim.requests().length - before).toBeLessThanOrEqual(1);
  });

  it("a body that stalls after the headers fails with kind timeout", async () => {
    sim.faults.add({ kind: "stall", path: "/cluster/resources" });
    const err = await failure(reader({ timeoutMs: 300 }).get("/cluster/resources"));
    expect(err).toMatchObject({ kind: "timeout" });
  });

  it("truncated JSON in a 200 fails with kind protocol", async () => {
    sim.faults.add({ kind: "truncate", path: "/cluster/resources" });
    const err = await failure(reader().get("/cluster/resources"));
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).toMatchObject({ kind: "protocol" });
  });

  it("a connection reset fails with kind network and is not retried", async () => {
    sim.faults.add({ kind: "reset", path: "/version" });
    const before = sim.requests().length;
    const err = await failure(reader().get("/version"));
    expect(err).toMatchObject({ kind: "network" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(
      sim
        .requests()
        .slice(before)
        .filter((e) => e.path === "/version"),
    ).toHaveLength(1);
  });

  it("a redirect is refused as a protocol error", async () => {
    sim.faults.add({ kind: "status", path: "/version", status: 302, message: "Found" });
    const err = await failure(reader().get("/version"));
    expect(err).toMatchObject({ kind: "protocol" });
    expect(err.message).toMatch(/redirect/);
  });

  it("a 500 is a PveApiError with PVE's message", async () => {
    sim.faults.add({ kind: "status", path: "/cluster/resources", status: 500, message: "boom" });
    const err = await failure(reader().get("/cluster/resources"));
    expect(err).toBeInstanceOf(PveApiError);
    expect(err).toMatchObject({ status: 500, pveMessage: "boom", method: "GET", path: "/cluster/resources" });
  });
});

describe("PVE errors", () => {
  it("an offline node (pve3) is a PveApiError with status 595 and the proxy's reason", async () => {
    const err = await failure(reader().get("/nodes/{node}/qemu", { node: "pve3" }));
    expect(err).toBeInstanceOf(PveApiError);
    expect(err).toMatchObject({ status: 595, pveMessage: "No route to host", path: "/nodes/pve3/qemu" });
  });

  it("a wrong secret is a 401 with PVE's reason", async () => {
    const err = await failure(
      reader({ tokenSecret: new Secret("00000000-0000-0000-0000-000000000000") }).get("/version"),
    );
    expect(err).toMatchObject({ status: 401, pveMessage: "Authentication failed!" });
  });

  it("a missing privilege is a 403 naming the path and privilege", async () => {
    const err = await failure(reader().get("/nodes/{node}/apt/update", { node: "pve1" }));
    expect(err).toMatchObject({ status: 403, path: "/nodes/pve1/apt/update" });
    expect((err as PveApiError).pveMessage).toBe("Permission check failed (/nodes/pve1, Sys.Modify)");
    expect(err.message).toContain("Sys.Modify");
  });

  it("a 400 carries PVE's field errors", async () => {
    const err = await failure(reader().get("/cluster/resources", {}, { query: { type: "foo" } }));
    expect(err).toMatchObject({ status: 400, pveMessage: "Parameter verification failed." });
    expect((err as PveApiError).fieldErrors?.["type"]).toMatch(/enumeration/);
    expect(err.message).toContain("type: ");
  });

  it("takes the message from the reason phrase when the body has none (PVE 8)", async () => {
    const pve8 = await startSimulator({ pve: 8 });
    try {
      const r = reader({
        port: pve8.port,
        tokenId: pve8.tokens.auditor.id,
        tokenSecret: new Secret(pve8.tokens.auditor.secret),
        tls: { mode: "fingerprint", fingerprint: pve8.fingerprint },
      });
      const err = await failure(r.get("/nodes/{node}/apt/update", { node: "pve1" }));
      const message = "Permission check failed (/nodes/pve1, Sys.Modify)";
      expect(err).toMatchObject({ status: 403, reason: message, pveMessage: message });
    } finally {
      await pve8.close();
    }
  });
});

describe("transport", () => {
  it("asks for no compression (pveproxy's gzip is slower than a LAN) and reads the plain answer", async () => {
    const asked: string[] = [];
    const encodings: string[] = [];
    const onCreate = (message: unknown) => {
      // undici lists a request's headers as [name, value, name, value, ...].
      const { headers } = (message as { request: { headers: string[] } }).request;
      const i = headers.findIndex((h, at) => at % 2 === 0 && h.toLowerCase() === "accept-encoding");
      asked.push(i >= 0 ? (headers[i + 1] ?? "") : "none");
    };
    const onHeaders = (message: unknown) => {
      const { response } = message as { response: { headers: Buffer[] } };
      const headers = response.headers.map(String);
      const i = headers.findIndex((h) => h.toLowerCase() === "content-encoding");
      encodings.push(i >= 0 ? (headers[i + 1] ?? "") : "none");
    };
    subscribe("undici:request:create", onCreate);
    subscribe("undici:request:headers", onHeaders);
    try {
      const resources = await reader().get<unknown[]>("/cluster/resources");
      expect(resources.length).toBeGreaterThan(10);
    } finally {
      unsubscribe("undici:request:create", onCreate);
      unsubscribe("undici:request:headers", onHeaders);
    }
    expect(asked).toEqual(["identity"]);
    expect(encodings).toEqual(["none"]);
  });

  it("an answer compressed unasked (a proxy's doing) is refused as a protocol error", async () => {
    sim.faults.add({ kind: "gzip", path: "/cluster/resources" });
    const err = await failure(reader().get("/cluster/resources"));
    expect(err).toMatchObject({ kind: "protocol" });
    expect(err.message).toMatch(/Content-Encoding "gzip" it was not asked for; something in front of PVE/);
  });

  it("keeps connections alive between requests", async () => {
    let connects = 0;
    const onConnected = () => connects++;
    subscribe("undici:client:connected", onConnected);
    try {
      const r = reader();
      for (let i = 0; i < 6; i++) await r.get("/version");
    } finally {
      unsubscribe("undici:client:connected", onConnected);
    }
    // undici's pool may open a second connection for a request sent in the same tick as the
    // previous answer ended (its "drain" comes a microtask later); both are then reused.
    expect(connects).toBeLessThanOrEqual(2);
  });

  it("returns PVE's total with getWithTotal", async () => {
    const answer = await reader().getWithTotal<unknown[]>("/nodes/{node}/tasks", { node: "pve1" });
    expect(Array.isArray(answer.data)).toBe(true);
    if (answer.data.length > 0) expect(answer.total).toBeGreaterThanOrEqual(answer.data.length);
  });

  it("reports every request to onRequest, without host or secret", async () => {
    const records: PveRequestRecord[] = [];
    const r = reader({ onRequest: (record) => records.push(record) });
    await r.get("/version");
    await failure(r.get("/nodes/{node}/qemu", { node: "pve3" }));
    sim.faults.add({ kind: "hang", path: "/cluster/resources" });
    await failure(
      reader({ timeoutMs: 200, onRequest: (record) => records.push(record) }).get("/cluster/resources"),
    );
    expect(records.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: "GET", path: "/version", status: 200 },
      { method: "GET", path: "/nodes/pve3/qemu", status: 595 },
      { method: "GET", path: "/cluster/resources", status: null },
    ]);
    expect(records.every((record) => record.durationMs >= 0)).toBe(true);
  });

  it("the caller's AbortSignal aborts a request in flight with the signal's reason", async () => {
    sim.faults.add({ kind: "hang", path: "/version" });
    const controller = new AbortController();
    const pending = failure(reader().get("/version", {}, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const err = await pending;
    expect(err.name).toBe("AbortError");
    expect(err).toBe(controller.signal.reason);
  });

  it("an already aborted signal sends nothing", async () => {
    const before = sim.requests().length;
    const err = await failure(reader().get("/version", {}, { signal: AbortSignal.abort() }));
    expect(err.name).toBe("AbortError");
    expect(sim.requests().length).toBe(before);
  });
});

describe("read-only and secret-safe", () => {
  it("has no method that could send anything but GET", () => {
    expect(Object.getOwnPropertyNames(PveReader.prototype).sort()).toEqual([
      "close",
      "constructor",
      "get",
      "getPath",
      "getWithTotal",
    ]);
    const r = reader() as unknown as Record<string, unknown>;
    for (const name of ["post", "put", "delete", "request", "fetch", "send", "dispatch"]) {
      expect(r[name]).toBeUndefined();
    }
  });

  it("serializes and inspects without the secret", () => {
    const r = reader();
    expect(JSON.stringify(r)).toBe("{}");
    expect(inspect(r, { showHidden: true, depth: 10 })).not.toContain(sim.tokens.auditor.secret);
    expect(String(r)).not.toContain(sim.tokens.auditor.secret);
  });

  it("no error thrown in this file contains a token secret, in message, JSON or inspection", () => {
    const secrets = [sim.tokens.auditor.secret, "00000000-0000-0000-0000-000000000000"];
    expect(errors.length).toBeGreaterThan(20);
    for (const err of errors) {
      const views = [String(err), JSON.stringify(err), inspect(err, { showHidden: true, depth: 10 })];
      for (const view of views) {
        for (const secret of secrets) expect(view).not.toContain(secret);
        expect(view).not.toMatch(/PVEAPIToken|Authorization/i);
      }
    }
  });
});
