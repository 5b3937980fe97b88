/**
 * security_audit (toolset "security"): the whole audit of src/audit in one call. The
 * text answer is one line per finding with its fix; the structured answer is the report
 * with counts per severity. Visible to any token: what the token cannot see is part of
 * the answer (visibility-gap findings), never a reason to hide the tool.
 */
import { z } from "zod";
import { cleanReport } from "../audit/format.js";
import { formatReportCompact, runAudit, severityCounts } from "../audit/index.js";
import { findingSchema, severitySchema } from "../audit/report-schema.js";
import { defineTool, type AnyTool } from "./define.js";
import { paginate, pagingInput, pagingOutput, PAGED_RESULT_CHARS } from "./paging.js";

const severity = severitySchema;

export const securityAudit = defineTool({
  name: "security_audit",
  title: "Security audit",
  description:
    "Audit of tokens, TFA, ACLs, firewall, certificates, updates, backups, containers, disks, storage, HA, failed tasks, EOL: one line per finding with its fix, plus what this token could not see.",
  toolset: "security",
  tier: "read",
  alwaysLoad: true,
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    min_severity: severity.optional().describe("Leave out findings below this (visibility gaps stay)"),
    checks: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{1,39}$/, "a check id looks like token-privsep"))
      .min(1)
      .max(40)
      .optional()
      .describe("Check ids to run (default all), as in a finding's check field"),
    // Findings come most severe first: the first page holds what matters most.
    ...pagingInput(100),
  },
  output: {
    generatedAt: z.string(),
    cluster: z.string().nullable(),
    checksRun: z.number().int(),
    counts: z.object({
      critical: z.number().int(),
      high: z.number().int(),
      medium: z.number().int(),
      low: z.number().int(),
      info: z.number().int(),
    }),
    findings: z.array(findingSchema),
    errors: z.array(z.object({ check: z.string(), message: z.string() })),
    ...pagingOutput,
  },
  // The audit reports what it could not see; it is useful to any token.
  needs: [],
  async handle(args, ctx) {
    const report = cleanReport(
      await runAudit(ctx.pve, {
        ...(args.min_severity ? { minSeverity: args.min_severity } : {}),
        ...(args.checks ? { checks: args.checks } : {}),
        signal: ctx.signal,
      }),
    );
    const page = paginate(report.findings, args.limit, args.offset, "finding");
    return {
      text: formatReportCompact(report, {
        findings: page.items,
        ...(page.meta.truncated || args.offset > 0 ? { note: page.header } : {}),
      }),
      structured: {
        generatedAt: report.generatedAt,
        cluster: report.cluster,
        checksRun: report.checksRun,
        // Counts are over every finding, whatever the page shows.
        counts: severityCounts(report.findings),
        findings: page.items,
        errors: report.errors,
        ...page.meta,
      },
    };
  },
});

export const securityAuditTools: readonly AnyTool[] = [securityAudit];
