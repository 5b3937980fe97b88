/**
 * The handler wrapper in-process: calls refused before the handler (bad arguments,
 * unknown tools) still get an audit line, and successful calls list their PVE requests.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog, verifyAuditChain } from "../src/auditlog.js";
import { PveReader } from "../src/pve/client.js";
import { createMcpServer, recordPveRequest } from "../src/server.js";
import { startSimulator, type Simulator } from "../src/simulator/index.js";
import { catalogEntry } from "../src/tools/catalog.js";
import { annotationsFor, metaFor } from "../src/tools/define.js";
import { ALL_TOOLS, buildInventory } from "../src/tools/inventory.js";

const READ_TOOLS = buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: undefined });
import { TokenCheck } from "../src/token-check.js";
import { simConfig } from "./helpers/config.js";

let sim: Simulator;
let client: Client;
let pve: PveReader;
let audit: AuditLog;
const auditPath = join(mkdtempSync(join(tmpdir(), "server-")), "audit.jsonl");

beforeAll(async () => {
  sim = await startSimulator();
  const config = simConfig(sim, { auditLogPath: auditPath });
  pve = new PveReader({ ...config, onRequest: recordPveRequest });
  audit = new AuditLog(auditPath);
  const tokenCheck = new TokenCheck({ pve, config, tools: READ_TOOLS });
  await tokenCheck.ensure(); // as the CLI does at start, outside any call
  const server = createMcpServer({ config, pve, tokenCheck, tools: READ_TOOLS, audit, version: "test" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: "test", version: "1" });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client.close();
  await pve.close();
  audit.close();
  await sim.close();
});

function auditLines(): Record<string, unknown>[] {
  return readFileSync(auditPath, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("tools/list", () => {
  it("lists every tool with the annotations and _meta of its tier, and its output schema", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(READ_TOOLS.map((t) => t.name));
    for (const listed of tools) {
      const tool = READ_TOOLS.find((t) => t.name === listed.name)!;
      expect(listed.annotations, listed.name).toMatchObject(annotationsFor(tool.tier));
      expect(listed._meta ?? {}, listed.name).toMatchObject(metaFor(tool.tier) ?? {});
      expect(listed.outputSchema, listed.name).toBeDefined();
    }
  });

  it("serves the precomputed catalog, in inventory order, and the client accepts every answer against it", async () => {
    const { tools } = await client.listTools();
    expect(tools).toEqual(READ_TOOLS.map(catalogEntry));
    // The SDK client validates structuredContent against the listed (slim) output schema.
    const res = await client.callTool({ name: "get_vms", arguments: {} });
    expect(res.isError).toBeFalsy();
    expect((res.structuredContent as { guests?: unknown }).guests).toEqual(expect.any(Array));
  });
});

describe("instructions", () => {
  it("fit Claude Code's 2 KB and name the entry tools and the untrusted-data rule first", () => {
    const instructions = client.getInstructions() ?? "";
    expect(Buffer.byteLength(instructions)).toBeLessThanOrEqual(2048);
    const first = instructions.slice(0, 600);
    for (const fact of ["Read-only", "get_version", "security_audit", "«untrusted"])
      expect(first).toContain(fact);
  });
});

describe("audit of every call", () => {
  it("logs a successful call with the PVE requests it made", async () => {
    const res = await client.callTool({ name: "get_vm_status", arguments: { vmid: 100 } });
    expect(res.isError).toBeFalsy();
    expect(auditLines().at(-1)).toMatchObject({
      tool: "get_vm_status",
      outcome: "ok",
      args: { vmid: 100 },
      pveRequests: [
        { method: "GET", path: "/cluster/resources", status: 200 },
        { method: "GET", path: "/nodes/pve1/qemu/100/status/current", status: 200 },
      ],
    });
  });

  it("logs calls the SDK refuses before the handler: invalid arguments and unknown tools", async () => {
    sim.clearRequests();
    const bad = await client.callTool({ name: "get_node_status", arguments: { node: "../access" } });
    expect(bad.isError).toBe(true);
    expect(auditLines().at(-1)).toMatchObject({
      tool: "get_node_status",
      tier: "read",
      outcome: "rejected",
      args: { node: "../access" },
      pveRequests: [],
    });
    const unknown = await client.callTool({ name: "vm_action", arguments: { vmid: 100, action: "stop" } });
    expect(unknown.isError).toBe(true);
    expect(auditLines().at(-1)).toMatchObject({ tool: "vm_action", tier: "unknown", outcome: "rejected" });
    expect(sim.requests()).toEqual([]);
    expect(verifyAuditChain(readFileSync(auditPath, "utf8"))).toBe(0);
  });

  it("logs a failing call once, as an error", async () => {
    const before = auditLines().length;
    const res = await client.callTool({ name: "get_node_status", arguments: { node: "pve3" } });
    expect(res.isError).toBe(true);
    const lines = auditLines();
    expect(lines.length).toBe(before + 1);
    expect(lines.at(-1)).toMatchObject({ tool: "get_node_status", outcome: "error" });
  });
});
