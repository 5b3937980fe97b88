/**
 * The update and repository checks: entries of an older Debian release left by an upgrade,
 * no Debian security repository, test repositories, nodes on different versions, a newer
 * kernel installed than the one running. Against the demo (each planted problem and its
 * decoy) and variations of the clean cluster; a token without Sys.Audit on the nodes gets
 * gaps, never a silent pass.
 */
import { describe, expect, it } from "vitest";
import { isGapFinding, runAudit, type AuditReport } from "../../src/audit/index.js";
import { startSimulator, type SimulatorOptions } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { readerFor } from "./reader.js";

const CHECKS = ["apt-old-suite", "apt-no-security", "apt-test-repo", "version-skew", "kernel-reboot"];

async function auditOf(
  scenario: ScenarioInput,
  options: { token?: { id: string; secret: string }; checks?: string[] } & Omit<
    SimulatorOptions,
    "scenario"
  > = {},
): Promise<{ report: AuditReport; paths: string[] }> {
  const { token, checks = CHECKS, ...simOptions } = options;
  const sim = await startSimulator({ ...simOptions, scenario });
  const reader = readerFor(sim, token ?? sim.tokens.auditor);
  try {
    const report = await runAudit(reader, { checks });
    return { report, paths: sim.requests().map((r) => r.path) };
  } finally {
    await reader.close();
    await sim.close();
  }
}

const lines = (report: AuditReport) =>
  report.findings.map((f) => `${f.code} ${f.severity} ${f.object}: ${f.title}`);
const gaps = (report: AuditReport) =>
  report.findings.filter(isGapFinding).map((f) => `${f.check} ${f.title}`);

