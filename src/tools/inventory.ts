/**
 * The tool inventory (as in github/github-mcp-server): the tier filter runs first and
 * wins over everything, then PROXMOX_TOOLSETS trims the tools. What a token may do
 * trims the list once more, after the start-up check (missingPrivileges).
 */
import type { AnyTool, NeededPrivilege } from "./define.js";
import { accessTools } from "./access.js";
import { apiTools } from "./api.js";
import { backupTools } from "./backup.js";
import { coreTools } from "./core.js";
import { dangerousTools } from "./dangerous/index.js";
import { healthTools } from "./health.js";
import { securityAuditTools } from "./security-audit.js";
import { securityTools } from "./security.js";
import { storageTools } from "./storage.js";
import { tasksTools } from "./tasks.js";

export const ALL_TOOLS: readonly AnyTool[] = [
  ...coreTools,
  ...storageTools,
  ...tasksTools,
  ...backupTools,
  ...accessTools,
  ...securityTools,
  ...securityAuditTools,
  ...healthTools,
  ...apiTools,
  ...dangerousTools,
];

export interface InventoryOptions {
  dangerousEnabled: boolean;
  /** Toolsets to keep; undefined keeps every toolset. */
  toolsets: string[] | undefined;
}

export function buildInventory(tools: readonly AnyTool[], options: InventoryOptions): AnyTool[] {
  const allowed = tools.filter(
    (t) => t.tier === "read" || (t.tier === "dangerous" && options.dangerousEnabled),
  );
  if (!options.toolsets) return allowed;
  const known = [...new Set(tools.map((t) => t.toolset))].sort();
  const unknown = options.toolsets.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new Error(
      `PROXMOX_TOOLSETS names unknown toolset(s) ${unknown.join(", ")}; known toolsets: ${known.join(", ")} (example: PROXMOX_TOOLSETS=core)`,
    );
  }
  return allowed.filter((t) => options.toolsets!.includes(t.toolset));
}

/** GET /access/permissions: path -> privilege -> propagate flag. */
export type Permissions = Record<string, Record<string, number>>;

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
