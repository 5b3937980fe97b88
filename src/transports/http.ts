/**
 * MCP over Streamable HTTP, both protocol eras on one endpoint, all built from the same
 * deps (one PveReader, TokenCheck, AuditLog and confirmation key for the whole process):
 *   - 2026-07-28 requests are stateless: each is answered by a server instance made for
 *     it (the SDK's createMcpHandler), so any process behind a load balancer can take
 *     any request, a confirmation's second round included (MCP_CONFIRM_KEY);
 *   - 2025-11-25 clients get sessions: one McpServer and one SDK transport per session,
 *     which the confirmation question needs (the server asks over the session's stream).
 *
 * Every request goes through the same gate, in this order:
 *   1. Host allow-list and Origin check (DNS rebinding)      -> 403
 *   2. /healthz answers here (liveness only, no auth; 503 while shutting down)
 *   3. bearer token, compared in constant time                -> 401 + WWW-Authenticate,
 *      failed authentications limited per client address      -> 429 + Retry-After
 *   4. rate limit of the token's requests                     -> 429 + Retry-After
 *   5. /readyz, or /mcp: body size (counted while reading)    -> 413
 *      then the era: 2026-07-28 to the stateless handler; 2025-11-25 to its session
 *      (none and not initialize -> 400, unknown or expired -> 404, cap reached -> 503)
 * Host and Origin come first because the spec requires 403 for a bad Origin whether
 * or not a token came along, and they reveal nothing. The token comes before the rate
 * limit, and failures are counted apart from the token's requests, so that no process
 * without the token can use up the allowance of the client that has it. Nothing below
 * the token check runs for an unauthenticated request: no body is read, no session is
 * looked up, no Proxmox request is made. A session is never authentication.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { NodeStreamableHTTPServerTransport, toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isInitializeRequest,
  isJSONRPCRequest,
  isLegacyRequest,
  type AuthInfo,
  type McpServer,
} from "@modelcontextprotocol/server";
import { isLoopbackHost } from "../config/http.js";
import { normaliseOrigin } from "../config/schema.js";
import type { HttpConfig } from "../config/types.js";
import { explainError } from "../explain-error.js";
import { serverFactory, type ServerDeps } from "../server.js";

export const MCP_PATH = "/mcp";
/** How long a shutdown waits for calls in flight before closing their sessions anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** /readyz answers 503 when Proxmox takes longer than this. */
export const READY_TIMEOUT_MS = 5_000;
/**
 * Failed authentications allowed per client address and minute (fewer if
 * MCP_HTTP_RATE_LIMIT is lower): a client with the right token fails rarely, if ever.
 */
const FAILED_AUTH_PER_MINUTE = 60;
/** The rate limit's key for requests with the token: every client shares the one token. */
const TOKEN_HOLDERS = "MCP_HTTP_TOKEN";

export interface HttpServerOptions {
  http: HttpConfig;
  /** Shared by every server instance (serverFactory), sessions and 2026-07-28 requests alike, as over stdio. */
  deps: ServerDeps;
  /** Milliseconds clock for the rate limit and idle expiry (tests move it by hand). */
  now?: () => number;
  /** One line per request (debug); never headers, never the token. */
  log?: (line: string) => void;
  /** Problems worth a line on stderr (a handler that threw). */
  warn?: (line: string) => void;
  shutdownGraceMs?: number;
  readyTimeoutMs?: number;
}

export interface HttpServerHandle {
  /** The MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: string;
  port: number;
  /** Open sessions. */
  sessionCount(): number;
  /** Requests carrying JSON-RPC requests (tool calls...) not yet answered. */
  inFlight(): number;
  /** Closes sessions unused for MCP_HTTP_SESSION_IDLE_S as of `at`; resolves to how many. */
  expireIdleSessions(at?: number): Promise<number>;
  /**
   * Graceful stop: new work is refused (503) at once, calls in flight finish (at most
   * shutdownGraceMs, answers to their confirmation questions still get through), then
   * every session and connection is closed. The deps (PVE clients, audit log) stay open.
   */
  close(): Promise<void>;
}

interface Session {
  id: string;
  server: McpServer;
  transport: NodeStreamableHTTPServerTransport;
  lastSeen: number;
  /** Its requests in flight; a busy session never expires. */
  busy: number;
}

type Message = Record<string, unknown>;

