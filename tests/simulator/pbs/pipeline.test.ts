/** The PBS simulator's request pipeline: order, auth forms, error shapes and texts, faults, log. */
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPbsSimulator, type PbsSimulator } from "../../../src/simulator/pbs/index.js";
import { raw } from "./helpers.js";

let sim: PbsSimulator;
const logFile = join(mkdtempSync(join(tmpdir(), "pbs-sim-")), "requests.jsonl");
beforeAll(async () => {
  sim = await startPbsSimulator({ scenario: "demo", logFile });
});
afterAll(async () => {
  await sim.close();
});

const JSON_TYPE = "application/json;charset=UTF-8";

describe("the simulator handle", () => {
  it("serves HTTPS on loopback with a lowercase SHA-256 fingerprint and the contract's tokens", () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.fingerprint).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
    expect(sim.caPem).toContain("BEGIN CERTIFICATE");
    expect(sim.tokens.auditor.id).toBe("mcp@pbs!readonly");
    expect(sim.tokens.root.id.startsWith("root@pam!")).toBe(true);
    expect(sim.tokens.datastoreAuditor.id).toBeTruthy();
    expect(sim.tokens.admin.id).toBeTruthy();
  });
});

describe("1. format and path components (before authentication)", () => {
  it("refuses an unknown output format", async () => {
    const r = await raw(sim, "/api2/xml/version");
    expect(r.status).toBe(400);
    expect(r.text).toBe("Unsupported output format 'xml'.");
  });
  it("refuses components starting with a dot", async () => {
    for (const p of ["/api2/json/.hidden", "/api2/json/admin/%2e%2e/x"]) {
      const r = await raw(sim, p);
      expect(r.status).toBe(400);
      expect(r.text).toBe("path contains illegal components");
    }
  });
});

describe("2. authentication", () => {
  it("accepts PBSAPIToken=user@realm!name:SECRET and PBSAPIToken user…", async () => {
    const t = sim.tokens.auditor;
    expect(
      (await raw(sim, "/api2/json/version", { authorization: `PBSAPIToken=${t.id}:${t.secret}` })).status,
    ).toBe(200);
    expect(
      (await raw(sim, "/api2/json/version", { authorization: `PBSAPIToken ${t.id}:${t.secret}` })).status,
    ).toBe(200);
    expect(
      (
        await raw(sim, "/api2/json/version", {
          authorization: `PBSAPIToken=${t.id}:${encodeURIComponent(t.secret)}`,
        })
      ).status,
    ).toBe(200);
  });

  it("answers 401 `authentication failed` with no content type and the cookie cleared", async () => {
    const t = sim.tokens.auditor;
    const cases = [
      undefined,
      `PBSAPIToken=${t.id}=${t.secret}`, // PVE's `=` form
      `PVEAPIToken=${t.id}=${t.secret}`,
      `PVEAPIToken=${t.id}:${t.secret}`,
      `PBSAPIToken=${t.id}:wrong`,
      `PBSAPIToken=nobody@pbs!x:${t.secret}`,
      `PBSAPIToken=mcp@pbs:${t.secret}`,
      `PBSAPIToken=${t.id}`,
    ];
    for (const authorization of cases) {
      const r = await raw(sim, "/api2/json/version", authorization === undefined ? {} : { authorization });
      expect(r.status, authorization).toBe(401);
      expect(r.text).toBe("authentication failed");
      expect(r.headers["content-type"]).toBeUndefined();
      expect(String(r.headers["set-cookie"])).toMatch(/^__Host-PBSAuthCookie=;.*Expires=/);
    }
    const ticket = await raw(sim, "/api2/json/version", {
      headers: { Cookie: "PBSAuthCookie=PBS:root@pam:0::sig" },
    });
    expect(ticket.status).toBe(401);
  });

  it("refuses tokens of disabled or expired users and expired tokens", async () => {
    // former@pbs is disabled and expired but owns no token: no token of it authenticates.
    const r = await raw(sim, "/api2/json/version", { authorization: "PBSAPIToken=former@pbs!x:y" });
    expect(r.status).toBe(401);
  });

  it("authenticates before routing: an unknown path gives 401 without a token", async () => {
    expect((await raw(sim, "/api2/json/no/such/path")).status).toBe(401);
  });

  it("skips authentication for World endpoints only", async () => {
    expect((await raw(sim, "/api2/json/ping")).json().data).toEqual({ pong: true });
    expect((await raw(sim, "/api2/json/access/domains")).status).toBe(200);
    expect((await raw(sim, "/api2/json/version")).status).toBe(401);
  });
});

