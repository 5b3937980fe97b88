/**
 * The PBS read model (src/pbs/model/): readers over a RunReader with fixed answers, the
 * gaps they state for what PBS filtered or refused, and the helpers tools and checks share.
 */
import { describe, expect, it } from "vitest";
import { PbsApiError } from "../../src/pbs/errors.js";
import {
  byNewest,
  encryptionMode,
  estimatedFull,
  groupPath,
  guestKeyOfGroup,
  guestKeyOfPve,
  jobRunState,
  keepOptions,
  keepText,
  newestPerGroup,
  parsePbsUpid,
  pbsAcl,
  pbsAllSnapshots,
  pbsDatastoreConfigs,
  pbsDatastoreUsage,
  pbsDatastores,
  pbsGcStatus,
  pbsHolds,
  pbsHoldsBelow,
  pbsNamespaces,
  pbsRemotes,
  pbsSnapshots,
  pbsStoreSnapshots,
  pbsSyncJobs,
  pbsTasks,
  pbsUsers,
  READ_ONLY_ROLES,
  snapshotAge,
  snapshotName,
  summarizeSnapshots,
  taskState,
  usedPercent,
  verificationState,
  verifyNewOn,
  type PbsPermissions,
  type PbsSnapshot,
  type PbsStoredSnapshot,
} from "../../src/pbs/model/index.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { isOn } from "../../src/pve/model/values.js";

type Answer = unknown | ((query: Record<string, unknown>) => unknown);

/** A RunReader over fixed answers keyed by template (filled path params), recording requests. */
function fakeReader(answers: Record<string, Answer>, permissions: PbsPermissions) {
  const requests: string[] = [];
  const all: Record<string, Answer> = { "/access/permissions": permissions, ...answers };
  const lookup = (template: string, params: Record<string, string | number> = {}, query = {}) => {
    const path = template.replace(/\{(\w+)\}/g, (_m, k: string) => String(params[k]));
    requests.push(`${path}${Object.keys(query).length ? ` ${JSON.stringify(query)}` : ""}`);
    const answer = all[path];
    if (answer instanceof PbsApiError) throw answer;
    if (answer === undefined)
      throw new PbsApiError(404, "Not Found", `Path '${path}' not found.`, "GET", path);
    return typeof answer === "function" ? (answer as (q: Record<string, unknown>) => unknown)(query) : answer;
  };
  const source = {
    get: async <T>(
      template: string,
      params?: Record<string, string | number>,
      options?: { query?: object },
    ) => lookup(template, params, clean(options?.query)) as T,
    getWithTotal: async <T>(
      template: string,
      params?: Record<string, string | number>,
      options?: { query?: object },
    ) => lookup(template, params, clean(options?.query)) as { data: T; total?: number },
  };
  const reader = new RunReader(source, undefined);
  return { reader, requests };
}

const clean = (query: object | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(query ?? {}).filter(([, v]) => v !== undefined));

const forbidden = (path: string) => new PbsApiError(403, "Forbidden", "permission check failed", "GET", path);

/** The auditor: Audit on / (propagating), RemoteAudit on /remote. */
const AUDITOR: PbsPermissions = {
  "/": { "Sys.Audit": true, "Datastore.Audit": true },
  "/access": { "Sys.Audit": true, "Datastore.Audit": true },
  "/datastore": { "Sys.Audit": true, "Datastore.Audit": true },
  "/remote": { "Sys.Audit": true, "Datastore.Audit": true, "Remote.Audit": true },
  "/system": { "Sys.Audit": true, "Datastore.Audit": true },
};
/** DatastoreAudit on /datastore only. */
const DATASTORE_AUDITOR: PbsPermissions = { "/datastore": { "Datastore.Audit": true } };

const T0 = 1_790_000_000;

