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

/** A repository file proxmox-apt reads: /etc/apt/sources.list or a .list/.sources file in sources.list.d. */
const APT_SOURCES_PATH =
  /^\/etc\/apt\/(?:sources\.list|sources\.list\.d\/[A-Za-z0-9_.-]+\.(?:list|sources))$/;

/** One entry of an APT repository file; a one-line `.list` entry has one type, URI and suite. */
const aptRepository = z
  .object({
    path: z
      .string()
      .regex(APT_SOURCES_PATH, "a path in /etc/apt: sources.list or sources.list.d/*.list|sources"),
    types: z
      .array(z.enum(["deb", "deb-src"]))
      .min(1)
      .default(["deb"]),
    uris: z.array(z.string().min(1)).min(1),
    suites: z.array(z.string().min(1)).min(1),
    components: z.array(z.string().min(1)).default([]),
    enabled: z.boolean().default(true),
    comment: z.string().optional(),
  })
  .strict()
  .refine(
    (r) =>
      r.path.endsWith(".sources") || (r.types.length === 1 && r.uris.length === 1 && r.suites.length === 1),
    {
      message: "a one-line .list entry has one type, one URI and one suite",
    },
  );

/** A Proxmox kernel release as `uname -r` prints it. */
export const KERNEL_RELEASE = /^(\d+)\.(\d+)\.(\d+)-(\d+)-pve$/;

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
    /** RSA key size of pve-ssl.pem (default 2048, what pvecm updatecerts makes). */
    nodeKeyBits: z.number().int().min(512).max(8192).optional(),
  })
  .strict();

/** A device of a ZFS vdev as `zpool status -P` lists it (error counters, the message after them). */
const zfsDevice = z
  .object({
    name: z.string(),
    state: z.string().default("ONLINE"),
    read: z.number().nonnegative().default(0),
    write: z.number().nonnegative().default(0),
    cksum: z.number().nonnegative().default(0),
    msg: z.string().default(""),
  })
  .strict();

/** The last scrub or resilver of a pool, printed the way `zpool status` writes its "scan:" line. */
const zfsScan = z
  .object({
    type: z.enum(["scrub", "resilver"]).default("scrub"),
    state: z.enum(["finished", "canceled", "scanning", "paused"]).default("finished"),
    /** When it ended (finished, canceled) or started (scanning, paused). */
    at: timeSchema,
    repaired: z.string().default("0B"),
    /** How long a finished one took, in seconds. */
    duration: z.number().int().nonnegative().default(1821),
    errors: z.number().int().nonnegative().default(0),
  })
  .strict();

const zfsPool = z
  .object({
    name: z.string(),
    health: z
      .enum(["ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "REMOVED", "UNAVAIL", "SUSPENDED"])
      .default("ONLINE"),
    size: z.number().int().nonnegative(),
    alloc: z.number().int().nonnegative(),
    frag: z.number().int().min(0).max(100).default(3),
    dedup: z.number().positive().default(1),
    /**
     * The scan, or zpool's "scan:" text verbatim ("none requested": never scrubbed). Left
     * out: a clean scrub 10 days ago, as zfsutils-linux's monthly cron job runs one.
     */
    scan: z.union([z.string(), zfsScan]).optional(),
    /** zpool status' status, action and see lines of an unhealthy pool. */
    status: z.string().optional(),
    action: z.string().optional(),
    see: z.string().optional(),
    errors: z.string().default("No known data errors"),
    /** Top-level vdevs: a mirror or raidz with its devices, or a single device (no devices). */
    vdevs: z.array(zfsDevice.extend({ devices: z.array(zfsDevice).default([]) }).strict()).default([]),
  })
  .strict();

/** An LVM thin pool as GET /nodes/{node}/disks/lvmthin lists it (sizes in bytes). */
const lvmThinPool = z
  .object({
    lv: z.string(),
    vg: z.string(),
    lv_size: z.number().int().positive(),
    used: z.number().int().nonnegative(),
    metadata_size: z.number().int().positive(),
    metadata_used: z.number().int().nonnegative(),
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
     * are always there (the security one as `aptDebianSecurity` says). Left out entirely: a
     * fresh install, whose PVE and Ceph enterprise repositories are enabled.
     */
    aptRepositories: z.partialRecord(z.enum(APT_REPOSITORY_HANDLES), z.boolean()).optional(),
    /**
     * Debian's security repository (security.debian.org, suite <codename>-security) in the
     * installer's Debian file: "enabled" as installed, "disabled" (its line commented out,
     * or Enabled: false) or "absent" (removed).
     */
    aptDebianSecurity: z.enum(["enabled", "disabled", "absent"]).default("enabled"),
    /**
     * Entries of /etc/apt beyond the installer's and Proxmox's standard ones, each appended
     * to the file at `path` (created if new): lines of an older release left after an
     * upgrade, a local mirror... PVE reports their suites as proxmox-apt checks them.
     */
    aptExtraRepositories: z.array(aptRepository).default([]),
    /**
     * Kernels installed besides the running one (`kernel`), as releases ("6.17.2-1-pve"):
     * GET /nodes/{node}/apt/versions lists each as proxmox-kernel-<release>-signed. One newer
     * than the running kernel is a reboot not yet done. Default: only the running kernel.
     */
    installedKernels: z
      .array(z.string().regex(KERNEL_RELEASE, 'a kernel release like "6.17.2-1-pve"'))
      .default([]),
    disks: z.array(disk).default([]),
    /** ZFS pools (none on an ext4/LVM install). */
    zfsPools: z.array(zfsPool).default([]),
    /**
     * LVM thin pools. Left out: one per lvmthin storage on the node, as the installer makes
     * it (the storage's size and usage, metadata 1 % of the pool and lightly used).
     */
    lvmThinPools: z.array(lvmThinPool).optional(),
    /** Entries as GET /nodes/{node}/network returns them (iface, type, active, ...). */
    network: z
      .array(z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())])))
      .default([]),
    firewall: firewall.default({ options: {}, rules: [], ipsets: [] }),
    /** Lines of GET /nodes/{node}/syslog, oldest first. */
    syslog: z.array(z.string()).default([]),
    /**
     * The node's /etc/vzdump.conf (GET /nodes/{node}/vzdump/defaults): what a backup job
     * leaves unset falls back to it (prune-backups, mailto, notification-mode, ...).
     */
    vzdumpConf: z.record(z.string(), configValue).default({}),
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

