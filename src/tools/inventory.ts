/**
 * The tool inventory (as in github/github-mcp-server): the tier filter runs first and
 * wins over everything, then PROXMOX_TOOLSETS trims the tools. What a token may do
 * trims the list once more, after the start-up check (needs.ts).
 */
import type { AnyTool } from "./define.js";
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
