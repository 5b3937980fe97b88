/**
 * The admin side's Proxmox client, for the dangerous tier only: built from the admin
 * token, it sends GET, POST, PUT and DELETE through the same transport as PveReader
 * (per-client TLS and pinning, one deadline over connect, headers and body, 64 MiB answer
 * cap, typed errors). A write is sent at most once: no retries, no redirects, a fresh
 * connection per write, and a failure after the connection opened says that the request
 * may have reached Proxmox. Bodies are form-encoded and refused over 64 KiB before
 * connecting; GET and DELETE parameters go in the query.
 */
import { fillPath, PveTransport, type ParamValue, type PveReaderOptions } from "./client.js";
import { API_METHODS, assertCheckedPath, type ApiMethod, type CheckedApiPath } from "./api-path.js";
import type { Config } from "../config/types.js";

export type { ParamValue, PveReaderOptions, PveRequestRecord } from "./client.js";
export {
  API_ENDPOINT_COUNTS,
  API_ENDPOINT_TOTAL,
  parseApiPath,
  type ApiMethod,
  type CheckedApiPath,
  type ParsedApiPath,
} from "./api-path.js";

export interface AdminRequestOptions {
  /** GET and DELETE parameters (any method may have a query). */
  query?: Record<string, ParamValue>;
  /** POST and PUT parameters: an application/x-www-form-urlencoded body (booleans 1/0, undefined dropped). */
  body?: Record<string, ParamValue>;
  signal?: AbortSignal;
}

/** The admin client of a configuration in dangerous mode (its admin token, the cluster's TLS), else undefined. */
export function adminClientOf(
  config: Config,
  onRequest?: PveReaderOptions["onRequest"],
): PveAdmin | undefined {
  if (!config.dangerous) return undefined;
  return new PveAdmin({
    ...config,
    tokenId: config.dangerous.adminTokenId,
    tokenSecret: config.dangerous.adminTokenSecret,
    ...(onRequest ? { onRequest } : {}),
  });
}

export class PveAdmin {
  readonly #transport: PveTransport;

  constructor(options: PveReaderOptions) {
    this.#transport = new PveTransport(options);
  }

  /** PVE's `data` for `method template`; template and params exactly as PveReader.get (fillPath). */
  async request<T = unknown>(
    method: ApiMethod,
    template: string,
    params: Record<string, string | number> = {},
    options: AdminRequestOptions = {},
  ): Promise<T> {
    checkMethod(method);
    return (await this.#transport.send(method, fillPath(template, params), options)).data as T;
  }

  /**
   * For the raw-API tool: a path already checked by parseApiPath. Checked again here, for
   * this method (a path parsed for GET is not a POST endpoint) and against a forged brand.
   */
  async requestPath<T = unknown>(
    method: ApiMethod,
    path: CheckedApiPath,
    options: AdminRequestOptions = {},
  ): Promise<T> {
    checkMethod(method);
    assertCheckedPath(method, path);
    return (await this.#transport.send(method, path, options)).data as T;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

function checkMethod(method: ApiMethod): void {
  if (!API_METHODS.includes(method)) throw new Error(`${String(method)} is not a PVE API method`);
}
