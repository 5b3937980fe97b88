/**
 * Faults end to end: the server spawned with a 400 ms deadline against a simulator
 * that hangs, stalls, truncates or resets; an offline node; a wrong pinned
 * fingerprint; a wrong secret; a token without Sys.Audit. Every failure comes back
 * as an isError answer with an actionable message. The tests never wait on a clock:
 * the deadline is the server's configuration, the tests just await the answer.
 */
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { auditLines, serve, simEnv, textOf, type Served } from "./harness.js";

const TIMEOUT_MS = "400";

let sim: Simulator;
const servers: Served[] = [];

/** One server per distinct environment; all closed in afterAll. */
async function serverWith(env: Record<string, string>): Promise<Served> {
  const s = await serve({ env });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await sim?.close();
});

beforeEach(() => {
  sim.faults.clear();
  sim.clearRequests();
});

async function errorText(server: Served, tool: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await server.call(tool, args);
  const text = textOf(result);
  expect(result.isError, text).toBe(true);
  return text;
}

describe("transport faults, PROXMOX_TIMEOUT_MS=400", () => {
  let server: Served;
  beforeAll(async () => {
    server = await serverWith(simEnv(sim, undefined, { PROXMOX_TIMEOUT_MS: TIMEOUT_MS }));
  });

  it("a hang before the headers ends in a timeout error naming the deadline; the next call works", async () => {
    sim.faults.add({ kind: "hang", path: "/cluster/resources", times: 1 });
    const text = await errorText(server, "get_vms");
    expect(text).toContain("no complete answer within 400 ms");
    expect(text).toContain("PROXMOX_TIMEOUT_MS");
    // The request did reach the simulator, which never answered it.
    expect(sim.requests().map((r) => [r.path, r.status])).toEqual([["/cluster/resources", 0]]);
    const audit = auditLines(server.auditLog).at(-1);
    expect(audit).toMatchObject({ tool: "get_vms", outcome: "error" });
    expect(audit?.["pveRequests"]).toEqual([{ method: "GET", path: "/cluster/resources", status: null }]);

    const again = await server.call("get_vms");
    expect(again.isError, textOf(again)).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ total: 22 });
  });

  it("a hang on the second request of a call (guest status) is a timeout too", async () => {
    sim.faults.add({ kind: "hang", path: "/nodes/*/qemu/100/status/current", times: 1 });
    const text = await errorText(server, "get_vm_status", { vmid: 100 });
    expect(text).toContain("no complete answer within 400 ms");
  });

  it("a body that stalls midway ends in an error (the deadline covers the body)", async () => {
    sim.faults.add({ kind: "stall", path: "/cluster/resources", times: 1 });
    const text = await errorText(server, "get_vms");
    expect(text).toContain("no complete answer within 400 ms");
  });

  it("truncated JSON with a 200 is an error, not a partial answer", async () => {
    sim.faults.add({ kind: "truncate", path: "/cluster/resources", times: 1 });
    const text = await errorText(server, "get_vms");
    expect(text).toContain("GET /cluster/resources");
    expect(text).toMatch(/not PVE's JSON|truncated/);
  });

  it("a connection reset is an error", async () => {
    sim.faults.add({ kind: "reset", path: "/nodes/pve1/status", times: 1 });
    const text = await errorText(server, "get_node_status", { node: "pve1" });
    expect(text).toContain("GET /nodes/pve1/status on 127.0.0.1");
    expect(text).toMatch(/ECONNRESET|socket|closed/i);
  });

  it("a 500 from Proxmox is reported with its message and path", async () => {
    sim.faults.add({ kind: "status", path: "/nodes/pve1/status", status: 500, message: "got lock timeout" });
    const text = await errorText(server, "get_node_status", { node: "pve1" });
    expect(text).toContain("500");
    expect(text).toContain("/nodes/pve1/status");
    expect(text).toContain("got lock timeout");
  });
});

