/**
 * Confirmation of dangerous calls, in each protocol era the way it asks a person.
 *
 * 2025-11-25: as ever, the server asks over the live connection (elicitation/create)
 * while the call waits, and only an explicit yes goes ahead.
 *
 * 2026-07-28 (stateless): the first round of a call answers `input_required`, a question
 * for the person and a `requestState` sealed with HMAC-SHA256 (the SDK's
 * createRequestStateCodec) that binds the era, the principal, the tool, the exact
 * arguments, what was shown, the admin token and an expiry. The client repeats the call
 * with the answer and the state; the tool runs again, every check and lookup included,
 * and the state must fit this very call, or nothing is sent; a yes uses it up. The SDK
 * also lifts a `requestState` out of a 2025 call's parameters, so the era is sealed in
 * and a state on a 2025 connection is refused whatever it holds. */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import {
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  type InputRequiredResult,
  type McpRequestContext,
  type RequestStateCodec,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Confirmation } from "./auditlog.js";

/** How long a question may wait for the person's answer, and a sealed state stays valid. */
const CONFIRM_TTL_S = 300;
/** What would be sent is shown in full or not at all: a longer summary is refused, never cut. */
export const MAX_CONFIRM_CHARS = 20_000;

export type Era = McpRequestContext["era"];

/** What a sealed state holds; hashes, never the arguments or the summary themselves. */
interface ConfirmState {
  v: 1;
  era: Era;
  tool: string;
  args: string;
  summary: string;
  admin: string;
  nonce: string;
}

