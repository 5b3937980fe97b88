/**
 * Visibility gaps: PVE answers a token that may not see something with a 403, or by
 * silently leaving it out. A tool never turns either into "none": it says what it could
 * not see and which privilege would show it.
 */
import { z } from "zod";
import type { GetOptions, PveReader } from "../pve/client.js";
import { PveApiError } from "../pve/errors.js";
import type { Permissions } from "./needs.js";

/** Something this token could not see, and what would show it. */
export interface Gap {
  /** "pending updates on pve1" */
  what: string;
  /** "Sys.Modify on /nodes/pve1" */
  needs: string;
}

export const gapSchema = z.object({ what: z.string(), needs: z.string() });
/** The output-schema field every tool with gaps carries. */
export const gapsField = z.array(gapSchema);

/** One line per gap, for the text answer ("" when there is none). */
export function gapText(gaps: readonly Gap[]): string {
  return gaps.map((g) => `NOT VISIBLE: ${g.what} (needs ${g.needs})`).join("\n");
}

/** PVE's 403 text "Permission check failed (/nodes/pve1, Sys.Modify)" -> "Sys.Modify on /nodes/pve1". */
export function neededBy(err: PveApiError): string | undefined {
  const m = /^Permission check failed \(([^,]+), ([^)]+)\)/.exec(err.pveMessage);
  return m ? `${(m[2] ?? "").split("|").join(" or ")} on ${m[1]}` : undefined;
}

/**
 * A GET whose 403 is a gap, not an error: `{ data }` when PVE answered, `{ gap }` when
 * it refused this token. `needs` is used when PVE's message names no privilege.
 */
export async function getOrGap<T>(
  pve: PveReader,
  template: string,
  params: Record<string, string | number>,
  what: string,
  needs: string,
  options?: GetOptions,
): Promise<{ data: T; gap?: undefined } | { data?: undefined; gap: Gap }> {
  try {
    return { data: await pve.get<T>(template, params, options) };
  } catch (err) {
    if (err instanceof PveApiError && err.status === 403)
      return { gap: { what, needs: neededBy(err) ?? needs } };
    throw err;
  }
}

/**
 * The read token's own permissions (any token may ask, one call); undefined when PVE
 * would not say: callers then state their gaps as possible rather than certain.
 */
export async function tokenPermissions(
  pve: PveReader,
  signal: AbortSignal,
): Promise<Permissions | undefined> {
  try {
    return await pve.get<Permissions>("/access/permissions", {}, { signal });
  } catch (err) {
    if (err instanceof PveApiError) return undefined;
    throw err;
  }
}

/**
 * Whether one of `privileges` applies on `path`. PVE lists the effective privileges of
 * every path with an ACL (and of pool members); a path without an entry inherits from
 * the nearest listed path above it, where only propagated privileges count.
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
    if (current === "/") return false;
    current = current.slice(0, current.lastIndexOf("/")) || "/";
    exact = false;
  }
}
