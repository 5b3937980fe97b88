/**
 * Checks the demo does not exercise, each against the clean scenario with one problem
 * planted (and only the checks concerned run): release end of life, quorum, HA fence,
 * a node's firewall switched off, a guest with policy ACCEPT, an expired certificate,
 * an expired token, pool-based backup jobs, a stale backup, an open host rule,
 * non-security updates, update repositories against the subscription. And tokens that
 * see little: every 403 is a stated gap.
 */
import { describe, expect, it } from "vitest";
import {
  formatReportCompact,
  isGapFinding,
  runAudit,
  type AuditReader,
  type RunAuditOptions,
} from "../../src/audit/index.js";
import { startSimulator, type SimulatorOptions } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { readerFor } from "./reader.js";

type Token = { id: string; secret: string };

/**
 * Runs the audit against `scenario` with its root token (or `token`), the reader passed
 * through `wrap` (to change answers the simulator cannot give), then stops the simulator.
 */
async function audit(
  scenario: ScenarioInput,
  options: RunAuditOptions = {},
  sim: Omit<SimulatorOptions, "scenario"> = {},
  token?: Token,
  wrap: (reader: AuditReader) => AuditReader = (reader) => reader,
) {
  const server = await startSimulator({ ...sim, scenario });
  const reader = readerFor(server, token ?? server.tokens.root);
  try {
    return await runAudit(wrap(reader), options);
  } finally {
    await reader.close();
    await server.close();
  }
}

const lines = (report: Awaited<ReturnType<typeof audit>>) =>
  report.findings.map((f) => `${f.severity} ${f.check} ${f.object}`);

const offlineNode = (name: string, nodeid: number) => ({
  name,
  nodeid,
  ip: `192.0.2.${10 + nodeid}`,
  online: false,
  memTotal: 1024 ** 3,
  memUsed: 0,
  rootfsTotal: 1024 ** 3,
  rootfsUsed: 0,
});

describe("release end of life (table in src/audit/eol.ts, clock from options.now)", () => {
  it("PVE 8 after 2026-08-31: high, on every node", async () => {
    const report = await audit(cleanScenario(), { checks: ["pve-eol"] }, { pve: 8 });
    expect(lines(report)).toEqual(["high pve-eol pve1", "high pve-eol pve2"]);
    expect(report.findings[0]!.title).toMatch(
      /^pve1 runs Proxmox VE 8\.4\.\d+, past its end of life \(2026-08-31\)$/,
    );
    expect(report.findings[0]!.remediation).toContain("pve8to9");
  });

  it("PVE 8 less than 90 days before its end of life: medium", async () => {
    const report = await audit(
      cleanScenario(),
      { checks: ["pve-eol"], now: new Date("2026-07-01T00:00:00Z") },
      { pve: 8 },
    );
    expect(lines(report)).toEqual(["medium pve-eol pve1", "medium pve-eol pve2"]);
    expect(report.findings[0]!.title).toContain("whose end of life is 2026-08-31 (in 61 d)");
  });

  it("one node left on PVE 7: only that one", async () => {
    const s = cleanScenario();
    s.nodes[1]!.pveManager = "7.4.19";
    const report = await audit(s, { checks: ["pve-eol"] });
    expect(lines(report)).toEqual(["high pve-eol pve2"]);
    expect(report.findings[0]!.evidence).toContain("2024-07-31");
  });
});

describe("cluster health", () => {
  it("two of four nodes down: no quorum (critical), both nodes offline", async () => {
    const s = cleanScenario();
    s.nodes.push(offlineNode("pve3", 3), offlineNode("pve4", 4));
    const report = await audit(s, { checks: ["cluster-quorum", "node-offline"] });
    expect(lines(report)).toEqual([
      "critical cluster-quorum cluster clean",
      "high node-offline pve3",
      "high node-offline pve4",
    ]);
    expect(report.findings[0]!.evidence).toMatch(/^2 of 4 nodes online/);
  });

  it("an HA guest on a node that went down: fence", async () => {
    const s = cleanScenario();
    s.nodes.push(offlineNode("pve3", 3));
    s.guests!.push({
      vmid: 300,
      type: "qemu",
      name: "ha-app",
      node: "pve3",
      status: "running",
      cpus: 1,
      maxmem: 1024 ** 3,
      maxdisk: 1024 ** 3,
      ha: { state: "started" },
    });
    const report = await audit(s, { checks: ["ha-error"] });
    expect(lines(report)).toEqual(["high ha-error vm:300"]);
    expect(report.findings[0]!.title).toBe("HA resource vm:300 is in state fence on pve3");
  });
});

