/**
 * pveproxy's request pipeline: authentication, 501, permission before validation,
 * node forwarding, validation, handler errors, PVE 8 mode, transport details and
 * the request log.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { api } from "../helpers/client.js";
import { testScenario, TEST_TOKENS } from "../helpers/scenarios.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

describe("authentication", () => {
  it("answers 401 'No ticket' with an empty body and no JSON without credentials", async () => {
    const res = await api(sim, { path: "/version" });
    expect(res.status).toBe(401);
    expect(res.reason).toBe("No ticket");
    expect(res.raw).toBe("");
    expect(res.headers["content-type"]).toBeUndefined();
  });

  it.each([
    [
      "wrong secret",
      (s: Simulator) => `PVEAPIToken=${s.tokens.auditor.id}=00000000-0000-0000-0000-000000000000`,
    ],
    ["unknown token", () => "PVEAPIToken=mcp@pve!nope=00000000-0000-0000-0000-000000000000"],
    ["unknown user", () => "PVEAPIToken=ghost@pve!t=00000000-0000-0000-0000-000000000000"],
    ["token id without token name", (s: Simulator) => `PVEAPIToken=mcp@pve=${s.tokens.auditor.secret}`],
    ["no secret", (s: Simulator) => `PVEAPIToken=${s.tokens.auditor.id}`],
  ])("answers 401 'Authentication failed!' for %s", async (_label, header) => {
    const res = await api(sim, { path: "/version", headers: { Authorization: header(sim) } });
    expect(res.status).toBe(401);
    expect(res.reason).toBe("Authentication failed!");
    expect(res.raw).toBe("");
  });

  it("rejects tokens of disabled or expired users and expired tokens", async () => {
    const s = testScenario();
    s.users!.push(
      { userid: "off@pve", enable: 0, tokens: [{ tokenid: "tk", secret: "a" }] },
      { userid: "gone@pve", expire: "now-1d", tokens: [{ tokenid: "tk", secret: "b" }] },
      {
        userid: "tok@pve",
        tokens: [
          { tokenid: "old", secret: "c", expire: "now-1h" },
          { tokenid: "ok", secret: "d" },
        ],
      },
    );
    const local = await startSimulator({ scenario: s });
    try {
      for (const [id, secret] of [
        ["off@pve!tk", "a"],
        ["gone@pve!tk", "b"],
        ["tok@pve!old", "c"],
      ] as const) {
        expect((await api(local, { path: "/version", token: { id, secret } })).status, id).toBe(401);
      }
      expect((await api(local, { path: "/version", token: { id: "tok@pve!ok", secret: "d" } })).status).toBe(
        200,
      );
    } finally {
      await local.close();
    }
  });

  it("accepts the header forms pveproxy accepts: a space instead of '=', URI-escaped values", async () => {
    const { id, secret } = sim.tokens.auditor;
    for (const header of [
      `PVEAPIToken ${id}=${secret}`,
      `PVEAPIToken=${encodeURIComponent(`${id}=${secret}`)}`,
    ]) {
      expect((await api(sim, { path: "/version", headers: { Authorization: header } })).status, header).toBe(
        200,
      );
    }
  });

  it("can delay failed authentications like pveproxy, without holding up valid requests", async () => {
    const slow = await startSimulator({ scenario: testScenario(), authFailureDelayMs: 600_000 });
    try {
      let failedAnswered = false;
      const failed = api(slow, {
        path: "/version",
        headers: { Authorization: "PVEAPIToken=x@pve!y=z" },
      }).then(
        () => (failedAnswered = true),
        () => (failedAnswered = true),
      );
      const ok = await api(slow, { path: "/version", token: slow.tokens.auditor });
      expect(ok.status).toBe(200);
      expect(failedAnswered).toBe(false);
      await slow.close();
      await failed;
    } finally {
      await slow.close();
    }
  });

  it("checks authentication before looking up the method", async () => {
    expect((await api(sim, { path: "/no/such/thing" })).status).toBe(401);
    const res = await api(sim, { path: "/no/such/thing", token: sim.tokens.auditor });
    expect(res.status).toBe(501);
    expect(res.body).toEqual({ data: null, message: "Method 'GET /no/such/thing' not implemented" });
  });
});

describe("permission check before validation and existence", () => {
  it.each([
    ["/nodes/pve1/qemu/99999/status/stop", "/vms/99999"],
    ["/nodes/pve1/qemu/abc/status/stop", "/vms/abc"],
    ["/nodes/nosuchnode/qemu/100/status/stop", "/vms/100"],
  ])("auditor POST %s -> 403 naming %s", async (path, aclPath) => {
    const res = await api(sim, { method: "POST", path, token: sim.tokens.auditor });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(`Permission check failed (${aclPath}, VM.PowerMgmt)\n`);
  });

  it("names the first missing privilege of an all-of check and all alternatives of an any-of check", async () => {
    const all = await api(sim, { path: "/nodes/pve1/apt/update", token: sim.tokens.auditor });
    expect(all.body.message).toBe("Permission check failed (/nodes/pve1, Sys.Modify)\n");
    const any = await api(sim, { path: "/nodes/pve1/storage/local/status", token: TEST_TOKENS.empty });
    expect(any.body.message).toBe(
      "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)\n",
    );
  });

  it("answers 403 for root-only methods even to a privsep-0 token of root@pam", async () => {
    const res = await api(sim, { path: "/cluster/backup-info", token: sim.tokens.root });
    expect(res.status).toBe(403);
    expect(res.reason).toBe("Permission check failed (user != root@pam)");
  });
});

describe("node forwarding", () => {
  it("fails the hostname lookup for an unknown node with 500", async () => {
    const res = await api(sim, { path: "/nodes/pve9/qemu", token: sim.tokens.auditor });
    expect(res.status).toBe(500);
    expect(res.reason).toBe(
      "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known",
    );
  });

  it("does not validate a proxied node name: a malformed one is a failed lookup, not a 400", async () => {
    const res = await api(sim, { path: "/nodes/bad_node/qemu", token: sim.tokens.auditor });
    expect(res.status).toBe(500);
  });

  it("answers 595 for an offline cluster member", async () => {
    const res = await api(sim, { path: "/nodes/pve3/qemu", token: sim.tokens.auditor });
    expect(res.status).toBe(595);
    expect(res.raw).toBe("");
  });

  it("treats node=localhost as the local node", async () => {
    const res = await api(sim, { path: "/nodes/localhost/status", token: sim.tokens.auditor });
    expect(res.status).toBe(200);
    expect(res.body.data.pveversion).toMatch(/^pve-manager\/9\./);
  });

  it("validates the node of a non-proxied method (400)", async () => {
    const res = await api(sim, { path: "/nodes/bad_node", token: sim.tokens.auditor });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      node: "invalid format - value does not look like a valid node name\n",
    });
  });
});

describe("parameters", () => {
  it("rejects a query parameter that conflicts with the path, as a parameter error", async () => {
    const res = await api(sim, { path: "/nodes/pve1/qemu/100/config?vmid=101", token: sim.tokens.auditor });
    expect(res.status).toBe(400);
    expect(res.reason).toBe("Parameter verification failed.");
    expect(res.body.errors).toEqual({
      vmid: "duplicate parameter (already defined in URI) with conflicting values!",
    });
  });

  it("accepts booleans only as 1 and 0 (JSON true/false too)", async () => {
    const bad = await api(sim, { path: "/nodes/pve1/qemu?full=true", token: sim.tokens.auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual({ full: "type check ('boolean') failed - got 'true'" });
    const json = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/100/agent/exec",
      token: sim.tokens.admin,
      json: { command: ["true"] },
    });
    expect(json.status).toBe(200);
  });

  it("matches path variables on non-blank segments and ignores empty segments", async () => {
    expect((await api(sim, { path: "/nodes//pve1/status", token: sim.tokens.auditor })).status).toBe(200);
    expect((await api(sim, { path: "/nodes/pve%201/status", token: sim.tokens.auditor })).status).toBe(501);
  });

  it("keeps control characters out of the status line", async () => {
    const res = await api(sim, {
      path: "/nodes/pve1/qemu/100%0d%0aX-Injected:%201/config",
      token: sim.tokens.auditor,
    });
    expect(res.headers["x-injected"]).toBeUndefined();
    expect(res.status).toBe(501);
  });

  it("reports every failing parameter, in PVE's words", async () => {
    const res = await api(sim, {
      path: "/nodes/pve1/tasks?limit=x&source=nope&bogus=1",
      token: sim.tokens.auditor,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({
      limit: "type check ('integer') failed - got 'x'",
      source: "value 'nope' does not have a value in the enumeration 'archive, active, all'",
      bogus: "property is not defined in schema and the schema does not allow additional properties",
    });
  });

  it("decodes %2F before routing, as pveproxy does (a client that only escapes '/' is exposed)", async () => {
    sim.clearRequests();
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve1%2Fqemu%2F101%2Fstatus%2Fstop",
      token: sim.tokens.auditor,
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe("Permission check failed (/vms/101, VM.PowerMgmt)\n");
    expect(sim.requests().at(-1)?.path).toBe("/nodes/pve1/qemu/101/status/stop");
  });

  it("reads a body only after authentication, only for POST/PUT, at most 64 KiB, form or JSON", async () => {
    const big = { command: "cat", "input-data": "x".repeat(70 * 1024) };
    const post = (extra: Partial<Parameters<typeof api>[1]>) =>
      api(sim, { method: "POST", path: "/nodes/pve1/qemu/100/agent/exec", ...extra });
    expect((await post({ form: big })).status).toBe(401);
    const tooLarge = await post({ form: big, token: sim.tokens.admin });
    expect([tooLarge.status, tooLarge.reason]).toEqual([501, "for data too large"]);
    const text = await post({
      token: sim.tokens.admin,
      form: { command: "true" },
      headers: { "Content-Type": "text/plain" },
    });
    expect([text.status, text.reason]).toEqual([506, "upload 'Content-Type 'text/plain' not implemented"]);
    const get = await api(sim, {
      path: "/version",
      token: sim.tokens.auditor,
      form: { a: "1" },
    });
    expect([get.status, get.reason]).toEqual([501, "Unexpected content for method 'GET'"]);
    const badJson = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/100/agent/exec",
      token: sim.tokens.admin,
      headers: { "Content-Type": "application/json" },
      form: { x: "1" },
    });
    expect(badJson.status).toBe(501);
  });

  it("applies the API-token check even where authentication is skipped", async () => {
    const res = await api(sim, {
      method: "POST",
      path: "/access/ticket",
      token: sim.tokens.auditor,
      form: { username: "root@pam", password: "x" },
    });
    expect(res.status).toBe(403);
    expect(res.reason).toBe(
      "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.",
    );
  });
});

describe("responses", () => {
  it("sends PVE's headers and gzips large answers when asked", async () => {
    const res = await api(sim, {
      path: "/cluster/resources",
      token: sim.tokens.auditor,
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(res.headers["server"]).toBe("pve-api-daemon/3.0");
    expect(res.headers["cache-control"]).toBe("max-age=0");
    expect(Array.isArray(res.body.data)).toBe(true);
  });

  it("adds 'total' to task lists", async () => {
    const res = await api(sim, { path: "/nodes/pve1/tasks?limit=1", token: sim.tokens.auditor });
    expect(res.body.data).toHaveLength(1);
    expect(res.body.total).toBeGreaterThan(1);
  });
});

describe("PVE 8 mode", () => {
  let pve8: Simulator;
  beforeAll(async () => {
    pve8 = await startSimulator({ scenario: testScenario(), pve: 8 });
  });
  afterAll(() => pve8.close());

  it("drops 'message' from error bodies (libpve-http-server-perl < 5.2)", async () => {
    const res = await api(pve8, {
      method: "POST",
      path: "/nodes/pve1/qemu/100/status/stop",
      token: pve8.tokens.auditor,
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ data: null });
    expect(res.reason).toBe("Permission check failed (/vms/100, VM.PowerMgmt)");
  });

  it("uses PVE 8 privilege names (VM.Monitor for the guest agent)", async () => {
    const res = await api(pve8, {
      path: "/nodes/pve1/qemu/100/agent/network-get-interfaces",
      token: pve8.tokens.auditor,
    });
    expect(res.status).toBe(403);
    expect(res.reason).toBe("Permission check failed (/vms/100, VM.Monitor)");
    const perms = await api(pve8, { path: "/access/permissions?path=/", token: pve8.tokens.auditor });
    expect(Object.keys(perms.body.data["/"])).not.toContain("VM.GuestAgent.Audit");
  });
});

describe("request log", () => {
  it("records method, path, query, body keys (never values), token id and status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-log-"));
    const logFile = join(dir, "requests.jsonl");
    const logged = await startSimulator({ scenario: testScenario(), logFile });
    try {
      await api(logged, { path: "/cluster/resources?type=vm", token: logged.tokens.auditor });
      await api(logged, {
        method: "POST",
        path: "/nodes/pve1/qemu/100/agent/exec",
        token: logged.tokens.admin,
        form: { command: ["/bin/sh", "-c", "echo s3cret"] },
      });
      await api(logged, { path: "/version" });
      const entries = logged.requests();
      expect(entries.map((e) => [e.method, e.path, e.tokenId, e.status])).toEqual([
        ["GET", "/cluster/resources", logged.tokens.auditor.id, 200],
        ["POST", "/nodes/pve1/qemu/100/agent/exec", logged.tokens.admin.id, 200],
        ["GET", "/version", null, 401],
      ]);
      expect(entries[0]!.query).toEqual({ type: "vm" });
      expect(entries[1]!.bodyKeys).toEqual(["command"]);
      const lines = readFileSync(logFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toEqual(entries);
      expect(readFileSync(logFile, "utf8")).not.toContain("s3cret");
      expect(readFileSync(logFile, "utf8")).not.toContain(logged.tokens.admin.secret);
    } finally {
      await logged.close();
    }
  });
});
