/**
 * The report as SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), so CI
 * systems and security dashboards can show the findings: one rule per check (its code,
 * title, what it needs, where to read up), one result per finding, the object as a
 * logical location and a stable path, waived findings as accepted suppressions; what the
 * token could not see and checks that failed as notifications of the run.
 */
import { createHash } from "node:crypto";
import { AUDIT_CHECKS } from "./checks/index.js";
import { isGapFinding } from "./context.js";
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

/** A path segment made of the name: letters, digits and . _ - kept, anything else as -. */
function uriPart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "-";
}

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
        // A cluster has no source files; code scanning services want a physical location
        // anyway: a stable path per object, beside the logical location that says what it is.
        physicalLocation: {
          artifactLocation: { uri: `proxmox/${uriPart(cluster)}/${uriPart(finding.object)}` },
          region: { startLine: 1 },
        },
        logicalLocations: [
          { name: finding.object, fullyQualifiedName: `${cluster}/${finding.object}`, kind: "resource" },
        ],
      },
    ],
    // The same finding in the next run has the same fingerprint: dashboards follow it over time.
    partialFingerprints: {
      "proxmoxFinding/v1": createHash("sha256")
        .update([cluster, finding.code, finding.object, finding.severity].join("\u0000"))
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
        automationDetails: { id: `proxmox-audit/${uriPart(cluster)}/` },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            startTimeUtc: report.generatedAt,
            // What the token could not see, and checks that failed, are about the run, not
            // findings: as results they would carry their check's severity in dashboards.
            toolExecutionNotifications: [
              ...report.findings.filter(isGapFinding).map((gap) => ({
                level: "warning",
                message: { text: `${gap.title}. ${gap.remediation}` },
                associatedRule: { id: gap.code },
              })),
              ...report.errors.map((e) => ({
                level: "error",
                message: { text: e.message },
                associatedRule: { id: AUDIT_CHECKS.find((c) => c.id === e.check)?.code ?? e.check },
              })),
            ],
          },
        ],
        results: [...report.findings.filter((f) => !isGapFinding(f)), ...report.waived].map(result),
        properties: {
          cluster: report.cluster,
          unusedWaivers: report.unusedWaivers,
        },
      },
    ],
  };
}
