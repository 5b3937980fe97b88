/**
 * `proxmox-mcp doctor` in-process against the simulator: one line per step, the fix
 * under each failure, the walk stopped where later steps would be meaningless, and
 * each TLS mode judged against the certificate the server really shows.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDoctorCommand } from "../../src/commands/doctor.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { TOOLSETS, type ToolsetId } from "../../src/tools/toolsets.js";
import { simEnv } from "../e2e/harness.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { runIn } from "./io.js";

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
  dir = mkdtempSync(join(tmpdir(), "doctor-test-"));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => sim.clearRequests());

const doctor = (env: Record<string, string>, argv: string[] = [], tty = false) =>
  runIn(runDoctorCommand, argv, env, { tty });

/** The step lines (not the indented details), as "mark step". */
const marks = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => /^[✓✗!-] /.test(line))
    .map((line) => line.slice(0, line.indexOf(":")));

/** PVE's read toolsets; pbs has its own walk (doctor-pbs.test.ts). */
const readToolsets = TOOLSETS.filter((t) => t.tier === "read" && t.id !== "pbs").map((t) => t.id);
/** A toolset's step name: its id and its declared title. */
const toolsetStep = (id: ToolsetId) => `toolset ${id} (${TOOLSETS.find((t) => t.id === id)?.title})`;