function snap(partial: Partial<PbsStoredSnapshot> & { time: number; id?: string }): PbsStoredSnapshot {
  const { time, id, ...rest } = partial;
  return {
    store: "pbs-main",
    ns: "",
    "backup-type": "vm",
    "backup-id": id ?? "100",
    "backup-time": time,
    files: [
      { filename: "qemu-server.conf.blob", "crypt-mode": "none", size: 400 },
      { filename: "drive-scsi0.img.fidx", "crypt-mode": "none", size: 1000 },
      { filename: "index.json.blob", "crypt-mode": "none", size: 500 },
      { filename: "client.log.blob" },
    ],
    size: 1900,
    ...rest,
  };
}

const encryptedFiles: PbsSnapshot["files"] = [
  { filename: "qemu-server.conf.blob", "crypt-mode": "encrypt" },
  { filename: "drive-scsi0.img.fidx", "crypt-mode": "encrypt" },
  { filename: "index.json.blob", "crypt-mode": "sign-only" },
  { filename: "client.log.blob" },
];

describe("pbsHolds", () => {
  it("reads PBS's map: booleans for propagation, its own always-listed paths", () => {
    expect(pbsHolds(AUDITOR, "/datastore/pbs-main", "Datastore.Audit")).toBe(true);
    expect(pbsHolds(AUDITOR, "/remote/offsite", "Remote.Audit")).toBe(true);
    expect(pbsHolds(AUDITOR, "/system/tasks", "Sys.Audit")).toBe(true);
    expect(pbsHolds(DATASTORE_AUDITOR, "/datastore/pbs-main/prod", "Datastore.Audit")).toBe(true);
    // /remote and /system are always evaluated: absent means nothing there.
    expect(pbsHolds(DATASTORE_AUDITOR, "/remote/offsite", "Remote.Audit")).toBe(false);
    expect(pbsHolds(DATASTORE_AUDITOR, "/system/tasks", "Sys.Audit")).toBe(false);
    expect(pbsHolds(undefined, "/", "Sys.Audit")).toBe(false);
  });

  it("counts only propagating privileges below a path", () => {
    const perms: PbsPermissions = { "/datastore/a": { "Datastore.Audit": false } };
    expect(pbsHolds(perms, "/datastore/a", "Datastore.Audit")).toBe(true);
    expect(pbsHolds(perms, "/datastore/a/ns1", "Datastore.Audit")).toBe(false);
    expect(pbsHoldsBelow(perms, "/datastore", "Datastore.Audit")).toBe(false);
    expect(pbsHoldsBelow(AUDITOR, "/datastore", "Datastore.Audit")).toBe(true);
  });

  it("below a path, the deepest ACL entry wins: a listed path without the privilege is a hole", async () => {
    // Audit on /, DatastoreBackup on /datastore/secret: PBS lists that path without Datastore.Audit.
    const perms: PbsPermissions = {
      ...AUDITOR,
      "/datastore/secret": { "Datastore.Backup": true },
    };
    expect(pbsHolds(perms, "/datastore/main", "Datastore.Audit")).toBe(true);
    expect(pbsHolds(perms, "/datastore/secret", "Datastore.Audit")).toBe(false);
    expect(pbsHoldsBelow(perms, "/datastore", "Datastore.Audit")).toBe(false);
    expect(pbsHoldsBelow(perms, "/", "Datastore.Audit")).toBe(false);
    expect(pbsHoldsBelow(perms, "/remote", "Remote.Audit")).toBe(true);
    // Holding it there, but not propagating: the namespaces below are a hole too.
    expect(
      pbsHoldsBelow(
        { ...AUDITOR, "/datastore/x": { "Datastore.Audit": false } },
        "/datastore",
        "Datastore.Audit",
      ),
    ).toBe(false);
    // A deeper path that still holds it (propagating) is no hole.
    expect(
      pbsHoldsBelow(
        { ...AUDITOR, "/datastore/x": { "Datastore.Audit": true, "Datastore.Backup": true } },
        "/datastore",
        "Datastore.Audit",
      ),
    ).toBe(true);

    // /admin/datastore lists secret (Datastore.Backup counts there), /config/datastore does not: a gap.
    const { reader } = fakeReader(
      {
        "/admin/datastore": [{ store: "main" }, { store: "secret" }],
        "/config/datastore": [{ name: "main" }],
      },
      perms,
    );
    await pbsDatastores(reader);
    expect(reader.gaps).toEqual([]);
    await pbsDatastoreConfigs(reader);
    expect(reader.gaps).toEqual([
      {
        what: "configuration (GC schedule, verify-new) of datastores this token cannot audit",
        needs: "Datastore.Audit on /datastore",
      },
    ]);
  });
});

