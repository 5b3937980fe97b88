// Benchmark (not a test): reading every guest with get_vms, page after page, through the
// built server over stdio, against a generated cluster of 16 nodes x 2,000 guests with
// 20 ms of simulated latency per request. Prints, per full read (all pages), the PVE
// requests (from the simulator's request log) and the time, the first page's time apart
// (the one fresh read), one raw GET /cluster/resources, and the ratios. Follows
// `nextCursor` when the answer has one, `nextOffset` otherwise (so it measures a server
// from before cursors too); `--by offset` follows `nextOffset` always: a fresh read per
// page, as before cursors.
// Run after `npm run build`: node bench/paging.mjs [--by cursor|offset] [--rounds N] [--limit N] [--nodes N] [--guests N] [--latency-ms N]
import { mkdtempSync, rmSync } from "node:fs";
import { request, Agent } from "node:https";
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
    by: { type: "string", default: "cursor" },
    rounds: { type: "string", default: "5" },
    limit: { type: "string", default: "100" },
    nodes: { type: "string", default: "16" },
    guests: { type: "string", default: "2000" },
    "latency-ms": { type: "string", default: "20" },
  },
});
const byOffset = values.by === "offset";
const rounds = Number(values.rounds);
const limit = Number(values.limit);
const nodes = Number(values.nodes);
const guests = Number(values.guests);
const latencyMs = Number(values["latency-ms"]);
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sim = await startSimulator({ scale: { nodes, guests }, latencyMs });
const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-bench-"));
const agent = new Agent({ keepAlive: true, ca: sim.caPem });

/** One raw GET /cluster/resources as the auditor token, body read to the end. */
function rawFetch() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const token = sim.tokens.auditor;
    const req = request(
      {
        host: sim.host,
        port: sim.port,
        path: "/api2/json/cluster/resources",
        agent,
        headers: { Authorization: `PVEAPIToken=${token.id}=${token.secret}` },
      },
      (res) => {
        res.on("data", () => {});
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`status ${res.statusCode}`)),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

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
const client = new Client({ name: "paging-bench", version: "0.0.0" });

/** Every page of get_vms: the number of pages, guests seen, PVE requests and milliseconds. */
async function readAllPages() {
  sim.clearRequests();
  const started = performance.now();
  let args = { limit };
  let pages = 0;
  let seen = 0;
  let firstMs;
  for (;;) {
    const result = await client.callTool({ name: "get_vms", arguments: args });
    firstMs ??= performance.now() - started;
    if (result.isError)
      throw new Error(`get_vms failed: ${result.content[0]?.text}\nserver stderr: ${stderr}`);
    const sc = result.structuredContent;
    pages++;
    seen += sc.returned;
    if (sc.nextCursor && !byOffset) args = { limit, cursor: sc.nextCursor };
    else if (sc.nextOffset !== undefined) args = { limit, offset: sc.nextOffset };
    else break;
  }
  const ms = performance.now() - started;
  const requests = sim.requests();
  return {
    ms,
    firstMs,
    pages,
    seen,
    requests: requests.length,
    resourceReads: requests.filter((r) => r.path === "/cluster/resources").length,
  };
}

try {
  await client.connect(transport);
  await client.listTools(); // arms the client's outputSchema validation, as a real client would
  console.log(
    `get_vms, all pages of ${limit} by ${byOffset ? "offset" : "cursor"}, through the server over stdio: ${nodes} nodes x ${guests} guests, ` +
      `${latencyMs} ms latency per PVE request, ${rounds} rounds (after 1 warm-up), node ${process.version}`,
  );
  await rawFetch(); // warm-up: TLS handshake, the simulator's permission cache
  const raw = [];
  for (let i = 0; i < rounds; i++) raw.push(await rawFetch());
  await readAllPages(); // warm-up: the server's connection pool and token check
  const reads = [];
  for (let i = 0; i < rounds; i++) reads.push(await readAllPages());
  const last = reads.at(-1);
  const rawMs = median(raw);
  const allMs = median(reads.map((r) => r.ms));
  console.log(`  one raw GET /cluster/resources: median ${rawMs.toFixed(1)} ms`);
  console.log(
    `  all pages: ${last.pages} pages, ${last.seen} guests, PVE requests ${[...new Set(reads.map((r) => r.requests))].join("/")} ` +
      `(/cluster/resources: ${[...new Set(reads.map((r) => r.resourceReads))].join("/")}), median ${allMs.toFixed(1)} ms`,
  );
  const firstMs = median(reads.map((r) => r.firstMs));
  console.log(
    `  of which the first page (the fresh read, redacted where it enters, and page 1): median ${firstMs.toFixed(1)} ms; ` +
      `the other ${last.pages - 1} pages: ${(allMs - firstMs).toFixed(1)} ms`,
  );
  console.log(
    `  ratio to one raw fetch: ${(allMs / rawMs).toFixed(2)}x; to one first page through the server: ${(allMs / firstMs).toFixed(2)}x`,
  );
} finally {
  await client.close();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
  await sim.close();
}