describe("the demo, with the auditor token (PVEAuditor)", () => {
  it("finds each planted problem and none of the decoys, without a gap", async () => {
    const { report, paths } = await auditOf(structuredClone(demoScenario), {
      checks: [...CHECKS, "subscription"],
    });
    expect(report.errors).toEqual([]);
    expect(gaps(report)).toEqual([]);
    expect(lines(report)).toEqual([
      "PVE-UPD-005 high pve2: No Debian security repository is enabled on pve2",
      "PVE-UPD-004 medium /etc/apt/sources.list on pve2: /etc/apt/sources.list on pve2 has enabled entries for bookworm (the node runs trixie)",
      "PVE-UPD-006 medium test repository on pve1: Test repository enabled on pve1",
      "PVE-UPD-008 medium pve1: pve1 runs kernel 6.14.11-4-pve, but 6.17.2-1-pve is installed: a reboot is pending",
      "PVE-UPD-007 medium pve1: pve1 runs kernel series 6.14, behind 6.17 on pve2",
    ]);
    const [security, oldSuite, test, reboot, skew] = report.findings;
    expect(security!.evidence).toBe(
      "only bookworm-security (an older release's) is enabled, in /etc/apt/sources.list; no trixie-security: Debian's security fixes (openssl, openssh, the C library...) never arrive on this node",
    );
    expect(security!.remediation).toBe(
      "change bookworm-security to trixie-security in /etc/apt/sources.list on pve2, then apt update",
    );
    expect(oldSuite!.evidence).toBe(
      "3 enabled entries of an older release: http://ftp.debian.org/debian bookworm main contrib; http://ftp.debian.org/debian bookworm-updates main contrib; http://security.debian.org bookworm-security main contrib; apt mixes two Debian releases' packages",
    );
    expect(oldSuite!.remediation).toBe(
      "on pve2: sed -i 's/\\bbookworm\\b/trixie/g' /etc/apt/sources.list (or delete those entries if trixie ones are configured elsewhere), then apt update",
    );
    expect(test!.evidence).toBe(
      "enabled in /etc/apt/sources.list.d/proxmox.sources (http://download.proxmox.com/debian/pve trixie pve-test): Proxmox VE packages before they reach no-subscription or enterprise, not meant for production",
    );
    expect(test!.remediation).toContain(
      'disable it in pve1 > Updates > Repositories (or add "Enabled: false" to its entry in /etc/apt/sources.list.d/proxmox.sources), then apt update',
    );
    expect(reboot!.evidence).toBe(
      "running 6.14.11-4-pve; installed 6.17.2-1-pve, 6.14.11-4-pve: the newer kernel's fixes take effect only after a reboot",
    );
    expect(reboot!.remediation).toMatch(/^migrate or shut down the guests on pve1, then reboot it/);
    // Both nodes run pve-manager 9.1.9: only the kernels differ, and pve1 has 6.17 installed.
    expect(skew!.evidence).toBe(
      "kernel pve1=6.14.11-4-pve, pve2=6.17.2-1-pve: migrating guests from a newer node to an older one is not supported, and the nodes behave differently",
    );
    expect(skew!.remediation).toBe(
      "reboot pve1 into its installed 6.17 kernel (migrate its guests away first)",
    );
    // The decoys: pve1's commented-out bookworm lines, its security mirror; pve2's disabled
    // pvetest and older kernel beside the running one; offline pve3 (9.0.10) never asked.
    expect(report.findings.map((f) => f.object)).not.toContain("/etc/apt/sources.list on pve1");
    expect(paths.filter((p) => p.startsWith("/nodes/pve3/"))).toEqual([]);
    // One read per node per run, whichever checks share it (the subscription check too).
    for (const path of ["/nodes/pve1/apt/repositories", "/nodes/pve2/apt/versions", "/nodes/pve1/version"]) {
      expect(paths.filter((p) => p === path)).toHaveLength(1);
    }
  });

  it("a token without Sys.Audit on the nodes: a gap per read (merged across checks), pve-manager versions still compared", async () => {
    const scenario = testScenario();
    scenario.nodes[1]!.pveManager = "9.0.10";
    const { report } = await auditOf(scenario, { token: TEST_TOKENS.vmAuditOnly });
    expect(report.errors).toEqual([]);
    // One finding per gap, attributed to the first check (by id) that hit it.
    expect(gaps(report)).toEqual([
      "apt-no-security Could not check the update repositories of pve1, pve2: needs Sys.Audit on /nodes/{node}",
      "kernel-reboot Could not check the kernels of pve1, pve2: needs Sys.Audit on /nodes/{node}",
    ]);
    const skew = report.findings.filter((f) => !isGapFinding(f));
    expect(lines({ ...report, findings: skew })).toEqual([
      "PVE-UPD-007 medium pve2: pve2 runs pve-manager 9.0.10, behind 9.1.9 on pve1",
    ]);
    expect(skew[0]!.evidence).toMatch(/^pve-manager pve1=9\.1\.9, pve2=9\.0\.10: /);
  });
});

describe("version-skew", () => {
  const only = { checks: ["version-skew"] };

  it("identical versions and kernels: nothing (the clean cluster)", async () => {
    const { report } = await auditOf(cleanScenario(), only);
    expect(report.findings).toEqual([]);
    expect(report.errors).toEqual([]);
  });

  it("a lagging node, pve-manager and kernel series both: one finding, the upgrade as the fix", async () => {
    const s = cleanScenario();
    Object.assign(s.nodes[1]!, { pveManager: "9.0.10", kernel: "6.14.11-4-pve" });
    const { report } = await auditOf(s, only);
    expect(lines(report)).toEqual([
      "PVE-UPD-007 medium pve2: pve2 runs pve-manager 9.0.10, behind 9.1.9 on pve1, and kernel series 6.14",
    ]);
    expect(report.findings[0]!.evidence).toMatch(
      /^pve-manager pve1=9\.1\.9, pve2=9\.0\.10; kernel pve1=6\.17\.2-1-pve, pve2=6\.14\.11-4-pve: /,
    );
    expect(report.findings[0]!.remediation).toBe(
      "apt update && apt full-upgrade on pve2 (one node at a time, its guests migrated away first), then reboot it if a new kernel came",
    );
  });

  it("versions compare numerically (9.1.10 is newer than 9.1.9); an offline node is skipped", async () => {
    const s = cleanScenario();
    s.nodes[0]!.pveManager = "9.1.10";
    s.nodes.push({
      name: "pve3",
      nodeid: 3,
      ip: "192.0.2.13",
      online: false,
      pveManager: "8.4.14",
      memTotal: 1024 ** 3,
      memUsed: 0,
      rootfsTotal: 1024 ** 3,
      rootfsUsed: 0,
    });
    const { report } = await auditOf(s, only);
    expect(lines(report)).toEqual([
      "PVE-UPD-007 medium pve2: pve2 runs pve-manager 9.1.9, behind 9.1.10 on pve1",
    ]);
  });

  it("an older kernel series without the newer one installed: install it, then reboot", async () => {
    const s = cleanScenario();
    s.nodes[1]!.kernel = "6.14.11-4-pve";
    const { report } = await auditOf(s, only);
    expect(lines(report)).toEqual([
      "PVE-UPD-007 medium pve2: pve2 runs kernel series 6.14, behind 6.17 on pve1",
    ]);
    expect(report.findings[0]!.remediation).toBe(
      "install the 6.17 kernel on pve2 (apt update && apt full-upgrade, or apt install proxmox-kernel-6.17 if it is an opt-in kernel), then reboot it with its guests migrated away",
    );
  });
});

