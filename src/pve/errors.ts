/**
 * The errors of the Proxmox client. Messages say what failed, where and how to fix it
 * in one or two lines; they never hold the token secret or the Authorization header.
 */
import { redactText } from "../redact.js";
import { cleanText, LIMITS } from "../untrusted.js";

/**
 * PVE's words in an error: redacted like its answers (an error may quote a config line),
 * then cleaned and capped: capping first could cut a secret so it no longer looks like one.
 */
const fromPve = (text: string, max: number) => cleanText(redactText(text), max);

/**
 * PVE answered with a non-2xx status. Its words are untrusted (a guest-agent error quotes
 * the guest, a task error its log): they are cleaned here, once, so no consumer can show
 * them raw, and the message quotes them apart from ours.
 */
export class PveApiError extends Error {
  override readonly name: string = "PveApiError";
  /** The HTTP reason phrase (PVE puts its message there too). */
  readonly reason: string;
  /** PVE's message without the trailing newline; the reason phrase when the body has none (PVE 8). */
  readonly pveMessage: string;
  /** PVE's per-parameter messages of a 400 "Parameter verification failed." */
  readonly fieldErrors?: Record<string, string>;

  constructor(
    readonly status: number,
    reason: string,
    pveMessage: string,
    readonly method: string,
    /** The API path below /api2/json, parameters filled in, without host or query. */
    readonly path: string,
    fieldErrors?: Record<string, string>,
  ) {
    const message = fromPve(pveMessage, LIMITS.pveMessage);
    const fields = fieldErrors
      ? Object.fromEntries(
          Object.entries(fieldErrors).map(([field, text]) => [
            cleanText(field, LIMITS.name),
            fromPve(text, LIMITS.fieldError),
          ]),
        )
      : undefined;
    const fieldText = fields
      ? ` (${Object.entries(fields)
          .map(([field, text]) => `${field}: ${JSON.stringify(text)}`)
          .join("; ")})`
      : "";
    super(`PVE answered ${status} to ${method} ${path}: ${JSON.stringify(message)}${fieldText}`);
    this.reason = fromPve(reason, LIMITS.pveMessage);
    this.pveMessage = message;
    if (fields) this.fieldErrors = fields;
  }
}

export type PveTransportErrorKind = "timeout" | "tls" | "network" | "protocol";

/**
 * No usable answer: deadline passed, TLS refused, connection failed, or the answer was
 * malformed. The message may quote the server (a certificate's names, a header), so it
 * is cleaned; its own line breaks stay.
 */
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
    super(cleanText(redactText(message), LIMITS.error, true));
  }
}

/** The server's certificate is not the pinned one; nothing was sent to it. */
export class PveTlsMismatchError extends PveTransportError {
  override readonly name = "PveTlsMismatchError";

  constructor(
    readonly expected: string,
    readonly actual: string,
    where: string,
    /** The setting that holds the pin (PBS_TLS_FINGERPRINT for the PBS client). */
    setting = "PROXMOX_TLS_FINGERPRINT",
  ) {
    super(
      "tls",
      `the TLS certificate of ${where} has SHA-256 fingerprint ${actual}, but ${expected} is pinned; nothing was sent.\n` +
        `If the certificate was renewed on purpose, pin the new fingerprint in ${setting}.`,
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
