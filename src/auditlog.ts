/**
 * The audit trail: one JSON line per tool call, file mode 0600. Each server process
 * is a session with its own hash chain (every line carries the SHA-256 of the
 * session's previous line), so processes sharing a log never break each other's
 * chain, and an edited or removed line inside a session shows. Every string a call
 * brought (arguments, error, PVE paths) is redacted before it is written, the
 * configured secrets literally too; secrets never reach the file.
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
  statSync,
  writeSync,
  type Stats,
} from "node:fs";
import { dirname } from "node:path";
import { Redactor, redactSecretKeys } from "./redact.js";

export interface AuditRecord {
  tool: string;
  tier: string;
  args: unknown;
  tokenId: string;
  /**
   * rejected: the call never reached the tool (invalid arguments, unknown tool).
   * started: a round of a dangerous call about to run; written first, and the call is refused if it cannot be.
   * asked: the round ended with a question to the person; the answer comes in another round.
   */
  outcome: "ok" | "error" | "rejected" | "started" | "asked";
  error?: string;
  /** Dangerous calls: how the person answered the confirmation. */
  confirmation?: Confirmation;
  /** Dangerous calls: the task they started or the command's exit code. */
  effect?: { upid?: string; exitCode?: number | null };
  durationMs: number;
  /** Requests to Proxmox Backup Server carry service "PBS". */
  pveRequests: { method: string; path: string; status: number | null; service?: "PBS" }[];
}

export type Confirmation =
  | "accepted"
  | "declined"
  | "cancelled"
  | "no answer"
  | "client cannot ask"
  | "left to the client"
  | "not asked"
  | "asked";

const GENESIS = "0".repeat(64);
/** Longest string kept from a call's arguments or error: a model can send megabytes. */
const MAX_STRING = 256;
const MAX_ERROR = 1000;
const MAX_KEY = 64;
/** Entries kept per object or array of a call's arguments. */
const MAX_ENTRIES = 50;
/**
 * How much of a string the redactor sees before the cap cuts it: far more than is kept,
 * so a secret (a private key block included) that the cap would cut in two is masked whole.
 */
const REDACTION_WINDOW = 64 * 1024;
const TAIL_BYTES = 64 * 1024;
const DEFAULT_PATH = "~/.local/state/proxmox-mcp/audit.jsonl";

export class AuditLog {
  private readonly fd: number;
  private readonly session = randomUUID().slice(0, 8);
  private previousHash = GENESIS;
  private readonly redactor: Redactor;
  private readonly secrets: readonly string[];