/** domains.cfg's tfa option (pve-tfa-config): each key once, `type` required, as parse_property_string takes it. */
const REALM_TFA_KEYS: Record<string, RegExp> = {
  type: /^(?:oath|yubico)$/,
  id: /^.+$/,
  key: /^.+$/,
  url: /^.+$/,
  digits: /^[678]$/,
  step: /^[1-9]\d+$/,
};

function isRealmTfa(value: string): boolean {
  const seen = new Set<string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, Math.max(eq, 0));
    if (eq < 1 || seen.has(key) || !REALM_TFA_KEYS[key]?.test(part.slice(eq + 1))) return false;
    seen.add(key);
  }
  return seen.has("type");
}

/** Options only a directory realm (ldap, ad) has, and those only openid has (pve-access-control's Auth plugins). */
const DIRECTORY_KEYS = [
  "server1",
  "server2",
  "port",
  "mode",
  "secure",
  "verify",
  "capath",
  "sslversion",
  "base_dn",
  "bind_dn",
  "user_attr",
  "domain",
  "case-sensitive",
] as const;
const OPENID_KEYS = ["issuer-url", "client-id"] as const;
/** What each realm type's options() does not mark optional. */
const REQUIRED_REALM_KEYS: Record<string, readonly string[]> = {
  ldap: ["server1", "base_dn", "user_attr"],
  ad: ["server1", "domain"],
  openid: ["issuer-url", "client-id"],
};

/**
 * A section of domains.cfg. The built-in pam and pve realms always exist; list them only
 * to set their comment, default or tfa.
 */
