/**
 * The PBS checks against both demo simulators (PVE's cluster "lab" and its PBS), through
 * the real clients: every problem the PBS demo plants (src/simulator/pbs/scenarios/demo.ts)
 * is found naming its object, no finding on its decoys, the guest without any backup is
 * stated from both sides, a datastore-only token gets "Could not check" findings for
 * remotes and access, and without a PBS source no PBS check runs. The clock is pinned to
 * the demo's "today" as in demo.test.ts; both simulators run in this process and share it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AUDIT_CHECKS,
  formatReportCompact,
  isGapFinding,
  runAudit,
  selectChecks,
  type AuditReport,
  type Finding,
} from "../../src/audit/index.js";
import { Secret } from "../../src/config/secret.js";
import { PbsReader } from "../../src/pbs/client.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { startPbsSimulator, type PbsSimulator } from "../../src/simulator/pbs/index.js";
import { readerFor } from "./reader.js";

let pve: Simulator;
let pbs: PbsSimulator;
let root: AuditReport;
let auditor: AuditReport;
let dsOnly: AuditReport;
let withoutPbs: AuditReport;

function pbsReaderFor(sim: PbsSimulator, token: { id: string; secret: string }): PbsReader {
  return new PbsReader({
    host: sim.host,
    port: sim.port,
    tokenId: token.id,
    tokenSecret: new Secret(token.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 10_000,
  });
}

const PBS_IDS = new Set(AUDIT_CHECKS.filter((c) => c.service === "pbs").map((c) => c.id));

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-21T10:00:00Z") });
  [pve, pbs] = await Promise.all([startSimulator(), startPbsSimulator()]);
  const pveRoot = readerFor(pve, pve.tokens.root);
  const pveAuditor = readerFor(pve, pve.tokens.auditor);
  const pbsAuditor = pbsReaderFor(pbs, pbs.tokens.auditor);
  const pbsDatastore = pbsReaderFor(pbs, pbs.tokens.datastoreAuditor);
  const pbsRoot = pbsReaderFor(pbs, pbs.tokens.root);
  const pbsName = "192.0.2.60";
  [root, auditor, dsOnly, withoutPbs] = await Promise.all([
    runAudit(pveRoot, { pbs: pbsRoot, pbsName }),
    runAudit(pveAuditor, { pbs: pbsAuditor, pbsName }),
    runAudit(pveAuditor, { pbs: pbsDatastore, pbsName }),
    runAudit(pveAuditor),
  ]);
  await Promise.all([pveRoot, pveAuditor, pbsAuditor, pbsDatastore, pbsRoot].map((r) => r.close()));
}, 60_000);

afterAll(async () => {
  await Promise.all([pve?.close(), pbs?.close()]);
  vi.useRealTimers();
});

const of = (report: AuditReport, check: string) =>
  report.findings.filter((f) => f.check === check && !isGapFinding(f));
const objects = (report: AuditReport, check: string) =>
  of(report, check)
    .map((f) => f.object)
    .sort();
function one(report: AuditReport, check: string, object: string): Finding {
  const found = of(report, check).filter((f) => f.object === object);
  expect(found, `${check} ${object} in:\n${formatReportCompact(report)}`).toHaveLength(1);
  return found[0]!;
}
const pbsFindings = (report: AuditReport) => report.findings.filter((f) => PBS_IDS.has(f.check));

describe("PBS demo with the PBS auditor token (Audit on /, RemoteAudit on /remote)", () => {
  it("runs every PBS check without error and without a PBS gap", () => {
    expect(auditor.errors).toEqual([]);
    expect(pbsFindings(auditor).filter(isGapFinding)).toEqual([]);
    expect(auditor.checksRun).toBe(AUDIT_CHECKS.length);
    for (const f of pbsFindings(auditor)) expect(f.code).toMatch(/^PBS-[A-Z]{2,3}-\d{3}$/);
  });

  it("snapshots never verified: everything on pve-lab only (main, archive and scratch are verified)", () => {
    expect(objects(auditor, "pbs-snapshot-unverified")).toEqual(["pve-lab"]);
    const f = one(auditor, "pbs-snapshot-unverified", "pve-lab");
    expect(f.evidence).toContain("no verify job, verify-new off");
    expect(f.remediation).toContain("proxmox-backup-manager verify pve-lab");
  });

  it("failed verification: the newest snapshot of db01 (main, ns prod), named with its guest", () => {
    expect(objects(auditor, "pbs-verify-failed")).toEqual(["main:prod/vm/101"]);
    const f = one(auditor, "pbs-verify-failed", "main:prod/vm/101");
    expect(f.severity).toBe("high");
    expect(f.title).toContain("VM 101 (db01)");
    expect(f.title).toContain("the newest among them");
  });

  it("no verify job and verify-new off: pve-lab; not scratch (verify-new on), main or archive (jobs)", () => {
    expect(objects(auditor, "pbs-verify-job")).toEqual(["pve-lab"]);
    expect(one(auditor, "pbs-verify-job", "pve-lab").remediation).toContain(
      "proxmox-backup-manager verify-job create v-pve-lab --store pve-lab",
    );
  });

  it("GC: failing on archive (high), not run for 14 days on pve-lab; main and scratch are fine", () => {
    expect(objects(auditor, "pbs-gc")).toEqual(["archive", "pve-lab"]);
    const archive = one(auditor, "pbs-gc", "archive");
    expect(archive.severity).toBe("high");
    expect(archive.evidence).toContain("ENOSPC");
    const lab = one(auditor, "pbs-gc", "pve-lab");
    expect(lab.title).toContain("14 d");
    expect(lab.remediation).toContain("--gc-schedule daily");
  });

  it("datastore near full: archive (92 %); scratch at 40 % is not", () => {
    expect(objects(auditor, "pbs-datastore-full")).toEqual(["archive"]);
    expect(one(auditor, "pbs-datastore-full", "archive").title).toContain("92 % full");
  });

  it("no prune job: archive, and pve-lab whose keep-* on the datastore config PBS no longer applies; main has a job", () => {
    expect(objects(auditor, "pbs-prune")).toEqual(["archive", "pve-lab"]);
    expect(one(auditor, "pbs-prune", "archive").remediation).toContain(
      "proxmox-backup-manager prune-job create p-archive --store archive",
    );
    const lab = one(auditor, "pbs-prune", "pve-lab");
    expect(lab.evidence).toContain(
      "keep-* on the datastore config (keep-daily=7, keep-weekly=4, keep-monthly=6) are not applied since PBS 2.2; create a prune job: proxmox-backup-manager prune-job create p-pve-lab --store pve-lab --schedule daily --keep-daily 7 --keep-weekly 4 --keep-monthly 6",
    );
  });

  it("unencrypted: production VM 103 is high; production VMs 100 and 104 (encrypted) are not named", () => {
    const high = of(auditor, "pbs-unencrypted").filter((f) => f.severity === "high");
    expect(high.map((f) => f.object)).toEqual(["VM 103"]);
    expect(high[0]!.title).toContain("app01");
    for (const f of of(auditor, "pbs-unencrypted")) {
      expect(f.evidence).not.toMatch(/vm\/10[04]\b/);
      if (f.object !== "VM 103") expect(f.severity).toBe("low");
    }
  });

  it("the join: VM 106 has no backup on PBS, stated from both sides; its sibling VM 107 has one", () => {
    expect(objects(auditor, "pbs-guest-no-backup")).toEqual(["VM 106"]);
    const f = one(auditor, "pbs-guest-no-backup", "VM 106");
    expect(f.severity).toBe("high");
    expect(f.title).toBe(
      "VM 106 (k8s-node1) has no backup on PBS 192.0.2.60 (datastores archive, main, pve-lab, scratch), nor a PVE backup job",
    );
    expect(f.evidence).toContain("no backup group vm/106 in any namespace of these datastores");
    expect(f.evidence).toContain("PVE: in no backup job");
  });

  it("newest backup older than 7 days: VM 108 (20 days, on pve-lab), with what PVE says", () => {
    expect(objects(auditor, "pbs-backup-age")).toEqual(["VM 108"]);
    const f = one(auditor, "pbs-backup-age", "VM 108");
    expect(f.title).toContain("20 d");
    expect(f.evidence).toContain("pve-lab:vm/108");
    expect(f.evidence).toMatch(/PVE: /);
  });

  it("no orphan group: every backup id of the demo is a guest of the PVE demo", () => {
    expect(objects(auditor, "pbs-orphan-group")).toEqual([]);
  });

  it("sync: s-offsite-pull failed; s-colo-pull is fine", () => {
    expect(objects(auditor, "pbs-sync-failed")).toEqual(["s-offsite-pull"]);
    expect(one(auditor, "pbs-sync-failed", "s-offsite-pull").remediation).toContain(
      "proxmox-backup-manager sync-job run s-offsite-pull",
    );
  });

  it("remotes: offsite has no fingerprint; colo has one", () => {
    expect(objects(auditor, "pbs-remote-fingerprint")).toEqual(["offsite"]);
    expect(one(auditor, "pbs-remote-fingerprint", "offsite").remediation).toContain(
      "proxmox-backup-manager remote update offsite --fingerprint",
    );
  });

  it("broad roles: Admin and DatastoreAdmin on /; lab@pbs's DatastoreBackup and alice's per-store roles are not", () => {
    expect(objects(auditor, "pbs-broad-role")).toEqual([
      "admin@pbs!automation: Admin on /",
      "admin@pbs: Admin on /",
      "pve-lab@pbs!pve: DatastoreAdmin on /",
      "pve-lab@pbs: DatastoreAdmin on /",
      "root@pam!sim: Admin on /",
    ]);
    expect(one(auditor, "pbs-broad-role", "admin@pbs: Admin on /").severity).toBe("critical");
    expect(one(auditor, "pbs-broad-role", "pve-lab@pbs!pve: DatastoreAdmin on /").severity).toBe("high");
  });

  it("token without expiry: ops@pbs!ansible only (medium: it may back up)", () => {
    expect(objects(auditor, "pbs-token-expiry")).toEqual(["ops@pbs!ansible"]);
    expect(one(auditor, "pbs-token-expiry", "ops@pbs!ansible").severity).toBe("medium");
  });

  it("no inactive user owns a token (former@pbs is disabled but has none)", () => {
    expect(objects(auditor, "pbs-token-owner-inactive")).toEqual([]);
  });

  it("TFA: alice@pbs has none; root@pam has TOTP, the service accounts are left out", () => {
    expect(objects(auditor, "pbs-user-tfa")).toEqual(["alice@pbs"]);
  });
});

describe("PBS demo with the root token of PBS and of PVE", () => {
  it("finds the same PBS problems, without errors or gaps", () => {
    expect(root.errors).toEqual([]);
    expect(pbsFindings(root).filter(isGapFinding)).toEqual([]);
    const key = (f: Finding) => `${f.code} ${f.object} ${f.severity}`;
    expect(pbsFindings(root).map(key)).toEqual(pbsFindings(auditor).map(key));
  });
});

describe("the datastore-only token (DatastoreAudit on /datastore)", () => {
  it("still sees every datastore problem", () => {
    for (const check of [
      "pbs-verify-failed",
      "pbs-gc",
      "pbs-prune",
      "pbs-datastore-full",
      "pbs-guest-no-backup",
    ]) {
      expect(objects(dsOnly, check), check).toEqual(objects(auditor, check));
    }
  });

  it("says what it could not check: remotes, the sync jobs with a remote, users, ACL and TFA", () => {
    const gaps = pbsFindings(dsOnly).filter(isGapFinding);
    const titles = gaps.map((g) => g.title);
    expect(titles).toContain("Could not check remotes: needs Remote.Audit on /remote");
    expect(
      titles.some((t) =>
        /^Could not check sync jobs with a remote.*: needs Remote\.Audit on \/remote$/.test(t),
      ),
    ).toBe(true);
    expect(
      titles.some((t) => /^Could not check ACL entries.*: needs Sys\.Audit on \/access\/acl$/.test(t)),
    ).toBe(true);
    expect(
      titles.some((t) =>
        /^Could not check users and API tokens.*: needs Sys\.Audit on \/access\/users$/.test(t),
      ),
    ).toBe(true);
    for (const g of gaps) {
      expect(g.evidence).toContain("PBS refuses or silently filters it");
      expect(g.remediation).toMatch(
        /proxmox-backup-manager acl update \/\S* (Audit|RemoteAudit|DatastoreAudit) --auth-id/,
      );
    }
    expect(objects(dsOnly, "pbs-remote-fingerprint")).toEqual([]);
    expect(objects(dsOnly, "pbs-user-tfa")).toEqual([]);
  });
});

describe("without a PBS source", () => {
  it("no PBS check runs and nothing of PBS appears", () => {
    expect(pbsFindings(withoutPbs)).toEqual([]);
    expect(withoutPbs.checksRun).toBe(AUDIT_CHECKS.length - PBS_IDS.size);
    expect(withoutPbs.findings.filter((f) => f.code.startsWith("PBS-"))).toEqual([]);
  });

  it("selecting a PBS check without a PBS source is an error that says what to configure", () => {
    expect(() => selectChecks(["pbs-gc"])).toThrow(/Proxmox Backup Server.*PBS_HOST/);
    expect(selectChecks(["pbs-gc"], { pbs: true }).map((c) => c.id)).toEqual(["pbs-gc"]);
  });
});
