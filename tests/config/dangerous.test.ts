/**
 * The dangerous tier's configuration: the admin token is read only with the flag on
 * (and ignored with a warning otherwise), must differ from the read token, and SSH is
 * all or nothing (a key without a pinned host key stops the server). No error line
 * echoes a secret.
 */
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const ADMIN_SECRET = "9f4912cb-dcc9-4e6a-968f-636f2a003454";
const HOST_KEY = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
const BASE = {
  HOME: "/home/tester",
  PROXMOX_HOST: "pve.example.com",
  PROXMOX_TOKEN_ID: "mcp@pve!readonly",
  PROXMOX_TOKEN_SECRET: SECRET,
};
const ON = {
  ...BASE,
  ENABLE_DANGEROUS_COMMANDS: "true",
  PROXMOX_ADMIN_TOKEN_ID: "automation@pve!mcp-admin",
  PROXMOX_ADMIN_TOKEN_SECRET: ADMIN_SECRET,
};

let dir: string;
let keyFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-dangerous-"));
  keyFile = join(dir, "id_ed25519");
  const { privateKey } = generateKeyPairSync("ed25519");
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  chmodSync(keyFile, 0o600);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env, cwd: dir });
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("dangerous tier off", () => {
  it("is the default, and the admin token is not even parsed (an invalid one is no error)", () => {
    const { config, warnings } = load({ ...BASE, PROXMOX_ADMIN_TOKEN_SECRET: "not-a-uuid" });
    expect(config.dangerous).toBeUndefined();
    expect(warnings.join("\n")).toContain(
      "PROXMOX_ADMIN_TOKEN_SECRET is set but ENABLE_DANGEROUS_COMMANDS is not true: ignored",
    );
    expect(warnings.join("\n")).not.toContain("not-a-uuid");
  });
});

describe("dangerous tier on", () => {
  it("reads the admin token; confirmation is required by default; no SSH without a key", () => {
    const { config } = load(ON);
    expect(config.dangerous).toMatchObject({ adminTokenId: "automation@pve!mcp-admin", confirm: "required" });
    expect(config.dangerous?.adminTokenSecret.reveal()).toBe(ADMIN_SECRET);
    expect(config.dangerous?.ssh).toBeUndefined();
  });

  it("stops without an admin token, naming both variables", () => {
    const lines = problems({ ...BASE, ENABLE_DANGEROUS_COMMANDS: "true" });
    expect(lines).toEqual([
      "ENABLE_DANGEROUS_COMMANDS=true needs PROXMOX_ADMIN_TOKEN_ID, a second token for the dangerous tools (example: automation@pve!mcp-admin)",
      expect.stringContaining("ENABLE_DANGEROUS_COMMANDS=true needs PROXMOX_ADMIN_TOKEN_SECRET"),
    ]);
  });

  it("stops when the admin token is the read token, by id or by secret, without echoing it", () => {
    expect(problems({ ...ON, PROXMOX_ADMIN_TOKEN_ID: BASE.PROXMOX_TOKEN_ID })[0]).toContain(
      "PROXMOX_ADMIN_TOKEN_ID is the read token",
    );
    const bySecret = problems({ ...ON, PROXMOX_ADMIN_TOKEN_SECRET: SECRET });
    expect(bySecret[0]).toContain("PROXMOX_ADMIN_TOKEN_SECRET equals PROXMOX_TOKEN_SECRET");
    expect(bySecret.join()).not.toContain(SECRET);
  });

  it("rejects a malformed admin token secret without echoing it", () => {
    const lines = problems({ ...ON, PROXMOX_ADMIN_TOKEN_SECRET: "hunter2" });
    expect(lines[0]).toContain("PROXMOX_ADMIN_TOKEN_SECRET must be the admin token's secret");
    expect(lines.join()).not.toContain("hunter2");
  });

  it("a .env file below the token may not switch the tier on or widen SSH", () => {
    writeFileSync(join(dir, ".env"), "ENABLE_DANGEROUS_COMMANDS=true\nPROXMOX_SSH_COMMAND_ALLOWLIST=.*\n");
    const lines = problems({ ...BASE, PROXMOX_ADMIN_TOKEN_ID: ON.PROXMOX_ADMIN_TOKEN_ID });
    expect(lines.join("\n")).toMatch(
      /ENABLE_DANGEROUS_COMMANDS \(in .*\.env\) comes from the \.env layer, below the token \(env\)/,
    );
    expect(lines.join("\n")).toMatch(
      /PROXMOX_SSH_COMMAND_ALLOWLIST \(in .*\.env\) comes from the \.env layer/,
    );
  });

  it("accepts PROXMOX_DANGEROUS_CONFIRM=when-supported and refuses other values", () => {
    expect(load({ ...ON, PROXMOX_DANGEROUS_CONFIRM: "when-supported" }).config.dangerous?.confirm).toBe(
      "when-supported",
    );
    expect(problems({ ...ON, PROXMOX_DANGEROUS_CONFIRM: "never" })[0]).toContain(
      "PROXMOX_DANGEROUS_CONFIRM must be required",
    );
  });
});

