/**
 * What a backup job falls back to and where its failures go: GET
 * /nodes/{node}/vzdump/defaults (/etc/vzdump.conf over PVE's defaults, the storage's
 * retention, what only Sys.Audit on the node shows), the notification system's
 * matchers, targets and mail endpoints (PVE's built-ins always there, secrets never
 * returned), and PBS storages in storage.cfg (the encryption key's fingerprint, no password).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type TokenCredentials } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { api } from "../helpers/client.js";

type Entry = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let sim: Simulator;
let changed: Simulator;

/** mcp@pve!ops: PVEVMUser on /vms only (a demo token): no Sys.Audit, Datastore.Audit or Mapping.Audit. */
function opsToken(): TokenCredentials {
  const mcp = demoScenario.users!.find((u) => u.userid === "mcp@pve")!;
  return { id: "mcp@pve!ops", secret: mcp.tokens!.find((t) => t.tokenid === "ops")!.secret };
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: "demo" });
  const scenario = structuredClone(demoScenario);
  scenario.nodes.find((n) => n.name === "pve2")!.vzdumpConf = {
    mailto: "a@example.com;b@example.com",
    "prune-backups": "keep-weekly=2,keep-last=1",
    "notification-mode": "legacy-sendmail",
  };
  scenario.notifications = {
    matchers: [{ name: "default-matcher", disable: true, mode: "all", target: ["mail-to-root"] }],
    smtp: [
      {
        name: "relay",
        server: "smtp.example.com",
        "from-address": "pve@example.com",
        mailto: ["ops@example.com"],
        username: "pve",
        password: "smtp-password",
      },
    ],
    gotify: [{ name: "phone", server: "https://gotify.example", token: "gotify-token" }],
  };
  changed = await startSimulator({ scenario });
});
afterAll(async () => {
  await Promise.all([sim?.close(), changed?.close()]);
});

async function get(s: Simulator, path: string, token: TokenCredentials = s.tokens.auditor): Promise<Entry> {
  const res = await api(s, { path, token });
  expect(res.status, `${path}: ${res.raw}`).toBe(200);
  return res.body.data;
}

describe("GET /nodes/{node}/vzdump/defaults", () => {
  it("no storage asked, no vzdump.conf: PVE's defaults and storage local, which keeps all", async () => {
    expect(await get(sim, "/nodes/pve1/vzdump/defaults")).toEqual({
      all: 0,
      bwlimit: 0,
      compress: "0",
      dumpdir: "/var/lib/vz/dump",
      fleecing: { enabled: 0 },
      ionice: 7,
      lockwait: 180,
      mailnotification: "always",
      mode: "snapshot",
      "notification-mode": "auto",
      performance: { "max-workers": 16, "pbs-entries-max": 1048576 },
      pigz: 0,
      "prune-backups": "keep-all=1",
      quiet: 0,
      remove: 1,
      stdexcludes: 1,
      stop: 0,
      stopwait: 10,
      storage: "local",
      zstd: 1,
    });
  });

  it("the storage's prune-backups wins over vzdump.conf; a PBS storage has no dump directory", async () => {
    expect(await get(changed, "/nodes/pve2/vzdump/defaults?storage=pbs-main")).toMatchObject({
      storage: "pbs-main",
      "prune-backups": "keep-daily=7,keep-last=3,keep-weekly=4",
      mailto: "a@example.com,b@example.com",
      "notification-mode": "legacy-sendmail",
    });
    expect(await get(changed, "/nodes/pve2/vzdump/defaults?storage=pbs-main")).not.toHaveProperty("dumpdir");
    expect(await get(changed, "/nodes/pve2/vzdump/defaults?storage=local")).toMatchObject({
      "prune-backups": "keep-last=1,keep-weekly=2",
      dumpdir: "/var/lib/vz/dump",
    });
    expect(await get(changed, "/nodes/pve1/vzdump/defaults?storage=nfs-backup")).toMatchObject({
      "prune-backups": "keep-all=1",
      dumpdir: "/mnt/pve/nfs-backup/dump",
      "notification-mode": "auto",
    });
  });

  it("mailto and the directories only with Sys.Audit on the node; the storage needs Datastore.Audit", async () => {
    const scenario = structuredClone(demoScenario);
    scenario.nodes.find((n) => n.name === "pve1")!.vzdumpConf = { mailto: "a@example.com", tmpdir: "/tmp" };
    scenario.roles = { ...scenario.roles, StoreOnly: ["Datastore.Audit"] };
    scenario.acl = [...scenario.acl!, { path: "/storage", ugid: "mcp@pve!ops", roleid: "StoreOnly" }];
    const s = await startSimulator({ scenario });
    try {
      const limited = await get(s, "/nodes/pve1/vzdump/defaults", opsToken());
      for (const hidden of ["mailto", "tmpdir", "dumpdir", "script", "ionice"]) {
        expect(limited).not.toHaveProperty(hidden);
      }
      expect(await get(s, "/nodes/pve1/vzdump/defaults")).toMatchObject({
        mailto: "a@example.com",
        tmpdir: "/tmp",
      });
    } finally {
      await s.close();
    }
    const refused = await api(sim, {
      path: "/nodes/pve1/vzdump/defaults?storage=nfs-backup",
      token: opsToken(),
    });
    expect([refused.status, refused.body.message]).toEqual([
      403,
      "Permission check failed (/storage/nfs-backup, Datastore.Audit|Datastore.AllocateSpace)\n",
    ]);
  });

  it("an unknown storage, or one without backup content, dies like storage_info", async () => {
    const token = sim.tokens.root;
    const unknown = await api(sim, { path: "/nodes/pve1/vzdump/defaults?storage=nosuch", token });
    expect([unknown.status, unknown.body.message]).toEqual([500, "storage 'nosuch' does not exist\n"]);
    const images = await api(sim, { path: "/nodes/pve1/vzdump/defaults?storage=local-lvm", token });
    expect([images.status, images.body.message]).toEqual([
      500,
      "can't use storage 'local-lvm' for backups - wrong content type\n",
    ]);
    const offline = await api(sim, { path: "/nodes/pve3/vzdump/defaults", token });
    expect(offline.status).toBe(595);
  });
});

