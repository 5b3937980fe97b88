// Benchmark (not a test): the get_vms tool end to end, through the built server over
// stdio, against a generated cluster of 16 nodes x 2,000 guests with 20 ms of simulated
// latency per request. Prints p50/p99 over 20 calls (after 1 warm-up), the PVE round
// trips per call (from the simulator's request log) and the size of the answer.
// Run after `npm run build`: node bench/get-vms.mjs [--calls N] [--limit N] [--nodes N] [--guests N] [--latency-ms N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { startSimulator } from "../dist/simulator/index.js";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "20" },
    nodes: { type: "string", default: "16" },
    guests: { type: "string", default: "2000" },
    "latency-ms": { type: "string", default: "20" },
    // The tool's default page size applies when not given.
    limit: { type: "string" },
  },
});
const calls = Number(values.calls);
const nodes = Number(values.nodes);
const guests = Number(values.guests);
const latencyMs = Number(values["latency-ms"]);
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sim = await startSimulator({ scale: { nodes, guests }, latencyMs });
const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-bench-"));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [cli],
  env: {
    HOME: dir,
    PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"),
    PROXMOX_HOST: "127.0.0.1",
    PROXMOX_PORT: String(sim.port),
    PROXMOX_TOKEN_ID: sim.tokens.auditor.id,
    PROXMOX_TOKEN_SECRET: sim.tokens.auditor.secret,
    PROXMOX_TLS_FINGERPRINT: sim.fingerprint,
  },
  cwd: dir,
  stderr: "pipe",
});
let stderr = "";
transport.stderr.on("data", (chunk) => (stderr += chunk));
const client = new Client({ name: "get-vms-bench", version: "0.0.0" });

async function getVms(args) {
  sim.clearRequests();
  const started = performance.now();
  const result = await client.callTool({ name: "get_vms", arguments: args });
  const ms = performance.now() - started;
  if (result.isError) throw new Error(`get_vms failed: ${result.content[0]?.text}\nserver stderr: ${stderr}`);
  return { ms, roundTrips: sim.requests().length, result };
}

try {
  await client.connect(transport);
  await client.listTools(); // arms the client's outputSchema validation, as a real client would
  const cases = values.limit ? [{ limit: Number(values.limit) }] : [{}, { limit: 100 }];
  console.log(
    `get_vms through the server over stdio: ${nodes} nodes x ${guests} guests, ${latencyMs} ms latency per PVE request, ${calls} calls (after 1 warm-up), node ${process.version}`,
  );
  for (const args of cases) {
    await getVms(args); // warm-up: connection pool, TLS handshake, permission cache
    const times = [];
    const trips = new Set();
    let last;
    for (let i = 0; i < calls; i++) {
      const { ms, roundTrips, result } = await getVms(args);
      times.push(ms);
      trips.add(roundTrips);
      last = result;
    }
    times.sort((a, b) => a - b);
    const text = last.content.map((c) => c.text ?? "").join("\n");
    const structured = JSON.stringify(last.structuredContent);
    const sc = last.structuredContent;
    console.log(
      `  ${args.limit === undefined ? "default limit" : `limit=${args.limit}`}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, ` +
        `PVE round trips per call: ${[...trips].join("/")}; ` +
        `answer: ${sc.returned} of ${sc.total} guests (truncated: ${sc.truncated}), text ${text.length} chars (~${Math.round(text.length / 4)} tokens), structuredContent ${structured.length} chars`,
    );
  }
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
  await sim.close();
}
