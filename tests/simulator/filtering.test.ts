/**
 * PVE's silent list filtering and privilege rules (pve-reference §3 and §4):
 * /cluster/resources, storage lists and content, users, tasks, effective
 * permissions, Sys.Modify on apt/update, node stats, privsep token intersection.
 * Every case names the principal and asserts what it sees, concretely.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type TokenCredentials } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { api, type ApiResponse } from "../helpers/client.js";
import { testScenario, TEST_TOKENS } from "../helpers/scenarios.js";

type Entry = Record<string, unknown>;

/** Principals this file adds to the test scenario, one per rule under test. */
const TOKENS = {
  /** privsep 1; user and token both hold PVEAuditor on /vms/100 only. */
  vm100: { id: "vm100@pve!audit", secret: "44444444-4444-4444-8444-444444444444" },
  /** privsep 0; PVEAuditor on /pool/prod only (members 100 and 200). */
  poolAudit: { id: "poolaud@pve!audit", secret: "55555555-5555-4555-8555-555555555555" },
  /** privsep 0; Datastore.AllocateSpace alone on /storage/local. */
  space: { id: "space@pve!space", secret: "66666666-6666-4666-8666-666666666666" },
  /** privsep 1; Datastore.AllocateSpace on /storage/nfs-backup and VM.Backup on /vms/100. */
  backup100: { id: "backup@pve!backup", secret: "77777777-7777-4777-8777-777777777777" },
  /** privsep 1; the token has Administrator on /, its user only PVEAuditor. */
  narrow: { id: "narrow@pve!admin", secret: "88888888-8888-4888-8888-888888888888" },
  /** privsep 0 token of worker@pve (VM.Audit on /vms, no Sys.Audit anywhere). */
  worker: { id: "worker@pve!ci", secret: "99999999-9999-4999-8999-999999999999" },
} satisfies Record<string, TokenCredentials>;
const WORKER = { userid: "worker@pve", password: "worker password 1" };

const NODE_STATS = ["uptime", "cpu", "mem", "disk", "maxcpu", "maxmem", "maxdisk"];
const GUEST_STATS = ["uptime", "cpu", "mem", "maxmem", "maxcpu", "disk", "maxdisk", "netin", "netout"];

function userOf(tokenid: string): string {
  return tokenid.slice(0, tokenid.lastIndexOf("!"));
}

function filteringScenario(): ScenarioInput {
  const s = testScenario();
  const withToken = (t: TokenCredentials, privsep: 0 | 1) => ({
    userid: userOf(t.id),
    tokens: [{ tokenid: t.id.slice(t.id.lastIndexOf("!") + 1), secret: t.secret, privsep }],
  });
  s.users!.push(
    withToken(TOKENS.vm100, 1),
    withToken(TOKENS.poolAudit, 0),
    withToken(TOKENS.space, 0),
    withToken(TOKENS.backup100, 1),
    withToken(TOKENS.narrow, 1),
    { ...withToken(TOKENS.worker, 0), password: WORKER.password },
  );
  s.roles = { ...s.roles, SpaceOnly: ["Datastore.AllocateSpace"], BackupOnly: ["VM.Backup"] };
  /** An ACL for the user and, for a privsep token, the same one for the token. */
  const both = (t: TokenCredentials, path: string, roleid: string) => [
    { path, ugid: userOf(t.id), roleid },
    { path, ugid: t.id, roleid },
  ];
  s.acl!.push(
    ...both(TOKENS.vm100, "/vms/100", "PVEAuditor"),
    { path: "/pool/prod", ugid: userOf(TOKENS.poolAudit.id), roleid: "PVEAuditor" },
    { path: "/storage/local", ugid: userOf(TOKENS.space.id), roleid: "SpaceOnly" },
    ...both(TOKENS.backup100, "/storage/nfs-backup", "SpaceOnly"),
    ...both(TOKENS.backup100, "/vms/100", "BackupOnly"),
    { path: "/", ugid: userOf(TOKENS.narrow.id), roleid: "PVEAuditor" },
    { path: "/", ugid: TOKENS.narrow.id, roleid: "Administrator" },
    { path: "/vms", ugid: WORKER.userid, roleid: "VMAuditOnly" },
  );
  const task = (pid: number, user: string, type: string, id: string) => ({
    node: "pve1",
    pid,
    pstart: 120000000 + pid,
    starttime: `now-${pid}m`,
    endtime: `now-${pid - 1}m`,
    type,
    id,
    user,
    status: "OK",
    log: ["TASK OK"],
  });
  s.tasks!.push(task(20, WORKER.userid, "qmstart", "150"), task(21, TOKENS.worker.id, "qmstop", "151"));
  return s;
}

