/**
 * The variables of design.md "Configuration": one zod schema per variable (input is
 * always the trimmed string from the environment, .env or the JSON file) and the rule
 * and example that an error line shows. Error lines never include the value.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { Secret } from "./secret.js";
import { isPbsTokenId } from "../pbs/formats.js";

const bool = (fallback: boolean) =>
  z
    .stringbool({ truthy: ["true", "1", "yes"], falsy: ["false", "0", "no"], case: "insensitive" })
    .default(fallback);

const wholeNumber = (min: number, max: number, fallback: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().min(min).max(max)).default(fallback);

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Host name, IPv4, or IPv6 with or without brackets; undefined if it is anything else (a URL, host:port...). */
function bareHost(value: string): string | undefined {
  const unbracketed = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
  // A zone id (fe80::1%eth0) cannot go into an https URL.
  if (isIP(unbracketed) === 6) return unbracketed.includes("%") ? undefined : unbracketed;
  if (unbracketed !== value) return undefined;
  if (isIP(value) === 4) return value;
  // Digits and dots only but not a valid IPv4 address (e.g. 10.0.0.256) is a typo, not a host name.
  if (/^[\d.]+$/.test(value)) return undefined;
  return HOST_NAME.test(value) ? value : undefined;
}

export const HOST_URL_EXAMPLE = "https://pve.example.com:8006";
export const PBS_HOST_URL_EXAMPLE = "https://pbs.example.com:8007";

/** The API a host URL names, for the words of its problems. */
export interface HostUrlApi {
  product: string;
  port: number;
}

/** `https://...`, `http://...`, `ftp://...`: PROXMOX_HOST written as a URL rather than a bare host. */
export function isUrl(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
}

/** The paths of a URL pasted from the browser's address bar or another client's settings. */
const HOST_URL_PATHS = new Set(["", "/", "/api2/json", "/api2/json/"]);

/**
 * The host and port of an `https://host[:port][/api2/json]` URL, or why it cannot name a PVE
 * node, as an error line's rule (never quoting the URL: it may hold a password). Parsed by
 * hand: WHATWG URL rewrites hosts ("1.2.3" becomes 1.2.0.3), and the host must pass the same
 * check as a bare PROXMOX_HOST.
 */
export function splitHostUrl(
  url: string,
  { product, port: examplePort }: HostUrlApi = { product: "PVE", port: 8006 },
): { host: string; port: number | undefined } | { problem: string } {
  const [, scheme = "", rest = ""] = /^([^:]+):\/\/(.*)$/s.exec(url) ?? [];
  if (scheme.toLowerCase() === "http") {
    return {
      problem: `is an http:// URL, but ${product}'s API is HTTPS only and the token would cross the network in clear; write https://`,
    };
  }
  if (scheme.toLowerCase() !== "https") {
    return {
      problem: `must be a host name, an IP address or an https:// URL: ${product}'s API speaks no other scheme`,
    };
  }
  // Before anything else: a password may hold the characters that end the host part (/ ? #).
  if (rest.includes("@")) {
    return {
      problem:
        "holds a user name or password (user:password@): credentials do not belong in a host setting, the API token authenticates; remove them",
    };
  }
  const hostEnd = rest.search(/[/?#]/);
  const authority = hostEnd === -1 ? rest : rest.slice(0, hostEnd);
  const after = hostEnd === -1 ? "" : rest.slice(hostEnd);
  if (/[?#]/.test(after)) return { problem: "has a query (?) or fragment (#); remove it" };
  if (!HOST_URL_PATHS.has(after)) return { problem: "has a path other than / or /api2/json; remove it" };
  const [, hostText = "", portText] = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(authority) ?? [];
  const host = bareHost(hostText);
  if (!host) {
    return {
      problem: `holds no valid host name or IP address (an IPv6 address goes in brackets: https://[2001:db8::1]:${examplePort})`,
    };
  }
  if (portText === undefined) return { host, port: undefined };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) return { problem: "has a port that is not a whole number from 1 to 65535" };
  return { host, port };
}

// PVE's own formats (pve-access-control: PVE/Auth/Plugin.pm, PVE/AccessControl.pm).
const PVE_USER_ID = /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const PVE_TOKEN_NAME = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const PVE_USER_ID_MAX_LENGTH = 64;

function isTokenId(value: string): boolean {
  const bang = value.lastIndexOf("!");
  const user = value.slice(0, bang);
  return (
    bang > 0 &&
    user.length <= PVE_USER_ID_MAX_LENGTH &&
    PVE_USER_ID.test(user) &&
    PVE_TOKEN_NAME.test(value.slice(bang + 1))
  );
}

const FINGERPRINT = /^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}|[0-9A-Fa-f]{64})$/;

/** "aabb..." or "aa:bb:..." -> "AA:BB:..." (how PVE and node:crypto print it). */
function normaliseFingerprint(value: string): string {
  const hex = value.replaceAll(":", "").toUpperCase();
  return hex.replace(/(..)(?!$)/g, "$1:");
}

const TOOLSET_NAME = /^[a-z][a-z0-9_]*$/;

function splitList(value: string): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  return [...new Set(names)];
}

