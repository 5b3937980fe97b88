/**
 * The HTTPS front of the simulator: pveproxy's request pipeline in PVE's order
 * (pve-reference §6, pve-http-server): request head (501) -> authentication (401) ->
 * body (501 / 506) -> handler lookup (501) -> URI parameter conflicts (400) ->
 * allowtoken (403) -> permission check (403) -> node forwarding (500 / 595) ->
 * parameter validation (400) -> handler (500 on die). Faults and the request log wrap it.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { constants, gzipSync } from "node:zlib";
import { API_SCHEMA } from "./api-schema.js";
import type { ApiMethodSchema } from "./api-types.js";
import { authenticate, csrfTokenValid, hasTokenHeader, type AuthResult } from "./auth.js";
import { checkApiPermissions, permissionDenied } from "./checks.js";
import type { Cluster } from "./cluster.js";
import { parameterError, PveError } from "./errors.js";
import type { FaultRule, Faults } from "./faults.js";
import { ALL_ROUTES } from "./routes/index.js";
import type { Route, RouteContext } from "./routes/route.js";
import { validateParameters } from "./validate.js";
import { splitTokenId } from "./acl.js";
import { logOnStatus } from "./request-log.js";

export interface RequestLogEntry {
  time: string;
  method: string;
  /** API path below /api2/json, percent-decoded as pveproxy routes it. */
  path: string;
  /** Query parameters; values of keys that may hold secrets (password, ticket...) are redacted. */
  query: Record<string, string | string[]>;
  /** Names of the body parameters (never their values: they may be secrets). */
  bodyKeys: string[];
  /** The authenticated API token id, or the user id of a ticket login; null if unauthenticated. */
  tokenId: string | null;
  status: number;
}

export interface PipelineOptions {
  cluster: Cluster;
  faults: Faults;
  latencyMs: number;
  authFailureDelayMs: number;
  onRequest(entry: RequestLogEntry): void;
}

const API_PREFIX = "/api2/json";
/** pve-http-server's $limit_max_post: larger bodies are refused with 501. */
const MAX_BODY = 64 * 1024;
const UNAUTHENTICATED = new Set(["POST /access/ticket"]);

