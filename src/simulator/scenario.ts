/**
 * The scenario format: everything the simulated cluster knows, as plain data.
 * Documented in docs/scenario-format.md; the demo scenario (scenarios/demo.ts) and
 * the scale generator (scale.ts) both produce this shape, and a user can pass
 * the same shape as a JSON file with `--scenario FILE`.
 *
 * Times are epoch seconds, or strings relative to the simulator's start:
 * "now", "now-40d", "now+12d", "now-3h", "now-90m", "now-30s".
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

const RELATIVE_TIME = /^now(?:([+-])(\d+)([smhd]))?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** An epoch-seconds time, or "now±N[smhd]" resolved against `now` at load time. */
export const timeSchema = z.union([
  z.number().int().nonnegative(),
  z.string().regex(RELATIVE_TIME, 'relative time must look like "now", "now-40d" or "now+12h"'),
]);
export type TimeInput = z.infer<typeof timeSchema>;

export function resolveTime(value: TimeInput, now: number): number {
  if (typeof value === "number") return value;
  const m = RELATIVE_TIME.exec(value);
  if (!m) throw new Error(`invalid relative time ${JSON.stringify(value)}`);
  if (!m[1]) return now;
  const delta = Number(m[2]) * UNIT_SECONDS[m[3] as keyof typeof UNIT_SECONDS];
  return m[1] === "+" ? now + delta : now - delta;
}

/** pve-access-control's user id (`name@realm`) and token name rules; a scenario cannot hold ids PVE would refuse. */
const USERID = /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const TOKEN_NAME = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const userid = z
  .string()
  .max(63)
  .regex(USERID, 'user ids look like "name@realm" (realm starting with a letter)');
const tokenName = z
  .string()
  .regex(TOKEN_NAME, "token names start with a letter and have at least two characters of A-Z a-z 0-9 . - _");

/** Raw config values exactly as PVE returns them (numbers for integer keys, strings otherwise). */
const configValue = z.union([z.string(), z.number()]);

const firewallRule = z
  .object({
    type: z.enum(["in", "out", "group", "forward"]),
    action: z.string(),
    enable: z.number().int().min(0).max(1).optional(),
    pos: z.number().int().optional(),
    proto: z.string().optional(),
    dport: z.string().optional(),
    sport: z.string().optional(),
    source: z.string().optional(),
    dest: z.string().optional(),
    iface: z.string().optional(),
    macro: z.string().optional(),
    log: z.string().optional(),
    comment: z.string().optional(),
  })
  .strict();

