/**
 * The report as SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), so CI
 * systems and security dashboards can show the findings: one rule per check (its code,
 * title, what it needs, where to read up), one result per finding, the object as a
 * logical location (a cluster has no files), waived findings as accepted suppressions,
 * failed checks as error notifications of the run.
 */
import { createHash } from "node:crypto";
import { AUDIT_CHECKS } from "./checks/index.js";
import type { Finding, Severity } from "./types.js";
import type { WaivedFinding, WaivedReport } from "./waivers.js";

type SarifLevel = "error" | "warning" | "note";

const LEVELS: Record<Severity, SarifLevel> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
  info: "note",
};

/** GitHub code scanning ranks rules by this (0-10): critical >= 9, high >= 7, medium >= 4. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
  info: "0.0",
};

export function toSarif(report: WaivedReport, tool: { version: string }): object {
  const ruleIndex = new Map(AUDIT_CHECKS.map((check, index) => [check.code, index]));
  const cluster = report.cluster ?? "proxmox-ve";
  const result = (finding: Finding | WaivedFinding) => ({
    ruleId: finding.code,
    ruleIndex: ruleIndex.get(finding.code),
    level: LEVELS[finding.severity],
    message: { text: `${finding.title}. Seen: ${finding.evidence}. Fix: ${finding.remediation}` },
    locations: [
      {
        logicalLocations: [
          { name: finding.object, fullyQualifiedName: `${cluster}/${finding.object}`, kind: "resource" },
        ],
      },
    ],
    // The same finding in the next run has the same fingerprint: dashboards follow it over time.
    partialFingerprints: {
      "proxmoxFinding/v1": createHash("sha256")
        .update(`${finding.code}\u0000${finding.object}`)
        .digest("hex"),
    },
    properties: {
      check: finding.check,
      severity: finding.severity,
      object: finding.object,
      evidence: finding.evidence,
      remediation: finding.remediation,
    },
    ...("waiver" in finding
      ? {
          suppressions: [
            {
              kind: "external",
              status: "accepted",
              justification: `${finding.waiver.reason} (waived until ${finding.waiver.expires})`,
            },
          ],
        }
      : {}),
  });
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "proxmox-mcp-hardened",
            semanticVersion: tool.version,
            informationUri: "https://pve.proxmox.com/pve-docs/",
            rules: AUDIT_CHECKS.map((check) => ({
              id: check.code,
              name: check.id,
              shortDescription: { text: check.title },
              fullDescription: { text: `${check.title} (needs ${check.needs}).` },
              helpUri: check.references[0],
              help: { text: `Needs ${check.needs}. Read up: ${check.references.join(" ")}` },
              defaultConfiguration: { level: LEVELS[check.severity] },
              properties: {
                tags: ["security", "proxmox"],
                "security-severity": SECURITY_SEVERITY[check.severity],
              },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            endTimeUtc: report.generatedAt,
            toolExecutionNotifications: report.errors.map((e) => ({
              level: "error",
              message: { text: e.message },
              associatedRule: { id: AUDIT_CHECKS.find((c) => c.id === e.check)?.code ?? e.check },
            })),
          },
        ],
        results: [...report.findings.map(result), ...report.waived.map(result)],
        properties: {
          cluster: report.cluster,
          unusedWaivers: report.unusedWaivers,
        },
      },
    ],
  };
}
