/**
 * What a token may do, as PVE's /access/permissions says, against what a tool needs.
 * Kept apart from the inventory so that tools and the token check can use it without
 * importing every tool.
 */
import type { Permissions } from "../pve/model/visibility.js";
import type { NeededPrivilege } from "./define.js";

/**
 * "VM.PowerMgmt on /vms/{vmid}" for each need the token holds nowhere it could
 * apply, or [] when the tool can work. A need counts as held when a privilege is
 * granted on its path, or above it and propagated (as from /); for a path with a
 * variable (/vms/{vmid}), also below the fixed part (on some guests only: PVE then
 * shows what the token may see) and, for guest and storage privileges, on a pool.
 */
export function missingPrivileges(needs: readonly NeededPrivilege[], permissions: Permissions): string[] {
  return needs
    .filter((need) => !Object.entries(permissions).some(([path, held]) => grants(path, held, need)))
    .map((need) => `${need.privileges.join(" or ")} on ${need.path}`);
}

const isUnder = (path: string, base: string) => base === "/" || path === base || path.startsWith(`${base}/`);

function grants(grantedPath: string, held: Record<string, number>, need: NeededPrivilege): boolean {
  const segments = need.path.split("/").filter(Boolean);
  const firstVariable = segments.findIndex((segment) => segment.startsWith("{"));
  const fixed = firstVariable === -1 ? need.path : `/${segments.slice(0, firstVariable).join("/")}`;
  const privileges = need.privileges.filter((privilege) => Object.hasOwn(held, privilege));
  if (privileges.length === 0) return false;
  if (firstVariable === -1 && grantedPath === need.path) return true;
  // Above the objects, a privilege counts only if it propagates (the value is PVE's propagate flag).
  if (isUnder(fixed, grantedPath)) return privileges.some((privilege) => held[privilege] === 1);
  if (firstVariable === -1) return false;
  return (
    isUnder(grantedPath, fixed) ||
    ((fixed === "/vms" || fixed === "/storage") && grantedPath.startsWith("/pool/"))
  );
}
