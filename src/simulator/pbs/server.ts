/**
 * The HTTPS front of the PBS simulator: proxmox-rest-server's pipeline in its order
 * (pbs-reference.md "Request pipeline"):
 *   1. `/api2/<json|extjs>/…` only (400 Unsupported output format), components starting
 *      with `.` refused (400 path contains illegal components), components percent-decoded;
 *   2. authentication (401 `authentication failed`, no Content-Type, PBSAuthCookie cleared),
 *      skipped only for World endpoints (/ping, /access/domains);
 *   3. routing: unknown path or method → 404 `Path '/api2/json/x' not found.`; directory
 *      nodes answer `[{"subdir":…}]`;
 *   4. router permission → 403 `permission check failed`;
 *   5. parameter verification → 400 `parameter verification failed - 'x': …`;
 *   6. handler (its errors: 400 with the message, or 403 for handler permission checks).
 * Errors are plain text with `Content-Type: application/json;charset=UTF-8`; below
 * /api2/extjs they are HTTP 200 `{"success":false,…}`.
 *
 * Read-only by design: only GET is served. Any other method on a path the simulator serves
 * answers 403 `permission check failed` (what PBS answers a token without the write
 * privilege) after authentication, and never changes anything; elsewhere 404 as PBS does.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { deflateSync, gzipSync } from "node:zlib";
import type { FaultRule, Faults } from "../faults.js";
import { isToken, userOf } from "./acl.js";
import { resolveTime } from "./scenario.js";
import { ParameterError, verifyParameters, SCHEMAS, checkValue } from "./schema.js";
import { HttpError, RawText, ROUTES, routerAllows, type PbsRoute } from "./routes.js";
import type { PbsState } from "./state.js";
import { logOnStatus } from "../request-log.js";

export interface PbsRequestLogEntry {
  time: string;
  method: string;
  /** API path below /api2/json (or /api2/extjs), percent-decoded. */
  path: string;
  /** Query parameters; values of keys that may hold secrets are redacted. */
  query: Record<string, string | string[]>;
  /** The authenticated token or user id; null if unauthenticated. */
  authId: string | null;
  status: number;
}

export interface PbsPipelineOptions {
  state: PbsState;
  faults: Faults;
  latencyMs: number;
  onRequest(entry: PbsRequestLogEntry): void;
}

const JSON_TYPE = "application/json;charset=UTF-8";
const WORLD = new Set(["/ping", "/access/domains"]);
const SECRET_KEY = /pass|secret|token|ticket|otp|key/i;

interface Compiled {
  route: PbsRoute;
  regex: RegExp;
  names: string[];
}

const COMPILED: Compiled[] = ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { route, regex: new RegExp(`^${source}$`), names };
});

/** Directory nodes (paths with routes below them), with their static subdirectories. */
function directory(path: string): { subdirs: string[]; params: Record<string, string> } | undefined {
  const parts = path.split("/").filter(Boolean);
  const subdirs = new Set<string>();
  const params: Record<string, string> = {};
  for (const { route } of COMPILED) {
    const rp = route.path.split("/").filter(Boolean);
    if (rp.length <= parts.length) continue;
    let ok = true;
    parts.forEach((c, i) => {
      const t = rp[i]!;
      if (t.startsWith("{")) params[t.slice(1, -1)] = c;
      else if (t !== c) ok = false;
    });
    const next = rp[parts.length]!;
    if (ok && !next.startsWith("{")) subdirs.add(next);
    else if (ok) subdirs.add("");
  }
  if (subdirs.size === 0) return undefined;
  return { subdirs: [...subdirs].filter(Boolean).sort(), params };
}

