/** The read token's start-up check against the simulator's permission engine. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../src/config/secret.js";
import type { Config } from "../src/config/types.js";
import { PveReader } from "../src/pve/client.js";
import { startSimulator, type Simulator, type TokenCredentials } from "../src/simulator/index.js";
import { PrivilegedTokenError, TokenCheck } from "../src/token-check.js";
import { TEST_TOKENS, testScenario } from "./helpers/scenarios.js";

let sim: Simulator;
const readers: PveReader[] = [];
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await sim.close();
});

function check(token: TokenCredentials, allowPrivilegedToken = false, port = sim.port): TokenCheck {
  const config = {
    host: "127.0.0.1",
    port,
    tokenId: token.id,
    tokenSecret: new Secret(token.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 5000,
    allowPrivilegedToken,
  } as Config;
  const reader = new PveReader(config);
  readers.push(reader);
  return new TokenCheck({ pve: reader, config, tools: [] });
}

describe("TokenCheck", () => {
  it("passes a PVEAuditor token and a narrower one", async () => {
    for (const token of [sim.tokens.auditor, TEST_TOKENS.vmAuditOnly]) {
      const c = check(token);
      await expect(c.ensure()).resolves.toBeUndefined();
      expect(c.extraPrivileges).toEqual([]);
    }
  });

  it("refuses a token that can write, naming paths and privileges and the pveum fix, never the secret", async () => {
    for (const token of [sim.tokens.admin, sim.tokens.root]) {
      const error = await check(token)
        .ensure()
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(error).toBeInstanceOf(PrivilegedTokenError);
      const message = (error as Error).message;
      expect(message).toContain(`the read token ${token.id} can change things`);
      expect(message).toMatch(/\/: .*VM\.PowerMgmt/);
      expect(message).toContain("--roles PVEAuditor");
      expect(message).toContain("PROXMOX_ALLOW_PRIVILEGED_TOKEN=true");
      expect(message).not.toContain(token.secret);
    }
  });

  it("lets the operator allow a privileged token, keeping the list for get_version", async () => {
    const c = check(sim.tokens.root, true);
    await c.ensure();
    expect(c.extraPrivileges.join(" ")).toContain("Sys.Modify");
  });

  it("retries after Proxmox was unreachable, but never after a refusal", async () => {
    const down = await startSimulator({ scenario: testScenario() });
    const port = down.port;
    await down.close();
    const c = check(sim.tokens.auditor, false, port);
    await expect(c.ensure()).rejects.toThrow(/Cannot|refused|ECONNREFUSED|connect/i);
    const refused = check(sim.tokens.root);
    const first = refused.ensure().catch((e: unknown) => e);
    expect(await first).toBeInstanceOf(PrivilegedTokenError);
    sim.clearRequests();
    expect(await refused.ensure().catch((e: unknown) => e)).toBeInstanceOf(PrivilegedTokenError);
    expect(sim.requests()).toEqual([]);
  });
});