describe("an offline node (pve3, 595)", () => {
  let server: Served;
  beforeAll(async () => {
    server = await serverWith(simEnv(sim));
  });

  it("get_node_status pve3 says the node is offline", async () => {
    const text = await errorText(server, "get_node_status", { node: "pve3" });
    expect(text).toContain("Node pve3 is offline");
    expect(text).toContain("595");
  });

  it("get_vms still lists the whole cluster, with pve3 reported and its guests 'unknown'", async () => {
    const result = await server.call("get_vms");
    expect(result.isError, textOf(result)).toBeFalsy();
    const data = result.structuredContent as {
      total: number;
      offlineNodes: string[];
      guests: { vmid: number; node: string; status: string }[];
    };
    expect(data.total).toBe(22);
    expect(data.offlineNodes).toEqual(["pve3"]);
    expect(data.guests.filter((g) => g.node === "pve3").map((g) => [g.vmid, g.status])).toEqual([
      [110, "unknown"],
      [201, "unknown"],
    ]);
    expect(data.guests.filter((g) => g.node !== "pve3").every((g) => g.status !== "unknown")).toBe(true);
    expect(textOf(result)).toContain("offline node(s): pve3");
  });

  it("get_vm_status of a guest on pve3 says its node is offline, without asking pve3", async () => {
    const text = await errorText(server, "get_vm_status", { vmid: 110 });
    expect(text).toContain("on node pve3, which is offline");
    expect(sim.requests().map((r) => r.path)).toEqual(["/cluster/resources"]);
  });

  it("get_storage lists pve3's storages as unknown instead of failing", async () => {
    const result = await server.call("get_storage");
    expect(result.isError).toBeFalsy();
    const storages = (result.structuredContent as { storages: { node: string; status: string }[] }).storages;
    expect(storages.filter((s) => s.node === "pve3").map((s) => s.status)).toEqual(Array(6).fill("unknown"));
  });
});

describe("a wrong pinned fingerprint", () => {
  it("is refused before anything is sent, and both fingerprints are shown", async () => {
    const hex = createHash("sha256").update("not the simulator's certificate").digest("hex").toUpperCase();
    const pinned = hex.replace(/(..)(?!$)/g, "$1:");
    expect(pinned).not.toBe(sim.fingerprint);
    const server = await serverWith(simEnv(sim, undefined, { PROXMOX_TLS_FINGERPRINT: pinned }));
    sim.clearRequests();
    for (const [tool, args] of [
      ["get_version", {}],
      ["get_vms", {}],
      ["get_node_status", { node: "pve1" }],
    ] as const) {
      const text = await errorText(server, tool, args);
      expect(text).toContain(pinned);
      expect(text).toContain(sim.fingerprint);
      expect(text).toContain("nothing was sent");
      expect(text).toContain("PROXMOX_TLS_FINGERPRINT");
    }
    expect(sim.requests()).toEqual([]);
    expect(server.stderr()).not.toContain(sim.tokens.auditor.secret);
  });
});

describe("a wrong secret (401)", () => {
  it("says the token is wrong or expired, without any secret", async () => {
    const wrong = randomUUID();
    const server = await serverWith(simEnv(sim, { id: sim.tokens.auditor.id, secret: wrong }));
    for (const tool of ["get_version", "get_nodes", "get_vms"]) {
      const text = await errorText(server, tool);
      expect(text).toContain("401");
      expect(text).toContain("mcp@pve!readonly");
      expect(text).toMatch(/secret is wrong/);
      expect(text).toMatch(/expired/);
      // The first call that fails for a wrong setting points to the command that checks them all.
      expect(text).toContain("run `proxmox-mcp doctor` with the same settings");
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(sim.tokens.auditor.secret);
    }
    expect(sim.requests().every((r) => r.status === 401)).toBe(true);
    expect(server.stderr()).not.toContain(wrong);
  });
});

describe("a token without Sys.Audit on the node asked for (403)", () => {
  it("get_node_status names Sys.Audit, /nodes/pve1 and the pveum fix", async () => {
    // Sys.Audit on /nodes/pve2 only: the tool is offered, and pve1 answers 403.
    const server = await serverWith(simEnv(sim, TEST_TOKENS.oneNode));
    sim.clearRequests(); // the start-up token check has run
    const text = await errorText(server, "get_node_status", { node: "pve1" });
    expect(text).toContain("Sys.Audit");
    expect(text).toContain("/nodes/pve1");
    expect(text).toContain(
      `pveum acl modify /nodes/pve1 --users onenode@pve --tokens '${TEST_TOKENS.oneNode.id}' --roles PVEAuditor`,
    );
    expect(text).not.toContain(TEST_TOKENS.oneNode.secret);
    expect(sim.requests().map((r) => [r.path, r.status])).toEqual([["/nodes/pve1/status", 403]]);

    // The node it may see answers.
    const pve2 = await server.call("get_node_status", { node: "pve2" });
    expect(pve2.isError, textOf(pve2)).toBeFalsy();
  });
});