export function createApiServer(tls: { cert: string; key: string }, options: PipelineOptions): Server {
  const sockets = new Set<Socket>();
  // A TLS socket cannot send an RST itself (resetAndDestroy throws on its TLSWrap
  // handle), so the reset fault resets the TCP connection under it, found by peer.
  const tcpByPeer = new Map<string, Socket>();
  const peer = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const resetConnection = (req: IncomingMessage) =>
    (tcpByPeer.get(peer(req.socket)) ?? req.socket).resetAndDestroy();
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    handle(req, res, options, resetConnection).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new PveError(500, `${(err as Error).message}\n`), options.cluster);
      else res.destroy();
    });
  });
  server.on("connection", (tcp: Socket) => {
    const key = peer(tcp);
    tcpByPeer.set(key, tcp);
    tcp.on("close", () => tcpByPeer.delete(key));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("close", () => sockets.forEach((s) => s.destroy()));
  // close() must not wait for hung or stalled requests.
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    close(cb);
    sockets.forEach((s) => s.destroy());
    return server;
  };
  return server;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  o: PipelineOptions,
  resetConnection: (req: IncomingMessage) => void,
): Promise<void> {
  const url = new URL(req.url ?? "/", "https://pve");
  const method = (req.method ?? "GET").toUpperCase();
  const apiPath = url.pathname.startsWith(`${API_PREFIX}/`)
    ? url.pathname.slice(API_PREFIX.length)
    : undefined;
  const relPath = routingPath(apiPath ?? url.pathname);
  const query = formToObject(url.searchParams);
  const entry: RequestLogEntry = {
    time: new Date().toISOString(),
    method,
    path: relPath,
    query: redactSecrets(query),
    bodyKeys: [],
    tokenId: null,
    status: 0,
  };
  logOnStatus(res, (status) => o.onRequest({ ...entry, status }));

  const faults = o.faults.match(method, relPath);
  const latency = o.latencyMs + faults.reduce((sum, f) => sum + (f.kind === "latency" ? (f.ms ?? 0) : 0), 0);
  if (latency > 0) await delay(latency);
  for (const fault of faults) {
    if (fault.kind === "hang") return; // never answer; the client's deadline must fire
    if (fault.kind === "reset") {
      resetConnection(req);
      return;
    }
    if (fault.kind === "status") {
      const status = fault.status ?? 500;
      return sendError(res, new PveError(status, `${fault.message ?? "simulated failure"}\n`), o.cluster);
    }
  }
  const bodyFault = faults.find((f) => f.kind === "stall" || f.kind === "truncate" || f.kind === "gzip");
  const fail = (err: PveError) => sendError(res, err, o.cluster, bodyFault);

  // pve-http-server refuses these while it reads the request head, before authentication.
  if (!["GET", "POST", "PUT", "DELETE"].includes(method))
    return fail(new PveError(501, `method '${method}' not available\n`));
  if (req.headers["transfer-encoding"])
    return fail(new PveError(501, "chunked transfer encoding not supported\n"));
  if (apiPath === undefined) return fail(new PveError(501, `no such URI '${url.pathname}'\n`));

  const routeKey = `${method} ${relPath}`;
  let auth: Extract<AuthResult, { ok: true }> | undefined;
  if (!UNAUTHENTICATED.has(routeKey)) {
    const result = authenticate(req.headers, o.cluster);
    if (!result.ok) return unauthorized(res, result.reason, o);
    auth = result;
    entry.tokenId = auth.authid;
    if (auth.kind === "ticket" && method !== "GET" && !csrfTokenValid(req.headers, auth.authid, o.cluster)) {
      return unauthorized(res, "Permission denied - invalid csrf token", o);
    }
  }

  let bodyParams: Record<string, string | string[]>;
  try {
    bodyParams = await readParams(req, method);
  } catch (err) {
    return fail(err instanceof PveError ? err : new PveError(501, `${(err as Error).message}\n`));
  }
  entry.bodyKeys = Object.keys(bodyParams).sort();

  const found = findRoute(method, relPath);
  if (!found) return fail(new PveError(501, `Method '${method} ${relPath}' not implemented`));
  const { route, uriParams } = found;
  const schema = API_SCHEMA[route.key] as ApiMethodSchema;

  try {
    const raw: Record<string, string | string[]> = Object.assign(Object.create(null), bodyParams, query);
    for (const [k, v] of Object.entries(uriParams)) {
      if (raw[k] !== undefined && raw[k] !== v) {
        throw parameterError({
          [k]: "duplicate parameter (already defined in URI) with conflicting values!",
        });
      }
      raw[k] = v;
    }
    // The token check also applies where authentication is skipped (POST /access/ticket).
    const isToken = auth ? auth.kind === "token" : hasTokenHeader(req.headers);
    if (isToken && !schema.allowtoken) {
      throw permissionDenied(`URI '${relPath}' not available with API token, need proper ticket.\n`);
    }
    const authid = auth?.authid ?? "";
    if (auth) {
      const permissions =
        o.cluster.version === 8 && "permissionsPve8" in schema ? schema.permissionsPve8! : schema.permissions;
      checkApiPermissions(permissions, {
        engine: o.cluster.engine,
        authid,
        params: raw,
        userExists: (u) => o.cluster.scenario.users.some((x) => x.userid === u),
        groupMembers: (g) => o.cluster.scenario.groups.find((x) => x.groupid === g)?.users ?? [],
        groupIds: () => o.cluster.scenario.groups.map((g) => g.groupid),
      });
    }
    if (schema.proxyto === "node" && typeof raw["node"] === "string") {
      raw["node"] = forwardTo(raw["node"], o.cluster);
    }
    const params = validateParameters(schema, raw);
    let total: number | undefined;
    const ctx: RouteContext = {
      cluster: o.cluster,
      params,
      authid,
      userid: auth?.kind === "token" ? splitTokenId(authid).userid : authid,
      isToken: auth?.kind === "token",
      setTotal: (n) => (total = n),
    };
    const data = await route.handler(ctx);
    const body: Record<string, unknown> = { data: data === undefined ? null : data };
    if (total) body["total"] = total;
    sendJson(res, 200, "OK", body, req.headers["accept-encoding"], bodyFault);
  } catch (err) {
    const pveErr = err instanceof PveError ? err : new PveError(500, `${(err as Error).message}\n`);
    // pveproxy delays every 401, also a handler's (a failed POST /access/ticket).
    if (pveErr.status === 401 && o.authFailureDelayMs > 0) await delay(o.authFailureDelayMs);
    fail(pveErr);
  }
}

/** Perl's uri_unescape (invalid escapes stay as they are), then empty segments dropped, as PVE routes. */
function routingPath(path: string): string {
  const bytes = Buffer.from(
    path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    "latin1",
  );
  const segments = bytes.toString("utf8").split("/").filter(Boolean);
  return `/${segments.join("/")}`;
}

const SECRET_KEY = /pass|secret|token|ticket|otp|key/i;

/** Query values are logged, except those that may be secrets (PVE takes passwords in the query too). */
function redactSecrets(query: Record<string, string | string[]>): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k, SECRET_KEY.test(k) ? "[redacted]" : v]),
  );
}

/**
 * The request body as pve-http-server reads it (after authentication): only POST and
 * PUT may carry one, at most 64 KiB, form-encoded or JSON.
 */
