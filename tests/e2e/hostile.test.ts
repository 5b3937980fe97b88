/**
 * Hostile input table, end to end: every value that would change the meaning of an
 * API path (traversal, query, fragment, encoded slash, look-alike letters, odd
 * numbers) answers isError naming the rule it breaks, and the simulator sees ZERO
 * requests for the call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RULES } from "../../src/pve/formats.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { testScenario } from "../helpers/scenarios.js";
import { serve, simEnv, textOf, type Served } from "./harness.js";

let sim: Simulator;
let server: Served;

beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
  server = await serve({ env: simEnv(sim) });
});

afterAll(async () => {
  await server?.close();
  await sim?.close();
});

beforeEach(() => sim.clearRequests());

/** [label, value]: the label keeps test names readable (a 1000-character name is not). */
const HOSTILE_NODES: [string, unknown][] = [
  ["path traversal ../access", "../access"],
  ["a whole API path with a fragment", "pve/qemu/101/status/stop#"],
  ["an encoded slash %2F", "%2F"],
  ["pve1/../../access", "pve1/../../access"],
  ["a query string pve1?x=1", "pve1?x=1"],
  ["a fragment pve1#x", "pve1#x"],
  ["Cyrillic look-alike рve1", "\u0440ve1"],
  ["Greek look-alike pvе1 (Cyrillic e)", "pv\u04351"],
  ["fullwidth ｐｖｅ１", "\uff50\uff56\uff45\uff11"],
  ["a zero-width space pve1\\u200b", "pve1\u200b"],
  ["a right-to-left override", "\u202epve1"],
  ["empty", ""],
  ["a space", " "],
  ["a trailing space", "pve1 "],
  ["a newline", "pve1\nHost: evil"],
  ["a NUL byte", "pve1\u0000"],
  ["a leading hyphen", "-pve1"],
  ["a trailing hyphen", "pve1-"],
  ["an underscore", "pve_1"],
  ["a dot", "pve1.lab"],
  ["1000 characters", "a".repeat(1000)],
  ["64 characters", "a".repeat(64)],
  ["a number", 1],
  ["null", null],
  ["an array", ["pve1"]],
  ["an object", { node: "pve1" }],
];

const HOSTILE_VMIDS: [string, unknown][] = [
  ["0", 0],
  ["99", 99],
  ['"0100"', "0100"],
  ["-1", -1],
  ['"-1"', "-1"],
  ['"1e3"', "1e3"],
  ["1000000000", 1_000_000_000],
  ['"1000000000"', "1000000000"],
  ['"100 "', "100 "],
  ['" 100"', " 100"],
  ["100.5", 100.5],
  ['"100.5"', "100.5"],
  ['"+100"', "+100"],
  ['"0x64"', "0x64"],
  ['"100/status"', "100/status"],
  ['"../100"', "../100"],
  ['"100%2F"', "100%2F"],
  ['"100?x=1"', "100?x=1"],
  ["Arabic-Indic digits", "\u0661\u0660\u0660"],
  ["fullwidth digits", "\uff11\uff10\uff10"],
  ["empty", ""],
  ["1000 characters", "1".repeat(1000)],
  ["1e21", 1e21],
  ["null", null],
  ["true", true],
  ["an array", [100]],
];

/** Calls `tool`, expects isError with `rule` in the text, and no request at all on the simulator. */
async function refused(tool: string, args: Record<string, unknown>, rule: string, value: unknown) {
  const result = await server.call(tool, args);
  const text = textOf(result);
  expect(result.isError, text).toBe(true);
  expect(text).toContain(rule);
  // The rule, never the offending value (it may be hostile): checked where the value is not in the rule.
  if (typeof value === "string" && value.trim().length > 1 && !rule.includes(value)) {
    expect(text).not.toContain(value);
  }
  expect(result.structuredContent).toBeUndefined();
  expect(sim.requests()).toEqual([]);
}

describe("hostile node names", () => {
  it.each(HOSTILE_NODES)("get_node_status refuses %s", async (_label, node) => {
    await refused("get_node_status", { node }, RULES.node, node);
  });

  it.each(HOSTILE_NODES)("get_vms refuses the node filter %s", async (_label, node) => {
    await refused("get_vms", { node }, RULES.node, node);
  });

  it.each(HOSTILE_NODES)("get_storage refuses %s", async (_label, node) => {
    await refused("get_storage", { node }, RULES.node, node);
  });

  it.each(HOSTILE_NODES)("get_vm_status (vmid 100) refuses the node %s", async (_label, node) => {
    await refused("get_vm_status", { vmid: 100, node }, RULES.node, node);
  });

  it.each(HOSTILE_NODES)("get_vm_config (vmid 100) refuses the node %s", async (_label, node) => {
    await refused("get_vm_config", { vmid: 100, node }, RULES.node, node);
  });
});

describe("hostile VM ids", () => {
  it.each(HOSTILE_VMIDS)("get_vm_status refuses %s", async (_label, vmid) => {
    await refused("get_vm_status", { vmid }, RULES.vmid, vmid);
  });

  it.each(HOSTILE_VMIDS)("get_vm_config refuses %s", async (_label, vmid) => {
    await refused("get_vm_config", { vmid }, RULES.vmid, vmid);
  });

  it("a missing vmid is refused the same way", async () => {
    await refused("get_vm_status", {}, RULES.vmid, undefined);
  });
});

describe("the boundaries that are valid do reach Proxmox (so zero requests above means something)", () => {
  it.each([
    ["node 63 characters", "get_node_status", { node: "a".repeat(63) }, `/nodes/${"a".repeat(63)}/status`],
    ["node with inner hyphen", "get_node_status", { node: "pve-1" }, "/nodes/pve-1/status"],
    ["node pve1", "get_node_status", { node: "pve1" }, "/nodes/pve1/status"],
    ["vmid 100 as a string", "get_vm_status", { vmid: "100" }, "/cluster/resources"],
    ["vmid 999999999", "get_vm_config", { vmid: 999_999_999 }, "/cluster/resources"],
  ])("%s", async (_label, tool, args, path) => {
    await server.call(tool, args);
    expect(sim.requests().map((r) => r.path)).toContain(path);
  });
});