export const variablesSchema = z.object({
  PROXMOX_HOST: z
    .string()
    .refine((value) => bareHost(value) !== undefined)
    .transform((value) => bareHost(value) as string),
  PROXMOX_PORT: wholeNumber(1, 65535, 8006),
  PROXMOX_TOKEN_ID: z.string().refine(isTokenId),
  PROXMOX_TOKEN_SECRET: z.guid().transform((secret) => new Secret(secret)),
  PROXMOX_VERIFY_SSL: bool(true),
  PROXMOX_CA_FILE: z.string().optional(),
  PROXMOX_TLS_FINGERPRINT: z.string().regex(FINGERPRINT).transform(normaliseFingerprint).optional(),
  PROXMOX_TIMEOUT_MS: wholeNumber(100, 600_000, 15_000),
  PROXMOX_SERVICE: z.string().toUpperCase().pipe(z.literal("PVE")).default("PVE"),
  PROXMOX_LOG_LEVEL: z
    .string()
    .toLowerCase()
    // canvrno/ProxmoxMCP files use Python's level names (INFO, WARNING).
    .transform((level) => (level === "warning" ? "warn" : level))
    .pipe(z.enum(["debug", "info", "warn", "error"]))
    .default("info"),
  PROXMOX_TOOLSETS: z
    .string()
    .transform(splitList)
    .pipe(z.array(z.string().regex(TOOLSET_NAME)).min(1))
    .optional(),
  PROXMOX_ALLOW_PRIVILEGED_TOKEN: bool(false),
  PROXMOX_AUDIT_LOG: z.string().optional(),
  PROXMOX_AUDIT_WAIVERS: z.string().trim().min(1).optional(),
  ENABLE_DANGEROUS_COMMANDS: bool(false),
});

/** ssh-keygen -lf's "SHA256:" + unpadded base64 of 32 bytes; the prefix and padding are optional here. */
const SSH_HOST_KEY = /^(?:SHA256:)?[A-Za-z0-9+/]{43}=?$/;

/** Read only when ENABLE_DANGEROUS_COMMANDS=true: with the tier off, these are not even parsed. */
export const dangerousSchema = z.object({
  PROXMOX_ADMIN_TOKEN_ID: z.string().refine(isTokenId),
  PROXMOX_ADMIN_TOKEN_SECRET: z.guid().transform((secret) => new Secret(secret)),
  PROXMOX_DANGEROUS_CONFIRM: z
    .string()
    .toLowerCase()
    .pipe(z.enum(["required", "when-supported"]))
    .default("required"),
  PROXMOX_SSH_HOST: z
    .string()
    .refine((value) => bareHost(value) !== undefined)
    .transform((value) => bareHost(value) as string)
    .optional(),
  PROXMOX_SSH_PORT: wholeNumber(1, 65535, 22),
  PROXMOX_SSH_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i)
    .default("root"),
  PROXMOX_SSH_KEY_FILE: z.string().optional(),
  PROXMOX_SSH_KEY_PASSPHRASE: z
    .string()
    .transform((passphrase) => new Secret(passphrase))
    .optional(),
  PROXMOX_SSH_HOST_KEY: z
    .string()
    .regex(SSH_HOST_KEY)
    .transform((value) => `SHA256:${value.replace(/^SHA256:/, "").replace(/=$/, "")}`)
    .optional(),
  PROXMOX_SSH_COMMAND_ALLOWLIST: z.string().optional(),
});