describe("SSH for execute_command", () => {
  it("needs both a key and a pinned host key; defaults to root@PROXMOX_HOST:22", () => {
    const { config } = load({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: HOST_KEY });
    const ssh = config.dangerous?.ssh;
    expect(ssh).toMatchObject({
      host: "pve.example.com",
      port: 22,
      username: "root",
      keyFile,
      hostKeySha256: HOST_KEY,
      allowlist: [],
    });
    expect(ssh?.privateKey.reveal()).toContain("PRIVATE KEY");
  });

  it("normalises the pin: without the SHA256: prefix, with base64 padding", () => {
    const bare = HOST_KEY.slice("SHA256:".length);
    for (const pin of [bare, `${bare}=`]) {
      const { config } = load({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: pin });
      expect(config.dangerous?.ssh?.hostKeySha256).toBe(HOST_KEY);
    }
  });

  it("stops with a key but no pin: no pin, no connection", () => {
    expect(problems({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile })[0]).toContain(
      "PROXMOX_SSH_KEY_FILE is set but PROXMOX_SSH_HOST_KEY is not",
    );
    expect(problems({ ...ON, PROXMOX_SSH_HOST_KEY: HOST_KEY })[0]).toContain(
      "PROXMOX_SSH_HOST_KEY is set but PROXMOX_SSH_KEY_FILE is not",
    );
  });

  it("refuses a key file other users can read, as ssh does", () => {
    chmodSync(keyFile, 0o644);
    expect(problems({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: HOST_KEY })[0]).toContain(
      "is an SSH private key and other users can read it (mode 644); fix: chmod 600",
    );
  });

  it("refuses a file that is not a private key, and a malformed pin", () => {
    const notKey = join(dir, "notes.txt");
    writeFileSync(notKey, "hello", { mode: 0o600 });
    expect(problems({ ...ON, PROXMOX_SSH_KEY_FILE: notKey, PROXMOX_SSH_HOST_KEY: HOST_KEY })[0]).toContain(
      "is not an SSH private key",
    );
    expect(
      problems({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: "MD5:aa:bb" })[0],
    ).toContain("PROXMOX_SSH_HOST_KEY must be the host key's SHA256 fingerprint");
  });

  it("takes the allow-list as a JSON array or one pattern per line, anchored to the whole command", () => {
    const ssh = (list: string) =>
      load({
        ...ON,
        PROXMOX_SSH_KEY_FILE: keyFile,
        PROXMOX_SSH_HOST_KEY: HOST_KEY,
        PROXMOX_SSH_COMMAND_ALLOWLIST: list,
      }).config.dangerous?.ssh;
    expect(ssh('["uptime", "qm (start|stop) [0-9]{3,9}"]')?.allowlistSource).toEqual([
      "uptime",
      "qm (start|stop) [0-9]{3,9}",
    ]);
    expect(ssh("uptime\npveversion( -v)?\n")?.allowlistSource).toEqual(["uptime", "pveversion( -v)?"]);
    const [uptime] = ssh("uptime")?.allowlist ?? [];
    expect(uptime?.test("uptime")).toBe(true);
    expect(uptime?.test("uptime; id")).toBe(false);
  });

  it("reads a single line starting with '[' as a regex, not as broken JSON", () => {
    const { config } = load({
      ...ON,
      PROXMOX_SSH_KEY_FILE: keyFile,
      PROXMOX_SSH_HOST_KEY: HOST_KEY,
      PROXMOX_SSH_COMMAND_ALLOWLIST: "[a-z]+ status",
    });
    expect(config.dangerous?.ssh?.allowlistSource).toEqual(["[a-z]+ status"]);
  });

  it("refuses an allow-list that is set but empty (it would mean any command)", () => {
    for (const list of ["[]", '["  "]']) {
      expect(
        problems({
          ...ON,
          PROXMOX_SSH_KEY_FILE: keyFile,
          PROXMOX_SSH_HOST_KEY: HOST_KEY,
          PROXMOX_SSH_COMMAND_ALLOWLIST: list,
        })[0],
        list,
      ).toContain("PROXMOX_SSH_COMMAND_ALLOWLIST is set but holds no pattern");
    }
  });

  it("warns that without an allow-list any command may run", () => {
    const { warnings } = load({ ...ON, PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: HOST_KEY });
    expect(warnings.join("\n")).toContain(
      "PROXMOX_SSH_COMMAND_ALLOWLIST is not set: execute_command may run any command as root@pve.example.com",
    );
  });

  it("a .env below the token may not choose the SSH user or key either", () => {
    writeFileSync(join(dir, ".env"), `PROXMOX_SSH_USER=admin\nPROXMOX_SSH_KEY_FILE=${keyFile}\n`);
    const lines = problems({ ...ON, PROXMOX_SSH_HOST_KEY: HOST_KEY }).join("\n");
    expect(lines).toMatch(/PROXMOX_SSH_USER \(in .*\) comes from the \.env layer/);
    expect(lines).toMatch(/PROXMOX_SSH_KEY_FILE \(in .*\) comes from the \.env layer/);
  });

  it("names a pattern that does not compile", () => {
    const lines = problems({
      ...ON,
      PROXMOX_SSH_KEY_FILE: keyFile,
      PROXMOX_SSH_HOST_KEY: HOST_KEY,
      PROXMOX_SSH_COMMAND_ALLOWLIST: '["uptime", "qm (start"]',
    });
    expect(lines[0]).toContain(
      "PROXMOX_SSH_COMMAND_ALLOWLIST: pattern 2 of 2 is not a valid regular expression",
    );
  });

  it("an allow-list without SSH is a mistake worth stopping for", () => {
    expect(problems({ ...ON, PROXMOX_SSH_COMMAND_ALLOWLIST: "uptime" })[0]).toContain(
      "PROXMOX_SSH_COMMAND_ALLOWLIST is set but PROXMOX_SSH_KEY_FILE and PROXMOX_SSH_HOST_KEY are not",
    );
  });
});
