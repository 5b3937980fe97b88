/**
 * The built CLI's audit and doctor commands, end to end, for the cases a person meets:
 * healthy, wrong secret, wrong fingerprint, port closed, privileged read token. audit
 * exits 0 (nothing at or above high), 1 (findings at or above high) or 2 (could not
 * run, with one actionable line on stderr); doctor exits 0 or 1 with a line per step.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_CHECKS } from "../../src/audit/index.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { testScenario } from "../helpers/scenarios.js";
import { killLeftovers, runCli, simEnv, type RunResult } from "./harness.js";

const WRONG_SECRET = "00000000-0000-4000-8000-000000000000";

/** Runs a Node script to completion (stdin closed). */
function runNode(script: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [script],
      { env: { PATH: process.env["PATH"] ?? "" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

let sim: Simulator;
let clean: Simulator;
/** A port nothing listens on: a simulator's, after it closed. */
let closedPort: number;

beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
  clean = await startSimulator({ scenario: cleanScenario() });
  const gone = await startSimulator({ scenario: testScenario() });
  closedPort = gone.port;
  await gone.close();
});

afterAll(async () => {
  await sim?.close();
  await clean?.close();
  killLeftovers();
});

/** A different, well-formed fingerprint: the real one with its first byte changed. */
const otherFingerprint = (fingerprint: string) =>
  `${fingerprint.startsWith("AA") ? "BB" : "AA"}${fingerprint.slice(2)}`;

/** audit's "could not run": exit 2, nothing on stdout, one line on stderr, no secret. */
function cannotRun(result: RunResult): string {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe("");
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^proxmox-mcp audit: /);
  for (const token of Object.values(sim.tokens)) expect(result.stderr).not.toContain(token.secret);
  return lines[0]!;
}

/** The doctor's step lines as "mark step". */
const steps = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => /^[✓✗!-] /.test(line))
    .map((line) => line.slice(0, line.indexOf(":")));

describe("healthy: the simulator with its auditor token", () => {
  it("doctor: every step ✓ (DNS skipped for an IP address), exit 0", async () => {
    const { code, stdout } = await runCli(["doctor"], simEnv(sim));
    expect(code, stdout).toBe(0);
    expect(steps(stdout).filter((s) => !s.startsWith("✓"))).toEqual(["- DNS", "- dangerous mode", "- PBS"]);
    expect(stdout).toContain(`PROXMOX_TLS_FINGERPRINT=${sim.fingerprint}`);
    expect(stdout).toMatch(/All good\.\n$/);
  });

  it("audit: exit 1 on the demo cluster, whose planted problems include high ones", async () => {
    const { code, stdout, stderr } = await runCli(["audit"], simEnv(sim));
    expect(code, stderr).toBe(1);
    expect(stdout.length).toBeGreaterThan(0);
    expect(stdout).not.toContain("\x1b[");
  });

  it("audit --demo (the README's first command): exit 1, the report on stdout", async () => {
    const { code, stdout, stderr } = await runCli(["audit", "--demo"]);
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/demo mode, simulated cluster at https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout.length).toBeGreaterThan(0);
  });

  it("audit: exit 0 on a clean cluster, --json gives nothing at or above high", async () => {
    const text = await runCli(["audit"], simEnv(clean));
    expect(text.code, text.stdout + text.stderr).toBe(0);
    const json = await runCli(["audit", "--json"], simEnv(clean));
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { findings: { severity: string }[]; errors: unknown[] };
    expect(report.findings.filter((f) => f.severity === "critical" || f.severity === "high")).toEqual([]);
    expect(report.errors).toEqual([]);
  });

  it('npm run demo is the audit of the demo cluster ("one command on a fresh machine"), and succeeds', async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["demo"]).toBe("node scripts/build.mjs --if-changed && node scripts/demo-audit.mjs");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme.slice(0, readme.indexOf("## "))).toContain("npm ci && npm run demo");
    // The script after the build: the audit finds the planted problems (its exit 1), the demo exits 0.
    const { code, stdout, stderr } = await runNode(
      fileURLToPath(new URL("../../scripts/demo-audit.mjs", import.meta.url)),
    );
    expect(stdout).toMatch(
      new RegExp(`^Security audit of cluster lab at .*: ${AUDIT_CHECKS.length} checks; 5 critical, `, "m"),
    );
    expect(stderr).toContain(
      "proxmox-mcp audit exited 1: findings at or above high, planted in the demo cluster",
    );
    expect(code).toBe(0);
  });
});

