/**
 * The health toolset against the simulator: HA state with resources in fence flagged,
 * the failing replication job toward offline pve3, pve2's failing disk with its SMART
 * attributes, network interfaces; plus what a token without Sys.Audit on / or VM.Audit
 * cannot see, and answers the simulator does not give (HA error state, pending network
 * changes) from a scripted reader.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Config } from "../../src/config/types.js";
import { Secret } from "../../src/config/secret.js";
import { PveReader } from "../../src/pve/client.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { readFactsOf, type AnyTool, type ReadContext } from "../../src/tools/define.js";
import { getDisks, getHaStatus, getNetwork, getReplication, healthTools } from "../../src/tools/health.js";
import { simConfig } from "../helpers/config.js";
import { testScenario, TEST_TOKENS } from "../helpers/scenarios.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

type Out<T extends AnyTool> = z.infer<z.ZodObject<T["output"]>>;

/** The demo plus CT 201 (on offline pve3) under HA: the HA manager must fence its node. */
function scenario(): ScenarioInput {
  const s = testScenario();
  s.guests = (s.guests ?? []).map((g) =>
    g.vmid === 201 ? { ...g, ha: { state: "started", comment: "dns \u202estandby" } } : g,
  );
  return s;
}

let sim: Simulator;
let tc: ToolClient;

beforeAll(async () => {
  sim = await startSimulator({ scenario: scenario() });
  tc = await toolClient(sim, healthTools);
  // The server checks the token (GET /access/permissions) before the first call: done here.
  await tc.call("get_network", { node: "pve1" });
});

afterAll(async () => {
  await tc.close();
  await sim.close();
});

async function call<T>(name: string, args: Record<string, unknown> = {}, client = tc) {
  sim.clearRequests();
  const result = await client.call(name, args);
  return { ...result, structured: result.structuredContent as T, paths: sim.requests().map((r) => r.path) };
}

/** get_replication with a token the inventory would hide it from: what it says when called anyway. */
async function replicationAs(token: { id: string; secret: string }) {
  const config = simConfig(sim, { tokenId: token.id, tokenSecret: new Secret(token.secret) });
  const pve = new PveReader(config);
  try {
    const out = await getReplication.handle({}, readContext(pve, config));
    return { text: out.text, structured: z.object(getReplication.output).strict().parse(out.structured) };
  } finally {
    await pve.close();
  }
}

function readContext(pve: PveReader, config: Config): ReadContext {
  const signal = new AbortController().signal;
  return {
    read: new RunReader(pve, signal),
    facts: readFactsOf(config),
    signal,
    access: { readExtraPrivileges: [], hiddenTools: [], adminWarnings: [] },
  };
}

/** A reader that answers from a table, for answers the simulator does not produce. */
function scripted(answers: Record<string, unknown>): ReadContext {
  const answer = (path: string, params: Record<string, string | number> = {}) => {
    const filled = path.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k]));
    return filled in answers
      ? Promise.resolve(answers[filled])
      : Promise.reject(new Error(`unexpected GET ${filled}`));
  };
  const pve = {
    get: answer,
    getWithTotal: async (path: string, params?: Record<string, string | number>) => answer(path, params),
  } as unknown as PveReader;
  return readContext(pve, { tokenId: "mcp@pve!ro", tls: { mode: "system" } } as unknown as Config);
}

