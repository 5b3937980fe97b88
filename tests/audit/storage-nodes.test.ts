/**
 * The storage, node and cluster checks: directory storages on /, ZFS pool health and
 * scrubs, LVM thin metadata, weak or self-signed-only certificates, full root
 * filesystems, clusters with an even number of votes. The demo's plants and decoys, the
 * clean cluster with one problem planted at a time, what a token without Sys.Audit is
 * told, and the parsing of zpool's scan line and of a certificate's signature.
 */
import { describe, expect, it } from "vitest";
import { parseScan } from "../../src/audit/checks/storage.js";
import { weakSignature } from "../../src/audit/checks/nodes.js";
import { isGapFinding, runAudit, type AuditReader, type AuditReport } from "../../src/audit/index.js";
import { startSimulator, type TokenCredentials } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { readerFor } from "./reader.js";

const CHECKS = [
  "dir-on-root",
  "zfs-health",
  "zfs-scrub",
  "lvmthin-metadata",
  "cert-weak",
  "rootfs-usage",
  "cluster-even-votes",
];
const GiB = 1024 ** 3;

type Wrap = (reader: AuditReader) => AuditReader;

async function audit(
  scenario: ScenarioInput,
  options: { checks?: string[]; token?: "auditor" | "root" | TokenCredentials; wrap?: Wrap } = {},
): Promise<{ report: AuditReport; paths: string[] }> {
  const sim = await startSimulator({ scenario });
  const token = options.token ?? "auditor";
  const reader = readerFor(sim, typeof token === "string" ? sim.tokens[token] : token);
  try {
    const report = await runAudit(options.wrap ? options.wrap(reader) : reader, {
      checks: options.checks ?? CHECKS,
    });
    return { report, paths: sim.requests().map((r) => r.path) };
  } finally {
    await reader.close();
    await sim.close();
  }
}

const lines = (report: AuditReport) => report.findings.map((f) => `${f.severity} ${f.code} ${f.object}`);
const one = (report: AuditReport, code: string, object: string) => {
  const found = report.findings.filter((f) => f.code === code && f.object === object);
  expect(found, `${code} ${object}`).toHaveLength(1);
  return found[0]!;
};

describe("the demo", () => {
  const DEMO_FINDINGS = [
    "high PVE-STO-004 tank on pve2",
    "high PVE-STO-006 pve/data on pve1",
    "medium PVE-NOD-005 pve-ssl.pem on pve2",
    "medium PVE-NOD-006 pve1",
    "medium PVE-STO-003 vmstore on pve2",
    "low PVE-NOD-005 pveproxy on pve1",
    "low PVE-STO-005 tank on pve1",
  ];

  it.each(["auditor", "root"] as const)("%s token: every plant found, no decoy, no gap", async (token) => {
    const { report } = await audit(structuredClone(demoScenario), { token });
    expect(report.errors).toEqual([]);
    expect([...lines(report)].sort()).toEqual([...DEMO_FINDINGS].sort());
    expect(report.findings.filter(isGapFinding)).toEqual([]);
  });

  it("says what each plant is, in one line each", async () => {
    const { report } = await audit(structuredClone(demoScenario));
    const degraded = one(report, "PVE-STO-004", "tank on pve2");
    expect(degraded.title).toBe("ZFS pool tank on pve2 is DEGRADED");
    expect(degraded.evidence).toMatch(
      /^health DEGRADED; \/dev\/disk\/by-id\/ata-WDC_WD10EFRX-68FYTN0_WD-WCC4J1234567-part1 FAULTED \(too many errors\); One or more devices are faulted/,
    );
    expect(degraded.remediation).toBe(
      "replace the failed disk: zpool replace tank /dev/disk/by-id/ata-WDC_WD10EFRX-68FYTN0_WD-WCC4J1234567-part1 /dev/disk/by-id/<new disk> (on pve2), then watch the resilver with zpool status tank",
    );
    expect(one(report, "PVE-STO-005", "tank on pve1").title).toBe(
      "ZFS pool tank on pve1 has never been scrubbed",
    );
    const metadata = one(report, "PVE-STO-006", "pve/data on pve1");
    expect(metadata.title).toBe("Metadata of thin pool pve/data on pve1 is 88 % full");
    expect(metadata.evidence).toMatch(/^3168 of 3600 MiB metadata used \(data 16 %\)/);
    expect(metadata.remediation).toContain("lvextend --poolmetadatasize +1G pve/data");
    const dir = one(report, "PVE-STO-003", "vmstore on pve2");
    expect(dir.evidence).toMatch(
      /^dir \/srv\/vmstore \(content images,rootdir, no is_mountpoint\) is as large as \/ \(64 GiB\)/,
    );
    expect(dir.remediation).toContain("pvesm set vmstore --is_mountpoint yes");
    const weak = one(report, "PVE-NOD-005", "pve-ssl.pem on pve2");
    expect(weak.title).toBe("Certificate pve-ssl.pem on pve2 has a weak key");
    expect(weak.evidence).toMatch(/^RSA key of 1024 bits \(minimum 2048\); subject /);
    expect(weak.remediation).toContain("rm /etc/pve/nodes/pve2/pve-ssl.key /etc/pve/nodes/pve2/pve-ssl.pem");
    const selfSigned = one(report, "PVE-NOD-005", "pveproxy on pve1");
    expect(selfSigned.evidence).toMatch(
      /^pve-ssl\.pem issued by \/CN=Proxmox Virtual Environment\/OU=.*\/O=PVE Cluster Manager CA, no pveproxy-ssl\.pem/,
    );
    expect(selfSigned.remediation).toContain("pvenode acme cert order");
    const rootfs = one(report, "PVE-NOD-006", "pve1");
    expect(rootfs.title).toBe("Root filesystem of pve1 is 91 % full");
    expect(rootfs.evidence).toMatch(/^85\.5 of 93\.9 GiB used/);
  });

  it("the certificate expiry check still sees only pve2's ACME certificate", async () => {
    const { report } = await audit(structuredClone(demoScenario), { checks: ["cert-expiry"] });
    expect(lines(report)).toEqual(["medium PVE-NOD-001 pveproxy-ssl.pem on pve2"]);
  });
});

