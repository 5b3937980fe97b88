/**
 * No secret leaves the server: every tool (and error paths) is run against the
 * simulator, then every tool output (text and structuredContent), the server's
 * stderr and the audit log are scanned for the token secrets and for the secrets
 * planted in the demo cluster's guest configs. Zero hits. Then the audit log itself:
 * one line per call, mode 0600, the fields of the issue, and a hash chain that
 * breaks when a line is edited.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../src/auditlog.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { TEST_TOKENS, testScenario, TICKET_USER } from "../helpers/scenarios.js";
import { serve, simEnv, textOf, type Served } from "./harness.js";

type GuestConfig = Record<string, string | number>;
const demoConfigOf = (vmid: number): GuestConfig => {
  const guest = (demoScenario.guests ?? []).find((g) => g.vmid === vmid);
  if (!guest?.config) throw new Error(`the demo scenario has no config for guest ${vmid}`);
  return guest.config as GuestConfig;
};
const captured = (text: string, pattern: RegExp): string => {
  const value = pattern.exec(text)?.[1];
  if (!value) throw new Error(`the demo scenario no longer matches ${pattern}`);
  return value;
};

/** The secrets planted in the demo's guest configs, read from the scenario data. */
function plantedSecrets(): Record<string, string> {
  const planted: Record<string, string> = {
    "CT 203 root password": captured(String(demoConfigOf(203)["description"]), /root pw: (\S+)/),
    "VM 103 MONITORING_API_KEY": captured(
      String(demoConfigOf(103)["description"]),
      /MONITORING_API_KEY=(\S+)/,
    ),
  };
  for (const guest of demoScenario.guests ?? []) {
    const config = (guest.config ?? {}) as GuestConfig;
    if (config["cipassword"] !== undefined)
      planted[`VM ${guest.vmid} cipassword`] = String(config["cipassword"]);
    if (config["sshkeys"] !== undefined) {
      // PVE stores sshkeys URL-encoded: "ssh-ed25519%20AAAA...%20admin%40lab".
      const keys = decodeURIComponent(String(config["sshkeys"])).split("\n").filter(Boolean);
      for (const [i, key] of keys.entries()) {
        planted[`VM ${guest.vmid} ssh key ${i} blob`] = captured(key, /^\S+\s+(\S+)/);
      }
      planted[`VM ${guest.vmid} sshkeys as stored`] = String(config["sshkeys"]);
    }
  }
  return planted;
}

/** Every token secret and password of the test scenario. */
function credentialSecrets(): Record<string, string> {
  const out: Record<string, string> = { [`${TICKET_USER.userid} password`]: TICKET_USER.password };
  for (const user of testScenario().users ?? []) {
    if (user.password) out[`${user.userid} password`] = user.password;
    for (const token of user.tokens ?? []) out[`${user.userid}!${token.tokenid} secret`] = token.secret;
  }
  return out;
}

/** Leaks in part count too: long secrets are also looked for by a 16-character middle slice. */
function needles(secrets: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  for (const [label, value] of Object.entries(secrets)) {
    out.push([label, value]);
    if (value.length >= 24) {
      const start = Math.floor((value.length - 16) / 2);
      out.push([`${label} (middle)`, value.slice(start, start + 16)]);
    }
  }
  return out;
}

interface Call {
  server: Served;
  tool: string;
  args: Record<string, unknown>;
  result: CallToolResult;
}

let sim: Simulator;
let main: Served;
let wrongSecret: Served;
let oneNode: Served;
const WRONG_SECRET = randomUUID();
const calls: Call[] = [];

