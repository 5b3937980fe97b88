/**
 * The backup job and PBS checks against variations of the demo cluster: jobs that keep
 * every backup (no retention on the job, its storage or the node's /etc/vzdump.conf),
 * jobs whose failures reach nobody (legacy mode without mailto; a notification system
 * whose matchers or targets lead nowhere), PBS storages without encryption or a pinned
 * fingerprint; the decoys that look alike; and what a token without the privileges is told.
 */
import { describe, expect, it } from "vitest";
import { isGapFinding, runAudit, type AuditReport } from "../../src/audit/index.js";
import { startSimulator, type TokenCredentials } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { readerFor } from "./reader.js";

const CHECKS = ["backup-retention", "backup-notify", "pbs-encryption", "pbs-fingerprint"];
const NIGHTLY = "backup-9e1d4c7a-2b6f";
const TO_PBS = "backup-3c1f8a27-6d40";
const TO_LOCAL = "backup-7b2e05d9-c3a8";

type Scenario = typeof demoScenario;
type Job = NonNullable<ScenarioInput["backupJobs"]>[number];

async function auditOf(
  change: (scenario: Scenario) => void = () => undefined,
  as: (tokens: Record<"auditor" | "root", TokenCredentials>) => TokenCredentials = (t) => t.auditor,
  checks = CHECKS,
): Promise<AuditReport> {
  const scenario = structuredClone(demoScenario);
  change(scenario);
  const sim = await startSimulator({ scenario });
  const reader = readerFor(sim, as(sim.tokens));
  try {
    return await runAudit(reader, { checks });
  } finally {
    await reader.close();
    await sim.close();
  }
}

const lines = (report: AuditReport, check?: string) =>
  report.findings
    .filter((f) => !check || f.check === check)
    .map((f) => `${f.code} ${f.severity} ${f.object}: ${f.evidence}`);

const job = (id: string, fields: Omit<Job, "id" | "schedule">): Job => ({ id, schedule: "03:00", ...fields });

/** A token of its own user (privsep 0), holding `roles` on the given paths. */
function withToken(s: Scenario, token: TokenCredentials, acl: [path: string, roleid: string][]): void {
  const [userid, tokenid] = token.id.split("!") as [string, string];
  s.users = [...(s.users ?? []), { userid, tokens: [{ tokenid, secret: token.secret, privsep: 0 }] }];
  s.acl = [...(s.acl ?? []), ...acl.map(([path, roleid]) => ({ path, ugid: userid, roleid }))];
}

const RETENTION_LOCAL = `PVE-BAK-005 medium ${TO_LOCAL}: no prune-backups on the job, on storage local or in /etc/vzdump.conf of pve1, so PVE's default applies: keep all; backups pile up until local is full, and then every backup fails`;
const LEGACY_NO_MAILTO = `PVE-BAK-006 medium ${TO_LOCAL}: notification-mode legacy-sendmail and no mailto on the job or in /etc/vzdump.conf: vzdump mails nobody and bypasses the notification system`;
const OFFSITE_UNENCRYPTED =
  "PVE-BAK-007 medium pbs-offsite: server pbs.offsite.example, datastore pve-lab; no encryption-key in storage.cfg (PVE records the key's fingerprint there once one is set): whoever reads the datastore reads the guests' data";
const OFFSITE_UNPINNED =
  "PVE-BAK-008 low pbs-offsite: server pbs.offsite.example, datastore pve-lab, no fingerprint: the nodes trust any certificate their system CA store accepts (fine for a publicly signed one; a self-signed PBS then only works if its CA was added to that store)";

describe("the demo", () => {
  it("PVEAuditor: the local job keeps everything and mails nobody, pbs-offsite is unencrypted and unpinned", async () => {
    const report = await auditOf();
    expect(report.errors).toEqual([]);
    expect(report.findings.filter(isGapFinding)).toEqual([]);
    expect(lines(report)).toEqual([LEGACY_NO_MAILTO, RETENTION_LOCAL, OFFSITE_UNENCRYPTED, OFFSITE_UNPINNED]);
    const byCheck = Object.fromEntries(report.findings.map((f) => [f.check, f]));
    expect(byCheck["backup-retention"]).toMatchObject({
      title: `Backup job ${TO_LOCAL} keeps every backup on local`,
      remediation: `pvesh set /cluster/backup/${TO_LOCAL} --prune-backups keep-daily=7,keep-weekly=4,keep-monthly=6 (or for every job on it: pvesm set local --prune-backups keep-daily=7,keep-weekly=4,keep-monthly=6)`,
    });
    expect(byCheck["backup-notify"]).toMatchObject({
      title: `Failures of backup job ${TO_LOCAL} notify nobody`,
      remediation: `pvesh set /cluster/backup/${TO_LOCAL} --notification-mode notification-system (then Datacenter > Notifications decides), or --mailto <address>`,
    });
    expect(byCheck["pbs-fingerprint"]?.remediation).toBe(
      "pvesm set pbs-offsite --fingerprint <SHA-256 fingerprint from proxmox-backup-manager cert info on the PBS>",
    );
    // Decoys: the nightly job prunes by itself (on nfs-backup's keep-all=1) and uses the
    // notification system as installed; the PBS job inherits pbs-main's retention and mails
    // ops@example.com; pbs-main has a fingerprint and an encryption key.
    const objects = report.findings.map((f) => f.object);
    for (const decoy of [NIGHTLY, TO_PBS, "pbs-main"]) expect(objects).not.toContain(decoy);
  });

  it("a token that may read everything sees the same", async () => {
    const [auditor, root] = await Promise.all([auditOf(), auditOf(undefined, (t) => t.root)]);
    expect(lines(root)).toEqual(lines(auditor));
  });
});