describe("directory storages on the root filesystem", () => {
  it("guest content on a dir as large as /: a finding per node; is_mountpoint, ISO-only and disabled ones are not", async () => {
    const s = cleanScenario();
    s.storages!.push(
      {
        storage: "vmstore",
        type: "dir",
        content: "images",
        config: { path: "/srv/vm" },
        total: 100 * GiB,
        used: 12 * GiB,
      },
      // Its own disk, mounted: PVE uses it only while mounted.
      {
        storage: "bigdisk",
        type: "dir",
        content: "images,rootdir",
        config: { path: "/mnt/bigdisk", is_mountpoint: "yes" },
        total: 1800 * GiB,
        used: 200 * GiB,
      },
      // The same size as / but a mount point: trusted.
      {
        storage: "twin",
        type: "dir",
        content: "rootdir",
        config: { path: "/mnt/twin", is_mountpoint: 1 },
        total: 100 * GiB,
        used: 12 * GiB,
      },
      {
        storage: "old",
        type: "dir",
        content: "images",
        disable: 1,
        config: { path: "/srv/old" },
        total: 100 * GiB,
        used: 0,
      },
    );
    const { report } = await audit(s, { checks: ["dir-on-root"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "medium PVE-STO-003 vmstore on pve1",
      "medium PVE-STO-003 vmstore on pve2",
    ]);
    expect(report.findings[0]!.remediation).toBe(
      "mount a disk of its own at /srv/vm and pvesm set vmstore --is_mountpoint yes; or move the guest volumes elsewhere (qm disk move / pct move-volume) and pvesm set vmstore --content iso,vztmpl",
    );
  });
});

describe("ZFS", () => {
  const pool = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    size: 1000 * GiB,
    alloc: 100 * GiB,
    vdevs: [{ name: `/dev/disk/by-id/nvme-${name}-part3` }],
    ...extra,
  });

  it("health: DEGRADED is high, FAULTED and UNAVAIL critical, ONLINE nothing", async () => {
    const s = cleanScenario();
    s.nodes[0]!.zfsPools = [
      pool("rpool"),
      pool("gone", {
        health: "UNAVAIL",
        vdevs: [
          {
            name: "mirror-0",
            state: "UNAVAIL",
            devices: [
              { name: "/dev/sdx", state: "UNAVAIL", msg: "cannot open" },
              { name: "/dev/sdy", state: "UNAVAIL", msg: "cannot open" },
            ],
          },
        ],
      }),
      pool("broken", { health: "FAULTED" }),
    ];
    s.nodes[1]!.zfsPools = [
      pool("tank", {
        health: "DEGRADED",
        vdevs: [
          {
            name: "raidz1-0",
            state: "DEGRADED",
            devices: [{ name: "/dev/sda" }, { name: "/dev/sdb", state: "OFFLINE" }, { name: "/dev/sdc" }],
          },
        ],
      }),
    ];
    const { report } = await audit(s, { checks: ["zfs-health"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "critical PVE-STO-004 broken on pve1",
      "critical PVE-STO-004 gone on pve1",
      "high PVE-STO-004 tank on pve2",
    ]);
    const gone = one(report, "PVE-STO-004", "gone on pve1");
    expect(gone.evidence).toBe(
      "health UNAVAIL; /dev/sdx UNAVAIL (cannot open), /dev/sdy UNAVAIL (cannot open)",
    );
    expect(gone.remediation).toContain("restore its guests from backup");
    expect(one(report, "PVE-STO-004", "tank on pve2").remediation).toContain("zpool replace tank /dev/sdb ");
  });

  it("scrubs: never, old, canceled, paused, with errors and unreadable are findings; recent and running are not", async () => {
    const s = cleanScenario();
    s.nodes[0]!.zfsPools = [
      pool("recent", { scan: { at: "now-20d" } }),
      pool("never", { scan: "none requested" }),
      pool("old", { scan: { at: "now-40d", duration: 90061 } }),
      pool("damaged", {
        scan: { at: "now-3d", repaired: "12K", errors: 4 },
        errors: "4 data errors, use '-v' for a list",
      }),
      pool("resilvered", { scan: { type: "resilver", at: "now-50d" } }),
      pool("running", { scan: { state: "scanning", at: "now-1h" } }),
      pool("canceled", { scan: { state: "canceled", at: "now-2d" } }),
      pool("paused", { scan: { state: "paused", at: "now-5d" } }),
      pool("odd", { scan: "error scrub\u001b[31m repaired 0B on tuesday" }),
    ];
    const { report } = await audit(s, { checks: ["zfs-scrub"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "medium PVE-STO-005 damaged on pve1",
      "low PVE-STO-005 canceled on pve1",
      "low PVE-STO-005 never on pve1",
      "low PVE-STO-005 odd on pve1",
      "low PVE-STO-005 old on pve1",
      "low PVE-STO-005 paused on pve1",
      "low PVE-STO-005 resilvered on pve1",
    ]);
    const damaged = one(report, "PVE-STO-005", "damaged on pve1");
    expect(damaged.title).toBe("The last scrub of ZFS pool damaged on pve1 found 4 error(s)");
    expect(damaged.evidence).toMatch(
      /^scan: scrub repaired 12K in 00:30:21 with 4 errors on \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}; errors: 4 data errors/,
    );
    const old = one(report, "PVE-STO-005", "old on pve1");
    expect(old.title).toBe("ZFS pool old on pve1 was last scrubbed 40 d ago");
    expect(old.evidence).toMatch(/^scan: scrub repaired 0B in 1 days 01:01:01 with 0 errors on /);
    expect(one(report, "PVE-STO-005", "resilvered on pve1").title).toBe(
      "ZFS pool resilvered on pve1 has not been scrubbed since a resilver 50 d ago",
    );
    expect(one(report, "PVE-STO-005", "canceled on pve1").title).toBe(
      "The last scrub of ZFS pool canceled on pve1 was canceled",
    );
    expect(one(report, "PVE-STO-005", "paused on pve1").remediation).toBe(
      "zpool scrub paused (on pve1) resumes it",
    );
    // An unknown scan line is shown as it is, without its control sequence.
    expect(one(report, "PVE-STO-005", "odd on pve1").evidence).toBe(
      "scan: error scrub repaired 0B on tuesday",
    );
  });

  it("one zpool status per pool serves both checks", async () => {
    const s = cleanScenario();
    s.nodes[0]!.zfsPools = [pool("rpool", { health: "DEGRADED" })];
    const { paths } = await audit(s, { checks: ["zfs-health", "zfs-scrub"] });
    expect(paths.filter((p) => p.includes("/disks/zfs"))).toEqual([
      "/nodes/pve1/disks/zfs",
      "/nodes/pve2/disks/zfs",
      "/nodes/pve1/disks/zfs/rpool",
    ]);
  });
});

