/**
 * A tool is one declarative object (as in microsoft/playwright-mcp's defineTool):
 * name, toolset, tier, schemas, the PVE privileges it needs, and a handler that
 * gets only what its tier allows. Read tools get a GET-only Proxmox client with the
 * read token; only dangerous tools get the admin client, and the types keep it so.
 */
import type { z } from "zod";
import type { Config, DangerousConfig, TlsMode } from "../config/types.js";
import type { PveAdmin } from "../pve/admin.js";
import type { RunReader } from "../pve/model/reader.js";
import type { Tier, ToolsetId } from "./toolsets.js";

/** What the start-up checks found out about the tokens, for get_version. */
export interface AccessReport {
  /** "path: privileges" the read token holds beyond read-only ones (only when the operator allowed it). */
  readExtraPrivileges: readonly string[];
  /** Tools left out of tools/list, and why. */
  hiddenTools: readonly { name: string; reason: string }[];
  /** Warnings about the admin token (privileges far beyond what the dangerous tools need). */
  adminWarnings: readonly string[];
}

/**
 * What read code may know of the configuration: names and modes, never a secret and
 * nothing a client could be built from. (The read token's secret lives in a private
 * field of the PveReader behind the call's reader; the admin token is not reachable from
 * here at all.)
 */
export interface ReadFacts {
  readonly tokenId: string;
  readonly tlsMode: TlsMode["mode"];
  /** The enabled toolsets; undefined = all read toolsets. */
  readonly toolsets: readonly string[] | undefined;
  /** The admin token's id when the dangerous tier is on. */
  readonly adminTokenId: string | undefined;
  /** Whether execute_command has an SSH target (dangerous tier only). */
  readonly sshConfigured: boolean;
  /** The audit's waivers file (PROXMOX_AUDIT_WAIVERS), if configured. */
  readonly auditWaiversPath: string | undefined;
  /** The Proxmox Backup Server's host (PBS_HOST) and token id, when PBS is configured. */
  readonly pbs?: { readonly host: string; readonly tokenId: string };
}

export function readFactsOf(config: Config): ReadFacts {
  return {
    tokenId: config.tokenId,
    tlsMode: config.tls.mode,
    toolsets: config.toolsets ? [...config.toolsets] : undefined,
    adminTokenId: config.dangerous?.adminTokenId,
    sshConfigured: config.dangerous?.ssh !== undefined,
    auditWaiversPath: config.auditWaiversPath,
    ...(config.pbs ? { pbs: { host: config.pbs.host, tokenId: config.pbs.tokenId } } : {}),
  };
}

/**
 * What every read tool's handler receives: this call's reader (GET only, memoised for the
 * call, collecting what the token could not see as gaps), and facts without secrets.
 */
export interface ReadContext {
  read: RunReader;
  /** This call's reader of Proxmox Backup Server, when PBS is configured (the pbs toolset is offered only then). */
  pbs?: RunReader;
  facts: ReadFacts;
  signal: AbortSignal;
  access: AccessReport;
}

/** What the audit log keeps of a dangerous call's effect. */
export interface DangerousEffect {
  upid?: string;
  exitCode?: number | null;
}

/** What a dangerous tool's handler receives: the admin client, and no reader. */
export interface DangerousContext {
  admin: PveAdmin;
  config: Config;
  dangerous: DangerousConfig;
  signal: AbortSignal;
  /**
   * Asks the person to confirm this one-line summary (where the client can ask);
   * throws when they decline, cancel or do not answer. Call it after every check and
   * lookup, right before the first write, so the summary says exactly what will be done.
   */
  confirm(summary: string): Promise<void>;
  /** Adds the task id or exit code to the call's audit line. */
  recordEffect(effect: DangerousEffect): void;
}

/**
 * A privilege a tool needs, as `pveum` would grant it: any one of `privileges` on
 * `path` (PVE's `any => 1` checks, and PVE 9 names next to their PVE 8 ones).
 */
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

interface ToolBase<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: ToolsetId;
  input: I;
  output: O;
  needs: NeededPrivilege[];
  /**
   * An entry tool: Claude Code loads it up front instead of leaving it to its tool search
   * (`_meta["anthropic/alwaysLoad"]`), so a first question finds it.
   */
  alwaysLoad?: true;
  /**
   * A paged answer can pass the 50,000 characters past which Claude Code saves a result
   * to a file instead of showing it: this raises that threshold for the tool
   * (`_meta["anthropic/maxResultSizeChars"]`, at most 500,000). Every tool with a `limit`
   * declares it (tests/tools/catalog.test.ts).
   */
  maxResultChars?: number;
  /** Why the tool cannot work with this configuration (e.g. SSH not set up), or undefined. */
  unavailableWith?(facts: ReadFacts): string | undefined;
  /**
   * Refuses arguments the input schema cannot judge (a raw API path), by throwing one
   * actionable line; runs before anything is sent, the token check included.
   */
  checkArgs?(args: z.infer<z.ZodObject<I>>): void;
}

export interface ReadTool<I extends z.ZodRawShape, O extends z.ZodRawShape> extends ToolBase<I, O> {
  tier: "read";
  handle(args: z.infer<z.ZodObject<I>>, ctx: ReadContext): Promise<ToolOutput<z.infer<z.ZodObject<O>>>>;
}

export interface DangerousTool<I extends z.ZodRawShape, O extends z.ZodRawShape> extends ToolBase<I, O> {
  tier: "dangerous";
  handle(args: z.infer<z.ZodObject<I>>, ctx: DangerousContext): Promise<ToolOutput<z.infer<z.ZodObject<O>>>>;
}

export type ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> =
  ReadTool<I, O> | DangerousTool<I, O>;

/** The tier picks the context type: a read tool's handler can never be handed the admin client. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  tool: ReadTool<I, O>,
): ReadTool<I, O>;
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  tool: DangerousTool<I, O>,
): DangerousTool<I, O>;
export function defineTool(tool: AnyTool): AnyTool {
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
