// Benchmark (not a test): cold start of the built server, from spawn to `tools/list`
// answered over stdio, as a ratio to a bare `node -e 0` (spawn to exit) in the same run.
// Measured twice: `node dist/cli.js` against a simulator running in this process, and
// `node dist/cli.js --demo` (which starts its own simulator, so it includes that).
// Also: a repeated tools/list on a started server (median of 50), which issue 12 wants
// at 5 ms or less (the SDK 1.x converted every zod schema on each one: 86-167 ms).
// Run after `npm run build`: node bench/cold-start.mjs [--runs N]   (default 10)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { startSimulator } from "../dist/simulator/index.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
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

/** Spawn to `tools/list` answered (and, with `repeat`, the median of that many more); fresh HOME/cwd, only `env`. */
async function serverToToolsList(args, env, repeat = 0) {
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-bench-"));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, ...args],
    env: { HOME: dir, PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"), ...env },
    cwd: dir,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr.on("data", (chunk) => (stderr += chunk));
  const client = new Client({ name: "cold-start-bench", version: "0.0.0" });
  try {
    const started = performance.now();
    await client.connect(transport);
    const { tools } = await client.listTools();
    const ms = performance.now() - started;
    if (tools.length === 0) throw new Error("tools/list answered with no tools");
    if (repeat === 0) return ms;
    const again = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      // client.request, not listTools: that one also compiles a validator per output schema.
      await client.request({ method: "tools/list" });
      again.push(performance.now() - t0);
    }
    return median(again);
  } catch (err) {
    throw new Error(`${err.message}\nserver stderr: ${stderr}`);
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(fn) {
  await fn(); // warm-up: file system cache, not counted
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await fn());
  return median(times);
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
  const bare = await measure(bareNode);
  const served = await measure(() => serverToToolsList([], env));
  const demo = await measure(() => serverToToolsList(["--demo"], {}));
  const repeated = await serverToToolsList([], env, 50);
  const ratio = (ms) => `${(ms / bare).toFixed(2)}x bare node`;
  console.log(`cold start of ${cli}, median of ${runs} runs (after 1 warm-up each), node ${process.version}`);
  console.log(`  node -e 0 (spawn to exit):                                  ${bare.toFixed(1)} ms`);
  console.log(
    `  server against the simulator (spawn to tools/list answered): ${served.toFixed(1)} ms = ${ratio(served)}`,
  );
  console.log(
    `  server --demo, starts its simulator (spawn to tools/list):   ${demo.toFixed(1)} ms = ${ratio(demo)}`,
  );
  console.log(`  repeated tools/list on a started server (median of 50):     ${repeated.toFixed(1)} ms`);
  console.log(`  aim: under 4x bare node -> ${served / bare < 4 ? "met" : "NOT met"}`);
} finally {
  await sim.close();
}
