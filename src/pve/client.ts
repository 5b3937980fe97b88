/**
 * The read side's Proxmox client: GET only, by construction (there is no method that
 * sends anything else). Every answer is redacted before any caller sees it (redact.ts):
 * read tools, resources, the audit and doctor work on data without secrets. Per-client
 * TLS (never process-global), one deadline per request that covers the body, every path
 * value checked against PVE's format before any byte is sent, no retries, and a token
 * secret that never leaves its private field except into the Authorization header.
 *
 * The request machinery (PveTransport) is shared with the admin client (admin.ts) and,
 * with PBS's flavour (token header, plain-text errors, PBS_* settings in fixes), with the
 * PBS reader (src/pbs/client.ts); a reader keeps its transport in a private field and
 * only ever passes it "GET".
 */
import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { buildConnector, Pool } from "undici";
import type { Secret } from "../config/secret.js";
import type { Config, TlsMode } from "../config/types.js";
import { PveApiError, PveInputError, PveTlsMismatchError, PveTransportError } from "./errors.js";
import { assertCheckedPath, type ApiMethod, type CheckedApiPath } from "./api-path.js";
import { checkPathParam, isPathParamName, type PathParamName } from "./formats.js";
import { REDACTED, Redactor } from "../redact.js";

export interface PveRequestRecord {
  /** Always "GET" for a PveReader. */
  method: ApiMethod;
  /** The API path below /api2/json, parameters filled in, without the query. */
  path: string;
  /** null when no answer arrived (timeout, TLS, network). */
  status: number | null;
  durationMs: number;
  /** "PBS" for a request to Proxmox Backup Server (paths such as /version exist on both). */
  service?: "PBS";
}

/** The connection settings of the configuration (timeoutMs: connect, headers and body). */
export interface PveReaderOptions extends Pick<
  Config,
  "host" | "port" | "tokenId" | "tokenSecret" | "tls" | "timeoutMs"
> {
  onRequest?: (record: PveRequestRecord) => void;
}

export type QueryValue = string | number | boolean | undefined;

/**
 * What differs between the Proxmox APIs a transport speaks to (PVE, PBS): the token
 * header, how a non-2xx answer becomes an error, and the settings its fixes name.
 * TLS, pinning, the deadline, the size cap and the redirect refusal are the same.
 */
export interface ApiFlavour {
  /** "PVE" or "PBS", as messages name the API. */
  product: string;
  /** The Authorization header's value. */
  authorization(tokenId: string, secret: string): string;
  /** The settings a fix names. */
  settings: { host: string; port: string; caFile: string; fingerprint: string; timeout: string };
  /** Where the CA file or the fingerprint comes from, for the fix of a refused certificate. */
  trustHint: string;
  /** A non-2xx answer as an error; `text` is the body with the token secret already masked. */
  apiError(
    answer: { status: number; reason: string; headers: IncomingHttpHeaders; text: string },
    method: ApiMethod,
    path: string,
  ): PveApiError;
}

