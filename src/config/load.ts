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
import { compileAllowlist } from "./ssh-allowlist.js";
import {
  dangerousSchema,
  DANGEROUS_RULES,
  HTTP_VARIABLES,
  EXAMPLE_ADMIN_TOKEN_ID,
  EXAMPLE_CA_FILE,
  EXAMPLE_SECRET,
  EXAMPLE_TOKEN_ID,
  HOST_URL_EXAMPLE,
  isUrl,
  OTHER_SERVERS_NAMES,
  EXAMPLE_PBS_CA_FILE,
  EXAMPLE_PBS_TOKEN_ID,
  PBS_HOST_URL_EXAMPLE,
  PBS_RULES,
  PBS_VARIABLES,
  pbsSchema,
  RULES,
  splitHostUrl,
  variablesSchema,
  type HostUrlApi,
  type PbsVariable,
  type NameHint,
  type DangerousVariable,
  type ParsedDangerousVariables,
  type ParsedVariables,
  type Variable,
} from "./schema.js";
import { Secret } from "./secret.js";
import type { Config, DangerousConfig, PbsConfig, SshConfig, TlsMode } from "./types.js";

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

export type Source = Config["sources"][string];

/** A value and where it was written: `key` is its name there (a variable, an alias, a canvrno key). */
export interface Entry {
  value: string;
  key: string;
  file?: string;
}

/** One place settings come from, keyed by variable or alias name. */
export interface Layer {
  source: Source;
  file?: string;
  entries: Map<string, Entry>;
}

/** Each variable's value from the first place that sets it. */
export type Merged = Map<string, { entry: Entry; source: Source }>;

const DEFAULT_CONFIG_FILE = join("proxmox-config", "config.json");
const VARIABLES = Object.keys(variablesSchema.shape) as Variable[];
const DANGEROUS_VARIABLES = Object.keys(dangerousSchema.shape) as DangerousVariable[];
/** Names of older forks, folded (by resolveAliases) into the variable each one sets. */
const ALIAS_TARGETS = new Map<string, Variable>([
  ["PROXMOX_USER", "PROXMOX_TOKEN_ID"],
  ["PROXMOX_TOKEN_NAME", "PROXMOX_TOKEN_ID"],
  ["PROXMOX_TOKEN_VALUE", "PROXMOX_TOKEN_SECRET"],
  // The hardened Python fork's name for the CA file.
  ["PROXMOX_SSL_CERT", "PROXMOX_CA_FILE"],
]);
// The HTTP transport's settings are read (by loadHttpConfig) only with --http; here they are known names.
const JSON_KEYS = new Set<string>([
  ...VARIABLES,
  ...DANGEROUS_VARIABLES,
  ...PBS_VARIABLES,
  ...HTTP_VARIABLES,
  ...ALIAS_TARGETS.keys(),
]);
const ENV_NAMES = new Set<string>([...JSON_KEYS, "PROXMOX_MCP_CONFIG"]);
/**
 * Every PROXMOX_* and MCP_* name this project reads anywhere, so never "unknown": the
 * settings, and what the build scripts and the test suite read (scripts/lib/http-server.mjs,
 * tests/ssh/sshd.ts).
 */
const KNOWN_NAMES = new Set<string>([
  ...ENV_NAMES,
  "PROXMOX_MCP_CLI",
  "PROXMOX_MCP_TEST_SSHD",
  "PROXMOX_MCP_TEST_SSH_USER",
  "PROXMOX_MCP_TEST_REQUIRE_SSHD",
]);
const KNOWN_PROXMOX_NAMES = [...KNOWN_NAMES].filter((name) => name.startsWith("PROXMOX_"));
const OUR_MCP_NAMES = [...KNOWN_NAMES].filter((name) => name.startsWith("MCP_"));
const OUR_PBS_NAMES = [...KNOWN_NAMES].filter((name) => name.startsWith("PBS_"));
const WITHOUT_DEFAULT = new Set<string>([
  "PROXMOX_CA_FILE",
  "PROXMOX_TLS_FINGERPRINT",
  "PROXMOX_AUDIT_WAIVERS",
  "PROXMOX_SSH_HOST",
  "PROXMOX_SSH_KEY_FILE",
  "PROXMOX_SSH_KEY_PASSPHRASE",
  "PROXMOX_SSH_HOST_KEY",
  "PROXMOX_SSH_COMMAND_ALLOWLIST",
  "PBS_CA_FILE",
  "PBS_TLS_FINGERPRINT",
]);

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

const PBS_INSECURE_TLS_WARNING =
  "PBS_VERIFY_SSL is false: certificate verification is off, so anyone on the network path can read the PBS token; " +
  "pin the certificate with PBS_TLS_FINGERPRINT instead (`proxmox-backup-manager cert info` on the PBS host shows it)";

