/**
 * The clean scenario (tests/helpers/clean-scenario.ts): the audit finds nothing above
 * info. With its full-visibility token it sees everything (no gap, and the reads that
 * PVE filters really returned data); with its PVEAuditor token only the three gaps a
 * read-only token always has remain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGapFinding, runAudit, type AuditReport } from "../../src/audit/index.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { readerFor } from "./reader.js";

let sim: Simulator;
let root: AuditReport;
let auditor: AuditReport;
let rootRequests: ReturnType<Simulator["requests"]>;

beforeAll(async () => {
  sim = await startSimulator({ scenario: cleanScenario() });
  const asRoot = readerFor(sim, sim.tokens.root);
  root = await runAudit(asRoot);
  rootRequests = sim.requests();
  const asAuditor = readerFor(sim, sim.tokens.auditor);
  auditor = await runAudit(asAuditor);
  await Promise.all([asRoot.close(), asAuditor.close()]);
});

afterAll(async () => {
  await sim?.close();
});

describe("clean cluster, full-visibility token", () => {
  it("no finding at all: nothing above info, no gap, no error", () => {
    expect(root.findings).toEqual([]);
    expect(root.errors).toEqual([]);
    expect(root.cluster).toBe("clean");
  });

  it("it really looked: updates, syslog, backup volumes and task lists were read, every answer 200", () => {
    expect(rootRequests.every((r) => r.status === 200)).toBe(true);
    const paths = rootRequests.map((r) => r.path);
    for (const path of [
      "/nodes/pve1/apt/update",
      "/nodes/pve2/apt/update",
      "/nodes/pve1/syslog",
      "/nodes/pve1/storage/backup/content",
      "/cluster/tasks",
      "/cluster/backup",
      "/access/acl",
      "/nodes/pve2/qemu/101/snapshot",
      "/nodes/pve1/lxc/200/firewall/options",
    ]) {
      expect(paths).toContain(path);
    }
  });
});

describe("clean cluster, PVEAuditor token", () => {
  it("only visibility gaps (info), and no error", () => {
    expect(auditor.errors).toEqual([]);
    expect(auditor.findings.every(isGapFinding)).toBe(true);
    expect(auditor.findings.map((f) => `${f.severity} ${f.check}`)).toEqual([
      "info auth-failures",
      "info backup-age",
      "info updates-pending",
    ]);
  });
});
