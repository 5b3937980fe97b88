// Benchmark (not a test, not in CI): load on the HTTP transport in the 2026-07-28 era,
// one process against two behind HAProxy (issue 12 item 6, "scale out").
//
// Starts the simulator (`node dist/cli.js simulator`) once, then for each mode the
// server processes (`node dist/cli.js serve --http`, pointed at it with the auditor token,
// sharing MCP_HTTP_TOKEN, MCP_CONFIRM_KEY and MCP_CONFIRM_STATE_DIR as deploy/README.md
// says) and, for the HAProxy modes, a real HAProxy running the committed
// deploy/haproxy/haproxy.cfg (scripts/lib/haproxy.mjs: loopback ports, a throwaway
// certificate; TLS ends at HAProxy as in production). Then C concurrent SDK clients
// (@modelcontextprotocol/client, pinned to 2026-07-28: stateless, no session), each
// making N calls of one cheap read tool, one after the other. Modes:
//   direct    one process, the clients talk to it straight (plain HTTP on loopback)
//   haproxy1  one process behind HAProxy (both server lines point at it: HAProxy's cost)
//   haproxy2  two processes behind HAProxy, round robin
// Prints, per mode: errors (must be 0), latency p50/p99, calls/s, calls each process
// answered (from its audit log), its peak RSS, and the CPU time each part used during
// the run (server processes, simulator, HAProxy, this process's clients: on a small
// machine they all compete for the same cores). Exits 1 on any error.
//
// Run: npm run build && node bench/http-load.mjs [--clients 8] [--calls 2000 (per client)]
//        [--warmup 20 (per client)] [--tool get_nodes] [--modes direct,haproxy1,haproxy2]
//        [--nodes N --guests M] [--latency-ms X]
// Needs haproxy for the HAProxy modes (Debian: apt-get install haproxy).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Agent, fetch as undiciFetch } from "undici";
import { findHaproxy, startHaproxy } from "../scripts/lib/haproxy.mjs";
import {
  assertBuilt,
  randomToken,
  simulatorEnv,
  startHttpServer,
  startSimulator,
  tempDir,
} from "../scripts/lib/http-server.mjs";

const MODERN = "2026-07-28";
const MODES = {
  direct: { label: "1 process, direct", processes: 1, haproxy: false },
  haproxy1: { label: "1 process behind HAProxy", processes: 1, haproxy: true },
  haproxy2: { label: "2 processes behind HAProxy", processes: 2, haproxy: true },
};

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "8" },
    calls: { type: "string", default: "2000" },
    warmup: { type: "string", default: "20" },
    tool: { type: "string", default: "get_nodes" },
    modes: { type: "string", default: Object.keys(MODES).join(",") },
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
const modes = values.modes.split(",").map((m) => m.trim());
for (const mode of modes) {
  if (!(mode in MODES)) throw new Error(`--modes: unknown mode ${mode} (known: ${Object.keys(MODES)})`);
}
const haproxyBinary = findHaproxy();
if (!haproxyBinary && modes.some((mode) => MODES[mode].haproxy)) {
  console.error("http-load: haproxy is not installed (install haproxy: apt-get install haproxy)");
  process.exit(2);
}

/** VmHWM (peak RSS) of a process, in MiB. */
function peakRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // After the command name (which may hold spaces, in parentheses): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
/** USER_HZ: 100 on Linux for every architecture Node runs on. */
const CLOCK_TICKS = 100;

