/**
 * The tool inventory (as in github/github-mcp-server): the tier filter runs first and
 * wins over everything, then PROXMOX_TOOLSETS trims the read tools.
 */
import type { AnyTool } from "./define.js";
import { coreTools } from "./core.js";

export const ALL_TOOLS: readonly AnyTool[] = [...coreTools];

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