describe("doctor", () => {
  it("walks every step with the auditor token: all ✓, each toolset's tools listed, exit 0", async () => {
    const { code, stdout, stderr } = await doctor(simEnv(sim));
    expect(code, stdout).toBe(0);
    expect(stderr).toBe("");
    expect(marks(stdout)).toEqual([
      "✓ configuration",
      "- DNS",
      "✓ TCP",
      "✓ TLS",
      "✓ token",
      "✓ privileges",
      ...readToolsets.map((t) => `✓ ${toolsetStep(t)}`),
      "- dangerous mode",
      "- PBS",
    ]);
    expect(stdout).toContain(`PROXMOX_TLS_FINGERPRINT=${sim.fingerprint}`);
    expect(stdout).toContain("get_vm_config");
    expect(stdout).toMatch(/All good\.\n$/);
    // Asks Proxmox only what it must: the version with the token, then its permissions.
    expect(sim.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /version",
      "GET /access/permissions",
    ]);
  });

  it("--demo checks the simulated cluster, and in dangerous mode the admin token and its tools too", async () => {
    const { code, stdout } = await doctor({ ENABLE_DANGEROUS_COMMANDS: "true" }, ["--demo"]);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^✓ configuration: demo: simulated cluster at https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toContain("✓ admin token: automation@pve!mcp-admin accepted");
    // The demo's admin token is broader than it needs: said, not failed.
    expect(stdout).toMatch(/! admin token: .*User\.Modify/);
    expect(stdout).toContain(`✓ ${toolsetStep("dangerous")}: vm_action, execute_vm_command, proxmox_api\n`);
    expect(stdout).toContain("execute_command not offered: SSH is not set up");
  });

  it("a wrong admin secret fails the admin token step with the fix", async () => {
    const { code, stdout } = await doctor(
      simEnv(sim, sim.tokens.auditor, {
        ENABLE_DANGEROUS_COMMANDS: "true",
        PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
        PROXMOX_ADMIN_TOKEN_SECRET: "00000000-0000-4000-8000-000000000000",
      }),
    );
    expect(code).toBe(1);
    expect(stdout).toContain(
      `✗ admin token: Proxmox refused the admin token ${sim.tokens.admin.id} (401): the secret is wrong`,
    );
    expect(stdout).toContain("PROXMOX_ADMIN_TOKEN_SECRET");
    expect(stdout).not.toContain("toolset dangerous");
  });

  it("names each tool a narrow token cannot use, with the missing privilege and the grant", async () => {
    const { code, stdout } = await doctor(simEnv(sim, TEST_TOKENS.vmAuditOnly));
    expect(code).toBe(1);
    expect(stdout).toContain(
      `✗ ${toolsetStep("core")}: get_version, get_nodes, get_vms, get_vm_status, get_vm_config\n`,
    );
    expect(stdout).toContain("    get_cluster_status unavailable: the read token lacks Sys.Audit on /\n");
    expect(stdout).toContain(
      `    fix: grant read-only access on / to the token and its user: pveum acl modify / --users vmaudit@pve --tokens '${TEST_TOKENS.vmAuditOnly.id}' --roles PVEAuditor`,
    );
  });

  it("leaves out the toolsets PROXMOX_TOOLSETS turns off", async () => {
    const { code, stdout } = await doctor(simEnv(sim, sim.tokens.auditor, { PROXMOX_TOOLSETS: "core" }));
    expect(code).toBe(0);
    expect(stdout).toContain(`✓ ${toolsetStep("core")}:`);
    for (const toolset of readToolsets.filter((t) => t !== "core")) {
      expect(stdout).toContain(`- ${toolsetStep(toolset)}: off (not in PROXMOX_TOOLSETS=core)`);
    }
  });

  it("a privileged read token fails the privileges step with the pveum fix, and stops there", async () => {
    const { code, stdout } = await doctor(simEnv(sim, sim.tokens.root));
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /✗ privileges: root@pam!sim can change things, so the server refuses to run with it: Permissions\.Modify, User\.Modify, Realm\.Allocate, Sys\.Modify/,
    );
    expect(stdout).toContain(
      "pveum user add mcp@pve && pveum acl modify / --users mcp@pve --roles PVEAuditor && pveum user token add mcp@pve readonly --privsep 1",
    );
    expect(stdout).not.toContain("toolset");
    expect(stdout).not.toContain(sim.tokens.root.secret);
  });

  it("allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN, a privileged token is a warning, not a failure", async () => {
    const { code, stdout } = await doctor(
      simEnv(sim, sim.tokens.root, { PROXMOX_ALLOW_PRIVILEGED_TOKEN: "true" }),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /! privileges: root@pam!sim can change things \(allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN=true\)/,
    );
    expect(stdout).toContain(`✓ ${toolsetStep("core")}:`);
  });

  describe("TLS against each configured trust", () => {
    const withoutPin = (overrides: Record<string, string>) => {
      const { PROXMOX_TLS_FINGERPRINT: _pin, ...env } = simEnv(sim);
      return { ...env, ...overrides };
    };

    it("the cluster CA file: ✓ signed by it", async () => {
      const caFile = join(dir, "pve-root-ca.pem");
      writeFileSync(caFile, sim.caPem);
      const { code, stdout } = await doctor(withoutPin({ PROXMOX_CA_FILE: caFile }));
      expect(code, stdout).toBe(0);
      expect(stdout).toContain(
        `✓ TLS: the server's certificate is valid for 127.0.0.1 and signed by the CA in ${caFile}`,
      );
    });

    it("the system CAs: ✗ for a self-signed cluster, with the fingerprint to pin", async () => {
      const { code, stdout } = await doctor(withoutPin({}));
      expect(code).toBe(1);
      expect(stdout).toMatch(/✗ TLS: the server's certificate is not accepted with the system CAs \(\w+\)/);
      expect(stdout).toContain(
        `fix: pin it (check the fingerprint with \`pvenode cert info\` on the node): PROXMOX_TLS_FINGERPRINT=${sim.fingerprint}`,
      );
      expect(marks(stdout).slice(-2)).toEqual(["✗ TLS", "- PBS"]);
      expect(sim.requests()).toEqual([]);
    });

    it("verification off: a warning with the fingerprint to pin instead, and the walk goes on", async () => {
      const { code, stdout } = await doctor(withoutPin({ PROXMOX_VERIFY_SSL: "false" }));
      expect(code).toBe(0);
      expect(stdout).toContain("! TLS: verification is off (PROXMOX_VERIFY_SSL=false)");
      expect(stdout).toContain(
        `PROXMOX_TLS_FINGERPRINT=${sim.fingerprint} and remove PROXMOX_VERIFY_SSL=false`,
      );
      expect(stdout).toContain("✓ privileges");
    });

    it("not a TLS port: ✗ TLS handshake, with the fix", async () => {
      const { createServer } = await import("node:net");
      const plain = createServer((socket) => {
        socket.on("error", () => {}); // the doctor hangs up after the failed handshake
        socket.end("SSH-2.0-OpenSSH_9.2\r\n");
      });
      await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
      const port = (plain.address() as { port: number }).port;
      try {
        const { code, stdout } = await doctor(
          simEnv(sim, sim.tokens.auditor, { PROXMOX_PORT: String(port) }),
        );
        expect(code).toBe(1);
        expect(stdout).toContain(`✗ TLS: no TLS handshake with 127.0.0.1:${port}`);
        expect(stdout).toContain("fix: PROXMOX_PORT must be the HTTPS API port of a PVE node (8006)");
      } finally {
        plain.close();
      }
    });
  });

  it("a host name that does not resolve: ✗ DNS, nothing after it", async () => {
    const { code, stdout } = await doctor(simEnv(sim, sim.tokens.auditor, { PROXMOX_HOST: "pve.invalid" }));
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /✗ DNS: pve\.invalid does not resolve \(\w+\)\n {4}fix: check the spelling of PROXMOX_HOST/,
    );
    expect(marks(stdout)).toEqual(["✓ configuration", "✗ DNS", "- PBS"]);
  });

  it("a host name that resolves: ✓ DNS with its addresses", async () => {
    const { stdout } = await doctor(simEnv(sim, sim.tokens.auditor, { PROXMOX_HOST: "localhost" }));
    expect(stdout).toMatch(/✓ DNS: localhost resolves to /);
  });

  it("a bad configuration: one ✗ line per problem, each naming the variable and an example", async () => {
    const { code, stdout } = await doctor({ PROXMOX_TOKEN_ID: "mcp" });
    expect(code).toBe(1);
    expect(marks(stdout)).toEqual(["✗ configuration", "✗ configuration", "✗ configuration"]);
    expect(stdout).toContain("✗ configuration: PROXMOX_HOST is required (example: pve.example.com)");
    expect(stdout).toContain("3 problem(s) found");
  });

  it("colours the marks on a terminal, unless NO_COLOR is set", async () => {
    const coloured = await doctor(simEnv(sim), [], true);
    expect(coloured.stdout).toContain("\x1b[32m✓\x1b[0m token");
    const plain = await doctor(simEnv(sim, sim.tokens.auditor, { NO_COLOR: "1" }), [], true);
    expect(plain.stdout).not.toContain("\x1b[");
  });

  it("--help prints the usage; an unknown option is refused", async () => {
    expect((await doctor({}, ["--help"])).stdout).toMatch(/^Usage: proxmox-mcp doctor/);
    const bad = await doctor({}, ["--bogus"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--bogus");
  });
});
