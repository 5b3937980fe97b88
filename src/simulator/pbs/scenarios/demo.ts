/**
 * The demo Proxmox Backup Server "pbs", wired to the PVE demo cluster
 * (src/simulator/scenarios/demo.ts): backup ids are the demo's VMIDs, and its datastores
 * include the two the PVE demo's PBS storages point at: pbs-main -> datastore "main"
 * (user pve-lab@pbs) and pbs-offsite -> "pve-lab" (user lab@pbs; in the PVE demo that
 * storage names the host pbs.offsite.example, here it is served by the same simulator).
 * Times are relative to the same clock as the PVE demo's ("now-2d"), so ages agree.
 * main's root namespace holds only vm/100 and vm/104, the two volumes PVE lists on pbs-main;
 * everything else lives in namespaces (prod, dev, dev/k8s) or on the other datastores.
 *
 * Problems planted for an audit to find (each once, with a decoy where it is tricky):
 *  - Snapshots never verified: everything on "pve-lab" (no verify job, verify-new off).
 *    Decoy: main's and archive's snapshots are verified by their jobs.
 *  - Failed verification: the newest snapshot of vm/101 (main, ns prod); verify job
 *    v-main's last run failed because of it. Decoy: all other main snapshots are ok.
 *  - No verify job and verify-new off: datastore "pve-lab". Decoy: "scratch" has no job
 *    but verify-new=true.
 *  - GC not run for 14 days on "pve-lab" (no gc-schedule); GC failing on "archive"
 *    (ENOSPC). Decoy: "main" ran GC OK yesterday.
 *  - Datastore "archive" is 92 % used. Decoy: "scratch" at 40 %.
 *  - No prune job: "archive" (no retention at all) and "pve-lab" (only legacy keep-* on
 *    its datastore config, which PBS has not applied since 2.2: only prune jobs prune).
 *    Decoy: "main" has prune job p-main (keep-daily 7, keep-weekly 4).
 *  - Unencrypted backups of production-tagged VM 103 (app01, main ns prod). Decoy: the
 *    production VMs 100 and 104 are backed up encrypted.
 *  - No backup at all in PBS: VM 106 (k8s-node1; it has none in PVE either). Decoy: its
 *    sibling VM 107 is backed up daily in main ns dev/k8s.
 *  - Newest backup 20 days old: VM 108 (jumphost, on pve-lab); its last backup task failed.
 *  - Sync job s-offsite-pull failed (remote "offsite" answers with an unexpected
 *    certificate). Decoy: s-colo-pull is OK.
 *  - Remote "offsite" has no fingerprint pinned. Decoy: "colo" has one.
 *  - Broad roles: pve-lab@pbs and its token pve-lab@pbs!pve hold DatastoreAdmin on "/"
 *    (PVE's pbs-main logs in with it). The test tokens admin@pbs!automation and
 *    root@pam!sim hold Admin on "/" by design. Decoy: lab@pbs has DatastoreBackup on
 *    /datastore/pve-lab only.
 *  - Token without expiry: ops@pbs!ansible (every other token expires).
 *  - User without TFA: alice@pbs (a human admin: DatastoreAdmin on /datastore/main,
 *    RemoteAdmin on /remote). Decoy: root@pam has TOTP. The service accounts have none
 *    either: they use tokens.
 *  - Noise: four datastores, namespaces prod, dev and nested dev/k8s on main; vm/101 has
 *    200 snapshots (every 4 hours); host/pve1 backups; tasks (GC, verify, prune, sync,
 *    backup; some failed, one running GC on scratch, one rotated log); namespace-only
 *    user dev@pbs (DatastoreBackup on /datastore/main/dev); nobody@pbs!nothing holds no ACL.
 *
 * Tokens the simulator hands out: auditor mcp@pbs!readonly (Audit on /, RemoteAudit on
 * /remote), datastoreAuditor monitor@pbs!dsaudit (DatastoreAudit on /datastore), admin
 * admin@pbs!automation (Admin on /), root root@pam!sim (Admin on /; a token is never superuser).
 */
import type { PbsGroupInput, PbsScenarioInput, PbsSnapshotInput, PbsTaskInput } from "../scenario.js";

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