/** PVE: `PVEAPIToken=id=secret`, JSON error bodies `{message, errors}`. */
export const PVE_FLAVOUR: ApiFlavour = {
  product: "PVE",
  authorization: (tokenId, secret) => `PVEAPIToken=${tokenId}=${secret}`,
  settings: {
    host: "PROXMOX_HOST",
    port: "PROXMOX_PORT",
    caFile: "PROXMOX_CA_FILE",
    fingerprint: "PROXMOX_TLS_FINGERPRINT",
    timeout: "PROXMOX_TIMEOUT_MS",
  },
  trustHint:
    "Set PROXMOX_CA_FILE to the cluster CA (/etc/pve/pve-root-ca.pem) or pin PROXMOX_TLS_FINGERPRINT.",
  apiError: ({ status, reason, headers, text }, method, path) => {
    const isJson = header(headers, "content-type").startsWith("application/json");
    let json: unknown;
    try {
      json = isJson && text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const answer = typeof json === "object" && json !== null && !Array.isArray(json) ? json : {};
    return apiError(status, reason, answer, method, path);
  },
};

/** The transport's settings: the connection's, and the API's flavour (PVE when absent). */
export interface TransportOptions extends PveReaderOptions {
  flavour?: ApiFlavour;
}

export interface GetOptions {
  query?: Record<string, QueryValue>;
  signal?: AbortSignal;
}

export class PveReader {
  readonly #transport: PveTransport;
  readonly #redactor: Redactor;

  constructor(options: PveReaderOptions) {
    this.#transport = new PveTransport(options);
    this.#redactor = new Redactor([options.tokenSecret.reveal()]);
  }

  /** PVE's `data` for GET `template` (e.g. "/nodes/{node}/qemu/{vmid}/config"). */
  async get<T = unknown>(
    template: string,
    params?: Record<string, string | number>,
    options?: GetOptions,
  ): Promise<T> {
    return this.#redactor.value((await this.#send(template, params, options)).data) as T;
  }

  /** Like get, plus PVE's `total` for paged lists (tasks, task logs, syslog). */
  async getWithTotal<T = unknown>(
    template: string,
    params?: Record<string, string | number>,
    options?: GetOptions,
  ): Promise<{ data: T; total?: number }> {
    const { data, total } = await this.#send(template, params, options);
    return { data: this.#redactor.value(data) as T, ...(total === undefined ? {} : { total }) };
  }

  /** For the raw GET tool: a path parseApiPath("GET", ...) returned, checked again here. */
  async getPath<T = unknown>(path: CheckedApiPath, options: GetOptions = {}): Promise<T> {
    assertCheckedPath("GET", path);
    return this.#redactor.value((await this.#transport.send("GET", path, options)).data) as T;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  async #send(
    template: string,
    params: Record<string, string | number> = {},
    { query, signal }: GetOptions = {},
  ): Promise<PveAnswer> {
    // The one place a reader names a method: a literal, never a parameter.
    return this.#transport.send("GET", fillPath(template, params), { query, signal });
  }
}

/** A value of a query or form parameter: booleans go as 1/0, undefined is left out, arrays repeat the key. */
export type ParamValue = string | number | boolean | undefined | readonly (string | number | boolean)[];

export interface SendOptions {
  query?: Record<string, ParamValue>;
  /** Form parameters (POST and PUT only). */
  body?: Record<string, ParamValue>;
  signal?: AbortSignal;
}

/** PVE's answer: its `data`, and its `total` for paged lists. */
export interface PveAnswer {
  data: unknown;
  total?: number;
}

/** pve-http-server's $limit_max_post: a larger body is refused with 501 "for data too large". */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The request machinery of PveReader and PveAdmin: one undici Pool with this client's
 * TLS, the token, the deadline, the size cap, decoding and typed errors. Internal to
 * src/pve: a read tool only ever holds a PveReader, which keeps its transport private.
 *
 * Never retries and never follows a redirect (plain Pools, no RetryAgent, no interceptor):
 * a POST is written at most once. GETs share kept-alive connections; every POST, PUT and
 * DELETE gets a fresh connection of its own, so a write never lands on an idle socket the
 * server is closing (which would fail it without telling whether it arrived).
 */
export class PveTransport {
  /** Made on the first request: undici is loaded then, not at start-up (it is a tenth of it). */
  #pools: Promise<{ reads: Pool; writes: Pool }> | undefined;
  readonly #tls: TlsMode;
  readonly #where: string;
  readonly #tokenId: string;
  readonly #tokenSecret: Secret;
  readonly #timeoutMs: number;
  readonly #onRequest: ((record: PveRequestRecord) => void) | undefined;
  readonly #flavour: ApiFlavour;

  constructor(options: TransportOptions) {
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    this.#where = `${host}:${options.port}`;
    this.#tls = options.tls;
    this.#tokenId = options.tokenId;
    this.#tokenSecret = options.tokenSecret;
    this.#timeoutMs = options.timeoutMs;
    this.#onRequest = options.onRequest;
    this.#flavour = options.flavour ?? PVE_FLAVOUR;
  }

  #poolsMade(): Promise<{ reads: Pool; writes: Pool }> {
    this.#pools ??= import("undici").then((loaded) => {
      // A CommonJS module: bundled, its exports are the namespace's default.
      const { buildConnector, Pool } = (
        "Pool" in loaded ? loaded : (loaded as { default: unknown }).default
      ) as typeof loaded;
      const connect = connectOptions(this.#tls, this.#where, buildConnector, this.#flavour);
      return {
        // pveproxy runs 3 workers by default: a burst of parallel tool calls must not open dozens of sockets.
        reads: new Pool(`https://${this.#where}`, { connections: 4, connect }),
        // pipelining 0: no keep-alive, one request per connection. A Pool opens no socket until used.
        writes: new Pool(`https://${this.#where}`, { connections: 2, pipelining: 0, connect }),
      };
    });
    return this.#pools;
  }

  async close(): Promise<void> {
    if (!this.#pools) return;
    const { reads, writes } = await this.#pools;
    await Promise.all([reads.close(), writes.close()]);
  }

  /**
   * Sends `method path` once. `path` is below /api2/json, every segment already checked
   * and percent-encoded (fillPath, parseApiPath). Refuses a body PVE would refuse (on a
   * GET or DELETE, or over 64 KiB) before connecting.
   */
  async send(method: ApiMethod, path: string, { query, body, signal }: SendOptions = {}): Promise<PveAnswer> {
    const form = formEncode(body);
    if (form && (method === "GET" || method === "DELETE")) {
      throw new Error(
        `a ${method} request carries no body (pveproxy answers 501): put its parameters in query`,
      );
    }
    const payload = form ? Buffer.from(form, "utf8") : undefined;
    if (payload && payload.length > MAX_BODY_BYTES) {
      throw new PveInputError(
        "body",
        `the form-encoded parameters are ${payload.length} bytes; pveproxy accepts at most ${MAX_BODY_BYTES} bytes (64 KiB)`,
      );
    }
    signal?.throwIfAborted();
    const where = `${method} ${path} on ${this.#where}`;
    const flavour = this.#flavour;
    const started = performance.now();
    let status: number | null = null;
    let timedOut = false;
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, this.#timeoutMs);
    const abortWithCaller = () => deadline.abort();
    signal?.addEventListener("abort", abortWithCaller, { once: true });
    try {
      const search = formEncode(query);
      const pools = await this.#poolsMade();
      const pool = method === "GET" ? pools.reads : pools.writes;
      const response = await pool.request({
        method,
        path: `/api2/json${path}${search ? `?${search}` : ""}`,
        headers: {
          Authorization: flavour.authorization(this.#tokenId, this.#tokenSecret.reveal()),
          Accept: "application/json",
          // No gzip: pveproxy compresses at zlib's best level, in one of its three workers;
          // for a 2,000-guest /cluster/resources that is 28 ms to save 540 KB, 4 ms at 1 Gbit/s.
          "Accept-Encoding": "identity",
          ...(payload ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        ...(payload ? { body: payload } : {}),
        signal: deadline.signal,
      });
      status = response.statusCode;
      const raw = await readCapped(response.body, where, flavour);
      refuseEncoded(response.headers, where, flavour);
      return parseAnswer(response, raw, method, path, where, flavour, this.#tokenSecret);
    } catch (err) {
      if (err instanceof PveApiError) throw err;
      if (signal?.aborted) throw signal.reason;
      const failure =
        err instanceof PveTransportError
          ? err
          : timedOut
            ? timeoutError(where, this.#timeoutMs, flavour)
            : transportError(err, where, this.#timeoutMs, flavour);
      throw method === "GET" || notSent(err, failure) ? failure : mayHaveReached(failure);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abortWithCaller);
      this.#onRequest?.({
        method,
        path,
        status,
        durationMs: Math.round(performance.now() - started),
        ...(flavour.product === "PBS" ? { service: "PBS" as const } : {}),
      });
    }
  }
}

// Literal segments only: a template built by string interpolation with a hostile value
// ("..", "?", "#", "%") is refused even though its values bypassed the format checks.
const TEMPLATE_RE = /^(\/([A-Za-z0-9_-]+|\{[a-z]+\}))+$/;

/** An API's path variables: which names have a format, and the check (throws PveInputError). */
export interface PathFormats {
  has(name: string): boolean;
  check(name: string, value: unknown): string;
}

const PVE_PATH_FORMATS: PathFormats = {
  has: isPathParamName,
  check: (name, value) => checkPathParam(name as PathParamName, value),
};

/** The template with each `{var}` checked against the API's format (PVE's by default) and percent-encoded. */
export function fillPath(
  template: string,
  params: Record<string, string | number>,
  formats: PathFormats = PVE_PATH_FORMATS,
): string {
  if (!TEMPLATE_RE.test(template)) throw new Error(`API path template ${template} is malformed`);
  const used = new Set<string>();
  const path = template.replace(/\{([a-z]+)\}/g, (_match, name: string) => {
    if (!formats.has(name)) throw new Error(`API path template ${template}: {${name}} has no format`);
    if (!Object.hasOwn(params, name))
      throw new Error(`API path template ${template}: {${name}} has no value`);
    used.add(name);
    return encodeURIComponent(formats.check(name, params[name]));
  });
  const unused = Object.keys(params).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`API path template ${template} has no {${unused.join("}, {")}}`);
  return path;
}

/** application/x-www-form-urlencoded, for the query and the body alike (PVE decodes both the same way). */
function formEncode(params: Record<string, ParamValue> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      search.append(key, typeof item === "boolean" ? (item ? "1" : "0") : String(item));
    }
  }
  return search.toString();
}

type BuildConnector = typeof buildConnector;

function connectOptions(
  tls: TlsMode,
  where: string,
  build: BuildConnector,
  flavour: ApiFlavour,
): buildConnector.BuildOptions | buildConnector.connector {
  switch (tls.mode) {
    case "system":
      return {};
    case "ca-file":
      return { ca: tls.caPem };
    case "insecure":
      return { rejectUnauthorized: false };
    case "fingerprint":
      return pinnedConnector(tls.fingerprint, where, build, flavour.settings.fingerprint);
  }
}

/**
 * Pinning replaces the CA chain: the handshake accepts any certificate, and the socket is
 * handed to undici (which only then writes the request) only if the leaf's SHA-256 matches.
 * No session cache, so every connection shows its certificate in a full handshake.
 */
function pinnedConnector(
  pinned: string,
  where: string,
  build: BuildConnector,
  setting: string,
): buildConnector.connector {
  const connectTls = build({ rejectUnauthorized: false, maxCachedSessions: 0 });
  const normalize = (fingerprint: string) => fingerprint.replace(/:/g, "").toUpperCase();
  return (options, callback) =>
    connectTls(options, (err, socket) => {
      if (err) return callback(err, null);
      const actual = (socket as TLSSocket).getPeerCertificate().fingerprint256 ?? "none";
      if (normalize(actual) === normalize(pinned)) return callback(null, socket);
      socket.destroy();
      callback(new PveTlsMismatchError(pinned, actual, where, setting), null);
    });
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(", ") : (value ?? "")).trim().toLowerCase();
}

