/** The configuration of a server that talks to `sim` as its auditor token, pinned by fingerprint. */
import { Secret } from "../../src/config/secret.js";
import type { Config } from "../../src/config/types.js";
import type { Simulator } from "../../src/simulator/index.js";

export function simConfig(sim: Simulator, overrides: Partial<Config> = {}): Config {
  return {
    host: sim.host,
    port: sim.port,
    tokenId: sim.tokens.auditor.id,
    tokenSecret: new Secret(sim.tokens.auditor.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 5000,
    service: "PVE",
    logLevel: "info",
    toolsets: undefined,
    allowPrivilegedToken: false,
    auditLogPath: "/nonexistent/audit.jsonl",
    sources: {},
    ...overrides,
  };
}