describe("notifications", () => {
  it("a fresh install: default-matcher routes everything to mail-to-root (root@pam's email)", async () => {
    expect(await get(sim, "/cluster/notifications/matchers")).toEqual([
      {
        name: "default-matcher",
        mode: "all",
        target: ["mail-to-root"],
        comment: "Route all notifications to mail-to-root",
        origin: "builtin",
      },
    ]);
    expect(await get(sim, "/cluster/notifications/targets")).toEqual([
      {
        name: "mail-to-root",
        type: "sendmail",
        origin: "builtin",
        comment: "Send mails to root@pam's email address",
      },
    ]);
    expect(await get(sim, "/cluster/notifications/endpoints/sendmail")).toEqual([
      {
        name: "mail-to-root",
        comment: "Send mails to root@pam's email address",
        "mailto-user": ["root@pam"],
        origin: "builtin",
      },
    ]);
    expect(await get(sim, "/cluster/notifications/endpoints/smtp")).toEqual([]);
  });

  it("a changed built-in is modified-builtin; user entries are listed, secrets never", async () => {
    expect(await get(changed, "/cluster/notifications/matchers")).toEqual([
      {
        name: "default-matcher",
        disable: true,
        mode: "all",
        target: ["mail-to-root"],
        origin: "modified-builtin",
      },
    ]);
    expect(await get(changed, "/cluster/notifications/targets")).toEqual([
      {
        name: "mail-to-root",
        type: "sendmail",
        origin: "builtin",
        comment: "Send mails to root@pam's email address",
      },
      { name: "phone", type: "gotify", origin: "user-created" },
      { name: "relay", type: "smtp", origin: "user-created" },
    ]);
    expect(await get(changed, "/cluster/notifications/endpoints/smtp")).toEqual([
      {
        name: "relay",
        server: "smtp.example.com",
        "from-address": "pve@example.com",
        mailto: ["ops@example.com"],
        username: "pve",
        origin: "user-created",
      },
    ]);
    for (const path of ["matchers", "targets", "endpoints/sendmail", "endpoints/smtp"]) {
      const res = await api(changed, { path: `/cluster/notifications/${path}`, token: changed.tokens.root });
      expect(res.raw).not.toMatch(/smtp-password|gotify-token/);
    }
  });

  it("needs Mapping.Audit (or Modify, or Use for matchers and targets) on /mapping/notifications", async () => {
    for (const path of ["matchers", "targets", "endpoints/sendmail", "endpoints/smtp"]) {
      const res = await api(sim, { path: `/cluster/notifications/${path}`, token: opsToken() });
      expect(res.status, path).toBe(403);
    }
  });
});

describe("PBS storages in storage.cfg", () => {
  it("GET /storage shows the fingerprint and the encryption key's fingerprint, never a password", async () => {
    const storages = (await get(sim, "/storage")) as unknown as Entry[];
    expect(storages.find((s) => s["storage"] === "pbs-main")).toMatchObject({
      type: "pbs",
      server: "192.0.2.60",
      datastore: "main",
      shared: 1,
      fingerprint: expect.stringMatching(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/),
      "encryption-key": expect.stringMatching(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/),
    });
    const offsite = storages.find((s) => s["storage"] === "pbs-offsite")!;
    expect(offsite).not.toHaveProperty("fingerprint");
    expect(offsite).not.toHaveProperty("encryption-key");
    expect(storages.some((s) => "password" in s)).toBe(false);
  });
});