async function run(
  server: Served,
  tool: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  const result = await server.call(tool, args);
  calls.push({ server, tool, args, result });
  return result;
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
  main = await serve({ env: simEnv(sim) });
  wrongSecret = await serve({ env: simEnv(sim, { id: sim.tokens.auditor.id, secret: WRONG_SECRET }) });
  oneNode = await serve({ env: simEnv(sim, TEST_TOKENS.oneNode) });

  // Every tool, every guest, every node.
  await run(main, "get_version");
  await run(main, "get_cluster_status");
  await run(main, "get_nodes");
  for (const node of ["pve1", "pve2", "pve3"]) {
    await run(main, "get_node_status", { node });
    await run(main, "get_storage", { node });
  }
  await run(main, "get_storage");
  await run(main, "get_vms", { limit: 100 });
  await run(main, "get_vms", { name: "git" });
  for (const guest of testScenario().guests ?? []) {
    await run(main, "get_vm_status", { vmid: guest.vmid });
    await run(main, "get_vm_config", { vmid: guest.vmid });
  }
  // Error paths: wrong node, unknown guest, malformed answers carrying secret-laden configs.
  await run(main, "get_vm_config", { vmid: 203, node: "pve2" });
  await run(main, "get_vm_config", { vmid: 4242 });
  for (const vmid of [103, 203, 9000]) {
    sim.faults.add({ kind: "truncate", path: `/nodes/pve1/*/${vmid}/config`, times: 1 });
    await run(main, "get_vm_config", { vmid });
  }
  sim.faults.add({ kind: "status", path: "/nodes/pve1/lxc/203/config", status: 500, times: 1 });
  await run(main, "get_vm_config", { vmid: 203 });
  // 401 and 403.
  await run(wrongSecret, "get_version");
  await run(wrongSecret, "get_vm_config", { vmid: 203 });
  await run(oneNode, "get_node_status", { node: "pve1" });
  await run(oneNode, "get_vm_config", { vmid: 203 });
  await run(oneNode, "get_vm_config", { vmid: 9000 });
  // Refused input (never reaches Proxmox).
  await run(oneNode, "get_vm_config", { vmid: "0100" });
  await run(oneNode, "get_node_status", { node: "../access" });
}, 60_000);

afterAll(async () => {
  await Promise.all([main, wrongSecret, oneNode].map((s) => s?.close()));
  await sim?.close();
});

describe("secrets never leave the server", () => {
  it("the planted secrets were really there to leak (the scan is not vacuous)", () => {
    const planted = plantedSecrets();
    expect(planted["CT 203 root password"]).toBe("Winter2026!");
    expect(Object.keys(planted)).toEqual(
      expect.arrayContaining([
        "VM 103 MONITORING_API_KEY",
        "VM 9000 cipassword",
        "VM 9000 ssh key 0 blob",
        // Two URL-encoded keys in one sshkeys value: the second one leaked once.
        "VM 106 ssh key 0 blob",
        "VM 106 ssh key 1 blob",
      ]),
    );
    for (const value of Object.values(planted)) expect(value.length).toBeGreaterThanOrEqual(8);
    // The tools did read those configs: the redaction markers show where the secrets were.
    const configText = (vmid: number) =>
      textOf(
        calls.find((c) => c.server === main && c.tool === "get_vm_config" && c.args["vmid"] === vmid)!.result,
      );
    expect(configText(203)).toContain("root pw: [redacted]");
    expect(configText(103)).toContain("MONITORING_API_KEY=[redacted]");
    expect(configText(9000)).toMatch(/cipassword: \[redacted\][\s\S]*sshkeys: \[redacted\]/);
    expect(configText(106)).toContain("sshkeys: [redacted]");
    // Both successes and failures were produced.
    expect(calls.filter((c) => c.result.isError).length).toBeGreaterThanOrEqual(10);
    expect(calls.filter((c) => !c.result.isError).length).toBeGreaterThanOrEqual(40);
  });

  it("no token secret or planted secret in any output, any stderr, any audit log", () => {
    const secrets: Record<string, string> = {
      ...credentialSecrets(),
      ...plantedSecrets(),
      "the wrong secret tried": WRONG_SECRET,
    };
    expect(secrets[`${sim.tokens.auditor.id} secret`]).toBe(sim.tokens.auditor.secret);
    const haystacks: [string, string][] = [];
    for (const [i, c] of calls.entries()) {
      haystacks.push([`call ${i} ${c.tool} ${JSON.stringify(c.args)} text`, textOf(c.result)]);
      haystacks.push([
        `call ${i} ${c.tool} structuredContent`,
        JSON.stringify(c.result.structuredContent ?? null),
      ]);
      haystacks.push([`call ${i} ${c.tool} whole result`, JSON.stringify(c.result)]);
    }
    for (const [name, server] of Object.entries({ main, wrongSecret, oneNode })) {
      haystacks.push([`${name} stderr`, server.stderr()]);
      haystacks.push([`${name} audit log`, readFileSync(server.auditLog, "utf8")]);
    }
    const hits: string[] = [];
    for (const [where, text] of haystacks) {
      for (const [label, needle] of needles(secrets)) {
        if (text.includes(needle)) hits.push(`${label} in ${where}`);
      }
    }
    expect(hits).toEqual([]);
  });
});