export function createPbsServer(tls: { cert: string; key: string }, o: PbsPipelineOptions): Server {
  const sockets = new Set<Socket>();
  const tcpByPeer = new Map<string, Socket>();
  const peer = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    handle(req, res, o, () => (tcpByPeer.get(peer(req.socket)) ?? req.socket).resetAndDestroy()).catch(
      (err: unknown) => {
        if (!res.headersSent) sendError(res, new HttpError(500, (err as Error).message), false);
        else res.destroy();
      },
    );
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
  o: PbsPipelineOptions,
  resetConnection: () => void,
): Promise<void> {
  const url = new URL(req.url ?? "/", "https://pbs");
  const method = (req.method ?? "GET").toUpperCase();
  // The raw path: URL() would resolve `%2e%2e` segments before PBS's component check sees them.
  const rawPath = (req.url ?? "/").split("?")[0]!;
  const rawParts = rawPath.split("/").filter(Boolean);
  const format = rawParts[0] === "api2" ? rawParts[1] : undefined;
  const apiRaw = rawParts.slice(2);
  let decoded: string[];
  try {
    decoded = apiRaw.map((c) => decodeURIComponent(c));
  } catch {
    decoded = apiRaw;
  }
  const relPath = `/${decoded.join("/")}`;
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const entry: PbsRequestLogEntry = {
    time: new Date().toISOString(),
    method,
    path: relPath,
    query: Object.fromEntries(
      Object.entries(query).map(([k, v]) => [k, SECRET_KEY.test(k) ? "[redacted]" : v]),
    ),
    authId: null,
    status: 0,
  };
  logOnStatus(res, (status) => o.onRequest({ ...entry, status }));

  const faults = o.faults.match(method, relPath);
  const latency = o.latencyMs + faults.reduce((sum, f) => sum + (f.kind === "latency" ? (f.ms ?? 0) : 0), 0);
  if (latency > 0) await delay(latency);
  const extjs = format === "extjs";
  for (const fault of faults) {
    if (fault.kind === "hang") return;
    if (fault.kind === "reset") return resetConnection();
    if (fault.kind === "status")
      return sendError(res, new HttpError(fault.status ?? 500, fault.message ?? "simulated failure"), extjs);
  }
  const bodyFault = faults.find((f) => f.kind === "stall" || f.kind === "truncate" || f.kind === "gzip");
  const fail = (err: HttpError) => sendError(res, err, extjs, bodyFault);
  await drain(req);

  // 1. format and path components
  if (rawParts[0] !== "api2" || format === undefined)
    return fail(new HttpError(404, `Path '${rawPath}' not found.`));
  if (format !== "json" && format !== "extjs")
    return fail(new HttpError(400, `Unsupported output format '${format}'.`));
  if (apiRaw.some((c) => c.startsWith(".")) || decoded.some((c) => c.startsWith(".")))
    return fail(new HttpError(400, "path contains illegal components"));
  const fullPath = `/api2/${format}${relPath === "/" ? "" : relPath}`;

  // 2. authentication
  let authid = "";
  if (!(method === "GET" && WORLD.has(relPath))) {
    const result = authenticate(req, o.state);
    if (!result) return unauthorized(res);
    authid = result;
    entry.authId = authid;
  }

  // 3. route
  const match = findRoute(relPath);
  const dir = match ? undefined : directory(relPath);
  if (!match && !dir) return fail(new HttpError(404, `Path '${fullPath}' not found.`));
  if (method !== "GET") {
    // proxmox-router knows no HEAD: 404 like an unknown path.
    if (!match || method === "HEAD") return fail(new HttpError(404, `Path '${fullPath}' not found.`));
    return fail(new HttpError(403, "permission check failed"));
  }
  try {
    if (dir) {
      // list_subdirs_api_method: only the URI parameters are accepted.
      for (const [k, v] of Object.entries(dir.params)) {
        const def =
          k === "store" || k === "name" ? "DATASTORE_SCHEMA" : k === "upid" ? "UPID_SCHEMA" : "NODE_SCHEMA";
        checkValue(SCHEMAS[def]!, v);
      }
      return sendJson(res, 200, { data: dir.subdirs.map((subdir) => ({ subdir })) }, extjs, req, bodyFault);
    }
    const { route, uriParams } = match!;
    // 4. router permission
    if (!routerAllows(o.state.acl, route.permission, authid, uriParams))
      throw new HttpError(403, "permission check failed");
    // 5. parameters (query and URI parameters, one schema)
    const raw: Record<string, string | string[]> = Object.assign(Object.create(null), query, uriParams);
    const params = verifyParameters(route.params, raw);
    // 6. handler
    const attributes: Record<string, unknown> = {};
    const data = route.handler({ state: o.state, authid, params, attributes });
    if (data instanceof RawText) {
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(data.text) });
      res.end(data.text);
      return;
    }
    sendJson(res, 200, { data: data ?? null, ...attributes }, extjs, req, bodyFault);
  } catch (err) {
    if (err instanceof ParameterError)
      return sendError(res, new HttpError(400, err.message), extjs, bodyFault, err.errors);
    if (err instanceof HttpError) return fail(err);
    if (err instanceof Error && err.message.startsWith("value "))
      return fail(new HttpError(400, err.message));
    throw err;
  }
}

