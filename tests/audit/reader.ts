/** A GET-only client for the audit tests, pinned to the simulator's certificate, and a request counter. */
import { Secret } from "../../src/config/secret.js";
import { PveReader } from "../../src/pve/client.js";
import type { AuditReader } from "../../src/audit/index.js";
import type { Simulator, TokenCredentials } from "../../src/simulator/index.js";

export function readerFor(sim: Simulator, token: TokenCredentials): PveReader {
  return new PveReader({
    host: sim.host,
    port: sim.port,
    tokenId: token.id,
    tokenSecret: new Secret(token.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 10_000,
  });
}

/** Wraps a reader and remembers the most requests it ever had in flight at once. */
export function counting(inner: AuditReader): AuditReader & { maxInFlight: number; total: number } {
  let inFlight = 0;
  const wrapper = {
    maxInFlight: 0,
    total: 0,
    async get<T>(...args: Parameters<AuditReader["get"]>): Promise<T> {
      inFlight++;
      wrapper.total++;
      wrapper.maxInFlight = Math.max(wrapper.maxInFlight, inFlight);
      try {
        return await inner.get<T>(...args);
      } finally {
        inFlight--;
      }
    },
  };
  return wrapper;
}
