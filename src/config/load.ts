/**
 * Loads the configuration (design.md "Configuration"): the process environment, then
 * `.env` in cwd, then the JSON file; the first place that sets a variable wins.
 * Pure apart from reading files: never prints, exits or touches process.env.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import {
  EXAMPLE_CA_FILE,
  EXAMPLE_SECRET,
  EXAMPLE_TOKEN_ID,
  RULES,
  variablesSchema,
  type ParsedVariables,
  type Variable,
} from "./schema.js";
import type { Config, TlsMode } from "./types.js";

/** Every bad value, one line each: names the variable, the rule and an example, never a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** For the caller to print at start-up. */
  warnings: string[];
}

type Source = Config["sources"][string];

/** A value and where it was written: `key` is its name there (a variable, an alias, a canvrno key). */
interface Entry {
  value: string;
  key: string;
  file?: string;
}

/** One place settings come from, keyed by variable or alias name. */
interface Layer {
  source: Source;
  file?: string;
  entries: Map<string, Entry>;
}

const DEFAULT_CONFIG_FILE = join("proxmox-config", "config.json");
const VARIABLES = Object.keys(variablesSchema.shape) as Variable[];
/** Names of older forks, folded into PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET. */
const ALIASES = ["PROXMOX_USER", "PROXMOX_TOKEN_NAME", "PROXMOX_TOKEN_VALUE"];
const JSON_KEYS = new Set<string>([...VARIABLES, ...ALIASES]);
const ENV_NAMES = new Set<string>([...JSON_KEYS, "PROXMOX_MCP_CONFIG"]);
const WITHOUT_DEFAULT = new Set<Variable>(["PROXMOX_CA_FILE", "PROXMOX_TLS_FINGERPRINT"]);

/** canvrno/ProxmoxMCP's `{proxmox: {...}, auth: {...}, logging: {...}}`, mapped to our names. */
const CANVRNO_SECTIONS = new Map<string, Map<string, string>>([
  [
    "proxmox",
    new Map([
      ["host", "PROXMOX_HOST"],
      ["port", "PROXMOX_PORT"],
      ["verify_ssl", "PROXMOX_VERIFY_SSL"],
      ["service", "PROXMOX_SERVICE"],
    ]),
  ],
  [
    "auth",
    new Map([
      ["user", "PROXMOX_USER"],
      ["token_name", "PROXMOX_TOKEN_NAME"],
      ["token_value", "PROXMOX_TOKEN_VALUE"],
    ]),
  ],
  ["logging", new Map([["level", "PROXMOX_LOG_LEVEL"]])],
]);

const INSECURE_TLS_WARNING =
  "PROXMOX_VERIFY_SSL is false: certificate verification is off, so anyone on the network path can read the API token; " +
  "pin the certificate with PROXMOX_TLS_FINGERPRINT instead (`pvenode cert info` on the node shows it)";

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const problems: string[] = [];

  const layers = [layerOf("env", env)];
  const dotenvFile = join(cwd, ".env");
  if (existsSync(dotenvFile)) {
    const text = readText(dotenvFile, (code) => `${dotenvFile} cannot be read (${code})`);
    layers.push(layerOf(".env", parseDotenv(text), dotenvFile));
  }
  const configFile = findConfigFile(layers, cwd);
  if (configFile) layers.push(readJsonLayer(configFile.path, problems, warnings));

  const merged = new Map<string, { entry: Entry; source: Source }>();
  for (const layer of layers) {
    for (const [name, entry] of resolveAliases(layer, problems)) {
      if (!merged.has(name)) merged.set(name, { entry, source: layer.source });
    }
  }
  problems.push(...settingsBelowTheToken(merged));
  if (problems.length > 0) throw new ConfigError(problems);

  const values = parseVariables(merged);
  const labelOf = (variable: Variable) => {
    const found = merged.get(variable);
    return found ? label(variable, found.entry) : variable;
  };
  const tls = tlsMode(values, labelOf, cwd, warnings);

  for (const layer of layers) {
    const holdsSecret = layer.entries.has("PROXMOX_TOKEN_SECRET") || layer.entries.has("PROXMOX_TOKEN_VALUE");
    const warning = layer.file && holdsSecret ? readableByOthersWarning(layer.file) : undefined;
    if (warning) warnings.push(warning);
  }

  const sources: Config["sources"] = {};
  if (configFile) sources["PROXMOX_MCP_CONFIG"] = configFile.source;
  for (const variable of VARIABLES) {
    const source = merged.get(variable)?.source ?? (WITHOUT_DEFAULT.has(variable) ? undefined : "default");
    if (source) sources[variable] = source;
  }

  return {
    config: {
      host: values.PROXMOX_HOST,
      port: values.PROXMOX_PORT,
      tokenId: values.PROXMOX_TOKEN_ID,
      tokenSecret: values.PROXMOX_TOKEN_SECRET,
      tls,
      timeoutMs: values.PROXMOX_TIMEOUT_MS,
      service: values.PROXMOX_SERVICE,
      logLevel: values.PROXMOX_LOG_LEVEL,
      toolsets: values.PROXMOX_TOOLSETS,
      allowPrivilegedToken: values.PROXMOX_ALLOW_PRIVILEGED_TOKEN,
      auditLogPath: auditLogPath(values.PROXMOX_AUDIT_LOG, env, cwd),
      sources,
    },
    warnings,
  };
}

