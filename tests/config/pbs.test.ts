/**
 * The optional PBS connection (PBS_* variables): absent without PBS_HOST, every variable
 * and its default, the https:// URL form, TLS modes (fingerprint in either case, CA file,
 * insecure), the three sources (environment, .env, JSON file) with the guarded-setting
 * rule, and error lines that name the variable and never its value.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { configuredSecrets, describeConfig } from "../../src/config/redact.js";
import { pveCaPem } from "../helpers/config.js";

const SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const PBS_SECRET = "7c1e9a2b-3d4f-4a5b-8c6d-9e0f1a2b3c4d";
const FINGERPRINT_LOWER = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16)).join(":");
const FINGERPRINT_UPPER = FINGERPRINT_LOWER.toUpperCase();
const BASE_ENV = {
  HOME: "/home/tester",
  PROXMOX_HOST: "pve.example.com",
  PROXMOX_TOKEN_ID: "mcp@pve!readonly",
  PROXMOX_TOKEN_SECRET: SECRET,
};
const PBS_ENV = {
  PBS_HOST: "pbs.example.com",
  PBS_TOKEN_ID: "mcp@pbs!readonly",
  PBS_TOKEN_SECRET: PBS_SECRET,
};

let dir: string;
let caPem: string;

beforeAll(() => {
  caPem = pveCaPem();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-pbs-config-"));
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

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    // Never a secret in an error line.
    expect(message).not.toContain(PBS_SECRET);
    expect(message).not.toContain(SECRET);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("without PBS_HOST", () => {
  it("has no PBS configuration and lists no PBS source", () => {
    const { config, warnings } = load(BASE_ENV);
    expect(config.pbs).toBeUndefined();
    expect(Object.keys(config.sources).filter((name) => name.startsWith("PBS_"))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("ignores the other PBS_* settings, says so, and requires none of them", () => {
    const { config, warnings } = load({
      ...BASE_ENV,
      PBS_TOKEN_ID: "mcp@pbs!readonly",
      PBS_PORT: "not a port",
    });
    expect(config.pbs).toBeUndefined();
    expect(warnings).toEqual([
      "PBS_PORT, PBS_TOKEN_ID are set but PBS_HOST is not: ignored, and no PBS tool or check is offered",
    ]);
  });

  it("does not warn about proxmox-backup-client's own variables", () => {
    const { warnings } = load({
      ...BASE_ENV,
      PBS_REPOSITORY: "root@pam@pbs:store1",
      PBS_FINGERPRINT: "aa:bb",
    });
    expect(warnings).toEqual([]);
  });
});

describe("with PBS_HOST", () => {
  it("reads the connection with its defaults: port 8007, system trust, PVE's deadline", () => {
    const { config, warnings } = load({ ...BASE_ENV, ...PBS_ENV });
    expect(warnings).toEqual([]);
    expect(config.pbs).toMatchObject({
      host: "pbs.example.com",
      port: 8007,
      tokenId: "mcp@pbs!readonly",
      tls: { mode: "system" },
      timeoutMs: 15_000,
    });
    expect(config.pbs?.tokenSecret.reveal()).toBe(PBS_SECRET);
    expect(JSON.stringify(config.pbs)).not.toContain(PBS_SECRET);
    expect(config.sources).toMatchObject({
      PBS_HOST: "env",
      PBS_PORT: "default",
      PBS_TOKEN_ID: "env",
      PBS_TOKEN_SECRET: "env",
      PBS_VERIFY_SSL: "default",
    });
    expect(config.sources).not.toHaveProperty("PBS_CA_FILE");
    // PVE's settings are untouched.
    expect(config).toMatchObject({ host: "pve.example.com", port: 8006, tokenId: "mcp@pve!readonly" });
  });

  it("shares PROXMOX_TIMEOUT_MS and takes PBS_PORT", () => {
    const { config } = load({ ...BASE_ENV, ...PBS_ENV, PROXMOX_TIMEOUT_MS: "30000", PBS_PORT: "8443" });
    expect(config.pbs).toMatchObject({ port: 8443, timeoutMs: 30_000 });
  });

  it.each([
    ["10.0.0.5", "10.0.0.5"],
    ["[fd00::5]", "fd00::5"],
    ["fd00::5", "fd00::5"],
  ])("takes the address %s", (host, expected) => {
    expect(load({ ...BASE_ENV, ...PBS_ENV, PBS_HOST: host }).config.pbs?.host).toBe(expected);
  });

  it.each([
    ["https://pbs.example.com:8443", "pbs.example.com", 8443],
    ["https://pbs.example.com", "pbs.example.com", 8007],
    ["https://pbs.example.com:8007/api2/json", "pbs.example.com", 8007],
    ["https://[fd00::5]:9007/", "fd00::5", 9007],
  ])("takes the URL %s", (url, host, port) => {
    expect(load({ ...BASE_ENV, ...PBS_ENV, PBS_HOST: url }).config.pbs).toMatchObject({ host, port });
  });

  it("refuses an http:// URL, a URL with credentials and a URL whose port contradicts PBS_PORT", () => {
    expect(configError({ ...BASE_ENV, ...PBS_ENV, PBS_HOST: "http://pbs.example.com" }).problems).toEqual([
      "PBS_HOST is an http:// URL, but PBS's API is HTTPS only and the token would cross the network in clear; write https:// (example: https://pbs.example.com:8007)",
    ]);
    const withPassword = configError({ ...BASE_ENV, ...PBS_ENV, PBS_HOST: "https://root:hunter2@pbs:8007" });
    expect(withPassword.message).toContain("PBS_HOST holds a user name or password");
    expect(withPassword.message).not.toContain("hunter2");
    expect(
      configError({ ...BASE_ENV, ...PBS_ENV, PBS_HOST: "https://pbs.example.com:8443", PBS_PORT: "8007" })
        .problems,
    ).toEqual([
      "PBS_PORT and the port in PBS_HOST differ; keep one, or the same port in both (example: PBS_HOST=https://pbs.example.com:8007 without PBS_PORT)",
    ]);
  });

  it("names a missing token id or secret", () => {
    const { PBS_TOKEN_ID: _id, ...withoutId } = PBS_ENV;
    expect(configError({ ...BASE_ENV, ...withoutId }).problems).toEqual([
      "PBS_HOST is set, so PBS_TOKEN_ID is required: the PBS API token (example: mcp@pbs!readonly)",
    ]);
    const { PBS_TOKEN_SECRET: _secret, ...withoutSecret } = PBS_ENV;
    expect(configError({ ...BASE_ENV, ...withoutSecret }).problems).toEqual([
      "PBS_HOST is set, so PBS_TOKEN_SECRET is required: the PBS API token (example: 0b4f6a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b)",
    ]);
  });

  it("points at a near-miss name when a variable is missing", () => {
    const { PBS_TOKEN_SECRET: _secret, ...withoutSecret } = PBS_ENV;
    let warnings: string[] = [];
    const err = configError({ ...BASE_ENV, ...withoutSecret, PBS_TOKEN_SECRT: PBS_SECRET });
    expect(err.message).toContain("PBS_TOKEN_SECRT is set: did you mean PBS_TOKEN_SECRET?");
    ({ warnings } = load({ ...BASE_ENV, ...PBS_ENV, PBS_VERIFY_SLL: "false" }));
    expect(warnings.join("\n")).toContain("did you mean PBS_VERIFY_SSL?");
  });

  it.each([
    ["PBS_HOST", "pbs.example.com/x", "must be a host name, an IP address or an https:// URL"],
    ["PBS_PORT", "80070", "must be a whole number from 1 to 65535"],
    ["PBS_PORT", "x", "must be a whole number from 1 to 65535"],
    ["PBS_TOKEN_ID", "jane@pbs", "must look like user@realm!tokenname"],
    ["PBS_TOKEN_ID", "mcp@pbs=readonly", "must look like user@realm!tokenname"],
    ["PBS_TOKEN_ID", "mcp@pbs!a", "must look like user@realm!tokenname"],
    ["PBS_TOKEN_ID", "m cp@pbs!readonly", "must look like user@realm!tokenname"],
    ["PBS_TOKEN_SECRET", "not-a-uuid-secret-value", "must be the PBS token's secret"],
    ["PBS_VERIFY_SSL", "maybe", "must be true or false"],
    ["PBS_TLS_FINGERPRINT", "aa:bb:cc", "must be the certificate's SHA-256 fingerprint"],
  ])("refuses %s=%s naming the rule and not the value", (variable, value, rule) => {
    const err = configError({ ...BASE_ENV, ...PBS_ENV, [variable]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(
      new RegExp(`^${variable} ${rule.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
    if (value.length > 4) expect(err.message).not.toContain(value);
  });

  it("accepts token ids with PBS's formats: digits and _ first, long token names", () => {
    for (const tokenId of [
      "mcp@pbs!readonly",
      "jane.doe@ldap-corp!2026_audit",
      "root@pam!_x",
      "a@b!" + "t".repeat(64),
    ]) {
      expect(load({ ...BASE_ENV, ...PBS_ENV, PBS_TOKEN_ID: tokenId }).config.pbs?.tokenId).toBe(tokenId);
    }
  });

  it("refuses the PVE token's secret as PBS's", () => {
    expect(configError({ ...BASE_ENV, ...PBS_ENV, PBS_TOKEN_SECRET: SECRET }).message).toContain(
      "PBS_TOKEN_SECRET equals PROXMOX_TOKEN_SECRET",
    );
  });
});

describe("PBS's TLS", () => {
  it.each([FINGERPRINT_LOWER, FINGERPRINT_UPPER, FINGERPRINT_LOWER.replace(/:/g, "")])(
    "pins the fingerprint %s, stored normalised",
    (fingerprint) => {
      const { config, warnings } = load({ ...BASE_ENV, ...PBS_ENV, PBS_TLS_FINGERPRINT: fingerprint });
      expect(config.pbs?.tls).toEqual({ mode: "fingerprint", fingerprint: FINGERPRINT_UPPER });
      expect(config.sources["PBS_TLS_FINGERPRINT"]).toBe("env");
      expect(warnings).toEqual([]);
    },
  );

  it("trusts a CA file, relative to cwd", () => {
    const path = write("pbs-ca.pem", caPem);
    const { config } = load({ ...BASE_ENV, ...PBS_ENV, PBS_CA_FILE: "pbs-ca.pem" });
    expect(config.pbs?.tls).toEqual({ mode: "ca-file", caFile: path, caPem });
    // PVE's own TLS is unaffected.
    expect(config.tls).toEqual({ mode: "system" });
  });

  it("refuses a missing or non-PEM CA file", () => {
    expect(configError({ ...BASE_ENV, ...PBS_ENV, PBS_CA_FILE: "missing.pem" }).problems).toEqual([
      "PBS_CA_FILE cannot be read (ENOENT); it must name the CA certificate of PBS (example: /etc/proxmox-backup/proxy.pem)",
    ]);
    write("junk.pem", "not a certificate");
    expect(configError({ ...BASE_ENV, ...PBS_ENV, PBS_CA_FILE: "junk.pem" }).problems).toEqual([
      "PBS_CA_FILE must be a PEM certificate file such as the CA certificate of PBS (example: /etc/proxmox-backup/proxy.pem)",
    ]);
  });

  it("refuses a fingerprint and a CA file together, and PBS_VERIFY_SSL=false with either", () => {
    write("pbs-ca.pem", caPem);
    expect(
      configError({
        ...BASE_ENV,
        ...PBS_ENV,
        PBS_CA_FILE: "pbs-ca.pem",
        PBS_TLS_FINGERPRINT: FINGERPRINT_LOWER,
      }).problems,
    ).toEqual([
      "set one of PBS_TLS_FINGERPRINT or PBS_CA_FILE, not both (example: PBS_CA_FILE=/etc/proxmox-backup/proxy.pem alone)",
    ]);
    expect(
      configError({
        ...BASE_ENV,
        ...PBS_ENV,
        PBS_VERIFY_SSL: "false",
        PBS_TLS_FINGERPRINT: FINGERPRINT_LOWER,
      }).problems,
    ).toEqual([
      "PBS_VERIFY_SSL is false, which contradicts PBS_TLS_FINGERPRINT: that already trusts the self-signed certificate; remove PBS_VERIFY_SSL (example: PBS_VERIFY_SSL=true)",
    ]);
  });

  it("turns verification off only with PBS_VERIFY_SSL=false, and warns", () => {
    const { config, warnings } = load({ ...BASE_ENV, ...PBS_ENV, PBS_VERIFY_SSL: "no" });
    expect(config.pbs?.tls).toEqual({ mode: "insecure" });
    expect(config.tls).toEqual({ mode: "system" });
    expect(warnings).toEqual([expect.stringMatching(/^PBS_VERIFY_SSL is false: .*PBS_TLS_FINGERPRINT/)]);
  });
});

describe("sources", () => {
  it("reads PBS from .env, and warns when others can read it", () => {
    const text = Object.entries(PBS_ENV)
      .map(([name, value]) => `${name}=${value}`)
      .join("\n");
    write(".env", text);
    expect(load(BASE_ENV).config.pbs).toMatchObject({ host: "pbs.example.com", tokenId: "mcp@pbs!readonly" });
    expect(load(BASE_ENV).config.sources["PBS_HOST"]).toBe(".env");
    const file = write(".env", text, 0o644);
    expect(load(BASE_ENV).warnings).toContainEqual(expect.stringContaining(`${file} holds a token secret`));
  });

  it("reads PBS from the JSON file", () => {
    write("proxmox-config/config.json", JSON.stringify({ ...PBS_ENV, PBS_PORT: 8443, PBS_VERIFY_SSL: true }));
    const { config } = load(BASE_ENV);
    expect(config.pbs).toMatchObject({ host: "pbs.example.com", port: 8443, tls: { mode: "system" } });
    expect(config.sources).toMatchObject({ PBS_HOST: "json", PBS_PORT: "json", PBS_TOKEN_SECRET: "json" });
  });

  it("prefers the environment over .env and the JSON file", () => {
    write(".env", "PBS_TOKEN_ID=other@pbs!token\n");
    expect(load({ ...BASE_ENV, ...PBS_ENV }).config.pbs?.tokenId).toBe("mcp@pbs!readonly");
  });

  it.each([
    ["PBS_HOST", "evil.example.com"],
    ["PBS_PORT", "8443"],
    ["PBS_VERIFY_SSL", "false"],
    ["PBS_TLS_FINGERPRINT", FINGERPRINT_LOWER],
    ["PBS_CA_FILE", "ca.pem"],
  ])("refuses %s from a layer below the PBS token's", (variable, value) => {
    write(".env", `${variable}=${value}\n`);
    // The PBS token in the environment; the setting only in .env.
    const env: NodeJS.ProcessEnv = { ...BASE_ENV, ...PBS_ENV };
    delete env[variable];
    const err = configError(env);
    expect(err.problems).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${variable} \\(in .*\\.env\\) comes from the \\.env layer, below the token \\(env\\)`),
      ),
    );
  });

  it("lets the defaults be restated anywhere", () => {
    write(".env", "PBS_PORT=8007\nPBS_VERIFY_SSL=true\n");
    expect(load({ ...BASE_ENV, ...PBS_ENV }).config.pbs).toMatchObject({
      port: 8007,
      tls: { mode: "system" },
    });
  });
});

describe("display and masking", () => {
  it("describes the PBS connection without its secret, and masks the secret like PVE's", () => {
    const { config } = load({ ...BASE_ENV, ...PBS_ENV, PBS_TLS_FINGERPRINT: FINGERPRINT_LOWER });
    const described = describeConfig(config);
    expect(described).toMatchObject({
      pbsHost: "pbs.example.com",
      pbsPort: 8007,
      pbsTokenId: "mcp@pbs!readonly",
      pbsTokenSecret: "[set]",
      pbsTls: "fingerprint",
      pbsTlsFingerprint: FINGERPRINT_UPPER,
    });
    expect(JSON.stringify(described)).not.toContain(PBS_SECRET);
    expect(configuredSecrets(config)).toEqual([SECRET, PBS_SECRET]);
  });

  it("shows nothing of PBS when it is not configured", () => {
    const described = describeConfig(load(BASE_ENV).config);
    expect(Object.keys(described).filter((key) => key.startsWith("pbs"))).toEqual([]);
  });
});