const INSECURE_TLS_WARNING =
  "PROXMOX_VERIFY_SSL is false: certificate verification is off, so anyone on the network path can read the API token; " +
  "pin the certificate with PROXMOX_TLS_FINGERPRINT instead (`pvenode cert info` on the node shows it)";

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const problems: string[] = [];

  const { layers, merged, configFile, unknownNames } = readSettings(env, cwd, problems, warnings);
  // Here, not in readSettings: `--demo --http` reads the HTTP settings alone and ignores the cluster's.
  takeHostFromUrl(merged, problems);
  takeHostFromUrl(merged, problems, PBS_URL);
  problems.push(...settingsBelowTheToken(merged));
  problems.push(...settingsBelowTheToken(merged, PBS_GUARDED, PBS_HARMLESS, ["PBS_TOKEN_SECRET"]));
  if (problems.length > 0) throw new ConfigError(problems);

  const values = parseVariables(merged, unknownNames);
  const labelOf = (variable: string) => {
    const found = merged.get(variable);
    return found ? label(variable, found.entry) : variable;
  };
  const tls = tlsMode(values, labelOf, cwd, warnings);
  const dangerous = values.ENABLE_DANGEROUS_COMMANDS
    ? dangerousConfig(merged, values, cwd, unknownNames)
    : ignoredDangerousWarning(merged);
  if (typeof dangerous === "string") warnings.push(dangerous);
  const pbs = merged.has("PBS_HOST") ? pbsConfig(merged, values, cwd, warnings, unknownNames) : undefined;
  const ignoredPbs = pbs ? undefined : ignoredPbsWarning(merged);
  if (ignoredPbs) warnings.push(ignoredPbs);
  if (typeof dangerous === "object" && dangerous.ssh?.allowlist.length === 0) {
    warnings.push(
      `PROXMOX_SSH_COMMAND_ALLOWLIST is not set: execute_command may run any command as ${dangerous.ssh.username}@${dangerous.ssh.host}; list the allowed ones (example: ["uptime", "pveversion( -v)?"])`,
    );
  }

  for (const layer of layers) {
    const holdsSecret = SECRET_NAMES.some((name) => layer.entries.has(name));
    const warning = layer.file && holdsSecret ? readableByOthersWarning(layer.file) : undefined;
    if (warning) warnings.push(warning);
  }

  const sources: Config["sources"] = {};
  if (configFile) sources["PROXMOX_MCP_CONFIG"] = configFile.source;
  const shown = [
    ...VARIABLES,
    ...(typeof dangerous === "object" ? DANGEROUS_VARIABLES : []),
    ...(pbs ? PBS_VARIABLES : []),
  ];
  for (const variable of shown) {
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
      ...(values.PROXMOX_AUDIT_WAIVERS
        ? { auditWaiversPath: resolve(cwd, values.PROXMOX_AUDIT_WAIVERS) }
        : {}),
      ...(pbs ? { pbs } : {}),
      ...(typeof dangerous === "object" ? { dangerous } : {}),
      sources,
    },
    warnings,
  };
}

export interface Settings {
  /** The environment, .env, the JSON file: the places that set something, highest first. */
  layers: Layer[];
  merged: Merged;
  configFile: { path: string; source: Source } | undefined;
  /** Names set but not read, each already warned about. */
  unknownNames: UnknownName[];
}

/** A name that is set but that we do not read: probably a typo or another server's name. */
export interface UnknownName {
  /** The name and where it was written: "PROXMOX_TOKEN_SECRT (in /x/.env)". */
  where: string;
  /** Our variables it was probably meant to set (empty when nothing is close). */
  meant: string[];
  /** "did you mean PROXMOX_TOKEN_SECRET?"; undefined when nothing is close. */
  hint: string | undefined;
}

/**
 * Reads every place settings come from and keeps each variable's first value. Problems
 * (conflicting aliases, bad JSON values) are appended, and
 * warnings about unknown names; unreadable files throw.
 */
export function readSettings(
  env: NodeJS.ProcessEnv,
  cwd: string,
  problems: string[],
  warnings: string[],
): Settings {
  const layers = [layerOf("env", env)];
  const unknownNames = unknownVariables(env, undefined, warnings);
  const dotenvFile = join(cwd, ".env");
  if (existsSync(dotenvFile)) {
    const text = readText(dotenvFile, (code) => `${dotenvFile} cannot be read (${code})`);
    const variables = parseDotenv(text);
    layers.push(layerOf(".env", variables, dotenvFile));
    unknownNames.push(...unknownVariables(variables, dotenvFile, warnings));
  }
  const configFile = findConfigFile(layers, cwd);
  if (configFile) layers.push(readJsonLayer(configFile.path, problems, warnings, unknownNames));

  const merged: Merged = new Map();
  for (const layer of layers) {
    for (const [name, entry] of resolveAliases(layer, cwd, problems)) {
      if (!merged.has(name)) merged.set(name, { entry, source: layer.source });
    }
  }
  return { layers, merged, configFile, unknownNames };
}

