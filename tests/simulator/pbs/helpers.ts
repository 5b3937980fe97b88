/** A raw HTTPS client for the PBS simulator tests (no client library in between). */
import { request } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { PbsSimulator, PbsTokenCredentials } from "../../../src/simulator/pbs/index.js";

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): { data?: unknown; total?: number; [k: string]: unknown };
}

export function pbsAuth(token: PbsTokenCredentials): string {
  return `PBSAPIToken=${token.id}:${token.secret}`;
}

export function raw(
  sim: PbsSimulator,
  path: string,
  options: {
    token?: PbsTokenCredentials;
    authorization?: string;
    method?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.authorization !== undefined) headers["Authorization"] = options.authorization;
  else if (options.token) headers["Authorization"] = pbsAuth(options.token);
  return new Promise((resolve, reject) => {
    // Host, port and path apart: a URL string would resolve `%2e%2e` before sending.
    const req = request(
      {
        host: sim.host,
        port: sim.port,
        path,
        method: options.method ?? "GET",
        headers,
        ca: sim.caPem,
        servername: "localhost",
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** GET below /api2/json; throws with the body unless 200. */
export async function get<T = unknown>(
  sim: PbsSimulator,
  path: string,
  token: PbsTokenCredentials,
): Promise<{ data: T; total?: number; [k: string]: unknown }> {
  const answer = await raw(sim, `/api2/json${path}`, { token });
  if (answer.status !== 200) throw new Error(`${answer.status} ${answer.text}`);
  return answer.json() as { data: T; total?: number };
}
