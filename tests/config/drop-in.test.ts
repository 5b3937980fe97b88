/**
 * Configuration written for other Proxmox MCP servers (issue 11): PROXMOX_SSL_CERT as an
 * alias of PROXMOX_CA_FILE, PROXMOX_HOST as an https:// URL, and hints for misspelt or
 * foreign variable names. Every refusal is one line naming the variable and never its value.
 */
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadHttpConfig } from "../../src/config/http.js";
import { closestName, ConfigError, editDistance, loadConfig } from "../../src/config/load.js";
import { pveCaPem } from "../helpers/config.js";

const SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const ADMIN_SECRET = "9f4912cb-dcc9-4e6a-968f-636f2a003454";
const TOKEN_ENV = {
  HOME: "/home/tester",
  PROXMOX_TOKEN_ID: "mcp@pve!readonly",
  PROXMOX_TOKEN_SECRET: SECRET,
};
const BASE_ENV = { ...TOKEN_ENV, PROXMOX_HOST: "pve.example.com" };
const PLANTED = "s3cr3t_PLANTED_c0ffee";

let dir: string;
let caPem: string;

beforeAll(() => {
  caPem = pveCaPem();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-drop-in-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env, cwd: dir });

function write(relative: string, text: string): string {
  const path = join(dir, relative);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o600);
  return path;
}

