// Benchmark (not a test, not in CI): load on the HTTP transport. Starts the simulator
// (`node dist/cli.js simulator`) and the server (`node dist/cli.js serve --http`, pointed
// at it with the auditor token) as separate processes, so the server's memory is its
// own; then N concurrent SDK clients, each with its own session
// (StreamableHTTPClientTransport + bearer header), make M tool calls in total, a mix of
// get_vms, get_vm_status and get_nodes. Prints errors (must be 0), latency p50/p90/p99,
// throughput and the server's RSS (VmRSS before and after, peak VmHWM from
// /proc/<pid>/status). Exits 1 on any error.
//
// Run: npm run build && node bench/http-load.mjs [--clients 8] [--calls 2000]
//        [--warmup 50] [--nodes N --guests M] [--latency-ms X]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { clearInterval, setInterval } from "node:timers";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  assertBuilt,
  randomToken,
  simulatorEnv,
  startHttpServer,
  startSimulator,
} from "../scripts/lib/http-server.mjs";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "8" },
    calls: { type: "string", default: "2000" },
    warmup: { type: "string", default: "50" },
    nodes: { type: "string" },
    guests: { type: "string" },
    "latency-ms": { type: "string" },
  },
});
const clients = Number(values.clients);
const calls = Number(values.calls);
const warmup = Number(values.warmup);
for (const [name, n] of Object.entries({ clients, calls, warmup })) {
  if (!Number.isInteger(n) || n < (name === "warmup" ? 0 : 1))
    throw new Error(`--${name} must be a whole number`);
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
}
const mib = (x) => `${x.toFixed(1)} MiB`;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

assertBuilt();
const simArgs = [];
if (values.nodes || values.guests)
  simArgs.push("--nodes", values.nodes ?? "3", "--guests", values.guests ?? "10");
if (values["latency-ms"]) simArgs.push("--latency-ms", values["latency-ms"]);
const sim = await startSimulator(simArgs);
const token = randomToken();
let server;
const sessions = [];
let failed = false;
try {
  server = await startHttpServer({
    token,
    args: [],
    env: {
      ...simulatorEnv(sim.info),
      // Every client comes from 127.0.0.1: the per-address rate limit must not interfere.
      MCP_HTTP_RATE_LIMIT: "1000000",
      MCP_HTTP_MAX_SESSIONS: String(Math.max(32, clients * 2)),
    },
  });
  const memStart = memory(server.pid);
  console.log(
    `server ${server.url} (pid ${server.pid}, RSS ${mib(memStart.rss)} at start); simulator ${sim.info.url}` +
      (simArgs.length ? ` (${simArgs.join(" ")})` : " (demo cluster)"),
  );

  const connectStarted = performance.now();
  for (let i = 0; i < clients; i++) {
    const client = new Client({ name: `http-load-${i}`, version: "0" });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    sessions.push({ client, transport });
  }
  const ids = new Set(sessions.map((s) => s.transport.sessionId));
  if (ids.size !== clients || ids.has(undefined))
    throw new Error(`expected ${clients} sessions, got ${[...ids]}`);
  console.log(`${clients} sessions opened in ${(performance.now() - connectStarted).toFixed(0)} ms`);

  // get_vm_status on a guest of an offline node is a (correct) isError: the demo cluster
  // has one such node, so only guests on online nodes are asked about.
  const vms = (await sessions[0].client.callTool({ name: "get_vms", arguments: {} })).structuredContent;
  const offline = new Set(vms?.offlineNodes ?? []);
  const guests = (vms?.guests ?? []).filter((g) => !offline.has(g.node));
  if (guests.length === 0)
    throw new Error(`get_vms listed no guest on an online node: ${JSON.stringify(vms)}`);
  const plan = (i) => {
    switch (i % 3) {
      case 0:
        return { name: "get_vms", arguments: {} };
      case 1: {
        const g = guests[i % guests.length];
        return { name: "get_vm_status", arguments: { vmid: g.vmid, node: g.node } };
      }
      default:
        return { name: "get_nodes", arguments: {} };
    }
  };

  /** All workers share one counter: M calls in total, each session busy until they run out. */
  async function load(total) {
    let next = 0;
    const latencies = [];
    const errors = [];
    const byTool = {};
    const worker = async ({ client }) => {
      for (let i = next++; i < total; i = next++) {
        const call = plan(i);
        const started = performance.now();
        try {
          const result = await client.callTool(call);
          if (result.isError) throw new Error(result.content?.[0]?.text ?? "isError");
        } catch (err) {
          errors.push(`${call.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
        const ms = performance.now() - started;
        latencies.push(ms);
        (byTool[call.name] ??= []).push(ms);
      }
    };
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memory(server.pid).rss)), 50);
    const started = performance.now();
    await Promise.all(sessions.map(worker));
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    return { latencies, errors, byTool, wallMs, peakRss };
  }

  if (warmup > 0) {
    const w = await load(warmup);
    if (w.errors.length > 0) console.log(`warm-up: ${w.errors.length} errors, first: ${w.errors[0]}`);
  }
  const memBefore = memory(server.pid);
  const r = await load(calls);
  const memEnd = memory(server.pid);
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const fmt = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (${s.length} calls)`;
  };
  console.log(`\n${calls} calls over ${clients} sessions (after ${warmup} warm-up calls):`);
  console.log(`  errors      ${r.errors.length}`);
  console.log(
    `  latency     p50 ${percentile(sorted, 50).toFixed(1)} ms, p90 ${percentile(sorted, 90).toFixed(1)} ms, ` +
      `p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`,
  );
  for (const [name, xs] of Object.entries(r.byTool)) console.log(`    ${name.padEnd(14)}${fmt(xs)}`);
  console.log(
    `  throughput  ${((calls / r.wallMs) * 1000).toFixed(0)} calls/s (${(r.wallMs / 1000).toFixed(2)} s)`,
  );
  console.log(
    `  server RSS  ${mib(memStart.rss)} at start, ${mib(memBefore.rss)} after warm-up, ` +
      `${mib(r.peakRss)} peak sampled during the run, ${mib(memEnd.rss)} at the end; ` +
      `VmHWM (peak since start) ${mib(memEnd.hwm)}`,
  );
  if (r.errors.length > 0) {
    failed = true;
    const counts = {};
    for (const e of r.errors) counts[e] = (counts[e] ?? 0) + 1;
    console.log("errors by message:");
    for (const [message, n] of Object.entries(counts)) console.log(`  ${n} x ${message.slice(0, 300)}`);
  }
} catch (err) {
  failed = true;
  console.error(`http-load: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  for (const { client, transport } of sessions) {
    await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
  if (server) {
    await server.stop();
    if (failed) console.log(`--- server stderr ---\n${server.stderr()}---`);
  }
  await sim.stop();
}
process.exitCode = failed ? 1 : 0;
