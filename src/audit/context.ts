/**
 * One audit run: a cache of PVE reads shared by every check (each template, params and
 * query fetched once), one limiter on PVE requests (at most `concurrency` at once,
 * whatever the checks do), and per check a context that records its visibility gaps
 * and partial failures.
 */
import { PbsApiError } from "../pbs/errors.js";
import type { PveApiError } from "../pve/errors.js";
import { pbsHolds, pbsPermissions } from "../pbs/model/permissions.js";
import { PBS_AUDIT_PRIVILEGES } from "../pbs/privileges.js";
import type { ClusterResource } from "../pve/model/resources.js";
import { RunReader, type RunSource } from "../pve/model/reader.js";
import { isRefusal, neededBy, readOrGap, type PathParams, type Query } from "../pve/model/visibility.js";
import { READ_ONLY_PRIVILEGES } from "../pve/privileges.js";
import { cleanText } from "../untrusted.js";
import type { AuditCheck, AuditContext, CheckFinding, PbsAuditContext } from "./types.js";

/** Which server a gap is about: its evidence and its fix name that server's tools. */
export type GapSide = "PVE" | "PBS";

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

/** The fix of a PBS gap: proxmox-backup-manager's ACL line for a read-only role, or a check by hand. */
export function pbsGapRemediation(needs: string): string {
  const privileges = needs.match(/\b[A-Z][A-Za-z]*\.[A-Za-z.]*[A-Za-z]/g) ?? ([] as string[]);
  const writes = privileges.filter((p) => !PBS_AUDIT_PRIVILEGES.has(p));
  if (writes.length > 0) {
    return `${[...new Set(writes)].join(" and ")} can change things, so a read-only token lacks it by design: check this by hand on the PBS (GUI or proxmox-backup-manager)`;
  }
  const path = /\bon (\/\S*)/.exec(needs)?.[1] ?? "/";
  const role = privileges.includes("Remote.Audit")
    ? "RemoteAudit"
    : privileges.includes("Tape.Audit")
      ? "TapeAudit"
      : privileges.every((p) => p === "Datastore.Audit")
        ? "DatastoreAudit"
        : "Audit";
  // A PBS token's rights are its own ACL intersected with its user's: both need the role.
  return `grant ${needs} to the PBS audit token and to its user (a token gets only what its user holds too), read-only: proxmox-backup-manager acl update ${path} ${role} --auth-id <user> and proxmox-backup-manager acl update ${path} ${role} --auth-id '<user>!<token>'`;
}

export function gapFinding(
  check: string,
  what: string,
  needs: string,
  remediation?: string,
  side: GapSide = "PVE",
): CheckFinding {
  return {
    check,
    severity: "info",
    title: `${GAP_TITLE_PREFIX}${what}: needs ${needs}`,
    object: what,
    evidence: `not visible to this token (${side} refuses or silently filters it): needs ${needs}`,
    remediation: remediation ?? (side === "PBS" ? pbsGapRemediation(needs) : gapRemediation(needs)),
  };
}

/** The gap a refusal stands for, on the side that refused (a PbsApiError is PBS's). */
export function refusalGap(check: string, what: string, err: PveApiError): CheckFinding {
  const side: GapSide = err instanceof PbsApiError ? "PBS" : "PVE";
  return gapFinding(
    check,
    what,
    neededBy(err) ?? `a privilege ${side} did not name (${err.path})`,
    undefined,
    side,
  );
}

/** The per-run state every check shares: one run reader (cache and limiter) per server, and the clock. */
export class AuditRun {
  readonly nowSeconds: number;
  readonly reader: RunReader;
  /** The PBS's run reader, when the audit has a PBS source. */
  readonly pbs: RunReader | undefined;
  /** How findings name the PBS: "PBS 192.0.2.60", or "PBS". */
  readonly pbsName: string;

  constructor(
    pve: RunSource,
    concurrency: number,
    readonly now: Date,
    readonly signal: AbortSignal | undefined,
    pbs?: RunSource,
    pbsHost?: string,
  ) {
    this.pbsName = pbsHost ? `PBS ${cleanText(pbsHost, 253)}` : "PBS";
    this.nowSeconds = Math.floor(now.getTime() / 1000);
    this.reader = new RunReader(pve, signal, concurrency);
    this.pbs = pbs ? new RunReader(pbs, signal, concurrency) : undefined;
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
  contextFor(check: Pick<AuditCheck, "id" | "service"> | string): {
    ctx: AuditContext;
    gaps: CheckFinding[];
    failures: string[];
  } {
    const id = typeof check === "string" ? check : check.id;
    const service = typeof check === "string" ? undefined : check.service;
    const gaps: CheckFinding[] = [];
    const failures: string[] = [];
    const seenGaps = new Set<string>();
    const record = (finding: CheckFinding) => {
      const key = `${finding.object}\u0000${finding.evidence}`;
      if (seenGaps.has(key)) return;
      seenGaps.add(key);
      gaps.push(finding);
    };
    const gap = (what: string, needs: string, remediation?: string) =>
      record(gapFinding(id, what, needs, remediation));
    const fail = (message: string) => {
      failures.push(message);
    };
    const pbs = service === "pbs" && this.pbs ? this.#pbsContext(this.pbs, id, record) : undefined;
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
              if (isRefusal(err)) record(refusalGap(id, label(item), err));
              else fail(`${label(item)}: ${errorMessage(err)}`);
            }
          }),
        );
      },
      ...(pbs ? { pbs } : {}),
    };
    return { ctx, gaps, failures };
  }

  /** The PBS side of a PBS check's context: the run's PBS reader, its gaps stated in PBS's terms. */
  #pbsContext(reader: RunReader, check: string, record: (finding: CheckFinding) => void): PbsAuditContext {
    const pbs: PbsAuditContext = {
      name: this.pbsName,
      get: (template, params, query) => reader.get(template, params, query),
      getOrGap: <T>(template: string, params: PathParams, what: string, needs: string, query?: Query) =>
        readOrGap<T>(pbs, template, params, what, needs, query),
      holds: async (path, privilege) => pbsHolds(await pbsPermissions(pbs), path, privilege),
      gap: (what, needs, remediation) => record(gapFinding(check, what, needs, remediation, "PBS")),
    };
    return pbs;
  }
}

export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
