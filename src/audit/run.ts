/**
 * Runs the audit: the selected checks with bounded concurrency over one shared run
 * (cache + request limiter), each check's failure kept in `errors` instead of ending
 * the run, visibility gaps merged (one finding per gap, whichever checks hit it).
 */
import { AUDIT_CHECKS } from "./checks/index.js";
import { mapLimit } from "../pve/model/concurrency.js";
import { isRefusal } from "../pve/model/visibility.js";
import { cleanText } from "../untrusted.js";
import { AuditRun, errorMessage, isGapFinding, refusalGap } from "./context.js";
import { buildInventory } from "./inventory.js";
import {
  SEVERITIES,
  type AuditCheck,
  type AuditReader,
  type AuditReport,
  type CheckFinding,
  type Finding,
  type RunAuditOptions,
} from "./types.js";

export const DEFAULT_CONCURRENCY = 4;

/**
 * The checks to run; unknown ids are an error that lists the known ones. The PBS checks
 * (service "pbs") are left out unless `pbs` is true (the audit has a PBS source); naming
 * one without it is an error too.
 */
export function selectChecks(
  ids: readonly string[] | undefined,
  { pbs = false }: { pbs?: boolean } = {},
): readonly AuditCheck[] {
  const available = pbs ? AUDIT_CHECKS : AUDIT_CHECKS.filter((c) => c.service !== "pbs");
  if (!ids || ids.length === 0) return available;
  const known = AUDIT_CHECKS.map((c) => c.id);
  const unknown = [...new Set(ids.filter((id) => !known.includes(id)))];
  const pbsOnly = [...new Set(ids.filter((id) => known.includes(id) && !available.some((c) => c.id === id)))];
  if (unknown.length > 0) {
    throw new Error(
      `unknown audit check(s) ${unknown.map((id) => JSON.stringify(id.slice(0, 60))).join(", ")}; known checks: ${known.join(", ")}`,
    );
  }
  if (pbsOnly.length > 0) {
    throw new Error(
      `audit check(s) ${pbsOnly.join(", ")} audit a Proxmox Backup Server: configure one (PBS_HOST, PBS_TOKEN_ID, PBS_TOKEN_SECRET) to run them`,
    );
  }
  return available.filter((c) => ids.includes(c.id));
}

const rank = (s: Finding["severity"]) => SEVERITIES.indexOf(s);

/** Most severe first, then check id, then object (numbers in order: VM 99 before VM 100). */
export function compareFindings(a: CheckFinding, b: CheckFinding): number {
  return (
    rank(a.severity) - rank(b.severity) ||
    (a.check < b.check ? -1 : a.check > b.check ? 1 : 0) ||
    a.object.localeCompare(b.object, "en", { numeric: true }) ||
    a.title.localeCompare(b.title, "en", { numeric: true })
  );
}

export async function runAudit(pve: AuditReader, options: RunAuditOptions = {}): Promise<AuditReport> {
  const checks = selectChecks(options.checks, { pbs: options.pbs !== undefined });
  const wanted = options.concurrency ?? DEFAULT_CONCURRENCY;
  const concurrency = Number.isFinite(wanted) ? Math.max(1, Math.floor(wanted)) : DEFAULT_CONCURRENCY;
  const now = options.now ?? new Date();
  const { signal } = options;
  signal?.throwIfAborted();
  const run = new AuditRun(pve, concurrency, now, signal, options.pbs, options.pbsName);

  const results = await mapLimit(checks, concurrency, async (check) => {
    const { ctx, gaps, failures } = run.contextFor(check);
    let findings: CheckFinding[] = [];
    try {
      findings = await check.run(ctx);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // A 403 no check turned into a gap itself is still a gap: never an error, never a pass.
      if (isRefusal(err)) {
        gaps.push(refusalGap(check.id, `${check.id} (${check.title})`, err));
      } else {
        failures.push(errorMessage(err));
      }
    }
    return { check, findings, gaps, failures };
  });

  // One finding per gap, attributed to the first check (by id) that hit it.
  const gapKeys = new Set<string>();
  const gaps = results
    .flatMap((r) => r.gaps)
    .sort(compareFindings)
    .filter((g) => {
      const key = `${g.object}\u0000${g.evidence}`;
      if (gapKeys.has(key)) return false;
      gapKeys.add(key);
      return true;
    });
  const findings = atLeast(
    [...results.flatMap((r) => r.findings), ...gaps].map(withCode).sort(compareFindings),
    options.minSeverity,
  );

  // After the checks, so it reads what they already read; it sees findings below --min-severity too.
  const checkFindings = results.flatMap((r) => r.findings);
  const inventory = options.inventory ? await buildInventory(run, checkFindings) : undefined;
  return {
    generatedAt: now.toISOString(),
    cluster: await clusterName(run),
    checksRun: checks.length,
    findings,
    errors: results.flatMap((r) => r.failures.map((message) => ({ check: r.check.id, message }))),
    ...(inventory ? { inventory } : {}),
  };
}

/** The findings at or above `minSeverity` (all without one); what the token could not see always stays. */
export function atLeast<F extends CheckFinding>(
  findings: F[],
  minSeverity: Finding["severity"] | undefined,
): F[] {
  if (!minSeverity) return findings;
  return findings.filter((f) => rank(f.severity) <= rank(minSeverity) || isGapFinding(f));
}

const CODES = new Map(AUDIT_CHECKS.map((check) => [check.id, check.code]));

/** A check's finding with the check's stable code, first, as the report shows it. */
function withCode(finding: CheckFinding): Finding {
  const code = CODES.get(finding.check);
  if (!code) throw new Error(`a finding of an unknown check ${finding.check}`);
  return { code, ...finding };
}

/** The cluster's name from /cluster/status (cached when cluster-quorum ran), null if not visible. */
async function clusterName(run: AuditRun): Promise<string | null> {
  try {
    const status = await run.get<{ type: string; name?: string }[]>("/cluster/status");
    const name = status.find((e) => e.type === "cluster")?.name;
    return typeof name === "string" ? cleanText(name, 64) : null;
  } catch {
    return null;
  }
}

export { isGapFinding };