/** What the SDK hands a server instance as ctx.http.authInfo: who called, never the token. */
const BEARER_HOLDER: AuthInfo = { token: "(verified)", clientId: "MCP_HTTP_TOKEN", scopes: [] };

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { http, deps } = options;
  const now = options.now ?? Date.now;
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const idleMs = http.sessionIdleS * 1000;
  const expected = digest(http.token.reveal());
  const tokenLimiter = new RateLimiter(http.rateLimit, now);
  const failedAuthLimit = Math.min(http.rateLimit, FAILED_AUTH_PER_MINUTE);
  const failedAuthLimiter = new RateLimiter(failedAuthLimit, now);
  const origins = new Set(http.allowedOrigins);
  const loopbackBind = isLoopbackHost(http.host);
  const allowedHosts = hostAllowList(http);

  const factory = serverFactory(deps);
  const warnOf = (what: string) => (err: Error) =>
    options.warn?.(`proxmox-mcp: http: ${what}: ${err.message}`);
  const modern = toNodeHandler(
    createMcpHandler(factory, { legacy: "reject", onerror: warnOf("2026-07-28") }),
    {
      onerror: warnOf("2026-07-28 request"),
      maxRequestBodySize: http.maxBodyBytes,
    },
  );

  const sessions = new Map<string, Session>();
  let opening = 0;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  async function closeSession(session: Session): Promise<void> {
    sessions.delete(session.id);
    try {
      await session.server.close();
    } catch (err) {
      options.warn?.(`proxmox-mcp: http: closing session failed: ${(err as Error).message}`);
    }
  }

  async function expireIdleSessions(at = now()): Promise<number> {
    const idle = [...sessions.values()].filter((s) => s.busy === 0 && at - s.lastSeen >= idleMs);
    await Promise.all(idle.map(closeSession));
    return idle.length;
  }

  /** Host, then Origin: undefined if both may talk to us, else the 403 message. */
  function rebindingProblem(req: IncomingMessage): string | undefined {
    const host = hostName(req.headers.host);
    if (host === undefined || !allowedHosts.has(host)) {
      return "Forbidden: the Host header names a host this server does not answer to (DNS rebinding protection); connect by the address it listens on, or add the name's origin to MCP_ALLOWED_ORIGINS";
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) {
      return "Forbidden: requests from this Origin are not allowed (DNS rebinding protection); add it to MCP_ALLOWED_ORIGINS to allow a web client there";
    }
    return undefined;
  }

  function originAllowed(origin: string): boolean {
    const normal = normaliseOrigin(origin);
    if (normal === undefined) return false;
    if (origins.has(normal)) return true;
    return loopbackBind && isLoopbackHost(new URL(normal).hostname);
  }

  /** CORS only for the origins the operator listed; a loopback origin may call, but gets no CORS grant. */
  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const normal = req.headers.origin === undefined ? undefined : normaliseOrigin(req.headers.origin);
    if (normal === undefined || !origins.has(normal)) return {};
    return {
      "Access-Control-Allow-Origin": normal,
      "Access-Control-Expose-Headers": "Mcp-Session-Id, WWW-Authenticate, Retry-After",
      Vary: "Origin",
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Content-Type-Options", "nosniff");
    const target = req.url ?? "";
    // Origin-form only ("/mcp?x"): an absolute target would name a host of its own.
    if (!target.startsWith("/")) return fail(req, res, 400, "Bad Request: the request target must be a path");
    const path = target.split("?")[0];
    const method = req.method ?? "";

    const forbidden = rebindingProblem(req);
    if (forbidden) return fail(req, res, 403, forbidden);
    for (const [name, value] of Object.entries(corsHeaders(req))) res.setHeader(name, value);

    if (path === "/healthz") {
      if (method !== "GET" && method !== "HEAD")
        return fail(req, res, 405, "Method Not Allowed", { Allow: "GET" });
      // A load balancer stops sending new clients here while the calls in flight finish.
      return draining
        ? sendJson(req, res, 503, { status: "shutting down" })
        : sendJson(req, res, 200, { status: "ok" });
    }
    if (path !== MCP_PATH && path !== "/readyz")
      return fail(req, res, 404, "Not Found: the MCP endpoint is /mcp");
    // A browser's preflight carries no credentials; like /healthz it costs nothing and is not limited.
    if (method === "OPTIONS") return preflight(req, res);

    const auth = authenticate(req.headers.authorization, expected);
    if (auth !== "ok") {
      const failedWait = failedAuthLimiter.take(clientAddress(req));
      if (failedWait !== undefined) {
        return fail(
          req,
          res,
          429,
          `Too Many Requests: more than ${failedAuthLimit} failed authentications a minute from this address; retry in ${failedWait} s with the right MCP_HTTP_TOKEN`,
          { "Retry-After": String(failedWait) },
        );
      }
      const message =
        auth === "missing"
          ? "Unauthorized: send the server's token as `Authorization: Bearer <MCP_HTTP_TOKEN>` on every request"
          : "Unauthorized: the bearer token is wrong; send the server's MCP_HTTP_TOKEN as `Authorization: Bearer <token>`";
      const challenge =
        auth === "missing"
          ? 'Bearer realm="proxmox-mcp"'
          : 'Bearer realm="proxmox-mcp", error="invalid_token", error_description="the token is wrong"';
      return fail(req, res, 401, message, { "WWW-Authenticate": challenge });
    }
    (req as IncomingMessage & { auth?: AuthInfo }).auth = BEARER_HOLDER;
    const wait = tokenLimiter.take(TOKEN_HOLDERS);
    if (wait !== undefined) {
      return fail(
        req,
        res,
        429,
        `Too Many Requests: more than ${http.rateLimit} requests a minute with the token, all clients together (MCP_HTTP_RATE_LIMIT); retry in ${wait} s`,
        { "Retry-After": String(wait) },
      );
    }

    if (path === "/readyz") {
      if (method !== "GET" && method !== "HEAD")
        return fail(req, res, 405, "Method Not Allowed", { Allow: "GET" });
      const reason = await notReady();
      return reason === undefined
        ? sendJson(req, res, 200, { status: "ready" })
        : sendJson(req, res, 503, { status: "not ready", reason });
    }
    if (method === "POST") return post(req, res);
    if (method === "GET" || method === "DELETE") {
      const session = findSession(req, res);
      if (!session) return;
      if (draining && method === "GET") return fail(req, res, 503, SHUTTING_DOWN);
      return serve(session, req, res, undefined, false);
    }
    return fail(req, res, 405, "Method Not Allowed: use POST, GET or DELETE", { Allow: "GET, POST, DELETE" });
  }

  function preflight(req: IncomingMessage, res: ServerResponse): void {
    if (!res.hasHeader("Access-Control-Allow-Origin")) {
      return fail(req, res, 405, "Method Not Allowed: use POST, GET or DELETE", {
        Allow: "GET, POST, DELETE",
      });
    }
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "GET, POST, DELETE",
      "Access-Control-Allow-Headers":
        "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID",
      "Access-Control-Max-Age": "600",
    });
    res.end();
  }

  /** The session the Mcp-Session-Id header names; answers 400 or 404 itself when there is none. */
  function findSession(req: IncomingMessage, res: ServerResponse): Session | undefined {
    const id = req.headers["mcp-session-id"];
    if (typeof id !== "string" || id === "") {
      fail(req, res, 400, "Bad Request: Mcp-Session-Id header is required; start a session with initialize");
      return undefined;
    }
    const session = sessions.get(id);
    if (!session) {
      fail(
        req,
        res,
        404,
        `Session not found: it was closed, or expired after ${http.sessionIdleS} s unused (MCP_HTTP_SESSION_IDLE_S); start a new session with initialize`,
        {},
        -32001,
      );
    }
    return session;
  }

  async function post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
      return fail(req, res, 415, "Unsupported Media Type: Content-Type must be application/json");
    }
    const body = await readBody(req, http.maxBodyBytes);
    if (body === "aborted") return;
    if (body === "too large") {
      return fail(
        req,
        res,
        413,
        `Payload Too Large: request bodies are limited to ${http.maxBodyBytes} bytes (MCP_HTTP_MAX_BODY)`,
        { Connection: "close" },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return fail(req, res, 400, "Parse error: the body is not valid JSON", {}, -32700);
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as Message[];
    const carriesRequests = messages.some((m) => isJSONRPCRequest(m));
    // Answers to the server's own questions (confirmations) and notifications still get in.
    if (draining && carriesRequests) return fail(req, res, 503, SHUTTING_DOWN);

    if (!(await isLegacyRequest(probeOf(req), parsed))) {
      return track(res, carriesRequests, () => modern(req, res, parsed));
    }
    if (req.headers["mcp-session-id"] !== undefined) {
      const session = findSession(req, res);
      if (session) await serve(session, req, res, parsed, carriesRequests);
      return;
    }
    if (!messages.some((m) => isInitializeRequest(m))) {
      return fail(
        req,
        res,
        400,
        "Bad Request: no Mcp-Session-Id header; the first request of a session must be initialize",
      );
    }
    await expireIdleSessions();
    if (sessions.size + opening >= http.maxSessions) {
      return fail(
        req,
        res,
        503,
        `Service Unavailable: all ${http.maxSessions} sessions are in use (MCP_HTTP_MAX_SESSIONS); close an unused client, ` +
          `wait for one to expire (${http.sessionIdleS} s unused, MCP_HTTP_SESSION_IDLE_S), or raise MCP_HTTP_MAX_SESSIONS`,
      );
    }
    opening++;
    try {
      const session = await openSession();
      await serve(session, req, res, parsed, true);
      // initialize was refused (bad Accept header, invalid message...): no session came of it.
      if (!session.id) await session.server.close();
    } finally {
      opening--;
    }
  }

  async function openSession(): Promise<Session> {
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session.id = id;
        sessions.set(id, session);
      },
    });
    // Also when the client ends the session (DELETE) or the transport fails.
    transport.onclose = () => {
      if (sessions.get(session.id) === session) sessions.delete(session.id);
    };
    const server = factory({ era: "legacy", authInfo: BEARER_HOLDER });
    const session: Session = { id: "", server, transport, lastSeen: now(), busy: 0 };
    await server.connect(transport);
    return session;
  }

  async function serve(
    session: Session,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    carriesRequests: boolean,
  ): Promise<void> {
    session.lastSeen = now();
    if (carriesRequests) {
      session.busy++;
      res.once("close", () => {
        session.busy--;
        session.lastSeen = now();
      });
    }
    await track(res, carriesRequests, () => session.transport.handleRequest(req, res, body));
  }

  /** Counts requests carrying calls until their answer is out, so that a shutdown can wait for them. */
  async function track(
    res: ServerResponse,
    carriesRequests: boolean,
    answer: () => Promise<void>,
  ): Promise<void> {
    if (carriesRequests) {
      inFlight++;
      res.once("close", () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
    }
    await answer();
  }

  async function notReady(): Promise<string | undefined> {
    if (draining) return SHUTTING_DOWN;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), readyTimeoutMs);
    const timedOut = new Promise<never>((_, reject) =>
      abort.signal.addEventListener("abort", () =>
        reject(new Error(`Proxmox did not answer within ${readyTimeoutMs / 1000} s`)),
      ),
    );
    try {
      await Promise.race([
        (async () => {
          await deps.tokenCheck.ensure();
          // Once passed, the token check is not repeated: ask Proxmox every time.
          await deps.pve.get("/version", undefined, { signal: abort.signal });
        })(),
        timedOut,
      ]);
      return undefined;
    } catch (err) {
      return explainError(err, deps.config).replace(/\s*\n\s*/g, " ");
    } finally {
      clearTimeout(timer);
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (options.log) {
      // Read now: once the connection is gone, so is its peer address.
      const from = clientAddress(req);
      res.once("close", () =>
        options.log?.(
          `proxmox-mcp: http ${from} ${req.method} ${(req.url ?? "").split("?")[0]} -> ${res.statusCode} in ${Math.round(performance.now() - started)} ms`,
        ),
      );
    }
    handle(req, res).catch((err: unknown) => {
      options.warn?.(`proxmox-mcp: http: ${req.method} request failed: ${(err as Error).message}`);
      if (!res.headersSent) fail(req, res, 500, "Internal Server Error");
      else res.destroy();
    });
  };
  const server: Server = http.tls
    ? createHttpsServer(
        // A client that never finishes the handshake (or speaks plain HTTP) is dropped after 10 s.
        { cert: http.tls.cert, key: http.tls.key.reveal(), minVersion: "TLSv1.2", handshakeTimeout: 10_000 },
        listener,
      )
    : createHttpServer(listener);
  // Slow senders cannot hold connections for long; answers (SSE streams) are not limited.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await listen(server, http);
  const port = (server.address() as AddressInfo).port;
  const sweeper = setInterval(
    () => {
      void expireIdleSessions();
      tokenLimiter.sweep();
      failedAuthLimiter.sweep();
    },
    Math.min(Math.max(idleMs / 4, 1000), 60_000),
  );
  sweeper.unref();

  let closing: Promise<void> | undefined;
  return {
    url: `${http.tls ? "https" : "http"}://${urlHost(http.host)}:${port}${MCP_PATH}`,
    port,
    sessionCount: () => sessions.size,
    inFlight: () => inFlight,
    expireIdleSessions,
    close() {
      closing ??= (async () => {
        draining = true;
        clearInterval(sweeper);
        if (inFlight > 0) {
          let grace: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            drained = resolve;
            grace = setTimeout(resolve, graceMs);
          });
          clearTimeout(grace);
        }
        await Promise.all([...sessions.values()].map(closeSession));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

const SHUTTING_DOWN = "Service Unavailable: the server is shutting down; reconnect in a moment";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares SHA-256 digests in constant time, so neither the content nor the length of
 * the expected token shows in the timing. The digest is computed even without a header.
 */
function authenticate(header: string | undefined, expected: Buffer): "ok" | "missing" | "wrong" {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  const same = timingSafeEqual(digest(match?.[1] ?? ""), expected);
  if (!match) return "missing";
  return same ? "ok" : "wrong";
}

/**
 * Host names (port-agnostic, lower case, IPv6 in brackets) this server answers to:
 * the loopback names always (a rebinding page cannot make a browser send them), the
 * bind address, every local address for a wildcard bind, and the hosts of
 * MCP_ALLOWED_ORIGINS (a reverse proxy's public name). The port is not compared: in a
 * rebinding attack the browser connects to our port anyway, and an SSH tunnel
 * (`ssh -L 9000:localhost:8080`) legitimately changes it.
 */
function hostAllowList(http: HttpConfig): Set<string> {
  const hosts = new Set(["localhost", "127.0.0.1", "[::1]"]);
  const add = (host: string) => hosts.add(urlHost(host.toLowerCase()));
  if (http.host === "0.0.0.0" || http.host === "::") {
    for (const list of Object.values(networkInterfaces())) {
      for (const address of list ?? []) if (!address.address.includes("%")) add(address.address);
    }
    add(hostname());
  } else {
    add(http.host);
  }
  for (const origin of http.allowedOrigins) hosts.add(new URL(origin).hostname.toLowerCase());
  return hosts;
}

/** "Example.COM:8080" -> "example.com", "[::1]:80" -> "[::1]"; undefined if it is not a host[:port]. */
function hostName(header: string | undefined): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]/@\s]+)(?::\d{1,5})?$/i.exec(header?.trim() ?? "");
  return match?.[1]?.toLowerCase().replace(/\.$/, "");
}

