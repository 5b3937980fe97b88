import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import {
  loadScenarioFile,
  parseScenario,
  resolveTime,
  type Scenario,
  type ScenarioInput,
} from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { scaleScenario } from "../../src/simulator/scenarios/scale.js";

const NOW = 1_800_000_000;
const DAY = 86400;

function guest(s: Scenario, vmid: number) {
  const g = s.guests.find((x) => x.vmid === vmid);
  if (!g) throw new Error(`guest ${vmid} missing`);
  return g;
}

function node(s: Scenario, name: string) {
  const n = s.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`node ${name} missing`);
  return n;
}

/** vmids covered by an enabled backup job (explicit vmid lists, or every guest for all=1). */
function backedUpByJobs(s: Scenario): Set<number> {
  const covered = new Set<number>();
  for (const job of s.backupJobs.filter((j) => j.enabled === 1)) {
    if (job.all === 1) s.guests.forEach((g) => covered.add(g.vmid));
    for (const id of job.vmid?.split(",") ?? []) covered.add(Number(id));
  }
  return covered;
}

describe("demo scenario", () => {
  const demo = parseScenario(demoScenario, "demo");

  it("is a superset of the synthesized fixtures", () => {
    expect(demo.clusterName).toBe("lab");
    expect(demo.nodes.map((n) => n.name)).toEqual(["pve1", "pve2", "pve3"]);
    const pve1 = node(demo, "pve1");
    expect(pve1).toMatchObject({ nodeid: 1, ip: "192.0.2.11", cpus: 16, memTotal: 67108036608 });
    expect(pve1.cpuModel).toContain("AMD Ryzen 7 5700G");
    expect(guest(demo, 100)).toMatchObject({
      name: "web01",
      node: "pve1",
      status: "running",
      pool: "prod",
      tags: "prod;web",
      ha: { state: "started" },
    });
    expect(guest(demo, 100).config).toMatchObject({ agent: "1", memory: "4096", cores: 4, onboot: 1 });
    expect(guest(demo, 100).config).not.toHaveProperty("name");
    expect(guest(demo, 100).agent?.interfaces).toHaveLength(2);
    expect(guest(demo, 100).snapshots.map((s) => s.name)).toEqual(["pre-upgrade", "post-upgrade"]);
    expect(guest(demo, 101)).toMatchObject({ name: "db01", status: "stopped", tags: "db" });
    expect(guest(demo, 101).config["agent"]).toBe("1");
    expect(guest(demo, 102)).toMatchObject({ name: "win-test", node: "pve2", status: "running" });
    expect(guest(demo, 9000)).toMatchObject({ name: "debian-13-cloud", template: true });
    expect(guest(demo, 200)).toMatchObject({ type: "lxc", name: "dns01", pool: "prod", tags: "infra" });
    expect(guest(demo, 201)).toMatchObject({ type: "lxc", name: "ct-old", node: "pve3" });
    expect(demo.storages.map((s) => s.storage)).toEqual(
      expect.arrayContaining(["local", "local-lvm", "nfs-backup"]),
    );
    const fixtureUpid = "UPID:pve1:002B0011:07B4D2A1:69F06A2E:qmstart:100:ops@pve:";
    const [, , pid, pstart, start] = fixtureUpid.split(":");
    expect(demo.tasks).toContainEqual(
      expect.objectContaining({
        pid: parseInt(pid!, 16),
        pstart: parseInt(pstart!, 16),
        starttime: parseInt(start!, 16),
        type: "qmstart",
        user: "ops@pve",
      }),
    );
    expect(demo.tokens).toEqual({
      auditor: "mcp@pve!readonly",
      admin: "automation@pve!mcp-admin",
      root: "root@pam!sim",
    });
  });

  it("has about 20 guests on pve1, pve2 and pve3", () => {
    expect(demo.guests.length).toBeGreaterThanOrEqual(18);
    expect(new Set(demo.guests.map((g) => g.type))).toEqual(new Set(["qemu", "lxc"]));
    expect(demo.guests.filter((g) => g.node === "pve3").length).toBeGreaterThanOrEqual(2);
  });

  it("plants an offline node and an expiring certificate", () => {
    expect(node(demo, "pve3").online).toBe(false);
    const custom = node(demo, "pve2").certificates.custom;
    expect(custom && resolveTime(custom.notafter, NOW) - NOW).toBe(12 * DAY);
  });

  it("plants token and account problems", () => {
    const tokens = demo.users.flatMap((u) => u.tokens.map((t) => ({ id: `${u.userid}!${t.tokenid}`, ...t })));
    expect(tokens.filter((t) => t.privsep === 0 && !t.id.startsWith("root@pam!")).map((t) => t.id)).toContain(
      "ops@pve!ansible",
    );
    const users = new Map(demo.users.map((u) => [u.userid, u]));
    expect(users.get("ops@pve")?.tfa).toEqual([]);
    expect(users.get("root@pam")?.tfa.map((t) => t.type)).toContain("totp");
    expect(demo.users.some((u) => u.tfa.some((t) => t.type === "webauthn"))).toBe(true);
    expect(demo.users.some((u) => u.enable === 0)).toBe(true);
    expect(demo.users.some((u) => u.expire !== 0 && resolveTime(u.expire, NOW) < NOW)).toBe(true);
  });

  it("plants an over-broad group ACL", () => {
    expect(demo.acl).toContainEqual({ path: "/", ugid: "@operators", roleid: "Administrator", propagate: 1 });
    expect(demo.groups.find((g) => g.groupid === "operators")?.users).toContain("ops@pve");
    expect(demo.acl).toContainEqual(
      expect.objectContaining({ path: "/", ugid: "mcp@pve!readonly", roleid: "PVEAuditor" }),
    );
  });

  it("plants firewall gaps", () => {
    expect(demo.clusterFirewall.options).toMatchObject({ enable: 0, policy_in: "ACCEPT" });
    const nets = demo.guests.map((g) => String(g.config["net0"] ?? ""));
    expect(nets.some((n) => n.includes("firewall=1"))).toBe(true);
    expect(nets.some((n) => n !== "" && !n.includes("firewall=1"))).toBe(true);
    expect(demo.guests.some((g) => g.firewall?.options["enable"] === 1 && g.firewall.rules.length > 0)).toBe(
      true,
    );
  });

  it("plants guests without any backup", () => {
    const covered = backedUpByJobs(demo);
    const withBackupVolume = new Set(
      demo.storages.flatMap((s) => s.volumes.filter((v) => v.content === "backup").map((v) => v.vmid)),
    );
    const unprotected = demo.guests.filter((g) => !covered.has(g.vmid) && !withBackupVolume.has(g.vmid));
    expect(unprotected.length).toBeGreaterThanOrEqual(3);
    expect(demo.backupJobs.find((j) => j.all === 1)?.enabled).toBe(0);
    expect(covered.size).toBeGreaterThan(0);
    expect(withBackupVolume.has(100)).toBe(true);
  });

  it("plants an old snapshot and failed tasks with logs", () => {
    const snaptimes = demo.guests.flatMap((g) => g.snapshots.map((s) => resolveTime(s.snaptime, NOW)));
    expect(snaptimes.some((t) => t <= NOW - 200 * DAY)).toBe(true);
    const failed = demo.tasks.filter(
      (t) => t.status && t.status !== "OK" && !t.status.startsWith("WARNINGS"),
    );
    expect(failed.map((t) => t.status)).toEqual(
      expect.arrayContaining(["job errors", "start failed: QEMU exited with code 1", "migration aborted"]),
    );
    for (const t of failed) expect(t.log.at(-1)).toBe(`TASK ERROR: ${t.status}`);
  });

  it("plants security updates, a nearly full storage and subscription gaps", () => {
    for (const name of ["pve1", "pve2"]) {
      expect(node(demo, name).aptUpdates.map((u) => u.Package)).toEqual(
        expect.arrayContaining(["openssl", "libssl3t64"]),
      );
    }
    const usage = demo.storages.flatMap((s) => Object.values(s.perNode).map((u) => u.used / u.total));
    expect(Math.max(...usage)).toBeGreaterThanOrEqual(0.9);
    expect(node(demo, "pve1").subscription).toMatchObject({ status: "active", level: "c" });
    expect(node(demo, "pve2").subscription.status).toBe("notfound");
  });

  it("plants disk health problems", () => {
    const nvme = node(demo, "pve1").disks.find((d) => d.type === "nvme");
    expect(nvme).toMatchObject({ health: "PASSED", wearout: 97 });
    expect(node(demo, "pve2").disks.some((d) => d.health !== "PASSED")).toBe(true);
    const ata = node(demo, "pve2").disks.find((d) => d.type === "hdd");
    expect(ata?.smartText).toMatch(/^ {2}5 Reallocated_Sector_Ct\s+\S{6}\s+\d+/m);
  });

  it("plants secrets that must be redacted", () => {
    const descriptions = demo.guests.map((g) => ({
      type: g.type,
      text: String(g.config["description"] ?? ""),
    }));
    expect(descriptions.some((d) => d.type === "lxc" && /pw:/.test(d.text))).toBe(true);
    expect(descriptions.some((d) => d.type === "qemu" && /API_KEY=/.test(d.text))).toBe(true);
    const template = guest(demo, 9000).config;
    expect(template["cipassword"]).toBeTruthy();
    expect(template["sshkeys"]).toMatch(/^ssh-ed25519%20/);
    expect(template["ide2"]).toBe("local-lvm:vm-9000-cloudinit,media=cdrom");
  });

  it("plants a failing replication job and a working one", () => {
    expect(demo.replication.some((r) => r.fail_count >= 3 && r.error)).toBe(true);
    expect(demo.replication.some((r) => r.fail_count === 0)).toBe(true);
  });

  it("describes node networks like GET /nodes/{node}/network", () => {
    const vmbr0 = node(demo, "pve1").network.find((n) => n["iface"] === "vmbr0");
    expect(vmbr0).toMatchObject({
      type: "bridge",
      bridge_ports: "eno1",
      cidr: "192.0.2.11/24",
      gateway: "192.0.2.1",
      families: ["inet"],
    });
  });
});