/** The person said no, or could not be asked: nothing was sent. */
export class NotConfirmedError extends Error {
  constructor(
    readonly confirmation: Confirmation,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by the first round's confirm(): the handler answers with the question instead. */
export class ConfirmationNeeded extends Error {
  constructor(readonly summary: string) {
    super("confirmation needed");
  }
}

/**
 * States already used, so that each is good for one call. In memory for one process; a
 * directory (MCP_CONFIRM_STATE_DIR) shared by the processes behind one load balancer,
 * where a state's use is a file created with O_EXCL: the second use of the same state,
 * on any process, finds it there.
 */
export interface UsedStates {
  /** true the first time `nonce` is used, false after; `expiresAt` in ms since the epoch. */
  use(nonce: string, expiresAt: number): boolean;
}

export class UsedStatesInMemory implements UsedStates {
  private readonly used = new Map<string, number>();
  use(nonce: string, expiresAt: number): boolean {
    const now = Date.now();
    for (const [n, until] of this.used) if (until < now) this.used.delete(n);
    if (this.used.has(nonce)) return false;
    this.used.set(nonce, expiresAt);
    return true;
  }
}

export class UsedStatesInDirectory implements UsedStates {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  use(nonce: string, _expiresAt: number): boolean {
    this.sweep();
    try {
      closeSync(openSync(join(this.dir, nonce), "wx", 0o600));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new Error(`cannot record a used confirmation in ${this.dir}: ${(err as Error).message}`);
    }
  }
  /** A record outlives its state's expiry by a minute (clock skew between processes), then goes. */
  private sweep(): void {
    const before = Date.now() - (CONFIRM_TTL_S + 60) * 1000;
    for (const name of readdirSync(this.dir)) {
      try {
        if (statSync(join(this.dir, name)).mtimeMs < before) unlinkSync(join(this.dir, name));
      } catch {
        // Swept by another process meanwhile.
      }
    }
  }
}

const QUESTION_SCHEMA = {
  type: "object" as const,
  properties: { confirm: { type: "boolean" as const, title: "Do it" } },
  required: ["confirm"],
};

const foreignState = () =>
  new NotConfirmedError(
    "not asked",
    "Not done: the confirmation does not belong to this call (another tool, other arguments, another protocol era or admin token); call the tool again to be asked.",
  );

/**
 * 2025-11-25: the question goes to the person over the live connection
 * (elicitation/create) while the call waits; only an explicit yes goes ahead.
 */
async function askOverConnection(ctx: ServerContext, summary: string): Promise<Confirmation> {
  const signal = ctx.mcpReq.signal;
  let result;
  try {
    result = await ctx.mcpReq.elicitInput(
      {
        mode: "form",
        message: `Confirm: ${summary}`,
        requestedSchema: {
          ...QUESTION_SCHEMA,
          properties: { confirm: { ...QUESTION_SCHEMA.properties.confirm, description: summary } },
        },
      },
      { signal, timeout: CONFIRM_TTL_S * 1000 },
    );
  } catch (err) {
    if (signal.aborted)
      throw new NotConfirmedError(
        "cancelled",
        "Not done: the call was cancelled while waiting for confirmation.",
      );
    throw new NotConfirmedError(
      "no answer",
      `Not done: no confirmation arrived (${(err as Error).message}), so nothing was sent: ${summary}.`,
    );
  }
  if (result.action === "accept" && result.content?.["confirm"] === true) return "accepted";
  const outcome: Confirmation = result.action === "cancel" ? "cancelled" : "declined";
  throw new NotConfirmedError(
    outcome,
    `Not done: the person ${outcome} the confirmation, so nothing was sent: ${summary}.`,
  );
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

/** JSON with sorted keys, so that {a, b} and {b, a} are the same arguments. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Who the call comes from: one HTTP bearer token, or the stdio client. */
function principalOf(ctx: ServerContext): string {
  const auth = ctx.http?.authInfo;
  return auth ? `http:${auth.clientId}` : "stdio";
}

export interface ConfirmerOptions {
  /** The shared HMAC key (MCP_CONFIRM_KEY); a random one per process without it. */
  key?: Uint8Array;
  used?: UsedStates;
}

/** Seals and checks confirmation states; one per process, shared by every server instance. */
export class Confirmer {
  readonly codec: RequestStateCodec<ConfirmState>;
  private readonly used: UsedStates;

  constructor({ key = randomBytes(32), used = new UsedStatesInMemory() }: ConfirmerOptions = {}) {
    this.codec = createRequestStateCodec<ConfirmState>({
      key,
      ttlSeconds: CONFIRM_TTL_S,
      bind: (ctx) => `${ctx.mcpReq.method}\0${principalOf(ctx)}`,
    });
    this.used = used;
  }

  /**
   * The confirm() a dangerous tool's handler calls, for one round of one call. Without a
   * state it throws ConfirmationNeeded (or refuses when the client cannot ask); with one
   * it checks that the state belongs to exactly this call and that the person said yes.
   */
  confirmFor(call: {
    era: Era;
    tool: string;
    args: Record<string, unknown>;
    adminTokenId: string;
    ctx: ServerContext;
    clientCanAsk: boolean;
    policy: "required" | "when-supported";
  }): { confirm(summary: string): Promise<void>; outcome(): Confirmation } {
    let outcome: Confirmation = "not asked";
    const state = call.ctx.mcpReq.requestState<ConfirmState>();
    return {
      outcome: () => outcome,
      confirm: async (summary) => {
        if (summary.length > MAX_CONFIRM_CHARS) {
          throw new NotConfirmedError(
            "not asked",
            `Not done: what would be sent is too long to show in full for confirmation (${summary.length} characters, at most ${MAX_CONFIRM_CHARS}); send less, e.g. put a long script in a file first.`,
          );
        }
        if (call.era === "legacy") {
          // 2025-11-25 asks over the connection; a state can only have come from outside.
          if (state !== undefined) throw foreignState();
          if (!call.clientCanAsk) return this.cannotAsk(call.policy, summary, (o) => (outcome = o));
          outcome = await askOverConnection(call.ctx, summary);
          return;
        }
        if (state === undefined) {
          if (call.clientCanAsk) throw new ConfirmationNeeded(summary);
          return this.cannotAsk(call.policy, summary, (o) => (outcome = o));
        }
        if (
          state.v !== 1 ||
          state.era !== call.era ||
          state.tool !== call.tool ||
          state.args !== sha256(canonical(call.args)) ||
          state.admin !== call.adminTokenId
        ) {
          throw foreignState();
        }
        if (state.summary !== sha256(summary)) {
          throw new NotConfirmedError(
            "not asked",
            `Not done: what would be done changed after it was confirmed; call the tool again to confirm: ${summary}.`,
          );
        }
        const answer = inputResponse(call.ctx.mcpReq.inputResponses, "confirm");
        if (answer.kind !== "elicit") {
          outcome = "no answer";
          throw new NotConfirmedError(
            outcome,
            `Not done: no confirmation arrived, so nothing was sent: ${summary}.`,
          );
        }
        if (answer.action !== "accept" || answer.content?.["confirm"] !== true) {
          outcome = answer.action === "cancel" ? "cancelled" : "declined";
          throw new NotConfirmedError(
            outcome,
            `Not done: the person ${outcome} the confirmation, so nothing was sent: ${summary}.`,
          );
        }
        // Only a yes uses the state up: a client that lost the answer may still send it.
        if (!this.used.use(state.nonce, Date.now() + CONFIRM_TTL_S * 1000)) {
          throw new NotConfirmedError(
            "not asked",
            "Not done: this confirmation was already used; call the tool again to be asked.",
          );
        }
        outcome = "accepted";
      },
    };
  }

  private cannotAsk(
    policy: "required" | "when-supported",
    summary: string,
    setOutcome: (outcome: Confirmation) => void,
  ): void {
    if (policy === "when-supported") {
      setOutcome("left to the client");
      return;
    }
    throw new NotConfirmedError(
      "client cannot ask",
      `Not done: this MCP client cannot ask you to confirm (no elicitation support), so the call was refused: ${summary}. ` +
        "Use a client that can (Claude Code does), or set PROXMOX_DANGEROUS_CONFIRM=when-supported to rely on the client's own approval prompt.",
    );
  }

  /** The first round's answer: the question, and the sealed state the client sends back. */
  async question(
    call: { era: Era; tool: string; args: Record<string, unknown>; adminTokenId: string; ctx: ServerContext },
    summary: string,
  ): Promise<InputRequiredResult> {
    const requestState = await this.codec.mint(
      {
        v: 1,
        era: call.era,
        tool: call.tool,
        args: sha256(canonical(call.args)),
        summary: sha256(summary),
        admin: call.adminTokenId,
        nonce: randomBytes(16).toString("base64url"),
      },
      call.ctx,
    );
    return inputRequired({
      inputRequests: {
        confirm: inputRequired.elicit({
          message: `Confirm: ${summary}`,
          requestedSchema: {
            ...QUESTION_SCHEMA,
            properties: { confirm: { ...QUESTION_SCHEMA.properties.confirm, description: summary } },
          },
        }),
      },
      requestState,
    });
  }
}

/** Whether the client can show the person a question: per request (2026), or from initialize (2025). */
export function clientCanAsk(
  era: Era,
  ctx: ServerContext,
  legacyCapabilities: { elicitation?: unknown } | undefined,
): boolean {
  if (era === "modern") {
    // RequestMetaEnvelope is typed {} in 2.4.0; the key is the full reserved name.
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: unknown } | undefined;
    return capabilities?.elicitation !== undefined;
  }
  return legacyCapabilities?.elicitation !== undefined;
}