/** "PROXMOX_PORT", or with where it was written: "PROXMOX_PORT (proxmox.port in /etc/x/config.json)". */
function label(variable: string, entry: Entry): string {
  const where = [entry.key === variable ? "" : entry.key, entry.file ? `in ${entry.file}` : ""];
  const origin = where.filter(Boolean).join(" ");
  return origin ? `${variable} (${origin})` : variable;
}

function readText(path: string, problem: (code: string) => string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([problem((error as NodeJS.ErrnoException).code ?? "unreadable")]);
  }
}

/** Our variables from the environment or a .env file; an empty value counts as unset. */
function layerOf(source: Source, variables: Record<string, string | undefined>, file?: string): Layer {
  const entries = new Map<string, Entry>();
  for (const name of ENV_NAMES) {
    const value = variables[name]?.trim();
    if (value) entries.set(name, { value, key: name, file });
  }
  return { source, file, entries };
}

function findConfigFile(layers: Layer[], cwd: string): { path: string; source: Source } | undefined {
  for (const layer of layers) {
    const entry = layer.entries.get("PROXMOX_MCP_CONFIG");
    if (entry) {
      const path = resolve(cwd, entry.value);
      if (!existsSync(path)) {
        throw new ConfigError([
          `${label("PROXMOX_MCP_CONFIG", entry)} names a file that does not exist (example: ${DEFAULT_CONFIG_FILE})`,
        ]);
      }
      return { path, source: layer.source };
    }
  }
  const fallback = join(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? { path: fallback, source: "default" } : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON value as the string an environment variable would hold; "" = unset, undefined = not a setting's shape. */
function jsonValueText(value: unknown): string | undefined {
  if (value === null) return "";
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "string" || typeof item === "number")) {
    return value.join(",");
  }
  return undefined;
}

/** The JSON file, flat (`{"PROXMOX_HOST": ...}`) or canvrno's shape; keys starting with `_` are comments. */
function readJsonLayer(file: string, problems: string[], warnings: string[]): Layer {
  const text = readText(file, (code) => `${file} cannot be read (${code})`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the file's text, which may hold the secret.
    throw new ConfigError([
      `${file} is not valid JSON; check quotes and commas (example: {"PROXMOX_HOST": "pve.example.com"})`,
    ]);
  }
  if (!isObject(data)) {
    throw new ConfigError([
      `${file} must hold one JSON object (example: {"PROXMOX_HOST": "pve.example.com"})`,
    ]);
  }

  const entries = new Map<string, Entry>();
  const add = (name: string, key: string, value: unknown) => {
    const text = jsonValueText(value);
    const entry = { value: text ?? "", key, file };
    if (text === undefined) {
      problems.push(
        `${label(name, entry)} must be a string, number or boolean (example: "PROXMOX_PORT": 8006)`,
      );
      return;
    }
    if (!text) return;
    const previous = entries.get(name);
    if (previous) {
      problems.push(
        `${name} is set twice in ${file}, as ${previous.key} and as ${key}; keep one (example: ${name})`,
      );
    }
    entries.set(name, entry);
  };

  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith("_")) continue;
    const section = CANVRNO_SECTIONS.get(key);
    if (section && isObject(value)) {
      for (const [subKey, subValue] of Object.entries(value)) {
        const name = section.get(subKey);
        if (name) add(name, `${key}.${subKey}`, subValue);
        else if (!subKey.startsWith("_")) warnings.push(`${file}: unknown key ${key}.${subKey} ignored`);
      }
    } else if (JSON_KEYS.has(key)) {
      add(key, key, value);
    } else if (key === "clusters") {
      problems.push(
        `${file}: "clusters" (several clusters in one file) is not supported; keep one cluster's "proxmox" and "auth" at the top level (example: {"proxmox": {"host": "pve.example.com"}, "auth": {...}})`,
      );
    } else {
      warnings.push(`${file}: unknown key ${key} ignored`);
    }
  }
  return { source: "json", file, entries };
}