describe("scale scenario", () => {
  it("generates 32 nodes and 10,000 guests with unique vmids, quickly", () => {
    const started = performance.now();
    const input = scaleScenario(32, 10_000);
    expect(performance.now() - started).toBeLessThan(1000);
    const s = parseScenario(input, "scale");
    expect(s.nodes).toHaveLength(32);
    expect(s.nodes.every((n) => n.online)).toBe(true);
    expect(s.guests).toHaveLength(10_000);
    expect(new Set(s.guests.map((g) => g.vmid)).size).toBe(10_000);
    const qemuShare = s.guests.filter((g) => g.type === "qemu").length / s.guests.length;
    expect(qemuShare).toBeGreaterThan(0.65);
    expect(qemuShare).toBeLessThan(0.75);
    expect(guest(s, 100).name).toMatch(/^(vm|ct)-0100$/);
  });

  it("is deterministic", () => {
    expect(scaleScenario(32, 10_000)).toEqual(scaleScenario(32, 10_000));
    expect(scaleScenario(3, 50)).not.toEqual(scaleScenario(3, 51));
  });

  it("rejects invalid sizes", () => {
    expect(() => scaleScenario(0, 10)).toThrow(/node count must be an integer from 1 to 64/);
    expect(() => scaleScenario(65, 10)).toThrow(/node count/);
    expect(() => scaleScenario(2, 100_001)).toThrow(/guest count must be an integer from 1 to 100000/);
    expect(() => scaleScenario(2.5, 10)).toThrow(/node count/);
  });
});

