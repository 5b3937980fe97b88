/**
 * The Streamable HTTP transport's settings (`serve --http`), from the same places as
 * the rest of the configuration (environment, .env, JSON file) and with the same kind
 * of errors: one line per problem naming the variable, the rule and an example, never
 * a value. Read only with --http: a stdio server never parses them.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { resolve } from "node:path";
import {
  ConfigError,
  label,
  readableByOthersWarning,
  readSettings,
  setInstead,
  type UnknownName,
  readText,
  settingsBelowTheToken,
  type Merged,
} from "./load.js";
import {
  HTTP_RULES,
  HTTP_VARIABLES,
  httpSchema,
  MAKE_HTTP_TOKEN,
  type HttpVariable,
  type ParsedHttpVariables,
} from "./schema.js";
import { Secret } from "./secret.js";
import type { HttpConfig } from "./types.js";

export interface LoadedHttpConfig {
  http: HttpConfig;
  /** For the caller to print at start-up. */
  warnings: string[];
}

/**
 * Who can reach the server and who may call it: like the Proxmox connection settings,
 * these must not come from a layer below the Proxmox token (a cloned project's .env
 * must not open the server to the network, turn plain HTTP on, trust a web origin,
 * swap its certificate or set the bearer token to one it knows).
 */
const HTTP_GUARDED: HttpVariable[] = [
  "MCP_HTTP_HOST",
  "MCP_HTTP_TOKEN",
  "MCP_ALLOWED_ORIGINS",
  "MCP_HTTP_TLS_CERT",
  "MCP_HTTP_TLS_KEY",
  "MCP_HTTP_ALLOW_PLAINTEXT",
  "MCP_CONFIRM_KEY",
  "MCP_CONFIRM_STATE_DIR",
];
/** Values that only restate the safe default may come from any layer. */
const HTTP_HARMLESS: Record<string, RegExp> = {
  MCP_HTTP_HOST: /^(127\.0\.0\.1|localhost|::1|\[::1\])$/i,
  MCP_HTTP_ALLOW_PLAINTEXT: /^(false|0|no)$/i,
};

/**
 * Length alone lets "aaaa…" or a short repeated word through (a word of 10 or more
 * different characters, repeated, still passes: the rule is about variety). A random token clears this
 * by far: 64 characters of `openssl rand -hex 32` have fewer than 10 different ones
 * about once in 10^12, a 32-character hex token about once in 10^4.
 */
const MIN_DIFFERENT_TOKEN_CHARACTERS = 10;

const EXAMPLE_CERT = "/etc/proxmox-mcp/tls/cert.pem";
const EXAMPLE_KEY = "/etc/proxmox-mcp/tls/key.pem";

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (bare === "::1") return true;
  return /^::ffff:127\./.test(bare);
}

