/**
 * The audit trail: one JSON line per tool call, file mode 0600, each line carrying
 * the SHA-256 of the line before it, so a removed or edited line breaks the chain.
 * Arguments are redacted before they are written; secrets never reach the file.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { redact } from "./redact.js";

export interface AuditRecord {
  tool: string;
  tier: string;
  args: unknown;
  tokenId: string;
  /** rejected: the call never reached the tool (invalid arguments, unknown tool). */
  outcome: "ok" | "error" | "rejected";
  error?: string;
  durationMs: number;
  pveRequests: { method: string; path: string; status: number | null }[];
}

const GENESIS = "0".repeat(64);
/** Far more than one line ever takes (arguments are small and redacted). */
const TAIL_BYTES = 1024 * 1024;

export class AuditLog {
  private readonly fd: number;
  private previousHash: string;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.previousHash = existsSync(path) ? lastLineHash(path) : GENESIS;
    this.fd = openSync(path, "a", 0o600);
    // An existing file keeps its mode unless we tighten it.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  }

  write(record: AuditRecord): void {
    const line = JSON.stringify({
      time: new Date().toISOString(),
      ...record,
      args: redact(record.args),
      prev: this.previousHash,
    });
    writeSync(this.fd, `${line}\n`);
    this.previousHash = sha256(line);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Reads only the end of the file: the log grows for ever, a start-up must not. */
function lastLineHash(path: string): string {
  const size = statSync(path).size;
  const length = Math.min(size, TAIL_BYTES);
  const tail = Buffer.alloc(length);
  const fd = openSync(path, "r");
  try {
    readSync(fd, tail, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const last = tail.toString("utf8").split("\n").filter(Boolean).at(-1);
  return last === undefined ? GENESIS : sha256(last);
}

/** Checks a log's chain; returns the 1-based number of the first line that does not follow, or 0. */
export function verifyAuditChain(text: string): number {
  let previous = GENESIS;
  const lines = text.split("\n").filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const prev = (JSON.parse(line) as { prev?: string }).prev;
    if (prev !== previous) return i + 1;
    previous = sha256(line);
  }
  return 0;
}
