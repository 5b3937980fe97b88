/**
 * get_storage_content against the simulator: node choice for shared and local storages,
 * usage, filters and pages, and the volumes PVE hides from a read-only token (backups
 * need Datastore.AllocateSpace + VM.Backup, disk images Datastore.Allocate), stated as
 * gaps instead of "no backups".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Secret } from "../../src/config/secret.js";
import { PveReader } from "../../src/pve/client.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { readFactsOf, type ReadContext } from "../../src/tools/define.js";
import { getStorageContent, storageTools } from "../../src/tools/storage.js";
import { simConfig } from "../helpers/config.js";
import { testScenario } from "../helpers/scenarios.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

/** Datastore.AllocateSpace (a write privilege) without VM.Backup: what a backup-less operator token holds. */
const SPACE_TOKEN = { id: "space@pve!tk", secret: "55555555-5555-4555-8555-555555555555" };

function scenario() {
  const s = testScenario();
  s.users = [
    ...(s.users ?? []),
    { userid: "space@pve", tokens: [{ tokenid: "tk", secret: SPACE_TOKEN.secret, privsep: 0 }] },
  ];
  s.roles = { ...(s.roles ?? {}), SpaceOnly: ["Datastore.Audit", "Datastore.AllocateSpace"] };
  s.acl = [
    ...(s.acl ?? []),
    { path: "/storage", ugid: "space@pve", roleid: "SpaceOnly" },
    { path: "/vms", ugid: "space@pve", roleid: "PVEAuditor" },
  ];
  return s;
}

type Structured = z.infer<z.ZodObject<typeof getStorageContent.output>>;

/** The handler with a token the server would refuse as privileged (it can write): no server, same checks. */
async function direct(sim: Simulator, token: { id: string; secret: string }, args: Record<string, unknown>) {
  const config = simConfig(sim, { tokenId: token.id, tokenSecret: new Secret(token.secret) });
  const pve = new PveReader(config);
  const signal = new AbortController().signal;
  const ctx: ReadContext = {
    read: new RunReader(pve, signal),
    facts: readFactsOf(config),
    signal,
    access: { readExtraPrivileges: [], hiddenTools: [], adminWarnings: [] },
  };
  try {
    const out = await getStorageContent.handle(z.object(getStorageContent.input).parse(args), ctx);
    return { text: out.text, structured: z.object(getStorageContent.output).strict().parse(out.structured) };
  } finally {
    await pve.close();
  }
}

let sim: Simulator;
let tc: ToolClient;

beforeAll(async () => {
  sim = await startSimulator({ scenario: scenario() });
  tc = await toolClient(sim, storageTools);
  // The server checks the token (GET /access/permissions) before the first call: done here.
  await tc.call("get_storage_content", { storage: "local", node: "pve1" });
});

afterAll(async () => {
  await tc.close();
  await sim.close();
});

async function call(args: Record<string, unknown>) {
  sim.clearRequests();
  const result = await tc.call("get_storage_content", args);
  return {
    ...result,
    structured: result.structuredContent as Structured,
    paths: sim.requests().map((r) => r.path),
  };
}

