/**
 * `proxmox-mcp doctor` walks the Proxmox Backup Server's chain after PVE's, against the
 * PBS simulator: DNS, TCP, TLS (the PBS_TLS_FINGERPRINT to pin, lower case as PBS shows
 * it), the PBS token, that it may only audit, and what the pbs tools see with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PBS_TOOL_READS, runDoctorCommand } from "../../src/commands/doctor.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { startPbsSimulator, type PbsSimulator } from "../../src/simulator/pbs/index.js";
import { ALL_TOOLS } from "../../src/tools/inventory.js";
import { simEnv } from "../e2e/harness.js";
import { testScenario } from "../helpers/scenarios.js";
import { runIn } from "./io.js";

let sim: Simulator;
let pbsSim: PbsSimulator;
let dir: string;
beforeAll(async () => {
  [sim, pbsSim] = await Promise.all([startSimulator({ scenario: testScenario() }), startPbsSimulator()]);
  dir = mkdtempSync(join(tmpdir(), "doctor-pbs-test-"));
});
afterAll(async () => {
  await Promise.all([sim.close(), pbsSim.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.clearRequests();
  pbsSim.clearRequests();
});

const doctor = (env: Record<string, string>, argv: string[] = []) => runIn(runDoctorCommand, argv, env);

/** PVE's auditor settings plus PBS's for `token`, pinned to the PBS simulator's certificate. */
const pbsEnv = (
  token: { id: string; secret: string } = pbsSim.tokens.auditor,
  overrides: Record<string, string> = {},
): Record<string, string> => ({
  ...simEnv(sim),
  PBS_HOST: "127.0.0.1",
  PBS_PORT: String(pbsSim.port),
  PBS_TOKEN_ID: token.id,
  PBS_TOKEN_SECRET: token.secret,
  PBS_TLS_FINGERPRINT: pbsSim.fingerprint,
  ...overrides,
});

/** The step lines (not the indented details), as "mark step". */
const marks = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => /^[✓✗!-] /.test(line))
    .map((line) => line.slice(0, line.indexOf(":")));

const PBS_STEP = "toolset pbs (Proxmox Backup Server)";
const pbsToolNames = ALL_TOOLS.filter((t) => t.toolset === "pbs").map((t) => t.name);