let sim: Simulator;
let scenario: ScenarioInput;
beforeAll(async () => {
  scenario = filteringScenario();
  sim = await startSimulator({ scenario });
});
afterAll(() => sim.close());

async function get(path: string, token: TokenCredentials): Promise<ApiResponse> {
  return api(sim, { path, token });
}

async function list(path: string, token: TokenCredentials): Promise<Entry[]> {
  const res = await get(path, token);
  expect(res.status, `${path} as ${token.id}: ${res.raw}`).toBe(200);
  return res.body.data as Entry[];
}

const ofType = (entries: Entry[], ...types: string[]) =>
  entries.filter((e) => types.includes(e["type"] as string));
const vmids = (entries: Entry[]) => entries.map((e) => e["vmid"]).sort((a, b) => Number(a) - Number(b));

async function ticketCookie(userid: string, password: string): Promise<Record<string, string>> {
  const res = await api(sim, {
    method: "POST",
    path: "/access/ticket",
    form: { username: userid, password },
  });
  expect(res.status, res.raw).toBe(200);
  return { Cookie: `PVEAuthCookie=${encodeURIComponent(res.body.data.ticket as string)}` };
}

describe("/cluster/resources", () => {
  it("shows the auditor every guest, every node with stats, every storage per node and every pool", async () => {
    const all = await list("/cluster/resources", sim.tokens.auditor);
    expect(vmids(ofType(all, "qemu", "lxc"))).toEqual(
      scenario.guests!.map((g) => g.vmid).sort((a, b) => a - b),
    );
    const nodes = ofType(all, "node");
    expect(nodes.map((n) => n["node"])).toEqual(["pve1", "pve2", "pve3"]);
    for (const n of nodes.filter((n) => n["status"] === "online")) {
      for (const key of NODE_STATS) expect(n, `${String(n["node"])}.${key}`).toHaveProperty(key);
    }
    const storages = ofType(all, "storage");
    expect(new Set(storages.map((s) => s["storage"]))).toEqual(
      new Set(["local", "vmstore", "local-lvm", "nfs-backup", "pbs-main", "pbs-offsite", "tank"]),
    );
    expect(storages.filter((s) => s["storage"] === "nfs-backup").map((s) => s["node"])).toEqual([
      "pve1",
      "pve2",
      "pve3",
    ]);
    expect(ofType(all, "pool").map((p) => p["pool"])).toEqual(["prod", "dev"]);
    expect(all.find((e) => e["id"] === "qemu/100")).toMatchObject({ pool: "prod", hastate: "started" });
  });

  it("shows a token with PVEAuditor on /vms/100 only guest 100 (without `pool`), all nodes without stats, no storage, no pool", async () => {
    const all = await list("/cluster/resources", TOKENS.vm100);
    const guests = ofType(all, "qemu", "lxc");
    expect(vmids(guests)).toEqual([100]);
    // VM 100 is in pool "prod", but the token has no Pool.Audit on /pool/prod.
    expect(guests[0]).not.toHaveProperty("pool");
    expect(guests[0]).toMatchObject({ name: "web01", status: "running", node: "pve1" });

    const nodes = ofType(all, "node");
    expect(nodes.map((n) => [n["node"], n["status"]])).toEqual([
      ["pve1", "online"],
      ["pve2", "online"],
      ["pve3", "offline"],
    ]);
    for (const n of nodes) {
      for (const key of NODE_STATS) expect(n, `${String(n["node"])}.${key}`).not.toHaveProperty(key);
    }
    expect(ofType(all, "storage")).toEqual([]);
    expect(ofType(all, "pool")).toEqual([]);
    expect(all).toHaveLength(1 + nodes.length);
  });

  it("counts ACLs on a pool for its members and keeps `pool` with Pool.Audit", async () => {
    const all = await list("/cluster/resources", TOKENS.poolAudit);
    const guests = ofType(all, "qemu", "lxc");
    const prod = scenario.guests!.filter((g) => g.pool === "prod").map((g) => g.vmid);
    expect(vmids(guests)).toEqual(prod.sort((a, b) => a - b));
    expect(prod).toEqual([100, 200]);
    for (const g of guests) expect(g["pool"]).toBe("prod");
    expect(ofType(all, "pool").map((p) => p["pool"])).toEqual(["prod"]);
  });

  it("does not list a storage for Datastore.AllocateSpace alone, but /storage and /nodes/{node}/storage do", async () => {
    const all = await list("/cluster/resources", TOKENS.space);
    expect(ofType(all, "storage")).toEqual([]);
    expect(ofType(all, "qemu", "lxc", "pool")).toEqual([]);
    expect((await list("/storage", TOKENS.space)).map((s) => s["storage"])).toEqual(["local"]);
    expect((await list("/nodes/pve1/storage", TOKENS.space)).map((s) => s["storage"])).toEqual(["local"]);
    expect((await list("/cluster/resources?type=storage", TOKENS.space)).length).toBe(0);
  });

  it.each([
    ["vm", ["lxc", "qemu"]],
    ["node", ["node"]],
    ["storage", ["storage"]],
  ])("filters type=%s", async (type, expected) => {
    const all = await list(`/cluster/resources?type=${type}`, sim.tokens.auditor);
    expect(all.length).toBeGreaterThan(0);
    expect([...new Set(all.map((e) => e["type"]))].sort()).toEqual(expected);
  });

  it("lists pools only without a type filter, and rejects type=pool with 400", async () => {
    for (const type of ["vm", "node", "storage"]) {
      expect(ofType(await list(`/cluster/resources?type=${type}`, sim.tokens.auditor), "pool")).toEqual([]);
    }
    const res = await get("/cluster/resources?type=pool", sim.tokens.auditor);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveProperty("type");
  });

  it("reports guests on the offline node as status unknown, without stats", async () => {
    const all = await list("/cluster/resources?type=vm", sim.tokens.auditor);
    const onPve3 = all.filter((g) => g["node"] === "pve3");
    expect(vmids(onPve3)).toEqual([110, 201]);
    for (const g of onPve3) {
      expect(g["status"]).toBe("unknown");
      for (const key of GUEST_STATS) expect(g, `${String(g["id"])}.${key}`).not.toHaveProperty(key);
    }
    const running = all.find((g) => g["vmid"] === 100)!;
    for (const key of GUEST_STATS) expect(running).toHaveProperty(key);
  });
});

