/**
 * The audit trail: one JSON line per tool call, file mode 0600. Each server process
 * is a session with its own hash chain (every line carries the SHA-256 of the
 * session's previous line), so processes sharing a log never break each other's
 * chain, and an edited or removed line inside a session shows. Arguments are capped
 * and redacted before they are written; secrets never reach the file.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { redact, redactSecretKeys } from "./redact.js";

export interface AuditRecord {
  tool: string;
  tier: string;
  args: unknown;
  tokenId: string;
  /**
   * rejected: the call never reached the tool (invalid arguments, unknown tool).
   * started: a dangerous call about to run; written first, and the call is refused if it cannot be.
   */
  outcome: "ok" | "error" | "rejected" | "started";
  error?: string;
  /** Dangerous calls: how the person answered the confirmation. */
  confirmation?: Confirmation;
  /** Dangerous calls: the task they started or the command's exit code. */
  effect?: { upid?: string; exitCode?: number | null };
  durationMs: number;
  pveRequests: { method: string; path: string; status: number | null }[];
}

export type Confirmation =
  | "accepted"
  | "declined"
  | "cancelled"
  | "no answer"
  | "client cannot ask"
  | "left to the client"
  | "not asked";

const GENESIS = "0".repeat(64);
/** Longest string kept from a call's arguments or error: a model can send megabytes. */
const MAX_STRING = 256;
const TAIL_BYTES = 64 * 1024;

export class AuditLog {
  private readonly fd: number;
  private readonly session = randomUUID().slice(0, 8);
  private previousHash = GENESIS;

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      refuseForeignFile(path);
      // O_NOFOLLOW: a symlink planted at the path must not redirect our appends.
      this.fd = openSync(
        path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o600,
      );
      const stat = fstatSync(this.fd);
      if (!stat.isFile()) throw new Error("not a regular file");
      if ((stat.mode & 0o077) !== 0) fchmodSync(this.fd, 0o600);
    } catch (err) {
      throw new Error(
        `PROXMOX_AUDIT_LOG ${path} cannot be used as the audit log: ${(err as Error).message}; point it at a file this user may create, e.g. ~/.local/state/proxmox-mcp/audit.jsonl`,
      );
    }
  }

  write(record: AuditRecord): void {
    const line = JSON.stringify({
      time: new Date().toISOString(),
      session: this.session,
      ...record,
      tool: cap(record.tool),
      args: exactArgs(record) ? redactSecretKeys(record.args) : redact(capStrings(record.args)),
      ...(record.error ? { error: cap(record.error, 1000) } : {}),
      prev: this.previousHash,
    });
    writeSync(this.fd, `${line}\n`);
    this.previousHash = sha256(line);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A dangerous call's arguments are kept whole (their schemas bound their size) and
 * masked only under secret-named keys: the log must show exactly what was run.
 * Calls refused before any handler keep the caps: their arguments are unchecked.
 */
function exactArgs(record: AuditRecord): boolean {
  return record.tier === "dangerous" && record.outcome !== "rejected";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function cap(text: string, max = MAX_STRING): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more characters]` : text;
}

function capStrings(value: unknown): unknown {
  if (typeof value === "string") return cap(value);
  if (Array.isArray(value)) return value.slice(0, 50).map(capStrings);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .slice(0, 50)
        .map(([k, v]) => [cap(k, 64), capStrings(v)]),
    );
  }
  return value;
}

/** Appending to a file that is not one of our logs (a .bashrc, say) would be a way to plant text in it. */
function refuseForeignFile(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return; // does not exist yet
  }
  if (!stat.isFile()) throw new Error("it exists and is not a regular file");
  if (stat.size === 0) return;
  const length = Math.min(stat.size, TAIL_BYTES);
  const tail = Buffer.alloc(length);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    readSync(fd, tail, 0, length, stat.size - length);
  } finally {
    closeSync(fd);
  }
  const last = tail.toString("utf8").split("\n").filter(Boolean).at(-1) ?? "";
  if (!isAuditLine(last))
    throw new Error("the file exists and its last line is not an audit record of this server");
}

function isAuditLine(line: string): boolean {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return typeof parsed["prev"] === "string" && typeof parsed["tool"] === "string";
  } catch {
    return false;
  }
}

/**
 * Checks every session's chain; returns the 1-based number of the first line that
 * does not follow its session's previous line (or is not a record), or 0.
 */
export function verifyAuditChain(text: string): number {
  const lastHash = new Map<string, string>();
  const lines = text.split("\n").filter(Boolean);
  for (const [i, line] of lines.entries()) {
    let record: { session?: unknown; prev?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return i + 1;
    }
    const session = String(record.session ?? "");
    if (record.prev !== (lastHash.get(session) ?? GENESIS)) return i + 1;
    lastHash.set(session, sha256(line));
  }
  return 0;
}
