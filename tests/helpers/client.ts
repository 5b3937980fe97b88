/**
 * A minimal HTTPS client for tests: verifies the simulator's certificate with its CA,
 * sends PVE token or ticket auth, and returns status, reason, headers and the body.
 */
import { request } from "node:https";
import { gunzipSync } from "node:zlib";
import type { Simulator, TokenCredentials } from "../../src/simulator/index.js";

export interface ApiResponse {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ApiRequest {
  method?: string;
  /** Path below /api2/json, with query string if any. */
  path: string;
  token?: TokenCredentials;
  /** Form-encoded body (arrays repeat the key). */
  form?: Record<string, string | number | (string | number)[]>;
  json?: unknown;
  /** Extra headers; they win over the ones derived from token, form and json. */
  headers?: Record<string, string>;
}

export function tokenHeader(token: TokenCredentials): string {
  return `PVEAPIToken=${token.id}=${token.secret}`;
}

export function api(sim: Pick<Simulator, "port" | "caPem">, req: ApiRequest): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (req.token) headers["Authorization"] = tokenHeader(req.token);
  let payload: string | undefined;
  if (req.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(req.form)) {
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
    }
    payload = params.toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  } else if (req.json !== undefined) {
    payload = JSON.stringify(req.json);
    headers["Content-Type"] = "application/json";
  }
  // pveproxy does not take chunked request bodies: send the length, as real clients do.
  if (payload !== undefined) headers["Content-Length"] = String(Buffer.byteLength(payload));
  Object.assign(headers, req.headers);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: "127.0.0.1",
        port: sim.port,
        method: req.method ?? "GET",
        path: `/api2/json${req.path}`,
        ca: sim.caPem,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          let buf = Buffer.concat(chunks);
          if (res.headers["content-encoding"] === "gzip") buf = gunzipSync(buf);
          const raw = buf.toString("utf8");
          let body: unknown;
          try {
            body = raw ? JSON.parse(raw) : undefined;
          } catch {
            body = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? "",
            headers: res.headers,
            raw,
            body,
          });
        });
      },
    );
    r.on("error", reject);
    if (payload !== undefined) r.write(payload);
    r.end();
  });
}