describe("backup-retention", () => {
  it("keep-all on the job or its storage, keep-last=0, a PBS target; vzdump.conf and maxfiles count as retention", async () => {
    const report = await auditOf((s) => {
      s.nodes.find((n) => n.name === "pve2")!.vzdumpConf = { "prune-backups": "keep-last=5" };
      s.storages!.push({
        storage: "usb",
        type: "dir",
        content: "backup",
        config: { path: "/mnt/usb", maxfiles: 3 },
        total: 1e12,
        used: 1e11,
      });
      s.backupJobs!.push(
        job("job-a-own-keep-all", { storage: "nfs-backup", vmid: "200", "prune-backups": "keep-all=1" }),
        job("job-b-storage-keep-all", { storage: "nfs-backup", vmid: "205" }),
        job("job-c-pbs", { storage: "pbs-offsite", vmid: "100" }),
        job("job-d-two-nodes", { storage: "local", vmid: "100,104" }),
        job("job-e-keep-last-0", { storage: "local", vmid: "200", "prune-backups": "keep-last=0" }),
        // Decoys: pve2's /etc/vzdump.conf prunes, and PVE 8's maxfiles 3 is keep-last=3.
        job("job-f-pve2-only", { storage: "local", vmid: "104" }),
        job("job-g-maxfiles", { storage: "usb", vmid: "200" }),
        job("job-h-disabled", { storage: "local", vmid: "200", enabled: 0 }),
      );
    });
    expect(report.errors).toEqual([]);
    expect(lines(report, "backup-retention")).toEqual([
      RETENTION_LOCAL,
      "PVE-BAK-005 medium job-a-own-keep-all: the job sets prune-backups keep-all=1, which keeps all; backups pile up until nfs-backup is full, and then every backup fails",
      "PVE-BAK-005 medium job-b-storage-keep-all: no prune-backups on the job, and storage nfs-backup sets keep-all=1, which keeps all; backups pile up until nfs-backup is full, and then every backup fails",
      // Only pve1 keeps all: pve2's /etc/vzdump.conf prunes the guests there.
      "PVE-BAK-005 medium job-d-two-nodes: no prune-backups on the job, on storage local or in /etc/vzdump.conf of pve1, so PVE's default applies: keep all; backups pile up until local is full, and then every backup fails",
      "PVE-BAK-005 medium job-e-keep-last-0: the job sets prune-backups keep-last=0, which keeps all; backups pile up until local is full, and then every backup fails",
      "PVE-BAK-005 low job-c-pbs: no prune-backups on the job, on storage pbs-offsite or in /etc/vzdump.conf of pve1, so PVE's default applies: keep all; a prune job on the PBS (server pbs.offsite.example, datastore pve-lab) is not visible from PVE",
    ]);
  });

  it("a storage the token may not see is a gap, not a finding", async () => {
    const token = { id: "nostore@pve!audit", secret: "0b6c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3" };
    const report = await auditOf(
      (s) => {
        s.roles = { ...s.roles, NoStorage: ["Sys.Audit", "VM.Audit", "Pool.Audit", "Mapping.Audit"] };
        withToken(s, token, [
          ["/", "NoStorage"],
          ["/storage/local", "PVEAuditor"],
        ]);
      },
      () => token,
      ["backup-retention"],
    );
    expect(report.errors).toEqual([]);
    // The nightly job sets its own retention: nfs-backup's does not matter, and is not asked.
    expect(report.findings.map((f) => `${f.severity} ${f.title}`)).toEqual([
      `medium Backup job ${TO_LOCAL} keeps every backup on local`,
      `info Could not check the retention of storage pbs-main (backup job ${TO_PBS}): needs Datastore.Audit on /storage/pbs-main`,
    ]);
  });
});