describe("datastores", () => {
  it("lists the stores; a token without Audit below /datastore gets a gap", async () => {
    const full = fakeReader({ "/admin/datastore": [{ store: "pbs-main", comment: "x" }] }, AUDITOR);
    expect(await pbsDatastores(full.reader)).toHaveLength(1);
    expect(full.reader.gaps).toEqual([]);

    const ns = fakeReader(
      { "/admin/datastore": [{ store: "pbs-main", comment: null }] },
      { "/datastore/pbs-main/team": { "Datastore.Backup": true } },
    );
    await pbsDatastores(ns.reader);
    expect(ns.reader.gaps).toEqual([
      {
        what: "datastores this token holds no privilege on (PBS leaves them out)",
        needs: "Datastore.Audit on /datastore",
      },
    ]);
  });

  it("states a reduced usage entry as a gap of that store", async () => {
    const { reader } = fakeReader(
      {
        "/status/datastore-usage": [
          { store: "a", total: 100, used: 25, "estimated-full-date": T0 },
          { store: "b", "mount-status": "nonremovable" },
        ],
      },
      AUDITOR,
    );
    const usage = await pbsDatastoreUsage(reader);
    expect(usedPercent(usage[0]!)).toBe(25);
    expect(usedPercent(usage[1]!)).toBeUndefined();
    expect(estimatedFull(usage[0]!, T0 - 1)).toBe(T0);
    // A flat (0) or shrinking trend gives a date at or before now: PBS's GUI shows "Never".
    expect(estimatedFull(usage[0]!, T0)).toBeUndefined();
    expect(estimatedFull({ "estimated-full-date": T0 - 86400 }, T0)).toBeUndefined();
    expect(estimatedFull({ "estimated-full-date": 0 }, T0)).toBeUndefined();
    expect(estimatedFull({}, T0)).toBeUndefined();
    expect(reader.gaps).toEqual([{ what: "usage of datastore b", needs: "Datastore.Audit on /datastore/b" }]);
  });

  it("turns a refused GC read into a gap naming PBS's privilege", async () => {
    const { reader } = fakeReader({ "/admin/datastore/a/gc": forbidden("/admin/datastore/a/gc") }, {});
    expect(await pbsGcStatus(reader, "a")).toBeUndefined();
    expect(reader.gaps).toEqual([
      { what: "garbage collection status of datastore a", needs: "Datastore.Audit on /datastore/a" },
    ]);
  });

  it("reads namespaces; refused -> undefined with a gap", async () => {
    const ok = fakeReader({ "/admin/datastore/a/namespace": [{ ns: "" }, { ns: "prod" }] }, AUDITOR);
    expect(await pbsNamespaces(ok.reader, "a")).toEqual([{ ns: "" }, { ns: "prod" }]);
    expect(ok.reader.gaps).toEqual([]);
    const no = fakeReader({ "/admin/datastore/a/namespace": forbidden("/x") }, {});
    expect(await pbsNamespaces(no.reader, "a")).toBeUndefined();
    expect(no.reader.gaps.map((g) => g.needs)).toEqual(["Datastore.Audit on /datastore/a"]);
  });
});

