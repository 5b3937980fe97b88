/**
 * PbsReader against a minimal loopback HTTPS server started here (certificates from the
 * simulator's TLS helpers): PBS's token header (a colon before the secret), pinning in
 * either case and a wrong pin that writes no byte, CA file and system trust, plain-text
 * error bodies as PbsApiError (403, 400, a 401 without content type), one deadline over a
 * stalled body, no redirects, no encodings, hostile path and query values refused with 0
 * requests, and the token secret redacted wherever PBS echoes it.
 */
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { PbsConfig, TlsMode } from "../../src/config/types.js";
import { PBS_FLAVOUR, PbsReader } from "../../src/pbs/client.js";
import { PbsApiError } from "../../src/pbs/errors.js";
import { PBS_RULES } from "../../src/pbs/formats.js";
import type { PveRequestRecord } from "../../src/pve/client.js";
import { PveApiError, PveInputError, PveTlsMismatchError, PveTransportError } from "../../src/pve/errors.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { isRefusal, neededBy } from "../../src/pve/model/visibility.js";
import { createClusterPki, fingerprint256, newClusterKeys } from "../../src/simulator/tls.js";

const TOKEN_ID = "mcp@pbs!readonly";
const SECRET = "3f2b8c1d-4e5a-4b6c-9d7e-8f9a0b1c2d3e";
const UPID =
  "UPID:localhost:000004D2:0000162E:00000001:6750A4C0:verificationjob:store1\\x3av\\x2d1:root@pam:";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let port: number;
let caPem: string;
let certPem: string;
let keyPem: string;
let fingerprint: string;
const seen: Seen[] = [];
const handlers = new Map<string, Handler>();
/** Fires with each request as it arrives (before its handler runs). */
const arrivals = new EventTarget();
const readers: PbsReader[] = [];
const errors: unknown[] = [];

/** PBS's answers: JSON success with a JSON content type, plain-text errors with one too. */
function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json;charset=UTF-8" });
  res.end(JSON.stringify(body));
}
function plainError(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "application/json;charset=UTF-8" });
  res.end(text);
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  const pki = createClusterPki("pbs-test", now, await newClusterKeys());
  caPem = pki.caPem;
  keyPem = pki.nodeKeyPem;
  certPem = pki.issueNodeCertificate({
    nodeName: "localhost",
    fqdn: "localhost",
    ips: ["127.0.0.1"],
    notBefore: now - 86_400,
    notAfter: now + 86_400,
  });
  // As PBS shows it: lower case with colons.
  fingerprint = fingerprint256(certPem).toLowerCase();
  server = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    arrivals.dispatchEvent(new Event("request"));
    const path = (req.url ?? "").split("?")[0] ?? "";
    const handler = handlers.get(path);
    if (handler) return handler(req, res);
    if (req.headers.authorization !== `PBSAPIToken=${TOKEN_ID}:${SECRET}`) {
      // PBS: 401 without a content type.
      res.writeHead(401);
      return res.end("authentication failed");
    }
    if (path === "/api2/json/version") return json(res, 200, { data: { version: "4.1", release: "2" } });
    return plainError(res, 404, `Path '${path}' not found.`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  handlers.clear();
  seen.length = 0;
});

afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // No error of this file holds the secret, however it is looked at.
  for (const err of errors) {
    for (const text of [String(err), inspect(err, { depth: 5 }), JSON.stringify(err)]) {
      expect(text).not.toContain(SECRET);
    }
  }
});

