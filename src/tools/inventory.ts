/**
 * The tool inventory (as in github/github-mcp-server): the tier filter runs first and
 * wins over everything, then the toolsets (declared in toolsets.ts) that PROXMOX_TOOLSETS
 * names, or that are on by default when it is unset, pick the tools. What a token may do
 * trims the list once more, after the start-up check (needs.ts).
 */
import type { AnyTool } from "./define.js";
import { accessTools } from "./access.js";
import { apiTools } from "./api.js";
import { backupTools } from "./backup.js";
import { coreTools } from "./core.js";
import { dangerousTools } from "./dangerous/index.js";
import { healthTools } from "./health.js";
import { pbsTools } from "./pbs.js";
import { securityAuditTools } from "./security-audit.js";
import { securityTools } from "./security.js";
import { storageTools } from "./storage.js";
import { tasksTools } from "./tasks.js";
import { isToolsetOn, TOOLSETS } from "./toolsets.js";

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
  ...pbsTools,
  ...dangerousTools,
];

export interface InventoryOptions {
  dangerousEnabled: boolean;
  /** Toolsets to keep (PROXMOX_TOOLSETS); undefined keeps the toolsets that are on by default. */
  toolsets: string[] | undefined;
  /** PBS is configured (PBS_HOST): without it no pbs tool is listed, whatever PROXMOX_TOOLSETS says. */
  pbsConfigured?: boolean;
}

export function buildInventory(tools: readonly AnyTool[], options: InventoryOptions): AnyTool[] {
  const declared: readonly string[] = TOOLSETS.map((t) => t.id);
  const unknown = (options.toolsets ?? []).filter((id) => !declared.includes(id));
  if (unknown.length > 0) {
    const known = TOOLSETS.map((t) => `${t.id} (${t.title})`).join(", ");
    throw new Error(
      `PROXMOX_TOOLSETS names unknown toolset(s) ${unknown.join(", ")}; known toolsets: ${known} (example: PROXMOX_TOOLSETS=core)`,
    );
  }
  const on = new Set<string>(TOOLSETS.filter((t) => isToolsetOn(t, options.toolsets)).map((t) => t.id));
  return tools.filter(
    (t) =>
      (t.tier === "read" || options.dangerousEnabled) &&
      on.has(t.toolset) &&
      (t.toolset !== "pbs" || options.pbsConfigured === true),
  );
}
