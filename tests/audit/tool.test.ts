/**
 * The security_audit tool through the real server wrapper and an SDK client (which
 * checks structuredContent against the output schema), with the demo's auditor token:
 * the report as structured content with counts, the compact text, its size, the
 * filters, and hostile inputs refused before any request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_CHECKS, formatReportCompact, runAudit, type Finding } from "../../src/audit/index.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { securityAudit, securityAuditTools } from "../../src/tools/security-audit.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";
import { readerFor } from "./reader.js";

let sim: Simulator;
let tc: ToolClient;

beforeAll(async () => {
  sim = await startSimulator();
  tc = await toolClient(sim, securityAuditTools);
});

afterAll(async () => {
  await tc?.close();
  await sim?.close();
});

interface Structured {
  generatedAt: string;
  cluster: string | null;
  checksRun: number;
  counts: Record<string, number>;
  findings: Finding[];
  errors: unknown[];
}

describe("security_audit", () => {
  it("is a read tool of the security toolset, visible to any token, with a short description", async () => {
    const { tools } = await tc.client.listTools();
    const tool = tools.find((t) => t.name === "security_audit")!;
    expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(securityAudit.toolset).toBe("security");
    expect(securityAudit.needs).toEqual([]);
    expect(tool.description!.length).toBeLessThanOrEqual(200);
    expect(tool.outputSchema).toBeDefined();
  });

  it("answers the report (counts per severity) and one compact line per finding; the wrapper changes nothing", async () => {
    const res = await tc.call("security_audit");
    expect(res.isError).toBeFalsy();
    const out = res.structuredContent as unknown as Structured & { total: number; returned: number };
    expect(out.cluster).toBe("lab");
    expect(out.checksRun).toBe(AUDIT_CHECKS.filter((c) => c.service !== "pbs").length);
    expect(out.errors).toEqual([]);
    // Counts cover every finding; the first page holds the 40 most severe.
    expect(Object.values(out.counts).reduce((a, b) => a + b, 0)).toBe(out.total);
    expect(out.returned).toBe(Math.min(40, out.total));
    expect(out.counts).toMatchObject({ critical: 2, info: 3 });

    // The same audit run directly: redaction by the server wrapper altered no finding.
    const reader = readerFor(sim, sim.tokens.auditor);
    // At the tool's own instant: titles carry relative times ("29 h ago").
    const direct = await runAudit(reader, { now: new Date(out.generatedAt) });
    await reader.close();
    expect(out.findings).toEqual(direct.findings.slice(0, 40));
    const page = formatReportCompact(
      { ...direct, generatedAt: out.generatedAt },
      {
        findings: direct.findings.slice(0, 40),
      },
    );
    expect(res.text.split("\n").slice(1)).toEqual(page.split("\n").slice(1));

    const lines = res.text.split("\n");
    expect(lines[0]).toMatch(/^Security audit of cluster lab at .*: \d+ checks; 2 critical, /);
    expect(res.text).toContain(
      "HIGH token-privsep ops@pve!ansible: privsep=0: it holds every privilege of ops@pve → give it its own narrow ACL, then: pveum user token modify ops@pve ansible --privsep 1",
    );

    // Token cost on the demo (reported in the closing note): bounded, so a regression shows.
    const json = JSON.stringify(res.structuredContent);
    // A page of 40 findings (58 checks, 101 findings here): about 210 characters of text a
    // finding, one line each; the server cuts text at 20,000.
    expect(res.text.length).toBeLessThan(10_000);
    expect(json.length).toBeLessThan(20_000);
  });

  it("min_severity and checks narrow the answer; gaps stay", async () => {
    const res = await tc.call("security_audit", {
      min_severity: "critical",
      checks: ["acl-broad-admin", "updates-pending"],
    });
    const out = res.structuredContent as unknown as Structured;
    expect(out.checksRun).toBe(2);
    expect(out.findings.map((f) => `${f.severity} ${f.check} ${f.object}`)).toEqual([
      "critical acl-broad-admin @operators: Administrator on /",
      "critical acl-broad-admin automation@pve: Administrator on /",
      "info updates-pending pending updates on pve1, pve2",
    ]);
    expect(res.text.split("\n")).toHaveLength(4);
  });

  it("pages the findings (most severe first) with totals and a truncation marker; counts cover all", async () => {
    const all = (await tc.call("security_audit")).structuredContent as unknown as Structured & {
      total: number;
    };
    const first = await tc.call("security_audit", { limit: 10 });
    const page1 = first.structuredContent as unknown as Structured & Record<string, unknown>;
    expect(page1).toMatchObject({
      total: all.total,
      offset: 0,
      returned: 10,
      truncated: true,
      nextOffset: 10,
    });
    expect(page1.counts).toEqual(all.counts);
    expect(page1.findings).toEqual(all.findings.slice(0, 10));
    expect(first.text.split("\n")[0]).toContain(
      `${all.total} finding(s) match; showing 1-10 (TRUNCATED: call again with offset=10)`,
    );
    const second = (await tc.call("security_audit", { limit: 10, offset: 10 }))
      .structuredContent as unknown as Structured;
    expect(second.findings).toEqual(all.findings.slice(10, 20));
  });

  it.each([
    ["a limit over 100", { limit: 101 }, /limit/],
    ["a negative offset", { offset: -1 }, /offset/],
    [
      "an unknown check id",
      { checks: ["no-such-check"] },
      /unknown audit check\(s\) "no-such-check"; known checks: token-privsep, /,
    ],
    ["a path in a check id", { checks: ["../../access"] }, /check id looks like token-privsep/],
    ["a query in a check id", { checks: ["token-privsep?x=1"] }, /check id looks like token-privsep/],
    ["an empty check list", { checks: [] }, /checks/],
    ["too many check ids", { checks: Array.from({ length: 41 }, () => "token-privsep") }, /checks/],
    ["a check id that is not in a list", { checks: "token-privsep" }, /checks/],
    ["an unknown severity", { min_severity: "extreme" }, /min_severity/],
  ])("refuses %s before any request", async (_label, args, message) => {
    await tc.call("security_audit", { checks: ["node-offline"] }); // the start-up token check is done
    sim.clearRequests();
    const res = await tc.call("security_audit", args as Record<string, unknown>);
    expect(res.isError).toBe(true);
    expect(res.text).toMatch(message);
    expect(sim.requests()).toEqual([]);
  });
});