function reader(overrides: Partial<PbsConfig & { onRequest: (r: PveRequestRecord) => void }> = {}) {
  const r = new PbsReader({
    host: "127.0.0.1",
    port,
    tokenId: TOKEN_ID,
    tokenSecret: new Secret(SECRET),
    tls: { mode: "fingerprint", fingerprint },
    timeoutMs: 5_000,
    ...overrides,
  });
  readers.push(r);
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

describe("requests", () => {
  it("sends GET with PBS's token header (a colon before the secret) and no compression", async () => {
    expect(await reader().get("/version")).toEqual({ version: "4.1", release: "2" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/api2/json/version" });
    expect(seen[0]?.headers.authorization).toBe(`PBSAPIToken=${TOKEN_ID}:${SECRET}`);
    expect(seen[0]?.headers["accept-encoding"]).toBe("identity");
    expect(PBS_FLAVOUR.authorization("a@pbs!b", "s")).toBe("PBSAPIToken=a@pbs!b:s");
  });

  it("fills path parameters percent-encoded, sends the query, and returns data with total", async () => {
    handlers.set(`/api2/json/nodes/localhost/tasks/${encodeURIComponent(UPID)}/log`, (_req, res) =>
      json(res, 200, { data: [{ n: 1, t: "start" }], total: 1, success: 1 }),
    );
    const records: PveRequestRecord[] = [];
    const answer = await reader({ onRequest: (r) => records.push(r) }).getWithTotal(
      "/nodes/{node}/tasks/{upid}/log",
      { node: "localhost", upid: UPID },
      { query: { start: 0, limit: 50, "test-status": true, ns: undefined } },
    );
    expect(answer).toEqual({ data: [{ n: 1, t: "start" }], total: 1 });
    expect(seen[0]?.url).toBe(
      `/api2/json/nodes/localhost/tasks/${encodeURIComponent(UPID)}/log?start=0&limit=50&test-status=1`,
    );
    expect(records).toEqual([
      expect.objectContaining({ method: "GET", path: expect.stringContaining("/log"), status: 200 }),
    ]);
  });

  it("checks query values that name objects and sends them", async () => {
    handlers.set("/api2/json/admin/datastore/store1/snapshots", (_req, res) => json(res, 200, { data: [] }));
    await reader().get(
      "/admin/datastore/{store}/snapshots",
      { store: "store1" },
      { query: { ns: "prod/web", "backup-type": "vm", "backup-id": "101" } },
    );
    expect(seen[0]?.url).toBe(
      "/api2/json/admin/datastore/store1/snapshots?ns=prod%2Fweb&backup-type=vm&backup-id=101",
    );
  });

  it("works under a RunReader (memoised GETs, 403 as a gap)", async () => {
    handlers.set("/api2/json/admin/datastore/secret/status", (_req, res) =>
      plainError(
        res,
        403,
        "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/secret\n",
      ),
    );
    const run = new RunReader(reader(), undefined);
    expect(await run.get("/version")).toEqual({ version: "4.1", release: "2" });
    expect(await run.get("/version")).toEqual({ version: "4.1", release: "2" });
    expect(seen.filter((s) => s.url === "/api2/json/version")).toHaveLength(1);
    const err = await failure(run.get("/admin/datastore/{store}/status", { store: "secret" }));
    expect(isRefusal(err)).toBe(true);
  });
});

describe("TLS", () => {
  it("accepts the pinned fingerprint in lower case (as PBS shows it) and in upper case", async () => {
    for (const pin of [fingerprint, fingerprint.toUpperCase(), fingerprint.replace(/:/g, "")]) {
      expect(await reader({ tls: { mode: "fingerprint", fingerprint: pin } }).get("/version")).toBeTruthy();
    }
  });

  it("trusts a CA file, and refuses the certificate with system trust naming PBS's settings", async () => {
    const ca: TlsMode = { mode: "ca-file", caFile: "pbs-ca.pem", caPem };
    expect(await reader({ tls: ca }).get("/version")).toBeTruthy();
    const err = await failure(reader({ tls: { mode: "system" } }).get("/version"));
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).toMatchObject({ kind: "tls" });
    expect(err.message).toContain("PBS_CA_FILE");
    expect(err.message).toContain("PBS_TLS_FINGERPRINT");
    expect(err.message).not.toContain("PROXMOX_");
  });

  it("refuses a wrong pin naming PBS_TLS_FINGERPRINT, and writes not one byte", async () => {
    // The same certificate on a bare TLS server that counts what it receives and never answers.
    let received = 0;
    const got = new EventTarget();
    const bare = createTlsServer({ cert: certPem, key: keyPem }, (socket) => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        got.dispatchEvent(new Event("data"));
      });
      socket.on("error", () => undefined);
    });
    const closes: Promise<unknown>[] = [];
    bare.on("connection", (raw: Socket) => closes.push(once(raw, "close")));
    bare.listen(0, "127.0.0.1");
    await once(bare, "listening");
    try {
      const barePort = (bare.address() as AddressInfo).port;
      // Control: with the right pin the request arrives (then times out: nobody answers).
      const data = once(got, "data");
      const right = failure(reader({ port: barePort, timeoutMs: 2_000 }).get("/version"));
      await data;
      expect(received).toBeGreaterThan(0);
      expect(await right).toMatchObject({ kind: "timeout" });

      received = 0;
      const wrong = "00:".repeat(31) + "00";
      const err = await failure(
        reader({ port: barePort, tls: { mode: "fingerprint", fingerprint: wrong } }).get("/version"),
      );
      expect(err).toBeInstanceOf(PveTlsMismatchError);
      expect(err.message).toContain("PBS_TLS_FINGERPRINT");
      expect(err.message).toContain("nothing was sent");
      // Every connection, the refused one included, is closed: whatever it carried has been counted.
      expect(closes.length).toBeGreaterThanOrEqual(2);
      await Promise.all(closes);
      expect(received).toBe(0);
    } finally {
      bare.close();
    }
  });
});

