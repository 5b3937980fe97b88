/**
 * A small, well-kept cluster: what the demo would look like with every planted problem
 * fixed. The security audit must find nothing above info here.
 *
 * Two PVE 9.1 nodes, both online (quorate) with two encrypted corosync links each and a
 * QDevice for the third vote, each serving a CA-signed (ACME) certificate,
 * subscribed, no pending updates, healthy disks, valid certificates, the firewall on at
 * every level with DROP policies and no management port open to the world, guests
 * filtered against address spoofing; three guests, each in an enabled backup job with a
 * backup from last night and no snapshot older than a week; storage well below 85 %; no
 * failed task. Every user has a second factor, every token is privilege-separated and
 * expires, and no write role is granted broadly.
 *
 * Tokens:
 *  - auditor: mcp@pve!readonly, PVEAuditor on / (the server's usual read token; the
 *    audit then states three gaps: updates, syslog, backup volumes).
 *  - root: audit@pve!full, everything the audit can look at, granted narrowly: a
 *    read-only role on /, plus Sys.Modify on each node (pending updates), VM.Backup on
 *    /vms and Datastore.AllocateSpace on the backup storage (backup volumes). With it
 *    the audit has no gap at all.
 *  - admin: ops@pve!admin, PVEVMAdmin on the pool "prod" only.
 */
import type { ScenarioInput } from "../../src/simulator/scenario.js";

type Node = ScenarioInput["nodes"][number];
type Guest = NonNullable<ScenarioInput["guests"]>[number];

const GiB = 1024 ** 3;

export const CLEAN_TOKENS = {
  auditor: { id: "mcp@pve!readonly", secret: "0c1e2a3b-4d5f-4a6b-8c7d-9e0f1a2b3c4d" },
  root: { id: "audit@pve!full", secret: "1d2f3b4c-5e6a-4b7c-9d8e-0f1a2b3c4d5e" },
  admin: { id: "ops@pve!admin", secret: "2e3a4c5d-6f7b-4c8d-8e9f-1a2b3c4d5e6f" },
} as const;

/** Read-only privileges: PVEAuditor's plus Sys.Syslog. */
const READ_PRIVILEGES = [
  "Datastore.Audit",
  "Mapping.Audit",
  "Pool.Audit",
  "SDN.Audit",
  "Sys.Audit",
  "Sys.Syslog",
  "VM.Audit",
  "VM.GuestAgent.Audit",
];

function node(name: string, nodeid: number): Node {
  return {
    name,
    nodeid,
    ip: `192.0.2.${10 + nodeid}`,
    level: "c",
    uptime: 2_000_000,
    memTotal: 64 * GiB,
    memUsed: 18 * GiB,
    rootfsTotal: 100 * GiB,
    rootfsUsed: 12 * GiB,
    certificates: {
      custom: {
        subject: `/CN=${name}.clean.example`,
        issuer: "/C=US/O=Let's Encrypt/CN=R11",
        notbefore: "now-20d",
        notafter: "now+70d",
        san: [`${name}.clean.example`],
      },
    },
    subscription: {
      status: "active",
      key: `pve1c-${nodeid}a2b3c4d5e`,
      level: "c",
      productname: "Proxmox VE Community Subscription 1 CPU/year",
      regdate: "2026-01-10 00:00:00",
      nextduedate: "2027-01-10",
      checktime: "now-1d",
    },
    aptUpdates: [],
    disks: [
      {
        devpath: "/dev/nvme0n1",
        type: "nvme",
        size: 1000204886016,
        model: "Samsung SSD 990 PRO 1TB",
        serial: `S7KGNJ0X10000${nodeid}`,
        health: "PASSED",
        wearout: 99,
        used: "ZFS",
      },
    ],
    firewall: {
      options: { enable: 1 },
      rules: [
        {
          type: "in",
          action: "ACCEPT",
          macro: "SSH",
          source: "192.0.2.0/24",
          enable: 1,
          comment: "SSH from LAN",
        },
      ],
    },
    syslog: [
      `Nov 21 06:00:01 ${name} CRON[4411]: pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)`,
      `Nov 21 07:12:40 ${name} pvedaemon[1502]: <root@pam> successful auth for user 'root@pam'`,
    ],
  };
}

