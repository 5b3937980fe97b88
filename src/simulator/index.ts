/**
 * A faithful Proxmox VE API over HTTPS on loopback, for --demo and the tests.
 *
 *   const sim = await startSimulator({ scenario: "demo" });
 *   // sim.url, sim.fingerprint, sim.caPem, sim.tokens.auditor, sim.requests(), sim.faults, sim.close()
 */
import { randomUUID } from "node:crypto";
import { openRequestLogFile } from "./request-log.js";
import { splitTokenId } from "./acl.js";
import type { AddressInfo } from "node:net";
import { Cluster } from "./cluster.js";
import { Faults } from "./faults.js";
import type { PveMajor } from "../pve/privileges.js";
import { loadScenarioFile, parseScenario, type Scenario, type ScenarioInput } from "./scenario.js";
import { demoScenario } from "./scenarios/demo.js";
import { scaleScenario } from "./scenarios/scale.js";
import { createApiServer, type RequestLogEntry } from "./server.js";
import { newClusterKeys } from "./tls.js";

export type { RequestLogEntry } from "./server.js";
export type { FaultRule } from "./faults.js";
export type { ScenarioInput, Scenario } from "./scenario.js";

export interface SimulatorOptions {
  /** Listen address; loopback unless you mean it. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** "demo" (default), a scenario file path, or a scenario object. */
  scenario?: "demo" | string | ScenarioInput;
  /** Generate a cluster of this size instead (deterministic). */
  scale?: { nodes: number; guests: number };
  /** Latency added to every request. */
  latencyMs?: number;
  pve?: PveMajor;
  /** Append every request as a JSON line to this file (created with mode 0600). */
  logFile?: string;
  /** How many request-log entries requests() keeps; older ones are dropped (default 100,000). */
  maxLogEntries?: number;
  /** Replace every token secret of the scenario with a random one (for a simulator others can reach). */
  freshSecrets?: boolean;
  /** pveproxy delays failed authentications by 3 s; 0 (default) keeps tests fast. */
  authFailureDelayMs?: number;
  /** How long power-action tasks run before they end (default 0: done when the POST returns). */
  taskDurationMs?: number;
  /** How long guest-agent exec processes run (default 0). */
  execDurationMs?: number;
}

export interface TokenCredentials {
  id: string;
  secret: string;
}

export interface Simulator {
  /** Base URL, e.g. https://127.0.0.1:40123 (the API is below /api2/json). */
  url: string;
  host: string;
  port: number;
  /** SHA-256 fingerprint of the served certificate, `AA:BB:...`. */
  fingerprint: string;
  /** PEM of the cluster CA that signed the served certificate. */
  caPem: string;
  tokens: { auditor: TokenCredentials; admin: TokenCredentials; root: TokenCredentials };
  cluster: Cluster;
  faults: Faults;
  /** The requests so far (the last maxLogEntries), oldest first. */
  requests(): RequestLogEntry[];
  clearRequests(): void;
  /** Resolves when all tasks started through the API have ended. */
  tasksIdle(): Promise<void>;
  /** Ends all running API tasks now (tests use a long taskDurationMs and end tasks on cue). */
  finishTasks(): void;
  close(): Promise<void>;
}

export function resolveScenario(options: SimulatorOptions): Scenario {
  if (options.scale)
    return parseScenario(scaleScenario(options.scale.nodes, options.scale.guests), "scale scenario");
  const s = options.scenario ?? "demo";
  if (s === "demo") return parseScenario(demoScenario, "demo scenario");
  if (typeof s === "string") return loadScenarioFile(s);
  return parseScenario(s);
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const scenario = resolveScenario(options);
  if (options.freshSecrets) for (const u of scenario.users) for (const t of u.tokens) t.secret = randomUUID();
  const logFile =
    options.logFile === undefined ? undefined : openRequestLogFile(options.logFile, "simulator");
  const maxLogEntries = options.maxLogEntries ?? 100_000;
  const cluster = new Cluster(scenario, {
    version: options.pve ?? 9,
    now: Math.floor(Date.now() / 1000),
    taskDurationMs: options.taskDurationMs ?? 0,
    execDurationMs: options.execDurationMs ?? 0,
    keys: await newClusterKeys(),
  });
  const log: RequestLogEntry[] = [];
  const faults = new Faults();
  const served = cluster.servedCertificate();
  const server = createApiServer(
    { cert: served.pem, key: cluster.pki.nodeKeyPem },
    {
      cluster,
      faults,
      latencyMs: options.latencyMs ?? 0,
      authFailureDelayMs: options.authFailureDelayMs ?? 0,
      onRequest: (entry) => {
        log.push(entry);
        if (log.length > maxLogEntries) log.splice(0, log.length - maxLogEntries);
        logFile?.append(entry);
      },
    },
  );
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const credentials = (tokenid: string): TokenCredentials => {
    const { userid, name } = splitTokenId(tokenid);
    const token = scenario.users.find((u) => u.userid === userid)?.tokens.find((t) => t.tokenid === name);
    return { id: tokenid, secret: token!.secret };
  };
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    port,
    fingerprint: served.fingerprint,
    caPem: cluster.pki.caPem,
    tokens: {
      auditor: credentials(scenario.tokens.auditor),
      admin: credentials(scenario.tokens.admin),
      root: credentials(scenario.tokens.root),
    },
    cluster,
    faults,
    requests: () => [...log],
    clearRequests: () => void log.splice(0),
    tasksIdle: () => cluster.whenTasksIdle(),
    finishTasks: () => cluster.finishTasks(),
    close: () =>
      new Promise<void>((resolve) => {
        cluster.dispose();
        server.close(() => {
          logFile?.close();
          resolve();
        });
      }),
  };
}