describe("kernel-reboot", () => {
  const only = { checks: ["kernel-reboot"] };

  it("kernel versions compare numerically: 6.8.12-10 installed beside a running 6.8.12-4 is pending; the reverse is not", async () => {
    const s = cleanScenario();
    Object.assign(s.nodes[0]!, { kernel: "6.8.12-4-pve", installedKernels: ["6.8.12-10-pve"] });
    Object.assign(s.nodes[1]!, {
      kernel: "6.8.12-10-pve",
      installedKernels: ["6.8.12-4-pve", "6.8.12-9-pve"],
    });
    const { report } = await auditOf(s, only);
    expect(lines(report)).toEqual([
      "PVE-UPD-008 medium pve1: pve1 runs kernel 6.8.12-4-pve, but 6.8.12-10-pve is installed: a reboot is pending",
    ]);
  });
});

describe("apt-no-security", () => {
  const only = { checks: ["apt-no-security"] };

  it("disabled in place: enable it; removed: add it back, in the form of the release", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptDebianSecurity = "disabled";
    s.nodes[1]!.aptDebianSecurity = "absent";
    const { report } = await auditOf(s, only);
    expect(lines(report)).toEqual([
      "PVE-UPD-005 high pve1: No Debian security repository is enabled on pve1",
      "PVE-UPD-005 high pve2: No Debian security repository is enabled on pve2",
    ]);
    const [disabled, absent] = report.findings;
    expect(disabled!.evidence).toMatch(
      /^the trixie-security entry in \/etc\/apt\/sources\.list\.d\/debian\.sources is disabled: /,
    );
    expect(disabled!.remediation).toBe(
      'pve1 > Updates > Repositories: select that entry of /etc/apt/sources.list.d/debian.sources and Enable (or remove "Enabled: false" from its entry in /etc/apt/sources.list.d/debian.sources), then apt update',
    );
    expect(absent!.evidence).toMatch(/^no enabled entry with suite trixie-security in \/etc\/apt: /);
    expect(absent!.remediation).toContain('"Suites: trixie-security"');
  });

  it("PVE 8 (bookworm): the one-line form; a security entry with the wrong suffix does not count", async () => {
    const s = cleanScenario();
    for (const node of s.nodes) node.pveManager = "8.4.14";
    s.nodes[0]!.aptDebianSecurity = "absent";
    s.nodes[1]!.aptDebianSecurity = "absent";
    s.nodes[1]!.aptExtraRepositories = [
      {
        path: "/etc/apt/sources.list",
        uris: ["http://security.debian.org/debian-security"],
        suites: ["bookworm/updates"],
        components: ["main"],
      },
    ];
    const { report } = await auditOf(s, { ...only, pve: 8 });
    expect(lines(report)).toEqual([
      "PVE-UPD-005 high pve1: No Debian security repository is enabled on pve1",
      "PVE-UPD-005 high pve2: No Debian security repository is enabled on pve2",
    ]);
    expect(report.findings[0]!.remediation).toBe(
      "on pve1: echo 'deb http://security.debian.org/debian-security bookworm-security main contrib non-free-firmware' >> /etc/apt/sources.list && apt update",
    );
  });
});