function series(
  count: number,
  everyHours: number,
  firstHoursAgo: number,
  size: number,
  extra: Partial<PbsSnapshotInput> = {},
): PbsSnapshotInput[] {
  return Array.from({ length: count }, (_v, i) => ({
    time: `now-${firstHoursAgo + i * everyHours}h`,
    size: size + i * 7919,
    ...extra,
  }));
}

const ok = (upid: string) => ({ verification: { state: "ok" as const, upid } });

const vmGroup = (
  id: number | string,
  owner: string,
  snapshots: PbsSnapshotInput[],
  extra: Partial<PbsGroupInput> = {},
): PbsGroupInput => ({ type: "vm", id: String(id), owner, snapshots, ...extra });
const ctGroup = (
  id: number | string,
  owner: string,
  snapshots: PbsSnapshotInput[],
  extra: Partial<PbsGroupInput> = {},
): PbsGroupInput => ({ type: "ct", id: String(id), owner, snapshots, ...extra });

const PVE = "pve-lab@pbs";
const LAB = "lab@pbs";

// vm/101: 200 snapshots every 4 hours; the newest failed verification.
const db01 = series(200, 4, 6, 9 * GiB, ok("@verify-main-0"));
db01[0] = { ...db01[0]!, verification: { state: "failed", upid: "@verify-main-0" } };