describe("firewall", () => {
  it("a node's own switch off, a guest with policy ACCEPT, SSH open to all on a host", async () => {
    const s = cleanScenario();
    s.nodes[0]!.firewall = {
      options: { enable: 0 },
      rules: [{ type: "in", action: "ACCEPT", proto: "tcp", dport: "22,443", enable: 1 }],
    };
    s.guests![0]!.firewall = { options: { enable: 1, policy_in: "ACCEPT" }, rules: [] };
    const report = await audit(s, { checks: ["firewall-node", "firewall-guest", "firewall-open-rule"] });
    expect(lines(report)).toEqual([
      "medium firewall-node pve1",
      "medium firewall-open-rule pve1 rule 0",
      "low firewall-guest VM 100",
    ]);
    expect(report.findings[1]!.evidence).toBe("in ACCEPT port 22 (SSH), no source, proto tcp");
    expect(report.findings[2]!.title).toBe("Firewall input policy of VM 100 (web) is ACCEPT");
  });
});

describe("certificates and tokens", () => {
  it("an expired custom certificate: high", async () => {
    const s = cleanScenario();
    s.nodes[0]!.certificates = {
      custom: { subject: "/CN=pve1.clean.example", notbefore: "now-92d", notafter: "now-2d" },
    };
    const report = await audit(s, { checks: ["cert-expiry"] });
    expect(lines(report)).toEqual(["high cert-expiry pveproxy-ssl.pem on pve1"]);
    expect(report.findings[0]!.title).toMatch(/expired 2 d ago$/);
  });

  it("an expired token still configured, and a user whose only factor is disabled", async () => {
    const s = cleanScenario();
    const ops = s.users!.find((u) => u.userid === "ops@pve")!;
    ops.tokens![0]!.expire = "now-3d";
    ops.tfa = [{ id: "webauthn-ops", type: "webauthn", created: "now-100d", enable: 0 }];
    const report = await audit(s, { checks: ["token-expiry", "user-tfa"] });
    expect(lines(report)).toEqual(["medium user-tfa ops@pve", "low token-expiry ops@pve!admin"]);
    expect(report.findings[1]!.title).toBe("Token ops@pve!admin expired 3 d ago and is still configured");
    expect(report.findings[0]!.evidence).toContain("only recovery keys or disabled factors");
  });

  it("root@pam without a second factor is high", async () => {
    const s = cleanScenario();
    s.users!.find((u) => u.userid === "root@pam")!.tfa = [];
    const report = await audit(s, { checks: ["user-tfa"] });
    expect(lines(report)).toEqual(["high user-tfa root@pam"]);
  });
});