export type DangerousVariable = keyof typeof dangerousSchema.shape;
export type ParsedDangerousVariables = z.output<typeof dangerousSchema>;

export type Variable = keyof typeof variablesSchema.shape;
export type ParsedVariables = z.output<typeof variablesSchema>;

export const EXAMPLE_TOKEN_ID = "mcp@pve!readonly";
export const EXAMPLE_SECRET = "0b4f6a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
export const EXAMPLE_CA_FILE = "/etc/pve/pve-root-ca.pem";

/**
 * The optional Proxmox Backup Server connection: read only when PBS_HOST is set. The
 * deadline is PROXMOX_TIMEOUT_MS, shared with PVE.
 */
export const pbsSchema = z.object({
  PBS_HOST: z
    .string()
    .refine((value) => bareHost(value) !== undefined)
    .transform((value) => bareHost(value) as string),
  PBS_PORT: wholeNumber(1, 65535, 8007),
  PBS_TOKEN_ID: z.string().refine(isPbsTokenId),
  // PBS generates token secrets as UUIDs too (src/api2/access/user.rs, generate_token).
  PBS_TOKEN_SECRET: z.guid().transform((secret) => new Secret(secret)),
  PBS_VERIFY_SSL: bool(true),
  PBS_CA_FILE: z.string().optional(),
  // PBS shows fingerprints in lower case (aa:bb:...); stored like PROXMOX_TLS_FINGERPRINT, AA:BB:...
  PBS_TLS_FINGERPRINT: z.string().regex(FINGERPRINT).transform(normaliseFingerprint).optional(),
});

export type PbsVariable = keyof typeof pbsSchema.shape;
export type ParsedPbsVariables = z.output<typeof pbsSchema>;
export const PBS_VARIABLES = Object.keys(pbsSchema.shape) as PbsVariable[];

export const EXAMPLE_PBS_TOKEN_ID = "mcp@pbs!readonly";
export const EXAMPLE_PBS_CA_FILE = "/etc/proxmox-backup/proxy.pem";

export const PBS_RULES: Record<Exclude<PbsVariable, "PBS_CA_FILE">, { rule: string; example: string }> = {
  PBS_HOST: {
    rule: "must be a host name, an IP address or an https:// URL (https://host:port, optionally ending in /api2/json); without https://, the port goes in PBS_PORT",
    example: "pbs.example.com",
  },
  PBS_PORT: { rule: "must be a whole number from 1 to 65535", example: "8007" },
  PBS_TOKEN_ID: {
    rule: "must look like user@realm!tokenname (a PBS API token, e.g. from `proxmox-backup-manager user generate-token`)",
    example: EXAMPLE_PBS_TOKEN_ID,
  },
  PBS_TOKEN_SECRET: {
    rule: "must be the PBS token's secret, the UUID shown once when the token was created",
    example: EXAMPLE_SECRET,
  },
  PBS_VERIFY_SSL: { rule: "must be true or false (also 1/0, yes/no)", example: "true" },
  PBS_TLS_FINGERPRINT: {
    rule: "must be the certificate's SHA-256 fingerprint, 32 hex bytes with or without colons, in either case; `proxmox-backup-manager cert info` on the PBS host shows it",
    example: "9a:3c:...:e1",
  },
};

/** What an invalid value breaks, and a valid value; the path variables accept any path. */
export const RULES: Record<
  Exclude<Variable, "PROXMOX_CA_FILE" | "PROXMOX_AUDIT_LOG" | "PROXMOX_AUDIT_WAIVERS">,
  { rule: string; example: string }
