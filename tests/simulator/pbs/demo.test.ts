/** The PBS demo's planted problems (and their decoys) are there, wired to the PVE demo. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPbsSimulator, type PbsSimulator } from "../../../src/simulator/pbs/index.js";
import { demoScenario } from "../../../src/simulator/scenarios/demo.js";
import { get } from "./helpers.js";

let sim: PbsSimulator;
beforeAll(async () => {
  sim = await startPbsSimulator({ scenario: "demo" });
});
afterAll(() => sim.close());

type Row = Record<string, unknown>;
const DAY = 86400;

async function allSnapshots(): Promise<(Row & { store: string; ns: string })[]> {
  const out: (Row & { store: string; ns: string })[] = [];
  for (const d of (await get<Row[]>(sim, "/admin/datastore", sim.tokens.auditor)).data) {
    const store = String(d["store"]);
    for (const n of (await get<Row[]>(sim, `/admin/datastore/${store}/namespace`, sim.tokens.auditor)).data) {
      const ns = String(n["ns"]);
      const snaps = (
        await get<Row[]>(
          sim,
          `/admin/datastore/${store}/snapshots?ns=${encodeURIComponent(ns)}`,
          sim.tokens.auditor,
        )
      ).data;
      out.push(...snaps.map((s) => ({ ...s, store, ns })));
    }
  }
  return out;
}

describe("wiring to the PVE demo", () => {
  it("has the datastores the PVE demo's pbs storages point at", async () => {
    const pbsStorages = (demoScenario.storages ?? []).filter((s) => s.type === "pbs");
    const wanted = pbsStorages.map((s) => String((s.config as Record<string, unknown>)["datastore"]));
    expect(wanted.sort()).toEqual(["main", "pve-lab"]);
    const stores = (await get<Row[]>(sim, "/admin/datastore", sim.tokens.auditor)).data.map(
      (d) => d["store"],
    );
    for (const w of wanted) expect(stores).toContain(w);
  });
  it("uses the PVE demo's VMIDs as backup ids; main's root namespace holds what PVE lists on pbs-main", async () => {
    const vmids = new Set((demoScenario.guests ?? []).map((g) => String(g.vmid)));
    const snaps = await allSnapshots();
    for (const s of snaps)
      if (s["backup-type"] !== "host") expect(vmids.has(String(s["backup-id"]))).toBe(true);
    const rootMain = new Set(
      snaps.filter((s) => s.store === "main" && s.ns === "").map((s) => s["backup-id"]),
    );
    expect([...rootMain].sort()).toEqual(["100", "104"]);
  });
});

describe("planted problems", () => {
  it("snapshots never verified (pve-lab) and one failed verification (vm/101's newest)", async () => {
    const snaps = await allSnapshots();
    expect(snaps.filter((s) => s.store === "pve-lab").every((s) => s["verification"] === undefined)).toBe(
      true,
    );
    const failed = snaps.filter((s) => (s["verification"] as Row | undefined)?.["state"] === "failed");
    expect(failed.map((s) => `${s.store}:${s.ns}:${s["backup-type"]}/${s["backup-id"]}`)).toEqual([
      "main:prod:vm/101",
    ]);
    expect(snaps.filter((s) => s.store === "main").every((s) => s["verification"] !== undefined)).toBe(true);
  });
  it("a datastore without verify job and verify-new off (pve-lab); decoy scratch has verify-new", async () => {
    const jobs = (await get<Row[]>(sim, "/config/verify", sim.tokens.auditor)).data.map((j) => j["store"]);
    const cfg = (await get<Row[]>(sim, "/config/datastore", sim.tokens.auditor)).data;
    const uncovered = cfg
      .filter((d) => !jobs.includes(d["name"]) && d["verify-new"] !== true)
      .map((d) => d["name"]);
    expect(uncovered).toEqual(["pve-lab"]);
  });
  it("GC not run for 10+ days (pve-lab), GC failing (archive); decoy main ran OK yesterday", async () => {
    const gc = (await get<Row[]>(sim, "/admin/gc", sim.tokens.auditor)).data;
    const by = Object.fromEntries(gc.map((g) => [g["store"], g]));
    expect(sim.state.now - Number(by["pve-lab"]!["last-run-endtime"])).toBeGreaterThanOrEqual(10 * DAY);
    expect(by["archive"]!["last-run-state"]).toMatch(/ENOSPC/);
    expect(by["main"]!["last-run-state"]).toBe("OK");
    expect(sim.state.now - Number(by["main"]!["last-run-endtime"])).toBeLessThan(DAY + 3600);
  });
  it("archive is ~92 % used; decoy scratch at 40 %", async () => {
    const usage = (await get<Row[]>(sim, "/status/datastore-usage", sim.tokens.auditor)).data;
    const pct = Object.fromEntries(
      usage.map((u): [string, number] => [
        String(u["store"]),
        Math.round((Number(u["used"]) / Number(u["total"])) * 100),
      ]),
    );
    expect(pct).toMatchObject({ archive: 92, scratch: 40 });
    expect(Object.values(pct).filter((p) => p >= 85)).toHaveLength(1);
  });
  it("no prune job: archive (no retention) and pve-lab (only legacy keep-*); decoy main has one", async () => {
    const jobs = (await get<Row[]>(sim, "/config/prune", sim.tokens.auditor)).data.map((j) => j["store"]);
    const cfg = (await get<Row[]>(sim, "/config/datastore", sim.tokens.auditor)).data;
    const none = cfg.filter((d) => !jobs.includes(d["name"]));
    expect(none.map((d) => String(d["name"])).sort()).toEqual(["archive", "pve-lab"]);
    expect(cfg.find((d) => d["name"] === "pve-lab")).toHaveProperty("keep-daily");
    expect(cfg.find((d) => d["name"] === "archive")).not.toHaveProperty("keep-daily");
    expect(jobs).toContain("main");
  });
  it("unencrypted backups of production-tagged VM 103; decoy 100 and 104 encrypted", async () => {
    const prod = (demoScenario.guests ?? [])
      .filter((g) => /(^|;)prod(;|$)/.test(String(g.tags ?? "")))
      .map((g) => String(g.vmid));
    expect(prod.sort()).toEqual(["100", "103", "104"]);
    const snaps = await allSnapshots();
    const plain = (id: string) =>
      snaps
        .filter((s) => s["backup-id"] === id)
        .some((s) =>
          (s["files"] as Row[]).some(
            (f) => f["crypt-mode"] === "none" && String(f["filename"]).endsWith("idx"),
          ),
        );
    expect(prod.filter(plain)).toEqual(["103"]);
    for (const id of ["100", "104"])
      expect(snaps.filter((s) => s["backup-id"] === id).every((s) => s["fingerprint"])).toBe(true);
  });
  it("VM 106 has no backup anywhere; VM 108's newest is 20 days old", async () => {
    const snaps = await allSnapshots();
    expect(snaps.some((s) => s["backup-id"] === "106")).toBe(false);
    expect(snaps.some((s) => s["backup-id"] === "107")).toBe(true);
    const newest108 = Math.max(
      ...snaps.filter((s) => s["backup-id"] === "108").map((s) => Number(s["backup-time"])),
    );
    expect(Math.round((sim.state.now - newest108) / DAY)).toBe(20);
  });
  it("vm/101 has 200 snapshots", async () => {
    const snaps = await get<Row[]>(
      sim,
      "/admin/datastore/main/snapshots?ns=prod&backup-type=vm&backup-id=101",
      sim.tokens.auditor,
    );
    expect(snaps.data).toHaveLength(200);
  });
  it("sync job s-offsite-pull failed; decoy s-colo-pull OK", async () => {
    const jobs = Object.fromEntries(
      (await get<Row[]>(sim, "/admin/sync", sim.tokens.auditor)).data.map((j) => [j["id"], j]),
    );
    expect(jobs["s-offsite-pull"]!["last-run-state"]).not.toBe("OK");
    expect(jobs["s-colo-pull"]!["last-run-state"]).toBe("OK");
  });
  it("remote offsite has no fingerprint; decoy colo has one", async () => {
    const remotes = (await get<Row[]>(sim, "/config/remote", sim.tokens.auditor)).data;
    expect(remotes.filter((r) => !r["fingerprint"]).map((r) => r["name"])).toEqual(["offsite"]);
  });
  it("broad roles on /: DatastoreAdmin for pve-lab@pbs(!pve); Admin for the test tokens only", async () => {
    const acl = (await get<Row[]>(sim, "/access/acl?path=/&exact=1", sim.tokens.auditor)).data;
    const broad = acl
      .filter((e) => e["roleid"] === "Admin" || e["roleid"] === "DatastoreAdmin")
      .map((e) => `${e["ugid"]}=${e["roleid"]}`);
    expect(broad.sort()).toEqual(
      [
        "admin@pbs!automation=Admin",
        "admin@pbs=Admin",
        "pve-lab@pbs!pve=DatastoreAdmin",
        "pve-lab@pbs=DatastoreAdmin",
        "root@pam!sim=Admin",
      ].sort(),
    );
  });
  it("exactly one token without expiry (ops@pbs!ansible)", async () => {
    const users = (await get<Row[]>(sim, "/access/users?include_tokens=1", sim.tokens.auditor)).data;
    const tokens = users.flatMap((u) => (u["tokens"] as Row[] | undefined) ?? []);
    expect(tokens.filter((t) => t["expire"] === 0).map((t) => t["tokenid"])).toEqual(["ops@pbs!ansible"]);
  });
  it("alice@pbs (a human admin) has no TFA; root@pam has TOTP", async () => {
    const tfa = (await get<Row[]>(sim, "/access/tfa", sim.tokens.auditor)).data;
    expect(tfa.map((u) => u["userid"])).toEqual(["root@pam"]);
    expect((tfa[0]!["entries"] as Row[])[0]!["type"]).toBe("totp");
    const users = (await get<Row[]>(sim, "/access/users", sim.tokens.auditor)).data;
    expect(users.some((u) => u["userid"] === "alice@pbs")).toBe(true);
  });
  it("has failed tasks with logs of every kind", async () => {
    const tasks = (await get<Row[]>(sim, "/nodes/localhost/tasks?limit=0&errors=1", sim.tokens.auditor)).data;
    const types = new Set(
      tasks
        .filter((t) => t["status"] !== undefined && !String(t["status"]).startsWith("WARN"))
        .map((t) => t["worker_type"]),
    );
    for (const t of ["garbage_collection", "verificationjob", "syncjob", "backup"])
      expect(types).toContain(t);
  });
});