function findRoute(path: string): { route: PbsRoute; uriParams: Record<string, string> } | undefined {
  for (const c of COMPILED) {
    const m = c.regex.exec(path);
    if (!m) continue;
    const uriParams: Record<string, string> = {};
    c.names.forEach((n, i) => (uriParams[n] = m[i + 1]!));
    return { route: c.route, uriParams };
  }
  return undefined;
}

/**
 * `Authorization: PBSAPIToken=user@realm!name:SECRET` (or `PBSAPIToken user…`), split at
 * the first colon, the secret percent-decoded. Tickets (PBSAuthCookie) are never valid here.
 */
function authenticate(req: IncomingMessage, state: PbsState): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const m = /^PBSAPIToken[= ](.*)$/.exec(header);
  if (!m) return undefined;
  const value = m[1]!;
  const colon = value.indexOf(":");
  if (colon < 0) return undefined;
  const tokenid = value.slice(0, colon);
  let secret: string;
  try {
    secret = decodeURIComponent(value.slice(colon + 1));
  } catch {
    return undefined;
  }
  if (!isToken(tokenid)) return undefined;
  const user = state.user(userOf(tokenid));
  const token = user?.tokens?.find((t) => `${user.userid}!${t.name}` === tokenid);
  if (!user || !token) return undefined;
  const live = (enable: boolean | undefined, expire: number | string | undefined) => {
    if (enable === false) return false;
    if (expire === undefined) return true;
    const at = resolveTime(expire, state.now);
    return at === 0 || at > state.now;
  };
  if (!live(user.enable, user.expire) || !live(token.enable, token.expire)) return undefined;
  if (token.secret !== secret) return undefined;
  return tokenid;
}

function unauthorized(res: ServerResponse): void {
  const body = "authentication failed";
  res.writeHead(401, {
    "Set-Cookie":
      "__Host-PBSAuthCookie=; Secure; SameSite=Lax; HttpOnly; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

function sendError(
  res: ServerResponse,
  err: HttpError,
  extjs: boolean,
  bodyFault?: FaultRule,
  errors?: Record<string, string>,
): void {
  if (extjs) {
    const body = { success: false, status: err.status, message: err.message, ...(errors ? { errors } : {}) };
    return sendPayload(res, 200, Buffer.from(JSON.stringify(body)), undefined, bodyFault);
  }
  sendPayload(res, err.status, Buffer.from(err.message, "utf8"), undefined, bodyFault);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  extjs: boolean,
  req: IncomingMessage,
  bodyFault?: FaultRule,
): void {
  const out = extjs ? { ...body, success: true } : body;
  sendPayload(
    res,
    status,
    Buffer.from(JSON.stringify(out), "utf8"),
    req.headers["accept-encoding"],
    bodyFault,
  );
}

function sendPayload(
  res: ServerResponse,
  status: number,
  payload: Buffer,
  acceptEncoding: string | string[] | undefined,
  bodyFault: FaultRule | undefined,
): void {
  const headers: Record<string, string | number> = { "Content-Type": JSON_TYPE };
  if (bodyFault?.kind === "truncate")
    payload = payload.subarray(0, Math.max(1, Math.floor(payload.length / 2)));
  else if (bodyFault?.kind === "gzip") {
    payload = gzipSync(payload);
    headers["Content-Encoding"] = "gzip";
  } else if (!bodyFault && /\bdeflate\b/.test(String(acceptEncoding ?? ""))) {
    payload = deflateSync(payload);
    headers["Content-Encoding"] = "deflate";
  }
  headers["Content-Length"] = payload.length;
  if (bodyFault?.kind === "stall") {
    res.writeHead(status, headers);
    res.write(payload.subarray(0, Math.floor(payload.length / 2)));
    return;
  }
  res.writeHead(status, headers);
  res.end(payload);
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on("data", () => undefined);
    req.on("end", resolve);
    req.on("error", () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
