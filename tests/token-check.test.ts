/**
 * The read token's check against the simulator's permission engine: at start, and
 * again at most every READ_TOKEN_RECHECK_MS while serving (a clock of the test's own:
 * no waiting), for privileges granted after start.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/auditlog.js";
import { Secret } from "../src/config/secret.js";
import type { Config } from "../src/config/types.js";
import { PveReader } from "../src/pve/client.js";
import { RESOURCE_URIS } from "../src/resources.js";
import { createMcpServer } from "../src/server.js";
import { startSimulator, type Simulator, type TokenCredentials } from "../src/simulator/index.js";
import type { ScenarioInput } from "../src/simulator/scenario.js";
import {
  PrivilegedTokenError,
  READ_TOKEN_RECHECK_MS,
  readOnlyTokenFix,
  TokenCheck,
} from "../src/token-check.js";
import { ALL_TOOLS, buildInventory } from "../src/tools/inventory.js";
import { simConfig } from "./helpers/config.js";
import { TEST_TOKENS, testScenario } from "./helpers/scenarios.js";

/** Narrow grants that can still write: an admin role, or a custom console-only role, on /vms alone. */
const NARROW = {
  vmAdminOnVms: { id: "vmadmin@pve!tk", secret: "55555555-5555-4555-8555-555555555555" },
  consoleOnVms: { id: "console@pve!tk", secret: "66666666-6666-4666-8666-666666666666" },
  /** Privilege-separated: the token's own ACL (intersected with its user's) holds VM.Console. */
  separatedConsoleOnVms: { id: "console@pve!sep", secret: "77777777-7777-4777-8777-777777777777" },
  /** Not propagated: the grant holds on /vms itself only. */
  vmAdminOnVmsOnly: { id: "vmadmin0@pve!tk", secret: "88888888-8888-4888-8888-888888888888" },
};

function scenarioWithNarrowGrants(): ScenarioInput {
  const s = testScenario();
  s.users = [
    ...s.users!,
    { userid: "vmadmin@pve", tokens: [{ tokenid: "tk", secret: NARROW.vmAdminOnVms.secret, privsep: 0 }] },
    {
      userid: "console@pve",
      tokens: [
        { tokenid: "tk", secret: NARROW.consoleOnVms.secret, privsep: 0 },
        { tokenid: "sep", secret: NARROW.separatedConsoleOnVms.secret, privsep: 1 },
      ],
    },
    {
      userid: "vmadmin0@pve",
      tokens: [{ tokenid: "tk", secret: NARROW.vmAdminOnVmsOnly.secret, privsep: 0 }],
    },
  ];
  s.roles = { ...(s.roles ?? {}), ConsoleOnly: ["VM.Console"] };
  s.acl = [
    ...s.acl!,
    { path: "/", ugid: "vmadmin@pve", roleid: "PVEAuditor" },
    { path: "/vms", ugid: "vmadmin@pve", roleid: "PVEVMAdmin" },
    { path: "/", ugid: "console@pve", roleid: "PVEAuditor" },
    { path: "/vms", ugid: "console@pve", roleid: "ConsoleOnly" },
    { path: "/", ugid: "console@pve!sep", roleid: "PVEAuditor" },
    { path: "/vms", ugid: "console@pve!sep", roleid: "ConsoleOnly" },
    { path: "/vms", ugid: "vmadmin0@pve", roleid: "PVEVMAdmin", propagate: 0 },
  ];
  // Read-only at start; each test that grants more after start has a user of its own.
  for (const n of LATER_GRANT_USERS) {
    s.users.push({
      userid: `later${n}@pve`,
      tokens: [{ tokenid: "tk", secret: laterGrantToken(n).secret, privsep: 0 }],
    });
    s.acl.push({ path: "/", ugid: `later${n}@pve`, roleid: "PVEAuditor" });
  }
  return s;
}