  /**
   * `secrets`: the configured secrets (token secrets, SSH key and passphrase), masked wherever
   * they appear, also in a dangerous call's exact arguments.
   */
  constructor(
    readonly path: string,
    secrets: readonly string[] = [],
  ) {
    this.redactor = new Redactor(secrets);
    this.secrets = secrets;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      refuseUnsafeDirectory(dirname(path));
      refuseForeignFile(path);
      // O_NOFOLLOW: a symlink planted at the path since the check must not redirect our appends.
      this.fd = openSync(
        path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (err) {
      throw auditLogError(path, err);
    }
    try {
      const stat = fstatSync(this.fd);
      if (!stat.isFile()) throw new Error("it is not a regular file");
      // Checked again on what was opened: the file may have been swapped since the check.
      refuseForeignOwnerOrWriters(path, stat);
      if ((stat.mode & 0o077) !== 0) fchmodSync(this.fd, 0o600);
    } catch (err) {
      closeSync(this.fd);
      throw auditLogError(path, err);
    }
  }

  write(record: AuditRecord): void {
    const text = (value: string, max = MAX_STRING) =>
      cap(this.redactor.text(value.slice(0, REDACTION_WINDOW)), max);
    const line = JSON.stringify({
      time: new Date().toISOString(),
      session: this.session,
      ...record,
      tool: text(record.tool),
      args: exactArgs(record)
        ? redactSecretKeys(record.args, this.secrets)
        : capStrings(this.redactArgs(record.args)),
      ...(record.error ? { error: text(record.error, MAX_ERROR) } : {}),
      pveRequests: record.pveRequests.map((request) => ({ ...request, path: text(request.path) })),
      prev: this.previousHash,
    });
    writeSync(this.fd, `${line}\n`);
    this.previousHash = sha256(line);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Secret-named keys and secret-looking text masked (keys too: a model chose them). */
  private redactArgs(args: unknown): unknown {
    return this.redactor.value(boundForRedaction(args));
  }
}

/** Where it went wrong and how to fix it; a check's own error carries its fix. */
function auditLogError(path: string, err: unknown): Error {
  const reason = (err as Error).message;
  const fix =
    err instanceof UnsafeAuditLog ? "" : `; point it at a file this user may create, e.g. ${DEFAULT_PATH}`;
  return new Error(`PROXMOX_AUDIT_LOG ${path} cannot be used as the audit log: ${reason}${fix}`);
}

/** A problem whose message already says how to fix it. */
class UnsafeAuditLog extends Error {}

/**
 * Another user who can write the directory can replace the log between two runs (or
 * plant a symlink); one who owns it can change its mode. So, like ssh with its key
 * files: the directory must belong to this user or root and not be writable by group
 * or others (a sticky /tmp included: keep the log in a directory of your own).
 */
function refuseUnsafeDirectory(dir: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: no Unix owners and modes to check
  const stat = statSync(dir);
  if (stat.uid !== uid && stat.uid !== 0) {
    throw new UnsafeAuditLog(
      `its directory ${dir} belongs to uid ${stat.uid}, who could replace the log; fix: chown ${uid} ${dir}, or use a directory of your own such as ${dirname(DEFAULT_PATH)}`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    // A shared system directory (/tmp, /var/log as root:syslog 0775) is not one to chmod.
    throw new UnsafeAuditLog(
      `other users can write to its directory ${dir} (mode ${(stat.mode & 0o7777).toString(8)}) and could replace the log; fix: use a directory of your own such as ${dirname(DEFAULT_PATH)} (or chmod go-w ${dir} if no one else needs to write there)`,
    );
  }
}

/** A log that another user owns or may write could already hold lines they forged. */
function refuseForeignOwnerOrWriters(path: string, stat: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if (stat.uid !== uid) {
    throw new UnsafeAuditLog(
      `it belongs to uid ${stat.uid}, not to this user (uid ${uid}); fix: chown ${uid} ${path} if its lines are yours, or point PROXMOX_AUDIT_LOG at a new file`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new UnsafeAuditLog(
      `other users can write to it (mode ${(stat.mode & 0o777).toString(8)}), so its lines could be forged; fix: chmod 600 ${path} if its lines are yours, or point PROXMOX_AUDIT_LOG at a new file`,
    );
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

/**
 * Only what the caps can keep, before redaction: strings and keys cut to the redaction
 * window, at most MAX_ENTRIES entries per object or array.
 */
function boundForRedaction(value: unknown): unknown {
  if (typeof value === "string") return value.slice(0, REDACTION_WINDOW);
  if (Array.isArray(value)) return value.slice(0, MAX_ENTRIES).map(boundForRedaction);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .slice(0, MAX_ENTRIES)
        .map(([k, v]) => [k.slice(0, REDACTION_WINDOW), boundForRedaction(v)]),
    );
  }
  return value;
}

function capStrings(value: unknown): unknown {
  if (typeof value === "string") return cap(value);
  if (Array.isArray(value)) return value.slice(0, MAX_ENTRIES).map(capStrings);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .slice(0, MAX_ENTRIES)
        .map(([k, v]) => [cap(k, MAX_KEY), capStrings(v)]),
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
  if (stat.isSymbolicLink()) {
    throw new UnsafeAuditLog(
      `it is a symbolic link, which could send the log somewhere else; fix: point PROXMOX_AUDIT_LOG at the file itself ($(readlink -f ${path}))`,
    );
  }
  if (!stat.isFile()) throw new Error("it exists and is not a regular file");
  refuseForeignOwnerOrWriters(path, stat);
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
