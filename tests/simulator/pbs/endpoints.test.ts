/**
 * Every served endpoint with the permission filters of PBS's handlers: the auditor
 * (Audit on /, RemoteAudit on /remote) sees everything; the datastore auditor
 * (DatastoreAudit on /datastore) sees datastores but no remotes, no access lists, no
 * system status; a token without any ACL gets empty lists or PBS's 403/400; a
 * namespace-only token (DatastoreBackup on /datastore/main/dev) sees only its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startPbsSimulator,
  type PbsSimulator,
  type PbsTokenCredentials,
} from "../../../src/simulator/pbs/index.js";
import { get, raw } from "./helpers.js";

let sim: PbsSimulator;
let nothing: PbsTokenCredentials;
let devCi: PbsTokenCredentials;
let pveLab: PbsTokenCredentials;
beforeAll(async () => {
  sim = await startPbsSimulator();
  const tok = (userid: string) => {
    const u = sim.state.user(userid)!;
    return { id: `${userid}!${u.tokens![0]!.name}`, secret: u.tokens![0]!.secret };
  };
  nothing = tok("nobody@pbs");
  devCi = tok("dev@pbs");
  pveLab = tok("pve-lab@pbs");
});
afterAll(() => sim.close());

const status = async (path: string, token: PbsTokenCredentials) => {
  const r = await raw(sim, `/api2/json${path}`, { token });
  return { status: r.status, text: r.text };
};

type Row = Record<string, unknown>;

describe("system endpoints", () => {
  it("/version, /ping for anyone authenticated", async () => {
    expect((await get(sim, "/version", nothing)).data).toMatchObject({ version: "4.1" });
  });
  it("/nodes is superuser-only (#[api] without access): 403 for every token", async () => {
    expect(await status("/nodes", sim.tokens.root)).toEqual({ status: 403, text: "permission check failed" });
    expect((await status("/nodes", sim.tokens.auditor)).status).toBe(403);
  });
  it("/nodes/{node}/status needs Sys.Audit on /system/status; any node name is served", async () => {
    expect((await get<Row>(sim, "/nodes/localhost/status", sim.tokens.auditor)).data).toHaveProperty(
      "memory",
    );
    expect((await get<Row>(sim, "/nodes/pbs/status", sim.tokens.auditor)).data).toHaveProperty("cpuinfo");
    expect((await status("/nodes/localhost/status", sim.tokens.datastoreAuditor)).status).toBe(403);
  });
  it("/nodes/{node}/subscription is reduced without Sys.Audit on /", async () => {
    const full = (await get<Row>(sim, "/nodes/localhost/subscription", sim.tokens.auditor)).data;
    expect(full).toHaveProperty("serverid");
    const reduced = (await get<Row>(sim, "/nodes/localhost/subscription", nothing)).data;
    expect(reduced).not.toHaveProperty("serverid");
    expect(reduced["status"]).toBe("notfound");
  });
  it("/nodes/{node}/apt/repositories needs Sys.Audit on /", async () => {
    const data = (await get<Row>(sim, "/nodes/localhost/apt/repositories", sim.tokens.auditor)).data;
    expect((data["files"] as Row[])[0]!["repositories"]).toBeDefined();
    expect((await status("/nodes/localhost/apt/repositories", sim.tokens.datastoreAuditor)).status).toBe(403);
  });
});

describe("datastores", () => {
  it("/admin/datastore: all for auditors; namespace-only access gives comment null; none for nothing", async () => {
    const all = (await get<Row[]>(sim, "/admin/datastore", sim.tokens.auditor)).data;
    expect(all.map((d) => d["store"]).sort()).toEqual(["archive", "main", "pve-lab", "scratch"]);
    expect((await get<Row[]>(sim, "/admin/datastore", sim.tokens.datastoreAuditor)).data).toHaveLength(4);
    expect((await get<Row[]>(sim, "/admin/datastore", devCi)).data).toEqual([
      { store: "main", comment: null },
    ]);
    expect((await get<Row[]>(sim, "/admin/datastore", nothing)).data).toEqual([]);
  });
  it("/status/datastore-usage: full items with history; namespace-only items reduced", async () => {
    const all = (await get<Row[]>(sim, "/status/datastore-usage", sim.tokens.auditor)).data;
    const main = all.find((d) => d["store"] === "main")!;
    expect(main["history"]).toHaveLength(1440);
    expect(main["history-delta"]).toBe(1800);
    expect(typeof main["estimated-full-date"]).toBe("number");
    expect(main["gc-status"]).toHaveProperty("upid");
    expect((await get<Row[]>(sim, "/status/datastore-usage", devCi)).data).toEqual([
      { store: "main", "mount-status": "nonremovable", "backend-type": "filesystem" },
    ]);
    expect((await get<Row[]>(sim, "/status/datastore-usage", nothing)).data).toEqual([]);
  });
  it("/admin/datastore/{store}/status: counts with null for absent types; 403 without any privilege", async () => {
    const s = (await get<Row>(sim, "/admin/datastore/main/status?verbose=1", sim.tokens.auditor)).data;
    expect(s["total"]).toBe(7696581394432);
    expect((s["counts"] as Row)["host"]).toBeNull();
    expect((s["counts"] as Row)["vm"]).toMatchObject({ groups: 6 });
    const ns = (await get<Row>(sim, "/admin/datastore/main/status", devCi)).data;
    expect(ns).toEqual({ total: 0, used: 0, avail: 0 });
    expect((await status("/admin/datastore/main/status", nothing)).status).toBe(403);
    expect(await status("/admin/datastore/nope/status", sim.tokens.auditor)).toEqual({
      status: 400,
      text: "no such datastore 'nope'",
    });
  });
  it("/admin/datastore/{store}/groups and snapshots: namespace and filters, owner-limited with Backup only", async () => {
    const root = (await get<Row[]>(sim, "/admin/datastore/main/groups", sim.tokens.datastoreAuditor)).data;
    expect(root.map((g) => `${g["backup-type"]}/${g["backup-id"]}`).sort()).toEqual(["vm/100", "vm/104"]);
    const prod = (
      await get<Row[]>(
        sim,
        "/admin/datastore/main/snapshots?ns=prod&backup-type=vm&backup-id=101",
        sim.tokens.auditor,
      )
    ).data;
    expect(prod).toHaveLength(200);
    const dev = (await get<Row[]>(sim, "/admin/datastore/main/groups?ns=dev", devCi)).data;
    // dev@pbs!ci owns vm/102 only; ct/203 belongs to the user dev@pbs (a token is not its user's owner).
    expect(dev.map((g) => g["backup-id"])).toEqual(["102"]);
    expect(
      (await get<Row[]>(sim, "/admin/datastore/main/groups?ns=dev", sim.tokens.auditor)).data,
    ).toHaveLength(2);
    expect(await status("/admin/datastore/main/groups", devCi)).toEqual({
      status: 403,
      text: "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/main",
    });
    const snap = (await get<Row[]>(sim, "/admin/datastore/main/snapshots?backup-id=100", sim.tokens.auditor))
      .data[0]!;
    expect(Object.keys(snap).sort()).toEqual(
      [
        "backup-id",
        "backup-time",
        "backup-type",
        "comment",
        "files",
        "fingerprint",
        "owner",
        "protected",
        "size",
        "verification",
      ].sort(),
    );
    const files = snap["files"] as Row[];
    expect(files.find((f) => f["filename"] === "client.log.blob")).toEqual({ filename: "client.log.blob" });
    expect(files.find((f) => f["filename"] === "drive-scsi0.img.fidx")!["crypt-mode"]).toBe("encrypt");
  });
  it("/admin/datastore/{store}/namespace lists the root and nested namespaces; filtered by privileges", async () => {
    const all = (await get<Row[]>(sim, "/admin/datastore/main/namespace", sim.tokens.auditor)).data;
    expect(all).toEqual([{ ns: "" }, { ns: "prod" }, { ns: "dev" }, { ns: "dev/k8s" }]);
    expect(
      (await get<Row[]>(sim, "/admin/datastore/main/namespace?parent=dev&max-depth=0", sim.tokens.auditor))
        .data,
    ).toEqual([{ ns: "dev" }]);
    expect((await get<Row[]>(sim, "/admin/datastore/main/namespace", devCi)).data).toEqual([
      { ns: "dev" },
      { ns: "dev/k8s" },
    ]);
    expect((await status("/admin/datastore/main/namespace", nothing)).status).toBe(403);
  });
  it("GC status: /admin/datastore/{store}/gc needs Datastore.Audit; /admin/gc lists the visible stores", async () => {
    const gc = (await get<Row>(sim, "/admin/datastore/main/gc", sim.tokens.datastoreAuditor)).data;
    expect(gc).toMatchObject({ store: "main", schedule: "daily", "last-run-state": "OK" });
    expect(typeof gc["next-run"]).toBe("number");
    expect((await status("/admin/datastore/main/gc", devCi)).status).toBe(403);
    expect((await get<Row[]>(sim, "/admin/gc", sim.tokens.auditor)).data).toHaveLength(4);
    expect((await get<Row[]>(sim, "/admin/gc", nothing)).data).toEqual([]);
  });
  it("/config/datastore[/{name}] needs Datastore.Audit", async () => {
    const list = (await get<Row[]>(sim, "/config/datastore", sim.tokens.datastoreAuditor)).data;
    expect(list).toHaveLength(4);
    expect(list.find((d) => d["name"] === "main")).toMatchObject({
      "gc-schedule": "daily",
      "verify-new": false,
      notify: expect.any(String),
    });
    expect((await get<Row[]>(sim, "/config/datastore", devCi)).data).toEqual([]);
    expect((await get<Row>(sim, "/config/datastore/pve-lab", sim.tokens.auditor)).data).toMatchObject({
      "keep-daily": 7,
    });
    expect((await status("/config/datastore/main", nothing)).status).toBe(403);
  });
});

describe("jobs", () => {
  it("verify and prune jobs: Datastore.Audit suffices; nothing sees none", async () => {
    for (const kind of ["verify", "prune"]) {
      const admin = (await get<Row[]>(sim, `/admin/${kind}`, sim.tokens.datastoreAuditor)).data;
      expect(admin.length).toBe(2);
      expect(admin[0]).toHaveProperty("last-run-state");
      expect(admin[0]).toHaveProperty("last-run-upid");
      expect(admin[0]).toHaveProperty("last-run-endtime");
      expect(admin[0]).toHaveProperty("next-run");
      expect((await get<Row[]>(sim, `/config/${kind}`, sim.tokens.auditor)).data).toHaveLength(2);
      expect((await get<Row[]>(sim, `/admin/${kind}`, nothing)).data).toEqual([]);
    }
    expect((await get<Row[]>(sim, "/admin/verify?store=archive", sim.tokens.auditor)).data).toHaveLength(1);
  });
  it("sync jobs need Datastore.Audit on the target and Remote.Audit on the remote", async () => {
    expect((await get<Row[]>(sim, "/admin/sync", sim.tokens.auditor)).data).toHaveLength(2);
    expect((await get<Row[]>(sim, "/admin/sync", sim.tokens.datastoreAuditor)).data).toEqual([]);
    expect((await get<Row[]>(sim, "/config/sync", pveLab)).data).toEqual([]);
    expect((await get<Row[]>(sim, "/admin/sync?sync-direction=push", sim.tokens.auditor)).data).toEqual([]);
  });
});

describe("remotes", () => {
  it("need Remote.Audit and never carry a password", async () => {
    const list = (await get<Row[]>(sim, "/config/remote", sim.tokens.auditor)).data;
    expect(list.map((r) => r["name"])).toEqual(["offsite", "colo"]);
    for (const r of list) expect(r).not.toHaveProperty("password");
    const text = (await raw(sim, "/api2/json/config/remote", { token: sim.tokens.auditor })).text;
    for (const r of sim.state.scenario.remotes!) expect(text).not.toContain(r.password);
    expect((await get<Row[]>(sim, "/config/remote", sim.tokens.datastoreAuditor)).data).toEqual([]);
    expect((await get<Row>(sim, "/config/remote/colo", sim.tokens.auditor)).data).toHaveProperty(
      "fingerprint",
    );
    expect((await status("/config/remote/colo", sim.tokens.datastoreAuditor)).status).toBe(403);
  });
});

describe("tasks", () => {
  it("lists all with Sys.Audit on /system/tasks, else own and job tasks; total per PBS", async () => {
    const page = await get<Row[]>(sim, "/nodes/localhost/tasks?limit=5", sim.tokens.auditor);
    expect(page.data).toHaveLength(5);
    expect(page.total).toBe(6);
    expect(page.data[0]).toMatchObject({ node: "localhost", worker_type: expect.any(String) });
    const all = await get<Row[]>(sim, "/nodes/localhost/tasks?limit=0", sim.tokens.auditor);
    expect(all.total).toBe(all.data.length);
    expect((await get<Row[]>(sim, "/nodes/localhost/tasks", sim.tokens.datastoreAuditor)).data).toEqual([]);
    const own = (await get<Row[]>(sim, "/nodes/localhost/tasks", pveLab)).data;
    // pve-lab@pbs!pve: DatastoreAdmin on / gives Datastore.Modify/Verify: GC, prune and verify job tasks.
    expect(new Set(own.map((t) => t["worker_type"]))).toEqual(
      new Set(["garbage_collection", "prunejob", "verificationjob"]),
    );
  });
  it("filters: errors, running, typefilter, statusfilter, store, since/until, start", async () => {
    const q = async (query: string) =>
      (await get<Row[]>(sim, `/nodes/localhost/tasks?limit=0&${query}`, sim.tokens.auditor)).data;
    expect((await q("errors=1")).every((t) => t["status"] !== "OK")).toBe(true);
    expect((await q("running=1")).every((t) => t["status"] === undefined)).toBe(true);
    expect((await q("running=1")).length).toBe(1);
    expect((await q("typefilter=sync")).every((t) => t["worker_type"] === "syncjob")).toBe(true);
    expect((await q("statusfilter=warning")).map((t) => t["status"])).toEqual(["WARNINGS: 1"]);
    expect((await q("statusfilter=ok&statusfilter=warning")).length).toBeGreaterThan(1);
    expect((await q("store=archive")).every((t) => String(t["worker_id"]).includes("archive"))).toBe(true);
    const since = sim.state.now - 86400;
    expect((await q(`since=${since}`)).every((t) => Number(t["starttime"]) >= since)).toBe(true);
    expect((await q(`until=${since}`)).every((t) => Number(t["starttime"]) <= since)).toBe(true);
    const all = await q("");
    expect((await q("start=2"))[0]).toEqual(all[2]);
  });
  it("status and log, with task access checks", async () => {
    const [task] = (
      await get<Row[]>(sim, "/nodes/localhost/tasks?typefilter=syncjob&limit=1", sim.tokens.auditor)
    ).data;
    const upid = encodeURIComponent(String(task!["upid"]));
    const st = (await get<Row>(sim, `/nodes/localhost/tasks/${upid}/status`, sim.tokens.auditor)).data;
    expect(st).toMatchObject({ status: "stopped", user: "root@pam", type: "syncjob" });
    expect(String(st["exitstatus"])).toMatch(/^Error: /);
    const log = await get<Row[]>(sim, `/nodes/localhost/tasks/${upid}/log`, sim.tokens.auditor);
    expect(log.data[0]).toEqual({ n: 1, t: expect.any(String) });
    expect(log.total).toBe(log.data.length);
    expect(String(log.data.at(-1)!["t"])).toMatch(/^TASK ERROR: /);
    expect(await status(`/nodes/localhost/tasks/${upid}/log`, nothing)).toEqual({
      status: 400,
      text: "task access not allowed",
    });
    const rotated = sim.state.tasks.find((t) => t.rotated)!;
    expect(
      await status(`/nodes/localhost/tasks/${encodeURIComponent(rotated.upid)}/log`, sim.tokens.auditor),
    ).toEqual({
      status: 400,
      text: "No such file or directory (os error 2)",
    });
    const unknown =
      "UPID:pbs:00000001:00000001:00000001:60000000:verificationjob:main\\x3av\\x2dmain:root@pam:";
    expect(
      (
        await get<Row>(
          sim,
          `/nodes/localhost/tasks/${encodeURIComponent(unknown)}/status`,
          sim.tokens.auditor,
        )
      ).data,
    ).toMatchObject({
      exitstatus: "unknown",
    });
    expect((await status("/nodes/localhost/tasks/UPID:bad/status", sim.tokens.auditor)).text).toBe(
      "parameter verification failed - 'upid': value does not match the regex pattern",
    );
  });
});

describe("access", () => {
  it("/access/users: all with Sys.Audit on /access/users, else only the own user; tokens on request", async () => {
    const all = (await get<Row[]>(sim, "/access/users?include_tokens=1", sim.tokens.auditor)).data;
    expect(all.length).toBe(sim.state.scenario.users.length);
    const mcp = all.find((u) => u["userid"] === "mcp@pbs")!;
    expect(mcp["tokens"]).toEqual([
      {
        tokenid: "mcp@pbs!readonly",
        comment: "proxmox-mcp-hardened",
        enable: true,
        expire: expect.any(Number),
      },
    ]);
    expect(JSON.stringify(all)).not.toContain(sim.tokens.auditor.secret);
    expect((await get<Row[]>(sim, "/access/users", sim.tokens.auditor)).data[0]).not.toHaveProperty("tokens");
    expect(
      (await get<Row[]>(sim, "/access/users", sim.tokens.datastoreAuditor)).data.map((u) => u["userid"]),
    ).toEqual(["monitor@pbs"]);
  });
  it("/access/acl: everything with Sys.Audit on /access/acl, else own entries", async () => {
    const all = (await get<Row[]>(sim, "/access/acl", sim.tokens.auditor)).data;
    expect(all.length).toBe(sim.state.acl.entries.length);
    expect(all[0]).toEqual({
      path: "/",
      ugid: "root@pam!sim",
      ugid_type: "user",
      propagate: true,
      roleid: "Admin",
    });
    expect((await get<Row[]>(sim, "/access/acl", sim.tokens.datastoreAuditor)).data).toEqual([
      {
        path: "/datastore",
        ugid: "monitor@pbs!dsaudit",
        ugid_type: "user",
        propagate: true,
        roleid: "DatastoreAudit",
      },
    ]);
    expect((await get<Row[]>(sim, "/access/acl?path=/remote&exact=1", sim.tokens.auditor)).data).toHaveLength(
      3,
    );
  });
  it("/access/tfa: all users' factors with Sys.Audit, else the own", async () => {
    expect((await get<Row[]>(sim, "/access/tfa", sim.tokens.auditor)).data.map((u) => u["userid"])).toEqual([
      "root@pam",
    ]);
    expect((await get<Row[]>(sim, "/access/tfa", sim.tokens.datastoreAuditor)).data).toEqual([]);
  });
  it("/access/permissions: own, another's with Sys.Audit on /access, paths with no privileges left out", async () => {
    const own = (
      await get<Record<string, Record<string, boolean>>>(sim, "/access/permissions", sim.tokens.auditor)
    ).data;
    expect(own["/"]).toEqual({ "Sys.Audit": true, "Datastore.Audit": true });
    expect(own["/remote"]).toEqual({ "Remote.Audit": true });
    const ds = (
      await get<Record<string, Record<string, boolean>>>(
        sim,
        "/access/permissions",
        sim.tokens.datastoreAuditor,
      )
    ).data;
    expect(Object.keys(ds)).not.toContain("/");
    expect(ds["/datastore"]).toEqual({ "Datastore.Audit": true });
    const other = await get<Record<string, unknown>>(
      sim,
      `/access/permissions?auth-id=${encodeURIComponent(pveLab.id)}&path=/`,
      sim.tokens.auditor,
    );
    expect(Object.keys(other.data["/"] as object)).toContain("Datastore.Modify");
    expect(
      (
        await status(
          `/access/permissions?auth-id=${encodeURIComponent(sim.tokens.auditor.id)}`,
          sim.tokens.datastoreAuditor,
        )
      ).text,
    ).toBe("not allowed to list permissions of mcp@pbs!readonly");
  });
  it("/access/roles and /access/domains", async () => {
    const roles = (await get<Row[]>(sim, "/access/roles", nothing)).data;
    expect(roles.find((r) => r["roleid"] === "Audit")).toEqual({
      roleid: "Audit",
      privs: ["Sys.Audit", "Datastore.Audit"],
      comment: "Auditor",
    });
    expect((await raw(sim, "/api2/json/access/domains")).json().data).toContainEqual(
      expect.objectContaining({ realm: "pbs" }),
    );
  });
});
