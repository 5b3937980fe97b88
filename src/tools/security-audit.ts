/**
 * security_audit (toolset "security"): the whole audit of src/audit in one call. The
 * text answer is one line per finding with its fix; the structured answer is the report
 * with counts per severity. Visible to any token: what the token cannot see is part of
 * the answer (visibility-gap findings), never a reason to hide the tool.
 */
import { z } from "zod";
import { cleanReport } from "../audit/format.js";
import { atLeast, formatReportCompact, runAudit, severityCounts } from "../audit/index.js";
import { findingSchema, severitySchema } from "../audit/report-schema.js";
import { applyWaivers, readWaivers, WaiverFileError, type Waiver } from "../audit/waivers.js";
import { cleanText, LIMITS } from "../untrusted.js";
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
    ...pagingInput(40),
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
    /** Findings accepted in the waivers file (PROXMOX_AUDIT_WAIVERS), with the reason: not in counts. */
    waived: z.array(
      z.object({
        code: z.string(),
        check: z.string(),
        severity,
        object: z.string(),
        reason: z.string(),
        expires: z.string(),
      }),
    ),
    unusedWaivers: z.array(z.object({ code: z.string(), object: z.string(), expires: z.string() })),
    errors: z.array(z.object({ check: z.string(), message: z.string() })),
    ...pagingOutput,
  },
  // The audit reports what it could not see; it is useful to any token.
  needs: [],
  async handle(args, ctx) {
    // Read at every call, before any request: an edited file counts at once, a broken one stops the audit.
    const waivers = ctx.facts.auditWaiversPath ? waiversOf(ctx.facts.auditWaiversPath) : [];
    const audited = cleanReport(
      await runAudit(ctx.read.asSource(), {
        ...(args.checks ? { checks: args.checks } : {}),
        ...(ctx.pbs && ctx.facts.pbs ? { pbs: ctx.pbs.asSource(), pbsName: ctx.facts.pbs.host } : {}),
        signal: ctx.signal,
      }),
    );
    // Waivers see every finding, so one below min_severity is not called unused.
    const waivedReport = applyWaivers(audited, waivers, new Date(audited.generatedAt));
    const report = {
      ...waivedReport,
      findings: atLeast(waivedReport.findings, args.min_severity),
      waived: atLeast(waivedReport.waived, args.min_severity),
    };
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
        waived: report.waived.map((f) => ({
          code: f.code,
          check: f.check,
          severity: f.severity,
          object: f.object,
          reason: cleanText(f.waiver.reason, LIMITS.error),
          expires: f.waiver.expires,
        })),
        unusedWaivers: report.unusedWaivers.map(({ code, object, expires }) => ({ code, object, expires })),
        errors: report.errors,
        ...page.meta,
      },
    };
  },
});

/** The waivers file's waivers; its problems, each with where it is, become the call's error. */
function waiversOf(file: string): Waiver[] {
  try {
    return readWaivers(file) ?? [];
  } catch (err) {
    if (!(err instanceof WaiverFileError)) throw err;
    const problems = err.message.split("\n");
    throw new Error(
      `the waivers file (PROXMOX_AUDIT_WAIVERS) cannot be used, so the audit did not run: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ""}. Fix the file or unset PROXMOX_AUDIT_WAIVERS.`,
    );
  }
}

export const securityAuditTools: readonly AnyTool[] = [securityAudit];