describe("backups", () => {
  it("a pool-based job covers the pool's guests only; a guest outside the pool is named", async () => {
    const s = cleanScenario();
    s.backupJobs = [{ id: "backup-prod", schedule: "01:00", storage: "backup", pool: "prod" }];
    delete s.guests![2]!.pool;
    const report = await audit(s, { checks: ["backup-coverage"] });
    expect(lines(report)).toEqual(["high backup-coverage CT 200"]);
    expect(report.findings[0]!.evidence).toMatch(/^in no backup job; last backup 24 h ago on backup$/);
  });

  it("a stale backup (10 days), and a guest in an enabled job without any backup", async () => {
    const s = cleanScenario();
    const store = s.storages!.find((x) => x.storage === "backup")!;
    store.volumes = store
      .volumes!.filter((v) => v.vmid !== 200)
      .map((v) => (v.vmid === 101 ? { ...v, ctime: "now-10d" } : v));
    const report = await audit(s, { checks: ["backup-age"] });
    expect(lines(report)).toEqual(["high backup-age CT 200", "medium backup-age VM 101"]);
    expect(report.findings[0]!.evidence).toBe(
      "in job(s) backup-nightly; no backup volume on any visible backup storage",
    );
  });

  it("a disabled job does not count as coverage, an excluded guest is named with its job", async () => {
    const s = cleanScenario();
    s.backupJobs = [
      { id: "backup-nightly", schedule: "01:00", storage: "backup", all: 1, exclude: "101" },
      { id: "backup-db", schedule: "02:00", storage: "backup", vmid: "101", enabled: 0 },
    ];
    const report = await audit(s, { checks: ["backup-coverage"] });
    expect(lines(report)).toEqual(["high backup-coverage VM 101"]);
    expect(report.findings[0]!.evidence).toMatch(/^only in disabled job\(s\) backup-db/);
  });
});

describe("updates", () => {
  it("updates that are not security-relevant: low", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptUpdates = [
      {
        Package: "vim",
        Title: "Vi IMproved",
        Description: "editor",
        Version: "2:9.1.1-2",
        OldVersion: "2:9.1.1-1",
        Origin: "Debian",
        Arch: "amd64",
        Section: "editors",
        Priority: "optional",
      },
    ];
    const report = await audit(s, { checks: ["updates-pending"] });
    expect(lines(report)).toEqual(["low updates-pending pve1"]);
    expect(report.findings[0]!.evidence).toBe("vim");
  });
});

type Entry = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A reader whose GET apt/repositories answers pass through `edit` first. */
function editingRepositories(edit: (node: string, answer: Entry) => void) {
  return (inner: AuditReader): AuditReader => ({
    async get<T>(...args: Parameters<AuditReader["get"]>): Promise<T> {
      const data = await inner.get<T>(...args);
      if (args[0] === "/nodes/{node}/apt/repositories") edit(String(args[1]?.["node"]), data as Entry);
      return data;
    },
  });
}