const tasks: PbsTaskInput[] = [
  // GC
  {
    key: "gc-main",
    type: "garbage_collection",
    id: "main",
    authid: "root@pam",
    starttime: "now-22h",
    endtime: "now-21h",
    status: "OK",
    log: [
      "starting garbage collection on store main",
      "Start GC phase1 (mark used chunks)",
      "Start GC phase2 (sweep unused chunks)",
      "Removed garbage: 12.31 GiB",
      "Pending removals: 1.02 GiB (in 311 chunks)",
    ],
  },
  {
    key: "gc-pve-lab",
    type: "garbage_collection",
    id: "pve-lab",
    authid: "root@pam",
    starttime: "now-14d",
    endtime: "now-14d",
    status: "OK",
    log: ["starting garbage collection on store pve-lab", "Removed garbage: 1.2 GiB"],
  },
  {
    key: "gc-archive",
    type: "garbage_collection",
    id: "archive",
    authid: "root@pam",
    starttime: "now-20h",
    endtime: "now-20h",
    status:
      'update atime failed for chunk/file "/mnt/datastore/archive/.chunks/3f1a" - ENOSPC: No space left on device',
    log: ["starting garbage collection on store archive", "Start GC phase1 (mark used chunks)"],
  },
  {
    key: "gc-archive-prev",
    type: "garbage_collection",
    id: "archive",
    authid: "root@pam",
    starttime: "now-44h",
    endtime: "now-44h",
    status:
      'update atime failed for chunk/file "/mnt/datastore/archive/.chunks/9b0c" - ENOSPC: No space left on device',
    rotated: true,
  },
  {
    key: "gc-scratch",
    type: "garbage_collection",
    id: "scratch",
    authid: "root@pam",
    starttime: "now-3d",
    endtime: "now-3d",
    status: "OK",
    log: ["starting garbage collection on store scratch", "Removed garbage: 310.2 MiB"],
  },
  {
    type: "garbage_collection",
    id: "scratch",
    authid: "root@pam",
    starttime: "now-5m",
    log: ["starting garbage collection on store scratch", "Start GC phase1 (mark used chunks)"],
  },
  // verification
  {
    key: "verify-main-0",
    type: "verificationjob",
    id: "main:v-main",
    authid: "root@pam",
    starttime: "now-5h",
    endtime: "now-4h",
    status: "verification failed - please check the log for details",
    log: [
      "Starting datastore verify job 'main:v-main'",
      "verify main:prod/vm/101/… - chunk 7ac3e9… was marked as corrupt",
      "Failed to verify the following snapshots/groups:",
      "\tprod/vm/101",
    ],
  },
  {
    key: "verify-main-1",
    type: "verificationjob",
    id: "main:v-main",
    authid: "root@pam",
    starttime: "now-29h",
    endtime: "now-28h",
    status: "OK",
  },
  {
    key: "verify-archive",
    type: "verificationjob",
    id: "archive:v-archive",
    authid: "root@pam",
    starttime: "now-6d",
    endtime: "now-6d",
    status: "OK",
  },
  // prune
  {
    key: "prune-main",
    type: "prunejob",
    id: "main",
    authid: "root@pam",
    starttime: "now-23h",
    endtime: "now-23h",
    status: "OK",
    log: ["Starting prune on datastore 'main'", "retention options: --keep-daily 7 --keep-weekly 4"],
  },
  {
    key: "prune-scratch",
    type: "prunejob",
    id: "scratch",
    authid: "root@pam",
    starttime: "now-23h",
    endtime: "now-23h",
    status: "WARNINGS: 1",
    log: ["Starting prune on datastore 'scratch'", "WARN: group vm/109 is locked, skipping"],
  },
  // sync
  {
    key: "sync-offsite",
    type: "syncjob",
    id: "offsite:pve-lab:archive::s-offsite-pull",
    authid: "root@pam",
    starttime: "now-7h",
    endtime: "now-7h",
    status:
      "error trying to connect: error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed",
    log: ["Starting datastore sync job 'offsite:pve-lab:archive::s-offsite-pull'"],
  },
  {
    key: "sync-colo",
    type: "syncjob",
    id: "colo:store1:archive::s-colo-pull",
    authid: "root@pam",
    starttime: "now-8h",
    endtime: "now-8h",
    status: "OK",
    log: ["Starting datastore sync job 'colo:store1:archive::s-colo-pull'", "sync group host/pve1 done"],
  },
  // backups (written by PVE's users)
  {
    type: "backup",
    id: "main:vm/100",
    authid: PVE,
    starttime: "now-2d",
    endtime: "now-2d",
    status: "OK",
    log: [
      "starting new backup on datastore 'main' from ::ffff:192.0.2.11: \"vm/100/2026-11-19T02:00:04Z\"",
      "backup finished successfully",
    ],
  },
  { type: "backup", id: "main:vm/104", authid: PVE, starttime: "now-2d", endtime: "now-2d", status: "OK" },
  {
    type: "backup",
    id: "pve-lab:vm/108",
    authid: LAB,
    starttime: "now-19d",
    endtime: "now-19d",
    status: "connection error: Connection reset by peer (os error 104)",
    log: [
      "starting new backup on datastore 'pve-lab' from ::ffff:192.0.2.12: \"vm/108\"",
      "backup failed: connection error: Connection reset by peer (os error 104)",
    ],
  },
  {
    key: "backup-109",
    type: "backup",
    id: "scratch:vm/109",
    authid: "ops@pbs!ansible",
    starttime: "now-22h",
    endtime: "now-22h",
    status: "OK",
    log: [
      "starting new backup on datastore 'scratch': \"vm/109\"",
      "verify after backup: ok",
      "backup finished successfully",
    ],
  },
  { type: "backup", id: "pve-lab:ct/202", authid: LAB, starttime: "now-1d", endtime: "now-1d", status: "OK" },
];

