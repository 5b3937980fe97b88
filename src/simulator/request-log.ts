/**
 * What the PVE and PBS simulators share about their request logs: the optional JSONL file
 * (--log-file) and the moment an entry is taken (when the status line is written).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { ServerResponse } from "node:http";

/** The request log file, created with mode 0600; `append` never throws (a log must not change an answer). */
export function openRequestLogFile(
  file: string,
  who: string,
): { append(entry: object): void; close(): void } {
  let fd: number;
  try {
    fd = openSync(file, "a", 0o600);
  } catch (err) {
    throw new Error(`cannot open the request log file ${file}: ${(err as Error).message}`);
  }
  let writeFailed = false;
  return {
    append(entry) {
      try {
        writeSync(fd, `${JSON.stringify(entry)}\n`);
      } catch (err) {
        // Warn once on stderr and go on.
        if (!writeFailed) console.warn(`${who}: cannot write the request log: ${(err as Error).message}`);
        writeFailed = true;
      }
    },
    close: () => closeSync(fd),
  };
}

/**
 * Calls `log` once with the status, when the status line is written, so the entry exists
 * before the client sees the answer; a request that never gets one (hang, reset) is logged
 * with status 0.
 */
export function logOnStatus(res: ServerResponse, log: (status: number) => void): void {
  let logged = false;
  const once = (status: number) => {
    if (logged) return;
    logged = true;
    log(status);
  };
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    once(status);
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
  res.on("close", () => once(0));
}
