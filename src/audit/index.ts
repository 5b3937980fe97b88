/**
 * The security audit (issue 5 item 3): a table of small checks run with bounded
 * concurrency over one cache of PVE reads. Used by the security_audit tool, the
 * `proxmox-mcp audit` command and the pve://audit/report resource.
 *
 * What the token could not see is reported, never skipped: each visibility gap is one
 * finding of severity "info" whose title starts with "Could not check " (isGapFinding),
 * naming what and the privilege that would show it. Gaps are kept whatever minSeverity.
 * A check that fails (network, 5xx, a node that does not answer) lands in `errors`; the
 * other checks still run. At most `concurrency` (default 4) PVE requests are in flight.
 *
 * With a Proxmox Backup Server source (RunAuditOptions.pbs) the PBS checks (service
 * "pbs", codes PBS-...) run too, over a PBS cache and limiter of their own, joined with
 * PVE's guests and backup jobs where that tells more; without one none of them runs.
 */
export {
  SEVERITIES,
  defineCheck,
  type AuditCheck,
  type AuditContext,
  type AuditReader,
  type AuditReport,
  type PbsAuditContext,
  type Finding,
  type RunAuditOptions,
  type Severity,
} from "./types.js";
export { AUDIT_CHECKS } from "./checks/index.js";
export { runAudit, selectChecks, compareFindings, atLeast, DEFAULT_CONCURRENCY } from "./run.js";
export { isGapFinding, GAP_TITLE_PREFIX } from "./context.js";
export { formatReport, formatReportCompact, severityCounts, countsText } from "./format.js";
export { PVE_END_OF_LIFE, endOfLife } from "./eol.js";