function guest(
  vmid: number,
  type: "qemu" | "lxc",
  name: string,
  nodeName: string,
  net0: string,
  extra: Partial<Guest> = {},
): Guest {
  return {
    vmid,
    type,
    name,
    node: nodeName,
    status: "running",
    pool: "prod",
    cpus: 2,
    maxmem: 4 * GiB,
    maxdisk: 32 * GiB,
    mem: 2 * GiB,
    cpu: 0.02,
    uptime: 900_000,
    config:
      type === "qemu"
        ? {
            boot: "order=scsi0;net0",
            cores: 2,
            memory: "4096",
            ostype: "l26",
            net0,
            scsi0: `local-lvm:vm-${vmid}-disk-0,size=32G`,
          }
        : {
            arch: "amd64",
            cores: 2,
            memory: 4096,
            ostype: "debian",
            net0,
            rootfs: `local-lvm:vm-${vmid}-disk-0,size=32G`,
            unprivileged: 1,
          },
    firewall: {
      options: { enable: 1, policy_in: "DROP", ipfilter: 1 },
      rules: [{ type: "in", action: "ACCEPT", macro: "HTTPS", enable: 1 }],
    },
    ...extra,
  };
}

function backup(vmid: number, type: "qemu" | "lxc", stamp: string) {
  const ext = type === "qemu" ? "vma.zst" : "tar.zst";
  return {
    volid: `backup:backup/vzdump-${type}-${vmid}-${stamp}.${ext}`,
    content: "backup" as const,
    format: ext,
    size: 2 * GiB,
    ctime: "now-1d",
    vmid,
  };
}

/** Every user has a second factor. */
const totp = (id: string) => [{ id, type: "totp" as const, description: "phone", created: "now-200d" }];