/**
 * Far above any real answer (a 10,000-guest /cluster/resources is ~3 MiB), low enough
 * that a broken or hostile endpoint cannot exhaust memory.
 */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

async function readCapped(body: AsyncIterable<Buffer>, where: string, flavour: ApiFlavour): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES)
      throw protocolError(where, `an answer larger than ${MAX_RESPONSE_BYTES} bytes`, flavour);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** We ask for no encoding: an encoded answer comes from something between us and the API. */
function refuseEncoded(headers: IncomingHttpHeaders, where: string, flavour: ApiFlavour): void {
  const encoding = header(headers, "content-encoding");
  if (encoding !== "" && encoding !== "identity")
    throw protocolError(
      where,
      `a Content-Encoding "${encoding}" it was not asked for`,
      flavour,
      `something in front of ${flavour.product} compresses its answers unasked: turn that off, or point ${flavour.settings.host} at the ${flavour.product === "PVE" ? "node" : "server"}`,
    );
}

/** The token secret (and its URL-encoded form) masked in an error body, whatever else the API quotes. */
function maskSecret(text: string, secret: Secret): string {
  const value = secret.reveal();
  if (value.length < 4) return text;
  return text.replaceAll(value, REDACTED).replaceAll(encodeURIComponent(value), REDACTED);
}