describe("get_storage_content with the auditor token (PVEAuditor)", () => {
  it("shared backup storage: picks an online node, and says backups are hidden, not absent", async () => {
    const r = await call({ storage: "nfs-backup" });
    expect(r.isError).toBeFalsy();
    expect(r.structured).toMatchObject({
      storage: "nfs-backup",
      node: "pve1",
      type: "nfs",
      shared: true,
      total: 0,
    });
    expect(r.structured.gaps).toEqual([
      {
        what: expect.stringContaining("backup volumes on nfs-backup@pve1"),
        needs: "Datastore.AllocateSpace on /storage/nfs-backup and VM.Backup on /vms (or on each guest)",
      },
    ]);
    expect(r.text).toContain("does not mean the storage is empty");
    expect(r.text).toMatch(/NOT VISIBLE: backup volumes on nfs-backup@pve1.*Datastore\.AllocateSpace/);
    expect(r.text).not.toMatch(/no backups/i);
    // storage.cfg, node states, the token's permissions, then the node's view and content: never pve3.
    expect(r.paths.sort()).toEqual(
      [
        "/storage",
        "/nodes",
        "/access/permissions",
        "/nodes/pve1/storage",
        "/nodes/pve1/storage/nfs-backup/content",
      ].sort(),
    );
  });

  it("local storage on one node: ISOs and templates listed, backups stated as hidden", async () => {
    const r = await call({ storage: "local", node: "pve1" });
    expect(r.structured.volumes.map((v) => v.volid)).toEqual([
      "local:iso/debian-13.1.0-amd64-netinst.iso",
      "local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz",
      "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst",
    ]);
    expect(r.structured.byContent).toEqual({
      iso: { count: 1, size: 784334848 },
      vztmpl: { count: 2, size: 129761420 + 3174284 },
    });
    expect(r.structured.gaps.map((g) => g.needs)).toEqual([
      "Datastore.AllocateSpace on /storage/local and VM.Backup on /vms (or on each guest)",
    ]);
    expect(r.paths).toHaveLength(3);
  });

  it("a content filter that excludes backups states no backup gap", async () => {
    const r = await call({ storage: "local", node: "pve1", content: "iso" });
    expect(r.structured.volumes).toHaveLength(1);
    expect(r.structured.gaps).toEqual([]);
    expect(r.text).not.toContain("NOT VISIBLE");
  });

  it("local storage on several nodes without node: asks for one, naming them, before listing", async () => {
    const r = await call({ storage: "local" });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("local to each node (pve1, pve2, pve3 (offline))");
    expect(r.text).toContain("give node");
    expect(r.paths.some((p) => p.includes("/content"))).toBe(false);
  });

  it("pve2's ZFS pool tank: 94 % full, and its guest disks hidden (Datastore.Allocate)", async () => {
    const r = await call({ storage: "tank", node: "pve2" });
    expect(r.structured.usage?.usedFraction).toBeCloseTo(0.94, 2);
    expect(r.text).toMatch(/tank@pve2 \(zfspool, content images,rootdir\): .* \(94%\) NEARLY FULL/);
    expect(r.structured.gaps).toEqual([
      {
        what: expect.stringContaining("images, rootdir volumes on tank@pve2"),
        needs: "Datastore.Allocate on /storage/tank",
      },
    ]);
  });

  it("a node that is offline: one actionable line", async () => {
    const r = await call({ storage: "local", node: "pve3" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/pve3 is offline/);
  });

  it("a storage that does not exist (or is hidden): says which privilege would show it", async () => {
    const r = await call({ storage: "nosuch" });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("Storage nosuch not found");
    expect(r.text).toContain("Datastore.Audit on /storage/nosuch");
  });

  it("a storage not configured on the node asked for", async () => {
    const r = await call({ storage: "nfs-backup", node: "nosuchnode" });
    expect(r.isError).toBe(true);
  });

  it.each([
    [{ storage: "../access" }],
    [{ storage: "local/../../access" }],
    [{ storage: "local", node: "pve1/../pve2" }],
    [{ storage: "local", node: "atlas/qemu/101/status/stop#" }],
    [{ storage: "local", node: "pve1", vmid: "1e3" }],
    [{ storage: "local", node: "pve1", vmid: 99 }],
    [{ storage: "local", node: "pve1", content: "backup;rm" }],
    [{ storage: "local", node: "pve1", limit: 1000 }],
    [{ storage: "local", node: "pve1", offset: -1 }],
    [{}],
  ])("hostile or invalid input %j: refused, nothing sent", async (args) => {
    const r = await call(args);
    expect(r.isError).toBe(true);
    expect(r.paths).toEqual([]);
  });
});

describe("get_storage_content with tokens that see more", () => {
  it("root sees every backup, with notes and protection, newest first; filters and pages", async () => {
    const all = await direct(sim, sim.tokens.root, { storage: "nfs-backup" });
    expect(all.structured.gaps).toEqual([]);
    expect(all.structured.total).toBe(10);
    expect(all.structured.byContent["backup"]?.count).toBe(10);
    const db01 = all.structured.volumes.find((v) => v.vmid === 101);
    expect(db01).toMatchObject({ protected: true, notes: "db01 before pg16", content: "backup" });
    expect(all.text).toMatch(/protected notes:"db01 before pg16"/);
    const dates = all.structured.volumes.map((v) => v.ctime ?? "");
    expect([...dates].sort().reverse()).toEqual(dates);

    const web01 = await direct(sim, sim.tokens.root, { storage: "nfs-backup", vmid: 100 });
    expect(web01.structured.volumes.map((v) => v.vmid)).toEqual([100, 100, 100]);

    const page = await direct(sim, sim.tokens.root, { storage: "nfs-backup", limit: 2, offset: 2 });
    expect(page.structured).toMatchObject({
      total: 10,
      offset: 2,
      returned: 2,
      truncated: true,
      nextOffset: 4,
    });
    expect(page.text).toContain("TRUNCATED: call again with offset=4");
  });

  it("Datastore.AllocateSpace without VM.Backup: backups still hidden, and the gap names VM.Backup", async () => {
    const r = await direct(sim, SPACE_TOKEN, { storage: "nfs-backup", vmid: 100 });
    expect(r.structured.volumes).toEqual([]);
    expect(r.structured.gaps).toEqual([
      {
        what: expect.stringContaining("of guest 100"),
        needs: "Datastore.AllocateSpace on /storage/nfs-backup and VM.Backup on /vms/100",
      },
    ]);
  });
});