describe("apt-test-repo and apt-old-suite", () => {
  it("Ceph's test repository, a mirror of pvetest, Debian's next release and sid; several old suites in one file", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptRepositories = { enterprise: true, "ceph-squid-test": true };
    s.nodes[0]!.aptExtraRepositories = [
      {
        path: "/etc/apt/sources.list.d/mirror.sources",
        uris: ["http://mirror.lan/proxmox/pve"],
        suites: ["trixie"],
        components: ["pve-test"],
      },
      {
        path: "/etc/apt/sources.list.d/next.list",
        uris: ["http://deb.debian.org/debian"],
        suites: ["forky"],
      },
      { path: "/etc/apt/sources.list.d/next.list", uris: ["http://deb.debian.org/debian"], suites: ["sid"] },
    ];
    s.nodes[1]!.aptExtraRepositories = [
      {
        path: "/etc/apt/sources.list.d/old.list",
        uris: ["http://deb.debian.org/debian"],
        suites: ["bullseye"],
      },
      {
        path: "/etc/apt/sources.list.d/old.list",
        uris: ["http://deb.debian.org/debian"],
        suites: ["bookworm-backports"],
      },
      // Disabled: PVE still warns about it, but it brings nothing.
      {
        path: "/etc/apt/sources.list.d/older.list",
        uris: ["http://deb.debian.org/debian"],
        suites: ["buster"],
        enabled: false,
      },
    ];
    const { report } = await auditOf(s, { checks: ["apt-test-repo", "apt-old-suite"] });
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "PVE-UPD-004 medium /etc/apt/sources.list.d/old.list on pve2: /etc/apt/sources.list.d/old.list on pve2 has enabled entries for bullseye, bookworm (the node runs trixie)",
      "PVE-UPD-006 medium /etc/apt/sources.list.d/next.list on pve1: Unreleased suite forky, sid enabled in /etc/apt/sources.list.d/next.list on pve1",
      "PVE-UPD-006 medium ceph-squid-test repository on pve1: Ceph Squid Test repository enabled on pve1",
      "PVE-UPD-006 medium test repository on pve1: Test repository enabled on pve1",
    ]);
    const find = (object: string) => report.findings.find((f) => f.object === object)!;
    expect(find("/etc/apt/sources.list.d/old.list on pve2").remediation).toBe(
      "on pve2: sed -i -E 's/\\b(bullseye|bookworm)\\b/trixie/g' /etc/apt/sources.list.d/old.list (or delete those entries if trixie ones are configured elsewhere), then apt update",
    );
    expect(find("ceph-squid-test repository on pve1").evidence).toBe(
      "enabled in /etc/apt/sources.list.d/ceph.sources (http://download.proxmox.com/debian/ceph-squid trixie test): Ceph packages before they move to the main repository, not meant for production",
    );
    expect(find("test repository on pve1").evidence).toMatch(
      /^enabled in \/etc\/apt\/sources\.list\.d\/mirror\.sources \(http:\/\/mirror\.lan\/proxmox\/pve trixie pve-test\): /,
    );
    expect(find("/etc/apt/sources.list.d/next.list on pve1").remediation).toBe(
      "change those entries in /etc/apt/sources.list.d/next.list on pve1 back to trixie (or comment out those lines in /etc/apt/sources.list.d/next.list), then apt update",
    );
  });

  it("what PVE reports is cleaned before it reaches a finding", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptExtraRepositories = [
      {
        path: "/etc/apt/sources.list.d/old.list",
        uris: ["http://evil.example/\u001b[2J\u202edebian"],
        suites: ["bookworm"],
      },
    ];
    const { report } = await auditOf(s, { checks: ["apt-old-suite"] });
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]!.evidence).toContain("http://evil.example/debian bookworm");
    expect(JSON.stringify(report.findings)).not.toMatch(/\\u001b|\u202e/);
  });
});