function parseAnswer(
  {
    statusCode: status,
    statusText: reason,
    headers,
  }: { statusCode: number; statusText: string; headers: IncomingHttpHeaders },
  body: Buffer,
  method: ApiMethod,
  path: string,
  where: string,
  flavour: ApiFlavour,
  secret: Secret,
): PveAnswer {
  if (status >= 300 && status < 400) {
    throw protocolError(
      where,
      `a redirect (${status})`,
      flavour,
      `redirects are not followed: point ${flavour.settings.host} at the ${flavour.product} API itself`,
    );
  }
  if (status < 200 || status >= 300) {
    const text = maskSecret(body.toString("utf8"), secret);
    throw flavour.apiError({ status, reason, headers, text }, method, path);
  }
  const isJson = header(headers, "content-type").startsWith("application/json");
  if (!isJson)
    throw protocolError(where, `an unexpected Content-Type "${header(headers, "content-type")}"`, flavour);
  let json: unknown;
  try {
    json = body.length > 0 ? JSON.parse(body.toString("utf8")) : undefined;
  } catch {
    json = undefined;
  }
  const answer = typeof json === "object" && json !== null && !Array.isArray(json) ? json : {};
  if (!("data" in answer))
    throw protocolError(
      where,
      `a body that is not ${flavour.product}'s JSON {data: ...} (truncated?)`,
      flavour,
    );
  const total = "total" in answer && typeof answer.total === "number" ? answer.total : undefined;
  return total === undefined ? { data: answer.data } : { data: answer.data, total };
}