const LATER_GRANT_USERS = [1, 2, 3, 4, 5, 6] as const;
function laterGrantToken(n: (typeof LATER_GRANT_USERS)[number]): TokenCredentials {
  return { id: `later${n}@pve!tk`, secret: `9999999${n}-9999-4999-8999-999999999999` };
}

let sim: Simulator;
const readers: PveReader[] = [];
beforeAll(async () => {
  sim = await startSimulator({ scenario: scenarioWithNarrowGrants() });
});
afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await sim.close();
});

interface CheckOptions {
  allowPrivilegedToken?: boolean;
  port?: number;
  now?: () => number;
  log?: (line: string) => void;
}

function check(token: TokenCredentials, options: CheckOptions = {}): TokenCheck {
  const { allowPrivilegedToken = false, port = sim.port, now, log } = options;
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
  return new TokenCheck({ pve: reader, config, tools: [], now, log });
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
      // A user of its own: never another token of root@pam or of the administrator at fault.
      expect(message).toContain("pveum user token add mcp@pve readonly --privsep 1");
      expect(message).not.toContain(`token add ${token.id.split("!")[0]}`);
      expect(message).toContain("PROXMOX_ALLOW_PRIVILEGED_TOKEN=true");
      expect(message).not.toContain(token.secret);
    }
  });

  it.each([
    ["PVEVMAdmin on /vms only", NARROW.vmAdminOnVms, /\(\/vms: VM\.Allocate, .*VM\.PowerMgmt/],
    [
      "PVEVMAdmin on /vms only, not propagated",
      NARROW.vmAdminOnVmsOnly,
      /\(\/vms: VM\.Allocate, .*VM\.PowerMgmt/,
    ],
    ["VM.Console on /vms only (a custom role)", NARROW.consoleOnVms, /\(\/vms: VM\.Console;/],
    [
      "VM.Console on /vms only, privilege-separated token",
      NARROW.separatedConsoleOnVms,
      /\(\/vms: VM\.Console;/,
    ],
  ])("refuses a read token with %s at start", async (_, token, named) => {
    const c = check(token);
    const error = await c.ensure().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PrivilegedTokenError);
    expect((error as Error).message).toMatch(named);
    // Only the narrow grant counts: the PVEAuditor role on / is read-only.
    expect(c.extraPrivileges.length).toBeGreaterThan(0);
    expect(c.extraPrivileges.filter((entry) => !entry.startsWith("/vms"))).toEqual([]);
  });

  it("lets the operator allow a privileged token, keeping the list for get_version", async () => {
    const c = check(sim.tokens.root, { allowPrivilegedToken: true });
    await c.ensure();
    expect(c.extraPrivileges.join(" ")).toContain("Sys.Modify");
  });

  it("retries after Proxmox was unreachable, but never after a refusal", async () => {
    const down = await startSimulator({ scenario: testScenario() });
    const port = down.port;
    await down.close();
    const c = check(sim.tokens.auditor, { port });
    await expect(c.ensure()).rejects.toThrow(/Cannot|refused|ECONNREFUSED|connect/i);
    const refused = check(sim.tokens.root);
    const first = refused.ensure().catch((e: unknown) => e);
    expect(await first).toBeInstanceOf(PrivilegedTokenError);
    sim.clearRequests();
    expect(await refused.ensure().catch((e: unknown) => e)).toBeInstanceOf(PrivilegedTokenError);
    expect(sim.requests()).toEqual([]);
  });
});

describe("TokenCheck while serving", () => {
  /** The /access/permissions requests since the last clearRequests() (a faulted one has no token id). */
  const permissionChecks = () => sim.requests().filter((r) => r.path === "/access/permissions").length;
  const vmAdminOnVms = (token: TokenCredentials) => ({
    path: "/vms",
    ugid: token.id.split("!")[0]!,
    roleid: "PVEVMAdmin",
  });

  /** A token check on a clock the test moves; `logs` is what it reported on stderr. */
  function serving(token: TokenCredentials, allowPrivilegedToken = false) {
    const clock = { ms: 0 };
    const logs: string[] = [];
    const c = check(token, { allowPrivilegedToken, now: () => clock.ms, log: (line) => logs.push(line) });
    return { c, clock, logs };
  }

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (err: unknown) => err as Error,
    );

  it("refuses every read once the interval has passed after a grant, naming it and the fix, logged once", async () => {
    const token = laterGrantToken(1);
    const { c, clock, logs } = serving(token);
    sim.clearRequests();
    await c.ensure();
    expect(permissionChecks()).toBe(1);

    sim.cluster.engine.grant({ ...vmAdminOnVms(token), propagate: true });
    clock.ms = READ_TOKEN_RECHECK_MS - 1;
    sim.clearRequests();
    await expect(c.ensure()).resolves.toBeUndefined();
    expect(permissionChecks()).toBe(0);

    clock.ms = READ_TOKEN_RECHECK_MS;
    const refused = await failure(c.ensure());
    expect(refused).toBeInstanceOf(PrivilegedTokenError);
    expect(refused!.message).toContain(
      `the read token ${token.id} gained privileges that can change things since start (/vms: VM.Allocate, `,
    );
    expect(refused!.message).toMatch(/\/vms: [^;]*VM\.PowerMgmt/);
    expect(refused!.message).toContain("PROXMOX_ALLOW_PRIVILEGED_TOKEN=true");
    expect(refused!.message).not.toContain(token.secret);
    expect(refused!.message.split("\n")).toHaveLength(1);
    expect(permissionChecks()).toBe(1);

    expect((await failure(c.ensure()))?.message).toBe(refused!.message);
    expect(logs).toEqual([refused!.message]);
  });

  it("refuses reads while Proxmox cannot confirm, and serves again once the privileges are removed, without a restart", async () => {
    const token = laterGrantToken(2);
    const { c, clock, logs } = serving(token);
    await c.ensure();
    sim.cluster.engine.grant({ ...vmAdminOnVms(token), propagate: true });
    clock.ms = READ_TOKEN_RECHECK_MS;
    await expect(c.ensure()).rejects.toBeInstanceOf(PrivilegedTokenError);
    // Proxmox not answering is no reason to serve again.
    sim.faults.add({ kind: "status", path: "/access/permissions", status: 500, times: 1 });
    await expect(c.ensure()).rejects.toBeInstanceOf(PrivilegedTokenError);

    sim.cluster.engine.revoke(vmAdminOnVms(token));
    sim.clearRequests();
    await expect(c.ensure()).resolves.toBeUndefined();
    expect(permissionChecks()).toBe(1);
    expect(logs.at(-1)).toBe(`the read token ${token.id} is read-only again; reads resume`);

    sim.clearRequests();
    await c.ensure();
    expect(permissionChecks()).toBe(0);
  });

  it("asks once for calls that arrive together after the interval", async () => {
    const token = laterGrantToken(3);
    const { c, clock } = serving(token);
    await c.ensure();
    clock.ms = READ_TOKEN_RECHECK_MS;
    sim.clearRequests();
    await Promise.all([c.ensure(), c.ensure(), c.ensure()]);
    expect(permissionChecks()).toBe(1);
  });

  it("keeps serving with PROXMOX_ALLOW_PRIVILEGED_TOKEN=true, listing the new privileges for get_version", async () => {
    const token = laterGrantToken(4);
    const { c, clock, logs } = serving(token, true);
    await c.ensure();
    expect(c.report.readExtraPrivileges).toEqual([]);
    sim.cluster.engine.grant({ ...vmAdminOnVms(token), propagate: true });
    clock.ms = READ_TOKEN_RECHECK_MS;
    await expect(c.ensure()).resolves.toBeUndefined();
    expect(c.report.readExtraPrivileges.join(" ")).toContain("/vms: VM.Allocate");
    expect(logs).toEqual([]);
  });

  it("lets reads go on when a re-check fails, logs it once, and asks again on the next call", async () => {
    const token = laterGrantToken(5);
    const { c, clock, logs } = serving(token);
    await c.ensure();
    clock.ms = READ_TOKEN_RECHECK_MS;
    const fault = sim.faults.add({
      kind: "status",
      path: "/access/permissions",
      status: 500,
      message: "pveproxy busy",
    });
    sim.clearRequests();
    await expect(c.ensure()).resolves.toBeUndefined();
    await expect(c.ensure()).resolves.toBeUndefined();
    expect(permissionChecks()).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^cannot re-check the read token's privileges \(.*500.*\); reads go on/);

    sim.faults.remove(fault);
    sim.cluster.engine.grant({ ...vmAdminOnVms(token), propagate: true });
    await expect(c.ensure()).rejects.toBeInstanceOf(PrivilegedTokenError);
  });

  it("fails a read tool call and a resource read through the server with the one line, in the audit log too", async () => {
    const token = laterGrantToken(6);
    const clock = { ms: 0 };
    const config = simConfig(sim, { tokenId: token.id, tokenSecret: new Secret(token.secret) });
    const pve = new PveReader(config);
    readers.push(pve);
    const tools = buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: undefined });
    const logs: string[] = [];
    const tokenCheck = new TokenCheck({ pve, config, tools, now: () => clock.ms, log: (l) => logs.push(l) });
    const auditPath = join(mkdtempSync(join(tmpdir(), "token-check-")), "audit.jsonl");
    const audit = new AuditLog(auditPath);
    const server = createMcpServer({ config, pve, tokenCheck, tools, audit, version: "test" });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "test", version: "1" });
    await client.connect(clientSide);
    try {
      expect((await client.callTool({ name: "get_cluster_status", arguments: {} })).isError).toBeFalsy();
      sim.cluster.engine.grant({ ...vmAdminOnVms(token), propagate: true });
      clock.ms = READ_TOKEN_RECHECK_MS;

      const call = await client.callTool({ name: "get_cluster_status", arguments: {} });
      expect(call.isError).toBe(true);
      const [shown] = call.content as { type: string; text: string }[];
      expect(shown!.text).toBe(logs[0]);
      expect(shown!.text).toContain("/vms: VM.Allocate");
      expect(shown!.text).toContain("PROXMOX_ALLOW_PRIVILEGED_TOKEN=true");
      await expect(client.readResource({ uri: RESOURCE_URIS.clusterStatus })).rejects.toThrow(logs[0]);
      expect(logs).toHaveLength(1);
      const refusals = readFileSync(auditPath, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { tool: string; outcome: string; error?: string })
        .filter((line) => line.outcome === "error");
      expect(refusals.map((line) => line.tool)).toEqual([
        "get_cluster_status",
        `resource:${RESOURCE_URIS.clusterStatus}`,
      ]);
      for (const line of refusals)
        expect(line.error).toMatch(/^the read token later6@pve!tk gained privileges /);
    } finally {
      await client.close();
      audit.close();
    }
  });
});

describe("readOnlyTokenFix", () => {
  it("names a user of its own, and another one when the token at fault is already mcp@pve's", () => {
    expect(readOnlyTokenFix("root@pam!mcp")).toBe(
      "pveum user add mcp@pve && pveum acl modify / --users mcp@pve --roles PVEAuditor && " +
        "pveum user token add mcp@pve readonly --privsep 1 && " +
        "pveum acl modify / --tokens 'mcp@pve!readonly' --roles PVEAuditor",
    );
    expect(readOnlyTokenFix("mcp@pve!readonly")).toContain("pveum user add mcp-audit@pve &&");
    expect(readOnlyTokenFix("mcp@pve!readonly")).not.toContain(" mcp@pve ");
  });
});
