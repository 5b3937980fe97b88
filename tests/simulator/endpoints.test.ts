/**
 * Every read endpoint of the demo answers with realistic data, and the problems
 * planted in the demo (src/simulator/scenarios/demo.ts) are visible through the
 * API exactly where an audit would look for them.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type TokenCredentials } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { api, type ApiResponse } from "../helpers/client.js";

type Entry = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DAY = 86400;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: "demo" });
});
afterAll(() => sim.close());

/** GET as the auditor (default) or another token; asserts 200 and returns `data`. */
async function data(
  path: string,
  token: TokenCredentials = sim.tokens.auditor,
): Promise<ApiResponse["body"]> {
  const res = await api(sim, { path, token });
  expect(res.status, `${path}: ${res.raw}`).toBe(200);
  return res.body.data;
}

/** mcp@pve!ops: PVEVMUser on /vms, no Sys.Audit on the nodes (a demo token). */
function opsToken(): TokenCredentials {
  const mcp = demoScenario.users!.find((u) => u.userid === "mcp@pve")!;
  return { id: "mcp@pve!ops", secret: mcp.tokens!.find((t) => t.tokenid === "ops")!.secret };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

describe("cluster", () => {
  it("GET /version", async () => {
    expect(await data("/version")).toEqual({ release: "9.1", version: "9.1.9", repoid: expect.any(String) });
  });

  it("GET /cluster/status: quorate, 3 nodes, pve3 offline", async () => {
    const status: Entry[] = await data("/cluster/status");
    expect(status[0]).toMatchObject({ type: "cluster", name: "lab", nodes: 3, quorate: 1 });
    const nodes = status.filter((e) => e["type"] === "node");
    expect(nodes.map((n) => [n["name"], n["online"], n["local"]])).toEqual([
      ["pve1", 1, 1],
      ["pve2", 1, 0],
      ["pve3", 0, 0],
    ]);
    expect(nodes.find((n) => n["name"] === "pve3")).toMatchObject({ ip: "192.0.2.13", nodeid: 3 });
  });

  it("GET /cluster/config/totem and /nodes: corosync.conf as pvecm create writes it, every value a string", async () => {
    expect(await data("/cluster/config/totem")).toEqual({
      cluster_name: "lab",
      config_version: expect.stringMatching(/^\d+$/),
      interface: { "0": { linknumber: "0" } },
      ip_version: "ipv4-6",
      link_mode: "passive",
      secauth: "on",
      version: "2",
    });
    const nodes: Entry[] = await data("/cluster/config/nodes");
    expect(nodes.find((n) => n["name"] === "pve3")).toEqual({
      node: "pve3",
      name: "pve3",
      nodeid: "3",
      quorum_votes: "1",
      ring0_addr: "192.0.2.13",
    });
  });

  it("GET /nodes/{node}/status", async () => {
    const status: Entry = await data("/nodes/pve1/status");
    expect(status["cpuinfo"]).toMatchObject({ model: "AMD Ryzen 7 5700G with Radeon Graphics", cpus: 16 });
    expect(status["memory"]).toMatchObject({ total: 67108036608, used: 21474271232 });
    expect(status["pveversion"]).toMatch(/^pve-manager\/9\.1\.9\//);
    expect(status["uptime"]).toBeGreaterThan(1209000);
    // The offline node cannot be reached through the local one.
    expect((await api(sim, { path: "/nodes/pve3/status", token: sim.tokens.auditor })).status).toBe(595);
  });

  it("GET /pools", async () => {
    expect(await data("/pools")).toEqual([
      { poolid: "prod", comment: "Production" },
      { poolid: "dev", comment: "Development and CI" },
    ]);
  });

  it("GET /pools?poolid= adds the members as /cluster/resources entries, VM.Audit-filtered", async () => {
    const [prod]: Entry[] = await data("/pools?poolid=prod");
    expect(prod).toMatchObject({ poolid: "prod", comment: "Production" });
    const members: Entry[] = prod!["members"];
    const resources: Entry[] = await data("/cluster/resources?type=vm");
    const inPool = resources.filter((r) => r["pool"] === "prod");
    expect(members.map((m) => m["id"]).sort()).toEqual(inPool.map((r) => r["id"]).sort());
    expect(members.find((m) => m["vmid"] === 100)).toEqual(inPool.find((r) => r["vmid"] === 100));

    const lxc: Entry[] = (await data("/pools?poolid=prod&type=lxc"))[0]["members"];
    expect(lxc.length).toBeGreaterThan(0);
    expect(lxc.every((m) => m["type"] === "lxc")).toBe(true);
  });
});

describe("guests", () => {
  it("GET /nodes/{node}/qemu and /lxc list the node's guests", async () => {
    const qemu: Entry[] = await data("/nodes/pve1/qemu");
    expect(qemu.map((g) => g["vmid"]).sort()).toEqual([100, 101, 103, 105, 106, 107, 9000]);
    expect(qemu.find((g) => g["vmid"] === 9000)).toMatchObject({ template: 1, status: "stopped" });
    const lxc: Entry[] = await data("/nodes/pve1/lxc");
    expect(lxc.map((g) => g["vmid"]).sort()).toEqual([200, 202, 203, 206]);
    expect(lxc.every((g) => g["type"] === "lxc")).toBe(true);
  });

  it("GET qemu status/current: VM 100 running with the agent and HA, 101 stopped", async () => {
    const web01: Entry = await data("/nodes/pve1/qemu/100/status/current");
    expect(web01).toMatchObject({
      vmid: 100,
      name: "web01",
      status: "running",
      qmpstatus: "running",
      agent: 1,
      ha: { managed: 1, state: "started" },
    });
    expect(web01["uptime"]).toBeGreaterThan(0);
    expect(web01["mem"]).toBeGreaterThan(0);
    const db01: Entry = await data("/nodes/pve1/qemu/101/status/current");
    expect(db01).toMatchObject({
      vmid: 101,
      status: "stopped",
      qmpstatus: "stopped",
      uptime: 0,
      cpu: 0,
      mem: 0,
    });
    expect(db01["ha"]).toEqual({ managed: 0 });
    expect(db01).not.toHaveProperty("pid");
  });

  it("GET lxc status/current", async () => {
    expect(await data("/nodes/pve1/lxc/200/status/current")).toMatchObject({
      vmid: 200,
      name: "dns01",
      type: "lxc",
      status: "running",
      ha: { managed: 0 },
    });
  });

  it("GET qemu config: template 9000 hides cipassword, keeps URL-encoded sshkeys", async () => {
    const config: Entry = await data("/nodes/pve1/qemu/9000/config");
    expect(config).toMatchObject({ name: "debian-13-cloud", template: 1, ciuser: "admin" });
    expect(config["cipassword"]).toBe("**********");
    expect(config["sshkeys"]).toMatch(/^ssh-ed25519%20/);
    expect(decodeURIComponent(config["sshkeys"])).toMatch(/^ssh-ed25519 AAAA\S+ admin@lab$/);
    expect(config["digest"]).toMatch(/^[0-9a-f]{40}$/);
  });

  it("GET qemu config returns descriptions with their secrets, as PVE does", async () => {
    const app01: Entry = await data("/nodes/pve1/qemu/103/config");
    expect(app01["description"]).toContain("MONITORING_API_KEY=9f2c7e41b8d05a36e1f4c2b7a9d8e6f0");
    expect(app01["name"]).toBe("app01");
  });

  it("GET lxc config: raw lxc.* keys as [[key, value], ...], only where the container has some", async () => {
    expect((await data("/nodes/pve2/lxc/207/config"))["lxc"]).toEqual([
      ["lxc.apparmor.profile", "unconfined"],
      ["lxc.cgroup2.devices.allow", "a"],
    ]);
    expect(await data("/nodes/pve1/lxc/203/config")).not.toHaveProperty("lxc");
  });

  it("GET lxc config: hostname instead of name, description with the root password", async () => {
    const gitea: Entry = await data("/nodes/pve1/lxc/203/config");
    expect(gitea["hostname"]).toBe("gitea");
    expect(gitea).not.toHaveProperty("name");
    expect(gitea["description"]).toContain("root pw: Winter2026!");
    expect(gitea["rootfs"]).toBe("local-lvm:vm-203-disk-0,size=32G");
  });

  it("GET qemu snapshot: the snapshots, then 'current' (You are here!)", async () => {
    const web01: Entry[] = await data("/nodes/pve1/qemu/100/snapshot");
    expect(web01.map((s) => s["name"])).toEqual(["pre-upgrade", "post-upgrade", "current"]);
    expect(web01.at(-1)).toMatchObject({
      name: "current",
      description: "You are here!",
      parent: "post-upgrade",
      running: 1,
    });
    const db01: Entry[] = await data("/nodes/pve1/qemu/101/snapshot");
    const old = db01.find((s) => s["name"] === "before-pg16")!;
    expect(now() - old["snaptime"]).toBeGreaterThan(180 * DAY);
    expect(db01.at(-1)).toMatchObject({ name: "current", parent: "before-pg16", running: 0 });
  });

  it("GET lxc snapshot", async () => {
    const snaps: Entry[] = await data("/nodes/pve1/lxc/202/snapshot");
    expect(snaps.map((s) => s["name"])).toEqual(["pre-nginx-1-28", "current"]);
    expect(snaps[0]).not.toHaveProperty("vmstate");
    expect(snaps[1]).toMatchObject({ description: "You are here!", parent: "pre-nginx-1-28" });
  });

  it.each([
    ["/nodes/pve2/qemu/100/config", "nodes/pve2/qemu-server/100.conf"],
    ["/nodes/pve2/qemu/100/status/current", "nodes/pve2/qemu-server/100.conf"],
    ["/nodes/pve2/qemu/100/snapshot", "nodes/pve2/qemu-server/100.conf"],
    ["/nodes/pve1/lxc/100/config", "nodes/pve1/lxc/100.conf"],
  ])("GET %s on the wrong node or type: 500", async (path, file) => {
    const res = await api(sim, { path, token: sim.tokens.auditor });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe(`Configuration file '${file}' does not exist\n`);
  });
});

describe("storage", () => {
  it("GET /storage: storage.cfg", async () => {
    const storages: Entry[] = await data("/storage");
    expect(storages.map((s) => [s["storage"], s["type"]])).toEqual([
      ["local", "dir"],
      ["vmstore", "dir"],
      ["local-lvm", "lvmthin"],
      ["nfs-backup", "nfs"],
      ["pbs-main", "pbs"],
      ["pbs-offsite", "pbs"],
      ["tank", "zfspool"],
    ]);
    expect(storages.find((s) => s["storage"] === "nfs-backup")).toMatchObject({
      shared: 1,
      server: "192.0.2.50",
      content: "backup",
    });
  });

  it("GET /nodes/{node}/storage: tank on pve2 is more than 90 % full", async () => {
    const storages: Entry[] = await data("/nodes/pve2/storage");
    const tank = storages.find((s) => s["storage"] === "tank")!;
    expect(tank).toMatchObject({ active: 1, enabled: 1, type: "zfspool" });
    expect(tank["used_fraction"]).toBeGreaterThan(0.9);
    expect(tank["avail"]).toBe(tank["total"] - tank["used"]);
    const full = storages.filter((s) => s["used_fraction"] > 0.9).map((s) => s["storage"]);
    expect(full).toEqual(["tank"]);
  });

  it("GET /nodes/{node}/storage/{storage}/status", async () => {
    const status: Entry = await data("/nodes/pve2/storage/tank/status");
    expect(status).toMatchObject({ type: "zfspool", active: 1, content: "images,rootdir" });
    expect(status["used"] / status["total"]).toBeGreaterThan(0.9);
  });

  it("answers content of an unknown storage with 500 (storage_config dies), its status with 400", async () => {
    const content = await api(sim, { path: "/nodes/pve1/storage/nosuch/content", token: sim.tokens.root });
    expect(content.status).toBe(500);
    expect(content.body.message).toBe("storage 'nosuch' does not exist\n");
    const status = await api(sim, { path: "/nodes/pve1/storage/nosuch/status", token: sim.tokens.root });
    expect(status.status).toBe(400);
    expect(status.body.errors).toEqual({ storage: "No such storage." });
    const list = await api(sim, { path: "/nodes/pve1/storage?storage=nosuch", token: sim.tokens.root });
    expect(list.status).toBe(400);
    expect(list.body.errors).toEqual({ storage: "No such storage." });
  });

  it("answers content of a disabled storage, or one not on the node, with activate_storage's 500", async () => {
    const scenario = structuredClone(demoScenario);
    const storage = (id: string) => scenario.storages!.find((st) => st.storage === id)!;
    storage("nfs-backup").disable = 1;
    storage("tank").nodes = ["pve2"];
    const limited = await startSimulator({ scenario });
    try {
      const content = (path: string) => api(limited, { path, token: limited.tokens.root });
      const disabled = await content("/nodes/pve1/storage/nfs-backup/content");
      expect([disabled.status, disabled.body.message]).toEqual([500, "storage 'nfs-backup' is disabled\n"]);
      const elsewhere = await content("/nodes/pve1/storage/tank/content");
      expect([elsewhere.status, elsewhere.body.message]).toEqual([
        500,
        "storage 'tank' is not available on node 'pve1'\n",
      ]);
      expect((await content("/nodes/pve2/storage/tank/content")).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("GET storage content (root): backups with notes and protection", async () => {
    const backups: Entry[] = await data("/nodes/pve1/storage/nfs-backup/content", sim.tokens.root);
    const db01 = backups.find((v) => v["vmid"] === 101)!;
    expect(db01).toMatchObject({ content: "backup", protected: 1, notes: "db01 before pg16" });
    expect(backups.some((v) => v["vmid"] === 103)).toBe(true);
  });
});

describe("backups", () => {
  it("GET /cluster/backup: two disabled jobs, the nightly prod job, the PBS job and the container's local job", async () => {
    const jobs: Entry[] = await data("/cluster/backup");
    expect(jobs.map((j) => [j["id"], j["enabled"]])).toEqual([
      ["backup-5f2a91c3-7d1e", 0],
      ["backup-0c84e6b2-41aa", 0],
      ["backup-9e1d4c7a-2b6f", 1],
      ["backup-3c1f8a27-6d40", 1],
      ["backup-7b2e05d9-c3a8", 1],
    ]);
    expect(jobs[0]).toMatchObject({ all: 1, type: "vzdump", storage: "nfs-backup" });
    expect(jobs[2]).toMatchObject({ vmid: "100,103,104,200,202,205", schedule: "01:00" });
    for (const job of jobs) expect(job["next-run"]).toBeGreaterThan(now());
  });

  it("GET /cluster/backup-info/not-backed-up counts disabled jobs as coverage", async () => {
    const missing: Entry[] = await data("/cluster/backup-info/not-backed-up", sim.tokens.root);
    expect(missing.map((g) => g["vmid"])).toEqual([105, 106, 107, 108, 109, 110, 201, 206, 207, 208, 9000]);
    expect(missing.find((g) => g["vmid"] === 201)).toEqual({ vmid: 201, name: "ct-old", type: "lxc" });
    // 101 and 102 are only in a disabled job, yet they are not reported.
    expect(missing.some((g) => g["vmid"] === 101 || g["vmid"] === 102)).toBe(false);
  });
});

describe("access", () => {
  it("GET /access/groups", async () => {
    expect(await data("/access/groups")).toEqual([
      { groupid: "operators", comment: "Operations team", users: "alice@pve,contractor@pve,ops@pve" },
    ]);
  });

  it("GET /access/acl: Administrator on / for @operators, propagated", async () => {
    const acl: Entry[] = await data("/access/acl");
    expect(acl).toContainEqual({
      path: "/",
      type: "group",
      ugid: "operators",
      roleid: "Administrator",
      propagate: 1,
    });
    expect(acl).toContainEqual({
      path: "/",
      type: "token",
      ugid: "mcp@pve!readonly",
      roleid: "PVEAuditor",
      propagate: 1,
    });
  });

  it("GET /access/roles: built-in roles are special", async () => {
    const roles: Entry[] = await data("/access/roles");
    const byId = new Map(roles.map((r) => [r["roleid"], r]));
    for (const id of ["Administrator", "NoAccess", "PVEAdmin", "PVEAuditor", "PVEVMUser"]) {
      expect(byId.get(id), id).toMatchObject({ special: 1 });
    }
    expect(byId.get("PVEAuditor")!["privs"]).toBe(
      "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit,VM.GuestAgent.Audit",
    );
  });

  it("GET /access/tfa: ops@pve has no second factor", async () => {
    const tfa: Entry[] = await data("/access/tfa");
    expect(tfa.map((u) => u["userid"])).toEqual(["alice@pve", "root@pam"]);
    expect(tfa.find((u) => u["userid"] === "root@pam")!["entries"][0]).toMatchObject({ type: "totp" });
    expect(tfa.find((u) => u["userid"] === "alice@pve")!["entries"].map((e: Entry) => e["type"])).toEqual([
      "webauthn",
      "recovery",
    ]);
  });

  it("GET /access/users: expired contractor, disabled olddev with a token, privsep-0 ansible token", async () => {
    const users: Entry[] = await data("/access/users?full=1");
    const byId = new Map(users.map((u) => [u["userid"], u]));
    expect(byId.get("contractor@pve")!["expire"]).toBeLessThan(now() - 40 * DAY);
    expect(byId.get("olddev@pve")).toMatchObject({ enable: 0, tokens: [{ tokenid: "deploy" }] });
    expect(byId.get("ops@pve")!["tokens"]).toEqual([
      expect.objectContaining({ tokenid: "ansible", privsep: 0 }),
    ]);
  });
});

describe("firewall", () => {
  it("GET /cluster/firewall/options: disabled, policy ACCEPT", async () => {
    expect(await data("/cluster/firewall/options")).toMatchObject({
      enable: 0,
      policy_in: "ACCEPT",
      digest: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });

  it("GET /cluster/firewall/rules: SSH from anywhere", async () => {
    const rules: Entry[] = await data("/cluster/firewall/rules");
    expect(rules.map((r) => r["pos"])).toEqual([0, 1]);
    const ssh = rules.find((r) => r["macro"] === "SSH")!;
    expect(ssh).toMatchObject({ action: "ACCEPT", type: "in", enable: 1 });
    expect(ssh).not.toHaveProperty("source");
  });

  it("GET node firewall options and rules", async () => {
    expect(await data("/nodes/pve1/firewall/options")).toMatchObject({ enable: 1 });
    const rules: Entry[] = await data("/nodes/pve1/firewall/rules");
    expect(rules).toEqual([expect.objectContaining({ macro: "SSH", source: "192.0.2.0/24", pos: 0 })]);
  });

  it("GET guest firewall options and rules", async () => {
    expect(await data("/nodes/pve1/qemu/100/firewall/options")).toMatchObject({
      enable: 1,
      policy_in: "DROP",
    });
    const rules: Entry[] = await data("/nodes/pve1/qemu/100/firewall/rules");
    expect(rules.map((r) => r["macro"])).toEqual(["HTTP", "HTTPS", "SSH"]);
    expect(await data("/nodes/pve2/qemu/104/firewall/options")).toMatchObject({ enable: 0 });
    const ct: Entry[] = await data("/nodes/pve1/lxc/202/firewall/rules");
    expect(ct.map((r) => r["macro"])).toEqual(["HTTP", "HTTPS"]);
  });
});

describe("node system information", () => {
  it("GET certificates/info: pve2's pveproxy certificate expires within 30 days", async () => {
    const certs: Entry[] = await data("/nodes/pve2/certificates/info");
    expect(certs.map((c) => c["filename"])).toEqual(["pve-root-ca.pem", "pve-ssl.pem", "pveproxy-ssl.pem"]);
    const custom = certs.find((c) => c["filename"] === "pveproxy-ssl.pem")!;
    expect(custom["notafter"] - now()).toBeGreaterThan(0);
    expect(custom["notafter"] - now()).toBeLessThan(30 * DAY);
    expect(custom["issuer"]).toContain("Let's Encrypt");
    expect(new X509Certificate(custom["pem"]).fingerprint256).toBe(custom["fingerprint"]);
  });

  it("GET certificates/info: pve1's pve-ssl.pem is the served certificate, signed by the cluster CA", async () => {
    const certs: Entry[] = await data("/nodes/pve1/certificates/info");
    const node = certs.find((c) => c["filename"] === "pve-ssl.pem")!;
    expect(node["fingerprint"]).toBe(sim.fingerprint);
    const cert = new X509Certificate(node["pem"]);
    const ca = new X509Certificate(sim.caPem);
    expect(cert.fingerprint256).toBe(sim.fingerprint);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(node["san"]).toContain("pve1");
    expect(certs.find((c) => c["filename"] === "pve-root-ca.pem")!["pem"]).toBe(sim.caPem);
    expect(certs.some((c) => c["filename"] === "pveproxy-ssl.pem")).toBe(false);
  });

  it("GET apt/update: security updates pending on pve1", async () => {
    const updates: Entry[] = await data("/nodes/pve1/apt/update", sim.tokens.root);
    const names = updates.map((u) => u["Package"]);
    expect(names).toEqual(expect.arrayContaining(["openssl", "libssl3t64", "proxmox-kernel-6.17"]));
    expect(updates.find((u) => u["Package"] === "openssl")).toMatchObject({
      Origin: "Debian",
      OldVersion: "3.5.1-1+deb13u1",
      Version: "3.5.4-1~deb13u1",
    });
  });

  it("GET disks/list: a disk on pve2 fails SMART", async () => {
    const disks: Entry[] = await data("/nodes/pve2/disks/list");
    const failing = disks.filter((d) => d["health"] !== "PASSED");
    expect(failing.map((d) => [d["devpath"], d["health"], d["used"]])).toEqual([
      ["/dev/sdb", "FAILED!", "ZFS"],
    ]);
    expect(failing[0]!["by_id_link"]).toBe("/dev/disk/by-id/ata-WDC_WD10EFRX-68FYTN0_WD-WCC4J1234567");
    const pve1: Entry[] = await data("/nodes/pve1/disks/list");
    expect(pve1.every((d) => d["health"] === "PASSED")).toBe(true);
  });

  it("GET disks/smart: ATA attributes of the failing disk, text for NVMe", async () => {
    const smart: Entry = await data("/nodes/pve2/disks/smart?disk=/dev/sdb");
    expect(smart).toMatchObject({ health: "FAILED!", type: "ata" });
    expect(smart["attributes"].find((a: Entry) => a["name"] === "Reallocated_Sector_Ct")).toMatchObject({
      fail: "NOW",
      raw: "2011",
      value: 1,
      threshold: 140,
    });
    const nvme: Entry = await data("/nodes/pve1/disks/smart?disk=/dev/nvme0n1");
    expect(nvme).toMatchObject({ health: "PASSED", type: "text", wearout: 97 });
    expect(nvme["text"]).toContain("Percentage Used:                    3%");
  });

  it("GET network: vmbr0 bridges eno1", async () => {
    const ifaces: Entry[] = await data("/nodes/pve1/network");
    expect(ifaces.find((i) => i["iface"] === "vmbr0")).toMatchObject({
      type: "bridge",
      bridge_ports: "eno1",
      cidr: "192.0.2.11/24",
      gateway: "192.0.2.1",
      active: 1,
    });
    expect(ifaces.some((i) => i["iface"] === "lo")).toBe(false);
  });

  it("GET subscription: pve1 active, pve2 none; details only with Sys.Audit on the node", async () => {
    expect(await data("/nodes/pve1/subscription")).toMatchObject({
      status: "active",
      key: "pve1c-4a8d2e6f19",
      level: "c",
      serverid: expect.stringMatching(/^[0-9A-F]{32}$/),
    });
    expect(await data("/nodes/pve2/subscription")).toEqual({
      status: "notfound",
      message: "There is no subscription key",
      url: expect.stringMatching(/^https:\/\/www\.proxmox\.com\//),
      serverid: expect.stringMatching(/^[0-9A-F]{32}$/),
    });
    const ops = opsToken();
    const limited: Entry = await data("/nodes/pve1/subscription", ops);
    expect(limited).toEqual({ status: "active", message: null, url: expect.any(String) });
    expect(await data("/nodes/pve2/subscription", ops)).not.toHaveProperty("serverid");
  });

  it("GET syslog: paging with limit/start and the total", async () => {
    const res = await api(sim, { path: "/nodes/pve1/syslog?start=2&limit=3", token: sim.tokens.root });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(8);
    expect(res.body.data.map((l: Entry) => l["n"])).toEqual([3, 4, 5]);
    const all: Entry[] = await data("/nodes/pve1/syslog", sim.tokens.root);
    expect(
      all.filter((l) => /authentication failure; rhost=::ffff:198\.51\.100\.23/.test(l["t"])),
    ).toHaveLength(3);
  });
});

describe("HA and replication", () => {
  it("GET /cluster/ha/status/current: quorum, master, pve3's LRM dead, VM 100 started", async () => {
    const status: Entry[] = await data("/cluster/ha/status/current");
    expect(status[0]).toMatchObject({ id: "quorum", status: "OK", quorate: 1 });
    expect(status.find((s) => s["id"] === "master")).toMatchObject({ node: "pve2" });
    expect(status.find((s) => s["id"] === "lrm:pve3")!["status"]).toContain("old timestamp - dead?");
    expect(status.find((s) => s["id"] === "service:vm:100")).toMatchObject({
      sid: "vm:100",
      node: "pve1",
      state: "started",
      request_state: "started",
    });
  });

  it("GET /cluster/ha/resources", async () => {
    expect(await data("/cluster/ha/resources")).toEqual([
      expect.objectContaining({ sid: "vm:100", type: "vm", state: "started" }),
    ]);
  });

  it("GET /cluster/replication and /nodes/{node}/replication: 205-0 fails, 104-0 is fine", async () => {
    const jobs: Entry[] = await data("/cluster/replication");
    expect(jobs.map((j) => [j["id"], j["guest"], j["target"]])).toEqual([
      ["104-0", 104, "pve1"],
      ["205-0", 205, "pve3"],
    ]);
    const states: Entry[] = await data("/nodes/pve2/replication");
    const failing = states.filter((j) => j["fail_count"] > 0);
    expect(failing.map((j) => j["id"])).toEqual(["205-0"]);
    expect(failing[0]).toMatchObject({ fail_count: 3, vmtype: "lxc" });
    expect(failing[0]!["error"]).toContain("exit code 255");
    expect(states.find((j) => j["id"] === "104-0")).not.toHaveProperty("error");
    expect(await data("/nodes/pve1/replication")).toEqual([]);
  });

  it("computes next_sync from the schedule: '*/15' is the next quarter hour after the last sync", async () => {
    const [fine]: Entry[] = await data("/nodes/pve2/replication?guest=104");
    expect(fine).toMatchObject({ id: "104-0", schedule: "*/15", fail_count: 0 });
    expect(fine!["next_sync"] % 900).toBe(0);
    expect(fine!["next_sync"] - fine!["last_sync"]).toBeGreaterThan(0);
    expect(fine!["next_sync"] - fine!["last_sync"]).toBeLessThanOrEqual(900);
    // 205-0 failed and its target is offline: no retry is planned.
    const [failing]: Entry[] = await data("/nodes/pve2/replication?guest=205");
    expect(failing).toMatchObject({ id: "205-0", next_sync: 0 });
  });

  it("leaves out next_sync when the simulator does not understand the schedule", async () => {
    const scenario = structuredClone(demoScenario);
    scenario.replication = [{ id: "104-0", guest: 104, target: "pve1", schedule: "mon..fri 25:00" }];
    const odd = await startSimulator({ scenario });
    try {
      const res = await api(odd, { path: "/nodes/pve2/replication", token: odd.tokens.root });
      expect(res.body.data).toEqual([expect.objectContaining({ id: "104-0", last_sync: 0 })]);
      expect(res.body.data[0]).not.toHaveProperty("next_sync");
    } finally {
      await odd.close();
    }
  });
});

describe("tasks", () => {
  it("GET a failed task's status and log: the log ends with TASK ERROR", async () => {
    const failed: Entry[] = await data("/nodes/pve2/tasks?errors=1");
    const qmstart = failed.find((t) => t["type"] === "qmstart")!;
    expect(qmstart).toMatchObject({
      id: "109",
      user: "ops@pve",
      status: "start failed: QEMU exited with code 1",
    });
    const upid = encodeURIComponent(qmstart["upid"]);
    expect(await data(`/nodes/pve2/tasks/${upid}/status`)).toMatchObject({
      status: "stopped",
      exitstatus: "start failed: QEMU exited with code 1",
      type: "qmstart",
    });
    const res = await api(sim, { path: `/nodes/pve2/tasks/${upid}/log`, token: sim.tokens.auditor });
    expect(res.status).toBe(200);
    const lines: Entry[] = res.body.data;
    expect(res.body.total).toBe(lines.length);
    expect(lines[0]).toMatchObject({ n: 1 });
    expect(lines.at(-1)!["t"]).toBe("TASK ERROR: start failed: QEMU exited with code 1");
  });

  it("GET the log of a well-formed UPID this node never ran: 200 with dump_logfile's line; status 400", async () => {
    const upid = encodeURIComponent("UPID:pve1:00001234:00005678:6A0B1C2D:qmstart:100:root@pam:");
    const log = await api(sim, { path: `/nodes/pve1/tasks/${upid}/log`, token: sim.tokens.root });
    expect(log.status).toBe(200);
    expect(log.body).toEqual({
      data: [{ n: 1, t: "unable to open file - No such file or directory" }],
      total: 1,
    });
    const status = await api(sim, { path: `/nodes/pve1/tasks/${upid}/status`, token: sim.tokens.root });
    expect(status.status).toBe(400);
    expect(status.body.errors).toEqual({ upid: "no such task" });
  });

  it("GET /nodes/{node}/tasks: userfilter ignores case and matches the user, not the token", async () => {
    const users = async (query: string) =>
      ((await data(`/nodes/pve2/tasks?${query}`)) as Entry[]).map((t) => [t["user"], t["tokenid"]]);
    expect(await users("userfilter=OPS@PVE")).toEqual([["ops@pve", undefined]]);
    expect(await users("userfilter=MCP")).toEqual([["mcp@pve", "ops"]]);
    // mcp@pve!ops's task does not match "ops": the filter sees the user only.
    expect(await users("userfilter=ops")).toEqual([["ops@pve", undefined]]);
  });

  it("GET /nodes/{node}/tasks: errors=1 overrides statusfilter", async () => {
    const statuses = async (query: string) =>
      ((await data(`/nodes/pve2/tasks?${query}`)) as Entry[]).map((t) => t["status"]).sort();
    const failed = [
      "command 'apt-get update' failed: exit code 100",
      "start failed: QEMU exited with code 1",
    ];
    expect(await statuses("statusfilter=ok")).toEqual(["OK", "OK"]);
    expect(await statuses("errors=1&statusfilter=ok")).toEqual(failed);
    expect(await statuses("errors=1")).toEqual(failed);
  });

  it("GET /cluster/tasks: the failed backup, migration and apt update are there", async () => {
    const tasks: Entry[] = await data("/cluster/tasks");
    const statuses = tasks.map((t) => t["status"]);
    expect(statuses).toEqual(
      expect.arrayContaining([
        "job errors",
        "migration aborted",
        "command 'apt-get update' failed: exit code 100",
      ]),
    );
    expect(tasks.find((t) => t["type"] === "vncproxy")).toMatchObject({ saved: "0" });
    expect(tasks.find((t) => t["type"] === "vncproxy")).not.toHaveProperty("status");
  });
});

describe("PVE 8 mode", () => {
  let pve8: Simulator;
  beforeAll(async () => {
    pve8 = await startSimulator({ scenario: "demo", pve: 8 });
  });
  afterAll(() => pve8.close());

  it("reports PVE 8.4 in /version, node version and node status, with current-kernel", async () => {
    const get = async (path: string) => (await api(pve8, { path, token: pve8.tokens.auditor })).body.data;
    const version = await get("/version");
    expect(version).toEqual({
      version: "8.4.14",
      release: "8.4",
      repoid: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(await get("/nodes/pve2/version")).toEqual(version);
    const status: Entry = await get("/nodes/pve1/status");
    expect(status["pveversion"]).toBe(`pve-manager/8.4.14/${version.repoid}`);
    expect(status["kversion"]).toMatch(/^Linux 6\.8\.12-15-pve #1 SMP PREEMPT_DYNAMIC PMX 6\.8\.12-15 /);
    expect(status["current-kernel"]).toMatchObject({ sysname: "Linux", release: "6.8.12-15-pve" });
  });
});
