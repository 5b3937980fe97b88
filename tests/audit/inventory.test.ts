/**
 * The inventory of the HTML report against the demo cluster: storage fill per storage
 * (per node for a node-local one), backup coverage per guest as backup-coverage and
 * backup-excluded-disk see it, the newest backup where the token may see it; what the
 * auditor token cannot see, and what a token without Sys.Audit and Datastore.Audit
 * cannot, said in notVisible; and its cost: nothing after a full run, a few requests
 * after one check.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runAudit, type AuditReport } from "../../src/audit/index.js";
import { reportSchema } from "../../src/audit/report-schema.js";
import type { AuditInventory } from "../../src/audit/types.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { readerFor } from "./reader.js";

const NOW = new Date("2026-11-21T10:00:00Z");
const NOW_SECONDS = NOW.getTime() / 1000;
const DAY = 86_400;

let sim: Simulator;
let root: AuditReport;
let auditor: AuditReport;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: NOW });
  sim = await startSimulator();
  for (const who of ["root", "auditor"] as const) {
    const reader = readerFor(sim, sim.tokens[who]);
    const report = await runAudit(reader, { inventory: true });
    if (who === "root") root = report;
    else auditor = report;
    await reader.close();
  }
});

afterAll(async () => {
  await sim?.close();
  vi.useRealTimers();
});

const states = (inventory: AuditInventory) => inventory.guests.map((g) => `${g.vmid} ${g.state}`);

describe("the demo cluster's inventory", () => {
  it("is in the report only when asked for, and fits the report's schema", async () => {
    const asPrinted = { ...root, waived: [], unusedWaivers: [] };
    expect(reportSchema.strict().parse(asPrinted).inventory).toEqual(root.inventory);
    const reader = readerFor(sim, sim.tokens.auditor);
    try {
      expect(await runAudit(reader, { checks: ["user-tfa"] })).not.toHaveProperty("inventory");
    } finally {
      await reader.close();
    }
  });

  it("storages: the fullest first, a node-local one per node, a shared one once, an offline node's without usage", () => {
    const { storages, notes } = root.inventory!;
    const fill = storages.map((s) => (s.used === null ? -1 : s.used / s.total!));
    expect(fill).toEqual([...fill].sort((a, b) => b - a));
    const line = (s: (typeof storages)[number]) =>
      `${s.storage} ${s.node ?? "(shared)"} ${s.used === null ? "-" : Math.round((s.used / s.total!) * 100)}`;
    expect(line(storages[0]!)).toBe("tank pve2 94");
    const lines = storages.map(line);
    expect(lines).toEqual(
      expect.arrayContaining(["nfs-backup (shared) 73", "tank pve1 30", "local pve1 10", "local pve2 11"]),
    );
    expect(lines.filter((l) => l.startsWith("nfs-backup "))).toHaveLength(1);
    expect(storages.find((s) => s.storage === "nfs-backup")).toMatchObject({
      type: "nfs",
      shared: true,
      content: ["backup"],
    });
    // pve3 is offline: its node-local storages are listed, last, without usage.
    expect(lines.slice(-3)).toEqual(["local pve3 -", "local-lvm pve3 -", "tank pve3 -"]);
    expect(notes).toContainEqual({
      about: "storage",
      what: "no usage reported (node offline or storage inactive): pve3",
    });
    expect(notes).toContainEqual({
      about: "backups",
      what: "backups not read (node offline or storage inactive): local on pve3",
    });
  });

  it("coverage: the least covered first; disabled jobs, the disks left out (VM 103, CT 200) and the covered", () => {
    const order = ["none", "disabled", "excluded", "partial", "unknown", "covered"];
    const rank = root.inventory!.guests.map((g) => order.indexOf(g.state) * 100_000 + g.vmid);
    expect(rank).toEqual([...rank].sort((a, b) => a - b));
    const guest = (vmid: number) => root.inventory!.guests.find((g) => g.vmid === vmid)!;
    const state = (vmid: number) => guest(vmid).state;
    for (const vmid of [105, 106, 107, 108, 109, 110, 201, 206, 207, 208, 9000])
      expect(state(vmid), `${vmid}`).toBe("none");
    for (const vmid of [101, 102, 203]) expect(state(vmid), `${vmid}`).toBe("disabled");
    for (const vmid of [103, 200]) expect(state(vmid), `${vmid}`).toBe("partial");
    for (const vmid of [100, 104, 202, 205]) expect(state(vmid), `${vmid}`).toBe("covered");
    expect(guest(100)).toMatchObject({
      type: "qemu",
      name: "web01",
      node: "pve1",
      tags: ["prod", "web"],
      backupsVisible: true,
      lastBackup: { time: NOW_SECONDS - DAY, storage: "nfs-backup" },
    });
    expect(guest(100).jobs).toContain("backup-9e1d4c7a-2b6f");
    expect(guest(101).disabledJobs).toEqual(["backup-5f2a91c3-7d1e", "backup-0c84e6b2-41aa"]);
    // gitea's only backup: 172 days old, on pve1's node-local storage.
    expect(guest(203).lastBackup).toEqual({ time: NOW_SECONDS - 172 * DAY, storage: "local" });
    expect(guest(105).lastBackup).toBeNull();
    expect(guest(9000).template).toBe(true);
    expect(root.inventory!.backupJobs!.map((j) => `${j.comment} ${j.enabled}`)).toEqual(
      expect.arrayContaining([
        "disabled while the NAS was migrated false",
        "db weekly false",
        "prod nightly true",
      ]),
    );
    expect(root.inventory!.guestsTotal).toBe(root.inventory!.guests.length);
    expect(root.inventory!.notVisible).toEqual([]);
  });

  it("the auditor token: the same coverage, and the backups PVE hides from it said as such", () => {
    expect(states(auditor.inventory!)).toEqual(states(root.inventory!));
    expect(auditor.inventory!.storages).toEqual(root.inventory!.storages);
    for (const g of auditor.inventory!.guests)
      expect(g).toMatchObject({ backupsVisible: false, lastBackup: null });
    expect(auditor.inventory!.notVisible).toEqual([
      {
        about: "backups",
        what: "the last backup of every guest (PVE hides backup volumes from this token)",
        needs: "Datastore.AllocateSpace on the backup storages and VM.Backup on /vms/{vmid}",
      },
    ]);
  });

  it("costs no request after a full run, and a few after a single check", async () => {
    const reader = readerFor(sim, sim.tokens.root);
    try {
      const count = async (options: Parameters<typeof runAudit>[1]) => {
        sim.clearRequests();
        await runAudit(reader, options);
        return sim.requests().length;
      };
      expect(await count({ inventory: true })).toBe(await count({}));
      const extra =
        (await count({ checks: ["user-tfa"], inventory: true })) - (await count({ checks: ["user-tfa"] }));
      // /cluster/resources, /access/permissions, /cluster/backup, and one read per backup storage
      // (a shared one once, a node-local one per online node).
      const backupPlaces = root.inventory!.storages.filter(
        (s) => s.content.includes("backup") && s.used !== null,
      );
      expect(extra).toBeLessThanOrEqual(3 + backupPlaces.length);
    } finally {
      await reader.close();
    }
  });
});

describe("a token without Sys.Audit on / and Datastore.Audit", () => {
  it("says what it cannot see instead of empty lists meaning fine", async () => {
    const scenario = structuredClone(demoScenario);
    scenario.acl = scenario.acl!.map((e) =>
      e.ugid === "mcp@pve!readonly" ? { ...e, path: "/vms", roleid: "PVEAuditor" } : e,
    );
    const limited = await startSimulator({ scenario });
    const reader = readerFor(limited, limited.tokens.auditor);
    try {
      const { inventory } = await runAudit(reader, { checks: ["user-tfa"], inventory: true });
      expect(inventory!.notVisible).toEqual(
        expect.arrayContaining([
          { about: "backups", what: "backup jobs", needs: "Sys.Audit on /" },
          {
            about: "storage",
            what: "storages this token may not see (PVE lists only storages with Datastore.Audit)",
            needs: "Datastore.Audit on /storage",
          },
        ]),
      );
      expect(inventory!.backupJobs).toBeNull();
      expect(inventory!.storages).toEqual([]);
      expect(inventory!.guests.length).toBe(20);
      expect(new Set(inventory!.guests.map((g) => g.state))).toEqual(new Set(["unknown"]));
    } finally {
      await reader.close();
      await limited.close();
    }
  });
});
