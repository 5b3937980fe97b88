/**
 * `proxmox-mcp simulator`: serves the simulated PVE API until SIGINT/SIGTERM and
 * prints ONE JSON line on stdout when ready (url, fingerprint, CA file, tokens).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startSimulator, type SimulatorOptions } from "./index.js";

export const SIMULATOR_USAGE = `Usage: proxmox-mcp simulator [options]

Serves a simulated Proxmox VE API over HTTPS and prints one JSON line when ready:
{"url","host","port","fingerprint","caFile","tokens":{"auditor","admin","root"}}

Options:
  --host ADDR          listen address (default 127.0.0.1; others need --allow-remote)
  --allow-remote       allow a non-loopback --host; token secrets are then random per run
  --port N             port, 0 picks a free one (default 0)
  --scenario demo|FILE built-in demo cluster or a scenario JSON file (default demo)
  --nodes N --guests M generate a deterministic cluster of that size instead
  --latency-ms X       add X ms to every request
  --pve 8|9            PVE major version to imitate (default 9)
  --log-file FILE      append every request as a JSON line
  --auth-delay-ms X    delay failed authentications like pveproxy (3000 on real PVE; default 0)
  --task-ms X          how long power-action tasks run (default 0)`;

function integerOption(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function runSimulatorCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      scenario: { type: "string" },
      nodes: { type: "string" },
      guests: { type: "string" },
      "latency-ms": { type: "string" },
      pve: { type: "string" },
      "log-file": { type: "string" },
      "auth-delay-ms": { type: "string" },
      "task-ms": { type: "string" },
      "allow-remote": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${SIMULATOR_USAGE}\n`);
    return;
  }
  const nodes = integerOption("nodes", values.nodes, 1, 64);
  const guests = integerOption("guests", values.guests, 0, 100_000);
  if ((nodes === undefined) !== (guests === undefined))
    throw new Error("--nodes and --guests go together, e.g. --nodes 32 --guests 10000");
  if (nodes !== undefined && values.scenario)
    throw new Error("use either --scenario or --nodes/--guests, not both");
  const pve = integerOption("pve", values.pve, 8, 9);
  const host = values.host ?? "127.0.0.1";
  const remote = !isLoopback(host);
  if (remote && !values["allow-remote"]) {
    throw new Error(
      `--host ${host} is not a loopback address: the simulator hands out admin and root tokens; add --allow-remote if you mean it`,
    );
  }
  const options: SimulatorOptions = {
    host,
    freshSecrets: remote,
    port: integerOption("port", values.port, 0, 65535) ?? 0,
    scenario: values.scenario ?? "demo",
    latencyMs: integerOption("latency-ms", values["latency-ms"], 0, 600_000) ?? 0,
    pve: pve === 8 ? 8 : 9,
    authFailureDelayMs: integerOption("auth-delay-ms", values["auth-delay-ms"], 0, 60_000) ?? 0,
    taskDurationMs: integerOption("task-ms", values["task-ms"], 0, 600_000) ?? 0,
  };
  if (nodes !== undefined && guests !== undefined) options.scale = { nodes, guests };
  if (values["log-file"]) options.logFile = values["log-file"];

  const sim = await startSimulator(options);
  if (remote)
    process.stderr.write(`warning: the simulator listens on ${host}, reachable from other machines\n`);
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-simulator-"));
  const caFile = join(dir, "pve-root-ca.pem");
  writeFileSync(caFile, sim.caPem, { mode: 0o644 });
  const stop = () => {
    rmSync(dir, { recursive: true, force: true });
    void sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.stdout.write(
    `${JSON.stringify({ url: sim.url, host: sim.host, port: sim.port, fingerprint: sim.fingerprint, caFile, tokens: sim.tokens })}\n`,
  );
  const { scenario } = sim.cluster;
  const auditor = sim.tokens.auditor;
  process.stderr.write(
    `Simulated Proxmox VE ${options.pve} cluster "${scenario.clusterName ?? sim.cluster.localNode}" ` +
      `(${scenario.nodes.length} nodes, ${scenario.guests.length} guests) at ${sim.url}\n` +
      `Try: curl --cacert ${caFile} -H 'Authorization: PVEAPIToken=${auditor.id}=${auditor.secret}' ` +
      `${sim.url}/api2/json/cluster/resources\nCtrl-C stops it.\n`,
  );
}