describe("get_ha_status", () => {
  type Ha = Out<typeof getHaStatus>;

  it("quorum, master, LRMs, and the resource on offline pve3 flagged as being fenced", async () => {
    const r = await call<Ha>("get_ha_status");
    expect(r.isError).toBeFalsy();
    expect(r.paths.sort()).toEqual(["/cluster/ha/resources", "/cluster/ha/status/current"]);
    expect(r.structured.quorum).toEqual({ ok: true, status: "OK" });
    expect(r.structured.master?.node).toBe("pve2");
    expect(r.structured.fencing?.state).toBe("armed");
    expect(r.structured.lrms.find((l) => l.node === "pve3")?.state).toBe("old timestamp - dead?");
    expect(r.structured.resources.map((x) => [x.sid, x.node, x.state])).toEqual([
      ["ct:201", "pve3", "fence"],
      ["vm:100", "pve1", "started"],
    ]);
    const ct = r.structured.resources[0];
    expect(ct?.problem).toContain("waits for the node to be fenced");
    expect(ct?.comment).toBe("dns standby");
    expect(r.structured.resources[1]?.problem).toBeUndefined();
    expect(r.text).toMatch(/^PROBLEM: ct:201 on pve3: FENCE: /m);
    expect(r.text).toMatch(/^PROBLEM ct:201 on pve3: fence/m);
    expect(r.text).toMatch(/^PROBLEM: LRM of pve3: old timestamp - dead\?/m);
    expect(r.text).toMatch(/^vm:100 on pve1: started, max_restart 1, max_relocate 1/m);
  });

  it("a resource in error state (scripted: the simulator has none): flagged with what to do", async () => {
    const ctx = scripted({
      "/cluster/ha/status/current": [
        { id: "quorum", type: "quorum", node: "pve1", status: "OK", quorate: 1 },
        { id: "master", type: "master", node: "pve1", status: "pve1 (active, Tue Apr 28 08:15:02 2026)" },
        { id: "lrm:pve1", type: "lrm", node: "pve1", status: "pve1 (active, Tue Apr 28 08:15:02 2026)" },
        {
          id: "service:vm:100",
          type: "service",
          sid: "vm:100",
          node: "pve1",
          state: "error",
          crm_state: "error",
        },
      ],
      "/cluster/ha/resources": [
        { sid: "vm:100", type: "vm", state: "started", max_restart: 1, max_relocate: 1 },
      ],
    });
    const out = await getHaStatus.handle({}, ctx);
    expect(out.structured.resources[0]).toMatchObject({
      sid: "vm:100",
      state: "error",
      requestedState: "started",
    });
    expect(out.structured.problems).toEqual([expect.stringContaining("vm:100 on pve1: ERROR: HA gave up")]);
    expect(out.text).toContain("ha-manager set vm:100 --state disabled");
  });

  it("no quorum: flagged", async () => {
    const ctx = scripted({
      "/cluster/ha/status/current": [
        { id: "quorum", type: "quorum", node: "pve1", status: "No quorum on node 'pve1'!", quorate: 0 },
      ],
      "/cluster/ha/resources": [],
    });
    const out = await getHaStatus.handle({}, ctx);
    expect(out.structured.quorum?.ok).toBe(false);
    expect(out.text).toContain("PROBLEM: cluster not quorate");
    expect(out.text).toContain("no HA resources configured");
  });

  it("hidden from a token without Sys.Audit on / (PVE answers 403 there)", async () => {
    const client = await toolClient(sim, healthTools, TEST_TOKENS.noSysAudit);
    try {
      // The token check runs before the first call; tools/list follows it.
      await client.call("get_network", { node: "pve1" });
      const names = (await client.client.listTools()).tools.map((t) => t.name);
      expect(names).not.toContain("get_ha_status");
      expect(names).toContain("get_network");
    } finally {
      await client.close();
    }
  });
});