> = {
  PROXMOX_HOST: {
    rule: "must be a host name, an IP address or an https:// URL (https://host:port, optionally ending in /api2/json); without https://, the port goes in PROXMOX_PORT",
    example: "pve.example.com",
  },
  PROXMOX_PORT: { rule: "must be a whole number from 1 to 65535", example: "8006" },
  PROXMOX_TOKEN_ID: { rule: "must look like user@realm!tokenname", example: EXAMPLE_TOKEN_ID },
  PROXMOX_TOKEN_SECRET: {
    rule: "must be the token's secret, the UUID shown once when the token was created",
    example: EXAMPLE_SECRET,
  },
  PROXMOX_VERIFY_SSL: { rule: "must be true or false (also 1/0, yes/no)", example: "true" },
  PROXMOX_TLS_FINGERPRINT: {
    rule: "must be the certificate's SHA-256 fingerprint, 32 hex bytes with or without colons; `pvenode cert info` on the node shows it",
    example: "9A:3C:...:E1",
  },
  PROXMOX_TIMEOUT_MS: { rule: "must be a whole number of milliseconds from 100 to 600000", example: "15000" },
  PROXMOX_SERVICE: { rule: "must be PVE, the only service supported", example: "PVE" },
  PROXMOX_LOG_LEVEL: { rule: "must be one of debug, info, warn, error", example: "info" },
  PROXMOX_TOOLSETS: {
    rule: "must be a comma-separated list of toolset names made of lower-case letters, digits and _",
    example: "core",
  },
  PROXMOX_ALLOW_PRIVILEGED_TOKEN: { rule: "must be true or false (also 1/0, yes/no)", example: "false" },
  ENABLE_DANGEROUS_COMMANDS: { rule: "must be true or false (also 1/0, yes/no)", example: "false" },
};

/** What an unknown name probably meant: our variables it corresponds to, and the hint to show. */
export interface NameHint {
  meant: string[];
  hint: string;
}

function didYouMean(meant: Variable[], note?: string): NameHint {
  return { meant, hint: `did you mean ${meant.join(" and ")}?${note ? ` ${note}` : ""}` };
}

const HOST_HINT = didYouMean(["PROXMOX_HOST"], "It takes the https:// URL too");
const TOKEN_HINT = didYouMean(
  ["PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET"],
  "The token's id (user@realm!name) and its secret go in two variables",
);
const SECRET_HINT = didYouMean(["PROXMOX_TOKEN_SECRET"]);
const CA_FILE_HINT = didYouMean(["PROXMOX_CA_FILE"]);
const VERIFY_HINT = didYouMean(["PROXMOX_VERIFY_SSL"]);
const INSECURE_HINT = didYouMean(
  ["PROXMOX_VERIFY_SSL"],
  "With the opposite sense: PROXMOX_VERIFY_SSL=false skips the check; pinning PROXMOX_TLS_FINGERPRINT is safer",
);
const PASSWORD_HINT: NameHint = {
  meant: ["PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET"],
  hint: "this server takes no password, only an API token: create one with `pveum user token add` and set PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET",
};

/**
 * Names that other Proxmox MCP servers and Proxmox tools read, found in configurations
 * copied from them; the edit distance alone would miss them or point at the wrong variable
 * (PROXMOX_NODE is two edits from PROXMOX_PORT).
 */