describe("LVM thin metadata", () => {
  it("more than 80 % of the metadata used is high; a full data area is left to storage-usage", async () => {
    const s = cleanScenario();
    const thin = (lv: string, used: number, metadataUsed: number) => ({
      lv,
      vg: "pve",
      lv_size: 800 * GiB,
      used,
      metadata_size: 8 * GiB,
      metadata_used: Math.floor(metadataUsed),
    });
    s.nodes[0]!.lvmThinPools = [
      thin("data", 120 * GiB, 0.85 * 8 * GiB),
      thin("edge", 120 * GiB, 0.8 * 8 * GiB),
      thin("full", 790 * GiB, 0.1 * 8 * GiB),
    ];
    const { report } = await audit(s, { checks: ["lvmthin-metadata"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual(["high PVE-STO-006 pve/data on pve1"]);
    expect(report.findings[0]!.evidence).toMatch(/^6963 of 8192 MiB metadata used \(data 15 %\)/);
  });

  it("by default the simulator derives a healthy pool from each lvmthin storage", async () => {
    const sim = await startSimulator({ scenario: cleanScenario() });
    const reader = readerFor(sim, sim.tokens.auditor);
    try {
      const pools = await reader.get<Record<string, unknown>[]>("/nodes/{node}/disks/lvmthin", {
        node: "pve1",
      });
      expect(pools).toEqual([
        expect.objectContaining({ lv: "data", vg: "pve", lv_size: 800 * GiB, used: 120 * GiB, lv_type: "t" }),
      ]);
    } finally {
      await reader.close();
      await sim.close();
    }
  });
});

describe("root filesystems", () => {
  it("above 95 % is high, above 85 % medium, 85 % nothing", async () => {
    const s = cleanScenario();
    s.nodes[0]!.rootfsUsed = 96 * GiB;
    s.nodes[1]!.rootfsUsed = 85 * GiB;
    s.nodes.push({
      ...structuredClone(s.nodes[1]!),
      name: "pve3",
      nodeid: 3,
      ip: "192.0.2.13",
      rootfsUsed: 86 * GiB,
    });
    const { report } = await audit(s, { checks: ["rootfs-usage"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual(["high PVE-NOD-006 pve1", "medium PVE-NOD-006 pve3"]);
  });
});

describe("certificates", () => {
  const SHA1_LEAF = [
    "-----BEGIN CERTIFICATE-----",
    "MIIBszCCARwCFAb3z4EwmRXgBeCl169u1O9WFf4oMA0GCSqGSIb3DQEBBQUAMBQx",
    "EjAQBgNVBAMMCUxlZ2FjeSBDQTAeFw0yNjEyMDYwNTM1MjJaFw0zNjEyMDMwNTM1",
    "MjJaMB0xGzAZBgNVBAMMEnB2ZTEuY2xlYW4uZXhhbXBsZTCBnzANBgkqhkiG9w0B",
    "AQEFAAOBjQAwgYkCgYEA2lXyatDuNgceg/khZ40jcVvE18RwT9XZqncQBnxC77UN",
    "Dqchs4Pq06RK/REaP68NUUPIetyxbHtKerMKvpZjQNlfPBg9H25fUXGhT15aC1AS",
    "SFki9a1d7s9RcdfrGzEL1LE4PneSAdXv4Mf8OzdkpO/72chIIAtg6QSIS1HRFZkC",
    "AwEAATANBgkqhkiG9w0BAQUFAAOBgQAgtV2Om3+qtcFjRqppX87kx+nfCwbVFjOQ",
    "qSMHmyPXxTy8etui7rT+7g00wszwNeZpkGvSnM59xkULoAhRTcBIHqY1ywxdNRwb",
    "wTdjP1fQvdP3Hr1seTtQuxSRJSQ4Dd5Ig0RXYvbP45jAFbH0aAzQkfiH5Mtlchho",
    "nv/Q4gu7iQ==",
    "-----END CERTIFICATE-----",
  ].join("\n");

  it("a weak node key (medium) and a node serving only the cluster CA's certificate (low)", async () => {
    const s = cleanScenario();
    s.nodes[1]!.certificates = { ...s.nodes[1]!.certificates, nodeKeyBits: 1024 };
    delete s.nodes[0]!.certificates;
    const { report } = await audit(s, { checks: ["cert-weak", "cert-expiry"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "medium PVE-NOD-005 pve-ssl.pem on pve2",
      "low PVE-NOD-005 pveproxy on pve1",
    ]);
    expect(one(report, "PVE-NOD-005", "pveproxy on pve1").title).toBe(
      "pve1 serves only the self-signed certificate of the cluster CA",
    );
  });

  it("a certificate signed with SHA-1 (PVE sends the PEM; the simulator signs with SHA-256 only)", async () => {
    const wrap: Wrap = (reader) => ({
      async get<T>(...args: Parameters<AuditReader["get"]>): Promise<T> {
        const data = await reader.get<T>(...args);
        if (args[0] !== "/nodes/{node}/certificates/info" || args[1]?.["node"] !== "pve1") return data;
        return (data as Record<string, unknown>[]).map((c) =>
          c["filename"] === "pveproxy-ssl.pem" ? { ...c, pem: SHA1_LEAF, "public-key-bits": 2048 } : c,
        ) as T;
      },
    });
    const { report } = await audit(cleanScenario(), { checks: ["cert-weak"], wrap });
    expect(lines(report)).toEqual(["medium PVE-NOD-005 pveproxy-ssl.pem on pve1"]);
    expect(report.findings[0]!.title).toBe("Certificate pveproxy-ssl.pem on pve1 has a SHA-1 signature");
    expect(report.findings[0]!.evidence).toMatch(/^signed with SHA-1; subject \/CN=pve1\.clean\.example/);
  });

  it("reads the signature algorithm of a certificate's DER, and nothing from a broken one", () => {
    expect(weakSignature(SHA1_LEAF)).toBe("SHA-1");
    expect(weakSignature(SHA1_LEAF.replace("MIIBszCC", "MIIBszDD"))).toBeUndefined();
    expect(weakSignature(SHA1_LEAF.split("\n").slice(0, 4).join("\n"))).toBeUndefined();
    expect(weakSignature("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----")).toBeUndefined();
    expect(weakSignature(undefined)).toBeUndefined();
  });
});

describe("even number of votes", () => {
  const extraNode = (s: ScenarioInput, name: string, nodeid: number) => ({
    ...structuredClone(s.nodes[1]!),
    name,
    nodeid,
    ip: `192.0.2.${10 + nodeid}`,
  });

  it("two nodes with a connected QDevice: nothing (the clean cluster)", async () => {
    const { report, paths } = await audit(cleanScenario(), { checks: ["cluster-even-votes"] });
    expect(report.findings).toEqual([]);
    expect(paths).toContain("/cluster/config/qdevice");
  });

  it("two nodes without a QDevice: medium", async () => {
    const s = cleanScenario();
    delete s.qdevice;
    const { report } = await audit(s, { checks: ["cluster-even-votes"] });
    expect(lines(report)).toEqual(["medium PVE-CLU-007 cluster clean"]);
    expect(report.findings[0]!.title).toBe("Cluster clean has 2 votes on 2 nodes and no working QDevice");
    expect(report.findings[0]!.evidence).toMatch(
      /^no QDevice: quorum needs 2 of 2 votes; when either node or the link between them fails, the other loses quorum too/,
    );
    expect(report.findings[0]!.remediation).toContain("pvecm qdevice setup <qnetd host IP>");
  });

  it("a QDevice that is not connected counts as none", async () => {
    const s = cleanScenario();
    s.qdevice = { host: "192.0.2.60", state: "Disconnected" };
    const { report } = await audit(s, { checks: ["cluster-even-votes"] });
    expect(report.findings[0]!.evidence).toMatch(/^QDevice 192\.0\.2\.60:5403 in state Disconnected: /);
  });

  it("four nodes without a QDevice: low; three: nothing", async () => {
    const four = cleanScenario();
    delete four.qdevice;
    four.nodes.push(extraNode(four, "pve3", 3), extraNode(four, "pve4", 4));
    const { report } = await audit(four, { checks: ["cluster-even-votes"] });
    expect(lines(report)).toEqual(["low PVE-CLU-007 cluster clean"]);
    expect(report.findings[0]!.evidence).toContain("a split into two halves of 2 votes");

    const three = cleanScenario();
    delete three.qdevice;
    three.nodes.push(extraNode(three, "pve3", 3));
    expect((await audit(three, { checks: ["cluster-even-votes"] })).report.findings).toEqual([]);
  });

  it("a standalone node: nothing, and no corosync read", async () => {
    const s = cleanScenario();
    delete s.clusterName;
    delete s.qdevice;
    const { report, paths } = await audit(s, { checks: ["cluster-even-votes"] });
    expect(report.findings).toEqual([]);
    expect(paths.filter((p) => p.includes("/cluster/config"))).toEqual([]);
  });
});

describe("visibility", () => {
  it("a token without Sys.Audit is told what it could not check (one finding per gap, whichever checks hit it)", async () => {
    const s = cleanScenario();
    const limited = { id: "limited@pve!tk", secret: "55555555-5555-4555-8555-555555555555" };
    s.users!.push({ userid: "limited@pve", tokens: [{ tokenid: "tk", secret: limited.secret, privsep: 0 }] });
    s.roles = { ...s.roles, GuestsAndStorage: ["VM.Audit", "Datastore.Audit"] };
    s.acl!.push({ path: "/", ugid: "limited@pve", roleid: "GuestsAndStorage" });
    const { report } = await audit(s, { token: limited });
    expect(report.errors).toEqual([]);
    const gaps = report.findings
      .filter(isGapFinding)
      .map((f) => `${f.check}: ${f.object} | ${f.title.split(": needs ")[1]}`);
    expect(gaps.sort()).toEqual([
      "cluster-even-votes: the corosync configuration | Sys.Audit on /",
      "lvmthin-metadata: the LVM thin pools (lvs) | Sys.Audit on /",
      "rootfs-usage: the root filesystem of pve1, pve2 | Sys.Audit on /nodes/{node}",
      "zfs-health: the ZFS pools (zpool list, zpool status) | Sys.Audit on /",
    ]);
    // Certificate info is open to every token: still checked, and clean.
    expect(report.findings.filter((f) => !isGapFinding(f))).toEqual([]);
  });

  it("dir-on-root states the storages PVE leaves out without Datastore.Audit", async () => {
    const s = cleanScenario();
    s.storages!.push({
      storage: "vmstore",
      type: "dir",
      content: "images",
      config: { path: "/srv/vm" },
      total: 100 * GiB,
      used: 12 * GiB,
    });
    const limited = { id: "nostore@pve!tk", secret: "66666666-6666-4666-8666-666666666666" };
    s.users!.push({ userid: "nostore@pve", tokens: [{ tokenid: "tk", secret: limited.secret, privsep: 0 }] });
    s.roles = { ...s.roles, NodesOnly: ["Sys.Audit"] };
    s.acl!.push({ path: "/", ugid: "nostore@pve", roleid: "NodesOnly" });
    const { report } = await audit(s, { checks: ["dir-on-root"], token: limited });
    expect(report.findings.map((f) => f.object)).toEqual([
      "storages this token may not see (PVE lists only storages with Datastore.Audit)",
    ]);
  });
});

describe("zpool's scan line", () => {
  it.each([
    ["none requested", { kind: "none" }],
    [
      "scrub repaired 0B in 00:10:21 with 0 errors on Sun Nov  9 00:34:22 2025",
      { kind: "finished", type: "scrub", errors: 0, at: Date.UTC(2025, 10, 9, 0, 34, 22) / 1000 },
    ],
    [
      "resilvered 1.21G in 1 days 00:02:11 with 2 errors on Tue Dec 30 23:59:59 2025",
      { kind: "finished", type: "resilver", errors: 2, at: Date.UTC(2025, 11, 30, 23, 59, 59) / 1000 },
    ],
    [
      "scrub in progress since Sun Nov  9 00:24:01 2025 1.10T / 1.62T scanned at 512M/s, 0B repaired, 62.96% done",
      { kind: "running" },
    ],
    [
      "scrub canceled on Mon Jan  5 10:00:00 2026",
      { kind: "stopped", type: "scrub", how: "canceled", at: Date.UTC(2026, 0, 5, 10) / 1000 },
    ],
    ["scrub repaired 0B in 00:10:21 with 0 errors on 2025-11-09", { kind: "unknown" }],
    ["", { kind: "unknown" }],
  ])("%j", (scan, parsed) => {
    expect(parseScan(scan)).toEqual(parsed);
  });
});