describe("snapshots", () => {
  it("reads every visible namespace and attaches store and ns", async () => {
    const { reader, requests } = fakeReader(
      {
        "/admin/datastore/a/namespace": [{ ns: "" }, { ns: "prod" }],
        "/admin/datastore/a/snapshots": (q: Record<string, unknown>) =>
          q["ns"] === "prod" ? [snap({ time: T0, id: "101" })] : [snap({ time: T0 - 10 })],
      },
      AUDITOR,
    );
    const all = await pbsStoreSnapshots(reader, "a");
    expect(all?.map((s) => [s.store, s.ns, s["backup-id"]])).toEqual([
      ["a", "", "100"],
      ["a", "prod", "101"],
    ]);
    expect(requests).toContain('/admin/datastore/a/snapshots {"ns":"prod"}');
    expect(requests).toContain("/admin/datastore/a/snapshots");
    expect(reader.gaps).toEqual([]);
  });

  it("passes the group filter on and says when only the token's own groups are listed", async () => {
    const { reader, requests } = fakeReader(
      { "/admin/datastore/a/snapshots": [] },
      { "/datastore/a": { "Datastore.Backup": true } },
    );
    await pbsSnapshots(reader, "a", "", { "backup-type": "vm", "backup-id": "100" });
    expect(requests).toContain('/admin/datastore/a/snapshots {"backup-type":"vm","backup-id":"100"}');
    expect(reader.gaps).toEqual([
      {
        what: "snapshots of other owners in a (PBS lists only this token's own)",
        needs: "Datastore.Audit on /datastore/a",
      },
    ]);
  });

  it("judges encryption by the data files, not the manifest or the log", () => {
    expect(encryptionMode({ files: encryptedFiles })).toBe("encrypt");
    expect(encryptionMode(snap({ time: 0 }))).toBe("none");
    expect(
      encryptionMode({
        files: [
          { filename: "a.blob", "crypt-mode": "sign-only" },
          { filename: "index.json.blob", "crypt-mode": "sign-only" },
        ],
      }),
    ).toBe("sign-only");
    expect(
      encryptionMode({
        files: [
          { filename: "a.blob", "crypt-mode": "encrypt" },
          { filename: "b.fidx", "crypt-mode": "none" },
        ],
      }),
    ).toBe("mixed");
    expect(encryptionMode({ files: [{ filename: "client.log.blob" }] })).toBe("none");
  });

  it("verification, age, names and group keys", () => {
    expect(verificationState({})).toBe("none");
    expect(verificationState({ verification: { state: "failed", upid: "U" } })).toBe("failed");
    expect(snapshotAge({ "backup-time": T0 }, T0 + 90)).toBe(90);
    expect(snapshotAge({ "backup-time": T0 + 5 }, T0)).toBe(0);
    const s = snap({ time: 1_763_517_604, ns: "prod" });
    expect(snapshotName(s)).toBe("vm/100/2025-11-19T02:00:04Z");
    expect(groupPath(s)).toBe("pbs-main:prod/vm/100");
    expect(guestKeyOfGroup(s)).toBe("vm/100");
    expect(guestKeyOfGroup({ "backup-type": "ct", "backup-id": "200" })).toBe("ct/200");
    expect(guestKeyOfGroup({ "backup-type": "host", "backup-id": "pbs" })).toBeUndefined();
    expect(guestKeyOfGroup({ "backup-type": "vm", "backup-id": "web" })).toBeUndefined();
    expect(guestKeyOfPve({ type: "qemu", vmid: 100 })).toBe("vm/100");
    expect(guestKeyOfPve({ type: "lxc", vmid: 200 })).toBe("ct/200");
    expect(guestKeyOfPve({ type: "storage" })).toBeUndefined();
  });

  it("newest per group, newest first, and the summary", () => {
    const list = [
      snap({ time: T0 - 100 }),
      snap({ time: T0, verification: { state: "ok", upid: "U" }, files: encryptedFiles }),
      snap({ time: T0 - 50, id: "101", verification: { state: "failed", upid: "U" }, protected: true }),
      snap({ time: T0 - 50, id: "101", ns: "prod" }),
    ];
    const newest = newestPerGroup(list);
    expect([...newest.keys()].sort()).toEqual(["pbs-main:prod/vm/101", "pbs-main:vm/100", "pbs-main:vm/101"]);
    expect(newest.get("pbs-main:vm/100")?.["backup-time"]).toBe(T0);
    expect([...list].sort(byNewest).map((s) => groupPath(s))).toEqual([
      "pbs-main:vm/100",
      "pbs-main:prod/vm/101",
      "pbs-main:vm/101",
      "pbs-main:vm/100",
    ]);
    expect(summarizeSnapshots(list)).toEqual({
      count: 4,
      totalSize: 4 * 1900,
      neverVerified: 2,
      failedVerification: 1,
      unencrypted: 3,
      protected: 1,
      newest: T0,
      oldest: T0 - 100,
    });
    expect(summarizeSnapshots([]).count).toBe(0);
    expect(summarizeSnapshots([]).newest).toBeUndefined();
  });
});

