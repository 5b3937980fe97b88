/**
 * `proxmox-mcp audit` in-process against the simulator: the report for people or as
 * JSON, --min-severity, colour only on a terminal, the token check as serve runs it,
 * and the exit code: 0 nothing at or above high, 1 findings at or above high, 2 could not run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isGapFinding, SEVERITIES, type AuditReport, type Finding } from "../../src/audit/index.js";
import { runAuditCommand } from "../../src/commands/audit.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { simEnv } from "../e2e/harness.js";
import { testScenario } from "../helpers/scenarios.js";
import { runIn, type Ran } from "./io.js";

let sim: Simulator;
const outputs: Ran[] = [];
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(async () => {
  // Whatever a run printed, no token secret was in it.
  for (const { stdout, stderr } of outputs) {
    for (const token of Object.values(sim.tokens)) expect(stdout + stderr).not.toContain(token.secret);
  }
  await sim.close();
});
beforeEach(() => sim.clearRequests());

async function audit(argv: string[], env: Record<string, string> = simEnv(sim), tty = false): Promise<Ran> {
  const ran = await runIn(runAuditCommand, argv, env, { tty });
  outputs.push(ran);
  return ran;
}

const atLeastHigh = (report: AuditReport) =>
  report.findings.some((f) => SEVERITIES.indexOf(f.severity) <= SEVERITIES.indexOf("high"));

describe("audit", () => {
  it("--json prints the AuditReport; exit 1 because the demo cluster has findings at or above high", async () => {
    const { code, stdout, stderr } = await audit(["--json"]);
    const report = JSON.parse(stdout) as AuditReport;
    expect(report.checksRun).toBeGreaterThan(0);
    expect(report.findings.length).toBeGreaterThan(0);
    for (const f of report.findings) {
      expect(SEVERITIES).toContain(f.severity);
      expect(f.object).not.toBe("");
    }
    expect(atLeastHigh(report)).toBe(true);
    expect(code, stderr).toBe(1);
    // Read-only all the way: the audit only ever GETs, with the read token.
    expect(new Set(sim.requests().map((r) => `${r.method} ${r.tokenId}`))).toEqual(
      new Set([`GET ${sim.tokens.auditor.id}`]),
    );
  });

  it("prints the report for people, without colour when stdout is not a terminal", async () => {
    const { code, stdout } = await audit([]);
    expect(code).toBe(1);
    expect(stdout.length).toBeGreaterThan(0);
    expect(stdout).not.toContain("\x1b[");
  });

  it("colours the report on a terminal, unless NO_COLOR is set", async () => {
    expect((await audit([], simEnv(sim), true)).stdout).toContain("\x1b[");
    const plain = await audit([], simEnv(sim, sim.tokens.auditor, { NO_COLOR: "1" }), true);
    expect(plain.stdout).not.toContain("\x1b[");
  });

  it("--min-severity leaves out what is below it (visibility gaps stay), and the exit code follows", async () => {
    const all = JSON.parse((await audit(["--json"])).stdout) as AuditReport;
    // Titles may say "3 h ago": compared without them, two runs a moment apart agree.
    const key = (f: Finding) => `${f.check} ${f.object}`;
    for (const severity of SEVERITIES) {
      const { code, stdout } = await audit(["--json", "--min-severity", severity]);
      const report = JSON.parse(stdout) as AuditReport;
      const expected = all.findings.filter(
        (f) => SEVERITIES.indexOf(f.severity) <= SEVERITIES.indexOf(severity) || isGapFinding(f),
      );
      expect(report.findings.map(key).sort()).toEqual(expected.map(key).sort());
      expect(code).toBe(atLeastHigh(report) ? 1 : report.errors.length > 0 ? 2 : 0);
    }
    // The demo cluster has critical findings: even --min-severity critical exits 1.
    expect(all.findings.some((f) => f.severity === "critical")).toBe(true);
  });

  it("exit 2 when checks failed and nothing at or above high was found: the cluster cannot be called clean", async () => {
    // The token check passes; every read of the audit itself fails.
    sim.faults.add({
      kind: "status",
      path: /^(?!\/access\/permissions$)/,
      status: 500,
      message: "Internal error",
    });
    try {
      const { code, stdout, stderr } = await audit([]);
      expect(stdout).toContain("CHECKS THAT FAILED");
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /^proxmox-mcp audit: \d+ check\(s\) could not run in full \(.+\), so the cluster cannot be called clean; see the report\n$/,
      );
    } finally {
      sim.faults.clear();
    }
  });

  it("refuses a bad --min-severity or an unknown option before any request (exit 2)", async () => {
    const bad = await audit(["--min-severity", "severe"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `proxmox-mcp audit: --min-severity must be one of ${SEVERITIES.join(", ")} (example: --min-severity high)\n`,
    );
    const unknown = await audit(["--fix"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--fix");
    expect(sim.requests()).toEqual([]);
  });

  it("a privileged read token: exit 2 with serve's refusal and the pveum fix, and no audit", async () => {
    const { code, stdout, stderr } = await audit([], simEnv(sim, sim.tokens.root));
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^proxmox-mcp audit: the read token root@pam!sim can change things \(/);
    expect(stderr).toContain(
      "pveum user add mcp@pve && pveum acl modify / --users mcp@pve --roles PVEAuditor && pveum user token add mcp@pve readonly --privsep 1",
    );
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(sim.requests().map((r) => r.path)).toEqual(["/access/permissions"]);
  });

  it("runs with a privileged token the operator allowed, with serve's warning", async () => {
    const { code, stderr } = await audit(
      ["--json"],
      simEnv(sim, sim.tokens.root, { PROXMOX_ALLOW_PRIVILEGED_TOKEN: "true" }),
    );
    expect(code).toBe(1);
    expect(stderr).toContain(
      "warning: the read token can change things (PROXMOX_ALLOW_PRIVILEGED_TOKEN=true)",
    );
  });

  it("a bad configuration: exit 2, one line per problem", async () => {
    const { code, stdout, stderr } = await audit([], { PROXMOX_HOST: "pve.example.com" });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("proxmox-mcp audit: PROXMOX_TOKEN_ID is required");
  });

  it("--help prints the usage with the exit codes", async () => {
    const { code, stdout } = await audit(["--help"], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: proxmox-mcp audit/);
    expect(stdout).toContain("Exit code: 0");
  });
});