export const OTHER_SERVERS_NAMES: ReadonlyMap<string, NameHint> = new Map([
  ["PROXMOX_URL", HOST_HINT],
  ["PROXMOX_API_URL", HOST_HINT],
  ["PROXMOX_HOSTNAME", HOST_HINT],
  ["PROXMOX_ENDPOINT", HOST_HINT],
  ["PROXMOX_API_ENDPOINT", HOST_HINT],
  ["PROXMOX_TOKEN", TOKEN_HINT],
  ["PROXMOX_API_TOKEN", TOKEN_HINT],
  ["PROXMOX_API_TOKEN_ID", didYouMean(["PROXMOX_TOKEN_ID"])],
  [
    "PROXMOX_USERNAME",
    didYouMean(["PROXMOX_TOKEN_ID"], "It holds the user and the token name: user@realm!name"),
  ],
  [
    "PROXMOX_API_USER",
    didYouMean(["PROXMOX_TOKEN_ID"], "It holds the user and the token name: user@realm!name"),
  ],
  ["PROXMOX_REALM", didYouMean(["PROXMOX_TOKEN_ID"], "The realm is part of it: user@realm!name")],
  ["PROXMOX_SECRET", SECRET_HINT],
  ["PROXMOX_API_SECRET", SECRET_HINT],
  ["PROXMOX_API_KEY", SECRET_HINT],
  ["PROXMOX_API_TOKEN_SECRET", SECRET_HINT],
  ["PROXMOX_FINGERPRINT", didYouMean(["PROXMOX_TLS_FINGERPRINT"])],
  ["PROXMOX_CA_CERT", CA_FILE_HINT],
  ["PROXMOX_CA_CERT_PATH", CA_FILE_HINT],
  ["PROXMOX_CA_BUNDLE", CA_FILE_HINT],
  ["PROXMOX_SSL_CA", CA_FILE_HINT],
  ["PROXMOX_VERIFY_TLS", VERIFY_HINT],
  ["PROXMOX_SSL_VERIFY", VERIFY_HINT],
  ["PROXMOX_REJECT_UNAUTHORIZED", VERIFY_HINT],
  ["PROXMOX_SSL_REJECT_UNAUTHORIZED", VERIFY_HINT],
  ["PROXMOX_TLS_REJECT_UNAUTHORIZED", VERIFY_HINT],
  ["PROXMOX_INSECURE", INSECURE_HINT],
  ["PROXMOX_INSECURE_TLS", INSECURE_HINT],
  ["PROXMOX_PASSWORD", PASSWORD_HINT],
  ["PROXMOX_TIMEOUT", didYouMean(["PROXMOX_TIMEOUT_MS"], "It is in milliseconds")],
  [
    "PROXMOX_ALLOW_ELEVATED",
    didYouMean(
      ["ENABLE_DANGEROUS_COMMANDS"],
      "It also needs a separate admin token (README, Dangerous mode)",
    ),
  ],
  ["PROXMOX_NODE", { meant: [], hint: "the tools take the node as an argument or find it themselves" }],
]);

export const EXAMPLE_ADMIN_TOKEN_ID = "automation@pve!mcp-admin";

/** Free-text variables (paths, the passphrase, the allow-list) are checked where they are used. */
export const DANGEROUS_RULES: Record<
  Exclude<
    DangerousVariable,
    "PROXMOX_SSH_KEY_FILE" | "PROXMOX_SSH_KEY_PASSPHRASE" | "PROXMOX_SSH_COMMAND_ALLOWLIST"
  >,
  { rule: string; example: string }
> = {
  PROXMOX_ADMIN_TOKEN_ID: {
    rule: "must look like user@realm!tokenname (a second token, not the read token)",
    example: EXAMPLE_ADMIN_TOKEN_ID,
  },
  PROXMOX_ADMIN_TOKEN_SECRET: {
    rule: "must be the admin token's secret, the UUID shown once when the token was created",
    example: EXAMPLE_SECRET,
  },
  PROXMOX_DANGEROUS_CONFIRM: {
    rule: "must be required (refuse dangerous calls when the client cannot ask the person) or when-supported (then rely on the client's own approval prompt)",
    example: "required",
  },
  PROXMOX_SSH_HOST: {
    rule: "must be a bare host name or IP address (default: PROXMOX_HOST)",
    example: "pve1.example.com",
  },
  PROXMOX_SSH_PORT: { rule: "must be a whole number from 1 to 65535", example: "22" },
  PROXMOX_SSH_USER: { rule: "must be a Unix user name", example: "root" },
  PROXMOX_SSH_HOST_KEY: {
    rule: "must be the host key's SHA256 fingerprint as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host",
    example: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
  },
};

/** An exact origin (`https://mcp.example.com`, `http://localhost:5173`) in URL.origin's form; undefined if not one. */
export function normaliseOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") return undefined;
  // new URL accepts "http:example.com" and "http://a.com/" alike; an origin is written out in full.
  if (!/^https?:\/\/[^/]+\/?$/i.test(value)) return undefined;
  return url.origin;
}

/**
 * The Streamable HTTP transport's variables, read only with `serve --http`. The bearer
 * token is a Secret; the TLS files are read (and checked) by loadHttpConfig.
 */
