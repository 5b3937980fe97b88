/**
 * The corosync checks: traffic without encryption or authentication (secauth off and no
 * crypto_*, or crypto_cipher none), nodes with one link; a standalone node has neither and
 * is not asked.
 */
import { describe, expect, it } from "vitest";
import { runAudit, type AuditReport } from "../../src/audit/index.js";
import { startSimulator } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { readerFor } from "./reader.js";

const CHECKS = ["corosync-crypto", "corosync-single-link"];

async function auditOf(
  change: (scenario: typeof demoScenario) => void,
): Promise<{ report: AuditReport; paths: string[] }> {
  const scenario = structuredClone(demoScenario);
  change(scenario);
  const sim = await startSimulator({ scenario });
  const reader = readerFor(sim, sim.tokens.auditor);
  try {
    const report = await runAudit(reader, { checks: CHECKS });
    return { report, paths: sim.requests().map((r) => r.path) };
  } finally {
    await reader.close();
    await sim.close();
  }
}

const lines = (report: AuditReport) => report.findings.map((f) => `${f.code} ${f.object}: ${f.title}`);

describe("corosync", () => {
  it("the demo: secauth on (encrypted, no finding), one link per node (a finding)", async () => {
    const { report } = await auditOf(() => undefined);
    expect(report.errors).toEqual([]);
    expect(lines(report)).toEqual([
      "PVE-CLU-006 cluster lab: Every node of cluster lab has one corosync link",
    ]);
  });

  it.each([
    [
      "secauth off, no crypto_*",
      { secauth: "off" as const },
      "encrypted",
      "crypto_cipher none, crypto_hash none",
    ],
    [
      "secauth on but crypto_cipher none",
      { secauth: "on" as const, crypto_cipher: "none" },
      "encrypted",
      "crypto_cipher none, crypto_hash sha256",
    ],
    [
      "crypto_cipher set, crypto_hash none",
      { secauth: "off" as const, crypto_cipher: "aes256", crypto_hash: "none" },
      "authenticated",
      "crypto_cipher aes256, crypto_hash none",
    ],
  ])("%s: traffic in the clear is a finding", async (_label, corosync, not, evidence) => {
    const { report } = await auditOf((s) => {
      s.corosync = { ...corosync, links: 2 };
    });
    expect(lines(report)).toEqual([`PVE-CLU-005 cluster lab: Corosync traffic of cluster lab is not ${not}`]);
    expect(report.findings[0]!.evidence).toContain(evidence);
  });

  it("explicit crypto without secauth is fine; two links on every node are fine", async () => {
    const { report } = await auditOf((s) => {
      s.corosync = { secauth: "off", crypto_cipher: "aes256", crypto_hash: "sha256", links: 2 };
    });
    expect(report.findings).toEqual([]);
  });

  it("a standalone node: nothing to report, and /cluster/config is not asked", async () => {
    // No cluster name: /cluster/status has no cluster entry, as on a node never joined.
    const { report, paths } = await auditOf((s) => {
      delete s.clusterName;
    });
    expect(report.findings).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(paths.filter((p) => p.startsWith("/cluster/config"))).toEqual([]);
  });
});
