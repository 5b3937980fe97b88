// Benchmark (not a test): cold start of the built server, from spawn to `tools/list`
// answered over stdio, as a ratio to a bare `node -e 0` (spawn to exit) in the same run.
// Measured twice: `node dist/cli.js` against a simulator running in this process, and
// `node dist/cli.js --demo` (which starts its own simulator, so it includes that).
// Both protocol eras: a 2025-11-25 client (initialize) and one pinned to 2026-07-28
// (server/discover). The runs are interleaved (bare node, then each server), so that a
// machine busy for a while moves all of them alike. Also: a repeated tools/list on a
// started server (median of 50), which issue 12 wants at 5 ms or less (the SDK 1.x
// converted every zod schema on each one: 86-167 ms).
// Run after `npm run build`: node bench/cold-start.mjs [--runs N]   (default 10)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startSimulator } from "../dist/simulator/index.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    // --legacy-only: a build from before the 2026-07-28 era (to compare with one).
    "legacy-only": { type: "boolean", default: false },
    // Another build of the CLI to compare (e.g. a bundled one); default the built dist/cli.js.
    cli: { type: "string" },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a whole number >= 1");
const cli = values.cli ? resolve(values.cli) : fileURLToPath(new URL("../dist/cli.js", import.meta.url));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Spawn to exit of `node -e 0`. */
function bareNode() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`node -e 0 exited ${code}`)),
    );
  });
}

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "cold-start-bench", version: "0" },
};

/** The opening and the tools/list of each era, as a client sends them (raw JSON-RPC lines). */
const EXCHANGES = {
  "2025-11-25": [
    {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "cold-start-bench", version: "0" },
      },
    },
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
  ],
  "2026-07-28": [
    { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: ENVELOPE } },
    { jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: ENVELOPE } },
  ],
};

/**
 * Spawn to `tools/list` answered, over raw stdio (a client library's own start-up is not
 * the server's), and with `repeat` the median of that many more tools/list; fresh
 * HOME/cwd, only `env`. Each request is sent when the answer before it arrived. With
 * `thenCall`, spawn to a first get_version answered after the list: the opening is
 * answered before the server loads (src/transports/stdio-opening.ts), a call after it.
 */
async function serverToToolsList(args, env, repeat = 0, era = "2025-11-25", thenCall = false) {
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-bench-"));
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH, HOME: dir, PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"), ...env },
    cwd: dir,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const answers = new Map();
  let buffered = "";
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) {
      const message = JSON.parse(line);
      answers.get(message.id)?.(message);
    }
  });
  const send = (message) =>
    new Promise((resolve, reject) => {
      if (message.id !== undefined) answers.set(message.id, resolve);
      child.stdin.write(`${JSON.stringify(message)}\n`, (err) => err && reject(err));
      if (message.id === undefined) resolve(undefined);
    });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    let list;
    for (const message of EXCHANGES[era]) {
      const answer = await send(message);
      if (answer?.error) throw new Error(`${message.method}: ${answer.error.message}`);
      list = answer;
    }
    const ms = performance.now() - started;
    if (!list?.result?.tools?.length) throw new Error("tools/list answered with no tools");
    if (thenCall) {
      const call = await send({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "get_version", arguments: {} },
      });
      if (call.error || call.result?.isError) throw new Error(`get_version failed: ${JSON.stringify(call)}`);
      return performance.now() - started;
    }
    if (repeat === 0) return ms;
    const again = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      await send({ ...EXCHANGES[era].at(-1), id: 100 + i });
      again.push(performance.now() - t0);
    }
    return median(again);
  } catch (err) {
    throw new Error(`${err.message}\nserver stderr: ${stderr}`);
  } finally {
    child.stdin.end();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of each function's times over `runs` interleaved rounds, after one warm-up round. */
async function measureInterleaved(fns) {
  for (const fn of fns) await fn(); // warm-up: file system cache, not counted
  const times = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) times[k].push(await fn());
  }
  return times.map(median);
}

const sim = await startSimulator({ scenario: "demo" });
const env = {
  PROXMOX_HOST: "127.0.0.1",
  PROXMOX_PORT: String(sim.port),
  PROXMOX_TOKEN_ID: sim.tokens.auditor.id,
  PROXMOX_TOKEN_SECRET: sim.tokens.auditor.secret,
  PROXMOX_TLS_FINGERPRINT: sim.fingerprint,
};
try {
  const [bare, served, modern, demo, firstCall] = await measureInterleaved([
    bareNode,
    () => serverToToolsList([], env),
    () => (values["legacy-only"] ? Number.NaN : serverToToolsList([], env, 0, "2026-07-28")),
    () => serverToToolsList(["--demo"], {}),
    () => serverToToolsList([], env, 0, "2025-11-25", true),
  ]);
  const repeated = await serverToToolsList([], env, 50);
  const ratio = (ms) => `${(ms / bare).toFixed(2)}x bare node`;
  console.log(
    `cold start of ${cli}, median of ${runs} interleaved runs (after 1 warm-up), node ${process.version}`,
  );
  console.log(`  node -e 0 (spawn to exit):                                     ${bare.toFixed(1)} ms`);
  console.log(
    `  2025-11-25: spawn, initialize, tools/list answered:             ${served.toFixed(1)} ms = ${ratio(served)}`,
  );
  console.log(
    `  2026-07-28: spawn, server/discover, tools/list answered:        ${modern.toFixed(1)} ms = ${ratio(modern)}`,
  );
  console.log(
    `  --demo (starts its simulator too), 2025-11-25:                  ${demo.toFixed(1)} ms = ${ratio(demo)}`,
  );
  console.log(
    `  2025-11-25: spawn, opening, then get_version answered:         ${firstCall.toFixed(1)} ms = ${ratio(firstCall)}`,
  );
  console.log(`  repeated tools/list on a started server (median of 50):         ${repeated.toFixed(1)} ms`);
  const worst = Math.max(served, Number.isNaN(modern) ? 0 : modern) / bare;
  console.log(
    `  aim 1.7x bare node: ${worst <= 1.7 ? "met" : "NOT met"}; limit 2.5x: ${worst <= 2.5 ? "kept" : "EXCEEDED"}; repeated tools/list <= 5 ms: ${repeated <= 5 ? "met" : "NOT met"}`,
  );
} finally {
  await sim.close();
}
