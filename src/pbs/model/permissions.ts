/**
 * What the PBS token may see, from PBS's own effective-permission map. PBS's map differs
 * from PVE's: the propagate flag is a boolean, and the paths it always evaluates are
 * "/", "/access", "/datastore", "/remote" and "/system" (access/mod.rs list_permissions);
 * so the PVE reader's `holds` does not apply and these helpers do.
 */
import { PveApiError } from "../../pve/errors.js";
import type { ModelReader } from "../../pve/model/visibility.js";
import type { PbsPermissions } from "./types.js";

/** PBS privileges in gap texts: "Datastore.Audit on /datastore/x". */
export const PBS_NEEDS = {
  datastores: "Datastore.Audit on /datastore",
  datastore: (store: string, ns = "") => `Datastore.Audit on ${datastoreAclPath(store, ns)}`,
  remotes: "Remote.Audit on /remote",
  users: "Sys.Audit on /access/users",
  acl: "Sys.Audit on /access/acl",
  tasks: "Sys.Audit on /system/tasks",
} as const;

/** The ACL path of a datastore or one of its namespaces: /datastore/<store>[/<ns>]. */
export function datastoreAclPath(store: string, ns = ""): string {
  return ns ? `/datastore/${store}/${ns}` : `/datastore/${store}`;
}

const ALWAYS_LISTED = new Set(["/", "/access", "/datastore", "/remote", "/system"]);

/** The token's effective privileges, or undefined when PBS would not say (callers then assume the worst). */
export async function pbsPermissions(reader: ModelReader): Promise<PbsPermissions | undefined> {
  try {
    return await reader.get<PbsPermissions>("/access/permissions");
  } catch (err) {
    if (err instanceof PveApiError) return undefined;
    throw err;
  }
}

const propagates = (flag: boolean | number | undefined) => flag === true || flag === 1;

/**
 * Whether one of `privileges` applies on `path` by PBS's map: a listed path holds what it
 * lists; an unlisted one inherits the propagating privileges of the nearest listed path
 * above it, unless that is one PBS always evaluates and lists only when not empty.
 */
export function pbsHolds(
  perms: PbsPermissions | undefined,
  path: string,
  privileges: string | readonly string[],
): boolean {
  if (!perms) return false;
  const wanted = typeof privileges === "string" ? [privileges] : privileges;
  let current = `/${path.split("/").filter(Boolean).join("/")}`;
  let exact = true;
  for (;;) {
    const held = perms[current];
    if (held) return wanted.some((p) => (exact ? Object.hasOwn(held, p) : propagates(held[p])));
    if (current === "/" || ALWAYS_LISTED.has(current)) return false;
    current = current.slice(0, current.lastIndexOf("/")) || "/";
    exact = false;
  }
}

/**
 * Whether one of `privileges` applies on every object below `base`: it propagates from
 * `base` or above, and no deeper ACL entry takes it away. In PBS the deepest ACL entry of
 * a user or token wins, so Audit on / with DatastoreBackup on /datastore/secret leaves
 * /datastore/secret without Datastore.Audit; PBS's map lists every ACL path the token holds
 * anything on, so every listed path under `base` must hold (and propagate) it too. Then
 * PBS's silently filtered lists of those objects are complete.
 *
 * Not seen here: a NoAccess entry (or any path where the token ends up with no privilege)
 * is left out of the map (list_permissions omits paths without privileges), and PBS then
 * leaves that object out of /admin/datastore and /config/datastore alike, so comparing
 * the two lists does not reveal it either. Only Sys.Audit on /access/acl (the whole ACL)
 * shows such entries.
 */
export function pbsHoldsBelow(
  perms: PbsPermissions | undefined,
  base: string,
  privileges: string | readonly string[],
): boolean {
  const root = base.replace(/\/+$/, "");
  // A child name no ACL can carry: only what propagates to every child counts.
  if (!perms || !pbsHolds(perms, `${root}/\u0000`, privileges)) return false;
  const wanted = typeof privileges === "string" ? [privileges] : privileges;
  const prefix = `${root}/`;
  return Object.entries(perms).every(
    ([path, held]) => !path.startsWith(prefix) || wanted.some((p) => propagates(held[p])),
  );
}