const realmSchema = z
  .object({
    realm: z
      .string()
      .max(32)
      .regex(
        /^[A-Za-z][A-Za-z0-9.\-_]+$/,
        "realm ids start with a letter, then at least one of A-Z a-z 0-9 . - _",
      ),
    type: z.enum(["pam", "pve", "ldap", "ad", "openid"]),
    comment: z.string().optional(),
    default: z.number().int().min(0).max(1).optional(),
    /** Enforced second factor for every user of the realm, e.g. "type=oath,digits=6" or "type=yubico,id=...". */
    tfa: z
      .string()
      .max(128)
      .refine(isRealmTfa, 'a tfa option like "type=oath" or "type=yubico,id=1,key=k"')
      .optional(),
    server1: z.string().max(256).optional(),
    server2: z.string().max(256).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** ldap (PVE's default: plain text), ldaps or ldap+starttls; older configs say `secure` instead. */
    mode: z.enum(["ldap", "ldaps", "ldap+starttls"]).optional(),
    secure: z.number().int().min(0).max(1).optional(),
    /** Whether the server's certificate is checked (PVE's default 0). */
    verify: z.number().int().min(0).max(1).optional(),
    capath: z.string().optional(),
    sslversion: z.enum(["tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3"]).optional(),
    base_dn: z.string().max(256).optional(),
    bind_dn: z.string().max(256).optional(),
    user_attr: z.string().max(256).optional(),
    domain: z.string().max(256).optional(),
    "case-sensitive": z.number().int().min(0).max(1).optional(),
    "issuer-url": z.string().max(256).optional(),
    "client-id": z.string().max(256).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const builtin = r.realm === "pam" || r.realm === "pve";
    if (builtin !== (r.type === "pam" || r.type === "pve") || (builtin && r.type !== r.realm)) {
      ctx.addIssue({
        code: "custom",
        path: ["type"],
        message: "only the realms pam and pve have the types pam and pve",
      });
    }
    const foreign = [
      ...(r.type === "ldap" || r.type === "ad" ? [] : DIRECTORY_KEYS),
      ...(r.type === "openid" ? [] : OPENID_KEYS),
    ].filter((key) => r[key] !== undefined);
    const missing = (REQUIRED_REALM_KEYS[r.type] ?? []).filter(
      (key) => r[key as keyof typeof r] === undefined,
    );
    for (const key of foreign)
      ctx.addIssue({ code: "custom", path: [key], message: `not an option of a ${r.type} realm` });
    for (const key of missing)
      ctx.addIssue({ code: "custom", path: [key], message: `required for a ${r.type} realm` });
  });

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
    /** Legacy mail recipients (addresses, comma-separated). */
    mailto: z.string().optional(),
    mailnotification: z.enum(["always", "failure"]).optional(),
    "repeat-missed": z.number().int().min(0).max(1).optional(),
    "next-run": timeSchema.optional(),
  })
  .strict();

/** notifications.cfg entries; `disable` and `invert-match` are booleans, as PVE returns them. */
const notificationEntry = {
  name: z.string(),
  comment: z.string().optional(),
  disable: z.boolean().optional(),
};

const mailRecipients = {
  mailto: z.array(z.string()).optional(),
  "mailto-user": z.array(z.string()).optional(),
  author: z.string().optional(),
};

const notificationsSchema = z
  .object({
    matchers: z
      .array(
        z
          .object({
            ...notificationEntry,
            mode: z.enum(["all", "any"]).optional(),
            "invert-match": z.boolean().optional(),
            /** Each entry a comma list of info, notice, warning, error, unknown. */
            "match-severity": z.array(z.string()).optional(),
            /** Each entry `exact:<field>=<v1,v2>` or `regex:<field>=<regex>`. */
            "match-field": z.array(z.string()).optional(),
            "match-calendar": z.array(z.string()).optional(),
            target: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .default([]),
    sendmail: z
      .array(
        z.object({ ...notificationEntry, ...mailRecipients, "from-address": z.string().optional() }).strict(),
      )
      .default([]),
    smtp: z
      .array(
        z
          .object({
            ...notificationEntry,
            ...mailRecipients,
            server: z.string(),
            "from-address": z.string(),
            port: z.number().int().optional(),
            mode: z.enum(["insecure", "starttls", "tls"]).optional(),
            username: z.string().optional(),
            /** Never returned by any endpoint (notifications.cfg keeps it in priv/). */
            password: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    gotify: z
      .array(
        z
          .object({
            ...notificationEntry,
            server: z.string(),
            /** Never returned by any endpoint. */
            token: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    webhook: z
      .array(
        z.object({ ...notificationEntry, url: z.string(), method: z.enum(["post", "put", "get"]) }).strict(),
      )
      .default([]),
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
    /** A corosync QDevice (pvecm qdevice setup <host>): the external vote of an even-sized cluster. */
    qdevice: z
      .object({ host: z.string(), state: z.string().default("Connected") })
      .strict()
      .optional(),
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
    /** Authentication realms (domains.cfg) beyond, or settings of, the built-in pam and pve. */
    realms: z.array(realmSchema).default([]),
    /** Custom roles: name -> privileges (built-in roles are always present). */
    roles: z.record(z.string(), z.array(z.string())).default({}),
    acl: z.array(aclSchema).default([]),
    tasks: z.array(taskSchema).default([]),
    backupJobs: z.array(backupJobSchema).default([]),
    /**
     * notifications.cfg. PVE's built-ins always exist (sendmail target mail-to-root, to
     * root@pam's email; default-matcher, routing everything there); an entry of the same
     * name replaces one (origin modified-builtin).
     */
    notifications: notificationsSchema.default({
      matchers: [],
      sendmail: [],
      smtp: [],
      gotify: [],
      webhook: [],
    }),
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
export type RealmSpec = Scenario["realms"][number];
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
    ["realm", s.realms.map((r) => r.realm)],
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