/**
 * Folds PROXMOX_USER + PROXMOX_TOKEN_NAME into PROXMOX_TOKEN_ID and PROXMOX_TOKEN_VALUE into
 * PROXMOX_TOKEN_SECRET within one place, so that a higher place overrides the whole token.
 */
function resolveAliases(layer: Layer, problems: string[]): Map<string, Entry> {
  const entries = new Map(layer.entries);
  const where = layer.file ? ` in ${layer.file}` : "";

  const user = entries.get("PROXMOX_USER");
  const tokenName = entries.get("PROXMOX_TOKEN_NAME");
  const tokenId = entries.get("PROXMOX_TOKEN_ID");
  if (user && tokenName) {
    const composed = {
      value: `${user.value}!${tokenName.value}`,
      key: `${user.key} + ${tokenName.key}`,
      file: layer.file,
    };
    if (!tokenId) entries.set("PROXMOX_TOKEN_ID", composed);
    else if (tokenId.value !== composed.value) {
      problems.push(
        `${tokenId.key} and ${composed.key}${where} name different tokens; set only PROXMOX_TOKEN_ID (example: ${EXAMPLE_TOKEN_ID})`,
      );
    }
  } else if (user || tokenName) {
    problems.push(
      `PROXMOX_USER and PROXMOX_TOKEN_NAME${where} go together: set both, or PROXMOX_TOKEN_ID alone (example: PROXMOX_TOKEN_ID=${EXAMPLE_TOKEN_ID})`,
    );
  }

  const secret = entries.get("PROXMOX_TOKEN_SECRET");
  const tokenValue = entries.get("PROXMOX_TOKEN_VALUE");
  if (tokenValue && !secret) entries.set("PROXMOX_TOKEN_SECRET", tokenValue);
  else if (tokenValue && secret && tokenValue.value !== secret.value) {
    problems.push(
      `${secret.key} and ${tokenValue.key}${where} differ; set only PROXMOX_TOKEN_SECRET (example: ${EXAMPLE_SECRET})`,
    );
  }
  return entries;
}

function parseVariables(merged: Map<string, { entry: Entry }>): ParsedVariables {
  const input = Object.fromEntries(VARIABLES.map((name) => [name, merged.get(name)?.entry.value]));
  const result = variablesSchema.safeParse(input);
  if (result.success) return result.data;

  const lines = result.error.issues.map((issue) => {
    const variable = issue.path[0] as keyof typeof RULES;
    const { rule, example } = RULES[variable];
    const found = merged.get(variable);
    return found
      ? `${label(variable, found.entry)} ${rule} (example: ${example})`
      : `${variable} is required (example: ${example})`;
  });
  throw new ConfigError([...new Set(lines)]);
}

