/**
 * The errors of the Proxmox client. Messages say what failed, where and how to fix it
 * in one or two lines; they never hold the token secret or the Authorization header.
 */

/** PVE answered with a non-2xx status. */
export class PveApiError extends Error {
  override readonly name = "PveApiError";

  constructor(
    readonly status: number,
    /** The HTTP reason phrase (PVE puts its message there too). */
    readonly reason: string,
    /** PVE's message without the trailing newline; the reason phrase when the body has none (PVE 8). */
    readonly pveMessage: string,
    readonly method: string,
    /** The API path below /api2/json, parameters filled in, without host or query. */
    readonly path: string,
    /** PVE's per-parameter messages of a 400 "Parameter verification failed." */
    readonly fieldErrors?: Record<string, string>,
  ) {
    const fields = fieldErrors
      ? ` (${Object.entries(fieldErrors)
          .map(([field, message]) => `${field}: ${message}`)
          .join("; ")})`
      : "";
    super(`PVE answered ${status} to ${method} ${path}: ${pveMessage}${fields}`);
  }
}

export type PveTransportErrorKind = "timeout" | "tls" | "network" | "protocol";

/** No usable answer: deadline passed, TLS refused, connection failed, or the answer was malformed. */
export class PveTransportError extends Error {
  override readonly name: string = "PveTransportError";

  constructor(
    readonly kind: PveTransportErrorKind,
    message: string,
    /**
     * True when the request may have reached Proxmox before it failed (a write whose
     * connection died after it was opened, or whose answer was lost or malformed): such a
     * request must not be sent again blindly. Always false for GET and for failures that
     * happen before a request is written (DNS, refused connection, TLS, pin mismatch).
     */
    readonly mayHaveReachedProxmox = false,
  ) {
    super(message);
  }
}

/** The server's certificate is not the pinned one; nothing was sent to it. */
export class PveTlsMismatchError extends PveTransportError {
  override readonly name = "PveTlsMismatchError";

  constructor(
    readonly expected: string,
    readonly actual: string,
    where: string,
  ) {
    super(
      "tls",
      `the TLS certificate of ${where} has SHA-256 fingerprint ${actual}, but ${expected} is pinned; nothing was sent.\n` +
        "If the certificate was renewed on purpose, pin the new fingerprint in PROXMOX_TLS_FINGERPRINT.",
    );
  }
}

/** A value for an API path broke PVE's format; no request was sent. */
export class PveInputError extends Error {
  override readonly name = "PveInputError";

  constructor(
    readonly field: string,
    /** The rule in plain words, never the value (it may be hostile or secret). */
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}
