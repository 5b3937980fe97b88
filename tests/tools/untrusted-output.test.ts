/**
 * Untrusted text in what reaches the model, on a cluster with hostile text planted (a
 * guest name, a backup failure in a vzdump log, failed tasks' exit statuses, PVE's
 * error messages): cleaned everywhere (no control, bidi or zero-width character, no
 * remainder of a terminal sequence), quoted where it is one line and fenced where it is
 * several, in the text and the structured answer of security_audit, the audit-report
 * resource, get_backup_coverage, get_backup_jobs, get_tasks and get_task_log, and in a
 * tool's error.
 */
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { backupTools } from "../../src/tools/backup.js";
import { securityAuditTools } from "../../src/tools/security-audit.js";
import { tasksTools } from "../../src/tools/tasks.js";
import {
  CONTROL_OR_INVISIBLE,
  HOSTILE_CLEANED,
  HOSTILE_REMAINDERS,
  HOSTILE_TEXT,
  hostileTextScenario,
} from "../helpers/hostile-text.js";
import { TEST_TOKENS } from "../helpers/scenarios.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

let sim: Simulator;
let tc: ToolClient;

beforeAll(async () => {
  sim = await startSimulator({ scenario: hostileTextScenario() });
  tc = await toolClient(sim, [...securityAuditTools, ...backupTools, ...tasksTools]);
});
afterEach(() => sim.faults.clear());
afterAll(async () => {
  await tc?.close();
  await sim?.close();
});

/** Every string an answer holds, text and structured content alike. */
function stringsOf(result: CallToolResult): string[] {
  const strings: string[] = [];
  JSON.stringify(result, (_key, value: unknown) => {
    if (typeof value === "string") strings.push(value);
    return value;
  });
  return strings;
}

function expectClean(texts: readonly string[]): void {
  for (const text of texts) {
    expect(text).not.toMatch(CONTROL_OR_INVISIBLE);
    for (const remainder of HOSTILE_REMAINDERS) expect(text).not.toContain(remainder);
  }
}

/** The line of `text` that contains `marker`. */
const lineWith = (text: string, marker: string) => text.split("\n").find((l) => l.includes(marker)) ?? "";

describe("backup failure reasons", () => {
  it("security_audit: cleaned, and quoted in the finding", async () => {
    const result = await tc.call("security_audit", { checks: ["backup-failed"] });
    expect(result.isError).toBeFalsy();
    expectClean(stringsOf(result));
    expect(lineWith(result.text, "HIGH backup-failed")).toContain(`: "${HOSTILE_CLEANED}" →`);
  });

  it("the audit-report resource: the same", async () => {
    const { contents } = await tc.client.readResource({ uri: "pve://audit/report" });
    const text = (contents[0] as { text: string }).text;
    expectClean([text]);
    expect(lineWith(text, "HIGH backup-failed")).toContain(`: "${HOSTILE_CLEANED}" →`);
  });

  it("get_backup_coverage: cleaned, and quoted after LAST ATTEMPT FAILED", async () => {
    const result = await tc.call("get_backup_coverage", { limit: 100 });
    expectClean(stringsOf(result));
    expect(lineWith(result.text, "LAST ATTEMPT FAILED")).toMatch(
      new RegExp(`LAST ATTEMPT FAILED [^:]+:\\d\\dZ: "${HOSTILE_CLEANED}"$`),
    );
  });

  it("get_backup_jobs: cleaned, the failed guest's reason and each node's exit status quoted", async () => {
    const result = await tc.call("get_backup_jobs");
    expectClean(stringsOf(result));
    const last = lineWith(result.text, "failed guests:");
    expect(last).toContain(`VM 103: "${HOSTILE_CLEANED}"`);
    expect(last).toContain(`pve1 "job errors${HOSTILE_CLEANED}"`);
  });

  it("get_backup_jobs: a node's failure to answer quotes PVE's words", async () => {
    sim.faults.add({ kind: "status", path: "/cluster/tasks", status: 500, message: HOSTILE_TEXT });
    const result = await tc.call("get_backup_jobs");
    expectClean(stringsOf(result));
    expect(result.text).toContain(
      `task history not read (last runs unknown): PVE answered 500: "${HOSTILE_CLEANED}"`,
    );
  });
});

describe("tasks", () => {
  it("get_tasks: exit statuses cleaned and quoted", async () => {
    const result = await tc.call("get_tasks", { status: "error", type: "vzdump" });
    expectClean(stringsOf(result));
    expect(result.text).toContain(`exit "job errors${HOSTILE_CLEANED}"`);
  });

  it("get_task_log: the log's lines cleaned and fenced, the exit status quoted", async () => {
    const listed = await tc.call("get_tasks", { status: "error", type: "vzdump" });
    const upid = (listed.structuredContent as { tasks: { upid: string }[] }).tasks[0]!.upid;
    const result = await tc.call("get_task_log", { upid });
    expectClean(stringsOf(result));
    expect(result.text).toContain(`FAILED (exit "job errors${HOSTILE_CLEANED}")`);
    const fenced = /«untrusted task log ([0-9a-f]{8}): [^\n]*\n([\s\S]*)\n«end task log \1»$/.exec(
      result.text,
    );
    expect(fenced?.[2]).toContain(`ERROR: Backup of VM 103 failed - ${HOSTILE_CLEANED}`);
  });

  it("get_tasks: a node that cannot be read is noted with PVE's words quoted", async () => {
    // Without Sys.Audit on / the tool asks each node.
    const noSysAudit = await toolClient(sim, tasksTools, TEST_TOKENS.noSysAudit);
    try {
      sim.faults.add({ kind: "status", path: "/nodes/pve1/tasks", status: 500, message: HOSTILE_TEXT });
      const result = await noSysAudit.call("get_tasks");
      expectClean(stringsOf(result));
      expect(result.text).toContain(`note: tasks of pve1 could not be read: PVE said "${HOSTILE_CLEANED}"`);
    } finally {
      await noSysAudit.close();
    }
  });
});

describe("a tool's error", () => {
  it("PVE's message is cleaned and quoted apart from our words", async () => {
    sim.faults.add({
      kind: "status",
      path: "/cluster/backup",
      status: 500,
      message: `Agent error: ${HOSTILE_TEXT}`,
    });
    const result = await tc.call("get_backup_jobs");
    expect(result.isError).toBe(true);
    expectClean(stringsOf(result));
    expect(result.text).toBe(
      `Proxmox error 500 for GET /cluster/backup: PVE said "Agent error: ${HOSTILE_CLEANED}".`,
    );
  });
});

describe("names from the cluster in the audit report", () => {
  it("a user id with terminal sequences is cleaned in security_audit's text and structured answer", async () => {
    const result = await tc.call("security_audit", { checks: ["user-tfa"] });
    expectClean(stringsOf(result));
    const objects = (result.structuredContent as { findings: { object: string }[] }).findings.map(
      (f) => f.object,
    );
    expect(objects).toContain("evil@pve");
  });

  it("and in the audit-report resource", async () => {
    const { contents } = await tc.client.readResource({ uri: "pve://audit/report" });
    const text = (contents[0] as { text: string }).text;
    expectClean([text]);
    expect(text).toContain("MEDIUM user-tfa");
    expect(text).toContain("evil@pve");
  });
});