export const pbsDemoScenario: PbsScenarioInput = {
  hostname: "pbs",
  version: { version: "4.1", release: "2", repoid: "2b1c9f0e" },
  datastores: [
    {
      name: "main",
      config: {
        path: "/mnt/datastore/main",
        comment: "primary datastore (PVE storage pbs-main)",
        "gc-schedule": "daily",
        "verify-new": false,
        "notify-user": "root@pam",
        notify: "gc=error,prune=error,sync=error,verify=always",
        "notification-mode": "notification-system",
      },
      total: 7696581394432,
      used: 2308974418329,
      historyFrom: 0.27,
      namespaces: ["prod", "dev", "dev/k8s"],
      gc: {
        last: { state: "OK", upid: "@gc-main", endtime: "now-21h" },
        status: {
          upid: "@gc-main",
          "index-file-count": 1732,
          "index-data-bytes": 18_712_392_114_176,
          "disk-bytes": 2_201_928_112_128,
          "disk-chunks": 1_021_334,
          "removed-bytes": 13_217_714_176,
          "removed-chunks": 6120,
          "pending-bytes": 1_095_216_660,
          "pending-chunks": 311,
          "removed-bad": 0,
          "still-bad": 1,
        },
      },
      groups: [
        vmGroup(
          100,
          PVE,
          series(3, 168, 48, 34 * GiB, { encrypted: true, ...ok("@verify-main-0"), notes: "web01" }),
          { comment: "web01" },
        ),
        vmGroup(
          104,
          PVE,
          series(3, 168, 48, 34 * GiB, { encrypted: true, ...ok("@verify-main-0"), notes: "web02" }),
          { comment: "web02" },
        ),
        vmGroup(103, PVE, series(7, 24, 26, 6 * GiB, { ...ok("@verify-main-0"), notes: "app01\nnightly" }), {
          ns: "prod",
        }),
        vmGroup(101, PVE, db01, { ns: "prod", comment: "db01" }),
        ctGroup(200, PVE, series(7, 24, 25, 300 * 1024 ** 2, { ...ok("@verify-main-0") }), { ns: "prod" }),
        ctGroup(205, PVE, series(7, 24, 25, 180 * 1024 ** 2, { ...ok("@verify-main-0") }), { ns: "prod" }),
        vmGroup(102, "dev@pbs!ci", series(3, 168, 30, 23 * GiB, { ...ok("@verify-main-0") }), { ns: "dev" }),
        ctGroup(203, "dev@pbs", series(4, 168, 40, 2 * GiB, { ...ok("@verify-main-0"), protected: true }), {
          ns: "dev",
        }),
        vmGroup(107, "dev@pbs!ci", series(7, 24, 27, 12 * GiB, { ...ok("@verify-main-0") }), {
          ns: "dev/k8s",
        }),
      ],
    },
    {
      name: "pve-lab",
      config: {
        path: "/mnt/datastore/pve-lab",
        comment: "lab cluster (PVE storage pbs-offsite)",
        "verify-new": false,
        "keep-daily": 7,
        "keep-weekly": 4,
        "keep-monthly": 6,
      },
      total: 3848290697216,
      used: 384829069721,
      historyFrom: 0.08,
      gc: {
        last: { state: "OK", upid: "@gc-pve-lab", endtime: "now-14d" },
        status: {
          upid: "@gc-pve-lab",
          "index-file-count": 61,
          "removed-bytes": 1_288_490_188,
          "pending-bytes": 0,
          "disk-chunks": 90_211,
          "disk-bytes": 372_110_336_000,
        },
      },
      groups: [
        vmGroup(105, LAB, series(5, 24, 28, 8 * GiB)),
        vmGroup(108, LAB, series(3, 24, 20 * 24, 5 * GiB)),
        ctGroup(202, LAB, series(7, 24, 24, 400 * 1024 ** 2)),
        ctGroup(207, LAB, series(7, 24, 24, 120 * 1024 ** 2)),
        ctGroup(208, LAB, series(7, 24, 24, 900 * 1024 ** 2)),
      ],
    },
    {
      name: "archive",
      config: { path: "/mnt/datastore/archive", comment: "long-term copies", "gc-schedule": "daily" },
      total: 4 * TiB,
      used: Math.round(4 * TiB * 0.92),
      historyFrom: 0.85,
      gc: {
        last: {
          state:
            'update atime failed for chunk/file "/mnt/datastore/archive/.chunks/3f1a" - ENOSPC: No space left on device',
          upid: "@gc-archive",
          endtime: "now-20h",
        },
        status: { upid: "@gc-archive" },
      },
      groups: [
        {
          type: "host",
          id: "pve1",
          owner: "root@pam",
          snapshots: series(8, 168, 50, 4 * GiB, ok("@verify-archive")),
        },
        vmGroup(110, "root@pam", series(6, 720, 120, 40 * GiB, ok("@verify-archive")), {
          comment: "legacy-erp monthly",
        }),
        ctGroup(201, "root@pam", series(4, 168, 60, 1 * GiB, ok("@verify-archive"))),
        ctGroup(206, "root@pam", series(2, 168, 60, 700 * 1024 ** 2, ok("@verify-archive"))),
      ],
    },
    {
      name: "scratch",
      config: {
        path: "/mnt/datastore/scratch",
        comment: "CI builds",
        "gc-schedule": "sat 03:00",
        "verify-new": true,
      },
      total: 2 * TiB,
      used: Math.round(2 * TiB * 0.4),
      historyFrom: 0.38,
      gc: {
        last: { state: "OK", upid: "@gc-scratch", endtime: "now-3d" },
        status: { upid: "@gc-scratch", "removed-bytes": 325_270_732, "pending-bytes": 0 },
      },
      groups: [vmGroup(109, "ops@pbs!ansible", series(3, 24, 22, 15 * GiB, ok("@backup-109")))],
    },
  ],
  verifyJobs: [
    {
      config: {
        id: "v-main",
        store: "main",
        schedule: "daily",
        "ignore-verified": true,
        "outdated-after": 30,
        comment: "daily verify",
      },
      last: {
        state: "verification failed - please check the log for details",
        upid: "@verify-main-0",
        endtime: "now-4h",
      },
    },
    {
      config: {
        id: "v-archive",
        store: "archive",
        schedule: "sun 04:00",
        "ignore-verified": true,
        "outdated-after": 90,
      },
      last: { state: "OK", upid: "@verify-archive", endtime: "now-6d" },
    },
  ],
  pruneJobs: [
    {
      config: {
        id: "p-main",
        store: "main",
        schedule: "daily",
        "keep-daily": 7,
        "keep-weekly": 4,
        "max-depth": 7,
      },
      last: { state: "OK", upid: "@prune-main", endtime: "now-23h" },
    },
    {
      config: { id: "p-scratch", store: "scratch", schedule: "daily", "keep-last": 3 },
      last: { state: "WARNINGS: 1", upid: "@prune-scratch", endtime: "now-23h" },
    },
  ],
  syncJobs: [
    {
      config: {
        id: "s-offsite-pull",
        store: "archive",
        remote: "offsite",
        "remote-store": "pve-lab",
        schedule: "hourly",
        "remove-vanished": false,
        comment: "copy of the offsite lab store",
      },
      last: {
        state:
          "error trying to connect: error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed",
        upid: "@sync-offsite",
        endtime: "now-7h",
      },
    },
    {
      config: {
        id: "s-colo-pull",
        store: "archive",
        remote: "colo",
        "remote-store": "store1",
        schedule: "*-*-* 01:30",
        "transfer-last": 4,
      },
      last: { state: "OK", upid: "@sync-colo", endtime: "now-8h" },
    },
  ],
  remotes: [
    {
      name: "offsite",
      host: "pbs.offsite.example",
      "auth-id": "sync@pbs!archive",
      comment: "lab PBS",
      password: "c1d8f0a2-5b7e-4c39-9e61-0f2d4a8b7c35",
    },
    {
      name: "colo",
      host: "203.0.113.40",
      port: 8007,
      "auth-id": "sync@pbs",
      fingerprint:
        "7d:02:e8:4f:1c:b6:93:5a:20:ce:f1:8b:44:d9:6e:03:b5:7a:19:c4:f2:68:0d:e3:51:9f:a7:2c:8e:46:bb:10",
      password: "5e7a9c31-0b42-4d8f-a6e2-1c9b3f7d2e84",
    },
  ],
  users: [
    {
      userid: "root@pam",
      email: "root@example.com",
      comment: "Superuser",
      tokens: [{ name: "sim", secret: "5f2c9a71-3e84-4d0b-b6c1-8a7e2f4d9c03", expire: "now+180d" }],
      tfa: [
        {
          type: "totp",
          id: "totp-9c3e1f27-4a8b-4d6e-b2c0-7f1a9e5d3b48",
          description: "root phone",
          created: "now-400d",
        },
      ],
    },
    {
      userid: "mcp@pbs",
      comment: "MCP audit service",
      tokens: [
        {
          name: "readonly",
          secret: "a3e1c9b7-62f4-4d85-9b0e-7c2d1f8a4e36",
          expire: "now+300d",
          comment: "proxmox-mcp-hardened",
        },
      ],
    },
    {
      userid: "monitor@pbs",
      comment: "monitoring",
      tokens: [{ name: "dsaudit", secret: "0b7d3f92-8c1a-4e65-a4d9-2f6e8b1c5a70", expire: "now+300d" }],
    },
    {
      userid: "admin@pbs",
      comment: "automation",
      tokens: [{ name: "automation", secret: "e6c2a8f4-1d93-4b7e-8f05-3a9c7e2b6d41", expire: "now+90d" }],
    },
    {
      userid: "pve-lab@pbs",
      comment: "PVE cluster lab (storage pbs-main)",
      tokens: [{ name: "pve", secret: "7a4f1e93-c2b8-4d06-9e5a-1b8d3c7f2e69", expire: "now+365d" }],
    },
    { userid: "lab@pbs", comment: "PVE storage pbs-offsite" },
    {
      userid: "ops@pbs",
      email: "ops@example.com",
      tokens: [{ name: "ansible", secret: "3c8e2b71-9f4a-4d6c-b1e7-5a0d9f2c8b14" }],
    },
    { userid: "alice@pbs", firstname: "Alice", lastname: "Martin", email: "alice@example.com" },
    {
      userid: "dev@pbs",
      comment: "CI backups (namespace dev)",
      tokens: [{ name: "ci", secret: "9d1f6b28-4e7c-4a3b-8c52-e0f7a1d4b963", expire: "now+60d" }],
    },
    {
      userid: "nobody@pbs",
      tokens: [{ name: "nothing", secret: "2e9b4d17-6a3c-4f8e-9d20-b5c1e7a3f864", expire: "now+30d" }],
    },
    { userid: "former@pbs", enable: false, expire: "now-45d", comment: "left the company" },
  ],
  acl: [
    { path: "/", ugid: "root@pam!sim", roleid: "Admin" },
    { path: "/", ugid: "mcp@pbs", roleid: "Audit" },
    { path: "/remote", ugid: "mcp@pbs", roleid: "RemoteAudit" },
    { path: "/", ugid: "mcp@pbs!readonly", roleid: "Audit" },
    { path: "/remote", ugid: "mcp@pbs!readonly", roleid: "RemoteAudit" },
    { path: "/datastore", ugid: "monitor@pbs", roleid: "DatastoreAudit" },
    { path: "/datastore", ugid: "monitor@pbs!dsaudit", roleid: "DatastoreAudit" },
    { path: "/", ugid: "admin@pbs", roleid: "Admin" },
    { path: "/", ugid: "admin@pbs!automation", roleid: "Admin" },
    { path: "/", ugid: "pve-lab@pbs", roleid: "DatastoreAdmin" },
    { path: "/", ugid: "pve-lab@pbs!pve", roleid: "DatastoreAdmin" },
    { path: "/datastore/pve-lab", ugid: "lab@pbs", roleid: "DatastoreBackup" },
    { path: "/datastore/scratch", ugid: "ops@pbs", roleid: "DatastorePowerUser" },
    { path: "/datastore/scratch", ugid: "ops@pbs!ansible", roleid: "DatastoreBackup" },
    { path: "/datastore/main", ugid: "alice@pbs", roleid: "DatastoreAdmin" },
    { path: "/remote", ugid: "alice@pbs", roleid: "RemoteAdmin" },
    { path: "/datastore/main/dev", ugid: "dev@pbs", roleid: "DatastoreBackup" },
    { path: "/datastore/main/dev", ugid: "dev@pbs!ci", roleid: "DatastoreBackup" },
  ],
  tasks,
  subscription: {
    status: "notfound",
    message: "There is no subscription key",
    serverid: "9B4C1F0E2D7A3B65C8E1D0F2A4B6C8E0",
    url: "https://www.proxmox.com/en/proxmox-backup-server/pricing",
  },
  tokens: {
    auditor: "mcp@pbs!readonly",
    datastoreAuditor: "monitor@pbs!dsaudit",
    admin: "admin@pbs!automation",
    root: "root@pam!sim",
  },
};