describe("privilege-separated tokens", () => {
  it("intersects a token's ACL with its user's: Administrator on the token, PVEAuditor on the user", async () => {
    const stop = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/100/status/stop",
      token: TOKENS.narrow,
    });
    expect(stop.status).toBe(403);
    expect(stop.body.message).toBe("Permission check failed (/vms/100, VM.PowerMgmt)\n");
    // What both have (PVEAuditor) still works.
    expect((await get("/nodes/pve1/qemu/100/status/current", TOKENS.narrow)).status).toBe(200);
    const perms = await list("/access/permissions?path=/vms/100", TOKENS.narrow);
    const privs = Object.keys((perms as unknown as Record<string, Record<string, number>>)["/vms/100"]!);
    expect(privs).toContain("VM.Audit");
    expect(privs).not.toContain("VM.PowerMgmt");
  });
});

describe("storage content", () => {
  it("shows a PVEAuditor ISOs and templates but no backups and no disk images", async () => {
    const local = await list("/nodes/pve1/storage/local/content", sim.tokens.auditor);
    expect(new Set(local.map((v) => v["content"]))).toEqual(new Set(["iso", "vztmpl"]));
    expect(local.map((v) => v["volid"])).toContain("local:iso/debian-13.1.0-amd64-netinst.iso");
    // nfs-backup holds only backups, local-lvm only disks: the auditor gets 200 and nothing.
    expect(await list("/nodes/pve1/storage/nfs-backup/content", sim.tokens.auditor)).toEqual([]);
    expect(await list("/nodes/pve1/storage/local-lvm/content", sim.tokens.auditor)).toEqual([]);
  });

  it("shows the root token (privsep 0, root@pam's privileges) backups and disk images", async () => {
    const local = await list("/nodes/pve1/storage/local/content", sim.tokens.root);
    expect(local.filter((v) => v["content"] === "backup").map((v) => v["vmid"])).toEqual([203]);
    const backups = await list("/nodes/pve1/storage/nfs-backup/content", sim.tokens.root);
    expect(backups.length).toBe(10);
    expect(new Set(backups.map((v) => v["vmid"]))).toEqual(new Set([100, 101, 102, 103, 104, 200, 202, 205]));
    const images = await list("/nodes/pve1/storage/local-lvm/content", sim.tokens.root);
    expect(images.map((v) => v["volid"])).toContain("local-lvm:vm-100-disk-0");
    expect(new Set(images.map((v) => v["content"]))).toEqual(new Set(["images", "rootdir"]));
  });

  it("shows a token with Datastore.AllocateSpace on the storage and VM.Backup on /vms/100 only VM 100's backups", async () => {
    const backups = await list("/nodes/pve1/storage/nfs-backup/content", TOKENS.backup100);
    expect(backups.length).toBe(3);
    for (const v of backups) {
      expect(v).toMatchObject({ vmid: 100, content: "backup" });
      expect(v["volid"]).toMatch(/^nfs-backup:backup\/vzdump-qemu-100-/);
    }
    // Without VM.Backup on 203, the backup on "local" is not listed for Datastore.AllocateSpace alone.
    const local = await list("/nodes/pve1/storage/local/content", TOKENS.space);
    expect(new Set(local.map((v) => v["content"]))).toEqual(new Set(["iso", "vztmpl"]));
  });
});