describe("wrong secret (401)", () => {
  const env = () => simEnv(sim, { id: sim.tokens.auditor.id, secret: WRONG_SECRET });

  it("audit: exit 2 with the 401 explained", async () => {
    expect(cannotRun(await runCli(["audit"], env()))).toBe(
      `proxmox-mcp audit: cannot run the audit: Proxmox refused the token ${sim.tokens.auditor.id} (401): the secret is wrong, or the token or its user is expired or disabled. Check PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (Datacenter > Permissions > API Tokens).`,
    );
  });

  it("doctor: ✗ token with the fix, after ✓ TCP and TLS", async () => {
    const { code, stdout } = await runCli(["doctor"], env());
    expect(code).toBe(1);
    expect(steps(stdout)).toEqual(["✓ configuration", "- DNS", "✓ TCP", "✓ TLS", "✗ token", "- PBS"]);
    expect(stdout).toContain(
      `✗ token: Proxmox refused the token ${sim.tokens.auditor.id} (401): the secret is wrong, or the token or its user is expired or disabled. Check PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET`,
    );
    expect(stdout).not.toContain(WRONG_SECRET);
  });
});

describe("wrong fingerprint", () => {
  const env = () =>
    simEnv(sim, sim.tokens.auditor, { PROXMOX_TLS_FINGERPRINT: otherFingerprint(sim.fingerprint) });

  it("audit: exit 2, both fingerprints named, nothing sent", async () => {
    const before = sim.requests().length;
    const line = cannotRun(await runCli(["audit"], env()));
    expect(line).toContain(
      `has SHA-256 fingerprint ${sim.fingerprint}, but ${otherFingerprint(sim.fingerprint)} is pinned`,
    );
    expect(line).toContain("pin the new fingerprint in PROXMOX_TLS_FINGERPRINT");
    expect(sim.requests().length).toBe(before);
  });

  it("doctor: ✗ TLS with the pinned and the served fingerprint, and the line to pin", async () => {
    const { code, stdout } = await runCli(["doctor"], env());
    expect(code).toBe(1);
    expect(steps(stdout)).toEqual(["✓ configuration", "- DNS", "✓ TCP", "✗ TLS", "- PBS"]);
    expect(stdout).toContain(`    pinned (PROXMOX_TLS_FINGERPRINT): ${otherFingerprint(sim.fingerprint)}\n`);
    expect(stdout).toContain(`    server's certificate:             ${sim.fingerprint}\n`);
    expect(stdout).toContain(`pin the new one: PROXMOX_TLS_FINGERPRINT=${sim.fingerprint}\n`);
  });
});

describe("port closed", () => {
  const env = () => simEnv(sim, sim.tokens.auditor, { PROXMOX_PORT: String(closedPort) });

  it("audit: exit 2, the connection refused with what to check", async () => {
    const line = cannotRun(await runCli(["audit"], env()));
    expect(line).toContain(`127.0.0.1:${closedPort}`);
    expect(line).toContain("ECONNREFUSED");
    expect(line).toContain("check PROXMOX_HOST, PROXMOX_PORT and the firewall");
  });

  it("doctor: ✗ TCP with the fix, TLS not tried", async () => {
    const { code, stdout } = await runCli(["doctor"], env());
    expect(code).toBe(1);
    expect(steps(stdout)).toEqual(["✓ configuration", "- DNS", "✗ TCP", "- PBS"]);
    expect(stdout).toContain(`✗ TCP: nothing listens on 127.0.0.1:${closedPort} (connection refused)\n`);
    expect(stdout).toContain(
      "    fix: check PROXMOX_PORT (the API listens on 8006) and that pveproxy runs on the node",
    );
  });
});

describe("privileged read token (root@pam)", () => {
  const env = () => simEnv(sim, sim.tokens.root);

  it("audit: exit 2, refused as serve refuses it, with the pveum fix", async () => {
    const line = cannotRun(await runCli(["audit"], env()));
    expect(line).toContain(`the read token ${sim.tokens.root.id} can change things`);
    expect(line).toContain("Sys.Modify");
    // The fix is a token of a user of its own, never another root@pam token (which the audit flags).
    expect(line).toContain(
      "pveum user add mcp@pve && pveum acl modify / --users mcp@pve --roles PVEAuditor && " +
        "pveum user token add mcp@pve readonly --privsep 1 && " +
        "pveum acl modify / --tokens 'mcp@pve!readonly' --roles PVEAuditor",
    );
    expect(line).not.toContain("token add root@pam");
  });

  it("doctor: ✗ privileges with the fix; the tools are not listed", async () => {
    const { code, stdout } = await runCli(["doctor"], env());
    expect(code).toBe(1);
    expect(steps(stdout)).toEqual([
      "✓ configuration",
      "- DNS",
      "✓ TCP",
      "✓ TLS",
      "✓ token",
      "✗ privileges",
      "- PBS",
    ]);
    expect(stdout).toContain("pveum user token add mcp@pve readonly --privsep 1");
    expect(stdout).not.toContain("token add root@pam");
  });
});

describe("no configuration at all", () => {
  it("audit: exit 2 naming each missing variable; doctor: ✗ configuration, exit 1", async () => {
    const audit = await runCli(["audit"]);
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain("proxmox-mcp audit: PROXMOX_HOST is required");
    const doctor = await runCli(["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("✗ configuration: PROXMOX_HOST is required");
  });
});