describe("update repositories against the subscription (subscription)", () => {
  const withoutSubscription = (s: ScenarioInput) => {
    s.nodes[0]!.level = "";
    s.nodes[0]!.subscription = { status: "notfound" };
    return s;
  };
  const only = { checks: ["subscription"] };

  it("a fresh install without a subscription: the PVE and Ceph enterprise repositories, each with its file and fix", async () => {
    const report = await audit(withoutSubscription(cleanScenario()), only);
    expect(lines(report)).toEqual([
      "high subscription enterprise repository on pve1",
      "low subscription ceph-squid-enterprise repository on pve1",
    ]);
    const [pve, ceph] = report.findings;
    expect(pve).toMatchObject({
      title: "Enterprise repository enabled on pve1 without an active subscription",
      evidence:
        "subscription status notfound; enabled in /etc/apt/sources.list.d/pve-enterprise.sources: apt update gets 401 Unauthorized from it, so no Proxmox VE updates arrive (kernel, QEMU, pve-manager)",
      remediation:
        'in pve1 > Updates > Repositories disable it (or add "Enabled: false" to its entry in /etc/apt/sources.list.d/pve-enterprise.sources) and Add > No-Subscription, or add a subscription key',
    });
    expect(ceph!.title).toBe(
      "Ceph Squid Enterprise repository enabled on pve1 without an active subscription",
    );
    expect(ceph!.evidence).toContain("enabled in /etc/apt/sources.list.d/ceph.sources");
    // Low: the installer enables it whether Ceph is used or not.
    expect(ceph!.evidence).toContain("so if this node runs Ceph, no Ceph updates arrive");
    expect(ceph!.remediation).toContain("if the node runs Ceph, Add > Ceph Squid No-Subscription too");
  });

  it("the same repositories with an active subscription: nothing (the clean scenario as it is)", async () => {
    expect(lines(await audit(cleanScenario(), only))).toEqual([]);
  });

  it("no subscription, enterprise disabled and no-subscription enabled (PVE and Ceph): nothing, no 'fail' claim", async () => {
    const s = withoutSubscription(cleanScenario());
    s.nodes[0]!.aptRepositories = {
      enterprise: false,
      "no-subscription": true,
      "ceph-squid-enterprise": false,
      "ceph-squid-no-subscription": true,
    };
    const report = await audit(s, only);
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([]);
  });

  it("enterprise still enabled beside no-subscription: low, updates still arrive, the fix is to disable it", async () => {
    const s = withoutSubscription(cleanScenario());
    s.nodes[0]!.aptRepositories = { enterprise: true, "no-subscription": true };
    const report = await audit(s, only);
    expect(lines(report)).toEqual(["low subscription enterprise repository on pve1"]);
    expect(report.findings[0]!.evidence).toContain(
      "every run reports that error (Proxmox VE updates still come from No-Subscription)",
    );
    expect(report.findings[0]!.remediation).toBe(
      'disable it in pve1 > Updates > Repositories (or add "Enabled: false" to its entry in /etc/apt/sources.list.d/pve-enterprise.sources), or add a subscription key',
    );
  });

  it("a Ceph enterprise repository beside another Ceph release's no-subscription one: low, Ceph updates arrive", async () => {
    const s = withoutSubscription(cleanScenario());
    s.nodes[0]!.aptRepositories = {
      "no-subscription": true,
      "ceph-quincy-enterprise": true,
      "ceph-reef-no-subscription": true,
    };
    const report = await audit(s, only, { pve: 8 });
    expect(lines(report)).toEqual(["low subscription ceph-quincy-enterprise repository on pve1"]);
    expect(report.findings[0]!.evidence).toContain(
      "every run reports that error (Ceph updates still come from Ceph Reef No-Subscription)",
    );
  });

  it("no PVE repository enabled at all: high, with or without a subscription", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptRepositories = { enterprise: false, "ceph-squid-no-subscription": true };
    s.nodes[1]!.aptRepositories = {};
    const report = await audit(s, only);
    expect(lines(report)).toEqual(["high subscription pve1", "high subscription pve2"]);
    expect(report.findings[0]!.title).toBe("No Proxmox VE repository is enabled on pve1");
    expect(report.findings[0]!.remediation).toBe(
      "pve1 > Updates > Repositories > Add: Enterprise with a subscription, else No-Subscription",
    );
  });

  it("PVE 8: one-line files, so the manual fix is to comment the line out", async () => {
    const report = await audit(withoutSubscription(cleanScenario()), only, { pve: 8 });
    expect(lines(report)).toEqual([
      "high subscription enterprise repository on pve1",
      "low subscription ceph-quincy-enterprise repository on pve1",
    ]);
    expect(report.findings[0]!.remediation).toContain(
      "comment out its line in /etc/apt/sources.list.d/pve-enterprise.list",
    );
    expect(report.findings[1]!.remediation).toContain(
      "comment out its line in /etc/apt/sources.list.d/ceph.list); if the node runs Ceph, Add > Ceph Quincy No-Subscription",
    );
  });

  it("repositories not readable (403): a gap naming Sys.Audit on that node, no claim; the readable node is checked", async () => {
    const s = testScenario();
    s.nodes[1]!.aptRepositories = { enterprise: true };
    const report = await audit(s, only, {}, TEST_TOKENS.oneNode);
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "high subscription enterprise repository on pve2",
      "info subscription the update repositories of pve1",
    ]);
    expect(report.findings[1]!.title).toBe(
      "Could not check the update repositories of pve1: needs Sys.Audit on /nodes/pve1",
    );
  });

  it("a local mirror that carries pve-no-subscription counts as a PVE repository", async () => {
    const s = cleanScenario();
    s.nodes[0]!.aptRepositories = {};
    s.nodes[1]!.aptRepositories = {};
    const mirror = editingRepositories((node, answer) => {
      if (node !== "pve1") return;
      answer["files"].push({
        path: "/etc/apt/sources.list.d/mirror.sources",
        "file-type": "sources",
        repositories: [
          {
            Types: ["deb"],
            URIs: ["http://mirror.lan/proxmox/pve"],
            Suites: ["trixie"],
            Components: ["pve-no-subscription"],
            FileType: "sources",
            Enabled: true,
          },
        ],
      });
    });
    expect(lines(await audit(s, only, {}, undefined, mirror))).toEqual(["high subscription pve2"]);
  });

  it("an answer without standard repositories: the check says it could not tell, never 'no repository'", async () => {
    const report = await audit(
      withoutSubscription(cleanScenario()),
      only,
      {},
      undefined,
      editingRepositories((node, answer) => {
        if (node === "pve1") delete answer["standard-repos"];
      }),
    );
    expect(lines(report)).toEqual([]);
    expect(report.errors).toEqual([
      {
        check: "subscription",
        message: "node pve1: PVE listed no standard repositories, so whether updates arrive is unknown",
      },
    ]);
  });
});

