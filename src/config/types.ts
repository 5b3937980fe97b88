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
  /** Where each value came from, for diagnostics and error messages (variable names, never values). */
  sources: Record<string, "env" | ".env" | "json" | "default">;
}
