/**
 * Waivers: findings someone looked at and accepted, for a reason and until a date. A
 * waiver names one finding exactly (the check's code and the finding's object, as the
 * report prints them); a waived finding is listed as waived, not as a finding, until the
 * waiver expires, and then it is a finding again, saying so. A waiver that matches no
 * finding is reported too: the problem is gone, or the object was renamed.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { cleanText, LIMITS } from "../untrusted.js";
import { AUDIT_CHECKS } from "./checks/index.js";
import { SEVERITIES, type AuditReport, type Finding, type Severity } from "./types.js";

/** Looked for in the working directory, beside proxmox-config/config.json. */
export const DEFAULT_WAIVERS_FILE = join("proxmox-config", "audit-waivers.json");

export interface Waiver {
  code: string;
  object: string;
  reason: string;
  /** YYYY-MM-DD: the waiver holds through that day (UTC). */
  expires: string;
  /** The worst severity accepted: a worse finding of the same check on the object is not waived. */
  severity?: Severity;
}

export type WaivedFinding = Finding & { waiver: Pick<Waiver, "reason" | "expires"> };

export interface WaivedReport extends AuditReport {
  waived: WaivedFinding[];
  /** Waivers no finding of this run matches. */
  unusedWaivers: Waiver[];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

const KNOWN_CODES = new Set(AUDIT_CHECKS.map((check) => check.code));

const waiverSchema = z
  .object({
    code: z.string().refine((code) => KNOWN_CODES.has(code), {
      message: "must be the code of an audit check, e.g. PVE-ACC-003 (docs/checks.md lists them)",
    }),
    object: z
      .string()
      .min(1, "must name the finding's object exactly as the report prints it")
      .max(LIMITS.error),
    reason: z.string().trim().min(1, "must say why the finding is accepted").max(LIMITS.error),
    expires: z.string().refine(isCalendarDate, { message: "must be a date YYYY-MM-DD, e.g. 2027-03-31" }),
    severity: z
      .enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(", ")} (the worst severity accepted)` })
      .optional(),
  })
  .strict();

const fileSchema = z.object({ waivers: z.array(z.unknown()) }).catchall(z.unknown());

export class WaiverFileError extends Error {}

/** Thousands of waivers fit in far less; a bigger file is a mistake (or not a waivers file). */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The waivers of a file; every problem at once, each with where it is. Keys starting
 * with "_" are comments; any other unknown key is an error (a typo would waive nothing).
 */
export function parseWaivers(text: string, file: string): Waiver[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new WaiverFileError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const shape = fileSchema.safeParse(parsed);
  if (!shape.success) {
    throw new WaiverFileError(
      `${file} must be an object with a "waivers" array, e.g. {"waivers": [{"code": "PVE-ACC-003", "object": "ops@pve!ansible", "reason": "rotated weekly by Vault", "expires": "2027-03-31"}]}`,
    );
  }
  const problems: string[] = [];
  for (const key of Object.keys(shape.data)) {
    if (key !== "waivers" && !key.startsWith("_"))
      problems.push(`${file}: unknown key "${cleanText(key, 64)}"`);
  }
  const waivers: Waiver[] = [];
  shape.data.waivers.forEach((entry, index) => {
    const withoutComments =
      entry && typeof entry === "object" && !Array.isArray(entry)
        ? Object.fromEntries(Object.entries(entry).filter(([key]) => !key.startsWith("_")))
        : entry;
    const waiver = waiverSchema.safeParse(withoutComments);
    if (waiver.success) return void waivers.push(waiver.data);
    for (const issue of waiver.error.issues) {
      const what =
        issue.code === "unrecognized_keys"
          ? `unknown key(s) ${issue.keys.map((key) => `"${cleanText(key, 64)}"`).join(", ")}: a waiver has code, object, reason, expires and optionally severity`
          : issue.path.length === 0
            ? "must be an object with code, object, reason and expires"
            : issue.code === "invalid_type" && issue.input === undefined
              ? `${issue.path.join(".")} is missing`
              : `${issue.path.join(".")} ${issue.message}`;
      problems.push(`${file}: waiver ${index + 1}: ${what}`);
    }
  });
  if (problems.length > 0) throw new WaiverFileError(problems.join("\n"));
  return waivers;
}

/** The waivers of `file`; undefined when `file` is the default one and does not exist. */
export function readWaivers(file: string, { optional = false } = {}): Waiver[] | undefined {
  let text: string;
  try {
    if (statSync(file).size > MAX_FILE_BYTES) {
      throw new WaiverFileError(
        `the waivers file ${file} is larger than ${MAX_FILE_BYTES} bytes: is it the right file?`,
      );
    }
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof WaiverFileError) throw err;
    if (optional && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new WaiverFileError(`cannot read the waivers file ${file}: ${(err as Error).message}`);
  }
  return parseWaivers(text, file);
}

/** Whether the waiver accepts the finding's severity (no severity: any). */
const covers = (waiver: Waiver, finding: Finding) =>
  !waiver.severity || SEVERITIES.indexOf(finding.severity) >= SEVERITIES.indexOf(waiver.severity);

const holdsOn = (waiver: Waiver, now: Date) =>
  now.getTime() < Date.parse(`${waiver.expires}T00:00:00Z`) + 86_400_000;

/**
 * The report with the waived findings moved to `waived`. A finding whose waivers all
 * expired stays a finding and says so in its evidence. Findings are matched on the
 * report's own (cleaned) code and object.
 */
export function applyWaivers(report: AuditReport, waivers: readonly Waiver[], now: Date): WaivedReport {
  const used = new Set<Waiver>();
  const failed = new Set(report.errors.map((e) => AUDIT_CHECKS.find((c) => c.id === e.check)?.code));
  const findings: Finding[] = [];
  const waived: WaivedFinding[] = [];
  for (const finding of report.findings) {
    const matching = waivers.filter((w) => w.code === finding.code && w.object === finding.object);
    for (const waiver of matching) used.add(waiver);
    const current = matching.filter((w) => holdsOn(w, now));
    const holding = current.find((w) => covers(w, finding));
    if (holding) {
      waived.push({
        ...finding,
        waiver: { reason: cleanText(holding.reason, LIMITS.error), expires: holding.expires },
      });
      continue;
    }
    const outgrown = current.find((w) => !covers(w, finding));
    const expired = matching
      .map((w) => w.expires)
      .sort()
      .at(-1);
    const note = outgrown
      ? ` (worse than its waiver accepts: ${outgrown.severity} at most)`
      : expired
        ? ` (its waiver expired ${expired})`
        : "";
    findings.push(note ? { ...finding, evidence: `${finding.evidence}${note}` } : finding);
  }
  return {
    ...report,
    findings,
    waived,
    // A waiver of a check that failed was not evaluated: not called unused.
    unusedWaivers: waivers
      .filter((w) => !used.has(w) && !failed.has(w.code))
      .map((w) => ({
        ...w,
        object: cleanText(w.object, LIMITS.error),
        reason: cleanText(w.reason, LIMITS.error),
      })),
  };
}
