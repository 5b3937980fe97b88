/**
 * A faithful Proxmox Backup Server API (GET side) over HTTPS on loopback, for --demo and tests.
 *
 *   const pbs = await startPbsSimulator({ scenario: "demo" });
 *   // pbs.url, pbs.fingerprint (lowercase, as PBS shows it), pbs.caPem, pbs.tokens.auditor,
 *   // pbs.requests(), pbs.faults, pbs.close()
 *
 * See server.ts for the request pipeline, routes.ts for the endpoints, acl.ts for the
 * privilege evaluation and scenarios/demo.ts for the demo's planted problems.
 */
import { openRequestLogFile } from "../request-log.js";
import type { AddressInfo } from "node:net";
import { Faults } from "../faults.js";
import { fingerprint256, issueCertificate, newClusterKeys } from "../tls.js";
import { userOf } from "./acl.js";
import type { PbsScenarioInput } from "./scenario.js";
import { pbsDemoScenario } from "./scenarios/demo.js";
import { createPbsServer, type PbsRequestLogEntry } from "./server.js";
import { PbsState } from "./state.js";

export type { PbsScenarioInput } from "./scenario.js";
export type { PbsRequestLogEntry } from "./server.js";

export interface PbsSimulatorOptions {
  scenario?: "demo" | PbsScenarioInput;
  /** Listen address; loopback unless you mean it. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Latency added to every request. */
  latencyMs?: number;
  /** Append every request as a JSON line to this file (created with mode 0600). */
  logFile?: string;
  /** The clock (epoch seconds) relative scenario times resolve against; default: now, as the PVE simulator. */
  now?: number;
}

export interface PbsTokenCredentials {
  id: string;
  secret: string;
}

export interface PbsSimulator {
  /** https://127.0.0.1:<port> (the API is below /api2/json). */
  url: string;
  host: string;
  port: number;
  /** SHA-256 fingerprint of the served certificate, lowercase `aa:bb:…` as PBS shows it. */
  fingerprint: string;
  /** PEM of the CA that signed the served certificate. */
  caPem: string;
  tokens: {
    auditor: PbsTokenCredentials;
    datastoreAuditor: PbsTokenCredentials;
    admin: PbsTokenCredentials;
    root: PbsTokenCredentials;
  };
  faults: Faults;
  /** The resolved scenario (read-only). */
  state: PbsState;
  requests(): PbsRequestLogEntry[];
  clearRequests(): void;
  close(): Promise<void>;
}

const MAX_LOG = 100_000;

export async function startPbsSimulator(options: PbsSimulatorOptions = {}): Promise<PbsSimulator> {
  const scenario =
    options.scenario === undefined || options.scenario === "demo" ? pbsDemoScenario : options.scenario;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const state = new PbsState(scenario, now);
  const { ca, node } = await newClusterKeys();
  const caSubject = "/CN=Proxmox Backup Server CA/O=Proxmox Backup Server";
  const caPem = issueCertificate({
    subject: caSubject,
    issuer: caSubject,
    notBefore: new Date((now - 400 * 86400) * 1000),
    notAfter: new Date((now + 3000 * 86400) * 1000),
    isCa: true,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
  });
  const certPem = issueCertificate({
    subject: `/CN=${state.hostname}/O=Proxmox Backup Server`,
    issuer: caSubject,
    notBefore: new Date((now - 400 * 86400) * 1000),
    notAfter: new Date((now + 330 * 86400) * 1000),
    san: ["127.0.0.1", "::1", "localhost", state.hostname],
    publicKey: node.publicKey,
    signingKey: ca.privateKey,
  });
  const logFile =
    options.logFile === undefined ? undefined : openRequestLogFile(options.logFile, "pbs simulator");
  const log: PbsRequestLogEntry[] = [];
  const faults = new Faults();
  const server = createPbsServer(
    { cert: certPem, key: node.privateKey.export({ type: "pkcs8", format: "pem" }) as string },
    {
      state,
      faults,
      latencyMs: options.latencyMs ?? 0,
      onRequest: (entry) => {
        log.push(entry);
        if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
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
  const credentials = (tokenid: string): PbsTokenCredentials => {
    const user = state.user(userOf(tokenid))!;
    const token = user.tokens!.find((t) => `${user.userid}!${t.name}` === tokenid)!;
    return { id: tokenid, secret: token.secret };
  };
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    port,
    fingerprint: fingerprint256(certPem).toLowerCase(),
    caPem,
    tokens: {
      auditor: credentials(scenario.tokens.auditor),
      datastoreAuditor: credentials(scenario.tokens.datastoreAuditor),
      admin: credentials(scenario.tokens.admin),
      root: credentials(scenario.tokens.root),
    },
    faults,
    state,
    requests: () => [...log],
    clearRequests: () => void log.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          logFile?.close();
          resolve();
        });
      }),
  };
}
