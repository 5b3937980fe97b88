/**
 * The opening of a stdio connection, answered before the server is loaded.
 *
 * A client starts by asking initialize (2025-11-25) or server/discover (2026-07-28), then
 * tools/list, and waits for both. Their answers depend only on this build and on whether
 * dangerous mode is on, so the build records the server's own answers (dist/opening.json,
 * stdio-opening-record.ts) and this module, which loads nothing else, replies with them
 * while the MCP SDK, zod and the tools are still to be loaded.
 *
 * It only ever answers ahead: every byte the client sent still goes, in order, to the
 * SDK's stdio transport once the server is loaded, and the server's own answers to the
 * requests replied to here are compared with what was sent, then dropped. Should one
 * differ, the process stops rather than go on with a client that was told something else.
 * Anything this module does not recognise exactly (another method, a cursor, an unknown
 * field, a version not recorded, a line that is not JSON) ends the early answers: that
 * message and all after it wait for the server.
 */
import { readFileSync } from "node:fs";
import { PassThrough, Writable, type Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { isDeepStrictEqual } from "node:util";

/** Bumped when the file's shape changes: a file of another format is not used. */
export const OPENING_FORMAT = 1;

type Json = Record<string, unknown>;

/** The server's answers to one era's opening, for one protocol version. */
export interface OpeningAnswers {
  /** The result of initialize (2025-11-25 era) or server/discover (2026-07-28 era). */
  hello: Json;
  /** The result of tools/list without a cursor, but for its tools (OpeningVariant.tools). */
  toolsList: Json;
}

/** The answers of one configuration, by protocol version, per era. */
export interface OpeningVariant {
  /** The tools every tools/list lists (the same in every version: the recording checks). */
  tools: Json[];
  legacy: Record<string, OpeningAnswers>;
  modern: Record<string, OpeningAnswers>;
}

/**
 * The configurations whose opening differs: the pbs tools where PBS is configured (read-only
 * servers only: the demo's and the usual setup), the dangerous tools, and execute_command only
 * where SSH is configured. Other toolsets than the default ones are not recorded (their
 * resources and prompts change the capabilities too): those servers answer everything.
 */
export const OPENING_VARIANTS = ["read-only", "read-only+pbs", "dangerous", "dangerous+ssh"] as const;
export type OpeningVariantKey = (typeof OPENING_VARIANTS)[number];

/** The recorded variant that fits a configuration, or undefined when none does. */
export function openingVariantKey(settings: {
  toolsets: readonly string[] | undefined;
  dangerous: boolean;
  ssh: boolean;
  pbs: boolean;
}): OpeningVariantKey | undefined {
  if (settings.toolsets !== undefined) return undefined;
  if (!settings.dangerous) return settings.pbs ? "read-only+pbs" : "read-only";
  if (settings.pbs) return undefined;
  return settings.ssh ? "dangerous+ssh" : "dangerous";
}

/** dist/opening/<variant>.json: one variant's opening, recorded at build time (stdio-opening-record.ts). */
export interface RecordedOpening {
  format: typeof OPENING_FORMAT;
  /** The package version that recorded it: a file of another build is not used. */
  version: string;
  variant: OpeningVariant;
}

/**
 * The recorded opening of a variant, from the directory next to the bundle, or undefined
 * when there is none for this build (a build without the recording step, another version):
 * the server then answers everything itself.
 */
export function readRecordedOpening(
  directory: URL,
  key: OpeningVariantKey,
  version: string,
): OpeningVariant | undefined {
  let recorded: RecordedOpening;
  try {
    recorded = JSON.parse(readFileSync(new URL(`${key}.json`, directory), "utf8")) as RecordedOpening;
  } catch {
    return undefined;
  }
  return recorded.format === OPENING_FORMAT && recorded.version === version ? recorded.variant : undefined;
}

/** What the client may be told now: a reply, nothing (a notification), or, undefined, "ask the server". */
interface Step {
  reply?: Json;
  /** The opening is complete: the server loads now. */
  last: boolean;
}

const ENVELOPE = {
  version: "io.modelcontextprotocol/protocolVersion",
  capabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
} as const;
const RESERVED_PREFIX = "io.modelcontextprotocol/";
const CLIENT_INFO_STRINGS = new Set(["name", "version", "title", "description", "websiteUrl"]);

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasOnlyKeys(value: Json, allowed: readonly string[]): boolean {
  return Object.keys(value).every((key) => allowed.includes(key));
}

/** A client's name and version, and nothing the early answer cannot vouch for. */
function isClientInfo(value: unknown): boolean {
  if (!isPlainObject(value) || typeof value["name"] !== "string" || typeof value["version"] !== "string")
    return false;
  return Object.entries(value).every(
    ([key, field]) => CLIENT_INFO_STRINGS.has(key) && typeof field === "string",
  );
}

/** Capabilities are objects of objects (roots, sampling, elicitation, ...). */
function isCapabilities(value: unknown): boolean {
  return isPlainObject(value) && Object.values(value).every(isPlainObject);
}

/** A 2025-era request's _meta: absent, or free of the 2026-07-28 envelope's reserved keys. */
function isLegacyMeta(meta: unknown): boolean {
  return (
    meta === undefined ||
    (isPlainObject(meta) && Object.keys(meta).every((key) => !key.startsWith(RESERVED_PREFIX)))
  );
}

/**
 * Decides, message by message, what may be answered early. Only the exact happy paths
 * are: a 2025-era initialize, its initialized notification and a tools/list; or
 * 2026-07-28 server/discover and tools/list requests carrying a complete envelope.
 */
export class OpeningReplies {
  private era: "legacy" | "modern" | undefined;
  private version: string | undefined;

  constructor(private readonly variant: OpeningVariant) {}

  step(message: unknown): Step | undefined {
    if (!isPlainObject(message) || message["jsonrpc"] !== "2.0" || typeof message["method"] !== "string")
      return undefined;
    const { id, method } = message;
    const params = message["params"];
    if (!("id" in message)) {
      const initialized =
        method === "notifications/initialized" &&
        this.era === "legacy" &&
        (params === undefined ||
          (isPlainObject(params) && hasOnlyKeys(params, ["_meta"]) && isLegacyMeta(params["_meta"])));
      return initialized ? { last: false } : undefined;
    }
    if (!(typeof id === "string" || Number.isSafeInteger(id))) return undefined;
    const reply = (result: Json, last: boolean): Step => ({ reply: { jsonrpc: "2.0", id, result }, last });

    if (method === "initialize") {
      if (this.era !== undefined || !isPlainObject(params)) return undefined;
      if (!hasOnlyKeys(params, ["protocolVersion", "capabilities", "clientInfo", "_meta"])) return undefined;
      const version = params["protocolVersion"];
      if (typeof version !== "string" || !Object.hasOwn(this.variant.legacy, version)) return undefined;
      if (!isCapabilities(params["capabilities"]) || !isClientInfo(params["clientInfo"])) return undefined;
      if (!isLegacyMeta(params["_meta"])) return undefined;
      this.era = "legacy";
      this.version = version;
      return reply(this.variant.legacy[version]!.hello, false);
    }
    if (method !== "tools/list" && method !== "server/discover") return undefined;
    if (params !== undefined && !isPlainObject(params)) return undefined;
    if (params !== undefined && !hasOnlyKeys(params, ["_meta"])) return undefined;
    const meta = params?.["_meta"];

    if (this.era === "legacy") {
      if (method !== "tools/list" || !isLegacyMeta(meta)) return undefined;
      return reply(this.toolsList(this.variant.legacy[this.version!]!), true);
    }
    // 2026-07-28: every request carries the whole envelope, and the era is decided by it.
    if (!isPlainObject(meta) || !hasOnlyKeys(meta, Object.values(ENVELOPE))) return undefined;
    const version = meta[ENVELOPE.version];
    if (typeof version !== "string" || !Object.hasOwn(this.variant.modern, version)) return undefined;
    if (this.version !== undefined && version !== this.version) return undefined;
    if (!isCapabilities(meta[ENVELOPE.capabilities]) || !isClientInfo(meta[ENVELOPE.clientInfo]))
      return undefined;
    this.era = "modern";
    this.version = version;
    const answers = this.variant.modern[version]!;
    return method === "tools/list" ? reply(this.toolsList(answers), true) : reply(answers.hello, false);
  }

  private toolsList(answers: OpeningAnswers): Json {
    return { tools: this.variant.tools, ...answers.toolsList };
  }
}

export interface EarlyOpening {
  /** What the SDK's stdio transport reads: every byte the client sent, from the first. */
  input: Readable;
  /** What it writes to: stdout, without its own answers to the requests already replied to. */
  output: Writable;
  /** Resolves when the server must be loaded (the opening is over, or cannot be answered here). */
  loadNeeded: Promise<void>;
}

export interface EarlyOpeningOptions {
  variant: OpeningVariant;
  stdin: Readable;
  stdout: NodeJS.WritableStream;
  /** The server loads after this long even if the client has not finished its opening. */
  waitMs: number;
  /** The server answered a request differently from the early reply (the caller stops the process). */
  onMismatch: (method: string, detail: string) => void;
}

/** A line this long without its end is no opening message: the server reads it. */
const MAX_OPENING_LINE = 1 << 20;

/** Starts answering the opening on stdin/stdout; see the module comment. */
export function answerOpeningEarly(options: EarlyOpeningOptions): EarlyOpening {
  const { stdin, stdout } = options;
  const replies = new OpeningReplies(options.variant);
  // Keeps every byte for the SDK's transport, which starts reading once the server is loaded.
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  stdin.pipe(input);
  /** The replies sent, by request id (as JSON), with the method they answered. */
  const replied = new Map<string, { method: string; reply: Json }>();

  let finishLoad!: () => void;
  const loadNeeded = new Promise<void>((resolve) => (finishLoad = resolve));
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let over = false;
  const end = () => {
    if (over) return;
    over = true;
    stdin.off("data", inspect);
    stdin.off("end", end);
    clearTimeout(timer);
    finishLoad();
  };
  const timer = setTimeout(end, options.waitMs);

  function inspect(chunk: Buffer): void {
    pending += decoder.write(chunk);
    let newline: number;
    while (!over && (newline = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return end();
      }
      const step = replies.step(message);
      if (!step) return end();
      if (step.reply) {
        const { id, method } = message as { id: unknown; method: string };
        // What the server's answer is compared with: the reply as the client reads it.
        const text = JSON.stringify(step.reply);
        replied.set(JSON.stringify(id), { method, reply: JSON.parse(text) as Json });
        stdout.write(`${text}\n`);
      }
      if (step.last) return end();
    }
    if (pending.length > MAX_OPENING_LINE) end();
  }
  stdin.on("data", inspect);
  stdin.once("end", end);

  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (replied.size > 0) {
        const message = JSON.parse(chunk.toString("utf8")) as Json;
        const key = "method" in message ? undefined : JSON.stringify(message["id"]);
        const early = key === undefined ? undefined : replied.get(key);
        if (key !== undefined && early) {
          replied.delete(key);
          if (!isDeepStrictEqual(message, early.reply)) {
            options.onMismatch(
              early.method,
              `sent ${JSON.stringify(early.reply).slice(0, 200)}…, the server answers ${chunk.toString("utf8").slice(0, 200)}…`,
            );
          }
          return done();
        }
      }
      if (stdout.write(chunk)) done();
      else stdout.once("drain", () => done());
    },
  });
  stdout.on("error", (err: Error) => output.destroy(err));
  return { input, output, loadNeeded };
}