async function readParams(req: IncomingMessage, method: string): Promise<Record<string, string | string[]>> {
  const length = Number(req.headers["content-length"] ?? 0);
  if (!length) return {};
  if (method !== "POST" && method !== "PUT")
    throw new PveError(501, `Unexpected content for method '${method}'\n`);
  if (length > MAX_BODY) throw new PveError(501, "for data too large\n");
  const contentType = req.headers["content-type"];
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (type && type !== "application/x-www-form-urlencoded" && type !== "application/json") {
    throw new PveError(506, `upload 'Content-Type '${contentType}' not implemented\n`);
  }
  const raw = await readBody(req);
  if (type !== "application/json") return formToObject(new URLSearchParams(raw.toString("utf8")));
  const parsed: unknown = JSON.parse(raw.toString("utf8"));
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new PveError(501, "Not a HASH reference\n");
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) out[k] = v.map((x) => String(x));
    else if (typeof v === "boolean") out[k] = v ? "1" : "0";
    else out[k] = typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return out;
}

/**
 * pveproxy forwards `{node}` requests to that node: an unknown name fails the
 * hostname lookup (500), an offline member answers the proxy's 595.
 */
function forwardTo(node: string, cluster: Cluster): string {
  if (node === "localhost" || node === cluster.localNode) return cluster.localNode;
  if (!cluster.nodes.has(node)) {
    throw new PveError(
      500,
      `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known\n`,
    );
  }
  if (!cluster.isOnline(node)) throw new PveError(595, "No route to host\n");
  return node;
}

function findRoute(
  method: string,
  path: string,
): { route: Route; uriParams: Record<string, string> } | undefined {
  for (const route of ALL_ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const uriParams: Record<string, string> = {};
    route.paramNames.forEach((name, i) => (uriParams[name] = m[i + 1] as string));
    return { route, uriParams };
  }
  return undefined;
}

function formToObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of params) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function pveHeaders(): Record<string, string> {
  const date = new Date().toUTCString();
  return { "Cache-Control": "max-age=0", Pragma: "no-cache", Expires: date, Server: "pve-api-daemon/3.0" };
}

/** pveproxy answers a failed authentication with a bare status line, after a delay. */
async function unauthorized(res: ServerResponse, reason: string, o: PipelineOptions): Promise<void> {
  if (o.authFailureDelayMs > 0) await delay(o.authFailureDelayMs);
  res.writeHead(401, reason, { ...pveHeaders(), Connection: "close", "Content-Length": 0 });
  res.end();
}

function sendError(res: ServerResponse, err: PveError, cluster: Cluster, bodyFault?: FaultRule): void {
  const body: Record<string, unknown> = { data: null };
  if (err.errors) body["errors"] = err.errors;
  // libpve-http-server-perl >= 5.2.0 adds the message (PVE 9, late 8.x); PVE 8 mode
  // models the older 8.x servers, whose clients only get the reason phrase.
  if (cluster.version === 9) body["message"] = err.message;
  if (err.status === 595) {
    res.writeHead(595, err.reason, { ...pveHeaders(), Connection: "close", "Content-Length": 0 });
    res.end();
    return;
  }
  sendJson(res, err.status, err.reason, body, undefined, bodyFault, { Connection: "close" });
}

function sendJson(
  res: ServerResponse,
  status: number,
  reason: string,
  body: unknown,
  acceptEncoding: string | string[] | undefined,
  bodyFault: FaultRule | undefined,
  extraHeaders: Record<string, string> = {},
): void {
  let payload = Buffer.from(JSON.stringify(body), "utf8");
  const headers: Record<string, string | number> = {
    ...pveHeaders(),
    ...extraHeaders,
    "Content-Type": "application/json;charset=UTF-8",
  };
  if (bodyFault?.kind === "truncate") {
    payload = payload.subarray(0, Math.max(1, Math.floor(payload.length / 2)));
  } else if (
    bodyFault?.kind === "gzip" ||
    (payload.length > 1024 && /\bgzip\b/.test(String(acceptEncoding ?? "")) && !bodyFault)
  ) {
    // As pveproxy does (Compress::Zlib::memGzip): the best compression, so a gzip read
    // costs here what it costs a real PVE (twice level 6's time for a large answer).
    payload = gzipSync(payload, { level: constants.Z_BEST_COMPRESSION });
    headers["Content-Encoding"] = "gzip";
  }
  if (bodyFault?.kind === "stall") {
    // Headers and half the body, then silence: only a body deadline gets the client out.
    headers["Content-Length"] = payload.length;
    res.writeHead(status, reason, headers);
    res.write(payload.subarray(0, Math.floor(payload.length / 2)));
    return;
  }
  headers["Content-Length"] = payload.length;
  res.writeHead(status, reason, headers);
  res.end(payload);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