function apiError(
  status: number,
  reason: string,
  answer: object,
  method: ApiMethod,
  path: string,
): PveApiError {
  const message = "message" in answer && typeof answer.message === "string" ? answer.message.trimEnd() : "";
  const errors = "errors" in answer && typeof answer.errors === "object" ? answer.errors : null;
  const fieldErrors = errors
    ? Object.fromEntries(Object.entries(errors).map(([field, text]) => [field, String(text).trimEnd()]))
    : undefined;
  // 596 is the same proxy failure as 595 (AnyEvent::HTTP: the node did not answer in time).
  const normalized = status === 596 ? 595 : status;
  return new PveApiError(normalized, reason, message || reason, method, path, fieldErrors);
}

function timeoutError(where: string, timeoutMs: number, flavour: ApiFlavour): PveTransportError {
  const host = flavour.product === "PVE" ? "the node" : flavour.product;
  return new PveTransportError(
    "timeout",
    `${where}: no complete answer within ${timeoutMs} ms; check that ${host} is up, or raise ${flavour.settings.timeout}`,
  );
}

function protocolError(
  where: string,
  what: string,
  flavour: ApiFlavour,
  fix = `check that ${flavour.settings.host} and ${flavour.settings.port} point at the ${flavour.product} API`,
): PveTransportError {
  return new PveTransportError("protocol", `${where}: the server answered with ${what}; ${fix}`);
}

// Connection failures before any byte of the request is written.
const NOT_SENT_CODE =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|UND_ERR_CONNECT_TIMEOUT)$/;

/** True when the request surely never left: DNS, refused or unreachable, TLS refused, pin mismatch. */
function notSent(err: unknown, failure: PveTransportError): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return failure.kind === "tls" || (typeof code === "string" && NOT_SENT_CODE.test(code));
}

/**
 * A write that failed after its connection was open (reset, deadline, a lost or malformed
 * answer) may have been carried out: say so, so that nobody sends it again blindly.
 */
function mayHaveReached(failure: PveTransportError): PveTransportError {
  return new PveTransportError(
    failure.kind,
    `${failure.message}\nThe request may have reached Proxmox; check the task list before retrying.`,
    true,
  );
}

const TLS_ERROR_CODE = /^ERR_TLS_|^ERR_SSL_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

function transportError(
  err: unknown,
  where: string,
  timeoutMs: number,
  flavour: ApiFlavour,
): PveTransportError {
  const { code = "", message = String(err) } = err as { code?: string; message?: string };
  if (TLS_ERROR_CODE.test(code)) {
    return new PveTransportError(
      "tls",
      `${where}: TLS certificate refused (${message}).\n${flavour.trustHint}`,
    );
  }
  if (code.includes("TIMEOUT")) return timeoutError(where, timeoutMs, flavour);
  if (code.startsWith("HPE_")) return protocolError(where, `a malformed HTTP answer (${message})`, flavour);
  const { host, port } = flavour.settings;
  return new PveTransportError(
    "network",
    `${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}; check ${host}, ${port} and the firewall`,
  );
}