describe("scenario files and validation", () => {
  it("loads the documented minimal example", () => {
    const file = fileURLToPath(new URL("../../docs/examples/scenario-minimal.json", import.meta.url));
    const s = loadScenarioFile(file);
    expect(s.nodes).toHaveLength(1);
    expect(s.guests).toHaveLength(2);
    expect(s.storages).toHaveLength(1);
    expect(Object.keys(s.tokens)).toEqual(["auditor", "admin", "root"]);
  });

  const minimal: ScenarioInput = {
    nodes: [
      { name: "pve", nodeid: 1, ip: "192.0.2.10", memTotal: 1, memUsed: 0, rootfsTotal: 1, rootfsUsed: 0 },
    ],
    users: [{ userid: "root@pam", tokens: [{ tokenid: "sim", secret: "x" }] }],
    tokens: { auditor: "root@pam!sim", admin: "root@pam!sim", root: "root@pam!sim" },
  };

  it("names a guest on an unknown node", () => {
    const bad = {
      ...minimal,
      guests: [{ vmid: 100, type: "qemu", node: "pve9", name: "x", cpus: 1, maxmem: 1, maxdisk: 1 }],
    };
    expect(() => parseScenario(bad, "bad.json")).toThrow(/bad\.json.*\n.*guest 100 is on unknown node pve9/);
  });

  it("names a malformed relative time with its path", () => {
    const bad = {
      ...minimal,
      tasks: [{ node: "pve", pid: 1, pstart: 1, starttime: "yesterday", type: "x", user: "a@pam" }],
    };
    expect(() => parseScenario(bad)).toThrow(/tasks\.0\.starttime: relative time must look like/);
  });

  it("names a token that does not exist", () => {
    const bad = { ...minimal, tokens: { ...minimal.tokens, admin: "nobody@pve!x" } };
    expect(() => parseScenario(bad)).toThrow(/tokens\.admin names nobody@pve!x/);
  });
});
