/**
 * The read token's start-up check through the built server: a token that can write
 * stops the server with the privileges and the fix, unless the operator allowed it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { testScenario } from "../helpers/scenarios.js";
import { runCli, serve, simEnv, textOf } from "./harness.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

describe("start-up check of the read token", () => {
  it("refuses to start with a token that can write, listing what it can do and the fix", async () => {
    const { code, stdout, stderr } = await runCli([], simEnv(sim, sim.tokens.root));
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(`the read token ${sim.tokens.root.id} can change things`);
    expect(stderr).toContain("Sys.Modify");
    expect(stderr).toContain(
      "pveum user add mcp@pve && pveum acl modify / --users mcp@pve --roles PVEAuditor",
    );
    expect(stderr).not.toContain("--users root@pam");
    expect(stderr).not.toContain(sim.tokens.root.secret);
  });

  it("starts with PROXMOX_ALLOW_PRIVILEGED_TOKEN=true, warns, and get_version shows the privileges", async () => {
    const server = await serve({
      env: simEnv(sim, sim.tokens.root, { PROXMOX_ALLOW_PRIVILEGED_TOKEN: "true" }),
    });
    try {
      const result = await server.call("get_version");
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain("WARNING: the read token can change things");
      expect(
        (result.structuredContent as { tokenExtraPrivileges: string[] }).tokenExtraPrivileges.join(" "),
      ).toContain("VM.PowerMgmt");
      expect(server.stderr()).toContain("warning: the read token can change things");
    } finally {
      await server.close();
    }
  });

  it("starts when Proxmox is unreachable and answers every call with the diagnosis", async () => {
    const gone = await startSimulator({ scenario: testScenario() });
    const env = simEnv(gone);
    await gone.close();
    const server = await serve({ env });
    try {
      expect(server.stderr()).toContain("cannot check the tokens at start");
      const result = await server.call("get_version");
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain("check PROXMOX_HOST, PROXMOX_PORT");
    } finally {
      await server.close();
    }
  });
});