describe("the audit log", () => {
  const FIELDS = ["time", "tool", "tier", "args", "tokenId", "outcome", "durationMs", "pveRequests", "prev"];

  it("has one line per call, in order, with outcome, token id and the PVE requests made", () => {
    const mainCalls = calls.filter((c) => c.server === main);
    const lines = readFileSync(main.auditLog, "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(mainCalls.length);
    for (const [i, line] of lines.entries()) {
      const record = JSON.parse(line) as Record<string, unknown>;
      for (const field of FIELDS) expect(record, `line ${i + 1}: ${field}`).toHaveProperty(field);
      const call = mainCalls[i]!;
      expect(record).toMatchObject({
        tool: call.tool,
        tier: "read",
        args: call.args,
        tokenId: sim.tokens.auditor.id,
        outcome: call.result.isError ? "error" : "ok",
      });
      expect(new Date(record["time"] as string).toISOString()).toBe(record["time"]);
      expect(record["durationMs"]).toBeGreaterThanOrEqual(0);
      expect(record["prev"]).toMatch(/^[0-9a-f]{64}$/);
      if (call.result.isError) expect(record["error"]).toBe(textOf(call.result));
    }
    const vmsLine = JSON.parse(lines[mainCalls.findIndex((c) => c.tool === "get_vms")]!) as Record<
      string,
      unknown
    >;
    expect(vmsLine["pveRequests"]).toEqual([{ method: "GET", path: "/cluster/resources", status: 200 }]);
    const statusLine = JSON.parse(
      lines[mainCalls.findIndex((c) => c.tool === "get_vm_status" && c.args["vmid"] === 100)]!,
    ) as Record<string, unknown>;
    expect(statusLine["pveRequests"]).toEqual([
      { method: "GET", path: "/cluster/resources", status: 200 },
      { method: "GET", path: "/nodes/pve1/qemu/100/status/current", status: 200 },
    ]);
    const offline = JSON.parse(
      lines[mainCalls.findIndex((c) => c.tool === "get_node_status" && c.args["node"] === "pve3")]!,
    ) as Record<string, unknown>;
    expect(offline).toMatchObject({
      outcome: "error",
      pveRequests: [{ path: "/nodes/pve3/status", status: 595 }],
    });
  });

  it("records the 401 and 403 outcomes under the token that was used", () => {
    const denied = readFileSync(oneNode.auditLog, "utf8").split("\n").filter(Boolean);
    expect(JSON.parse(denied[0]!)).toMatchObject({
      tool: "get_node_status",
      outcome: "error",
      tokenId: TEST_TOKENS.oneNode.id,
      pveRequests: [{ path: "/nodes/pve1/status", status: 403 }],
    });
    const refused = readFileSync(wrongSecret.auditLog, "utf8").split("\n").filter(Boolean);
    expect(JSON.parse(refused[0]!)).toMatchObject({ tool: "get_version", outcome: "error" });
    expect((JSON.parse(refused[0]!) as { pveRequests: { status: number }[] }).pveRequests[0]?.status).toBe(
      401,
    );
  });

  it("is created with mode 0600", () => {
    for (const server of [main, wrongSecret, oneNode]) {
      expect((statSync(server.auditLog).mode & 0o777).toString(8)).toBe("600");
    }
  });

  it("is a hash chain: verifyAuditChain returns 0, and the line after an edited or removed line", () => {
    const text = readFileSync(main.auditLog, "utf8");
    expect(verifyAuditChain(text)).toBe(0);
    const lines = text.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);

    const edited = [...lines];
    edited[2] = edited[2]!.replace('"outcome":"ok"', '"outcome":"error"');
    expect(edited[2]).not.toBe(lines[2]);
    expect(verifyAuditChain(edited.join("\n"))).toBe(4);

    const argsEdited = [...lines];
    argsEdited[0] = argsEdited[0]!.replace('"tool":"get_version"', '"tool":"get_nodes"');
    expect(verifyAuditChain(argsEdited.join("\n"))).toBe(2);

    const removed = lines.filter((_, i) => i !== 1);
    expect(verifyAuditChain(removed.join("\n"))).toBe(2);

    const reordered = [lines[1]!, lines[0]!, ...lines.slice(2)];
    expect(verifyAuditChain(reordered.join("\n"))).toBe(1);
  });
});