describe("get_replication", () => {
  type Repl = Out<typeof getReplication>;

  it("205-0 failing toward offline pve3 with fail_count and error, 104-0 fine; no request to pve3", async () => {
    const r = await call<Repl>("get_replication");
    expect(r.paths.sort()).toEqual([
      "/access/permissions",
      "/cluster/replication",
      "/cluster/resources",
      "/nodes/pve2/replication",
    ]);
    const [ok, failing] = r.structured.jobs;
    expect(ok).toMatchObject({
      id: "104-0",
      guest: 104,
      source: "pve2",
      target: "pve1",
      state: "ok",
      failCount: 0,
    });
    expect(failing).toMatchObject({
      id: "205-0",
      guest: 205,
      guestType: "lxc",
      source: "pve2",
      target: "pve3",
      state: "failing",
      failCount: 3,
      targetOffline: true,
    });
    expect(failing?.error).toContain("pvesr prepare-local-job 205-0");
    expect(Date.now() - Date.parse(failing?.lastSync ?? "")).toBeGreaterThan(25 * 3600_000);
    expect(r.text).toMatch(
      /^PROBLEM 205-0 CT 205 pve2 -> pve3 \(OFFLINE\) every \*\/30: FAILING \(fail_count 3\), last sync .* \(26h ago\)/m,
    );
    expect(r.text).toContain("no retry while target pve3 is offline");
    expect(r.text).toMatch(/^104-0 VM 104 pve2 -> pve1 every \*\/15: ok, last sync .* \(7m ago\)/m);
    expect(r.structured.offlineNodes).toEqual(["pve3"]);
    expect(r.structured.gaps).toEqual([]);
  });

  it("a source node that is down: state unknown, said so, never a request to it", async () => {
    const s = scenario();
    s.nodes = s.nodes.map((n) => (n.name === "pve2" ? { ...n, online: false } : n));
    const down = await startSimulator({ scenario: s });
    const client = await toolClient(down, healthTools);
    try {
      await client.call("get_network", { node: "pve1" });
      down.clearRequests();
      const r = await client.call("get_replication", {});
      const jobs = (r.structuredContent as Repl).jobs;
      expect(jobs.map((j) => [j.id, j.state, j.sourceOffline])).toEqual([
        ["104-0", "unknown", true],
        ["205-0", "unknown", true],
      ]);
      expect(r.text).toContain("source node pve2 is offline: state unknown");
      expect(down.requests().some((q) => q.path.startsWith("/nodes/"))).toBe(false);
    } finally {
      await client.close();
      await down.close();
    }
  });

  it("a token without VM.Audit: no jobs listed, and says jobs may be hidden", async () => {
    const r = await replicationAs(TEST_TOKENS.oneNode);
    expect(r.structured.jobs).toEqual([]);
    expect(r.structured.gaps).toEqual([
      { what: expect.stringContaining("replication jobs of guests"), needs: "VM.Audit on /vms" },
    ]);
    expect(r.text).toContain("NOT VISIBLE: replication jobs");
  });
});

