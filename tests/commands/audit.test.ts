/**
 * `proxmox-mcp audit` in-process against the simulator: the report for people or as
 * JSON, --min-severity, colour only on a terminal, the token check as serve runs it,
 * and the exit code: 0 nothing at or above high, 1 findings at or above high, 2 could not run.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AUDIT_CHECKS,
  isGapFinding,
  SEVERITIES,
  type AuditReport,
  type Finding,
} from "../../src/audit/index.js";
import { reportSchema } from "../../src/audit/report-schema.js";
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

describe("report formats", () => {
  it("--format json is the report as docs/audit-report.schema.json describes it", async () => {
    const { code, stdout } = await audit(["--format", "json"]);
    expect(code).toBe(1);
    const report = reportSchema.strict().parse(JSON.parse(stdout));
    expect(report.waived).toEqual([]);
    expect(report.unusedWaivers).toEqual([]);
    expect(report.findings.every((f) => /^PVE-[A-Z]{3}-\d{3}$/.test(f.code))).toBe(true);
  });

  it("--format sarif: SARIF 2.1.0 with one rule per check and one result per finding", async () => {
    const { code, stdout } = await audit(["--format", "sarif"]);
    expect(code).toBe(1);
    const sarif = JSON.parse(stdout) as Sarif;
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.$schema).toBe("https://json.schemastore.org/sarif-2.1.0.json");
    expect(sarif.runs).toHaveLength(1);
    const [run] = sarif.runs;
    const { rules } = run!.tool.driver;
    expect(rules.map((r) => r.id)).toEqual(AUDIT_CHECKS.map((c) => c.code));
    for (const rule of rules) {
      expect(rule.shortDescription.text.length).toBeGreaterThan(10);
      expect(rule.helpUri).toMatch(/^https:\/\//);
      expect(["error", "warning", "note"]).toContain(rule.defaultConfiguration.level);
      expect(Number(rule.properties["security-severity"])).toBeGreaterThanOrEqual(0);
    }
    const report = JSON.parse((await audit(["--json"])).stdout) as AuditReport;
    const findings = report.findings.filter((f) => !isGapFinding(f));
    const gaps = report.findings.filter(isGapFinding);
    expect(gaps.length).toBeGreaterThan(0);
    expect(run!.results).toHaveLength(findings.length);
    const fingerprints = new Set<string>();
    for (const result of run!.results) {
      expect(rules[result.ruleIndex]?.id).toBe(result.ruleId);
      expect(["error", "warning", "note"]).toContain(result.level);
      expect(result.message.text.length).toBeGreaterThan(0);
      expect(result.locations[0]?.logicalLocations[0]?.name).toBeTruthy();
      // Code scanning services refuse results without a physical location.
      expect(result.locations[0]?.physicalLocation.artifactLocation.uri).toMatch(/^proxmox\/lab\/[\w.-]+$/);
      fingerprints.add(result.partialFingerprints["proxmoxFinding/v1"]!);
    }
    // One fingerprint per finding (cluster, code, object, severity), stable from run to run.
    expect(fingerprints.size).toBe(findings.length);
    // What the token could not see is a notification of the run, not a result.
    expect(run!.invocations[0]!.toolExecutionNotifications.map((n) => n.message.text)).toEqual(
      gaps.map((g) => `${g.title}. ${g.remediation}`),
    );
    expect(run!.automationDetails.id).toBe("proxmox-audit/lab/");
    const again = JSON.parse((await audit(["--format", "sarif"])).stdout) as Sarif;
    expect(again.runs[0]!.results.map((r) => r.partialFingerprints["proxmoxFinding/v1"]).sort()).toEqual(
      run!.results.map((r) => r.partialFingerprints["proxmoxFinding/v1"]).sort(),
    );
    expect(run!.invocations[0]!.executionSuccessful).toBe(report.errors.length === 0);
  });

  it("--json and another --format disagree; an unknown format is refused", async () => {
    const both = await audit(["--json", "--format", "sarif"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--json and --format sarif disagree");
    const unknown = await audit(["--format", "xml"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--format must be one of text, json, sarif");
    expect(sim.requests()).toEqual([]);
  });
});

describe("waivers", () => {
  const dir = mkdtempSync(join(tmpdir(), "audit-waivers-"));
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };

  it("a waived finding is listed as waived; an expired waiver's finding is back; an unused waiver is named", async () => {
    const report = JSON.parse((await audit(["--json"])).stdout) as AuditReport;
    const [accepted, lapsed] = report.findings.filter((f) => !isGapFinding(f) && f.severity !== "info");
    const file = write("waivers.json", {
      _comment: "reviewed 2026-12-01",
      waivers: [
        {
          code: accepted!.code,
          object: accepted!.object,
          reason: "known, tracked in LAB-42",
          expires: "2099-12-31",
        },
        { code: lapsed!.code, object: lapsed!.object, reason: "was temporary", expires: "2020-01-31" },
        { code: "PVE-FWL-004", object: "VM 999999", reason: "long gone", expires: "2099-01-01" },
      ],
    });
    const { stdout } = await audit(["--json", "--waivers", file]);
    const waivedReport = reportSchema.strict().parse(JSON.parse(stdout));
    const key = (f: { code: string; object: string }) => `${f.code} ${f.object}`;
    expect(waivedReport.waived.map(key)).toEqual([key(accepted!)]);
    expect(waivedReport.waived[0]!.waiver).toEqual({
      reason: "known, tracked in LAB-42",
      expires: "2099-12-31",
    });
    expect(waivedReport.findings.map(key)).not.toContain(key(accepted!));
    expect(waivedReport.findings.length).toBe(report.findings.length - 1);
    const back = waivedReport.findings.find((f) => key(f) === key(lapsed!));
    expect(back?.evidence).toMatch(/\(its waiver expired 2020-01-31\)$/);
    expect(waivedReport.unusedWaivers.map(key)).toEqual(["PVE-FWL-004 VM 999999"]);

    const text = (await audit(["--waivers", file])).stdout;
    expect(text).toContain(
      `WAIVED (1): accepted until their waiver expires\n  [${accepted!.code} ${accepted!.check}]`,
    );
    expect(text).toContain("      until:  2099-12-31: known, tracked in LAB-42");
    expect(text).toContain("WAIVERS THAT MATCH NO FINDING (1)");

    const sarif = JSON.parse((await audit(["--format", "sarif", "--waivers", file])).stdout) as Sarif;
    const suppressed = sarif.runs[0]!.results.filter((r) => r.suppressions);
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]!.suppressions![0]).toEqual({
      kind: "external",
      status: "accepted",
      justification: "known, tracked in LAB-42 (waived until 2099-12-31)",
    });
  });

  it("a waiver of a finding below --min-severity is neither shown nor called unused; the file is named", async () => {
    const report = JSON.parse((await audit(["--json"])).stdout) as AuditReport;
    const low = report.findings.find((f) => f.severity === "low" && !isGapFinding(f))!;
    const file = write("low.json", {
      waivers: [{ code: low.code, object: low.object, reason: "accepted", expires: "2099-01-01" }],
    });
    const { stdout, stderr } = await audit(["--json", "--min-severity", "high", "--waivers", file]);
    const cut = reportSchema.strict().parse(JSON.parse(stdout));
    expect(cut.waived).toEqual([]);
    expect(cut.unusedWaivers).toEqual([]);
    expect(stderr).toContain(`proxmox-mcp audit: 1 waiver(s) from ${file}`);
  });

  it("waiving every finding at or above high makes the exit code 0 or 2, not 1", async () => {
    const report = JSON.parse((await audit(["--json"])).stdout) as AuditReport;
    const serious = report.findings.filter(
      (f) => SEVERITIES.indexOf(f.severity) <= SEVERITIES.indexOf("high"),
    );
    const file = write("serious.json", {
      waivers: serious.map((f) => ({
        code: f.code,
        object: f.object,
        reason: "accepted risk",
        expires: "2099-01-01",
      })),
    });
    const { code } = await audit(["--waivers", file]);
    expect(code).toBe(report.errors.length > 0 ? 2 : 0);
  });

  it("a broken waivers file: exit 2 before any request, every problem with where it is", async () => {
    const file = write("broken.json", {
      waivers: [
        { code: "PVE-XXX-001", object: "a", reason: "r", expires: "2027-01-01" },
        { code: "PVE-ACC-003", object: "", reason: " ", expires: "2027-02-30" },
        { code: "PVE-ACC-003", object: "b", reason: "r", expires: "2027-01-01", expiry: "typo" },
        { code: "PVE-ACC-003", object: "c", expires: "2027-01-01" },
      ],
      waiver: [],
    });
    const { code, stdout, stderr } = await audit(["--waivers", file]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(`${file}: unknown key "waiver"`);
    expect(stderr).toContain(`${file}: waiver 1: code must be the code of an audit check`);
    expect(stderr).toContain(`${file}: waiver 2: object must name the finding's object`);
    expect(stderr).toContain(`${file}: waiver 2: reason must say why the finding is accepted`);
    expect(stderr).toContain(`${file}: waiver 2: expires must be a date YYYY-MM-DD`);
    expect(stderr).toContain(
      `${file}: waiver 3: unknown key(s) "expiry": a waiver has code, object, reason, expires and optionally severity`,
    );
    expect(stderr).toContain(`${file}: waiver 4: reason is missing`);
    expect(sim.requests()).toEqual([]);
    const missing = await audit(["--waivers", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read the waivers file ${join(dir, "nope.json")}`);
    const notJson = await audit(["--waivers", write("text.json", "{ waivers: [")]);
    expect(notJson.stderr).toMatch(/text\.json is not JSON/);
    const huge = await audit(["--waivers", write("huge.json", " ".repeat(1024 * 1024 + 1))]);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain("is larger than 1048576 bytes: is it the right file?");
  });
});

interface Sarif {
  $schema: string;
  version: string;
  runs: {
    tool: {
      driver: {
        rules: {
          id: string;
          shortDescription: { text: string };
          helpUri: string;
          defaultConfiguration: { level: string };
          properties: Record<string, string>;
        }[];
      };
    };
    invocations: {
      executionSuccessful: boolean;
      toolExecutionNotifications: { message: { text: string } }[];
    }[];
    automationDetails: { id: string };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: {
        physicalLocation: { artifactLocation: { uri: string } };
        logicalLocations: { name: string }[];
      }[];
      partialFingerprints: Record<string, string>;
      suppressions?: { kind: string; status: string; justification: string }[];
    }[];
  }[];
}
