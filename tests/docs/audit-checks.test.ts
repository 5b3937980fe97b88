/**
 * docs/checks.md, the audit's check catalogue, is generated from the checks themselves
 * (code, id, severity, title, what it needs, where to read up) and from an audit of the
 * demo cluster (how many findings each check makes there, with the root token and with
 * the PVEAuditor token; the PBS checks on the demo PBS, with its root and Audit tokens):
 * this test fails when the file is out of date, and with
 * UPDATE_DOCS=1 (npm run docs) rewrites it, through prettier with the repo's settings.
 * The clock is pinned to the demo's "today", as in tests/audit/demo.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { AUDIT_CHECKS, isGapFinding, runAudit, type AuditReport } from "../../src/audit/index.js";
import { Secret } from "../../src/config/secret.js";
import { PbsReader } from "../../src/pbs/client.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { startPbsSimulator, type PbsSimulator } from "../../src/simulator/pbs/index.js";
import { readerFor } from "../audit/reader.js";

const CATALOGUE = fileURLToPath(new URL("../../docs/checks.md", import.meta.url));

const cell = (text: string) => text.replaceAll("|", "\\|");

let sim: Simulator;
let pbs: PbsSimulator;
let root: AuditReport;
let auditor: AuditReport;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-21T10:00:00Z") });
  [sim, pbs] = await Promise.all([startSimulator(), startPbsSimulator()]);
  const asRoot = readerFor(sim, sim.tokens.root);
  const asAuditor = readerFor(sim, sim.tokens.auditor);
  const pbsReader = (token: { id: string; secret: string }) =>
    new PbsReader({
      host: pbs.host,
      port: pbs.port,
      tokenId: token.id,
      tokenSecret: new Secret(token.secret),
      tls: { mode: "fingerprint", fingerprint: pbs.fingerprint },
      timeoutMs: 10_000,
    });
  const pbsRoot = pbsReader(pbs.tokens.root);
  const pbsAuditor = pbsReader(pbs.tokens.auditor);
  [root, auditor] = [
    await runAudit(asRoot, { pbs: pbsRoot }),
    await runAudit(asAuditor, { pbs: pbsAuditor }),
  ];
  await Promise.all([asRoot.close(), asAuditor.close(), pbsRoot.close(), pbsAuditor.close()]);
});

afterAll(async () => {
  await Promise.all([sim?.close(), pbs?.close()]);
  vi.useRealTimers();
});

/** "3 / 2": findings of a check on the demo with the root token / the auditor token ("+1 gap" when it could not see all). */
function onTheDemo(check: string): string {
  const count = (report: AuditReport) =>
    report.findings.filter((f) => f.check === check && !isGapFinding(f)).length;
  const gaps = auditor.findings.filter((f) => f.check === check && isGapFinding(f)).length;
  return `${count(root)} / ${count(auditor)}${gaps > 0 ? ` (+${gaps} gap${gaps > 1 ? "s" : ""})` : ""}`;
}

const PBS_CHECKS = AUDIT_CHECKS.filter((c) => c.service === "pbs");
const PVE_CHECKS = AUDIT_CHECKS.filter((c) => c.service !== "pbs");

const nonGap = (report: AuditReport) => report.findings.filter((f) => !isGapFinding(f)).length;

async function renderedCatalogue(): Promise<string> {
  const rows = AUDIT_CHECKS.map(
    (c) =>
      `| ${c.code} | \`${c.id}\` | ${c.severity} | ${cell(c.title)} | ${cell(c.needs)} | ${onTheDemo(c.id)} | ${c.references
        .map((url) => `<${url}>`)
        .join(" ")} |`,
  );
  const markdown = [
    "# Audit checks",
    "",
    "<!-- Generated from src/audit/checks by tests/docs/audit-checks.test.ts: run npm run docs after changing a check. -->",
    "",
    `\`proxmox-mcp audit\` and the \`security_audit\` tool run ${PVE_CHECKS.length} checks, and ${PBS_CHECKS.length} more on a Proxmox Backup`,
    "Server when one is configured (`PBS_HOST`; codes PBS-...). A check's code never changes:",
    "waivers (`--waivers`) and SARIF reports (`--format sarif`) name findings by it. The severity is that of a typical",
    "finding; a finding may carry another one (the worst case of a check is often more severe). What a check needs is",
    "what the read token must hold to see everything it looks at: without it, the report says what it could not check",
    "(a finding of severity info), never nothing.",
    "",
    "The column _on the demo_ counts each check's findings on the built-in demo cluster (`proxmox-mcp audit --demo`),",
    "with its root token / with its PVEAuditor token, and the visibility gaps the PVEAuditor token has there; a PBS check,",
    "on the demo PBS beside it, with that PBS's root token / its `Audit` token (mcp@pbs!readonly). In all:",
    `${nonGap(root)} findings with the root token, ${nonGap(auditor)} and ${auditor.findings.filter(isGapFinding).length} gaps`,
    "with the PVEAuditor token. The demo plants something for every check but these, tested on scenarios of their own:",
    ...Object.entries(NOT_PLANTED).map(([id, why]) => `\`${id}\` (${why});`),
    "and a decoy beside each tricky one (something that looks alike but is fine), which no check may flag.",
    "",
    "| code | check | severity | what it finds | needs | on the demo | read up |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  return format(markdown, { ...(await resolveConfig(CATALOGUE)), parser: "markdown" });
}

/**
 * Checks whose finding the demo does not plant, because it would change what the demo is
 * for; each is tested on a scenario of its own (tests/audit/).
 */
const NOT_PLANTED: Record<string, string> = {
  "cluster-quorum": "a cluster without quorum refuses every change: the demo could not show anything else",
  "corosync-crypto": "the demo keeps pvecm's defaults (encrypted) as a decoy; tests/audit/corosync.test.ts",
  "cluster-even-votes": "the demo has three nodes; tests/audit/storage-nodes.test.ts",
  subscription: "both demo repository set-ups are right, as decoys; tests/audit/checks.test.ts",
  "ha-error": "the demo's HA resources are healthy, as decoys; tests/audit/checks.test.ts",
  "pve-eol": "the demo runs a supported release; tests/audit/checks.test.ts",
  "firewall-node": "the demo's host firewalls are on, as decoys; tests/audit/checks.test.ts",
  "pbs-orphan-group":
    "every backup group of the demo PBS belongs to a guest of the demo cluster; tests/audit/pbs-logic.test.ts",
  "pbs-token-owner-inactive":
    "the demo PBS's disabled user former@pbs owns no token, as a decoy; tests/audit/pbs-logic.test.ts",
};

it("every other check finds what the demo plants for it (with the root token)", () => {
  const silent = AUDIT_CHECKS.filter(
    (c) => !(c.id in NOT_PLANTED) && !root.findings.some((f) => f.check === c.id),
  ).map((c) => c.id);
  expect(silent, "checks without a planted instance in src/simulator/scenarios/demo.ts").toEqual([]);
});

it("docs/checks.md lists every audit check as the code defines it", async () => {
  const expected = await renderedCatalogue();
  if (process.env["UPDATE_DOCS"] === "1") {
    writeFileSync(CATALOGUE, expected);
    return;
  }
  expect(readFileSync(CATALOGUE, "utf8"), "docs/checks.md is out of date: run npm run docs").toBe(expected);
});