describe("PBS's errors", () => {
  it("turns a plain-text 403 into a PbsApiError (a PveApiError) whose privilege a gap can name", async () => {
    handlers.set("/api2/json/admin/datastore/store1/snapshots", (_req, res) =>
      plainError(
        res,
        403,
        "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/store1\n",
      ),
    );
    const err = await failure(reader().get("/admin/datastore/{store}/snapshots", { store: "store1" }));
    expect(err).toBeInstanceOf(PbsApiError);
    expect(err).toBeInstanceOf(PveApiError);
    expect(err).toMatchObject({
      name: "PbsApiError",
      status: 403,
      method: "GET",
      path: "/admin/datastore/store1/snapshots",
      pveMessage: "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/store1",
    });
    expect(err.message).toMatch(/^PBS answered 403 to GET \/admin\/datastore\/store1\/snapshots: /);
    expect(isRefusal(err)).toBe(true);
    expect(neededBy(err as PveApiError)).toBe("Datastore.Audit or Datastore.Backup on /datastore/store1");
  });

  it("reads the router's bare 403 and a handler's 'missing permissions' text", async () => {
    const bare = new PbsApiError(403, "Forbidden", "permission check failed", "GET", "/x");
    expect(neededBy(bare)).toBeUndefined();
    const verify = new PbsApiError(
      400,
      "Bad Request",
      "missing permissions 'Datastore.Audit|Datastore.Verify' on '/datastore/x'",
      "GET",
      "/x",
    );
    expect(neededBy(verify)).toBe("Datastore.Audit or Datastore.Verify on /datastore/x");
    // PVE's form is unchanged.
    const pve = new PveApiError(
      403,
      "Forbidden",
      "Permission check failed (/nodes/pve1, Sys.Modify)",
      "GET",
      "/x",
    );
    expect(neededBy(pve)).toBe("Sys.Modify on /nodes/pve1");
  });

  it("keeps a 400's text and its parameter errors", async () => {
    handlers.set("/api2/json/admin/datastore/store1/groups", (_req, res) =>
      plainError(
        res,
        400,
        "parameter verification failed:\n- 'backup-type': value 'xx' is not defined in the enumeration.\n- 'x': schema does not allow additional properties.\n",
      ),
    );
    const err = await failure(reader().get("/admin/datastore/{store}/groups", { store: "store1" }));
    expect(err).toBeInstanceOf(PbsApiError);
    expect(err).toMatchObject({
      status: 400,
      fieldErrors: {
        "backup-type": "value 'xx' is not defined in the enumeration.",
        x: "schema does not allow additional properties.",
      },
    });
    expect((err as PbsApiError).pveMessage).toMatch(/^parameter verification failed: - 'backup-type'/);
  });

  it("reads a 401 that has no content type", async () => {
    const err = await failure(
      reader({ tokenSecret: new Secret("00000000-0000-4000-8000-000000000000") }).get("/version"),
    );
    expect(err).toBeInstanceOf(PbsApiError);
    expect(err).toMatchObject({ status: 401, pveMessage: "authentication failed" });
    expect(isRefusal(err)).toBe(false);
  });

  it("uses the reason phrase when the body is empty", async () => {
    handlers.set("/api2/json/nodes", (_req, res) => {
      res.writeHead(500, "Internal Server Error");
      res.end();
    });
    const err = await failure(reader().get("/nodes"));
    expect(err).toMatchObject({ status: 500, pveMessage: "Internal Server Error" });
  });
});