describe("tokens that see little: every 403 or silent filter is a gap, none is a silent pass", () => {
  it("no ACL at all (empty@pve!tk): gaps for everything PVE hides or refuses, no error", async () => {
    const report = await audit(testScenario(), {}, {}, TEST_TOKENS.empty);
    expect(report.errors).toEqual([]);
    expect(report.cluster).toBeNull();
    const gaps = report.findings
      .filter(isGapFinding)
      .map((f) => `${f.object} | ${f.title.split(": needs ")[1]}`);
    expect(gaps).toEqual(
      expect.arrayContaining([
        "guests this token may not see (PVE lists only guests with VM.Audit) | VM.Audit on /vms",
        "users and their tokens (PVE lists only users of groups this token may audit) | Sys.Audit on /access/groups",
        "the ACL (PVE lists only entries this token may modify) | Sys.Audit on /access",
        "the cluster firewall options | Sys.Audit on /",
        "backup jobs | Sys.Audit on /",
        "quorum (cluster status) | Sys.Audit on /",
        "HA resource states | Sys.Audit on /",
        "tasks of other users (PVE lists only this token's own tasks) | Sys.Audit on /",
        "pending updates on pve1, pve2 | Sys.Modify on /nodes/{node}",
        "disk health on pve1, pve2 | Sys.Audit on /nodes/{node}",
        "failed logins in the syslog of pve1, pve2 | Sys.Syslog on /nodes/{node}",
        "the update repositories of pve1, pve2 | Sys.Audit on /nodes/{node}",
        "storages this token may not see (PVE lists only storages with Datastore.Audit) | Datastore.Audit on /storage",
      ]),
    );
    // What any token may see is still checked: pve3 offline, pve2's certificate. Without the
    // repositories, pve2's missing subscription is no finding: whether it matters is unknown.
    expect(report.findings.filter((f) => !isGapFinding(f)).map((f) => `${f.check} ${f.object}`)).toEqual([
      "node-offline pve3",
      "cert-expiry pveproxy-ssl.pem on pve2",
      "cert-weak pve-ssl.pem on pve2",
      "cert-weak pveproxy on pve1",
    ]);
    // One line per gap in the text, each with the privilege.
    expect(formatReportCompact(report)).toContain(
      "INFO acl-broad-admin NOT VISIBLE the ACL (PVE lists only entries this token may modify) (needs Sys.Audit on /access)",
    );
  });

  it("PVEAuditor on one node only (onenode@pve!tk): pve1's refusals are gaps, pve2 is checked", async () => {
    const report = await audit(
      testScenario(),
      { checks: ["disk-smart", "firewall-node"] },
      {},
      TEST_TOKENS.oneNode,
    );
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "high disk-smart /dev/sdb on pve2",
      "info disk-smart disk health on pve1",
      "info firewall-node the host firewall options of pve1",
    ]);
    expect(report.findings[1]!.title).toBe(
      "Could not check disk health on pve1: needs Sys.Audit on /nodes/pve1",
    );
  });
});