describe("/access/users", () => {
  it("lists every user for the auditor (Sys.Audit on /access/groups, inherited from /)", async () => {
    const users = await list("/access/users", sim.tokens.auditor);
    expect(users.map((u) => u["userid"])).toEqual(scenario.users!.map((u) => u.userid).sort());
  });

  it("gives a token without privileges an empty list (a token is never 'the current user')", async () => {
    expect(await list("/access/users", TEST_TOKENS.empty)).toEqual([]);
  });

  it("always lists a logged-in user itself, even without privileges on /access", async () => {
    const headers = await ticketCookie(WORKER.userid, WORKER.password);
    const res = await api(sim, { path: "/access/users", headers });
    expect(res.status).toBe(200);
    expect((res.body.data as Entry[]).map((u) => u["userid"])).toEqual([WORKER.userid]);
  });

  it("lists tokens with full=1 but never a token secret", async () => {
    const res = await get("/access/users?full=1", sim.tokens.auditor);
    expect(res.status).toBe(200);
    const mcp = (res.body.data as Entry[]).find((u) => u["userid"] === "mcp@pve")!;
    expect((mcp["tokens"] as Entry[]).map((t) => t["tokenid"])).toEqual(["ops", "readonly"]);
    const secrets = scenario.users!.flatMap((u) => (u.tokens ?? []).map((t) => t.secret));
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(res.raw).not.toContain(secret);
    for (const u of scenario.users!.filter((u) => u.password)) expect(res.raw).not.toContain(u.password);
  });
});

describe("tasks", () => {
  const opsToken = (): TokenCredentials => {
    const mcp = scenario.users!.find((u) => u.userid === "mcp@pve")!;
    return { id: "mcp@pve!ops", secret: mcp.tokens!.find((t) => t.tokenid === "ops")!.secret };
  };

  it("lists every task of the cluster for the auditor", async () => {
    const tasks = await list("/cluster/tasks", sim.tokens.auditor);
    expect(tasks.length).toBe(scenario.tasks!.length);
    expect(new Set(tasks.map((t) => t["node"]))).toEqual(new Set(["pve1", "pve2"]));
  });

  it("lists no cluster task for a token without Sys.Audit on /, not even its own", async () => {
    const ops = opsToken();
    // mcp@pve!ops owns the qmshutdown on pve2 and can see it on the node list...
    const own = await list("/nodes/pve2/tasks", ops);
    expect(own.map((t) => [t["type"], t["user"], t["tokenid"]])).toEqual([["qmshutdown", "mcp@pve", "ops"]]);
    // ...but /cluster/tasks compares the task's user (mcp@pve) with the token id.
    expect(await list("/cluster/tasks", ops)).toEqual([]);
    expect(await list("/cluster/tasks", TOKENS.worker)).toEqual([]);
  });

  it("shows a user without Sys.Audit its own and its tokens' tasks, a token only its own", async () => {
    const headers = await ticketCookie(WORKER.userid, WORKER.password);
    const asUser = await api(sim, { path: "/nodes/pve1/tasks", headers });
    expect(asUser.status).toBe(200);
    expect((asUser.body.data as Entry[]).map((t) => [t["type"], t["user"], t["tokenid"]])).toEqual([
      ["qmstart", "worker@pve", undefined],
      ["qmstop", "worker@pve", "ci"],
    ]);
    expect(asUser.body.total).toBe(2);
    // On /cluster/tasks the user matches its tokens' tasks too (task user = token owner).
    const cluster = await api(sim, { path: "/cluster/tasks", headers });
    expect((cluster.body.data as Entry[]).map((t) => t["type"])).toEqual(["qmstart", "qmstop"]);

    const asToken = await list("/nodes/pve1/tasks", TOKENS.worker);
    expect(asToken.map((t) => [t["type"], t["tokenid"]])).toEqual([["qmstop", "ci"]]);
  });

  it("refuses status and log of someone else's task without Sys.Audit on the node", async () => {
    const all = await list("/nodes/pve1/tasks", sim.tokens.auditor);
    const foreign = all.find((t) => t["user"] === "root@pam")!;
    const own = all.find((t) => t["tokenid"] === "ci")!;
    for (const suffix of ["status", "log"]) {
      const path = `/nodes/pve1/tasks/${encodeURIComponent(foreign["upid"] as string)}/${suffix}`;
      const res = await get(path, TOKENS.worker);
      expect(res.status, path).toBe(403);
      expect(res.body.message).toBe("Permission check failed (/nodes/pve1, Sys.Audit)\n");
      expect((await get(path, sim.tokens.auditor)).status).toBe(200);
      const mine = `/nodes/pve1/tasks/${encodeURIComponent(own["upid"] as string)}/${suffix}`;
      expect((await get(mine, TOKENS.worker)).status, mine).toBe(200);
    }
  });
});