export function cleanScenario(): ScenarioInput {
  const readRole = ["CleanAudit", READ_PRIVILEGES] as const;
  const both = (path: string, ugid: string, roleid: string, propagate = 1) => [
    { path, ugid, roleid, propagate },
    { path, ugid: `${ugid}!full`, roleid, propagate },
  ];
  return {
    clusterName: "clean",
    // Two corosync links per node, encrypted (secauth on, as pvecm create writes it).
    corosync: { secauth: "on", links: 2 },
    qdevice: { host: "192.0.2.60" },
    localNode: "pve1",
    nodes: [node("pve1", 1), node("pve2", 2)],
    storages: [
      {
        storage: "local",
        type: "dir",
        content: "iso,vztmpl",
        config: { path: "/var/lib/vz" },
        total: 100 * GiB,
        used: 12 * GiB,
      },
      {
        storage: "local-lvm",
        type: "lvmthin",
        content: "images,rootdir",
        config: { vgname: "pve", thinpool: "data" },
        total: 800 * GiB,
        used: 120 * GiB,
      },
      {
        storage: "backup",
        type: "nfs",
        content: "backup",
        shared: 1,
        config: { server: "192.0.2.50", export: "/volume1/pve", path: "/mnt/pve/backup" },
        total: 4000 * GiB,
        used: 1500 * GiB,
        volumes: [
          backup(100, "qemu", "2026_11_20-01_00_02"),
          backup(101, "qemu", "2026_11_20-01_04_10"),
          backup(200, "lxc", "2026_11_20-01_02_31"),
        ],
      },
    ],
    guests: [
      guest(100, "qemu", "web", "pve1", "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1", {
        snapshots: [{ name: "before-update", snaptime: "now-5d", description: "before apt upgrade" }],
      }),
      guest(101, "qemu", "db", "pve2", "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1", {
        config: {
          boot: "order=scsi0;net0",
          cores: 2,
          description: "PostgreSQL primary; credentials in the team vault",
          memory: "4096",
          ostype: "l26",
          net0: "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1",
          scsi0: "local-lvm:vm-101-disk-0,size=32G",
        },
      }),
      guest(
        200,
        "lxc",
        "dns",
        "pve1",
        "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:02:00,ip=192.0.2.53/24,gw=192.0.2.1,type=veth",
      ),
    ],
    pools: [{ poolid: "prod", comment: "Production" }],
    users: [
      { userid: "root@pam", email: "root@example.com", tfa: totp("totp-root") },
      {
        userid: "mcp@pve",
        comment: "MCP server (read only)",
        tfa: totp("totp-mcp"),
        tokens: [
          { tokenid: "readonly", secret: CLEAN_TOKENS.auditor.secret, privsep: 1, expire: "now+180d" },
        ],
      },
      {
        userid: "audit@pve",
        comment: "full-visibility audit account",
        tfa: totp("totp-audit"),
        tokens: [{ tokenid: "full", secret: CLEAN_TOKENS.root.secret, privsep: 1, expire: "now+90d" }],
      },
      {
        userid: "ops@pve",
        email: "ops@example.com",
        tfa: [{ id: "webauthn-ops", type: "webauthn", description: "YubiKey", created: "now-100d" }],
        tokens: [{ tokenid: "admin", secret: CLEAN_TOKENS.admin.secret, privsep: 1, expire: "now+30d" }],
      },
    ],
    roles: {
      [readRole[0]]: [...readRole[1]],
      NodeUpdates: ["Sys.Modify"],
      GuestBackupRead: ["VM.Backup"],
      BackupStoreRead: ["Datastore.AllocateSpace"],
    },
    acl: [
      { path: "/", ugid: "mcp@pve", roleid: "PVEAuditor" },
      { path: "/", ugid: "mcp@pve!readonly", roleid: "PVEAuditor" },
      ...both("/", "audit@pve", "CleanAudit"),
      // Deeper entries replace what is inherited, so each repeats the read role next to its extra privilege.
      ...["pve1", "pve2"].flatMap((n) => [
        ...both(`/nodes/${n}`, "audit@pve", "CleanAudit", 0),
        ...both(`/nodes/${n}`, "audit@pve", "NodeUpdates", 0),
      ]),
      ...both("/vms", "audit@pve", "CleanAudit"),
      ...both("/vms", "audit@pve", "GuestBackupRead"),
      ...both("/storage/backup", "audit@pve", "CleanAudit", 0),
      ...both("/storage/backup", "audit@pve", "BackupStoreRead", 0),
      { path: "/pool/prod", ugid: "ops@pve", roleid: "PVEVMAdmin" },
      { path: "/pool/prod", ugid: "ops@pve!admin", roleid: "PVEVMAdmin" },
    ],
    tasks: ["pve1", "pve2"].map((n, i) => ({
      node: n,
      pid: 200_000 + i,
      pstart: 90_000_000 + i,
      starttime: "now-9h",
      endtime: "now-530m",
      type: "vzdump",
      user: "root@pam",
      status: "OK",
      log: ["INFO: Backup job finished successfully", "TASK OK"],
    })),
    backupJobs: [
      {
        id: "backup-nightly",
        schedule: "01:00",
        storage: "backup",
        mode: "snapshot",
        compress: "zstd",
        all: 1,
        comment: "every guest, nightly",
        "prune-backups": "keep-daily=7,keep-weekly=4",
      },
    ],
    clusterFirewall: {
      options: { enable: 1, policy_in: "DROP", policy_out: "ACCEPT" },
      rules: [
        {
          type: "in",
          action: "ACCEPT",
          proto: "tcp",
          dport: "8006",
          source: "192.0.2.0/24",
          enable: 1,
          comment: "GUI from LAN",
        },
        {
          type: "in",
          action: "ACCEPT",
          macro: "SSH",
          source: "192.0.2.0/24",
          enable: 1,
          comment: "SSH from LAN",
        },
      ],
    },
    ha: { quorate: true },
    tokens: { auditor: CLEAN_TOKENS.auditor.id, admin: CLEAN_TOKENS.admin.id, root: CLEAN_TOKENS.root.id },
  };
}