const writeJson = (data: unknown) => write("proxmox-config/config.json", JSON.stringify(data));

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("PROXMOX_SSL_CERT, the hardened Python fork's name for PROXMOX_CA_FILE", () => {
  it("is read from the environment, resolved against cwd", () => {
    write("ca.pem", caPem);
    const { config, warnings } = load({ ...BASE_ENV, PROXMOX_SSL_CERT: "ca.pem" });
    expect(config.tls).toEqual({ mode: "ca-file", caFile: join(dir, "ca.pem"), caPem });
    expect(config.sources["PROXMOX_CA_FILE"]).toBe("env");
    expect(warnings).toEqual([]);
  });

  it("is read from .env next to the token", () => {
    write("ca.pem", caPem);
    write(
      ".env",
      `PROXMOX_HOST=pve.lab\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${SECRET}\nPROXMOX_SSL_CERT=ca.pem\n`,
    );
    expect(load({ HOME: "/home/tester" }).config.tls).toMatchObject({ mode: "ca-file" });
  });

  it("is read from a flat JSON file next to the token", () => {
    write("ca.pem", caPem);
    writeJson({
      PROXMOX_HOST: "pve.lab",
      PROXMOX_TOKEN_ID: "mcp@pve!readonly",
      PROXMOX_TOKEN_SECRET: SECRET,
      PROXMOX_SSL_CERT: "ca.pem",
    });
    const { config } = load({ HOME: "/home/tester" });
    expect(config.tls).toMatchObject({ mode: "ca-file", caFile: join(dir, "ca.pem") });
    expect(config.sources["PROXMOX_CA_FILE"]).toBe("json");
  });

  it("may repeat PROXMOX_CA_FILE, also spelt as another path to the same file", () => {
    write("ca.pem", caPem);
    const { config } = load({
      ...BASE_ENV,
      PROXMOX_CA_FILE: join(dir, "ca.pem"),
      PROXMOX_SSL_CERT: "./ca.pem",
    });
    expect(config.tls).toMatchObject({ mode: "ca-file", caFile: join(dir, "ca.pem") });
  });

  it("may not name another file than PROXMOX_CA_FILE; the line names both and neither path", () => {
    const file = write(
      ".env",
      `PROXMOX_TOKEN_SECRET=${SECRET}\nPROXMOX_CA_FILE=${PLANTED}-a.pem\nPROXMOX_SSL_CERT=${PLANTED}-b.pem\n`,
    );
    const lines = problems({ ...BASE_ENV, PROXMOX_TOKEN_SECRET: undefined });
    expect(lines).toEqual([
      `PROXMOX_CA_FILE and PROXMOX_SSL_CERT in ${file} name different files; set only PROXMOX_CA_FILE (example: PROXMOX_CA_FILE=/etc/pve/pve-root-ca.pem)`,
    ]);
    expect(lines.join("\n")).not.toContain(PLANTED);
  });

  it("is refused from a .env below the token in the environment, naming where it was written", () => {
    write("ca.pem", caPem);
    const file = write(".env", "PROXMOX_SSL_CERT=ca.pem\n");
    expect(problems(BASE_ENV)).toEqual([
      `PROXMOX_CA_FILE (PROXMOX_SSL_CERT in ${file}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
    ]);
  });

  it("names itself and its file when the CA file cannot be read", () => {
    const file = write(
      ".env",
      `PROXMOX_HOST=pve.lab\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${SECRET}\nPROXMOX_SSL_CERT=missing.pem\n`,
    );
    expect(problems({ HOME: "/home/tester" })).toEqual([
      expect.stringMatching(
        new RegExp(`^PROXMOX_CA_FILE \\(PROXMOX_SSL_CERT in ${file}\\) cannot be read \\(ENOENT\\)`),
      ),
    ]);
  });
});

describe("PROXMOX_HOST as an https:// URL", () => {
  it.each([
    ["https://pve.example.com:8006", "pve.example.com", 8006, "env"],
    ["https://pve.example.com:8006/", "pve.example.com", 8006, "env"],
    ["https://pve.example.com:8006/api2/json", "pve.example.com", 8006, "env"],
    ["https://pve.example.com:8006/api2/json/", "pve.example.com", 8006, "env"],
    ["https://pve.example.com:8443", "pve.example.com", 8443, "env"],
    ["HTTPS://pve.example.com:8443/", "pve.example.com", 8443, "env"],
    ["https://[2001:db8::1]:8006", "2001:db8::1", 8006, "env"],
    ["https://[2001:db8::1]", "2001:db8::1", 8006, "default"],
    // No port: PVE's 8006, not the 443 that https:// implies.
    ["https://10.0.0.5", "10.0.0.5", 8006, "default"],
    ["https://10.0.0.5/api2/json", "10.0.0.5", 8006, "default"],
  ])("accepts %s", (value, host, port, portSource) => {
    const { config, warnings } = load({ ...BASE_ENV, PROXMOX_HOST: value });
    expect(config).toMatchObject({ host, port });
    expect(config.sources).toMatchObject({ PROXMOX_HOST: "env", PROXMOX_PORT: portSource });
    expect(warnings).toEqual([]);
  });

  it("keeps PROXMOX_PORT when the URL has no port", () => {
    const env = { ...BASE_ENV, PROXMOX_HOST: "https://10.0.0.5", PROXMOX_PORT: "8443" };
    expect(load(env).config.port).toBe(8443);
  });

  it("takes canvrno's proxmox.host as a URL too", () => {
    writeJson({
      proxmox: { host: "https://10.8.0.200:8007/api2/json" },
      auth: { user: "root@pam", token_name: "mcp-token", token_value: SECRET },
    });
    const { config } = load({ HOME: "/home/tester" });
    expect(config).toMatchObject({ host: "10.8.0.200", port: 8007 });
    expect(config.sources).toMatchObject({ PROXMOX_HOST: "json", PROXMOX_PORT: "json" });
  });

  it("gives the bare host to PROXMOX_SSH_HOST's default", () => {
    const keyFile = write(
      "id_ed25519",
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
    const { config } = load({
      ...BASE_ENV,
      PROXMOX_HOST: "https://pve.example.com:8006/api2/json",
      ENABLE_DANGEROUS_COMMANDS: "true",
      PROXMOX_ADMIN_TOKEN_ID: "automation@pve!mcp-admin",
      PROXMOX_ADMIN_TOKEN_SECRET: ADMIN_SECRET,
      PROXMOX_SSH_KEY_FILE: keyFile,
      PROXMOX_SSH_HOST_KEY: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
      PROXMOX_SSH_COMMAND_ALLOWLIST: '["uptime"]',
    });
    expect(config.dangerous?.ssh?.host).toBe("pve.example.com");
  });

  it.each(["https://pve.example.com:8006", "http://pve.example.com", "https://pve.example.com/other"])(
    "is no concern of the HTTP transport's loader, which --demo --http uses alone (%s)",
    (host) => {
      const { http } = loadHttpConfig({
        env: {
          ...BASE_ENV,
          PROXMOX_HOST: host,
          PROXMOX_PORT: "9443",
          MCP_HTTP_TOKEN: "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a",
        },
        cwd: dir,
      });
      expect(http.port).toBe(8080);
    },
  );

  // A host unlike the example's (pve.example.com), so that "not echoed" can be checked.
  it.each([
    ["http://node7.lab.internal:8006", /HTTPS only.*in clear; write https:\/\//],
    ["HTTP://node7.lab.internal", /HTTPS only/],
    ["ftp://node7.lab.internal", /no other scheme/],
    ["pve+ssh://node7.lab.internal", /no other scheme/],
    ["https://node7.lab.internal:8006/api2/extjs", /path other than \/ or \/api2\/json/],
    ["https://node7.lab.internal:8006/#/v:=node", /query \(\?\) or fragment \(#\)/],
    ["https://node7.lab.internal:8006/api2/json?ticket=1", /query/],
    ["https://node7.lab.internal?", /query/],
    ["https://root@node7.lab.internal:8006", /credentials do not belong in a host setting/],
    ["https://node7_lab:8006", /no valid host name or IP address/],
    ["https://10.0.7.256:8006", /no valid host name or IP address/],
    ["https://2001:db8::7:8006", /IPv6 address goes in brackets/],
    ["https://", /no valid host name/],
    ["https://node7.lab.internal:0", /port that is not a whole number from 1 to 65535/],
    ["https://node7.lab.internal:65536", /port/],
    ["https://node7.lab.internal:80a", /port/],
    ["https://node7.lab.internal:", /port/],
  ])("refuses %s in one line, without echoing it", (value, reason) => {
    const lines = problems({ ...BASE_ENV, PROXMOX_HOST: value });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^PROXMOX_HOST .*\(example: https:\/\/pve\.example\.com:8006\)$/);
    expect(lines[0]).toMatch(reason);
    expect(lines[0]).not.toMatch(/node7|10\.0\.7|db8::7/);
  });

  it.each([
    `https://root:${PLANTED}@node7.lab.internal:8006`,
    `https://root%40pam:${PLANTED}@node7.lab.internal`,
    // Characters that end the host part of a URL, inside the password.
    `https://root:${PLANTED}/#?x@node7.lab.internal:8006/api2/json`,
  ])("refuses user:password@ without echoing either (%#)", (value) => {
    const lines = problems({ ...BASE_ENV, PROXMOX_HOST: value });
    expect(lines).toEqual([expect.stringContaining("credentials do not belong in a host setting")]);
    expect(lines[0]).not.toContain(PLANTED);
    expect(lines[0]).not.toContain("root");
  });

  it("names canvrno's key and the file when the URL is refused", () => {
    const file = writeJson({
      proxmox: { host: "http://10.8.0.200:8006" },
      auth: { user: "root@pam", token_name: "mcp-token", token_value: SECRET },
    });
    expect(problems({ HOME: "/home/tester" })[0]).toMatch(
      new RegExp(`^PROXMOX_HOST \\(proxmox\\.host in ${file}\\) is an http:// URL`),
    );
  });

  describe("the port in the URL", () => {
    it("may repeat PROXMOX_PORT", () => {
      const env = { ...BASE_ENV, PROXMOX_HOST: "https://pve.example.com:8443", PROXMOX_PORT: "8443" };
      expect(load(env).config.port).toBe(8443);
    });

    it("may not differ from PROXMOX_PORT; the line names both and neither port", () => {
      const env = { ...BASE_ENV, PROXMOX_HOST: "https://pve.example.com:8443", PROXMOX_PORT: "9443" };
      expect(problems(env)).toEqual([
        "PROXMOX_PORT and the port in PROXMOX_HOST differ; keep one, or the same port in both (example: PROXMOX_HOST=https://pve.example.com:8006 without PROXMOX_PORT)",
      ]);
    });

    it("overrides a PROXMOX_PORT of a lower layer, such as the example file's 8006", () => {
      const file = writeJson({ PROXMOX_PORT: 8006 });
      const { config } = load({ ...BASE_ENV, PROXMOX_HOST: "https://pve.example.com:8443" });
      expect(file).toMatch(/config\.json$/);
      expect(config).toMatchObject({ host: "pve.example.com", port: 8443 });
      expect(config.sources["PROXMOX_PORT"]).toBe("env");
    });

    it("gives way to a PROXMOX_PORT of a higher layer, as any setting does", () => {
      write(
        ".env",
        `PROXMOX_HOST=https://pve.example.com:8443\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${SECRET}\n`,
      );
      const { config } = load({ HOME: "/home/tester", PROXMOX_PORT: "9443" });
      expect(config).toMatchObject({ host: "pve.example.com", port: 9443 });
    });

    it("comes from PROXMOX_HOST's layer: refused below the token, like PROXMOX_PORT", () => {
      const file = write(".env", "PROXMOX_HOST=https://pve.example.com:8443\n");
      expect(problems(TOKEN_ENV)).toEqual([
        `PROXMOX_HOST (in ${file}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
        `PROXMOX_PORT (PROXMOX_HOST in ${file}) comes from the .env layer, below the token (env); set it where the token is set (example: both in the environment)`,
      ]);
    });

    it("counts as the URL's layer when a lower layer repeats it", () => {
      write(".env", "PROXMOX_PORT=8443\n");
      const { config } = load({ ...BASE_ENV, PROXMOX_HOST: "https://pve.example.com:8443" });
      expect(config.port).toBe(8443);
      expect(config.sources["PROXMOX_PORT"]).toBe("env");
    });

    it("does not outlive its URL: a lower layer's URL, overridden, sets no port", () => {
      write(
        ".env",
        `PROXMOX_HOST=https://other.example.com:9443\nPROXMOX_TOKEN_ID=mcp@pve!readonly\nPROXMOX_TOKEN_SECRET=${SECRET}\n`,
      );
      const { config } = load({ HOME: "/home/tester", PROXMOX_HOST: "pve.example.com" });
      expect(config).toMatchObject({ host: "pve.example.com", port: 8006 });
    });
  });
});

describe("misspelt and foreign variable names", () => {
  it.each([
    ["PROXMOX_SSL_CERTS", "PROXMOX_CA_FILE"],
    ["PROXMOX_TOKENNAME", "PROXMOX_TOKEN_ID"],
    ["PROXMOX_TOKEN_VAL", "PROXMOX_TOKEN_SECRET"],
  ])("points a near-miss of an older fork's name (%s) at ours (%s)", (name, ours) => {
    const { warnings } = load({ ...BASE_ENV, [name]: PLANTED });
    expect(warnings).toEqual([`${name} in the environment is unknown, ignored; did you mean ${ours}?`]);
  });

  it("names the closest variable for a misspelt one in the environment, never its value", () => {
    const { warnings } = load({ ...BASE_ENV, PROXMOX_VERIFY_SLL: PLANTED });
    expect(warnings).toEqual([
      "PROXMOX_VERIFY_SLL in the environment is unknown, ignored; did you mean PROXMOX_VERIFY_SSL?",
    ]);
  });

  it("names the file for one in .env", () => {
    const file = write(".env", `PROXMOX_TIMEOUT_SM=${PLANTED}\n`);
    expect(load(BASE_ENV).warnings).toEqual([
      `PROXMOX_TIMEOUT_SM in ${file} is unknown, ignored; did you mean PROXMOX_TIMEOUT_MS?`,
    ]);
  });

  it("hints in the JSON file's unknown-key warning, for flat keys and canvrno's", () => {
    const file = writeJson({ PROXMOX_LOG_LEVL: PLANTED, proxmox: { verify_ssl: true, prot: 8006 } });
    expect(load(BASE_ENV).warnings).toEqual([
      `${file}: unknown key PROXMOX_LOG_LEVL ignored; did you mean PROXMOX_LOG_LEVEL?`,
      `${file}: unknown key proxmox.prot ignored; did you mean proxmox.port?`,
    ]);
  });

  it("says unknown, ignored when no name is close", () => {
    expect(load({ ...BASE_ENV, PROXMOX_BACKUP_SERVER: PLANTED }).warnings).toEqual([
      "PROXMOX_BACKUP_SERVER in the environment is unknown, ignored",
    ]);
  });

  it("ignores an empty unknown variable", () => {
    expect(load({ ...BASE_ENV, PROXMOX_TOKEN_SECRT: " " }).warnings).toEqual([]);
  });

  it.each([
    ["PROXMOX_URL", "did you mean PROXMOX_HOST? It takes the https:// URL too"],
    ["PROXMOX_API_URL", "did you mean PROXMOX_HOST?"],
    ["PROXMOX_HOSTNAME", "did you mean PROXMOX_HOST?"],
    ["PROXMOX_API_TOKEN", "did you mean PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET?"],
    ["PROXMOX_TOKEN", "did you mean PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET?"],
    ["PROXMOX_SECRET", "did you mean PROXMOX_TOKEN_SECRET?"],
    ["PROXMOX_FINGERPRINT", "did you mean PROXMOX_TLS_FINGERPRINT?"],
    ["PROXMOX_CA_CERT", "did you mean PROXMOX_CA_FILE?"],
    ["PROXMOX_CA_BUNDLE", "did you mean PROXMOX_CA_FILE?"],
    ["PROXMOX_VERIFY_TLS", "did you mean PROXMOX_VERIFY_SSL?"],
    ["PROXMOX_INSECURE", "did you mean PROXMOX_VERIFY_SSL? With the opposite sense"],
    ["PROXMOX_TIMEOUT", "did you mean PROXMOX_TIMEOUT_MS? It is in milliseconds"],
    ["PROXMOX_ALLOW_ELEVATED", "did you mean ENABLE_DANGEROUS_COMMANDS?"],
    [
      "PROXMOX_PASSWORD",
      "this server takes no password, only an API token: create one with `pveum user token add`",
    ],
    ["PROXMOX_NODE", "the tools take the node as an argument or find it themselves"],
  ])("points %s, another server's name, at ours", (name, hint) => {
    const { warnings } = load({ ...BASE_ENV, [name]: PLANTED });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.startsWith(`${name} in the environment is unknown, ignored; ${hint}`)).toBe(true);
    expect(warnings[0]).not.toContain(PLANTED);
  });

  it("points another server's name in the JSON file at ours", () => {
    const file = writeJson({ PROXMOX_URL: "https://pve.example.com:8006" });
    expect(load(BASE_ENV).warnings).toEqual([
      `${file}: unknown key PROXMOX_URL ignored; did you mean PROXMOX_HOST? It takes the https:// URL too`,
    ]);
  });

  it("says a known name in the JSON file is read elsewhere", () => {
    const file = writeJson({ PROXMOX_MCP_CONFIG: "other.json" });
    expect(load(BASE_ENV).warnings).toEqual([
      `${file}: PROXMOX_MCP_CONFIG is not read from this file, ignored; set it in the environment`,
    ]);
  });

  describe("when a required variable is missing, the error names the near miss", () => {
    it.each([
      ["PROXMOX_TOKEN_SECRT", "PROXMOX_TOKEN_SECRET", SECRET],
      ["PROXMOX_TOKN_ID", "PROXMOX_TOKEN_ID", "other@pve!readonly"],
      ["PROXMOX_HOTS", "PROXMOX_HOST", "node7.lab.internal"],
    ])("%s set, %s missing, in the environment", (typo, variable, value) => {
      const env: Record<string, string | undefined> = { ...BASE_ENV, [typo]: value };
      delete env[variable];
      const lines = problems(env);
      expect(lines).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${variable} is required; ${typo} is set: did you mean ${variable}\\? \\(example: .+\\)$`,
          ),
        ),
      ]);
      expect(lines[0]).not.toContain(value);
    });

    it("in .env, naming the file", () => {
      const file = write(".env", `PROXMOX_TOKEN_SECRT=${SECRET}\n`);
      expect(problems({ ...BASE_ENV, PROXMOX_TOKEN_SECRET: undefined })).toEqual([
        `PROXMOX_TOKEN_SECRET is required; PROXMOX_TOKEN_SECRT (in ${file}) is set: did you mean PROXMOX_TOKEN_SECRET? (example: 0b4f6a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b)`,
      ]);
    });

    it("in the JSON file, through canvrno's alias", () => {
      const file = writeJson({ auth: { user: "root@pam", token_name: "mcp", token_valeu: SECRET } });
      expect(problems({ HOME: "/home/tester", PROXMOX_HOST: "pve.example.com" })).toEqual([
        expect.stringContaining(
          `PROXMOX_TOKEN_SECRET is required; auth.token_valeu (in ${file}) is set: did you mean auth.token_value?`,
        ),
      ]);
    });

    it("for another server's name", () => {
      expect(problems({ ...TOKEN_ENV, PROXMOX_URL: "https://pve.example.com:8006" })).toEqual([
        "PROXMOX_HOST is required; PROXMOX_URL is set: did you mean PROXMOX_HOST? It takes the https:// URL too (example: pve.example.com)",
      ]);
    });

    it("for a password instead of a token, on both token lines", () => {
      const lines = problems({
        HOME: "/home/tester",
        PROXMOX_HOST: "pve.example.com",
        PROXMOX_PASSWORD: PLANTED,
      });
      expect(lines).toEqual([
        expect.stringMatching(/^PROXMOX_TOKEN_ID is required; PROXMOX_PASSWORD is set: this server takes no/),
        expect.stringMatching(
          /^PROXMOX_TOKEN_SECRET is required; PROXMOX_PASSWORD is set: this server takes no/,
        ),
      ]);
      expect(lines.join("\n")).not.toContain(PLANTED);
    });

    it("for the dangerous tier's admin token", () => {
      const lines = problems({
        ...BASE_ENV,
        ENABLE_DANGEROUS_COMMANDS: "true",
        PROXMOX_ADMIN_TOKEN_ID: "automation@pve!mcp-admin",
        PROXMOX_ADMIN_TOKN_SECRET: ADMIN_SECRET,
      });
      expect(lines).toEqual([
        expect.stringContaining(
          "needs PROXMOX_ADMIN_TOKEN_SECRET, a second token for the dangerous tools; PROXMOX_ADMIN_TOKN_SECRET is set: did you mean PROXMOX_ADMIN_TOKEN_SECRET?",
        ),
      ]);
      expect(lines[0]).not.toContain(ADMIN_SECRET);
    });
  });

  it("stays quiet about the MCP_* variables of clients such as Claude Code", () => {
    const { warnings } = load({
      ...BASE_ENV,
      MCP_TIMEOUT: "10000",
      MCP_TOOL_TIMEOUT: "60000",
      MAX_MCP_OUTPUT_TOKENS: "50000",
      MCP_SERVER_NAME: "proxmox",
      MCP_SERVER_PORT: "3000",
      MCP_LOG_LEVEL: "debug",
      MCP_HOST: "localhost",
      MCP_PORT: "3000",
    });
    expect(warnings).toEqual([]);
  });

  it("hints for an MCP_* name close to one of the HTTP transport's", () => {
    expect(load({ ...BASE_ENV, MCP_HTTP_PROT: "8443" }).warnings).toEqual([
      "MCP_HTTP_PROT in the environment is unknown, ignored; did you mean MCP_HTTP_PORT?",
    ]);
  });

  it("knows every name the project reads: settings, aliases, the HTTP transport's, scripts' and tests'", () => {
    write("ca.pem", caPem);
    writeJson({});
    const { warnings } = load({
      HOME: "/home/tester",
      PROXMOX_HOST: "pve.example.com",
      PROXMOX_USER: "mcp@pve",
      PROXMOX_TOKEN_NAME: "readonly",
      PROXMOX_TOKEN_VALUE: SECRET,
      PROXMOX_SSL_CERT: "ca.pem",
      PROXMOX_MCP_CONFIG: "proxmox-config/config.json",
      MCP_HTTP_PORT: "8443",
      MCP_ALLOWED_ORIGINS: "https://mcp.example.com",
      PROXMOX_MCP_CLI: "dist/cli.js",
      PROXMOX_MCP_TEST_SSHD: "/usr/sbin/sshd",
      PROXMOX_MCP_TEST_SSH_USER: "tester",
      PROXMOX_MCP_TEST_REQUIRE_SSHD: "1",
      PATH: "/usr/bin",
    });
    expect(warnings).toEqual([]);
  });
});

describe("edit distance", () => {
  it.each([
    ["PROXMOX_HOST", "PROXMOX_HOST", 0],
    ["PROXMOX_HOTS", "PROXMOX_HOST", 1],
    ["PROXMOX_TOKEN_SECRT", "PROXMOX_TOKEN_SECRET", 1],
    ["kitten", "sitting", 3],
    ["", "abc", 3],
  ])("%s -> %s is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it("allows one edit per four characters after the prefix, at least one and at most three", () => {
    expect(closestName("PROXMOX_NODE", ["PROXMOX_PORT"])).toBeUndefined();
    expect(closestName("PROXMOX_PROT", ["PROXMOX_PORT"])).toBe("PROXMOX_PORT");
    expect(closestName("PROXMOX_SSH_COMAND_ALOWLIST", ["PROXMOX_SSH_COMMAND_ALLOWLIST"])).toBe(
      "PROXMOX_SSH_COMMAND_ALLOWLIST",
    );
    expect(closestName("PROXMOX_SH_COMAND_ALOWLST", ["PROXMOX_SSH_COMMAND_ALLOWLIST"])).toBeUndefined();
    expect(closestName("MCP_TIMEOUT", ["MCP_HTTP_PORT", "MCP_HTTP_HOST"])).toBeUndefined();
  });
});
