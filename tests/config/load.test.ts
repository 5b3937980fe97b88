/**
 * Configuration loading: precedence (environment, .env, JSON file), aliases, canvrno's
 * file shape, one-line errors that never echo a value, TLS modes, defaults, warnings.
 * Every test passes env and cwd explicitly and works in its own temporary directory.
 */
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { Secret } from "../../src/config/secret.js";
import { pveCaPem } from "../helpers/config.js";

const SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const OTHER_SECRET = "9f4912cb-dcc9-4e6a-968f-636f2a003454";
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase()).join(":");
const BASE_ENV = {
  HOME: "/home/tester",
  PROXMOX_HOST: "pve.example.com",
  PROXMOX_TOKEN_ID: "mcp@pve!readonly",
  PROXMOX_TOKEN_SECRET: SECRET,
};

let dir: string;
let caPem: string;

beforeAll(() => {
  caPem = pveCaPem();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-config-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env, cwd: dir });

function write(relative: string, text: string, mode = 0o600): string {
  const path = join(dir, relative);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const writeJson = (relative: string, data: unknown, mode = 0o600) =>
  write(relative, JSON.stringify(data, null, 2), mode);

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

/** The contract of every error: one line per problem, each naming a variable and giving an example. */
function expectWellFormed(error: ConfigError, variable: string): void {
  expect(error.message).toBe(error.problems.join("\n"));
  for (const line of error.problems) {
    expect(line).not.toContain("\n");
    expect(line).toMatch(/\(example: .+\)/);
  }
  expect(error.problems.some((line) => line.includes(variable))).toBe(true);
}

describe("defaults", () => {
  it("fills every optional setting and records where each value came from", () => {
    const { config, warnings } = load(BASE_ENV);
    expect(config).toMatchObject({
      host: "pve.example.com",
      port: 8006,
      tokenId: "mcp@pve!readonly",
      tls: { mode: "system" },
      timeoutMs: 15000,
      service: "PVE",
      logLevel: "info",
      toolsets: undefined,
      allowPrivilegedToken: false,
      auditLogPath: "/home/tester/.local/state/proxmox-mcp/audit.jsonl",
    });
    expect(config.tokenSecret).toBeInstanceOf(Secret);
    expect(config.tokenSecret.reveal()).toBe(SECRET);
    expect(config.sources).toEqual({
      PROXMOX_HOST: "env",
      PROXMOX_TOKEN_ID: "env",
      PROXMOX_TOKEN_SECRET: "env",
      PROXMOX_PORT: "default",
      PROXMOX_VERIFY_SSL: "default",
      PROXMOX_TIMEOUT_MS: "default",
      PROXMOX_SERVICE: "default",
      PROXMOX_LOG_LEVEL: "default",
      PROXMOX_TOOLSETS: "default",
      PROXMOX_ALLOW_PRIVILEGED_TOKEN: "default",
      PROXMOX_AUDIT_LOG: "default",
      ENABLE_DANGEROUS_COMMANDS: "default",
    });
    expect(warnings).toEqual([]);
  });

  it("puts the audit log under an absolute XDG_STATE_HOME, ignoring a relative one as the XDG spec says", () => {
    expect(load({ ...BASE_ENV, XDG_STATE_HOME: "/var/state" }).config.auditLogPath).toBe(
      "/var/state/proxmox-mcp/audit.jsonl",
    );
    expect(load({ ...BASE_ENV, XDG_STATE_HOME: "state" }).config.auditLogPath).toBe(
      "/home/tester/.local/state/proxmox-mcp/audit.jsonl",
    );
  });

  it("resolves a relative PROXMOX_AUDIT_LOG against cwd", () => {
    expect(load({ ...BASE_ENV, PROXMOX_AUDIT_LOG: "logs/audit.jsonl" }).config.auditLogPath).toBe(
      join(dir, "logs/audit.jsonl"),
    );
  });

  it("resolves PROXMOX_AUDIT_WAIVERS against cwd, and has no waivers file unless it is set", () => {
    expect(
      load({ ...BASE_ENV, PROXMOX_AUDIT_WAIVERS: "proxmox-config/waivers.json" }).config.auditWaiversPath,
    ).toBe(join(dir, "proxmox-config/waivers.json"));
    expect(load(BASE_ENV).config.auditWaiversPath).toBeUndefined();
  });

  it("reads every setting from the environment", () => {
    const { config } = load({
      ...BASE_ENV,
      PROXMOX_PORT: "443",
      PROXMOX_TIMEOUT_MS: "100",
      PROXMOX_SERVICE: "pve",
      PROXMOX_LOG_LEVEL: "DEBUG",
      PROXMOX_TOOLSETS: " core, backup ,core,,",
      PROXMOX_ALLOW_PRIVILEGED_TOKEN: "YES",
    });
    expect(config).toMatchObject({
      port: 443,
      timeoutMs: 100,
      service: "PVE",
      logLevel: "debug",
      toolsets: ["core", "backup"],
      allowPrivilegedToken: true,
    });
  });
});

describe("precedence: environment, then .env, then the JSON file", () => {
  it("takes each variable from the first place that sets it", () => {
    write(".env", "PROXMOX_HOST=from-dotenv\nPROXMOX_TIMEOUT_MS=8443\n");
    writeJson("proxmox-config/config.json", {
      PROXMOX_HOST: "from-json",
      PROXMOX_TIMEOUT_MS: 9443,
      PROXMOX_LOG_LEVEL: "warn",
    });
    const { config } = load({ ...BASE_ENV, PROXMOX_HOST: "from-env" });
    expect(config).toMatchObject({ host: "from-env", timeoutMs: 8443, logLevel: "warn" });
    expect(config.sources).toMatchObject({
      PROXMOX_HOST: "env",
      PROXMOX_TIMEOUT_MS: ".env",
      PROXMOX_LOG_LEVEL: "json",
      PROXMOX_MCP_CONFIG: "default",
    });
  });

  it("counts an empty or blank variable as unset", () => {
    write(".env", "PROXMOX_TIMEOUT_MS=8443\n");
    expect(load({ ...BASE_ENV, PROXMOX_TIMEOUT_MS: "  " }).config.timeoutMs).toBe(8443);
  });

  it.each([
    ["PROXMOX_HOST", "evil.example"],
    ["PROXMOX_VERIFY_SSL", "false"],
    ["PROXMOX_TLS_FINGERPRINT", "AA".repeat(32)],
    ["PROXMOX_AUDIT_LOG", "../../.bashrc"],
    // nor accept the audit's findings on the user's behalf,
    ["PROXMOX_AUDIT_WAIVERS", "waive-everything.json"],
    // A cloned project must not start a server whose read token can write, nor send the token to another port.
    ["PROXMOX_ALLOW_PRIVILEGED_TOKEN", "true"],
    ["PROXMOX_PORT", "8443"],
  ])(
    "refuses %s from a file below the layer that holds the token (a cloned project cannot redirect it)",
    (variable, value) => {
      write(".env", `${variable}=${value}\n`);
      const env: Record<string, string | undefined> = { ...BASE_ENV };
      delete env[variable];
      const error = configError(env);
      expect(error.message).toContain(`${variable} (in `);
      expect(error.message).toContain("below the token");
    },
  );

  it("accepts a value below the token that only restates the safe default (as the example file does)", () => {
    writeJson("proxmox-config/config.json", {
      PROXMOX_VERIFY_SSL: true,
      ENABLE_DANGEROUS_COMMANDS: false,
      PROXMOX_ALLOW_PRIVILEGED_TOKEN: false,
      PROXMOX_PORT: 8006,
    });
    const { config } = load(BASE_ENV);
    expect(config).toMatchObject({ tls: { mode: "system" }, allowPrivilegedToken: false, port: 8006 });
  });

  it("refuses a .env that sets PROXMOX_ALLOW_PRIVILEGED_TOKEN or PROXMOX_PORT, one line each", () => {
    const file = write(".env", "PROXMOX_ALLOW_PRIVILEGED_TOKEN=yes\nPROXMOX_PORT=22\n");
    expect(configError(BASE_ENV).problems).toEqual([
      `PROXMOX_PORT (in ${file}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
      `PROXMOX_ALLOW_PRIVILEGED_TOKEN (in ${file}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
    ]);
  });

  it("takes those settings from a file when the token is in the same file", () => {
    write(
      ".env",
      `PROXMOX_HOST=pve.lab\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${SECRET}\n`,
    );
    expect(load({ HOME: BASE_ENV.HOME }).config.host).toBe("pve.lab");
  });

  it("reads the JSON file named by PROXMOX_MCP_CONFIG, relative to cwd, also when .env names it", () => {
    writeJson("elsewhere/pve.json", { PROXMOX_TIMEOUT_MS: 1234 });
    writeJson("proxmox-config/config.json", { PROXMOX_TIMEOUT_MS: 9999 });
    write(".env", "PROXMOX_MCP_CONFIG=elsewhere/pve.json\n");
    const { config } = load(BASE_ENV);
    expect(config.timeoutMs).toBe(1234);
    expect(config.sources).toMatchObject({ PROXMOX_MCP_CONFIG: ".env", PROXMOX_TIMEOUT_MS: "json" });
  });

  it("fails when PROXMOX_MCP_CONFIG names a missing file", () => {
    const error = configError({ ...BASE_ENV, PROXMOX_MCP_CONFIG: "missing.json" });
    expectWellFormed(error, "PROXMOX_MCP_CONFIG");
  });

  it("needs no files at all", () => {
    expect(load(BASE_ENV).config.sources["PROXMOX_MCP_CONFIG"]).toBeUndefined();
  });
});

describe("the older forks' names: PROXMOX_USER + PROXMOX_TOKEN_NAME + PROXMOX_TOKEN_VALUE", () => {
  const ALIAS_ENV = {
    HOME: "/home/tester",
    PROXMOX_HOST: "pve",
    PROXMOX_USER: "mcp@pve",
    PROXMOX_TOKEN_NAME: "readonly",
    PROXMOX_TOKEN_VALUE: SECRET,
  };

  it("builds the token id and secret from them", () => {
    const { config } = load(ALIAS_ENV);
    expect(config.tokenId).toBe("mcp@pve!readonly");
    expect(config.tokenSecret.reveal()).toBe(SECRET);
    expect(config.sources).toMatchObject({ PROXMOX_TOKEN_ID: "env", PROXMOX_TOKEN_SECRET: "env" });
  });

  it("accepts both names when they agree", () => {
    const { config } = load({
      ...ALIAS_ENV,
      PROXMOX_TOKEN_ID: "mcp@pve!readonly",
      PROXMOX_TOKEN_SECRET: SECRET,
    });
    expect(config.tokenId).toBe("mcp@pve!readonly");
  });

  it("rejects a token id that disagrees, naming both variables", () => {
    const error = configError({ ...ALIAS_ENV, PROXMOX_TOKEN_ID: "other@pve!readonly" });
    expectWellFormed(error, "PROXMOX_TOKEN_ID");
    expect(error.message).toContain("PROXMOX_USER + PROXMOX_TOKEN_NAME");
    expect(error.message).not.toContain("other@pve");
  });

  it("rejects a secret that disagrees, naming both variables and neither value", () => {
    const error = configError({ ...ALIAS_ENV, PROXMOX_TOKEN_SECRET: OTHER_SECRET });
    expectWellFormed(error, "PROXMOX_TOKEN_SECRET");
    expect(error.message).toContain("PROXMOX_TOKEN_VALUE");
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(OTHER_SECRET);
  });

  it("rejects a user without a token name", () => {
    const { PROXMOX_TOKEN_NAME: _, ...withoutName } = ALIAS_ENV;
    expectWellFormed(configError(withoutName), "PROXMOX_TOKEN_NAME");
  });

  it("names the alias variables when the token id they form is invalid", () => {
    const error = configError({ ...ALIAS_ENV, PROXMOX_USER: "mcp" });
    expectWellFormed(error, "PROXMOX_USER + PROXMOX_TOKEN_NAME");
  });

  it("lets the environment's token override a file's aliases as a whole", () => {
    writeJson("proxmox-config/config.json", {
      auth: { user: "old@pam", token_name: "legacy", token_value: OTHER_SECRET },
    });
    const { config } = load(BASE_ENV);
    expect(config.tokenId).toBe("mcp@pve!readonly");
    expect(config.tokenSecret.reveal()).toBe(SECRET);
  });
});

describe("the JSON file", () => {
  it("accepts canvrno/ProxmoxMCP's shape", () => {
    writeJson("proxmox-config/config.json", {
      proxmox: { host: "10.8.0.200", port: 8007, verify_ssl: true, service: "PVE" },
      auth: { user: "root@pam", token_name: "mcp-token", token_value: SECRET },
      logging: { level: "WARNING" },
    });
    const { config, warnings } = load({ HOME: "/home/tester" });
    expect(config).toMatchObject({
      host: "10.8.0.200",
      port: 8007,
      tokenId: "root@pam!mcp-token",
      tls: { mode: "system" },
      service: "PVE",
      logLevel: "warn",
    });
    expect(config.tokenSecret.reveal()).toBe(SECRET);
    expect(config.sources).toMatchObject({ PROXMOX_HOST: "json", PROXMOX_TOKEN_ID: "json" });
    expect(warnings).toEqual([]);
  });

  it("names canvrno's key and the file in an error", () => {
    const file = writeJson("proxmox-config/config.json", {
      proxmox: { host: "10.8.0.200:8006" },
      auth: { user: "root@pam", token_name: "mcp-token", token_value: SECRET },
    });
    const error = configError({ HOME: "/home/tester" });
    expectWellFormed(error, "PROXMOX_HOST");
    expect(error.message).toContain(`proxmox.host in ${file}`);
  });

  it("warns about keys it does not know, and ignores keys starting with _", () => {
    const file = writeJson("proxmox-config/config.json", {
      _comment: { PROXMOX_HOST: "explains the host" },
      _note: 42,
      PROXMOX_HOTS: "typo",
      logging: { level: "INFO", format: "%(message)s", _comment: "Python logging" },
    });
    const { warnings } = load(BASE_ENV);
    expect(warnings).toEqual([
      `${file}: unknown key PROXMOX_HOTS ignored; did you mean PROXMOX_HOST?`,
      `${file}: unknown key logging.format ignored`,
    ]);
  });

  it("treats null as unset and joins a list", () => {
    writeJson("proxmox-config/config.json", { PROXMOX_PORT: null, PROXMOX_TOOLSETS: ["core", "storage"] });
    expect(load(BASE_ENV).config).toMatchObject({ port: 8006, toolsets: ["core", "storage"] });
  });

  it("rejects a value that is an object", () => {
    writeJson("proxmox-config/config.json", { PROXMOX_PORT: { value: 8006 } });
    expectWellFormed(configError(BASE_ENV), "PROXMOX_PORT");
  });

  it("rejects the same setting in both shapes", () => {
    writeJson("proxmox-config/config.json", { PROXMOX_HOST: "a", proxmox: { host: "b" } });
    expectWellFormed(configError(BASE_ENV), "PROXMOX_HOST");
  });

  it("rejects a multi-cluster file with a hint", () => {
    writeJson("proxmox-config/config.json", { clusters: [] });
    expect(configError(BASE_ENV).message).toContain("clusters");
  });

  it("reports invalid JSON without quoting the file, which may hold the secret", () => {
    const file = write("proxmox-config/config.json", `{"PROXMOX_TOKEN_SECRET": "${SECRET}",, }`);
    const error = configError(BASE_ENV);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(file);
    expect(error.message).toContain("example: ");
    expect(error.message).not.toContain(SECRET);
  });

  it("rejects a file that is not one JSON object", () => {
    write("proxmox-config/config.json", "[]");
    expect(configError(BASE_ENV).message).toContain("one JSON object");
  });

  it("loads the shipped example unchanged", () => {
    const example = new URL("../../proxmox-config/config.example.json", import.meta.url).pathname;
    mkdirSync(join(dir, "proxmox-config"));
    copyFileSync(example, join(dir, "proxmox-config/config.json"));
    chmodSync(join(dir, "proxmox-config/config.json"), 0o600);
    const { config, warnings } = load({ HOME: "/home/tester" });
    expect(config).toMatchObject({
      host: "pve.example.com",
      tokenId: "mcp@pve!readonly",
      tls: { mode: "system" },
    });
    expect(warnings).toEqual([]);
  });
});

describe.skipIf(process.platform === "win32")("file permissions", () => {
  it("warns when a JSON file holding the secret is readable by others, with the fix", () => {
    const file = writeJson("proxmox-config/config.json", { PROXMOX_TOKEN_SECRET: SECRET }, 0o644);
    const { warnings } = load({ ...BASE_ENV, PROXMOX_TOKEN_SECRET: undefined });
    expect(warnings).toEqual([expect.stringContaining(`chmod 600 ${file}`)]);
    expect(warnings[0]).not.toContain(SECRET);
  });

  it("warns about a group-readable canvrno file and a world-readable .env too", () => {
    writeJson("proxmox-config/config.json", { auth: { token_value: SECRET } }, 0o640);
    write(".env", `PROXMOX_TOKEN_SECRET=${SECRET}\n`, 0o604);
    expect(load(BASE_ENV).warnings).toHaveLength(2);
  });

  it("stays quiet for mode 600, and for a readable file without a secret", () => {
    writeJson("proxmox-config/config.json", { PROXMOX_TOKEN_SECRET: SECRET }, 0o600);
    write(".env", "PROXMOX_PORT=8006\n", 0o644);
    expect(load(BASE_ENV).warnings).toEqual([]);
  });
});

describe("rules: one line naming the variable, the rule and an example", () => {
  const invalid: [string, string][] = [
    ["PROXMOX_HOST", "pve:8006"],
    ["PROXMOX_HOST", "pve/api2"],
    ["PROXMOX_HOST", "10.0.0.256"],
    ["PROXMOX_HOST", "pve_01"],
    ["PROXMOX_HOST", "[pve]"],
    ["PROXMOX_PORT", "0"],
    ["PROXMOX_PORT", "65536"],
    ["PROXMOX_PORT", "80a"],
    ["PROXMOX_PORT", "-1"],
    ["PROXMOX_TOKEN_ID", "mcp@pve"],
    ["PROXMOX_TOKEN_ID", "mcp!readonly"],
    ["PROXMOX_TOKEN_ID", "mcp@pve!1st"],
    ["PROXMOX_TOKEN_ID", "mcp@1pve!readonly"],
    ["PROXMOX_TOKEN_ID", "m cp@pve!readonly"],
    ["PROXMOX_TOKEN_ID", `${"u".repeat(61)}@pve!readonly`],
    ["PROXMOX_TOKEN_SECRET", "not-a-uuid"],
    ["PROXMOX_TOKEN_SECRET", `${SECRET}0`],
    ["PROXMOX_VERIFY_SSL", "maybe"],
    ["PROXMOX_TLS_FINGERPRINT", FINGERPRINT.slice(3)],
    ["PROXMOX_TLS_FINGERPRINT", FINGERPRINT.replace("10", "G0")],
    ["PROXMOX_TLS_FINGERPRINT", "AB:CD"],
    ["PROXMOX_TIMEOUT_MS", "99"],
    ["PROXMOX_TIMEOUT_MS", "600001"],
    ["PROXMOX_TIMEOUT_MS", "1.5"],
    ["PROXMOX_SERVICE", "PBS"],
    ["PROXMOX_LOG_LEVEL", "verbose"],
    ["PROXMOX_TOOLSETS", "Core"],
    ["PROXMOX_TOOLSETS", "core;backup"],
    ["PROXMOX_TOOLSETS", ","],
    ["PROXMOX_ALLOW_PRIVILEGED_TOKEN", "sometimes"],
  ];

  it.each(invalid)("%s=%s", (variable, value) => {
    const error = configError({ ...BASE_ENV, [variable]: value });
    expect(error.problems).toHaveLength(1);
    expectWellFormed(error, variable);
    expect(error.message.startsWith(variable)).toBe(true);
  });

  it("hints that a port without https:// goes in PROXMOX_PORT", () => {
    expect(configError({ ...BASE_ENV, PROXMOX_HOST: "pve:8006" }).message).toMatch(
      /https:\/\/.*PROXMOX_PORT/,
    );
  });

  it.each(["PROXMOX_HOST", "PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET"])("%s is required", (variable) => {
    const error = configError({ ...BASE_ENV, [variable]: undefined });
    expect(error.problems).toEqual([
      expect.stringMatching(new RegExp(`^${variable} is required \\(example: .+\\)$`)),
    ]);
  });

  it("reports every bad value, one line each", () => {
    const error = configError({
      ...BASE_ENV,
      PROXMOX_PORT: "x",
      PROXMOX_TIMEOUT_MS: "y",
      PROXMOX_HOST: undefined,
    });
    expect(error.problems).toHaveLength(3);
    expect(error.message.split("\n")).toEqual(error.problems);
  });

  it("names the .env file where a bad value was written", () => {
    const file = write(".env", "PROXMOX_TIMEOUT_MS=eighty\n");
    expect(configError(BASE_ENV).message).toContain(`PROXMOX_TIMEOUT_MS (in ${file}) must be`);
  });

  it.each([
    ["pve1", "pve1"],
    ["pve.example.com", "pve.example.com"],
    ["192.168.1.10", "192.168.1.10"],
    ["fd00::10", "fd00::10"],
    ["[fd00::10]", "fd00::10"],
  ])("accepts host %s", (value, host) => {
    expect(load({ ...BASE_ENV, PROXMOX_HOST: value }).config.host).toBe(host);
  });

  it.each(["root@pam!mcp", "a.b-c_d@my-realm.1!t.o-k_en", "user@ldap.example!x1"])(
    "accepts token id %s",
    (id) => {
      expect(load({ ...BASE_ENV, PROXMOX_TOKEN_ID: id }).config.tokenId).toBe(id);
    },
  );

  it.each([
    ["true", true],
    ["FALSE", false],
    ["1", true],
    ["0", false],
    ["Yes", true],
    ["no", false],
  ])("reads %s as %s", (value, expected) => {
    expect(load({ ...BASE_ENV, PROXMOX_ALLOW_PRIVILEGED_TOKEN: value }).config.allowPrivilegedToken).toBe(
      expected,
    );
  });
});

describe("a planted secret never appears in an error", () => {
  const PLANTED = "s3cr3t_PLANTED_c0ffee";
  const fields = [
    "PROXMOX_HOST",
    "PROXMOX_PORT",
    "PROXMOX_TOKEN_ID",
    "PROXMOX_TOKEN_SECRET",
    "PROXMOX_USER",
    "PROXMOX_TOKEN_NAME",
    "PROXMOX_TOKEN_VALUE",
    "PROXMOX_VERIFY_SSL",
    "PROXMOX_CA_FILE",
    "PROXMOX_SSL_CERT",
    "PROXMOX_TLS_FINGERPRINT",
    "PROXMOX_TIMEOUT_MS",
    "PROXMOX_SERVICE",
    "PROXMOX_LOG_LEVEL",
    "PROXMOX_MCP_CONFIG",
    "PROXMOX_TOOLSETS",
    "PROXMOX_ALLOW_PRIVILEGED_TOKEN",
  ];

  it.each(fields)("in %s", (variable) => {
    const error = configError({ ...BASE_ENV, [variable]: PLANTED });
    expect(error.message).not.toContain(PLANTED);
    expect(error.message).not.toContain(SECRET);
  });

  it("in every field of a JSON file at once", () => {
    writeJson(
      "proxmox-config/config.json",
      Object.fromEntries(fields.filter((f) => f !== "PROXMOX_MCP_CONFIG").map((f) => [f, PLANTED])),
    );
    const error = configError({ HOME: "/home/tester" });
    expect(error.message).not.toContain(PLANTED);
  });
});

describe("TLS", () => {
  it("pins a fingerprint, normalised to upper case with colons", () => {
    for (const written of [
      FINGERPRINT,
      FINGERPRINT.toLowerCase(),
      FINGERPRINT.replaceAll(":", "").toLowerCase(),
    ]) {
      const { config } = load({ ...BASE_ENV, PROXMOX_TLS_FINGERPRINT: written });
      expect(config.tls).toEqual({ mode: "fingerprint", fingerprint: FINGERPRINT });
    }
  });

  it("trusts a CA file, resolved against cwd", () => {
    write("pve-root-ca.pem", caPem, 0o644);
    const { config, warnings } = load({ ...BASE_ENV, PROXMOX_CA_FILE: "pve-root-ca.pem" });
    expect(config.tls).toEqual({ mode: "ca-file", caFile: join(dir, "pve-root-ca.pem"), caPem });
    expect(warnings).toEqual([]);
  });

  it("turns verification off only when asked, with a warning pointing at pinning", () => {
    const { config, warnings } = load({ ...BASE_ENV, PROXMOX_VERIFY_SSL: "false" });
    expect(config.tls).toEqual({ mode: "insecure" });
    expect(warnings).toEqual([
      expect.stringMatching(/verification is off.*PROXMOX_TLS_FINGERPRINT.*pvenode cert info/),
    ]);
  });

  it("uses the system CAs when verification is explicitly on", () => {
    expect(load({ ...BASE_ENV, PROXMOX_VERIFY_SSL: "true" }).config.tls).toEqual({ mode: "system" });
  });

  it("rejects a fingerprint together with a CA file", () => {
    write("ca.pem", caPem);
    const error = configError({
      ...BASE_ENV,
      PROXMOX_TLS_FINGERPRINT: FINGERPRINT,
      PROXMOX_CA_FILE: "ca.pem",
    });
    expectWellFormed(error, "PROXMOX_TLS_FINGERPRINT");
    expect(error.message).toContain("PROXMOX_CA_FILE");
  });

  it.each([
    ["PROXMOX_TLS_FINGERPRINT", () => FINGERPRINT],
    ["PROXMOX_CA_FILE", () => write("ca.pem", caPem)],
  ])("rejects PROXMOX_VERIFY_SSL=false together with %s", (variable, value) => {
    const error = configError({ ...BASE_ENV, PROXMOX_VERIFY_SSL: "no", [variable]: value() });
    expect(error.problems).toHaveLength(1);
    expectWellFormed(error, "PROXMOX_VERIFY_SSL");
    expect(error.message).toContain(variable);
  });

  it("names canvrno's verify_ssl when it contradicts a pinned fingerprint", () => {
    writeJson("proxmox-config/config.json", { proxmox: { verify_ssl: false } });
    const error = configError({ ...BASE_ENV, PROXMOX_TLS_FINGERPRINT: FINGERPRINT });
    expect(error.message).toContain("PROXMOX_VERIFY_SSL (proxmox.verify_ssl in");
  });

  it("fails on a CA file that cannot be read", () => {
    mkdirSync(join(dir, "a-directory"));
    for (const path of ["missing.pem", "a-directory"]) {
      const error = configError({ ...BASE_ENV, PROXMOX_CA_FILE: path });
      expectWellFormed(error, "PROXMOX_CA_FILE");
      expect(error.message).toMatch(/ENOENT|EISDIR/);
    }
  });

  const privateKeyPem = () =>
    generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
  it.each([
    ["text", () => "hello\n"],
    ["a private key", privateKeyPem],
    ["a broken certificate", () => caPem.replace(/^(-----BEGIN CERTIFICATE-----\n)..../, "$1AAAA")],
  ])("fails on a CA file holding %s", (_, text) => {
    write("ca.pem", text());
    const error = configError({ ...BASE_ENV, PROXMOX_CA_FILE: "ca.pem" });
    expectWellFormed(error, "PROXMOX_CA_FILE");
    expect(error.message).toContain("PEM certificate");
  });
});

describe("no side effects", () => {
  it("changes neither the passed environment nor process.env", () => {
    write(".env", "PROXMOX_LOG_LEVEL=debug\nPROXMOX_PLANTED_BY_DOTENV=1\n");
    const env = Object.freeze({ ...BASE_ENV });
    const processEnvBefore = { ...process.env };
    expect(loadConfig({ env, cwd: dir }).config.logLevel).toBe("debug");
    expect(env).toEqual(BASE_ENV);
    expect(process.env).toEqual(processEnvBefore);
  });
});
