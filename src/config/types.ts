import type { Secret } from "./secret.js";

/** How the Proxmox API's certificate is checked. */
export type TlsMode =
  | { mode: "system" }
  | { mode: "ca-file"; caFile: string; caPem: string }
  /** SHA-256 fingerprint of the leaf certificate, "AA:BB:..." (upper case, colons). */
  | { mode: "fingerprint"; fingerprint: string }
  | { mode: "insecure" };

export type LogLevel = "debug" | "info" | "warn" | "error";

/** The validated configuration (design.md "Configuration"); secrets are Secret objects. */
export interface Config {
  /** Host name or IP address; an IPv6 address comes without brackets (`fd00::1`). */
  host: string;
  port: number;
  /** Read token, `user@realm!name`. */
  tokenId: string;
  tokenSecret: Secret;
  tls: TlsMode;
  /** Deadline per API request, body included. */
  timeoutMs: number;
  service: "PVE";
  logLevel: LogLevel;
  /** Toolsets to enable; undefined = all read toolsets. */
  toolsets: string[] | undefined;
  allowPrivilegedToken: boolean;
  auditLogPath: string;
  /** The audit's waivers file (PROXMOX_AUDIT_WAIVERS), read by security_audit at every call. */
  auditWaiversPath?: string;
  /** Proxmox Backup Server, read-only; absent unless PBS_HOST is set (no other PBS_* is read then). */
  pbs?: PbsConfig;
  /** The dangerous tier; absent unless ENABLE_DANGEROUS_COMMANDS=true (the admin token is not even read then). */
  dangerous?: DangerousConfig;
  /** Where each value came from, for diagnostics and error messages (variable names, never values). */
  sources: Record<string, "env" | ".env" | "json" | "default">;
}

/** The optional Proxmox Backup Server connection (PBS_* variables), read with its own token. */
export interface PbsConfig {
  /** Host name or IP address; an IPv6 address comes without brackets. */
  host: string;
  /** Default 8007. */
  port: number;
  /** PBS API token, `user@realm!name`. */
  tokenId: string;
  tokenSecret: Secret;
  tls: TlsMode;
  /** Deadline per API request, body included (PROXMOX_TIMEOUT_MS, shared with PVE). */
  timeoutMs: number;
}

export interface DangerousConfig {
  /** Admin token, `user@realm!name`; never the read token. */
  adminTokenId: string;
  adminTokenSecret: Secret;
  /** required: refuse when the MCP client cannot ask the person; when-supported: rely on the client's approval prompt then. */
  confirm: "required" | "when-supported";
  /** execute_command's target; absent when no SSH key and host key are configured. */
  ssh?: SshConfig;
}

export interface SshConfig {
  host: string;
  port: number;
  username: string;
  keyFile: string;
  privateKey: Secret;
  passphrase?: Secret;
  /** "SHA256:<base64>" as ssh-keygen -lf prints it. */
  hostKeySha256: string;
  /** Whole-command patterns; empty = any command. */
  allowlist: RegExp[];
  /** The patterns as written, for display. */
  allowlistSource: string[];
}

/** `serve --http`: the Streamable HTTP transport's settings (loadHttpConfig). */
export interface HttpConfig {
  /** Address to listen on; an IPv6 address comes without brackets. */
  host: string;
  /** 0 = any free port (the listening line says which). */
  port: number;
  /** What every client must send as `Authorization: Bearer <token>`. */
  token: Secret;
  /** Exact origins (URL.origin form) allowed besides loopback origins on a loopback bind. */
  allowedOrigins: string[];
  /** https with these PEM files; absent = plain http. */
  tls?: { certFile: string; keyFile: string; cert: string; key: Secret };
  /** A non-loopback bind without TLS was allowed explicitly (behind a TLS-terminating proxy). */
  allowPlaintext: boolean;
  maxSessions: number;
  /** A session unused this long is closed. */
  sessionIdleS: number;
  /** Requests per minute with the token, all clients together (failed authentications are limited apart). */
  rateLimit: number;
  maxBodyBytes: number;
  /**
   * Seals dangerous calls' confirmations (2026-07-28 era); the same on every process
   * behind one load balancer, so that a confirmation asked by one completes on another.
   * Absent: a random key per process.
   */
  confirmKey?: Secret;
  /** Where used confirmations are recorded, shared by those processes; absent: in memory. */
  confirmStateDir?: string;
  /** Where each value came from (variable names, never values). */
  sources: Record<string, "env" | ".env" | "json" | "default">;
}
