/**
 * Visibility as data. PVE answers a token that may not see something with a 403, or by
 * silently leaving it out of a list; a reader of the model turns neither into "none": a
 * refused read becomes a Gap (what could not be seen, and what would show it), which the
 * tools list in their answers and the audit reports as findings.
 */
import type { QueryValue } from "../client.js";
import { PveApiError } from "../errors.js";

/** Something this token could not see, and what would show it. */
export interface Gap {
  /** "pending updates on pve1" */
  what: string;
  /** "Sys.Modify on /nodes/pve1" */
  needs: string;
}

/** GET /access/permissions: path -> privilege -> propagate flag (1: applies below the path too). */
export type Permissions = Record<string, Record<string, number>>;

export type PathParams = Record<string, string | number>;
export type Query = Record<string, QueryValue>;

/**
 * What the model's readers need for one run (one audit, one tool call): GETs memoised,
 * so the same GET costs one request; the token's effective privileges; and a place for
 * what PVE filtered silently. The audit's context is one.
 */
export interface ModelReader {
  get<T>(template: string, params?: PathParams, query?: Query): Promise<T>;
  holds(path: string, privilege: string | readonly string[]): Promise<boolean>;
  gap(what: string, needs: string): void;
}

/** PVE refused this token (403): something to report as a gap, not a failure. */
export function isRefusal(err: unknown): err is PveApiError {
  return err instanceof PveApiError && err.status === 403;
}

/**
 * The privilege a refusal names: PVE's 403 "Permission check failed (/nodes/pve1, Sys.Modify)"
 * -> "Sys.Modify on /nodes/pve1"; PBS's "permission check failed - missing
 * Datastore.Audit|Datastore.Backup on /datastore/x" and "missing permissions
 * 'Datastore.Audit|Datastore.Verify' on '/datastore/x'" -> "Datastore.Audit or
 * Datastore.Backup on /datastore/x". PBS's bare "permission check failed" names none.
 */
export function neededBy(err: PveApiError): string | undefined {
  const pve = /^Permission check failed \(([^,]+), ([^)]+)\)/.exec(err.pveMessage);
  if (pve) return `${(pve[2] ?? "").split("|").join(" or ")} on ${pve[1]}`;
  const pbs =
    /^(?:permission check failed - )?missing (?:permissions )?'?([A-Za-z][A-Za-z.|]*)'? on '?(\/[^'\s]*)'?$/.exec(
      err.pveMessage,
    );
  return pbs ? `${(pbs[1] ?? "").split("|").join(" or ")} on ${pbs[2]}` : undefined;
}

/**
 * A model read whose 403 is a gap of the run (`reader.gap`), not an error: PVE's data,
 * or undefined when it refused this token. `needs` is used when PVE's message names no
 * privilege.
 */
export async function readOrGap<T>(
  reader: ModelReader,
  template: string,
  params: PathParams,
  what: string,
  needs: string,
  query?: Query,
): Promise<T | undefined> {
  try {
    return await reader.get<T>(template, params, query);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    reader.gap(what, neededBy(err) ?? needs);
    return undefined;
  }
}

/**
 * The paths PVE's effective-permission map (GET /access/permissions without `path`)
 * always evaluates: one of these missing from the map means nothing is held there.
 */
const ALWAYS_LISTED = new Set([
  "/",
  "/access",
  "/access/groups",
  "/nodes",
  "/pool",
  "/sdn",
  "/storage",
  "/vms",
]);

/**
 * Whether one of `privileges` applies on `path`. PVE lists the effective privileges of
 * every path with an ACL (and of pool members) and of its default paths, each only when
 * not empty; a path without an entry inherits from the nearest listed path above it,
 * where only propagated privileges count, unless it is a default path (then it holds none).
 */
export function holds(
  perms: Permissions | undefined,
  path: string,
  privileges: string | readonly string[],
): boolean {
  if (!perms) return false;
  const wanted = typeof privileges === "string" ? [privileges] : privileges;
  let current = path.length > 1 ? path.replace(/\/+$/, "") : path;
  let exact = true;
  for (;;) {
    const held = perms[current];
    if (held) return wanted.some((p) => (exact ? Object.hasOwn(held, p) : held[p] === 1));
    if (current === "/" || ALWAYS_LISTED.has(current)) return false;
    current = current.slice(0, current.lastIndexOf("/")) || "/";
    exact = false;
  }
}
