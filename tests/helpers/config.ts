/** Configurations for tests: a server talking to the simulator, a CA file's contents. */
import { generateKeyPairSync } from "node:crypto";
import { Secret } from "../../src/config/secret.js";
import type { Config } from "../../src/config/types.js";
import type { Simulator } from "../../src/simulator/index.js";
import { issueCertificate } from "../../src/simulator/tls.js";

/** The configuration of a server that talks to `sim` as its auditor token, pinned by fingerprint. */
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

/** A self-signed CA certificate (PEM) shaped like PVE's own, valid from yesterday to tomorrow. */
export function pveCaPem(): string {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const subject = "/CN=Proxmox Virtual Environment/O=PVE Cluster Manager CA";
  return issueCertificate({
    subject,
    issuer: subject,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    isCa: true,
    publicKey,
    signingKey: privateKey,
  });
}