export function loadHttpConfig(options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedHttpConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const problems: string[] = [];
  const { layers, merged, unknownNames } = readSettings(env, cwd, problems, warnings);
  problems.push(...settingsBelowTheToken(merged, HTTP_GUARDED, HTTP_HARMLESS));
  if (problems.length > 0) throw new ConfigError(problems);

  const values = parseHttpVariables(merged, unknownNames);
  const labelOf = (variable: HttpVariable) => {
    const found = merged.get(variable);
    return found ? label(variable, found.entry) : variable;
  };
  const token = values.MCP_HTTP_TOKEN.reveal();
  if (new Set(token).size < MIN_DIFFERENT_TOKEN_CHARACTERS) {
    problems.push(
      `${labelOf("MCP_HTTP_TOKEN")} has fewer than ${MIN_DIFFERENT_TOKEN_CHARACTERS} different characters, so it can be guessed: it must be at least 32 characters with at least ${MIN_DIFFERENT_TOKEN_CHARACTERS} different ones; ${MAKE_HTTP_TOKEN} (example: ${HTTP_RULES.MCP_HTTP_TOKEN.example})`,
    );
  }
  if (values.MCP_CONFIRM_KEY?.reveal() === token) {
    problems.push(
      `${labelOf("MCP_CONFIRM_KEY")} equals MCP_HTTP_TOKEN: whoever holds the bearer token could then seal confirmations; make another with \`openssl rand -hex 32\``,
    );
  }
  for (const secret of ["PROXMOX_TOKEN_SECRET", "PROXMOX_ADMIN_TOKEN_SECRET"]) {
    if (merged.get(secret)?.entry.value === token) {
      problems.push(
        `${labelOf("MCP_HTTP_TOKEN")} equals ${secret}: the bearer token is for MCP clients and must not be a Proxmox secret; ${MAKE_HTTP_TOKEN} (example: ${HTTP_RULES.MCP_HTTP_TOKEN.example})`,
      );
    }
  }
  const tls = tlsFiles(values, labelOf, cwd, problems, warnings);
  const tlsAsked = values.MCP_HTTP_TLS_CERT !== undefined || values.MCP_HTTP_TLS_KEY !== undefined;
  if (!tlsAsked && !isLoopbackHost(values.MCP_HTTP_HOST)) {
    if (values.MCP_HTTP_ALLOW_PLAINTEXT) {
      warnings.push(
        `${labelOf("MCP_HTTP_HOST")} is not a loopback address and MCP_HTTP_ALLOW_PLAINTEXT=true: requests, answers and the bearer token cross the network unencrypted unless a TLS proxy sits in front`,
      );
    } else {
      problems.push(
        `${labelOf("MCP_HTTP_HOST")} is not a loopback address, so clients would send the bearer token over the network in plain text; ` +
          `set MCP_HTTP_TLS_CERT and MCP_HTTP_TLS_KEY, or MCP_HTTP_ALLOW_PLAINTEXT=true behind a TLS-terminating proxy (example: MCP_HTTP_TLS_CERT=${EXAMPLE_CERT})`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  for (const layer of layers) {
    for (const secret of ["MCP_HTTP_TOKEN", "MCP_CONFIRM_KEY"]) {
      if (layer.file && layer.entries.has(secret)) {
        const warning = readableByOthersWarning(layer.file, `holds ${secret}`);
        if (warning) warnings.push(warning);
      }
    }
  }

  if (values.MCP_CONFIRM_KEY && !values.MCP_CONFIRM_STATE_DIR) {
    warnings.push(
      "MCP_CONFIRM_KEY is set without MCP_CONFIRM_STATE_DIR: a confirmed 2026-07-28 call is remembered as used only by the process that ran it, so within 5 minutes the same confirmation could run again on another process or after a restart; set MCP_CONFIRM_STATE_DIR to a directory all processes share (example: /var/lib/proxmox-mcp/confirmations)",
    );
  }
  const sources: HttpConfig["sources"] = {};
  for (const variable of HTTP_VARIABLES) {
    const source = merged.get(variable)?.source;
    if (source) sources[variable] = source;
    else if (
      ![
        "MCP_ALLOWED_ORIGINS",
        "MCP_HTTP_TLS_CERT",
        "MCP_HTTP_TLS_KEY",
        "MCP_CONFIRM_KEY",
        "MCP_CONFIRM_STATE_DIR",
      ].includes(variable)
    )
      sources[variable] = "default";
  }
  return {
    http: {
      host: values.MCP_HTTP_HOST,
      port: values.MCP_HTTP_PORT,
      token: values.MCP_HTTP_TOKEN,
      allowedOrigins: values.MCP_ALLOWED_ORIGINS ?? [],
      ...(tls ? { tls } : {}),
      allowPlaintext: values.MCP_HTTP_ALLOW_PLAINTEXT,
      maxSessions: values.MCP_HTTP_MAX_SESSIONS,
      sessionIdleS: values.MCP_HTTP_SESSION_IDLE_S,
      rateLimit: values.MCP_HTTP_RATE_LIMIT,
      maxBodyBytes: values.MCP_HTTP_MAX_BODY,
      ...(values.MCP_CONFIRM_KEY ? { confirmKey: values.MCP_CONFIRM_KEY } : {}),
      ...(values.MCP_CONFIRM_STATE_DIR
        ? { confirmStateDir: resolve(cwd, values.MCP_CONFIRM_STATE_DIR) }
        : {}),
      sources,
    },
    warnings,
  };
}

function parseHttpVariables(merged: Merged, unknownNames: UnknownName[]): ParsedHttpVariables {
  const input = Object.fromEntries(HTTP_VARIABLES.map((name) => [name, merged.get(name)?.entry.value]));
  const result = httpSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = issue.path[0] as keyof typeof HTTP_RULES;
    const { rule, example } = HTTP_RULES[variable];
    const found = merged.get(variable);
    if (found) return `${label(variable, found.entry)} ${rule} (example: ${example})`;
    // Only the token has no default.
    return `MCP_HTTP_TOKEN is required with --http${setInstead("MCP_HTTP_TOKEN", unknownNames)}: every client must send it as \`Authorization: Bearer <token>\`; ${MAKE_HTTP_TOKEN} (example: ${example})`;
  });
  throw new ConfigError([...new Set(lines)]);
}

/** Both files or neither; each must hold what its name says, and the key must match the certificate. */
function tlsFiles(
  values: ParsedHttpVariables,
  labelOf: (variable: HttpVariable) => string,
  cwd: string,
  problems: string[],
  warnings: string[],
): HttpConfig["tls"] {
  const { MCP_HTTP_TLS_CERT: certSetting, MCP_HTTP_TLS_KEY: keySetting } = values;
  if (!certSetting && !keySetting) return undefined;
  if (!certSetting || !keySetting) {
    const [set, missing, example] = certSetting
      ? (["MCP_HTTP_TLS_CERT", "MCP_HTTP_TLS_KEY", EXAMPLE_KEY] as const)
      : (["MCP_HTTP_TLS_KEY", "MCP_HTTP_TLS_CERT", EXAMPLE_CERT] as const);
    problems.push(
      `${labelOf(set)} is set but ${missing} is not: https needs both the certificate and its private key (example: ${missing}=${example})`,
    );
    return undefined;
  }
  const certFile = resolve(cwd, certSetting);
  const keyFile = resolve(cwd, keySetting);
  const certName = labelOf("MCP_HTTP_TLS_CERT");
  const keyName = labelOf("MCP_HTTP_TLS_KEY");
  const cert = readText(
    certFile,
    (code) =>
      `${certName} cannot be read (${code}); it must name a PEM certificate file (example: ${EXAMPLE_CERT})`,
  );
  const key = readText(
    keyFile,
    (code) =>
      `${keyName} cannot be read (${code}); it must name a PEM private key file (example: ${EXAMPLE_KEY})`,
  );
  let x509: X509Certificate | undefined;
  try {
    if (!cert.includes("-----BEGIN CERTIFICATE-----")) throw new Error("not PEM");
    x509 = new X509Certificate(cert);
  } catch {
    problems.push(
      `${certName} must be a PEM certificate (chain), leaf first (example: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj /CN=mcp -keyout key.pem -out cert.pem)`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey> | undefined;
  try {
    // A passphrase-protected key fails here too: the server cannot ask for one.
    privateKey = createPrivateKey(key);
  } catch {
    problems.push(
      `${keyName} must be an unencrypted PEM private key (example: the key.pem \`openssl req -x509 -nodes ...\` wrote)`,
    );
  }
  if (x509 && privateKey && !x509.checkPrivateKey(privateKey)) {
    problems.push(
      `${keyName} is not the private key of ${certName}: set the key the certificate was made with (example: ${EXAMPLE_KEY})`,
    );
  }
  if (x509 && new Date(x509.validTo).getTime() < Date.now()) {
    warnings.push(`${certName} expired on ${x509.validTo}: clients will refuse the connection; renew it`);
  }
  const exposed = readableByOthersWarning(keyFile, "is the HTTPS private key");
  if (exposed) warnings.push(exposed);
  if (!x509 || !privateKey) return undefined;
  return { certFile, keyFile, cert, key: new Secret(key) };
}