/** The request's method and headers as a web Request: what the SDK's era test reads (the body is parsed already). */
function probeOf(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return new Request("http://localhost/mcp", { method: req.method ?? "POST", headers });
}

function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The peer address (a proxy's own when behind one: X-Forwarded-For is not trusted). */
function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
}

/**
 * Reads the body up to `limit` bytes, counting what arrives (a Content-Length over the
 * limit is refused before reading anything, a missing or false one does not help).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too large" | "aborted"> {
  if (Number(req.headers["content-length"] ?? 0) > limit) return Promise.resolve("too large");
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | "too large" | "aborted") => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish("too large");
      } else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    const onAbort = () => finish("aborted");
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onAbort);
  });
}

/** The request still has body bytes on the wire that nobody will read. */
function unreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
}

function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  // An unread body (refused before reading) is not drained into a kept-alive connection.
  const close = unreadBody(req) ? { Connection: "close" } : {};
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(text)),
    ...close,
    ...headers,
  });
  res.end(req.method === "HEAD" ? undefined : text);
}

/** An error in JSON-RPC's shape, as the SDK's transport answers its own. */
function fail(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  code = -32000,
): void {
  sendJson(req, res, status, { jsonrpc: "2.0", error: { code, message }, id: null }, headers);
}

async function listen(server: Server, http: HttpConfig): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(http.port, http.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    const fix: Record<string, string> = {
      EADDRINUSE:
        "another program uses the port; set MCP_HTTP_PORT to a free one (example: MCP_HTTP_PORT=8081)",
      EACCES: "ports below 1024 need privileges; use a higher one (example: MCP_HTTP_PORT=8080)",
      EADDRNOTAVAIL:
        "this machine has no such address; set MCP_HTTP_HOST to one of its addresses (example: MCP_HTTP_HOST=127.0.0.1)",
    };
    throw new Error(
      `cannot listen on ${urlHost(http.host)}:${http.port} (${code}): ${fix[code] ?? "check MCP_HTTP_HOST and MCP_HTTP_PORT"}`,
      { cause: err },
    );
  }
}

/**
 * A token bucket per key (a client address, or the token's holders): `perMinute`
 * requests in a burst, refilled at perMinute/60 a second. Full buckets are forgotten
 * by sweep().
 */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** undefined if the request may go ahead, else the seconds until it may. */
  take(key: string): number | undefined {
    const at = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + Math.max(0, at - bucket.at) * this.perMs);
    bucket.at = at;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  sweep(): void {
    const at = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (at - bucket.at) * this.perMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}