describe("values", () => {
  it("reads PBS's booleans and verify-new (default off)", () => {
    for (const on of [true, 1, "1", "true", "on", "yes"]) expect(isOn(on)).toBe(true);
    for (const off of [false, 0, "0", "no", undefined, null, "maybe"]) expect(isOn(off)).toBe(false);
    expect(verifyNewOn({})).toBe(false);
    expect(verifyNewOn({ "verify-new": true })).toBe(true);
  });

  it("reads every store's snapshots; a refused store is a gap, not an error", async () => {
    const { reader } = fakeReader(
      {
        "/admin/datastore/a/namespace": [{ ns: "" }],
        "/admin/datastore/a/snapshots": [snap({ time: T0 })],
        "/admin/datastore/b/namespace": forbidden("/admin/datastore/b/namespace"),
      },
      { "/datastore/a": { "Datastore.Audit": true } },
    );
    const all = await pbsAllSnapshots(reader, ["a", "b"]);
    expect(all.map((x) => x.store)).toEqual(["a"]);
    expect(reader.gaps).toContainEqual({
      what: "namespaces of datastore b",
      needs: "Datastore.Audit on /datastore/b",
    });
  });
});

describe("jobs", () => {
  it("reads pull and push sync jobs; without Remote.Audit a gap", async () => {
    const { reader, requests } = fakeReader(
      {
        "/admin/sync": (q: Record<string, unknown>) =>
          q["sync-direction"] === "push"
            ? [{ id: "push1", store: "a", remote: "off", "remote-store": "b" }]
            : [{ id: "pull1", store: "a", "remote-store": "c" }],
      },
      DATASTORE_AUDITOR,
    );
    const jobs = await pbsSyncJobs(reader);
    expect(jobs.map((j) => [j.id, j["sync-direction"]])).toEqual([
      ["pull1", "pull"],
      ["push1", "push"],
    ]);
    expect(requests).toContain('/admin/sync {"sync-direction":"push"}');
    expect(reader.gaps.map((g) => g.needs)).toEqual(["Remote.Audit on /remote"]);
  });

  it("an older PBS without push sync: pull only", async () => {
    const { reader } = fakeReader(
      {
        "/admin/sync": (q: Record<string, unknown>) => {
          if (q["sync-direction"]) {
            throw new PbsApiError(
              400,
              "Bad Request",
              "schema does not allow additional properties.",
              "GET",
              "/",
            );
          }
          return [{ id: "pull1", store: "a", remote: "r", "remote-store": "c" }];
        },
      },
      AUDITOR,
    );
    expect((await pbsSyncJobs(reader)).map((j) => j.id)).toEqual(["pull1"]);
  });

  it("job states and retention", () => {
    expect(jobRunState({})).toBe("never");
    expect(jobRunState({ "last-run-upid": "U" })).toBe("running");
    expect(jobRunState({ "last-run-state": "OK" })).toBe("ok");
    expect(jobRunState({ "last-run-state": "WARNINGS: 2" })).toBe("warning");
    expect(jobRunState({ "last-run-state": "connection refused" })).toBe("error");
    // TaskState::Unknown: aborted, or cut off by a PBS restart; not a failure.
    expect(jobRunState({ "last-run-state": "unknown", "last-run-upid": "U" })).toBe("unknown");
    expect(keepOptions({ "keep-last": 3, "keep-daily": 0, "keep-weekly": "4", id: "x" })).toEqual({
      "keep-last": 3,
      "keep-weekly": 4,
    });
    expect(keepText({})).toBe("keep all");
    expect(keepText({ "keep-last": 3 })).toBe("keep-last=3");
  });
});