const firewall = z
  .object({
    options: z.record(z.string(), configValue).default({}),
    rules: z.array(firewallRule).default([]),
    /** IP sets (guests: ipfilter-net0 lists the addresses net0 may send from). */
    ipsets: z
      .array(
        z
          .object({
            name: z.string(),
            comment: z.string().optional(),
            cidrs: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const aptUpdate = z
  .object({
    Package: z.string(),
    Title: z.string(),
    Description: z.string(),
    Version: z.string(),
    OldVersion: z.string(),
    Origin: z.string(),
    Arch: z.string(),
    Section: z.string(),
    Priority: z.string(),
    NotifyStatus: z.string().optional(),
  })
  .strict();

/** Proxmox's standard APT repositories, by the handles GET /nodes/{node}/apt/repositories lists (proxmox-apt). */
export const APT_REPOSITORY_HANDLES = [
  "enterprise",
  "no-subscription",
  "test",
  "ceph-quincy-enterprise",
  "ceph-quincy-no-subscription",
  "ceph-quincy-test",
  "ceph-reef-enterprise",
  "ceph-reef-no-subscription",
  "ceph-reef-test",
  "ceph-squid-enterprise",
  "ceph-squid-no-subscription",
  "ceph-squid-test",
] as const;
export type AptRepositoryHandle = (typeof APT_REPOSITORY_HANDLES)[number];

const disk = z
  .object({
    devpath: z.string(),
    type: z.enum(["ssd", "hdd", "nvme", "usb", "unknown"]),
    size: z.number().int().nonnegative(),
    model: z.string(),
    serial: z.string(),
    vendor: z.string().default("unknown"),
    wwn: z.string().default("unknown"),
    health: z.string().default("PASSED"),
    wearout: z.union([z.number(), z.literal("N/A")]).default("N/A"),
    rpm: z.number().int().default(0),
    used: z.string().optional(),
    gpt: z.number().int().min(0).max(1).default(1),
    osdid: z.number().int().default(-1),
    /** smartctl attribute lines for GET /disks/smart (ATA) or text (NVMe). */
    smartText: z.string().optional(),
  })
  .strict();

const certificateSpec = z
  .object({
    /** A custom (e.g. ACME) pveproxy-ssl.pem is served when set. */
    custom: z
      .object({
        subject: z.string().default("/CN=pve.example"),
        issuer: z.string().default("/C=US/O=Let's Encrypt/CN=R11"),
        notbefore: timeSchema,
        notafter: timeSchema,
        san: z.array(z.string()).default([]),
      })
      .strict()
      .optional(),
    /** notafter of pve-ssl.pem (the node certificate signed by the cluster CA). */
    nodeNotAfter: timeSchema.optional(),
  })
  .strict();

const nodeSchema = z
  .object({
    name: z.string(),
    nodeid: z.number().int().positive(),
    ip: z.string(),
    online: z.boolean().default(true),
    /** Level of the subscription ("" = none, c/b/s/p). */
    level: z.string().default(""),
    uptime: z.number().int().nonnegative().default(0),
    cpuModel: z.string().default("AMD EPYC 7302P 16-Core Processor"),
    sockets: z.number().int().positive().default(1),
    cores: z.number().int().positive().default(8),
    cpus: z.number().int().positive().default(16),
    mhz: z.string().default("3000.000"),
    cpu: z.number().nonnegative().default(0.05),
    wait: z.number().nonnegative().default(0.001),
    loadavg: z.tuple([z.string(), z.string(), z.string()]).default(["0.10", "0.12", "0.09"]),
    memTotal: z.number().int().positive(),
    memUsed: z.number().int().nonnegative(),
    swapTotal: z.number().int().nonnegative().default(8589930496),
    swapUsed: z.number().int().nonnegative().default(0),
    rootfsTotal: z.number().int().positive(),
    rootfsUsed: z.number().int().nonnegative(),
    kernel: z.string().default("6.17.2-1-pve"),
    kernelBuild: z.string().default("#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"),
    pveManager: z.string().default("9.1.9"),
    repoid: z.string().default("be091cce09f7ec6b"),
    bootMode: z.enum(["efi", "legacy-bios"]).default("efi"),
    secureboot: z.number().int().min(0).max(1).default(0),
    subscription: z
      .object({
        status: z.enum(["notfound", "active", "expired", "invalid", "new", "suspended"]).default("notfound"),
        key: z.string().optional(),
        level: z.string().optional(),
        productname: z.string().optional(),
        regdate: z.string().optional(),
        nextduedate: z.string().optional(),
        serverid: z.string().optional(),
        checktime: timeSchema.optional(),
      })
      .strict()
      .default({ status: "notfound" }),
    certificates: certificateSpec.default({}),
    aptUpdates: z.array(aptUpdate).default([]),
    /**
     * Proxmox's standard APT repositories on the node, by handle: true = enabled, false = in
     * its file but disabled; a handle left out is not configured. Debian's own repositories
     * are always there. Left out entirely: a fresh install, whose PVE and Ceph enterprise
     * repositories are enabled.
     */
    aptRepositories: z.partialRecord(z.enum(APT_REPOSITORY_HANDLES), z.boolean()).optional(),
    disks: z.array(disk).default([]),
    /** Entries as GET /nodes/{node}/network returns them (iface, type, active, ...). */
    network: z
      .array(z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())])))
      .default([]),
    firewall: firewall.default({ options: {}, rules: [], ipsets: [] }),
    /** Lines of GET /nodes/{node}/syslog, oldest first. */
    syslog: z.array(z.string()).default([]),
  })
  .strict();

const volumeSchema = z
  .object({
    volid: z.string(),
    content: z.enum(["backup", "iso", "vztmpl", "images", "rootdir", "snippets", "import"]),
    format: z.string(),
    size: z.number().int().nonnegative(),
    ctime: timeSchema.optional(),
    vmid: z.number().int().optional(),
    notes: z.string().optional(),
    protected: z.number().int().min(0).max(1).optional(),
    /** For non-shared storages: the node that holds the volume (default: every node). */
    node: z.string().optional(),
    used: z.number().int().nonnegative().optional(),
    parent: z.string().optional(),
    verification: z.object({ state: z.string(), upid: z.string() }).strict().optional(),
  })
  .strict();

const storageSchema = z
  .object({
    storage: z.string(),
    type: z.string(),
    content: z.string(),
    shared: z.number().int().min(0).max(1).default(0),
    disable: z.number().int().min(0).max(1).optional(),
    /** Restrict to these nodes (storage.cfg `nodes`); default all nodes. */
    nodes: z.array(z.string()).optional(),
    /** Other storage.cfg keys (path, server, export, vgname, thinpool, prune-backups, ...). */
    config: z.record(z.string(), configValue).default({}),
    total: z.number().int().nonnegative(),
    used: z.number().int().nonnegative(),
    /** Per-node usage for non-shared storages; falls back to total/used. */
    perNode: z
      .record(z.string(), z.object({ total: z.number().int(), used: z.number().int() }).strict())
      .default({}),
    /** Storages whose backend is unreachable report active:0 and no usage. */
    active: z.boolean().default(true),
    volumes: z.array(volumeSchema).default([]),
  })
  .strict();

const snapshotSchema = z
  .object({
    name: z.string(),
    snaptime: timeSchema,
    description: z.string().default(""),
    vmstate: z.number().int().min(0).max(1).optional(),
    parent: z.string().optional(),
  })
  .strict();

const guestSchema = z
  .object({
    vmid: z.number().int().min(100).max(999999999),
    type: z.enum(["qemu", "lxc"]),
    node: z.string(),
    name: z.string(),
    status: z.enum(["running", "stopped", "paused"]).default("stopped"),
    template: z.boolean().default(false),
    pool: z.string().optional(),
    tags: z.string().optional(),
    lock: z.string().optional(),
    cpus: z.number().positive(),
    maxmem: z.number().int().nonnegative(),
    maxdisk: z.number().int().nonnegative(),
    maxswap: z.number().int().nonnegative().optional(),
    /** Running-state statistics; ignored while stopped. */
    mem: z.number().int().nonnegative().default(0),
    disk: z.number().int().nonnegative().default(0),
    cpu: z.number().nonnegative().default(0),
    uptime: z.number().int().nonnegative().default(0),
    netin: z.number().int().nonnegative().default(0),
    netout: z.number().int().nonnegative().default(0),
    diskread: z.number().int().nonnegative().default(0),
    diskwrite: z.number().int().nonnegative().default(0),
    pid: z.number().int().positive().optional(),
    /** Config keys beyond name/tags (which come from the fields above). */
    config: z.record(z.string(), configValue).default({}),
    /**
     * A container's raw LXC keys (lxc.* lines of its config file), in order; PVE's config
     * answer lists them as `lxc: [[key, value], ...]`.
     */
    rawLxc: z.array(z.tuple([z.string().regex(/^lxc\./), z.string()])).default([]),
    snapshots: z.array(snapshotSchema).default([]),
    firewall: firewall.optional(),
    /** QEMU guest agent as seen from inside the guest (qemu only). */
    agent: z
      .object({
        running: z.boolean().default(true),
        interfaces: z.array(z.unknown()).optional(),
        osinfo: z.record(z.string(), z.string()).optional(),
        /** QGA error class for commands the agent does not support. */
        unsupported: z.array(z.string()).default([]),
      })
      .strict()
      .optional(),
    /** HA-managed guest (also listed in /cluster/ha/resources). */
    ha: z
      .object({
        state: z.enum(["started", "stopped", "disabled", "ignored"]).default("started"),
        group: z.string().optional(),
        max_restart: z.number().int().default(1),
        max_relocate: z.number().int().default(1),
        failback: z.number().int().min(0).max(1).default(1),
        comment: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const userSchema = z
  .object({
    userid,
    enable: z.number().int().min(0).max(1).default(1),
    expire: timeSchema.default(0),
    firstname: z.string().optional(),
    lastname: z.string().optional(),
    email: z.string().optional(),
    comment: z.string().optional(),
    /** Password for the ticket flow (pve realm); never returned by any endpoint. */
    password: z.string().optional(),
    /** TFA entries (GET /access/tfa). */
    tfa: z
      .array(
        z
          .object({
            id: z.string(),
            type: z.enum(["totp", "u2f", "webauthn", "recovery", "yubico"]),
            description: z.string().default(""),
            created: timeSchema,
            enable: z.number().int().min(0).max(1).default(1),
          })
          .strict(),
      )
      .default([]),
    tokens: z
      .array(
        z
          .object({
            tokenid: tokenName,
            secret: z.string(),
            privsep: z.number().int().min(0).max(1).default(1),
            expire: timeSchema.default(0),
            comment: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const aclSchema = z
  .object({
    path: z.string(),
    /** `user@realm`, `@group` or `user@realm!token`. */
    ugid: z.string(),
    roleid: z.string(),
    propagate: z.number().int().min(0).max(1).default(1),
  })
  .strict();

const taskSchema = z
  .object({
    node: z.string(),
    pid: z.number().int().positive(),
    pstart: z.number().int().positive(),
    starttime: timeSchema,
    type: z.string(),
    id: z.string().default(""),
    /** The task owner as an auth id: `user@realm` or `user@realm!token`. */
    user: z.string(),
    endtime: timeSchema.optional(),
    /** Exit status for finished tasks: "OK", "WARNINGS: n" or the error text. */
    status: z.string().optional(),
    log: z.array(z.string()).default([]),
  })
  .strict();

const backupJobSchema = z
  .object({
    id: z.string(),
    schedule: z.string(),
    storage: z.string(),
    enabled: z.number().int().min(0).max(1).default(1),
    mode: z.enum(["snapshot", "suspend", "stop"]).default("snapshot"),
    all: z.number().int().min(0).max(1).optional(),
    vmid: z.string().optional(),
    exclude: z.string().optional(),
    pool: z.string().optional(),
    node: z.string().optional(),
    compress: z.string().optional(),
    comment: z.string().optional(),
    "notes-template": z.string().optional(),
    "prune-backups": z.string().optional(),
    "notification-mode": z.string().optional(),
    "repeat-missed": z.number().int().min(0).max(1).optional(),
    "next-run": timeSchema.optional(),
  })
  .strict();

const replicationSchema = z
  .object({
    id: z.string(),
    guest: z.number().int(),
    target: z.string(),
    schedule: z.string().default("*/15"),
    disable: z.number().int().min(0).max(1).optional(),
    rate: z.number().optional(),
    comment: z.string().optional(),
    /** Node-side state (GET /nodes/{node}/replication). */
    last_sync: timeSchema.optional(),
    fail_count: z.number().int().nonnegative().default(0),
    error: z.string().optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    /** Cluster name; omit for a standalone node (no "cluster" entry in /cluster/status). */
    clusterName: z.string().optional(),
    clusterConfigVersion: z.number().int().positive().default(1),
    /**
     * corosync.conf's totem section as pvecm create writes it (secauth on: AES-256 and
     * SHA-256 on knet), or changed: secauth off and no crypto_* is cluster traffic in the
     * clear. `links`: kronosnet links per node (ring0_addr = the node's ip, ringN_addr on
     * 10.N.0.0/24); one is one network whose failure splits the cluster.
     */
    corosync: z
      .object({
        secauth: z.enum(["on", "off"]).optional().default("on"),
        crypto_cipher: z.string().optional(),
        crypto_hash: z.string().optional(),
        links: z.number().int().min(1).max(8).default(1),
      })
      .strict()
      .default({ secauth: "on", links: 1 }),
    /** The node the simulator answers as (default: first online node). */
    localNode: z.string().optional(),
    nodes: z.array(nodeSchema).min(1),
    storages: z.array(storageSchema).default([]),
    guests: z.array(guestSchema).default([]),
    pools: z.array(z.object({ poolid: z.string(), comment: z.string().optional() }).strict()).default([]),
    users: z.array(userSchema).default([]),
    groups: z
      .array(
        z
          .object({ groupid: z.string(), users: z.array(z.string()), comment: z.string().optional() })
          .strict(),
      )
      .default([]),
    /** Custom roles: name -> privileges (built-in roles are always present). */
    roles: z.record(z.string(), z.array(z.string())).default({}),
    acl: z.array(aclSchema).default([]),
    tasks: z.array(taskSchema).default([]),
    backupJobs: z.array(backupJobSchema).default([]),
    replication: z.array(replicationSchema).default([]),
    clusterFirewall: firewall.default({ options: {}, rules: [], ipsets: [] }),
    /** HA manager state; HA resources come from guests with `ha`. */
    ha: z
      .object({ master: z.string().optional(), quorate: z.boolean().default(true) })
      .strict()
      .default({ quorate: true }),
    /** The three tokens the CLI prints (auditor, admin, root); each must exist under `users`. */
    tokens: z.object({ auditor: z.string(), admin: z.string(), root: z.string() }).strict(),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type NodeSpec = Scenario["nodes"][number];
export type GuestSpec = Scenario["guests"][number];
export type StorageSpec = Scenario["storages"][number];
export type VolumeSpec = StorageSpec["volumes"][number];
export type UserSpec = Scenario["users"][number];
export type TaskSpec = Scenario["tasks"][number];
export type FirewallSpec = z.output<typeof firewall>;

/** Validates a scenario and reports the first problems with their JSON paths. */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues
      .slice(0, 5)
      .map((issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`${source} is not a valid simulator scenario:\n${lines.join("\n")}`);
  }
  const scenario = result.data;
  checkReferences(scenario, source);
  return scenario;
}

export function loadScenarioFile(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read scenario file ${file}: ${(err as Error).message}`);
  }
  return parseScenario(raw, file);
}

/** Cross-references zod cannot see: guests on known nodes, unique ids, tokens that exist. */
function checkReferences(s: Scenario, source: string): void {
  const problems: string[] = [];
  const nodes = new Set(s.nodes.map((n) => n.name));
  const identifiers: [string, (string | number)[]][] = [
    ["node", s.nodes.map((n) => n.name)],
    ["vmid", s.guests.map((g) => g.vmid)],
    ["storage", s.storages.map((st) => st.storage)],
    ["userid", s.users.map((u) => u.userid)],
  ];
  for (const [label, ids] of identifiers) {
    const seen = new Set<string | number>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`duplicate ${label} ${id}`);
      seen.add(id);
    }
  }
  const pools = new Set(s.pools.map((p) => p.poolid));
  for (const g of s.guests) {
    if (!nodes.has(g.node)) problems.push(`guest ${g.vmid} is on unknown node ${g.node}`);
    if (g.pool && !pools.has(g.pool)) problems.push(`guest ${g.vmid} is in unknown pool ${g.pool}`);
  }
  for (const t of s.tasks) if (!nodes.has(t.node)) problems.push(`task on unknown node ${t.node}`);
  if (s.localNode && !nodes.has(s.localNode)) problems.push(`localNode ${s.localNode} is not a node`);
  const tokenIds = new Set(s.users.flatMap((u) => u.tokens.map((t) => `${u.userid}!${t.tokenid}`)));
  for (const [role, id] of Object.entries(s.tokens)) {
    if (!tokenIds.has(id)) problems.push(`tokens.${role} names ${id}, which is not a token of any user`);
  }
  if (problems.length > 0) {
    throw new Error(`${source} is not a valid simulator scenario:\n  ${problems.slice(0, 5).join("\n  ")}`);
  }
}
