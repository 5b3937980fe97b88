/**
 * Hostile input for every dangerous tool, end to end: each call answers isError with
 * the rule it breaks, the person is never asked, and nothing is sent: the simulator
 * sees ZERO requests, and the SSH port sees ZERO connections.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { testScenario } from "../helpers/scenarios.js";
import { serve, simEnv, textOf, type Served } from "./harness.js";

let sim: Simulator;
let server: Served;
let sshPort: Server;
let sshConnections = 0;
let asked = 0;

const HAVE_SSH_KEYGEN = (() => {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined;
  }
})();

beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
  // Stands in for sshd: it only counts connections (the allow-list must refuse before any).
  sshPort = createServer((socket) => {
    sshConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => sshPort.listen(0, "127.0.0.1", resolve));
  const port = (sshPort.address() as { port: number }).port;
  server = await serve({
    env: (dir) => {
      const keyFile = join(dir, "id_ed25519");
      if (HAVE_SSH_KEYGEN) {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
      } else {
        writeFileSync(
          keyFile,
          "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
          {
            mode: 0o600,
          },
        );
      }
      return simEnv(sim, sim.tokens.auditor, {
        ENABLE_DANGEROUS_COMMANDS: "true",
        PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
        PROXMOX_ADMIN_TOKEN_SECRET: sim.tokens.admin.secret,
        PROXMOX_SSH_HOST: "127.0.0.1",
        PROXMOX_SSH_PORT: String(port),
        PROXMOX_SSH_KEY_FILE: keyFile,
        PROXMOX_SSH_HOST_KEY: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
        PROXMOX_SSH_COMMAND_ALLOWLIST: '["uptime", "pveversion( -v)?", "qm status [0-9]+"]',
      });
    },
    onElicit: () => {
      asked++;
      return { action: "accept", content: { confirm: true } };
    },
  });
});

afterAll(async () => {
  await server?.close();
  await sim?.close();
  await new Promise((resolve) => sshPort?.close(resolve));
});

beforeEach(() => {
  sim.clearRequests();
  sshConnections = 0;
  asked = 0;
});

async function expectRefused(tool: string, args: Record<string, unknown>, rule: RegExp): Promise<void> {
  const result = await server.call(tool, args);
  expect(result.isError, textOf(result)).toBe(true);
  expect(textOf(result)).toMatch(rule);
  expect(sim.requests()).toEqual([]);
  expect(sshConnections).toBe(0);
  expect(asked).toBe(0);
}

const HOSTILE_PATHS: [string, string][] = [
  ["traversal", "/nodes/pve1/../../access/users"],
  ["encoded slash", "/nodes/pve1%2F..%2Faccess/qemu"],
  ["query smuggling", "/version?x=1"],
  ["fragment", "/version#x"],
  ["backslash", "/nodes/pve1\\qemu"],
  ["space", "/nodes/ pve1/status"],
  ["empty segment", "//version"],
  ["dot segment", "/nodes/./pve1/status"],
  ["leading-zero vmid", "/nodes/pve1/qemu/0100/status/current"],
  ["no leading slash", "version"],
  ["control character", "/version\r\nX-Injected: 1"],
  ["Cyrillic look-alike", "/nodes/\u0440ve1/status"],
  ["not an endpoint", "/nodes/pve1/qemu/100/status/explode"],
  ["too long", `/nodes/${"a".repeat(2000)}`],
];

describe("proxmox_api", () => {
  it.each(HOSTILE_PATHS)("refuses a path with %s", async (_label, path) => {
    await expectRefused("proxmox_api", { method: "POST", path }, /path|endpoint|segment|must|characters/i);
  });

  it("refuses a method the endpoint does not have", async () => {
    await expectRefused(
      "proxmox_api",
      { method: "GET", path: "/nodes/pve1/qemu/100/status/start" },
      /POST only|not a Proxmox VE API endpoint/,
    );
  });

  it.each([
    ["a parameter name with a slash", { "../x": "1" }],
    ["a parameter name with '='", { "a=b": "1" }],
    ["an object value", { a: { b: 1 } }],
    ["too long a value", { description: "x".repeat(20_000) }],
  ])("refuses %s", async (_label, params) => {
    await expectRefused("proxmox_api", { method: "PUT", path: "/nodes/pve1/qemu/100/config", params }, /.+/);
  });

  it("refuses methods other than GET, POST, PUT, DELETE", async () => {
    await expectRefused("proxmox_api", { method: "PATCH", path: "/version" }, /method/i);
  });
});

describe("vm_action", () => {
  it.each([
    ["a traversal node", { vmid: 100, node: "pve1/../x", action: "start" }],
    ["an encoded node", { vmid: 100, node: "pve1%2F", action: "start" }],
    ["a vmid with a path", { vmid: "100/../101", action: "start" }],
    ["a vmid of 99", { vmid: 99, action: "start" }],
    ["an unknown action", { vmid: 100, action: "destroy" }],
    ["an action with a path", { vmid: 100, action: "start/../../delete" }],
    ["wait as a string", { vmid: 100, action: "start", wait: "yes" }],
  ])("refuses %s", async (_label, args) => {
    await expectRefused("vm_action", args, /must|Invalid|expected/i);
  });
});

describe("execute_vm_command", () => {
  it.each([
    ["a shell line instead of argv", { vmid: 100, command: "rm -rf /" }],
    ["an empty argv", { vmid: 100, command: [] }],
    ["an empty program", { vmid: 100, command: [""] }],
    ["a NUL byte", { vmid: 100, command: ["cat", "/etc/hostname\0"] }],
    ["too many arguments", { vmid: 100, command: Array.from({ length: 65 }, () => "x") }],
    ["a huge argument", { vmid: 100, command: ["echo", "x".repeat(5000)] }],
    ["a timeout of an hour", { vmid: 100, command: ["true"], timeout_s: 3600 }],
    ["a hostile node", { vmid: 100, node: "../../access", command: ["true"] }],
  ])("refuses %s", async (_label, args) => {
    await expectRefused("execute_vm_command", args, /must|Invalid|expected|too/i);
  });
});

describe("execute_command", () => {
  it.each([
    ["a command chained after an allowed one", "uptime; rm -rf /"],
    ["a second line", "uptime\nid"],
    ["a longer name", "uptimex"],
    ["a substitution", "qm status $(id)"],
    ["a pipe", "pveversion -v | sh"],
  ])("refuses %s by the allow-list, without connecting", async (_label, command) => {
    await expectRefused("execute_command", { command }, /not allowed by PROXMOX_SSH_COMMAND_ALLOWLIST/);
  });

  it.each([
    ["a NUL byte", "uptime\0"],
    ["an empty command", ""],
    ["an oversized command", "u".repeat(9000)],
  ])("refuses %s", async (_label, command) => {
    await expectRefused("execute_command", { command }, /must|Invalid|too/i);
  });

  it("dry_run of an allowed command shows the target and the pinned key, without connecting", async () => {
    const result = await server.call("execute_command", { command: "uptime", dry_run: true });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain('would run "uptime" on');
    expect(textOf(result)).toContain("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
    expect(sshConnections).toBe(0);
  });
});
