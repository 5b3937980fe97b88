// Benchmark (not a test): the full audit (every check) against a generated cluster of
// 16 nodes x 2,000 guests, as the PVEAuditor token and as root, with no simulated
// latency and with 20 ms per request. Prints per run the time, the PVE requests (from
// the simulator's request log), the findings by severity and the visibility gaps.
// Run after `npm run build`: node bench/audit-scale.mjs [--nodes N] [--guests N] [--latency-ms A,B]
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { isGapFinding, runAudit, severityCounts } from "../dist/audit/index.js";
import { Secret } from "../dist/config/secret.js";
import { PveReader } from "../dist/pve/client.js";
import { startSimulator } from "../dist/simulator/index.js";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "16" },
    guests: { type: "string", default: "2000" },
    "latency-ms": { type: "string", default: "0,20" },
  },
});
const nodes = Number(values.nodes);
const guests = Number(values.guests);

for (const latencyMs of values["latency-ms"].split(",").map(Number)) {
  const sim = await startSimulator({ scale: { nodes, guests }, latencyMs });
  for (const role of ["auditor", "root"]) {
    const token = sim.tokens[role];
    const reader = new PveReader({
      host: sim.host,
      port: sim.port,
      tokenId: token.id,
      tokenSecret: new Secret(token.secret),
      tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
      timeoutMs: 60_000,
    });
    const before = sim.requests().length;
    const started = performance.now();
    const report = await runAudit(reader);
    const ms = performance.now() - started;
    const requests = sim.requests().length - before;
    const counts = severityCounts(report.findings.filter((f) => !isGapFinding(f)));
    console.log(
      `${nodes} nodes x ${guests} guests, ${latencyMs} ms latency, ${role}: ${(ms / 1000).toFixed(1)} s, ` +
        `${requests} PVE requests, ${report.checksRun} checks, findings ${JSON.stringify(counts)}, ` +
        `${report.findings.filter(isGapFinding).length} gaps, ${report.errors.length} errors`,
    );
    await reader.close();
  }
  await sim.close();
}