describe("backup-notify", () => {
  type Notifications = NonNullable<ScenarioInput["notifications"]>;
  const notify = (n: Partial<Notifications>) => (s: Scenario) => {
    s.notifications = { ...s.notifications, ...n };
  };
  const withoutDefault = { name: "default-matcher", disable: true, target: ["mail-to-root"] };
  const gotify = [{ name: "ops-gotify", server: "https://gotify.example", token: "gotify-app-token" }];
  const NIGHTLY_VIA = `PVE-BAK-006 medium ${NIGHTLY}: notification-mode notification-system: the notification system, where a vzdump error reaches nobody:`;

  it.each<[string, (s: Scenario) => void, string[]]>([
    [
      "root@pam without email: mail-to-root mails nobody",
      (s) => {
        delete s.users!.find((u) => u.userid === "root@pam")!.email;
      },
      [
        LEGACY_NO_MAILTO,
        `${NIGHTLY_VIA} matcher default-matcher -> mail-to-root mails root@pam, who has no email`,
      ],
    ],
    [
      "default-matcher disabled, the other matcher only for info and notice",
      notify({
        matchers: [
          withoutDefault,
          { name: "info-only", "match-severity": ["info,notice"], target: ["mail-to-root"] },
        ],
      }),
      [
        LEGACY_NO_MAILTO,
        `${NIGHTLY_VIA} matcher default-matcher is disabled; matcher info-only does not match it (match-severity info,notice)`,
      ],
    ],
    [
      "a disabled target, a missing one, a mail target without recipient",
      notify({
        matchers: [{ name: "default-matcher", mode: "all", target: ["mail-to-root", "gone", "nobody"] }],
        sendmail: [
          { name: "mail-to-root", disable: true, "mailto-user": ["root@pam"] },
          { name: "nobody", comment: "recipients removed" },
        ],
      }),
      [
        LEGACY_NO_MAILTO,
        `${NIGHTLY_VIA} matcher default-matcher -> target mail-to-root is disabled; matcher default-matcher -> target gone does not exist; matcher default-matcher -> nobody has no recipient`,
      ],
    ],
    [
      "errors of pve2 only: the nightly run on pve1 reaches nobody",
      notify({
        matchers: [
          withoutDefault,
          {
            name: "pve2-errors",
            "match-severity": ["error"],
            "match-field": ["exact:hostname=pve2"],
            target: ["ops-gotify"],
          },
        ],
        gotify,
      }),
      [
        LEGACY_NO_MAILTO,
        `${NIGHTLY_VIA} matcher default-matcher is disabled; matcher pve2-errors does not match it (match-severity error, match-field exact:hostname=pve2)`,
      ],
    ],
    [
      "only office hours: low, the hour decides",
      notify({
        matchers: [
          withoutDefault,
          { name: "office-hours", "match-calendar": ["mon..fri 08:00-17:00"], target: ["ops-gotify"] },
        ],
        gotify,
      }),
      [
        LEGACY_NO_MAILTO,
        `PVE-BAK-006 low ${NIGHTLY}: notification-mode notification-system: the notification system; only a route that depends on the hour or on a rule not judged here may reach someone: matcher office-hours (match-calendar mon..fri 08:00-17:00) -> ops-gotify (gotify)`,
      ],
    ],
    [
      "decoys: vzdump errors by type, severity inverted, and a mailto in pve1's /etc/vzdump.conf",
      (s) => {
        notify({
          matchers: [
            withoutDefault,
            { name: "by-type", "match-field": ["exact:type=replication,vzdump"], target: ["team"] },
            {
              name: "not-info",
              "match-severity": ["info"],
              "invert-match": true,
              target: ["ops-gotify"],
            },
          ],
          sendmail: [{ name: "team", mailto: ["team@example.com"] }],
          gotify,
        })(s);
        s.nodes.find((n) => n.name === "pve1")!.vzdumpConf = { mailto: "backup@example.com" };
      },
      [],
    ],
  ])("%s", async (_label, change, expected) => {
    const report = await auditOf(change, undefined, ["backup-notify"]);
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual(expected);
  });

  it("asks root@pam to get an email where that is what is missing", async () => {
    const report = await auditOf(
      (s) => {
        delete s.users!.find((u) => u.userid === "root@pam")!.email;
      },
      undefined,
      ["backup-notify"],
    );
    expect(report.findings.find((f) => f.object === NIGHTLY)?.remediation).toBe(
      "pveum user modify root@pam --email <address> (or route errors elsewhere: Datacenter > Notifications)",
    );
  });

  it("a job on only some nodes is named with them", async () => {
    const report = await auditOf(
      (s) => {
        s.nodes.find((n) => n.name === "pve2")!.vzdumpConf = { mailto: "ops@example.com" };
        s.backupJobs!.push(
          job("job-both-nodes", { storage: "local", vmid: "100,104", "notification-mode": "auto" }),
        );
        delete s.users!.find((u) => u.userid === "root@pam")!.email;
      },
      undefined,
      ["backup-notify"],
    );
    expect(report.findings.find((f) => f.object === "job-both-nodes")).toMatchObject({
      title: "Failures of backup job job-both-nodes on pve1 notify nobody",
      evidence:
        "notification-mode auto without mailto: the notification system, where a vzdump error reaches nobody: matcher default-matcher -> mail-to-root mails root@pam, who has no email",
    });
  });

  it("without Mapping.Audit the notification system is a gap; the legacy job is still judged", async () => {
    const token = { id: "nomap@pve!audit", secret: "1c7d2e3f-4a5b-4c6d-9e8f-0a1b2c3d4e5f" };
    const report = await auditOf(
      (s) => {
        s.roles = { ...s.roles, NoMapping: ["Sys.Audit", "VM.Audit", "Pool.Audit", "Datastore.Audit"] };
        withToken(s, token, [["/", "NoMapping"]]);
        delete s.users!.find((u) => u.userid === "root@pam")!.email;
      },
      () => token,
      ["backup-notify"],
    );
    expect(report.errors).toEqual([]);
    expect(lines(report).filter((l) => !l.startsWith("PVE-BAK-006 info"))).toEqual([LEGACY_NO_MAILTO]);
    expect(report.findings.filter(isGapFinding).map((f) => f.title)).toEqual([
      "Could not check notification matchers (who hears of a failed backup): needs Mapping.Audit on /mapping/notifications",
      "Could not check notification targets: needs Mapping.Audit on /mapping/notifications",
    ]);
  });
});

