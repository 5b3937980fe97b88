/**
 * One audit run: a cache of PVE reads shared by every check (each template, params and
 * query fetched once), one limiter on PVE requests (at most `concurrency` at once,
 * whatever the checks do), and per check a context that records its visibility gaps
 * and partial failures.
 */
import type { ClusterResource } from "../pve/model/resources.js";
import { RunReader, type RunSource } from "../pve/model/reader.js";
import { isRefusal, neededBy, readOrGap, type PathParams, type Query } from "../pve/model/visibility.js";
import { READ_ONLY_PRIVILEGES } from "../pve/privileges.js";
import type { AuditContext, CheckFinding } from "./types.js";

/** The title every visibility-gap finding starts with (isGapFinding). */
export const GAP_TITLE_PREFIX = "Could not check ";

/** True for the findings that say what the audit could not see (they survive minSeverity). */
export function isGapFinding(finding: Pick<CheckFinding, "title">): boolean {
  return finding.title.startsWith(GAP_TITLE_PREFIX);
}

/** The fix of a gap: grant a read-only privilege, or check by hand what only a write privilege shows. */
export function gapRemediation(needs: string): string {
  const privileges = needs.match(/\b[A-Z][A-Za-z]*\.[A-Za-z.]*[A-Za-z]/g) ?? [];
  const writes = privileges.filter((p) => !READ_ONLY_PRIVILEGES.has(p));
  if (writes.length === 0) {
    return `grant ${needs} to the audit token (read-only), e.g. pveum acl modify <path> --tokens <token id> --roles <role with it>`;
  }
  return `${[...new Set(writes)].join(" and ")} can change things, so a read-only token lacks it by design: check this by hand on the node or in the GUI`;
}

export function gapFinding(check: string, what: string, needs: string, remediation?: string): CheckFinding {
  return {
    check,
    severity: "info",
    title: `${GAP_TITLE_PREFIX}${what}: needs ${needs}`,
    object: what,
    evidence: `not visible to this token (PVE refuses or silently filters it): needs ${needs}`,
    remediation: remediation ?? gapRemediation(needs),
  };
}

/** The per-run state every check shares: one run reader (cache and limiter) and the clock. */
export class AuditRun {
  readonly nowSeconds: number;
  readonly reader: RunReader;

  constructor(
    pve: RunSource,
    concurrency: number,
    readonly now: Date,
    readonly signal: AbortSignal | undefined,
  ) {
    this.nowSeconds = Math.floor(now.getTime() / 1000);
    this.reader = new RunReader(pve, signal, concurrency);
  }

  get<T>(template: string, params: PathParams = {}, query?: Query): Promise<T> {
    return this.reader.get<T>(template, params, query);
  }

  async resources(): Promise<ClusterResource[]> {
    return this.get<ClusterResource[]>("/cluster/resources");
  }

  holds(path: string, privilege: string | readonly string[]): Promise<boolean> {
    return this.reader.holds(path, privilege);
  }

  /** A context for one check; its gaps and failures are collected for the report. */
  contextFor(check: string): { ctx: AuditContext; gaps: CheckFinding[]; failures: string[] } {
    const gaps: CheckFinding[] = [];
    const failures: string[] = [];
    const seenGaps = new Set<string>();
    const gap = (what: string, needs: string, remediation?: string) => {
      const key = `${what}\u0000${needs}`;
      if (seenGaps.has(key)) return;
      seenGaps.add(key);
      gaps.push(gapFinding(check, what, needs, remediation));
    };
    const fail = (message: string) => {
      failures.push(message);
    };
    const ctx: AuditContext = {
      now: this.now,
      nowSeconds: this.nowSeconds,
      signal: this.signal,
      get: (template, params, query) => this.get(template, params, query),
      getOrGap: <T>(template: string, params: PathParams, what: string, needs: string, query?: Query) =>
        readOrGap<T>(ctx, template, params, what, needs, query),
      gap,
      fail,
      resources: () => this.resources(),
      holds: (path, privilege) => this.holds(path, privilege),
      each: async (items, label, fn) => {
        await Promise.all(
          items.map(async (item) => {
            try {
              await fn(item);
            } catch (err) {
              if (this.signal?.aborted) throw this.signal.reason;
              // A refusal is something this token cannot see, not a failure of the check.
              if (isRefusal(err)) {
                gap(label(item), neededBy(err) ?? `a privilege PVE did not name (${err.path})`);
              } else {
                fail(`${label(item)}: ${errorMessage(err)}`);
              }
            }
          }),
        );
      },
    };
    return { ctx, gaps, failures };
  }
}

export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
