/**
 * The HTTP transport's settings (loadHttpConfig): defaults, one line per bad value
 * naming the variable, rule and example and never the value, the refusals to start
 * (no token, a short or guessable token, a Proxmox secret as token, a non-loopback bind
 * without TLS),
 * the TLS files, and the guard against a .env or config file below the token.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isLoopbackHost, loadHttpConfig } from "../../src/config/http.js";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { issueCertificate } from "../../src/simulator/tls.js";

const TOKEN = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a";
const PVE_SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const PVE_ENV = {
  HOME: "/home/tester",
  PROXMOX_HOST: "pve.example.com",
  PROXMOX_TOKEN_ID: "mcp@pve!readonly",
  PROXMOX_TOKEN_SECRET: PVE_SECRET,
};
const BASE = { ...PVE_ENV, MCP_HTTP_TOKEN: TOKEN };

let dir: string;
let pair: { cert: string; key: string };
let otherKey: string;

function selfSigned(): { cert: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = issueCertificate({
    subject: "/CN=mcp",
    issuer: "/CN=mcp",
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    san: ["mcp.example.com"],
    publicKey,
    signingKey: privateKey,
  });
  return { cert, key: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}

beforeAll(() => {
  pair = selfSigned();
  otherKey = selfSigned().key;
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-http-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: NodeJS.ProcessEnv) => loadHttpConfig({ env, cwd: dir });

function write(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  it("needs only the token: loopback, port 8080, 32 sessions, 30 min idle, 600 requests a minute, 1 MiB bodies", () => {
    const { http, warnings } = load(BASE);
    expect(http).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      allowedOrigins: [],
      allowPlaintext: false,
      maxSessions: 32,
      sessionIdleS: 1800,
      rateLimit: 600,
      maxBodyBytes: 1024 * 1024,
    });
    expect(http.tls).toBeUndefined();
    expect(http.token.reveal()).toBe(TOKEN);
    expect(String(http.token)).toBe("[redacted]");
    expect(JSON.stringify(http)).not.toContain(TOKEN);
    expect(http.sources).toMatchObject({ MCP_HTTP_TOKEN: "env", MCP_HTTP_HOST: "default" });
    expect(warnings).toEqual([]);
  });

  it("reads every setting, normalising the origins", () => {
    const { http } = load({
      ...BASE,
      MCP_HTTP_HOST: "::1",
      MCP_HTTP_PORT: "0",
      MCP_ALLOWED_ORIGINS: "https://MCP.example.com/, http://localhost:5173,https://mcp.example.com:443",
      MCP_HTTP_MAX_SESSIONS: "4",
      MCP_HTTP_SESSION_IDLE_S: "60",
      MCP_HTTP_RATE_LIMIT: "100000",
      MCP_HTTP_MAX_BODY: "65536",
    });
    expect(http).toMatchObject({
      host: "::1",
      port: 0,
      allowedOrigins: ["https://mcp.example.com", "http://localhost:5173"],
      maxSessions: 4,
      sessionIdleS: 60,
      rateLimit: 100_000,
      maxBodyBytes: 65_536,
    });
  });

  it("is not parsed without --http: loadConfig ignores the HTTP variables, and a JSON file may hold them", () => {
    write("config.json", JSON.stringify({ MCP_HTTP_PORT: "not a port" }));
    const { warnings } = loadConfig({
      env: { ...PVE_ENV, MCP_HTTP_PORT: "x", PROXMOX_MCP_CONFIG: "config.json" },
      cwd: dir,
    });
    expect(warnings).toEqual([]);
  });
});

describe("the token", () => {
  it("refuses to start without one, saying how to make one", () => {
    expect(problems(PVE_ENV)).toEqual([
      "MCP_HTTP_TOKEN is required with --http: every client must send it as `Authorization: Bearer <token>`; make one with `openssl rand -hex 32` (example: MCP_HTTP_TOKEN=$(openssl rand -hex 32))",
    ]);
  });

  it("names a misspelt token variable, never its value", () => {
    const token = randomBytes(32).toString("hex");
    const lines = problems({ ...PVE_ENV, MCP_HTTP_TOKN: token });
    expect(lines).toEqual([
      expect.stringMatching(
        /^MCP_HTTP_TOKEN is required with --http; MCP_HTTP_TOKN is set: did you mean MCP_HTTP_TOKEN\?: every client/,
      ),
    ]);
    expect(lines.join("\n")).not.toContain(token);
  });

  it.each([
    ["31 characters", "a".repeat(31)],
    ["a space", `${"a".repeat(20)} ${"b".repeat(20)}`],
    ["a non-ASCII character", `${"a".repeat(40)}é`],
  ])("refuses a token with %s, without echoing it", (_what, token) => {
    const lines = problems({ ...PVE_ENV, MCP_HTTP_TOKEN: token });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^MCP_HTTP_TOKEN must be at least 32 characters .*openssl rand -hex 32/);
    expect(lines[0]).not.toContain(token);
  });

  it.each([
    ["one repeated character", "a".repeat(40)],
    ["two characters", "ab".repeat(32)],
    ["a repeated word", "weak-token-".repeat(4)],
    ["9 different characters", "123456789".repeat(4)],
  ])(
    "refuses a guessable token (%s): at least 10 different characters, without echoing it",
    (_what, token) => {
      const lines = problems({ ...PVE_ENV, MCP_HTTP_TOKEN: token });
      expect(lines).toEqual([
        "MCP_HTTP_TOKEN has fewer than 10 different characters, so it can be guessed: it must be at least 32 characters with at least 10 different ones; make one with `openssl rand -hex 32` (example: MCP_HTTP_TOKEN=$(openssl rand -hex 32))",
      ]);
    },
  );

  it("accepts the tokens `openssl rand -hex 32` and `-base64 32` make (400 random ones), and 10 different characters", () => {
    for (let i = 0; i < 200; i++) {
      for (const token of [randomBytes(32).toString("hex"), randomBytes(32).toString("base64")]) {
        expect(load({ ...PVE_ENV, MCP_HTTP_TOKEN: token }).http.token.reveal()).toBe(token);
      }
    }
    expect(load({ ...PVE_ENV, MCP_HTTP_TOKEN: "0123456789".repeat(4) }).http.token.reveal()).toHaveLength(40);
  });

  it("refuses a Proxmox token secret as the bearer token", () => {
    const lines = problems({ ...PVE_ENV, MCP_HTTP_TOKEN: PVE_SECRET });
    expect(lines).toEqual([
      expect.stringMatching(/^MCP_HTTP_TOKEN equals PROXMOX_TOKEN_SECRET: .*openssl rand/),
    ]);
    expect(lines[0]).not.toContain(PVE_SECRET);
  });
});

describe("rules: one line naming the variable, the rule and an example", () => {
  it.each([
    ["MCP_HTTP_HOST", "http://0.0.0.0"],
    ["MCP_HTTP_HOST", "127.0.0.1:8080"],
    ["MCP_HTTP_PORT", "65536"],
    ["MCP_HTTP_PORT", "http"],
    ["MCP_ALLOWED_ORIGINS", "*"],
    ["MCP_ALLOWED_ORIGINS", "https://ok.example.com,https://bad.example.com/path"],
    ["MCP_ALLOWED_ORIGINS", "ftp://files.example.com"],
    ["MCP_ALLOWED_ORIGINS", "origin.example.org"],
    ["MCP_HTTP_ALLOW_PLAINTEXT", "sure"],
    ["MCP_HTTP_MAX_SESSIONS", "0"],
    ["MCP_HTTP_SESSION_IDLE_S", "0"],
    ["MCP_HTTP_RATE_LIMIT", "0"],
    ["MCP_HTTP_MAX_BODY", "100"],
  ])("%s=%s", (variable, value) => {
    const lines = problems({ ...BASE, [variable]: value });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${variable} .+ \\(example: .+\\)$`));
    if (value.length > 2) expect(lines[0]).not.toContain(value);
  });
});

describe("where it listens", () => {
  it.each(["127.0.0.1", "127.0.0.2", "localhost", "::1"])("%s is loopback: plain HTTP is fine", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    expect(load({ ...BASE, MCP_HTTP_HOST: host }).http.tls).toBeUndefined();
  });

  it.each(["0.0.0.0", "::", "192.168.1.10", "mcp.example.com"])(
    "%s without TLS refuses to start, naming both ways out",
    (host) => {
      const lines = problems({ ...BASE, MCP_HTTP_HOST: host });
      expect(lines).toEqual([
        expect.stringMatching(
          /^MCP_HTTP_HOST is not a loopback address, so clients would send the bearer token .* in plain text; set MCP_HTTP_TLS_CERT and MCP_HTTP_TLS_KEY, or MCP_HTTP_ALLOW_PLAINTEXT=true/,
        ),
      ]);
    },
  );

  it("MCP_HTTP_ALLOW_PLAINTEXT=true allows it, with a warning", () => {
    const { http, warnings } = load({ ...BASE, MCP_HTTP_HOST: "0.0.0.0", MCP_HTTP_ALLOW_PLAINTEXT: "true" });
    expect(http.allowPlaintext).toBe(true);
    expect(warnings).toEqual([expect.stringContaining("cross the network unencrypted")]);
  });

  it("TLS allows it: the certificate and key are read and checked against each other", () => {
    const cert = write("cert.pem", pair.cert);
    write("key.pem", pair.key);
    const { http, warnings } = load({
      ...BASE,
      MCP_HTTP_HOST: "0.0.0.0",
      MCP_HTTP_TLS_CERT: "cert.pem",
      MCP_HTTP_TLS_KEY: join(dir, "key.pem"),
    });
    expect(http.tls).toMatchObject({ certFile: cert, keyFile: join(dir, "key.pem"), cert: pair.cert });
    expect(http.tls?.key.reveal()).toBe(pair.key);
    expect(JSON.stringify(http)).not.toContain("PRIVATE KEY");
    expect(warnings).toEqual([]);
  });
});

describe("TLS files", () => {
  it("both or neither", () => {
    write("cert.pem", pair.cert);
    expect(problems({ ...BASE, MCP_HTTP_TLS_CERT: "cert.pem" })).toEqual([
      expect.stringMatching(
        /^MCP_HTTP_TLS_CERT is set but MCP_HTTP_TLS_KEY is not: .*\(example: MCP_HTTP_TLS_KEY=/,
      ),
    ]);
    expect(problems({ ...BASE, MCP_HTTP_TLS_KEY: "key.pem" })).toEqual([
      expect.stringMatching(/^MCP_HTTP_TLS_KEY is set but MCP_HTTP_TLS_CERT is not/),
    ]);
  });

  it("names an unreadable file, a file that is not a certificate or key, and a key that does not match", () => {
    write("cert.pem", pair.cert);
    write("key.pem", pair.key);
    write("other-key.pem", otherKey);
    write("junk.pem", "hello");
    expect(problems({ ...BASE, MCP_HTTP_TLS_CERT: "missing.pem", MCP_HTTP_TLS_KEY: "key.pem" })).toEqual([
      expect.stringMatching(
        /^MCP_HTTP_TLS_CERT cannot be read \(ENOENT\); it must name a PEM certificate file/,
      ),
    ]);
    expect(problems({ ...BASE, MCP_HTTP_TLS_CERT: "junk.pem", MCP_HTTP_TLS_KEY: "key.pem" })).toEqual([
      expect.stringMatching(/^MCP_HTTP_TLS_CERT must be a PEM certificate/),
    ]);
    expect(problems({ ...BASE, MCP_HTTP_TLS_CERT: "cert.pem", MCP_HTTP_TLS_KEY: "junk.pem" })).toEqual([
      expect.stringMatching(/^MCP_HTTP_TLS_KEY must be an unencrypted PEM private key/),
    ]);
    const mismatch = problems({ ...BASE, MCP_HTTP_TLS_CERT: "cert.pem", MCP_HTTP_TLS_KEY: "other-key.pem" });
    expect(mismatch).toEqual([
      expect.stringMatching(/^MCP_HTTP_TLS_KEY is not the private key of MCP_HTTP_TLS_CERT/),
    ]);
    expect(mismatch.join("\n")).not.toContain("PRIVATE KEY");
  });

  it("warns when the private key is readable by others", () => {
    write("cert.pem", pair.cert);
    write("key.pem", pair.key, 0o644);
    const { warnings } = load({ ...BASE, MCP_HTTP_TLS_CERT: "cert.pem", MCP_HTTP_TLS_KEY: "key.pem" });
    expect(warnings).toEqual([expect.stringMatching(/key\.pem is the HTTPS private key .*chmod 600/)]);
  });
});

describe("settings below the token", () => {
  it.each([
    ["MCP_HTTP_HOST", "0.0.0.0"],
    ["MCP_HTTP_TOKEN", TOKEN],
    ["MCP_ALLOWED_ORIGINS", "https://evil.example.com"],
    ["MCP_HTTP_ALLOW_PLAINTEXT", "true"],
    ["MCP_HTTP_TLS_CERT", "cert.pem"],
  ])("a .env may not set %s when the Proxmox token is in the environment", (variable, value) => {
    const env = write(".env", `${variable}=${value}\n`);
    const base = variable === "MCP_HTTP_TOKEN" ? PVE_ENV : BASE;
    const lines = problems(base);
    expect(lines).toContainEqual(
      `${variable} (in ${env}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
    );
  });

  it("may restate the safe default, and may set what does not widen access (port, limits)", () => {
    write(
      ".env",
      "MCP_HTTP_HOST=127.0.0.1\nMCP_HTTP_ALLOW_PLAINTEXT=false\nMCP_HTTP_PORT=9000\nMCP_HTTP_RATE_LIMIT=60\n",
    );
    const { http } = load(BASE);
    expect(http).toMatchObject({ host: "127.0.0.1", port: 9000, rateLimit: 60 });
    expect(http.sources).toMatchObject({ MCP_HTTP_PORT: ".env", MCP_HTTP_TOKEN: "env" });
  });

  it("everything in one file is fine (the token is there too); a world-readable one gets a warning", () => {
    const file = write(
      ".env",
      `PROXMOX_HOST=pve.example.com\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${PVE_SECRET}\nMCP_HTTP_TOKEN=${TOKEN}\nMCP_HTTP_HOST=0.0.0.0\nMCP_HTTP_ALLOW_PLAINTEXT=true\n`,
      0o644,
    );
    const { http, warnings } = load({ HOME: "/home/tester" });
    expect(http.host).toBe("0.0.0.0");
    expect(warnings).toContainEqual(
      `${file} holds MCP_HTTP_TOKEN and other users can read it (mode 644); fix: chmod 600 ${file}`,
    );
  });

  it("the demo (no Proxmox token anywhere) takes the HTTP settings from a .env", () => {
    write(".env", `MCP_HTTP_TOKEN=${TOKEN}\nMCP_HTTP_PORT=0\n`);
    expect(load({ HOME: "/home/tester" }).http.port).toBe(0);
  });
});