/** "PROXMOX_PORT", or with where it was written: "PROXMOX_PORT (proxmox.port in /etc/x/config.json)". */
export function label(variable: string, entry: Entry): string {
  const where = [entry.key === variable ? "" : entry.key, entry.file ? `in ${entry.file}` : ""];
  const origin = where.filter(Boolean).join(" ");
  return origin ? `${variable} (${origin})` : variable;
}

export function readText(path: string, problem: (code: string) => string): string {
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

/**
 * The PROXMOX_* names we do not read, and the MCP_* names close to one of ours (Claude Code
 * and other clients set their own MCP_* variables, such as MCP_TIMEOUT, in the server's
 * environment), each with a warning naming it and never its value.
 */
function unknownVariables(
  variables: Record<string, string | undefined>,
  file: string | undefined,
  warnings: string[],
): UnknownName[] {
  const unknown: UnknownName[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (KNOWN_NAMES.has(name) || !value?.trim()) continue;
    let guess: NameHint | undefined;
    if (name.startsWith("PROXMOX_")) {
      guess = OTHER_SERVERS_NAMES.get(name) ?? closestVariable(name, KNOWN_PROXMOX_NAMES);
    } else if (name.startsWith("MCP_")) {
      guess = closestVariable(name, OUR_MCP_NAMES);
      if (!guess) continue;
    } else if (name.startsWith("PBS_")) {
      // proxmox-backup-client reads PBS_REPOSITORY, PBS_PASSWORD, PBS_FINGERPRINT...: only near-misses of ours.
      guess = closestVariable(name, OUR_PBS_NAMES);
      if (!guess) continue;
    } else {
      continue;
    }
    warnings.push(
      `${name} in ${file ?? "the environment"} is unknown, ignored${guess ? `; ${guess.hint}` : ""}`,
    );
    unknown.push({
      where: file ? `${name} (in ${file})` : name,
      meant: guess?.meant ?? [],
      hint: guess?.hint,
    });
  }
  return unknown;
}

/** The known name closest to a misspelt one, if it is close enough to be what was meant. */
function closestVariable(name: string, candidates: readonly string[]): NameHint | undefined {
  const closest = closestName(name, candidates);
  if (!closest) return undefined;
  // A near-miss of an older fork's name (PROXMOX_SSL_CERTS) is pointed at ours (PROXMOX_CA_FILE).
  const meant = ALIAS_TARGETS.get(closest) ?? closest;
  return { meant: [meant], hint: `did you mean ${meant}?` };
}

/**
 * Within one edit per four characters (at least one, at most three) of the part after the
 * PROXMOX_ or MCP_ prefix: PROXMOX_HOTS finds PROXMOX_HOST, MCP_TIMEOUT finds nothing.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const significant = name.replace(/^(PROXMOX|MCP|PBS)_/, "").length;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  const allowed = Math.min(3, Math.max(1, Math.floor(significant / 4)));
  return best && best.distance > 0 && best.distance <= allowed ? best.name : undefined;
}

/**
 * Insertions, deletions, substitutions and swaps of two neighbouring characters that turn
 * a into b (restricted Damerau-Levenshtein): a swap, the commonest typo, counts as one.
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1);
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, at(i - 2, j - 2) + 1);
      }
      rows[i]![j] = distance;
    }
  }
  return at(a.length, b.length);
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
function readJsonLayer(
  file: string,
  problems: string[],
  warnings: string[],
  unknownNames: UnknownName[],
): Layer {
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
    // Regexes may contain commas: the allow-list keeps its array as JSON text.
    const text =
      name === "PROXMOX_SSH_COMMAND_ALLOWLIST" && Array.isArray(value)
        ? JSON.stringify(value)
        : jsonValueText(value);
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

  const unknownKey = (key: string, guess: NameHint | undefined) => {
    warnings.push(`${file}: unknown key ${key} ignored${guess ? `; ${guess.hint}` : ""}`);
    unknownNames.push({ where: `${key} (in ${file})`, meant: guess?.meant ?? [], hint: guess?.hint });
  };

  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith("_")) continue;
    const section = CANVRNO_SECTIONS.get(key);
    if (section && isObject(value)) {
      for (const [subKey, subValue] of Object.entries(value)) {
        const name = section.get(subKey);
        if (name) add(name, `${key}.${subKey}`, subValue);
        else if (!subKey.startsWith("_"))
          unknownKey(`${key}.${subKey}`, closestSectionKey(key, subKey, section));
      }
    } else if (JSON_KEYS.has(key)) {
      add(key, key, value);
    } else if (key === "clusters") {
      problems.push(
        `${file}: "clusters" (several clusters in one file) is not supported; keep one cluster's "proxmox" and "auth" at the top level (example: {"proxmox": {"host": "pve.example.com"}, "auth": {...}})`,
      );
    } else if (KNOWN_NAMES.has(key)) {
      warnings.push(`${file}: ${key} is not read from this file, ignored; set it in the environment`);
    } else {
      unknownKey(key, OTHER_SERVERS_NAMES.get(key) ?? closestVariable(key, [...JSON_KEYS]));
    }
  }
  return { source: "json", file, entries };
}

/** canvrno's `proxmox.hots`: the closest key of the same section. */
function closestSectionKey(section: string, key: string, keys: Map<string, string>): NameHint | undefined {
  const closest = closestName(key, keys.keys());
  if (!closest) return undefined;
  const variable = keys.get(closest)!;
  return { meant: [ALIAS_TARGETS.get(variable) ?? variable], hint: `did you mean ${section}.${closest}?` };
}

/**
 * Folds PROXMOX_USER + PROXMOX_TOKEN_NAME into PROXMOX_TOKEN_ID, PROXMOX_TOKEN_VALUE into
 * PROXMOX_TOKEN_SECRET and PROXMOX_SSL_CERT into PROXMOX_CA_FILE within one place, so that a
 * higher place overrides the whole token, and the guarded-setting rule sees the CA file.
 */
function resolveAliases(layer: Layer, cwd: string, problems: string[]): Map<string, Entry> {
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

  const caFile = entries.get("PROXMOX_CA_FILE");
  const sslCert = entries.get("PROXMOX_SSL_CERT");
  if (sslCert && !caFile) entries.set("PROXMOX_CA_FILE", sslCert);
  else if (sslCert && caFile && resolve(cwd, sslCert.value) !== resolve(cwd, caFile.value)) {
    problems.push(
      `${caFile.key} and ${sslCert.key}${where} name different files; set only PROXMOX_CA_FILE (example: PROXMOX_CA_FILE=${EXAMPLE_CA_FILE})`,
    );
  }
  return entries;
}

/** The host/port pair an https:// URL in a host setting stands for. */
interface HostUrlSettings {
  host: string;
  port: string;
  example: string;
  api: HostUrlApi;
}

const PVE_URL: HostUrlSettings = {
  host: "PROXMOX_HOST",
  port: "PROXMOX_PORT",
  example: HOST_URL_EXAMPLE,
  api: { product: "PVE", port: 8006 },
};
const PBS_URL: HostUrlSettings = {
  host: "PBS_HOST",
  port: "PBS_PORT",
  example: PBS_HOST_URL_EXAMPLE,
  api: { product: "PBS", port: 8007 },
};

/**
 * PROXMOX_HOST (or PBS_HOST) written as an https:// URL: its host replaces the value, and
 * its port becomes PROXMOX_PORT (PBS_PORT) from the host's layer, so the guarded-setting
 * rule covers it too. Between layers the higher one wins, as for any setting (a URL in the
 * environment overrides the example file's PROXMOX_PORT 8006); within one layer two
 * different ports are an error. Without a port in the URL, the port setting (default 8006,
 * 8007 for PBS) stays: https:// without a port does not mean 443.
 */
function takeHostFromUrl(merged: Merged, problems: string[], settings: HostUrlSettings = PVE_URL): void {
  const { host: hostVariable, port: portVariable, example } = settings;
  const host = merged.get(hostVariable);
  if (!host || !isUrl(host.entry.value)) return;
  const name = label(hostVariable, host.entry);
  const url = splitHostUrl(host.entry.value, settings.api);
  if ("problem" in url) {
    problems.push(`${name} ${url.problem} (example: ${example})`);
    return;
  }
  merged.set(hostVariable, { ...host, entry: { ...host.entry, value: url.host } });
  if (url.port === undefined) return;

  const port = merged.get(portVariable);
  if (!port || LAYER_RANK[host.source] < LAYER_RANK[port.source]) {
    merged.set(portVariable, { entry: { ...host.entry, value: String(url.port) }, source: host.source });
  } else if (host.source === port.source && port.entry.value.trim() !== String(url.port)) {
    problems.push(
      `${label(portVariable, port.entry)} and the port in ${name} differ; keep one, or the same port in both (example: ${hostVariable}=${example} without ${portVariable})`,
    );
  }
}

function parseVariables(merged: Map<string, { entry: Entry }>, unknownNames: UnknownName[]): ParsedVariables {
  const input = Object.fromEntries(VARIABLES.map((name) => [name, merged.get(name)?.entry.value]));
  const result = variablesSchema.safeParse(input);
  if (result.success) return result.data;

  const lines = result.error.issues.map((issue) => {
    const variable = issue.path[0] as keyof typeof RULES;
    const { rule, example } = RULES[variable];
    const found = merged.get(variable);
    return found
      ? `${label(variable, found.entry)} ${rule} (example: ${example})`
      : `${variable} is required${setInstead(variable, unknownNames)} (example: ${example})`;
  });
  throw new ConfigError([...new Set(lines)]);
}

/** For a missing variable: "; PROXMOX_TOKEN_SECRT is set: did you mean PROXMOX_TOKEN_SECRET?", or "". */
export function setInstead(variable: string, unknownNames: UnknownName[]): string {
  const instead = unknownNames.find((unknown) => unknown.meant.includes(variable));
  return instead ? `; ${instead.where} is set: ${instead.hint}` : "";
}

/** The TLS settings of one API (PVE's PROXMOX_*, PBS's PBS_*), their values and their words. */
interface TlsSettings {
  fingerprint: string | undefined;
  caFile: string | undefined;
  verify: boolean;
  names: { fingerprint: string; caFile: string; verify: string };
  caExample: string;
  insecureWarning: string;
}

function tlsMode(
  values: ParsedVariables,
  labelOf: (variable: string) => string,
  cwd: string,
  warnings: string[],
): TlsMode {
  return tlsModeOf(
    {
      fingerprint: values.PROXMOX_TLS_FINGERPRINT,
      caFile: values.PROXMOX_CA_FILE,
      verify: values.PROXMOX_VERIFY_SSL,
      names: {
        fingerprint: "PROXMOX_TLS_FINGERPRINT",
        caFile: "PROXMOX_CA_FILE",
        verify: "PROXMOX_VERIFY_SSL",
      },
      caExample: EXAMPLE_CA_FILE,
      insecureWarning: INSECURE_TLS_WARNING,
    },
    labelOf,
    cwd,
    warnings,
  );
}

function tlsModeOf(
  { fingerprint, caFile, verify, names, caExample, insecureWarning }: TlsSettings,
  labelOf: (variable: string) => string,
  cwd: string,
  warnings: string[],
): TlsMode {
  const problems: string[] = [];
  if (fingerprint && caFile) {
    problems.push(
      `set one of ${names.fingerprint} or ${names.caFile}, not both (example: ${names.caFile}=${caExample} alone)`,
    );
  }
  const trustSetting = fingerprint ? names.fingerprint : caFile ? names.caFile : undefined;
  if (!verify && trustSetting) {
    problems.push(
      `${labelOf(names.verify)} is false, which contradicts ${trustSetting}: that already trusts the self-signed certificate; remove ${names.verify} (example: ${names.verify}=true)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  if (fingerprint) return { mode: "fingerprint", fingerprint };
  if (caFile) {
    const path = resolve(cwd, caFile);
    return { mode: "ca-file", caFile: path, caPem: readCaPem(path, labelOf(names.caFile), caExample) };
  }
  if (!verify) {
    warnings.push(insecureWarning);
    return { mode: "insecure" };
  }
  return { mode: "system" };
}

function readCaPem(path: string, name: string, example = EXAMPLE_CA_FILE): string {
  const what = example === EXAMPLE_CA_FILE ? "the cluster's CA certificate" : "the CA certificate of PBS";
  const pem = readText(
    path,
    (code) => `${name} cannot be read (${code}); it must name ${what} (example: ${example})`,
  );
  if (!isPemCertificate(pem)) {
    throw new ConfigError([`${name} must be a PEM certificate file such as ${what} (example: ${example})`]);
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

export function readableByOthersWarning(file: string, what = "holds a token secret"): string | undefined {
  // Windows has no Unix permission bits: statSync reports 0o666 for every writable file.
  if (process.platform === "win32") return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `${file} ${what} and other users can read it (mode ${mode.toString(8)}); fix: chmod 600 ${file}`;
}

/**
 * Where the server connects, how it checks TLS and where it writes its audit log
 * decide who may see the token. Those settings must not come from a layer below the
 * one holding the token: a .env or config file in a cloned project must not turn off
 * TLS checking, re-pin the certificate, send the token to another port (another
 * service on the node) or retarget the audit log of a server whose token the user set
 * in the environment.
 */
const GUARDED: string[] = [
  "PROXMOX_HOST",
  "PROXMOX_PORT",
  "PROXMOX_VERIFY_SSL",
  "PROXMOX_TLS_FINGERPRINT",
  "PROXMOX_CA_FILE",
  "PROXMOX_AUDIT_LOG",
  // nor accept findings on the user's behalf (a waiver turns a finding into "waived"),
  "PROXMOX_AUDIT_WAIVERS",
  // Nor may it let a read token that can write start serving,
  "PROXMOX_ALLOW_PRIVILEGED_TOKEN",
  // switch on the dangerous tier, lower its confirmation or redirect and widen SSH.
  "ENABLE_DANGEROUS_COMMANDS",
  "PROXMOX_DANGEROUS_CONFIRM",
  "PROXMOX_SSH_HOST",
  "PROXMOX_SSH_PORT",
  "PROXMOX_SSH_USER",
  "PROXMOX_SSH_KEY_FILE",
  "PROXMOX_SSH_HOST_KEY",
  "PROXMOX_SSH_COMMAND_ALLOWLIST",
];
/** Values that only restate the safe default may come from any layer (the example file has some). */
const HARMLESS: Record<string, RegExp> = {
  PROXMOX_PORT: /^8006$/,
  PROXMOX_VERIFY_SSL: /^(true|1|yes)$/i,
  PROXMOX_ALLOW_PRIVILEGED_TOKEN: /^(false|0|no)$/i,
  ENABLE_DANGEROUS_COMMANDS: /^(false|0|no)$/i,
  PROXMOX_DANGEROUS_CONFIRM: /^required$/i,
};
const LAYER_RANK: Record<Source, number> = { env: 0, ".env": 1, json: 2, default: 3 };
const SECRET_NAMES = [
  "PROXMOX_TOKEN_SECRET",
  "PROXMOX_TOKEN_VALUE",
  "PROXMOX_ADMIN_TOKEN_SECRET",
  "PBS_TOKEN_SECRET",
];
/** PBS's connection settings decide who may see the PBS token: guarded by its layer, like GUARDED by PVE's. */
const PBS_GUARDED = ["PBS_HOST", "PBS_PORT", "PBS_VERIFY_SSL", "PBS_TLS_FINGERPRINT", "PBS_CA_FILE"];
const PBS_HARMLESS: Record<string, RegExp> = {
  PBS_PORT: /^8007$/,
  PBS_VERIFY_SSL: /^(true|1|yes)$/i,
};

/**
 * The guarded settings (by default GUARDED) that come from a layer below the highest
 * one holding a Proxmox token secret, one problem line each.
 */
export function settingsBelowTheToken(
  merged: Merged,
  guarded: readonly string[] = GUARDED,
  harmless: Record<string, RegExp> = HARMLESS,
  secretNames: readonly string[] = ["PROXMOX_TOKEN_SECRET", "PROXMOX_ADMIN_TOKEN_SECRET"],
): string[] {
  const secrets = secretNames.flatMap((name) => {
    const found = merged.get(name);
    return found ? [found.source] : [];
  });
  if (secrets.length === 0) return [];
  const highest = secrets.reduce((a, b) => (LAYER_RANK[a] <= LAYER_RANK[b] ? a : b));
  return guarded.flatMap((variable) => {
    const setting = merged.get(variable);
    if (!setting || LAYER_RANK[setting.source] <= LAYER_RANK[highest]) return [];
    if (harmless[variable]?.test(setting.entry.value)) return [];
    return [
      `${label(variable, setting.entry)} comes from the ${setting.source} layer, below the token (${highest}); ` +
        `set it where the token is set (example: both in the environment)`,
    ];
  });
}

/** The admin token and SSH settings, read only now that the dangerous tier is on. */
function dangerousConfig(
  merged: Map<string, { entry: Entry }>,
  values: ParsedVariables,
  cwd: string,
  unknownNames: UnknownName[],
): DangerousConfig {
  const input = Object.fromEntries(DANGEROUS_VARIABLES.map((name) => [name, merged.get(name)?.entry.value]));
  const result = dangerousSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = issue.path[0] as keyof typeof DANGEROUS_RULES;
      const { rule, example } = DANGEROUS_RULES[variable];
      const found = merged.get(variable);
      return found
        ? `${label(variable, found.entry)} ${rule} (example: ${example})`
        : `ENABLE_DANGEROUS_COMMANDS=true needs ${variable}, a second token for the dangerous tools${setInstead(variable, unknownNames)} (example: ${example})`;
    });
    throw new ConfigError([...new Set(lines)]);
  }
  const parsed = result.data;
  if (parsed.PROXMOX_ADMIN_TOKEN_ID === values.PROXMOX_TOKEN_ID) {
    throw new ConfigError([
      `PROXMOX_ADMIN_TOKEN_ID is the read token; the dangerous tools need a separate admin token so that the read token stays read-only (example: ${EXAMPLE_ADMIN_TOKEN_ID})`,
    ]);
  }
  if (parsed.PROXMOX_ADMIN_TOKEN_SECRET.reveal() === values.PROXMOX_TOKEN_SECRET.reveal()) {
    throw new ConfigError([
      "PROXMOX_ADMIN_TOKEN_SECRET equals PROXMOX_TOKEN_SECRET; each token has its own secret: set the admin token's (example: the UUID `pveum user token add` printed for it)",
    ]);
  }
  const ssh = sshConfig(merged, parsed, values, cwd);
  return {
    adminTokenId: parsed.PROXMOX_ADMIN_TOKEN_ID,
    adminTokenSecret: parsed.PROXMOX_ADMIN_TOKEN_SECRET,
    confirm: parsed.PROXMOX_DANGEROUS_CONFIRM,
    ...(ssh ? { ssh } : {}),
  };
}

/** No key and no pin: execute_command stays off. One without the other is a mistake worth stopping for. */
function sshConfig(
  merged: Map<string, { entry: Entry }>,
  parsed: ParsedDangerousVariables,
  values: ParsedVariables,
  cwd: string,
): SshConfig | undefined {
  const { PROXMOX_SSH_KEY_FILE: keyFile, PROXMOX_SSH_HOST_KEY: hostKey } = parsed;
  if (!keyFile && !hostKey) {
    if (parsed.PROXMOX_SSH_COMMAND_ALLOWLIST) {
      throw new ConfigError([
        "PROXMOX_SSH_COMMAND_ALLOWLIST is set but PROXMOX_SSH_KEY_FILE and PROXMOX_SSH_HOST_KEY are not; set both to enable execute_command (example: PROXMOX_SSH_KEY_FILE=~/.ssh/id_ed25519)",
      ]);
    }
    return undefined;
  }
  if (!hostKey) {
    throw new ConfigError([
      `PROXMOX_SSH_KEY_FILE is set but PROXMOX_SSH_HOST_KEY is not: execute_command never connects to an unpinned host; ${DANGEROUS_RULES.PROXMOX_SSH_HOST_KEY.rule} (example: ${DANGEROUS_RULES.PROXMOX_SSH_HOST_KEY.example})`,
    ]);
  }
  if (!keyFile) {
    throw new ConfigError([
      "PROXMOX_SSH_HOST_KEY is set but PROXMOX_SSH_KEY_FILE is not; execute_command authenticates with a key only (example: PROXMOX_SSH_KEY_FILE=/root/.ssh/id_ed25519_mcp)",
    ]);
  }
  const path = resolve(cwd, keyFile.replace(/^~(?=\/)/, homedir()));
  const name = label("PROXMOX_SSH_KEY_FILE", merged.get("PROXMOX_SSH_KEY_FILE")!.entry);
  const privateKey = readText(
    path,
    (code) =>
      `${name} cannot be read (${code}); it must name an SSH private key file (example: /root/.ssh/id_ed25519_mcp)`,
  );
  if (!/-----BEGIN (OPENSSH|RSA|EC|PRIVATE) (PRIVATE )?KEY-----/.test(privateKey)) {
    throw new ConfigError([
      `${name} is not an SSH private key (PEM or OpenSSH format; example: ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519_mcp)`,
    ]);
  }
  // ssh itself refuses such a key ("UNPROTECTED PRIVATE KEY FILE"); so do we.
  const exposed = readableByOthersWarning(path, "is an SSH private key");
  if (exposed) throw new ConfigError([exposed]);
  const allowlistSource = allowlistPatterns(parsed.PROXMOX_SSH_COMMAND_ALLOWLIST);
  let allowlist: RegExp[];
  try {
    allowlist = compileAllowlist(allowlistSource);
  } catch (err) {
    throw new ConfigError([`${(err as Error).message} (example: ["uptime", "pveversion( -v)?"])`]);
  }
  return {
    host: parsed.PROXMOX_SSH_HOST ?? values.PROXMOX_HOST,
    port: parsed.PROXMOX_SSH_PORT,
    username: parsed.PROXMOX_SSH_USER,
    keyFile: path,
    privateKey: new Secret(privateKey),
    ...(parsed.PROXMOX_SSH_KEY_PASSPHRASE ? { passphrase: parsed.PROXMOX_SSH_KEY_PASSPHRASE } : {}),
    hostKeySha256: hostKey,
    allowlist,
    allowlistSource,
  };
}

/**
 * A JSON array of regexes, or one regex per line (regexes may hold commas). A line that
 * merely starts with "[" ("[a-z]+ status") is a regex, not broken JSON.
 */
function allowlistPatterns(value: string | undefined): string[] {
  if (value === undefined) return [];
  let list: unknown;
  try {
    list = value.startsWith("[") ? JSON.parse(value) : undefined;
  } catch {
    list = undefined;
  }
  const patterns =
    Array.isArray(list) && list.every((item) => typeof item === "string")
      ? (list as string[]).map((pattern) => pattern.trim()).filter(Boolean)
      : value
          .split("\n")
          .map((line) => line.trim())
          .filter(Boolean);
  // Set but empty would silently mean "any command".
  if (patterns.length === 0) {
    throw new ConfigError([
      'PROXMOX_SSH_COMMAND_ALLOWLIST is set but holds no pattern; list the allowed commands, or remove it to allow any command (example: ["uptime", "pveversion( -v)?"])',
    ]);
  }
  return patterns;
}

/** The dangerous tier is off: its settings are ignored, and the person is told so. */
function ignoredDangerousWarning(merged: Map<string, unknown>): string | undefined {
  const set = DANGEROUS_VARIABLES.filter((name) => merged.has(name));
  if (set.length === 0) return undefined;
  return `${set.join(", ")} ${set.length === 1 ? "is" : "are"} set but ENABLE_DANGEROUS_COMMANDS is not true: ignored, and no dangerous tool is offered`;
}

/**
 * The PBS connection, read only because PBS_HOST is set: then its token is required, and
 * a bad value is an error naming the variable, like PVE's.
 */
function pbsConfig(
  merged: Merged,
  values: ParsedVariables,
  cwd: string,
  warnings: string[],
  unknownNames: UnknownName[],
): PbsConfig {
  const input = Object.fromEntries(PBS_VARIABLES.map((name) => [name, merged.get(name)?.entry.value]));
  const result = pbsSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = issue.path[0] as keyof typeof PBS_RULES;
      const { rule, example } = PBS_RULES[variable];
      const found = merged.get(variable);
      return found
        ? `${label(variable, found.entry)} ${rule} (example: ${example})`
        : `PBS_HOST is set, so ${variable} is required${setInstead(variable, unknownNames)}: the PBS API token (example: ${example})`;
    });
    throw new ConfigError([...new Set(lines)]);
  }
  const parsed = result.data;
  if (parsed.PBS_TOKEN_SECRET.reveal() === values.PROXMOX_TOKEN_SECRET.reveal()) {
    throw new ConfigError([
      `PBS_TOKEN_SECRET equals PROXMOX_TOKEN_SECRET; PBS issues its own tokens: set the secret \`proxmox-backup-manager user generate-token\` printed (example: PBS_TOKEN_ID=${EXAMPLE_PBS_TOKEN_ID})`,
    ]);
  }
  const labelOf = (variable: string) => {
    const found = merged.get(variable);
    return found ? label(variable, found.entry) : variable;
  };
  const tls = tlsModeOf(
    {
      fingerprint: parsed.PBS_TLS_FINGERPRINT,
      caFile: parsed.PBS_CA_FILE,
      verify: parsed.PBS_VERIFY_SSL,
      names: { fingerprint: "PBS_TLS_FINGERPRINT", caFile: "PBS_CA_FILE", verify: "PBS_VERIFY_SSL" },
      caExample: EXAMPLE_PBS_CA_FILE,
      insecureWarning: PBS_INSECURE_TLS_WARNING,
    },
    labelOf,
    cwd,
    warnings,
  );
  return {
    host: parsed.PBS_HOST,
    port: parsed.PBS_PORT,
    tokenId: parsed.PBS_TOKEN_ID,
    tokenSecret: parsed.PBS_TOKEN_SECRET,
    tls,
    timeoutMs: values.PROXMOX_TIMEOUT_MS,
  };
}

/** PBS_HOST is not set: any other PBS_* setting is ignored, and the person is told so. */
function ignoredPbsWarning(merged: Merged): string | undefined {
  const set = PBS_VARIABLES.filter((name: PbsVariable) => merged.has(name));
  if (set.length === 0) return undefined;
  return `${set.join(", ")} ${set.length === 1 ? "is" : "are"} set but PBS_HOST is not: ignored, and no PBS tool or check is offered`;
}

/** PROXMOX_AUDIT_LOG relative to cwd, or the XDG state default. */
export function auditLogPath(configured: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return configured?.trim() ? resolve(cwd, configured.trim()) : defaultAuditLogPath(env);
}

/** `$XDG_STATE_HOME/proxmox-mcp/audit.jsonl`; the XDG spec says to ignore a relative XDG_STATE_HOME. */
function defaultAuditLogPath(env: NodeJS.ProcessEnv): string {
  const stateHome = env["XDG_STATE_HOME"];
  const base =
    stateHome && isAbsolute(stateHome) ? stateHome : join(env["HOME"] || homedir(), ".local", "state");
  return join(base, "proxmox-mcp", "audit.jsonl");
}
