// Benchmark (not a test): reading every guest with get_vms, page after page, through the
// built server over stdio, against a generated cluster of 16 nodes x 2,000 guests with
// 20 ms of simulated latency per request. Prints, per full read (all pages), the PVE
// requests (from the simulator's request log) and the time, the first page's time apart
// (the one fresh read), one raw GET /cluster/resources made as the server makes it (no
// compression; its body read to the end, and also parsed), and the ratios. The process's
// first full read is reported on its own: its caches (the redactor's clean strings) are
// empty, while the measured rounds after it find them warm, as a second question in a
// session does. Follows `nextCursor` when the answer has one, `nextOffset` otherwise (so
// it measures a server from before cursors too); `--by offset` follows `nextOffset`
// always: a fresh read per page, as before cursors.
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
    rounds: { type: "string", default: "9" },
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

/**
 * One raw GET /cluster/resources as the auditor token, with the server's headers (no
 * compression), its body read to the end; `parse`: and parsed, as any client must.
 */
function rawFetch({ parse = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const token = sim.tokens.auditor;
    const req = request(
      {
        host: sim.host,
        port: sim.port,
        path: "/api2/json/cluster/resources",
        agent,
        headers: {
          Authorization: `PVEAPIToken=${token.id}=${token.secret}`,
          Accept: "application/json",
          "Accept-Encoding": "identity",
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
          if (res.headers["content-encoding"]) return reject(new Error("an encoded answer"));
          if (parse) JSON.parse(Buffer.concat(chunks).toString("utf8"));
          resolve(performance.now() - started);
        });
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
      `${latencyMs} ms latency per PVE request, ${rounds} rounds (after a first one), node ${process.version}`,
  );
  await rawFetch(); // warm-up: TLS handshake, the simulator's permission cache
  await rawFetch({ parse: true });
  // Warm-up without /cluster/resources: the server's connection pool and token check.
  const version = await client.callTool({ name: "get_version", arguments: {} });
  if (version.isError)
    throw new Error(`get_version failed: ${version.content[0]?.text}\nserver stderr: ${stderr}`);
  const first = await readAllPages();
  // Raw fetches and full reads take turns, so both see the same machine.
  const raw = [];
  const rawParsed = [];
  const reads = [];
  for (let i = 0; i < rounds; i++) {
    raw.push(await rawFetch());
    rawParsed.push(await rawFetch({ parse: true }));
    reads.push(await readAllPages());
  }
  const last = reads.at(-1);
  const rawMs = median(raw);
  const rawParsedMs = median(rawParsed);
  const allMs = median(reads.map((r) => r.ms));
  console.log(
    `  one raw GET /cluster/resources as the server makes it: median ${rawMs.toFixed(1)} ms (body read), ${rawParsedMs.toFixed(1)} ms (and parsed)`,
  );
  console.log(
    `  all pages: ${last.pages} pages, ${last.seen} guests, PVE requests ${[...new Set(reads.map((r) => r.requests))].join("/")} ` +
      `(/cluster/resources: ${[...new Set(reads.map((r) => r.resourceReads))].join("/")}), median ${allMs.toFixed(1)} ms`,
  );
  const firstMs = median(reads.map((r) => r.firstMs));
  console.log(
    `  of which the first page (the fresh read, redacted where it enters, and page 1): median ${firstMs.toFixed(1)} ms; ` +
      `the other ${last.pages - 1} pages: ${(allMs - firstMs).toFixed(1)} ms`,
  );
  const ratios = (ms) =>
    `${(ms / rawMs).toFixed(2)}x one raw fetch (${(ms / rawParsedMs).toFixed(2)}x one raw fetch parsed)`;
  console.log(
    `  ratio: ${ratios(allMs)}; ${(allMs / firstMs).toFixed(2)}x one first page through the server`,
  );
  console.log(
    `  the process's first full read (empty caches): ${first.ms.toFixed(1)} ms, first page ${first.firstMs.toFixed(1)} ms, ` +
      `PVE requests ${first.requests}; ${ratios(first.ms)}`,
  );
} finally {
  await client.close();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
  await sim.close();
}