describe("doctor: the Proxmox Backup Server", () => {
  it("--demo walks both chains, PVE's then PBS's, all passing", async () => {
    const { code, stdout, stderr } = await doctor({}, ["--demo"]);
    expect(code, stdout).toBe(0);
    expect(stderr).toBe("");
    const steps = marks(stdout);
    expect(steps.slice(steps.indexOf("✓ PBS configuration"))).toEqual([
      "✓ PBS configuration",
      "- PBS DNS",
      "✓ PBS TCP",
      "✓ PBS TLS",
      "✓ PBS token",
      "✓ PBS privileges",
      `✓ ${PBS_STEP}`,
    ]);
    expect(steps.indexOf("✓ PBS configuration")).toBeGreaterThan(steps.indexOf("- dangerous mode"));
    expect(stdout).toMatch(
      /✓ PBS configuration: 127\.0\.0\.1:\d+, token mcp@pbs!readonly, TLS pinned by fingerprint\n/,
    );
    expect(stdout).toContain("✓ PBS token: mcp@pbs!readonly accepted by Proxmox Backup Server 4.1\n");
    expect(stdout).toContain(`✓ ${PBS_STEP}: ${pbsToolNames.join(", ")}\n`);
    expect(stdout).toMatch(/All good\.\n$/);
  });

  it("the auditor token: every PBS step ✓, asking PBS only the version and the token's permissions", async () => {
    const { code, stdout } = await doctor(pbsEnv());
    expect(code, stdout).toBe(0);
    expect(stdout).toContain(
      `✓ PBS TLS: the server's certificate matches PBS_TLS_FINGERPRINT\n    certificate: CN=`,
    );
    expect(stdout).toContain(`SHA-256 fingerprint, to pin: PBS_TLS_FINGERPRINT=${pbsSim.fingerprint}\n`);
    expect(stdout).toContain(
      "✓ PBS privileges: mcp@pbs!readonly may only audit (holds nothing beyond Sys.Audit, Datastore.Audit, Remote.Audit, Tape.Audit)",
    );
    expect(pbsSim.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /version",
      "GET /access/permissions",
    ]);
    expect(pbsSim.requests().every((r) => r.authId === pbsSim.tokens.auditor.id)).toBe(true);
  });

  it("a wrong PBS fingerprint fails PBS TLS with the PBS_TLS_FINGERPRINT line to paste; PVE's walk still passes", async () => {
    const wrong = "00:".repeat(31) + "00";
    const { code, stdout } = await doctor(pbsEnv(pbsSim.tokens.auditor, { PBS_TLS_FINGERPRINT: wrong }));
    expect(code).toBe(1);
    expect(marks(stdout)).toContain("✓ privileges");
    expect(marks(stdout).at(-1)).toBe("✗ PBS TLS");
    expect(stdout).toContain(
      "✗ PBS TLS: the server's certificate is not the pinned one; nothing would be sent\n",
    );
    expect(stdout).toContain(`    pinned (PBS_TLS_FINGERPRINT): ${wrong}\n`);
    expect(stdout).toContain(`    server's certificate:         ${pbsSim.fingerprint}\n`);
    expect(stdout).toContain(
      `fix: if the certificate was renewed on purpose (check with \`proxmox-backup-manager cert info\` on the PBS host), pin the new one: PBS_TLS_FINGERPRINT=${pbsSim.fingerprint}\n`,
    );
    // As PBS shows it, and nothing sent to a server that is not the pinned one.
    expect(pbsSim.fingerprint).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/);
    expect(pbsSim.requests()).toEqual([]);
    expect(stdout).toContain("1 problem(s) found");
  });

  it("the system CAs: ✗ PBS TLS with the pin or PBS's own certificate as the CA file; the CA file: ✓", async () => {
    const { PBS_TLS_FINGERPRINT: _pin, ...unpinned } = pbsEnv();
    const system = await doctor(unpinned);
    expect(system.code).toBe(1);
    expect(system.stdout).toMatch(/✗ PBS TLS: the server's certificate is not accepted with the system CAs/);
    expect(system.stdout).toContain(
      `fix: pin it (check the fingerprint with \`proxmox-backup-manager cert info\` on the PBS host): PBS_TLS_FINGERPRINT=${pbsSim.fingerprint}; or set PBS_CA_FILE to a copy of the PBS host's /etc/proxmox-backup/proxy.pem`,
    );
    const caFile = join(dir, "pbs-ca.pem");
    writeFileSync(caFile, pbsSim.caPem);
    const withCa = await doctor({ ...unpinned, PBS_CA_FILE: caFile });
    expect(withCa.code, withCa.stdout).toBe(0);
    expect(withCa.stdout).toContain(
      `✓ PBS TLS: the server's certificate is valid for 127.0.0.1 and signed by the CA in ${caFile}`,
    );
  });

  it("nothing listening on PBS_PORT: ✗ PBS TCP naming PBS_PORT, 8007 and proxmox-backup-proxy", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { code, stdout } = await doctor(pbsEnv(pbsSim.tokens.auditor, { PBS_PORT: String(port) }));
    expect(code).toBe(1);
    expect(stdout).toContain(`✗ PBS TCP: nothing listens on 127.0.0.1:${port} (connection refused)\n`);
    expect(stdout).toContain(
      "fix: check PBS_PORT (the API listens on 8007) and that proxmox-backup-proxy runs on the PBS host: systemctl status proxmox-backup-proxy",
    );
  });

  it("a wrong PBS secret fails PBS token, naming PBS_TOKEN_ID and PBS_TOKEN_SECRET", async () => {
    const { code, stdout } = await doctor(
      pbsEnv({ id: pbsSim.tokens.auditor.id, secret: "00000000-0000-4000-8000-000000000000" }),
    );
    expect(code).toBe(1);
    expect(stdout).toContain(
      `✗ PBS token: Proxmox Backup Server refused the token ${pbsSim.tokens.auditor.id} (401)`,
    );
    expect(stdout).toMatch(/Check PBS_TOKEN_ID and PBS_TOKEN_SECRET/);
    expect(marks(stdout).at(-1)).toBe("✗ PBS token");
  });

  it("a PBS token with Admin fails PBS privileges with the proxmox-backup-manager fix, and stops there", async () => {
    const { code, stdout } = await doctor(pbsEnv(pbsSim.tokens.admin));
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /✗ PBS privileges: admin@pbs!automation can do more than audit, so the server refuses to use it: Permissions\.Modify, .*Sys\.Modify, .* on \/[a-z/, -]*and \d+ more paths\n/,
    );
    expect(stdout).toContain(
      "    fix: make a token that may only audit: proxmox-backup-manager user create mcp@pbs && proxmox-backup-manager user generate-token mcp@pbs readonly && proxmox-backup-manager acl update / Audit --auth-id mcp@pbs",
    );
    expect(stdout).not.toContain(PBS_STEP);
    expect(stdout).not.toContain(pbsSim.tokens.admin.secret);
    // One read of the permissions serves both the check and the summary.
    expect(pbsSim.requests().filter((r) => r.path.endsWith("/access/permissions"))).toHaveLength(1);
  });

  it("a datastore-only token: the pbs tools that answer only in part, what they leave out, and the grants", async () => {
    const { id } = pbsSim.tokens.datastoreAuditor;
    const { code, stdout } = await doctor(pbsEnv(pbsSim.tokens.datastoreAuditor));
    expect(code).toBe(1);
    expect(stdout).toContain(`✓ PBS privileges: ${id} may only audit`);
    expect(stdout).toContain(`✗ ${PBS_STEP}: ${pbsToolNames.join(", ")}\n`);
    expect(stdout).toContain(
      "    pbs_jobs answers only in part: leaves out sync jobs with a remote (the PBS token lacks Remote.Audit on /remote)\n",
    );
    expect(stdout).toContain(
      "    pbs_tasks answers only in part: leaves out tasks of other users (the PBS token lacks Sys.Audit on /system/tasks)\n",
    );
    expect(stdout).toContain("    pbs_task_log answers only in part:");
    expect(stdout).not.toContain("pbs_datastores answers only in part");
    expect(stdout).not.toContain("pbs_snapshots answers only in part");
    const user = id.split("!")[0];
    expect(stdout).toContain(
      `fix: grant the PBS token and its user the auditor roles (a token may do only what its user may): ` +
        `proxmox-backup-manager acl update / Audit --auth-id ${user} && proxmox-backup-manager acl update / Audit --auth-id '${id}' && ` +
        `proxmox-backup-manager acl update /remote RemoteAudit --auth-id ${user} && proxmox-backup-manager acl update /remote RemoteAudit --auth-id '${id}'\n`,
    );
  });

  it("PBS is walked even when PVE failed, and each failure counts", async () => {
    const { code, stdout } = await doctor(pbsEnv(pbsSim.tokens.auditor, { PROXMOX_HOST: "pve.invalid" }));
    expect(code).toBe(1);
    expect(marks(stdout)).toContain("✗ DNS");
    expect(marks(stdout)).toContain(`✓ ${PBS_STEP}`);
    expect(stdout).toContain("1 problem(s) found");
    const both = await doctor(pbsEnv(pbsSim.tokens.admin, { PROXMOX_HOST: "pve.invalid" }));
    expect(both.stdout).toContain("2 problem(s) found");
  });

  it("without PBS_HOST: one skip line", async () => {
    const { code, stdout } = await doctor(simEnv(sim));
    expect(code).toBe(0);
    expect(stdout).toContain("- PBS: not configured (set PBS_HOST to audit a Proxmox Backup Server)\n");
    expect(stdout).not.toContain("PBS DNS");
    expect(stdout).not.toContain(PBS_STEP);
    expect(pbsSim.requests()).toEqual([]);
  });

  it("the pbs toolset turned off by PROXMOX_TOOLSETS is said, not checked", async () => {
    const { code, stdout } = await doctor(
      pbsEnv(pbsSim.tokens.datastoreAuditor, { PROXMOX_TOOLSETS: "core" }),
    );
    expect(code, stdout).toBe(0);
    expect(stdout).toContain(`- ${PBS_STEP}: off (not in PROXMOX_TOOLSETS=core)`);
  });

  it("knows what each pbs tool reads (a new pbs tool needs its entry)", () => {
    expect(Object.keys(PBS_TOOL_READS).sort()).toEqual([...pbsToolNames].sort());
  });

  it("--help mentions PBS", async () => {
    const { stdout } = await doctor({}, ["--help"]);
    expect(stdout).toContain("Proxmox Backup Server");
    expect(stdout).toContain("PBS_TLS_FINGERPRINT");
  });
});