describe("/access/permissions", () => {
  it("answers a caller's own permissions without parameters", async () => {
    const perms = (await get("/access/permissions", sim.tokens.auditor)).body.data;
    expect(perms["/"]).toMatchObject({ "Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1 });
    expect(perms["/"]).not.toHaveProperty("Sys.Modify");
    // A privsep token without ACLs has no privileges anywhere: an empty object.
    expect((await get("/access/permissions", TEST_TOKENS.empty)).body.data).toEqual({});
    // The privsep-1 vm100 token: only /vms/100.
    expect(Object.keys((await get("/access/permissions", TOKENS.vm100)).body.data)).toEqual(["/vms/100"]);
  });

  it("needs Sys.Audit on /access to query another user", async () => {
    const other = await get("/access/permissions?userid=root@pam", TOKENS.vm100);
    expect(other.status).toBe(403);
    expect(other.body.message).toBe("Permission check failed (/access, Sys.Audit)\n");
    const audited = await get("/access/permissions?userid=vm100@pve&path=/vms/100", sim.tokens.auditor);
    expect(audited.status).toBe(200);
    expect(audited.body.data["/vms/100"]).toHaveProperty("VM.Audit");
  });

  it("needs Sys.Audit on /access even for a token querying its owning user", async () => {
    const owner = await get("/access/permissions?userid=vm100@pve", TOKENS.vm100);
    expect(owner.status).toBe(403);
    expect(owner.body.message).toBe("Permission check failed (/access, Sys.Audit)\n");
    // Naming itself explicitly is always allowed.
    expect((await get(`/access/permissions?userid=${TOKENS.vm100.id}`, TOKENS.vm100)).status).toBe(200);
  });

  it("lets a user query its own tokens", async () => {
    const headers = await ticketCookie(WORKER.userid, WORKER.password);
    const own = await api(sim, { path: `/access/permissions?userid=${TOKENS.worker.id}`, headers });
    expect(own.status).toBe(200);
    expect(own.body.data["/vms"]).toMatchObject({ "VM.Audit": 1 });
    const foreign = await api(sim, { path: `/access/permissions?userid=${TOKENS.vm100.id}`, headers });
    expect(foreign.status).toBe(403);
  });
});

describe("privileges of single endpoints", () => {
  it("needs Sys.Modify (not Sys.Audit) for GET /nodes/{node}/apt/update", async () => {
    const auditor = await get("/nodes/pve1/apt/update", sim.tokens.auditor);
    expect(auditor.status).toBe(403);
    expect(auditor.body.message).toBe("Permission check failed (/nodes/pve1, Sys.Modify)\n");
    const root = await get("/nodes/pve1/apt/update", sim.tokens.root);
    expect(root.status).toBe(200);
    expect((root.body.data as Entry[]).length).toBeGreaterThan(0);
  });

  it("lists every node on /nodes for a token without Sys.Audit, without stats", async () => {
    const nodes = await list("/nodes", TEST_TOKENS.noSysAudit);
    expect(nodes.map((n) => [n["node"], n["status"]])).toEqual([
      ["pve1", "online"],
      ["pve2", "online"],
      ["pve3", "offline"],
    ]);
    for (const n of nodes) {
      for (const key of NODE_STATS) expect(n, `${String(n["node"])}.${key}`).not.toHaveProperty(key);
      expect(n["ssl_fingerprint"]).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    }
    const audited = await list("/nodes", sim.tokens.auditor);
    expect(audited.find((n) => n["node"] === "pve1")).toMatchObject({ maxcpu: 16, cpu: expect.any(Number) });
  });
});