export const httpSchema = z.object({
  MCP_HTTP_HOST: z
    .string()
    .refine((value) => bareHost(value) !== undefined)
    .transform((value) => bareHost(value) as string)
    .default("127.0.0.1"),
  MCP_HTTP_PORT: wholeNumber(0, 65535, 8080),
  // Visible ASCII only: it travels in a header as "Authorization: Bearer <token>".
  MCP_HTTP_TOKEN: z
    .string()
    .min(32)
    .max(4096)
    .regex(/^[\x21-\x7e]+$/)
    .transform((token) => new Secret(token)),
  MCP_ALLOWED_ORIGINS: z
    .string()
    .transform(splitList)
    .pipe(z.array(z.string().refine((origin) => normaliseOrigin(origin) !== undefined)))
    .transform((origins) => [...new Set(origins.map((origin) => normaliseOrigin(origin) as string))])
    .optional(),
  MCP_HTTP_TLS_CERT: z.string().optional(),
  MCP_HTTP_TLS_KEY: z.string().optional(),
  MCP_HTTP_ALLOW_PLAINTEXT: bool(false),
  MCP_HTTP_MAX_SESSIONS: wholeNumber(1, 10_000, 32),
  MCP_HTTP_SESSION_IDLE_S: wholeNumber(1, 7 * 86_400, 1800),
  MCP_HTTP_RATE_LIMIT: wholeNumber(1, 1_000_000, 600),
  MCP_HTTP_MAX_BODY: wholeNumber(1024, 64 * 1024 * 1024, 1024 * 1024),
  MCP_CONFIRM_KEY: z
    .string()
    .min(32)
    .max(4096)
    .regex(/^[\x21-\x7e]+$/)
    .transform((key) => new Secret(key))
    .optional(),
  MCP_CONFIRM_STATE_DIR: z.string().min(1).optional(),
});

export type HttpVariable = keyof typeof httpSchema.shape;
export type ParsedHttpVariables = z.output<typeof httpSchema>;
export const HTTP_VARIABLES = Object.keys(httpSchema.shape) as HttpVariable[];

export const MAKE_HTTP_TOKEN = "make one with `openssl rand -hex 32`";

/** The TLS file paths are checked where they are read. */
export const HTTP_RULES: Record<
  Exclude<HttpVariable, "MCP_HTTP_TLS_CERT" | "MCP_HTTP_TLS_KEY">,
  { rule: string; example: string }
> = {
  MCP_HTTP_HOST: {
    rule: "must be a bare host name or IP address to listen on, without http://, :port or path; the port goes in MCP_HTTP_PORT",
    example: "127.0.0.1",
  },
  MCP_HTTP_PORT: { rule: "must be a whole number from 0 (any free port) to 65535", example: "8080" },
  MCP_HTTP_TOKEN: {
    rule: `must be at least 32 characters of visible ASCII without spaces (clients send it as \`Authorization: Bearer <token>\`); ${MAKE_HTTP_TOKEN}`,
    example: "MCP_HTTP_TOKEN=$(openssl rand -hex 32)",
  },
  MCP_ALLOWED_ORIGINS: {
    rule: "must be a comma-separated list of exact origins, scheme://host[:port] without path or wildcard",
    example: "https://mcp.example.com,http://localhost:5173",
  },
  MCP_HTTP_ALLOW_PLAINTEXT: { rule: "must be true or false (also 1/0, yes/no)", example: "false" },
  MCP_HTTP_MAX_SESSIONS: { rule: "must be a whole number from 1 to 10000", example: "32" },
  MCP_HTTP_SESSION_IDLE_S: {
    rule: "must be a whole number of seconds from 1 to 604800 (7 days)",
    example: "1800",
  },
  MCP_HTTP_RATE_LIMIT: {
    rule: "must be a whole number of requests per minute with the token (all clients together), from 1 to 1000000",
    example: "600",
  },
  MCP_HTTP_MAX_BODY: {
    rule: "must be a whole number of bytes from 1024 to 67108864 (64 MiB)",
    example: "1048576",
  },
  MCP_CONFIRM_KEY: {
    rule: "must be at least 32 characters of visible ASCII without spaces, the same on every server process behind one load balancer; make one with `openssl rand -hex 32`",
    example: "MCP_CONFIRM_KEY=$(openssl rand -hex 32)",
  },
  MCP_CONFIRM_STATE_DIR: {
    rule: "must be the path of a directory every server process behind the load balancer can write (created if missing)",
    example: "/var/lib/proxmox-mcp/confirmations",
  },
};