describe("get_disks", () => {
  type Disks = Out<typeof getDisks>;

  it("pve2: the failing ZFS disk flagged, with its SMART attributes (one SMART request, for it only)", async () => {
    const r = await call<Disks>("get_disks", { node: "pve2" });
    expect(r.paths).toEqual(["/nodes/pve2/disks/list", "/nodes/pve2/disks/smart"]);
    expect(sim.requests()[1]?.query).toMatchObject({ disk: "/dev/sdb" });
    const sdb = r.structured.disks.find((d) => d.devpath === "/dev/sdb");
    expect(sdb).toMatchObject({ health: "FAILED!", usedBy: "ZFS", type: "hdd", serial: "WD-WCC4J1234567" });
    expect(sdb?.problem).toContain("SMART health FAILED!");
    expect(sdb?.smart?.attributes?.map((a) => a.name)).toContain("Reallocated_Sector_Ct");
    expect(sdb?.smart?.attributes?.map((a) => a.name)).toContain("Current_Pending_Sector");
    expect(r.structured.disks.find((d) => d.devpath === "/dev/sda")).toMatchObject({
      wearout: 91,
      health: "PASSED",
    });
    expect(r.structured.problems).toHaveLength(1);
    expect(r.text).toMatch(
      /^PROBLEM \/dev\/sdb hdd 1\.00 TB WDC_WD10EFRX-68FYTN0 .* used by ZFS .*SMART FAILED!/m,
    );
    expect(r.text).toMatch(/smart 5 Reallocated_Sector_Ct: raw \d+/);
    expect(r.text).toContain("1 with problems");
  });

  it("pve1: a worn-out SSD is a problem; SMART health passes, so no SMART request", async () => {
    const r = await call<Disks>("get_disks", { node: "pve1" });
    expect(r.paths).toEqual(["/nodes/pve1/disks/list"]);
    expect(r.structured.disks.map((d) => d.wearout)).toEqual([97, 99, 7]);
    expect(r.structured.problems).toEqual([
      "/dev/sdb (Samsung_SSD_870_EVO_2TB, S6PNNM0T901298H, used by ZFS): worn out: 7% of rated life left",
    ]);
  });

  it("Sys.Audit on the node only: disks listed, SMART details stated as needing Sys.Audit on /", async () => {
    const client = await toolClient(sim, healthTools, TEST_TOKENS.oneNode);
    try {
      const r = await call<Disks>("get_disks", { node: "pve2" }, client);
      expect(r.isError).toBeFalsy();
      expect(r.structured.disks.find((d) => d.devpath === "/dev/sdb")?.health).toBe("FAILED!");
      expect(r.structured.gaps).toEqual([
        { what: "SMART attributes of /dev/sdb on pve2", needs: "Sys.Audit on /" },
      ]);
      expect(r.text).toContain("NOT VISIBLE: SMART attributes of /dev/sdb on pve2 (needs Sys.Audit on /)");
    } finally {
      await client.close();
    }
  });

  it("an offline node: one actionable line", async () => {
    const r = await call<Disks>("get_disks", { node: "pve3" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/pve3 is offline/);
  });
});

describe("get_network", () => {
  type Net = Out<typeof getNetwork>;

  it("pve2: bridges first with addresses, ports, VLANs; an inactive NIC shown as such", async () => {
    const r = await call<Net>("get_network", { node: "pve2" });
    expect(r.paths).toEqual(["/nodes/pve2/network"]);
    expect(r.structured.interfaces.map((i) => i.iface)).toEqual(["vmbr0", "vmbr1", "eno1", "eno2"]);
    expect(r.structured.interfaces[0]).toMatchObject({
      type: "bridge",
      active: true,
      autostart: true,
      cidr: "192.0.2.12/24",
      gateway: "192.0.2.1",
      ports: "eno1",
    });
    expect(r.structured.interfaces[1]).toMatchObject({
      vlanAware: true,
      vlanIds: "2-4094",
      comments: "guest VLANs",
    });
    expect(r.structured.interfaces[3]).toMatchObject({ iface: "eno2", active: false });
    expect(r.structured.pendingChanges).toBeNull();
    expect(r.text).toMatch(
      /^vmbr0 bridge active autostart static 192\.0\.2\.12\/24 gw 192\.0\.2\.1 ports eno1$/m,
    );
  });

  it("pending changes and a bridge set to autostart but down (scripted: PVE's `changes` beside data)", async () => {
    const ctx = scripted({
      "/nodes/pve1/network": {
        data: [
          {
            iface: "vmbr0",
            type: "bridge",
            active: 0,
            autostart: 1,
            bridge_ports: "eno1",
            cidr: "192.0.2.11/24",
          },
          {
            iface: "bond0",
            type: "bond",
            active: 1,
            autostart: 1,
            slaves: "eno1 eno2",
            bond_mode: "802.3ad",
          },
          {
            iface: "vmbr0.20",
            type: "vlan",
            active: 1,
            autostart: 1,
            "vlan-id": 20,
            "vlan-raw-device": "vmbr0",
          },
        ],
        changes:
          "--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n+iface vmbr0.30 inet manual\n",
      },
    });
    const out = await getNetwork.handle({ node: "pve1" }, ctx);
    expect(out.structured.pendingChanges).toContain("+iface vmbr0.30 inet manual");
    expect(out.text).toContain("PENDING network changes (not applied yet):");
    expect(out.text).toMatch(/«untrusted network diff [0-9a-f]{8}/);
    expect(out.text).toMatch(
      /^WARNING vmbr0 bridge inactive autostart .*\(set to start at boot but not active\)/m,
    );
    expect(out.text).toMatch(/^bond0 bond active autostart ports eno1 eno2 mode 802\.3ad$/m);
    expect(out.text).toMatch(/^vmbr0\.20 vlan active autostart on vmbr0 vlan 20$/m);
  });
});

describe("hostile input", () => {
  it.each([
    ["get_disks", { node: "../access" }],
    ["get_disks", { node: "pve1/../../cluster" }],
    ["get_disks", {}],
    ["get_network", { node: "atlas/qemu/101/status/stop#" }],
    ["get_network", { node: "-pve1" }],
    ["get_network", { node: "x".repeat(64) }],
  ])("%s %j: refused, nothing sent", async (name, args) => {
    const r = await call(name, args);
    expect(r.isError).toBe(true);
    expect(r.paths).toEqual([]);
  });
});
