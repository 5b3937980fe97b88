/**
 * Waivers in the security_audit tool (PROXMOX_AUDIT_WAIVERS): the file is read at every
 * call, a waived finding leaves the findings and the counts and is listed as waived with
 * its reason, a waiver that matches nothing is named, and a broken file fails the call
 * with its problems before any request reaches Proxmox.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../../src/audit/index.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { securityAuditTools } from "../../src/tools/security-audit.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

let sim: Simulator;
let plain: ToolClient;
let waived: ToolClient;
const file = join(mkdtempSync(join(tmpdir(), "tool-waivers-")), "audit-waivers.json");

interface Structured {
  counts: Record<string, number>;
  findings: Finding[];
  waived: { code: string; object: string; severity: string; reason: string; expires: string }[];
  unusedWaivers: { code: string; object: string; expires: string }[];
}

beforeAll(async () => {
  sim = await startSimulator();
  plain = await toolClient(sim, securityAuditTools);
  waived = await toolClient(sim, securityAuditTools, sim.tokens.auditor, { auditWaiversPath: file });
});

afterAll(async () => {
  await Promise.all([plain?.close(), waived?.close()]);
  await sim?.close();
});

const write = (waivers: unknown) => writeFileSync(file, JSON.stringify({ waivers }));

/** Every page of the answer, as one structured answer, and the first page's text. */
async function audit(tc: ToolClient): Promise<{ out: Structured; text: string; isError: boolean }> {
  const first = await tc.call("security_audit", { limit: 40 });
  if (first.isError) return { out: undefined as never, text: first.text, isError: true };
  const out = first.structuredContent as unknown as Structured & { nextOffset?: number };
  for (let offset = out.nextOffset; offset !== undefined;) {
    const next = (await tc.call("security_audit", { limit: 40, offset }))
      .structuredContent as unknown as typeof out;
    out.findings.push(...next.findings);
    offset = next.nextOffset;
  }
  return { out, text: first.text, isError: false };
}

describe("security_audit with PROXMOX_AUDIT_WAIVERS", () => {
  it("lists a waived finding as waived with its reason, out of the findings and the counts", async () => {
    const { out: before } = await audit(plain);
    const target = before.findings.find((f) => f.severity === "critical")!;
    write([
      { code: target.code, object: target.object, reason: "lab node, rebuilt weekly", expires: "2099-12-31" },
      { code: "PVE-ACC-003", object: "nobody@pve!gone", reason: "old", expires: "2099-12-31" },
    ]);
    const res = await audit(waived);
    expect(res.isError).toBe(false);
    const { out } = res;
    expect(out.findings.some((f) => f.code === target.code && f.object === target.object)).toBe(false);
    expect(out.findings).toHaveLength(before.findings.length - 1);
    expect(out.counts["critical"]).toBe(before.counts["critical"]! - 1);
    expect(out.waived).toEqual([
      {
        code: target.code,
        check: target.check,
        severity: "critical",
        object: target.object,
        reason: "lab node, rebuilt weekly",
        expires: "2099-12-31",
      },
    ]);
    expect(out.unusedWaivers).toEqual([
      { code: "PVE-ACC-003", object: "nobody@pve!gone", expires: "2099-12-31" },
    ]);
    expect(res.text).toContain(
      `WAIVED 1 (accepted in the waivers file, not counted above):\n  ${target.code} ${target.object} (critical, until 2099-12-31): lab node, rebuilt weekly`,
    );
    expect(res.text).toContain(
      "WAIVERS THAT MATCH NO FINDING (fixed or renamed): PVE-ACC-003 nobody@pve!gone",
    );
  });

  it("reads the file at every call: an expired waiver's finding is back", async () => {
    const { out: before } = await audit(plain);
    const target = before.findings.find((f) => f.severity === "critical")!;
    write([{ code: target.code, object: target.object, reason: "accepted", expires: "2020-01-31" }]);
    const { out } = await audit(waived);
    expect(out.waived).toEqual([]);
    const back = out.findings.find((f) => f.code === target.code && f.object === target.object)!;
    expect(back.evidence).toContain("2020-01-31");
  });

  it("fails the call on a broken file, naming each problem, before any request", async () => {
    write([{ code: "PVE-XXX-999", object: "", reason: "x", expires: "soon" }]);
    const requests = sim.requests().length;
    const res = await waived.call("security_audit");
    expect(res.isError).toBe(true);
    expect(res.text).toContain(
      "the waivers file (PROXMOX_AUDIT_WAIVERS) cannot be used, so the audit did not run",
    );
    expect(res.text).toContain("waiver 1: code must be the code of an audit check");
    expect(res.text).toContain("Fix the file or unset PROXMOX_AUDIT_WAIVERS.");
    expect(sim.requests().length).toBe(requests);
  });

  it("fails the call when the configured file is missing", async () => {
    const missing = await toolClient(sim, securityAuditTools, sim.tokens.auditor, {
      auditWaiversPath: join(tmpdir(), "no-such-dir-xyz", "waivers.json"),
    });
    try {
      const res = await missing.call("security_audit");
      expect(res.isError).toBe(true);
      expect(res.text).toContain("no-such-dir-xyz");
    } finally {
      await missing.close();
    }
  });
});