describe("3. routing", () => {
  it("answers 404 Path '…' not found. for unknown paths and HEAD", async () => {
    const t = sim.tokens.auditor;
    const r = await raw(sim, "/api2/json/x", { token: t });
    expect(r.status).toBe(404);
    expect(r.text).toBe("Path '/api2/json/x' not found.");
    expect(r.headers["content-type"]).toBe(JSON_TYPE);
    expect((await raw(sim, "/api2/json/no/such", { token: t, method: "HEAD" })).status).toBe(404);
    expect((await raw(sim, "/api2/json/version", { token: t, method: "HEAD" })).status).toBe(404);
  });
  it("answers directory nodes with subdirs", async () => {
    const r = await raw(sim, "/api2/json/admin", { token: sim.tokens.auditor });
    expect(r.json().data).toEqual(
      ["datastore", "gc", "prune", "sync", "verify"].map((subdir) => ({ subdir })),
    );
  });
  it("never changes state: writes on served paths are refused as for a token without rights", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await raw(sim, "/api2/json/admin/datastore/main/gc", { token: sim.tokens.admin, method });
      expect(r.status).toBe(403);
      expect(r.text).toBe("permission check failed");
    }
    const before = (await raw(sim, "/api2/json/admin/gc", { token: sim.tokens.admin })).text;
    expect(before).toContain("main");
  });
});

describe("4. router permission, 5. parameters, 6. handler", () => {
  it("checks the router permission before the parameters", async () => {
    const r = await raw(sim, "/api2/json/config/remote/offsite?bogus=1", {
      token: sim.tokens.datastoreAuditor,
    });
    expect(r.status).toBe(403);
    expect(r.text).toBe("permission check failed");
  });
  it("words parameter errors as proxmox-schema does", async () => {
    const t = sim.tokens.auditor;
    const one = await raw(sim, "/api2/json/admin/datastore/main/snapshots?backup-type=xx", { token: t });
    expect(one.status).toBe(400);
    expect(one.text).toBe(
      "parameter verification failed - 'backup-type': value 'xx' is not defined in the enumeration.",
    );
    expect(one.headers["content-type"]).toBe(JSON_TYPE);
    const unknown = await raw(sim, "/api2/json/admin/datastore?foo=1", { token: t });
    expect(unknown.text).toBe(
      "parameter verification failed - 'foo': schema does not allow additional properties.",
    );
    const two = await raw(sim, "/api2/json/admin/datastore/main/snapshots?foo=1&backup-type=xx", {
      token: t,
    });
    expect(two.text).toBe(
      "parameter verification failed:\n- 'foo': schema does not allow additional properties.\n- 'backup-type': value 'xx' is not defined in the enumeration.",
    );
    const short = await raw(sim, "/api2/json/admin/datastore/ab/status", { token: t });
    expect(short.text).toBe(
      "parameter verification failed - 'store': value must be at least 3 characters long",
    );
    const depth = await raw(sim, "/api2/json/admin/datastore/main/namespace?max-depth=9", { token: t });
    expect(depth.text).toBe(
      "parameter verification failed - 'max-depth': value must have a maximum value of 7 (got 9)",
    );
    const bool = await raw(sim, "/api2/json/access/users?include_tokens=maybe", { token: t });
    expect(bool.text).toBe(
      "parameter verification failed - 'include_tokens': Unable to parse boolean option.",
    );
    const ok = await raw(sim, "/api2/json/admin/datastore?_dc=123", { token: t });
    expect(ok.status).toBe(200);
  });
  it("answers handler errors as plain text (400) and handler permission failures as 403", async () => {
    const r = await raw(sim, "/api2/json/admin/datastore/nope/gc", { token: sim.tokens.auditor });
    expect(r.status).toBe(400);
    expect(r.text).toBe("no such datastore 'nope'");
    const ns = await raw(sim, "/api2/json/admin/datastore/main/groups?ns=missing", {
      token: sim.tokens.auditor,
    });
    expect(ns.text).toBe("ENOENT: No such file or directory");
    const denied = await raw(sim, "/api2/json/admin/datastore/main/snapshots", {
      token: { id: "nobody@pbs!nothing", secret: sim.state.user("nobody@pbs")!.tokens![0]!.secret },
    });
    expect(denied.status).toBe(403);
    expect(denied.text).toBe(
      "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/main",
    );
  });
  it("wraps errors below /api2/extjs as HTTP 200 JSON", async () => {
    const r = await raw(sim, "/api2/extjs/admin/datastore/main/snapshots?backup-type=xx", {
      token: sim.tokens.auditor,
    });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      success: false,
      status: 400,
      message: "parameter verification failed - 'backup-type': value 'xx' is not defined in the enumeration.",
      errors: { "backup-type": "value 'xx' is not defined in the enumeration." },
    });
    const ok = await raw(sim, "/api2/extjs/version", { token: sim.tokens.auditor });
    expect(ok.json()["success"]).toBe(true);
  });
  it("deflates when asked (PBS has no gzip)", async () => {
    const r = await raw(sim, "/api2/json/admin/datastore", {
      token: sim.tokens.auditor,
      headers: { "Accept-Encoding": "gzip, deflate" },
    });
    expect(r.headers["content-encoding"]).toBe("deflate");
    // raw() does not decode: the body is a zlib stream of the JSON answer.
    const req = await import("node:https");
    const body = await new Promise<Buffer>((resolve, reject) => {
      req
        .get(
          `${sim.url}/api2/json/admin/datastore`,
          {
            ca: sim.caPem,
            headers: {
              Authorization: `PBSAPIToken=${sim.tokens.auditor.id}:${sim.tokens.auditor.secret}`,
              "Accept-Encoding": "deflate",
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve(Buffer.concat(chunks)));
          },
        )
        .on("error", reject);
    });
    expect(JSON.parse(inflateSync(body).toString("utf8")).data[0].store).toBe("main");
  });
});

