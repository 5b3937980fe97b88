/**
 * The Proxmox Backup Server client: GET only, by construction (there is no method that
 * sends anything else), like the PVE reader, and on the same transport (PveTransport:
 * per-client TLS with pinning checked before any request byte, one deadline over headers
 * and body, a size cap, no redirects, no retries) with PBS's flavour: the token header
 * `PBSAPIToken=user@realm!name:SECRET` (a colon), plain-text error bodies (PbsApiError),
 * and fixes that name the PBS_* settings. Every path variable and every query value that
 * names an object is checked against PBS's own format (formats.ts) before any byte is
 * sent; every answer is redacted before any caller sees it.
 */
import type { PbsConfig } from "../config/types.js";
import {
  fillPath,
  PveTransport,
  type ApiFlavour,
  type GetOptions,
  type PathFormats,
  type PveAnswer,
  type PveRequestRecord,
} from "../pve/client.js";
import { Redactor } from "../redact.js";
import { PbsApiError } from "./errors.js";
import { checkPbsPathParam, checkPbsQueryValue, isPbsPathParamName } from "./formats.js";

export type PbsReaderOptions = PbsConfig & { onRequest?: (record: PveRequestRecord) => void };

/** PBS: the token header with a colon before the secret, plain-text errors, PBS_* settings in fixes. */
export const PBS_FLAVOUR: ApiFlavour = {
  product: "PBS",
  authorization: (tokenId, secret) => `PBSAPIToken=${tokenId}:${secret}`,
  settings: {
    host: "PBS_HOST",
    port: "PBS_PORT",
    caFile: "PBS_CA_FILE",
    fingerprint: "PBS_TLS_FINGERPRINT",
    // One deadline for both APIs (config: timeoutMs comes from PROXMOX_TIMEOUT_MS).
    timeout: "PROXMOX_TIMEOUT_MS",
  },
  trustHint:
    "Set PBS_CA_FILE to the CA certificate that signed PBS's certificate, or pin PBS_TLS_FINGERPRINT " +
    "(`proxmox-backup-manager cert info` on the PBS host shows it).",
  apiError: ({ status, reason, text }, method, path) => new PbsApiError(status, reason, text, method, path),
};

const PBS_PATH_FORMATS: PathFormats = {
  has: isPbsPathParamName,
  check: (name, value) => checkPbsPathParam(name as Parameters<typeof checkPbsPathParam>[0], value),
};

export class PbsReader {
  readonly #transport: PveTransport;
  readonly #redactor: Redactor;

  constructor(options: PbsReaderOptions) {
    this.#transport = new PveTransport({ ...options, flavour: PBS_FLAVOUR });
    this.#redactor = new Redactor([options.tokenSecret.reveal()]);
  }

  /** PBS's `data` for GET `template` below /api2/json (e.g. "/admin/datastore/{store}/snapshots"). */
  async get<T = unknown>(
    template: string,
    params?: Record<string, string | number>,
    options?: GetOptions,
  ): Promise<T> {
    return this.#redactor.value((await this.#send(template, params, options)).data) as T;
  }

  /** Like get, plus PBS's `total` (task lists, task logs). */
  async getWithTotal<T = unknown>(
    template: string,
    params?: Record<string, string | number>,
    options?: GetOptions,
  ): Promise<{ data: T; total?: number }> {
    const { data, total } = await this.#send(template, params, options);
    return { data: this.#redactor.value(data) as T, ...(total === undefined ? {} : { total }) };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  async #send(
    template: string,
    params: Record<string, string | number> = {},
    { query, signal }: GetOptions = {},
  ): Promise<PveAnswer> {
    const path = fillPath(template, params, PBS_PATH_FORMATS);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) checkPbsQueryValue(key, value);
    }
    // The one place this reader names a method: a literal, never a parameter.
    return this.#transport.send("GET", path, { query, signal });
  }
}