describe("access", () => {
  it("remotes, users and ACL state what PBS filtered", async () => {
    const { reader, requests } = fakeReader(
      {
        "/config/remote": [],
        "/access/users": [{ userid: "mcp@pbs" }],
        "/access/acl": [],
      },
      DATASTORE_AUDITOR,
    );
    await Promise.all([pbsRemotes(reader), pbsUsers(reader), pbsAcl(reader)]);
    expect(requests).toContain('/access/users {"include_tokens":true}');
    expect(reader.gaps.map((g) => g.needs).sort()).toEqual([
      "Remote.Audit on /remote",
      "Sys.Audit on /access/acl",
      "Sys.Audit on /access/users",
    ]);
    // One permission read for the whole run.
    expect(requests.filter((r) => r === "/access/permissions")).toHaveLength(1);
  });

  it("the auditor sees everything: no gaps", async () => {
    const { reader } = fakeReader({ "/config/remote": [], "/access/users": [], "/access/acl": [] }, AUDITOR);
    await Promise.all([pbsRemotes(reader), pbsUsers(reader), pbsAcl(reader)]);
    expect(reader.gaps).toEqual([]);
  });
});

describe("tasks", () => {
  it("reads a page with PBS's total; without Sys.Audit on /system/tasks a gap", async () => {
    const { reader, requests } = fakeReader(
      {
        "/nodes/localhost/tasks": {
          data: [{ upid: "U", node: "localhost", starttime: 1, worker_type: "x", user: "u" }],
          total: 7,
        },
      },
      DATASTORE_AUDITOR,
    );
    const page = await pbsTasks(reader, { start: 0, limit: 1, errors: true });
    expect(page.total).toBe(7);
    expect(requests).toContain('/nodes/localhost/tasks {"start":0,"limit":1,"errors":true}');
    expect(reader.gaps.map((g) => g.needs)).toEqual(["Sys.Audit on /system/tasks"]);
  });

  it("task states and UPIDs", () => {
    expect(taskState({})).toBe("running");
    expect(taskState({ status: "OK", endtime: 2 })).toBe("ok");
    expect(taskState({ status: "WARNINGS: 1", endtime: 2 })).toBe("warning");
    expect(taskState({ status: "unknown", endtime: 2 })).toBe("unknown");
    expect(taskState({ status: "verification failed", endtime: 2 })).toBe("error");
    expect(
      parsePbsUpid(
        "UPID:localhost:000004D2:0000162E:00000001:6757A1C0:syncjob:offsite\\x3apve\\x2dlab:root@pam:",
      ),
    ).toEqual({
      node: "localhost",
      starttime: 0x6757a1c0,
      type: "syncjob",
      id: "offsite:pve-lab",
      authid: "root@pam",
    });
    expect(parsePbsUpid("nonsense")).toBeUndefined();
  });
});

describe("read-only roles", () => {
  it("are the built-in roles holding audit privileges only, TapeAudit included", () => {
    expect([...READ_ONLY_ROLES].sort()).toEqual([
      "Audit",
      "DatastoreAudit",
      "NoAccess",
      "RemoteAudit",
      "TapeAudit",
    ]);
  });
});