function tlsMode(
  values: ParsedVariables,
  labelOf: (variable: Variable) => string,
  cwd: string,
  warnings: string[],
): TlsMode {
  const {
    PROXMOX_TLS_FINGERPRINT: fingerprint,
    PROXMOX_CA_FILE: caFile,
    PROXMOX_VERIFY_SSL: verify,
  } = values;
  const problems: string[] = [];
  if (fingerprint && caFile) {
    problems.push(
      `set one of PROXMOX_TLS_FINGERPRINT or PROXMOX_CA_FILE, not both (example: PROXMOX_CA_FILE=${EXAMPLE_CA_FILE} alone)`,
    );
  }
  const trustSetting = fingerprint ? "PROXMOX_TLS_FINGERPRINT" : caFile ? "PROXMOX_CA_FILE" : undefined;
  if (!verify && trustSetting) {
    problems.push(
      `${labelOf("PROXMOX_VERIFY_SSL")} is false, which contradicts ${trustSetting}: that already trusts the self-signed certificate; remove PROXMOX_VERIFY_SSL (example: PROXMOX_VERIFY_SSL=true)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  if (fingerprint) return { mode: "fingerprint", fingerprint };
  if (caFile) {
    const path = resolve(cwd, caFile);
    return { mode: "ca-file", caFile: path, caPem: readCaPem(path, labelOf("PROXMOX_CA_FILE")) };
  }
  if (!verify) {
    warnings.push(INSECURE_TLS_WARNING);
    return { mode: "insecure" };
  }
  return { mode: "system" };
}

function readCaPem(path: string, name: string): string {
  const pem = readText(
    path,
    (code) =>
      `${name} cannot be read (${code}); it must name the cluster's CA certificate (example: ${EXAMPLE_CA_FILE})`,
  );
  if (!isPemCertificate(pem)) {
    throw new ConfigError([
      `${name} must be a PEM certificate file such as the cluster's CA certificate (example: ${EXAMPLE_CA_FILE})`,
    ]);
  }
  return pem;
}

function isPemCertificate(text: string): boolean {
  if (!text.includes("-----BEGIN CERTIFICATE-----")) return false;
  try {
    new X509Certificate(text);
    return true;
  } catch {
    return false;
  }
}

function readableByOthersWarning(file: string): string | undefined {
  // Windows has no Unix permission bits: statSync reports 0o666 for every writable file.
  if (process.platform === "win32") return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `${file} holds the token secret and other users can read it (mode ${mode.toString(8)}); fix: chmod 600 ${file}`;
}

/** `$XDG_STATE_HOME/proxmox-mcp/audit.jsonl`; the XDG spec says to ignore a relative XDG_STATE_HOME. */
/**
 * Where the server connects, how it checks TLS and where it writes its audit log
 * decide who may see the token. Those settings must not come from a layer below the
 * one holding the token: a .env or config file in a cloned project must not turn off
 * TLS checking, re-pin the certificate or retarget the audit log of a server whose
 * token the user set in the environment.
 */
const GUARDED: Variable[] = [
  "PROXMOX_HOST",
  "PROXMOX_VERIFY_SSL",
  "PROXMOX_TLS_FINGERPRINT",
  "PROXMOX_CA_FILE",
  "PROXMOX_AUDIT_LOG",
];
const LAYER_RANK: Record<Source, number> = { env: 0, ".env": 1, json: 2, default: 3 };

function settingsBelowTheToken(merged: Map<string, { entry: Entry; source: Source }>): string[] {
  const token = merged.get("PROXMOX_TOKEN_SECRET");
  if (!token) return [];
  return GUARDED.flatMap((variable) => {
    const setting = merged.get(variable);
    if (!setting || LAYER_RANK[setting.source] <= LAYER_RANK[token.source]) return [];
    return [
      `${label(variable, setting.entry)} comes from the ${setting.source} layer, below the token (${token.source}); ` +
        `set it where the token is set (example: both in the environment)`,
    ];
  });
}

/** PROXMOX_AUDIT_LOG relative to cwd, or the XDG state default. */
export function auditLogPath(configured: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return configured?.trim() ? resolve(cwd, configured.trim()) : defaultAuditLogPath(env);
}

function defaultAuditLogPath(env: NodeJS.ProcessEnv): string {
  const stateHome = env["XDG_STATE_HOME"];
  const base =
    stateHome && isAbsolute(stateHome) ? stateHome : join(env["HOME"] || homedir(), ".local", "state");
  return join(base, "proxmox-mcp", "audit.jsonl");
}
