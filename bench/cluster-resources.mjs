// Benchmark (not a test): GET /cluster/resources on a generated 32-node x 10,000-guest
// cluster, as the auditor token (every guest passes the VM.Audit filter) and as the root
// token. Prints latency percentiles, answer size and the simulator's memory.
// Run with `npm run bench` (builds first). Options: --nodes N --guests M --requests K
import { request, Agent } from "node:https";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startSimulator } from "../dist/simulator/index.js";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "32" },
    guests: { type: "string", default: "10000" },
    requests: { type: "string", default: "50" },
  },
});
const nodes = Number(values.nodes);
const guests = Number(values.guests);
const count = Number(values.requests);

const t0 = performance.now();
const sim = await startSimulator({ scale: { nodes, guests } });
const startupMs = performance.now() - t0;
const agent = new Agent({ keepAlive: true, ca: sim.caPem });

function get(path, token) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        host: sim.host,
        port: sim.port,
        path: `/api2/json${path}`,
        agent,
        headers: { Authorization: `PVEAPIToken=${token.id}=${token.secret}` },
      },
      (res) => {
        let bytes = 0;
        res.on("data", (c) => (bytes += c.length));
        res.on("end", () => resolve({ status: res.statusCode, bytes, ms: performance.now() - started }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

console.log(`simulator: ${nodes} nodes x ${guests} guests, started in ${startupMs.toFixed(0)} ms`);
for (const [label, token] of [
  ["auditor (privsep token, ACL-filtered)", sim.tokens.auditor],
  ["root@pam!sim (privsep 0)", sim.tokens.root],
]) {
  await get("/cluster/resources", token); // warm-up (permission cache)
  const times = [];
  let bytes = 0;
  const began = performance.now();
  for (let i = 0; i < count; i++) {
    const r = await get("/cluster/resources", token);
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    times.push(r.ms);
    bytes = r.bytes;
  }
  const total = performance.now() - began;
  times.sort((a, b) => a - b);
  console.log(
    `${label}: ${count} requests, p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, ` +
      `${(count / (total / 1000)).toFixed(1)} req/s, answer ${(bytes / 1024 / 1024).toFixed(2)} MiB`,
  );
}
const mem = process.memoryUsage();
console.log(
  `process memory: rss ${(mem.rss / 1024 / 1024).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1024 / 1024).toFixed(0)} MiB`,
);
agent.destroy();
await sim.close();