describe("transport guarantees", () => {
  it("one deadline covers a body that stalls after the headers", async () => {
    handlers.set("/api2/json/status/datastore-usage", (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json;charset=UTF-8" });
      res.write('{"data":[');
      // ...and never ends.
    });
    const arrived = once(arrivals, "request");
    const pending = failure(reader({ timeoutMs: 300 }).get("/status/datastore-usage"));
    await arrived;
    const err = await pending;
    expect(err).toBeInstanceOf(PveTransportError);
    expect(err).toMatchObject({ kind: "timeout" });
    expect(err.message).toContain("PROXMOX_TIMEOUT_MS");
    expect(err.message).toContain("PBS");
  });

  it("follows no redirect, and says which setting to fix", async () => {
    handlers.set("/api2/json/nodes", (_req, res) => {
      res.writeHead(302, { Location: "https://elsewhere.example/api2/json/nodes" });
      res.end();
    });
    const err = await failure(reader().get("/nodes"));
    expect(err).toMatchObject({ kind: "protocol" });
    expect(err.message).toContain("PBS_HOST");
    expect(seen).toHaveLength(1);
  });

  it("refuses an encoding it did not ask for, and a success that is not JSON", async () => {
    handlers.set("/api2/json/nodes", (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "deflate" });
      res.end("x");
    });
    handlers.set("/api2/json/ping", (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html>");
    });
    const encoded = await failure(reader().get("/nodes"));
    expect(encoded).toMatchObject({ kind: "protocol" });
    expect(encoded.message).toContain("PBS_HOST");
    const html = await failure(reader().get("/ping"));
    expect(html).toMatchObject({ kind: "protocol" });
    expect(html.message).toContain("PBS_HOST and PBS_PORT");
  });

  it("names PBS_HOST and PBS_PORT when nothing listens", async () => {
    const closed = createHttpsServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(reader({ port: closedPort }).get("/version"));
    expect(err).toMatchObject({ kind: "network" });
    expect(err.message).toContain("PBS_HOST, PBS_PORT");
  });
});

describe("hostile values", () => {
  const hostile: [string, Record<string, string | number>, Record<string, string>?][] = [
    ["/admin/datastore/{store}/snapshots", { store: "../x" }],
    ["/admin/datastore/{store}/snapshots", { store: "a%2Fb" }],
    ["/admin/datastore/{store}/snapshots", { store: "store\n1" }],
    ["/admin/datastore/{store}/snapshots", { store: ".hidden" }],
    ["/admin/datastore/{store}/snapshots", { store: "x".repeat(33) }],
    ["/admin/datastore/{store}/snapshots", { store: "ab" }],
    ["/nodes/{node}/tasks/{upid}/log", { node: "localhost", upid: "UPID:../../etc" }],
    ["/nodes/{node}/tasks/{upid}/log", { node: "local/host", upid: UPID }],
    ["/config/verify/{id}", { id: "a/b" }],
    ["/config/remote/{name}", { name: "..".repeat(2) }],
    ["/access/users/{userid}", { userid: "root@pam/../x" }],
    ["/admin/datastore/{store}/snapshots", { store: "store1" }, { ns: "../../x" }],
    ["/admin/datastore/{store}/snapshots", { store: "store1" }, { ns: "a/b/c/d/e/f/g/h" }],
    ["/admin/datastore/{store}/snapshots", { store: "store1" }, { "backup-type": "qemu" }],
    ["/admin/datastore/{store}/snapshots", { store: "store1" }, { "backup-id": "101/../102" }],
    ["/admin/verify", {}, { store: "store1%2F.." }],
  ];

  it.each(hostile)("refuses %s with %o %o before any request", async (template, params, query) => {
    const err = await failure(reader().get(template, params, query ? { query } : {}));
    expect(err).toBeInstanceOf(PveInputError);
    expect(Object.values(PBS_RULES)).toContain((err as PveInputError).rule);
    expect(seen).toHaveLength(0);
  });

  it("refuses templates with literal hostile parts or unknown variables", async () => {
    for (const template of ["/admin/../x", "/admin/datastore/{vmid}", "/admin?x=1"]) {
      await expect(reader().get(template, { vmid: 100 })).rejects.toThrow();
    }
    expect(seen).toHaveLength(0);
  });
});

describe("redaction", () => {
  it("masks the token secret wherever PBS echoes it: data and error text", async () => {
    handlers.set("/api2/json/access/users", (_req, res) =>
      json(res, 200, { data: [{ userid: "mcp@pbs", comment: `token ${SECRET}` }] }),
    );
    handlers.set("/api2/json/access/acl", (_req, res) =>
      plainError(res, 400, `unable to parse token 'PBSAPIToken=${TOKEN_ID}:${SECRET}'`),
    );
    const users = await reader().get("/access/users");
    expect(JSON.stringify(users)).not.toContain(SECRET);
    const err = await failure(reader().get("/access/acl"));
    expect(err).toBeInstanceOf(PbsApiError);
    expect(err.message).not.toContain(SECRET);
    expect((err as PbsApiError).pveMessage).not.toContain(SECRET);
  });
});
