/**
 * A tool is one declarative object (as in microsoft/playwright-mcp's defineTool):
 * name, toolset, tier, schemas, the PVE privileges it needs, and a handler that
 * gets only what its tier allows. Read tools get a GET-only Proxmox client.
 */
import type { z } from "zod";
import type { Config } from "../config/types.js";
import type { PveReader } from "../pve/client.js";

export type Tier = "read" | "dangerous";

/** What every read tool's handler receives: a client that cannot write. */
export interface ReadContext {
  pve: PveReader;
  config: Config;
  signal: AbortSignal;
  /** "path: privileges" the read token holds beyond read-only ones (only when the operator allowed it). */
  extraPrivileges: readonly string[];
}

/** A privilege a tool needs, as `pveum` would grant it. */
export interface NeededPrivilege {
  path: string;
  privileges: string[];
}

export interface ToolOutput<O> {
  /** Compact text for the model. */
  text: string;
  /** Typed result matching the output schema. */
  structured: O;
}

export interface ToolDefinition<
  I extends z.ZodRawShape = z.ZodRawShape,
  O extends z.ZodRawShape = z.ZodRawShape,
> {
  name: string;
  title: string;
  description: string;
  toolset: string;
  tier: Tier;
  input: I;
  output: O;
  needs: NeededPrivilege[];
  handle(args: z.infer<z.ZodObject<I>>, ctx: ReadContext): Promise<ToolOutput<z.infer<z.ZodObject<O>>>>;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}

// A heterogeneous list of tools: each keeps its own schema types inside.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolDefinition<any, any>;

/** MCP annotations follow from the tier, never from the tool's own say. */
export function annotationsFor(tier: Tier): Record<string, boolean> {
  return tier === "read"
    ? { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
    : { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false };
}

/** Claude Code asks the person before a call when a tool carries this. */
export function metaFor(tier: Tier): Record<string, unknown> | undefined {
  return tier === "dangerous" ? { "anthropic/requiresUserInteraction": true } : undefined;
}
