/**
 * The PBS client's errors. Transport failures are the PVE client's (PveTransportError,
 * PveTlsMismatchError, PveInputError: one transport serves both); an HTTP error is a
 * PbsApiError, a PveApiError whose message names PBS.
 */
import { PveApiError } from "../pve/errors.js";

/** PBS's parameter errors (proxmox-schema ParameterError): `- 'name': text` lines. */
const PBS_FIELD_ERROR = /^(?:parameter verification failed )?- '([^']+)': (.*)$/;

/**
 * PBS answered with a non-2xx status. PBS's error bodies are plain text (with a JSON
 * content type; a 401 has none and says "authentication failed"): `pveMessage` is that
 * text, trimmed, cleaned and capped like PVE's. A PveApiError, so `isRefusal` and every
 * consumer of `status` / `pveMessage` treat both alike.
 */
export class PbsApiError extends PveApiError {
  override readonly name: string = "PbsApiError";

  constructor(status: number, reason: string, text: string, method: string, path: string) {
    const message = text.trim();
    const fields = Object.fromEntries(
      message.split("\n").flatMap((line) => {
        const m = PBS_FIELD_ERROR.exec(line.trim());
        return m ? [[m[1] ?? "", m[2] ?? ""]] : [];
      }),
    );
    super(
      status,
      reason,
      message || reason,
      method,
      path,
      Object.keys(fields).length > 0 ? fields : undefined,
    );
    this.message = this.message.replace(/^PVE answered/, "PBS answered");
  }
}
