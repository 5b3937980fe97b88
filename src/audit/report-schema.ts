/**
 * The shapes of the audit's report as data: security_audit's output schema uses the
 * finding, `proxmox-mcp audit --format json` prints the whole report, and its JSON Schema
 * (docs/audit-report.schema.json, generated from this by tests/docs/audit-report-schema.test.ts)
 * is what a script that reads it can rely on.
 */
import { z } from "zod";
import { SEVERITIES, type Severity } from "./types.js";

export const severitySchema = z.enum(SEVERITIES as [Severity, ...Severity[]]);

export const findingSchema = z.object({
  code: z.string().describe("the check's stable code, e.g. PVE-ACC-003 (docs/checks.md)"),
  check: z.string().describe("the check's id, e.g. token-expiry"),
  severity: severitySchema,
  title: z.string(),
  object: z.string().describe("the exact object: a token id, a user, VM 103, a node, an ACL entry..."),
  evidence: z.string().describe("what was seen"),
  remediation: z.string().describe("what to do: a pveum, pvesh, qm or pct line, or a GUI path"),
});

const waiverSchema = z.object({
  code: z.string(),
  object: z.string(),
  reason: z.string(),
  expires: z.string().describe("YYYY-MM-DD: the waiver holds through that day (UTC)"),
});

export const reportSchema = z.object({
  generatedAt: z.string().describe("ISO 8601 time of the audit"),
  cluster: z.string().nullable().describe("the cluster's name, null when not visible"),
  checksRun: z.number().int().nonnegative(),
  findings: z
    .array(findingSchema)
    .describe("most severe first; those titled 'Could not check ...' say what the token could not see"),
  errors: z
    .array(z.object({ check: z.string(), message: z.string() }))
    .describe("checks that failed (network, 5xx): their results are incomplete"),
  waived: z
    .array(findingSchema.extend({ waiver: waiverSchema.pick({ reason: true, expires: true }) }))
    .describe("findings a waiver accepts, until it expires"),
  unusedWaivers: z.array(waiverSchema).describe("waivers that matched no finding of this run"),
});
