/**
 * An error answered the way pveproxy answers it: the status line's reason is the
 * message up to its first newline; the JSON body carries the whole message
 * (PVE >= 8.3 / libpve-http-server-perl 5.2) and, for 400, the per-parameter errors.
 */
export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }

  /**
   * The status line's reason phrase. Node writes the status line as latin1 and refuses
   * characters above U+00FF, so a non-ASCII message (GLib's “” quotes in an agent
   * error) goes out as its UTF-8 bytes instead of making writeHead throw.
   */
  get reason(): string {
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    const line = (this.message.split("\n")[0] ?? "").replace(/[\x00-\x1f\x7f]/g, " ");
    return Buffer.from(line, "utf8").toString("latin1");
  }
}

export function parameterError(errors: Record<string, string>): PveError {
  return new PveError(400, "Parameter verification failed.\n", errors);
}
