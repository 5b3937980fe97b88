/**
 * The dangerous-call wrapper in-process: a call that cannot be written to the audit
 * log is refused before anything is sent; a confirmation that fails (the client
 * errs or never answers) refuses; a read-only server cannot be handed a dangerous tool.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/client";
import { ProtocolError, type CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditLog, type AuditRecord } from "../src/auditlog.js";
import { Secret } from "../src/config/secret.js";
import type { Config } from "../src/config/types.js";
import { PveAdmin } from "../src/pve/admin.js";
import { PveReader } from "../src/pve/client.js";
import { createMcpServer } from "../src/server.js";
import { startSimulator, type Simulator } from "../src/simulator/index.js";
import { ALL_TOOLS, buildInventory } from "../src/tools/inventory.js";
import { TokenCheck } from "../src/token-check.js";
import { simConfig } from "./helpers/config.js";

let sim: Simulator;
let config: Config;
let pve: PveReader;
let admin: PveAdmin;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  config = simConfig(sim, {
    auditLogPath: join(mkdtempSync(join(tmpdir(), "server-dangerous-")), "audit.jsonl"),
    dangerous: {
      adminTokenId: sim.tokens.admin.id,
      adminTokenSecret: new Secret(sim.tokens.admin.secret),
      confirm: "required",
    },
  });
  pve = new PveReader(config);
  admin = new PveAdmin({
    ...config,
    tokenId: sim.tokens.admin.id,
    tokenSecret: new Secret(sim.tokens.admin.secret),
  });
});
afterAll(async () => {
  for (const close of closers) await close();
  await pve.close();
  await admin.close();
  await sim.close();
});
beforeEach(() => sim.clearRequests());

/** A server whose audit log is `audit`, and a client that answers confirmations with `elicit`. */
async function connect(audit: AuditLog, elicit?: () => Promise<never>): Promise<Client> {
  const tools = buildInventory(ALL_TOOLS, { dangerousEnabled: true, toolsets: undefined });
  const tokenCheck = new TokenCheck({ pve, admin, config, tools });
  const server = createMcpServer({ config, pve, admin, tokenCheck, tools, audit, version: "test" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "t", version: "1" }, elicit ? { capabilities: { elicitation: {} } } : {});
  if (elicit) client.setRequestHandler("elicitation/create", elicit);
  await client.connect(clientSide);
  closers.push(() => client.close());
  return client;
}

const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("");

describe("dangerous calls and the audit log", () => {
  it("refuses the call, sending nothing, when its audit line cannot be written", async () => {
    const audit = new AuditLog(config.auditLogPath);
    audit.write = () => {
      throw new Error("ENOSPC: no space left on device");
    };
    const client = await connect(audit, () => Promise.reject(new Error("must not be asked")));
    const result = (await client.callTool({
      name: "vm_action",
      arguments: { vmid: 101, action: "start" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("vm_action refused: the audit log");
    expect(text(result)).toContain("ENOSPC");
    expect(sim.requests()).toEqual([]);
  });

  it("a client that fails to answer the confirmation refuses the call as 'no answer'", async () => {
    const audit = new AuditLog(config.auditLogPath);
    const lines: AuditRecord[] = [];
    const write = audit.write.bind(audit);
    audit.write = (record) => {
      lines.push(record);
      write(record);
    };
    const client = await connect(audit, () => Promise.reject(new ProtocolError(-32001, "Request timed out")));
    const result = (await client.callTool({
      name: "vm_action",
      arguments: { vmid: 101, action: "start" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("Not done: no confirmation arrived");
    expect(sim.requests().filter((r) => r.method !== "GET")).toEqual([]);
    expect(lines.map((l) => [l.outcome, l.confirmation])).toEqual([
      ["started", undefined],
      ["error", "no answer"],
    ]);
  });
});

describe("the tier backstop", () => {
  it("a server without an admin client refuses to register a dangerous tool", () => {
    const tools = buildInventory(ALL_TOOLS, { dangerousEnabled: true, toolsets: undefined });
    const readOnly: Config = { ...config, dangerous: undefined };
    const tokenCheck = new TokenCheck({ pve, config: readOnly, tools });
    expect(() =>
      createMcpServer({
        config: readOnly,
        pve,
        tokenCheck,
        tools,
        audit: new AuditLog(config.auditLogPath),
        version: "test",
      }),
    ).toThrow("vm_action is a dangerous tool: it needs dangerous mode and an admin client");
  });
});