describe("PBS storages", () => {
  it("a pinned fingerprint without a key, a non-default port and namespace; a disabled storage is not judged", async () => {
    const report = await auditOf((s) => {
      const offsite = s.storages!.find((st) => st.storage === "pbs-offsite")!;
      offsite.config = {
        ...offsite.config,
        port: 8008,
        namespace: "lab",
        fingerprint:
          "9a:0b:1c:2d:3e:4f:50:61:72:83:94:a5:b6:c7:d8:e9:fa:0b:1c:2d:3e:4f:50:61:72:83:94:a5:b6:c7:d8:e9",
      };
      const main = s.storages!.find((st) => st.storage === "pbs-main")!;
      main.disable = 1;
      main.config = { server: "192.0.2.60", datastore: "main" };
    });
    expect(report.errors).toEqual([]);
    expect(lines(report).filter((l) => /PVE-BAK-00[78]/.test(l))).toEqual([
      "PVE-BAK-007 medium pbs-offsite: server pbs.offsite.example:8008, datastore pve-lab, namespace lab; no encryption-key in storage.cfg (PVE records the key's fingerprint there once one is set): whoever reads the datastore reads the guests' data",
    ]);
  });

  it("a token that sees no storage is told so", async () => {
    const token = { id: "nods@pve!audit", secret: "2d8e3f4a-5b6c-4d7e-8f9a-1b2c3d4e5f60" };
    const report = await auditOf(
      (s) => {
        s.roles = { ...s.roles, NoDatastore: ["Sys.Audit", "VM.Audit", "Pool.Audit", "Mapping.Audit"] };
        withToken(s, token, [["/", "NoDatastore"]]);
      },
      () => token,
      ["pbs-encryption", "pbs-fingerprint"],
    );
    expect(report.errors).toEqual([]);
    // One gap for both checks (the report keeps the first check's).
    expect(report.findings.map((f) => `${f.check}: ${f.title}`)).toEqual([
      "pbs-encryption: Could not check storages this token may not see (PVE lists only storages with Datastore.Audit): needs Datastore.Audit on /storage",
    ]);
  });
});

describe("which guests a job backs up: PVE's get_included_guests order", () => {
  it("a pool wins over all, a vmid list over all, and node limits a vmid list", async () => {
    const report = await auditOf(
      (s) => {
        s.backupJobs = [
          // Enabled, but its pool has none of the uncovered guests: "all" must not count.
          job("backup-pool-and-all", { storage: "nfs-backup", pool: "prod", all: 1 }),
          // 105 lives on pve1: a job for pve2 does not back it up.
          job("backup-105-on-pve2", { storage: "nfs-backup", vmid: "105", node: "pve2" }),
          job("backup-106", { storage: "nfs-backup", vmid: "106", all: 1 }),
        ];
      },
      (t) => t.root,
      ["backup-coverage"],
    );
    const uncovered = report.findings.flatMap((f) => (f.check === "backup-coverage" ? [f.object] : []));
    expect(uncovered).toContain("VM 105");
    expect(uncovered).toContain("VM 107");
    expect(uncovered).not.toContain("VM 106");
  });
});