/** CPU seconds of the servers (each), the simulator, HAProxy and this process (the clients). */
function cpuNow(sim, servers, haproxy) {
  const own = process.cpuUsage();
  return {
    servers: servers.map((s) => cpuSeconds(s.pid)),
    simulator: cpuSeconds(sim.pid),
    haproxy: haproxy ? cpuSeconds(haproxy.pid) : 0,
    clients: (own.user + own.system) / 1e6,
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Lines in a process's audit log: one per tool call it answered. */
function auditCount(server) {
  const path = join(server.dir, "audit.jsonl");
  if (!existsSync(path)) return 0;
  return readFileSync(path, "utf8").split("\n").filter(Boolean).length;
}

/** HAProxy's frontend certificate (self-signed for 127.0.0.1), and a fetch that trusts it. */
async function frontendTls() {
  const { issueCertificate } = await import("../dist/simulator/tls.js");
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certPem = issueCertificate({
    subject: "/CN=proxmox-mcp http-load",
    issuer: "/CN=proxmox-mcp http-load",
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    san: ["127.0.0.1", "localhost"],
    publicKey,
    signingKey: privateKey,
  });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" });
  const agent = new Agent({ connect: { ca: certPem } });
  const fetch = (url, init) => undiciFetch(url, { ...init, dispatcher: agent });
  return { certPem, keyPem, agent, fetch };
}

/** The same HTTP client (undici's fetch, a pool of its own) for the direct mode, without TLS. */
function plainHttp() {
  const agent = new Agent();
  return { agent, fetch: (url, init) => undiciFetch(url, { ...init, dispatcher: agent }) };
}

/** One mode: start its processes (and HAProxy), C clients x N calls, stop everything. */
async function runMode(mode, { sim, token, confirmKey, stateDir, tls, plain }) {
  const { label, processes, haproxy: behindHaproxy } = MODES[mode];
  const servers = [];
  let haproxy;
  const sessions = [];
  try {
    for (let i = 0; i < processes; i++) {
      servers.push(
        await startHttpServer({
          token,
          args: [],
          env: {
            ...simulatorEnv(sim.info),
            // Every client comes from 127.0.0.1: the rate limit must not interfere.
            MCP_HTTP_RATE_LIMIT: "1000000",
            MCP_CONFIRM_KEY: confirmKey,
            MCP_CONFIRM_STATE_DIR: stateDir,
          },
        }),
      );
    }
    let url = servers[0].url;
    let fetch = plain.fetch;
    if (behindHaproxy) {
      const ports = servers.map((s) => s.port);
      haproxy = await startHaproxy({
        backends: ports.length === 1 ? [ports[0], ports[0]] : ports,
        certPem: tls.certPem,
        keyPem: tls.keyPem,
        binary: haproxyBinary,
      });
      url = haproxy.url;
      fetch = tls.fetch;
    }
    for (let i = 0; i < clients; i++) {
      const client = new Client(
        { name: `http-load-${i}`, version: "0" },
        { versionNegotiation: { mode: { pin: MODERN } } },
      );
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        fetch,
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      if (transport.sessionId !== undefined) throw new Error(`${mode}: a 2026-07-28 client got a session`);
      sessions.push({ client, transport });
    }

    /** Every client makes `n` calls, one after the other; all clients at once. */
    async function load(n) {
      const latencies = [];
      const errors = [];
      const worker = async ({ client }) => {
        for (let i = 0; i < n; i++) {
          const started = performance.now();
          try {
            const result = await client.callTool({ name: values.tool, arguments: {} });
            if (result.isError) throw new Error(result.content?.[0]?.text ?? "isError");
          } catch (err) {
            errors.push(err instanceof Error ? err.message : String(err));
          }
          latencies.push(performance.now() - started);
        }
      };
      const started = performance.now();
      await Promise.all(sessions.map(worker));
      return { latencies, errors, wallMs: performance.now() - started };
    }

    if (warmup > 0) {
      const w = await load(warmup);
      if (w.errors.length > 0)
        console.log(`${mode} warm-up: ${w.errors.length} errors, first: ${w.errors[0]}`);
    }
    const before = servers.map(auditCount);
    const cpuBefore = cpuNow(sim, servers, haproxy);
    const r = await load(calls);
    const cpuAfter = cpuNow(sim, servers, haproxy);
    const perProcess = servers.map((s, i) => auditCount(s) - before[i]);
    const sorted = [...r.latencies].sort((a, b) => a - b);
    return {
      mode,
      label,
      processes,
      calls: r.latencies.length,
      errors: r.errors,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      rate: (r.latencies.length / r.wallMs) * 1000,
      wallS: r.wallMs / 1000,
      perProcess,
      rss: servers.map((s) => peakRss(s.pid)),
      cpu: {
        servers: cpuAfter.servers.map((x, i) => x - cpuBefore.servers[i]),
        simulator: cpuAfter.simulator - cpuBefore.simulator,
        haproxy: cpuAfter.haproxy - cpuBefore.haproxy,
        clients: cpuAfter.clients - cpuBefore.clients,
      },
    };
  } finally {
    for (const { client } of sessions) await client.close().catch(() => {});
    await haproxy?.stop();
    for (const server of servers) await server.stop();
  }
}

assertBuilt();
const simArgs = [];
if (values.nodes || values.guests)
  simArgs.push("--nodes", values.nodes ?? "3", "--guests", values.guests ?? "10");
if (values["latency-ms"]) simArgs.push("--latency-ms", values["latency-ms"]);
const sim = await startSimulator(simArgs);
const state = tempDir("proxmox-mcp-confirmations-");
const tls = await frontendTls();
const plain = plainHttp();
const results = [];
let failed = false;
try {
  const context = {
    sim,
    token: randomToken(),
    confirmKey: randomBytes(32).toString("hex"),
    stateDir: state.dir,
    tls,
    plain,
  };
  console.log(
    `${clients} clients x ${calls} calls of ${values.tool} each (after ${warmup} warm-up calls each), ` +
      `protocol ${MODERN}; simulator ${sim.info.url}` +
      (simArgs.length ? ` (${simArgs.join(" ")})` : " (demo cluster)"),
  );
  for (const mode of modes) {
    const r = await runMode(mode, context);
    results.push(r);
    console.log(`  ${r.label}: done in ${r.wallS.toFixed(1)} s`);
    if (r.errors.length > 0) failed = true;
  }
} catch (err) {
  failed = true;
  console.error(`http-load: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await tls.agent.close();
  await plain.agent.close();
  await sim.stop();
  state.remove();
}

if (results.length > 0) {
  const rows = [
    [
      "mode",
      "calls",
      "errors",
      "p50 ms",
      "p99 ms",
      "calls/s",
      "calls per process",
      "peak RSS per process",
      "CPU s: server(s) / simulator / HAProxy / clients",
    ],
    ...results.map((r) => [
      r.label,
      String(r.calls),
      String(r.errors.length),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      r.rate.toFixed(0),
      r.perProcess.join(" / "),
      r.rss.map((mib) => `${mib.toFixed(0)} MiB`).join(" / "),
      [
        r.cpu.servers.map((x) => x.toFixed(1)).join(" + "),
        r.cpu.simulator.toFixed(1),
        r.cpu.haproxy.toFixed(1),
        r.cpu.clients.toFixed(1),
      ].join(" / "),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\n${line(rows[0])}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  for (const r of results) {
    if (r.errors.length === 0) continue;
    const counts = {};
    for (const e of r.errors) counts[e] = (counts[e] ?? 0) + 1;
    console.log(`\n${r.label}: errors by message:`);
    for (const [message, n] of Object.entries(counts)) console.log(`  ${n} x ${message.slice(0, 300)}`);
  }
}
process.exitCode = failed ? 1 : 0;