describe("faults, latency and the request log", () => {
  it("applies status, truncate and hang faults like the PVE simulator", async () => {
    const id = sim.faults.add({
      kind: "status",
      path: "/admin/datastore",
      status: 503,
      message: "busy",
      times: 1,
    });
    const r = await raw(sim, "/api2/json/admin/datastore", { token: sim.tokens.auditor });
    expect(r.status).toBe(503);
    expect(r.text).toBe("busy");
    sim.faults.remove(id);
    sim.faults.add({ kind: "truncate", path: "/version", times: 1 });
    const t = await raw(sim, "/api2/json/version", { token: sim.tokens.auditor });
    expect(() => t.json()).toThrow();
    expect((await raw(sim, "/api2/json/version", { token: sim.tokens.auditor })).status).toBe(200);
  });

  it("logs every request with method, path, query, status and authId (secrets redacted)", async () => {
    sim.clearRequests();
    await raw(sim, "/api2/json/admin/datastore/main/snapshots?ns=prod&password=x", {
      token: sim.tokens.auditor,
    });
    await raw(sim, "/api2/json/version");
    const log = sim.requests();
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({
      method: "GET",
      path: "/admin/datastore/main/snapshots",
      query: { ns: "prod", password: "[redacted]" },
      status: 400,
      authId: "mcp@pbs!readonly",
    });
    expect(log[1]).toMatchObject({ path: "/version", status: 401, authId: null });
    const lines = readFileSync(logFile, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(2);
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(logFile, "utf8")).not.toContain(sim.tokens.auditor.secret);
  });

  it("adds latencyMs", async () => {
    const slow = await startPbsSimulator({ latencyMs: 120 });
    try {
      const start = Date.now();
      await raw(slow, "/api2/json/ping");
      expect(Date.now() - start).toBeGreaterThanOrEqual(110);
    } finally {
      await slow.close();
    }
  });
});
