/**
 * The security audit against the demo cluster: with the root token (sees everything)
 * every problem planted in src/simulator/scenarios/demo.ts is found, naming the right
 * object; with the auditor token (PVEAuditor), each thing it cannot see is a finding
 * that says what and which privilege is missing, never a silent pass.
 *
 * The clock is pinned (Date only, timers stay real) to the demo's "today", 2026-11-21,
 * so that the demo's syslog lines (dated "Nov 21") are inside the 24 h window whatever
 * day the suite runs; the simulator runs in this process and shares the clock.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  formatReport,
  formatReportCompact,
  isGapFinding,
  runAudit,
  type AuditReport,
  type Finding,
} from "../../src/audit/index.js";
import { redact, redactText } from "../../src/redact.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { readerFor } from "./reader.js";

let sim: Simulator;
let root: AuditReport;
let auditor: AuditReport;
let rootRequests: number;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-21T10:00:00Z") });
  sim = await startSimulator();
  const asRoot = readerFor(sim, sim.tokens.root);
  const asAuditor = readerFor(sim, sim.tokens.auditor);
  root = await runAudit(asRoot);
  rootRequests = sim.requests().length;
  auditor = await runAudit(asAuditor);
  await Promise.all([asRoot.close(), asAuditor.close()]);
});

afterAll(async () => {
  await sim?.close();
  vi.useRealTimers();
});

const of = (report: AuditReport, check: string) => report.findings.filter((f) => f.check === check);
const objects = (report: AuditReport, check: string) => of(report, check).map((f) => f.object);
function one(report: AuditReport, check: string, object: string): Finding {
  const found = of(report, check).filter((f) => f.object === object);
  expect(found, `${check} ${object} in:\n${formatReportCompact(report)}`).not.toHaveLength(0);
  return found[0]!;
}

describe("demo, root token: every planted problem is found, naming its object", () => {
  it("runs every check without error and without a gap (the root token sees everything)", () => {
    expect(root.errors).toEqual([]);
    expect(root.findings.filter(isGapFinding)).toEqual([]);
    expect(root.cluster).toBe("lab");
    expect(root.generatedAt).toBe("2026-11-21T10:00:00.000Z");
    expect(root.checksRun).toBeGreaterThanOrEqual(29);
  });

  it("pve3 is offline (its guests 110 and 201 named as not inspected)", () => {
    const f = one(root, "node-offline", "pve3");
    expect(f.severity).toBe("high");
    expect(f.evidence).toContain("VM 110, CT 201");
  });

  it("token ops@pve!ansible has privsep 0", () => {
    expect(one(root, "token-privsep", "ops@pve!ansible").severity).toBe("high");
  });

  it("ops@pve has no TFA (root@pam and alice@pve have one)", () => {
    one(root, "user-tfa", "ops@pve");
    expect(objects(root, "user-tfa")).not.toContain("root@pam");
    expect(objects(root, "user-tfa")).not.toContain("alice@pve");
  });

  it("group @operators has Administrator on / with propagate: critical", () => {
    const f = one(root, "acl-broad-admin", "@operators: Administrator on /");
    expect(f.severity).toBe("critical");
    expect(f.remediation).toContain("pveum acl delete / --groups operators --roles Administrator");
  });

  it("contractor@pve expired 45 days ago but is still in @operators (Administrator)", () => {
    const f = one(root, "user-expired-admin", "contractor@pve");
    expect(f.evidence).toMatch(/expired 45 d ago.*Administrator on \/ via @operators/);
  });

  it("olddev@pve is disabled but still owns token olddev@pve!deploy", () => {
    one(root, "token-owner-inactive", "olddev@pve!deploy");
  });

  it("cluster firewall disabled with policy ACCEPT", () => {
    const cluster = of(root, "firewall-cluster");
    expect(cluster.map((f) => [f.object, f.severity, f.title])).toEqual([
      ["cluster", "high", "Cluster firewall is disabled"],
      ["cluster", "medium", "Cluster firewall input policy is ACCEPT"],
    ]);
  });

  it("a cluster rule allows SSH from anywhere (rule 1); the sourced 8006 rule is fine", () => {
    expect(objects(root, "firewall-open-rule")).toEqual(["cluster rule 1"]);
    expect(one(root, "firewall-open-rule", "cluster rule 1").evidence).toContain("macro SSH");
  });

  it("guests without firewall=1 on net0 are named; well-configured ones are not", () => {
    for (const vmid of ["VM 101", "VM 102", "VM 105", "VM 106", "VM 107", "VM 108", "VM 109", "CT 205"]) {
      expect(one(root, "firewall-guest", vmid).evidence).toContain("net0 without firewall=1");
    }
    expect(one(root, "firewall-guest", "VM 104").evidence).toBe("firewall off");
    const flagged = objects(root, "firewall-guest");
    for (const fine of ["VM 100", "VM 103", "CT 202", "VM 9000"]) expect(flagged).not.toContain(fine);
  });

  it("containers: privileged ones (CT 206 by default, CT 208 with nesting) and CT 207's raw keys; decoys pass", () => {
    expect(objects(root, "ct-privileged")).toEqual(["CT 206", "CT 208"]);
    expect(objects(root, "ct-privileged-features")).toEqual(["CT 208"]);
    expect(objects(root, "ct-raw-lxc")).toEqual(["CT 207"]);
    expect(one(root, "ct-raw-lxc", "CT 207").evidence).toContain("AppArmor off");
  });

  it("disks left out of backups: VM 103's backup=0 disk, CT 200's mount point; CT 205's (backup=1) is in", () => {
    expect(objects(root, "backup-excluded-disk")).toEqual(["CT 200", "VM 103"]);
    expect(one(root, "backup-excluded-disk", "VM 103").evidence).toBe(
      "in job(s) backup-9e1d4c7a-2b6f, but not in the backup: scsi1 (local-lvm:vm-103-disk-1, backup off)",
    );
    expect(one(root, "backup-excluded-disk", "CT 200").evidence).toContain("mp0 (local-lvm:vm-200-disk-1");
  });

  it("corosync: encrypted (secauth on), but one link per node", () => {
    expect(objects(root, "corosync-crypto")).toEqual([]);
    expect(one(root, "corosync-single-link", "cluster lab").evidence).toContain("on pve1, pve2, pve3");
  });

  it("a worn-out SSD (pve1 /dev/sdb, 7 % left); pve2's at 91 % is fine", () => {
    expect(objects(root, "ssd-wearout")).toEqual(["disk S6PNNM0T901298H on pve1"]);
    expect(one(root, "ssd-wearout", "disk S6PNNM0T901298H on pve1").evidence).toBe(
      "wearout 7 % left; /dev/sdb, Samsung_SSD_870_EVO_2TB, used by ZFS",
    );
  });

  it("production-tagged guests without protection: VM 100 and VM 103, not the protected VM 104", () => {
    expect(objects(root, "guest-unprotected")).toEqual(["VM 100", "VM 103"]);
  });

  it("filtering guest firewalls that allow spoofing: VM 103; CT 202 (ipfilter on) and VM 100 (ipset) are fine", () => {
    expect(objects(root, "firewall-guest-spoofing")).toEqual(["VM 103"]);
    expect(one(root, "firewall-guest-spoofing", "VM 103").remediation).toContain(
      "pvesh create /nodes/pve1/qemu/103/firewall/ipset --name ipfilter-net0",
    );
  });

  it("pve2's custom pveproxy certificate expires in 12 days", () => {
    const f = one(root, "cert-expiry", "pveproxy-ssl.pem on pve2");
    expect(f.title).toContain("expires in 12 d");
    expect(objects(root, "cert-expiry")).toEqual(["pveproxy-ssl.pem on pve2"]);
  });

  it("backups: guests outside every ENABLED job, including those only in the disabled 'all' and db jobs", () => {
    expect(objects(root, "backup-coverage")).toEqual([
      "CT 201",
      "CT 203",
      "CT 206",
      "CT 207",
      "CT 208",
      "VM 101",
      "VM 102",
      "VM 105",
      "VM 106",
      "VM 107",
      "VM 108",
      "VM 109",
      "VM 110",
      "VM 9000",
    ]);
    expect(one(root, "backup-coverage", "VM 101").evidence).toMatch(
      /only in disabled job\(s\) backup-5f2a91c3-7d1e, backup-0c84e6b2-41aa; last backup 64 d ago on nfs-backup/,
    );
    // pve3 is offline: its node-local "local" storage could not be read, and the evidence says so.
    expect(one(root, "backup-coverage", "VM 105").evidence).toBe(
      "in no backup job; no backup on any readable storage (not readable: local on pve3)",
    );
  });

  it("last night's backup run failed for VM 103", () => {
    const f = one(root, "backup-failed", "VM 103");
    expect(f.evidence).toContain("qmp command 'backup' failed - got timeout");
    expect(objects(root, "backup-failed")).toEqual(["VM 103"]);
  });

  it("CT 203 only has an old backup, on node-local storage (and 101, 102 are 64 days old)", () => {
    expect(one(root, "backup-age", "CT 203").evidence).toMatch(/172 d ago on local \(node-local\)/);
    expect(objects(root, "backup-age")).toEqual(["CT 203", "VM 101", "VM 102"]);
  });

  it("VM 109 carries a stale backup lock", () => {
    expect(objects(root, "guest-lock-stale")).toEqual(["VM 109"]);
    expect(one(root, "guest-lock-stale", "VM 109").remediation).toContain("qm unlock 109");
  });

  it("old snapshots: db01's before-pg16 (200 days) and web01's from April; CT 202's 3-day one is fine", () => {
    expect(objects(root, "snapshot-age")).toEqual(["VM 100", "VM 101"]);
    expect(one(root, "snapshot-age", "VM 101").evidence).toContain("before-pg16 (200 d)");
  });

  it("failed tasks of the last 24 h: qmstart of 109 and apt update on pve2, each by UPID", () => {
    const failed = of(root, "tasks-failed");
    expect(failed).toHaveLength(2);
    expect(failed.map((f) => f.object)).toEqual([
      expect.stringMatching(/^UPID:pve2:[0-9A-F:]+:qmstart:109:ops@pve:$/),
      expect.stringMatching(/^UPID:pve2:[0-9A-F:]+:aptupdate::root@pam:$/),
    ]);
    expect(failed[0]!.evidence).toContain("start failed: QEMU exited with code 1");
    expect(failed[1]!.evidence).toContain("'apt-get update' failed");
  });

  it("pending security updates on pve1 and pve2", () => {
    for (const node of ["pve1", "pve2"]) {
      const f = one(root, "updates-pending", node);
      expect(f.severity).toBe("high");
      expect(f.evidence).toMatch(/openssl.*libssl3t64/);
    }
  });

  it("ZFS pool tank on pve2 is 94 % full, and one of its disks fails SMART", () => {
    expect(one(root, "storage-usage", "tank on pve2").title).toContain("94 % full");
    expect(objects(root, "storage-usage")).toEqual(["tank on pve2"]);
    expect(one(root, "disk-smart", "/dev/sdb on pve2").evidence).toContain("FAILED!");
  });

  it("repositories: pve1 (subscribed, enterprise) and pve2 (no subscription, enterprise off, no-subscription on) are fine", () => {
    expect(of(root, "subscription")).toEqual([]);
    // Nothing found because both were looked at, not because nothing was read.
    const read = sim
      .requests()
      .slice(0, rootRequests)
      .map((r) => r.path);
    expect(read).toEqual(
      expect.arrayContaining(["/nodes/pve1/apt/repositories", "/nodes/pve2/apt/repositories"]),
    );
  });

  it("secrets in the notes of CT 203 and VM 103 are found, and never shown", () => {
    expect(objects(root, "guest-secrets")).toEqual(["CT 203", "VM 103"]);
    const all = JSON.stringify(root) + formatReportCompact(root);
    for (const secret of ["Winter2026", "9f2c7e41b8d05a36e1f4c2b7a9d8e6f0", "kR3vZ8pQ"]) {
      expect(all).not.toContain(secret);
    }
  });

  it("replication 205-0 fails; 104-0 is fine", () => {
    expect(objects(root, "replication-failed")).toEqual(["205-0"]);
    expect(one(root, "replication-failed", "205-0").evidence).toMatch(/^3 failure\(s\) in a row/);
  });

  it("repeated root@pam login failures from 198.51.100.23 in pve1's syslog", () => {
    const f = one(root, "auth-failures", "pve1");
    expect(f.evidence).toBe("198.51.100.23: 4 (root@pam, root)");
  });

  it("no finding looks like a secret to the server's redaction (it would reach the model mangled)", () => {
    expect(redact(root.findings)).toEqual(root.findings);
    expect(redactText(formatReportCompact(root))).toBe(formatReportCompact(root));
    expect(redactText(formatReport(root))).toBe(formatReport(root));
  });

  it("extra checks the demo also trips: root's own token, tokens without expiry", () => {
    expect(one(root, "token-root", "root@pam!sim").evidence).toContain("privsep=0");
    // ops@pve!ansible holds Administrator through @operators: token-expiry-privileged's, not token-expiry's.
    expect(objects(root, "token-expiry")).toContain("mcp@pve!readonly");
    expect(objects(root, "token-expiry")).not.toContain("ops@pve!ansible");
    // root@pam!sim is reported once, by token-root, not again by token-privsep.
    expect(objects(root, "token-privsep")).toEqual(["ops@pve!ansible"]);
  });

  it("nothing is reported against healthy objects: no quorum, HA or EOL finding", () => {
    expect(of(root, "cluster-quorum")).toEqual([]);
    expect(of(root, "ha-error")).toEqual([]);
    expect(of(root, "pve-eol")).toEqual([]);
    expect(of(root, "firewall-node")).toEqual([]);
  });

  it("findings are sorted: severity, then check, then object (numbers in order)", () => {
    const sorted = [...root.findings].sort(
      (a, b) =>
        ["critical", "high", "medium", "low", "info"].indexOf(a.severity) -
          ["critical", "high", "medium", "low", "info"].indexOf(b.severity) ||
        (a.check < b.check ? -1 : a.check > b.check ? 1 : 0),
    );
    expect(root.findings.map((f) => [f.severity, f.check])).toEqual(sorted.map((f) => [f.severity, f.check]));
    const coverage = objects(root, "backup-coverage");
    expect(coverage.indexOf("VM 110")).toBeLessThan(coverage.indexOf("VM 9000"));
  });

  it("each request was sent once per run (a shared cache), none but GET", () => {
    const requests = sim.requests().slice(0, rootRequests);
    const keys = requests.map((r) => `${r.path}?${new URLSearchParams(r.query as Record<string, string>)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(requests.map((r) => r.method))).toEqual(new Set(["GET"]));
    // No request to the offline node: its answers would only be 595s.
    expect(requests.filter((r) => r.path.startsWith("/nodes/pve3/"))).toEqual([]);
  });
});

describe("demo, auditor token (PVEAuditor): each visibility gap is a finding", () => {
  const gaps = () => auditor.findings.filter(isGapFinding);

  it("no check fails; the gaps are info findings that name what and which privilege", () => {
    expect(auditor.errors).toEqual([]);
    expect(gaps().map((g) => [g.check, g.severity, g.object])).toEqual([
      ["auth-failures", "info", "failed logins in the syslog of pve1, pve2"],
      [
        "backup-age",
        "info",
        "the last backup of every guest (backup volumes on local, nfs-backup, pbs-main, pbs-offsite are hidden from this token)",
      ],
      ["updates-pending", "info", "pending updates on pve1, pve2"],
    ]);
  });

  it("pending updates: needs Sys.Modify on the nodes (PVE answers 403), nothing claimed", () => {
    const gap = one(auditor, "updates-pending", "pending updates on pve1, pve2");
    expect(gap.title).toBe(
      "Could not check pending updates on pve1, pve2: needs Sys.Modify on /nodes/{node}",
    );
    expect(gap.remediation).toContain("apt list --upgradable");
    expect(of(auditor, "updates-pending").filter((f) => !isGapFinding(f))).toEqual([]);
  });

  it("backup volumes: PVE hides them (200, no error): needs Datastore.AllocateSpace + VM.Backup, never 'no backup'", () => {
    const gap = of(auditor, "backup-age")[0]!;
    expect(gap.title).toContain(
      "needs Datastore.AllocateSpace on /storage/<backup storage> and VM.Backup on /vms/{vmid}",
    );
    expect(of(auditor, "backup-age")).toHaveLength(1);
    // Coverage still works from the job list, but never claims a guest has no backup.
    expect(objects(auditor, "backup-coverage")).toEqual(objects(root, "backup-coverage"));
    for (const f of of(auditor, "backup-coverage"))
      expect(f.evidence).not.toMatch(/no backup on|last backup/);
  });

  it("syslog: needs Sys.Syslog on the nodes, with the read-only fix", () => {
    const gap = one(auditor, "auth-failures", "failed logins in the syslog of pve1, pve2");
    expect(gap.evidence).toContain("needs Sys.Syslog on /nodes/{node}");
    expect(gap.remediation).toContain("pveum role add SyslogReader --privs Sys.Syslog");
  });

  it("everything else is found as with the root token", () => {
    const visible = (r: AuditReport) =>
      r.findings
        .filter(
          (f) => !isGapFinding(f) && !["updates-pending", "backup-age", "auth-failures"].includes(f.check),
        )
        .map((f) => `${f.check} ${f.object}`)
        .sort();
    const rootOnes = visible(root).filter((line) => !line.startsWith("backup-coverage"));
    expect(visible(auditor).filter((line) => !line.startsWith("backup-coverage"))).toEqual(rootOnes);
  });

  it("the compact text says NOT VISIBLE with the missing privilege, one line each", () => {
    const text = formatReportCompact(auditor);
    expect(text).toContain(
      "INFO updates-pending NOT VISIBLE pending updates on pve1, pve2 (needs Sys.Modify on /nodes/{node})",
    );
    expect(text.split("\n")[0]).toContain("3 of them: not visible to this token");
  });
});
