/**
 * Runs one command on the Proxmox host over SSH (the `execute_command` tool).
 *
 * - Key authentication only: the one method offered is `publickey` with the configured
 *   key; never password, keyboard-interactive, an agent or `none`.
 * - The host key is pinned: the server's key is compared with PROXMOX_SSH_HOST_KEY during
 *   the key exchange, and on a mismatch the connection ends before any authentication.
 * - The command is sent as the exec request as-is (the remote user's shell interprets it,
 *   as with `ssh host 'cmd'`); the allow-list (config/ssh-allowlist.ts) is the guard, checked by the
 *   tool before this is called.
 * - One deadline covers connect, key exchange, authentication and the command; on expiry
 *   the remote command is sent SIGKILL, the channel is closed and the connection ended.
 *   OpenSSH delivers the signal to the session's process group, except in a root session,
 *   where it refuses signals (no privilege separation after a root login): there a
 *   command that keeps writing dies at its next write (SIGPIPE) and a silent one runs on
 *   until it ends by itself.
 * - stdout and stderr are kept up to maxOutputBytes each; the rest is read and dropped.
 *
 * ssh2 is loaded on first use so that starting the server does not pay for it.
 */
import { createHash } from "node:crypto";
import { Socket } from "node:net";
import type { Secret } from "../config/secret.js";
import { MAX_COMMAND_LENGTH } from "../config/ssh-allowlist.js";
import type { AuthHandlerMiddleware, ClientChannel, ParsedKey } from "ssh2";

export interface SshTarget {
  /** Host name or IP (IPv6 without brackets). */
  host: string;
  port: number;
  username: string;
  /** The OpenSSH/PEM private key text (ed25519, ecdsa or rsa). */
  privateKey: Secret;
  passphrase?: Secret;
  /** Pinned host key, as `ssh-keygen -lf` prints it: "SHA256:" + unpadded base64 of sha256(key blob). */
  hostKeySha256: string;
}

export interface SshExecOptions {
  /** One deadline over connect + auth + the whole command; on expiry the command is killed. */
  timeoutMs: number;
  /** Per stream; beyond this, output is read and dropped and *Truncated is set. */
  maxOutputBytes: number;
  /** Cancellation: abort kills the command, ends the connection and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Deadline for TCP connect + key exchange + authentication; default min(timeoutMs, 10000). */
  connectTimeoutMs?: number;
}

export interface SshExecResult {
  /** null when killed / timed out / no exit status. */
  exitCode: number | null;
  /** "SIGKILL" etc. when the remote command died of a signal. */
  exitSignal?: string;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The deadline passed and the command was killed; stdout/stderr hold what arrived. */
  timedOut: boolean;
  durationMs: number;
}

export type SshErrorKind = "network" | "auth" | "protocol" | "timeout";

/** The command could not be run: no connection, refused key, broken session, deadline before it started. */
export class SshError extends Error {
  override readonly name: string = "SshError";

  constructor(
    readonly kind: SshErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The server's host key is not the pinned one; the connection ended before authentication. */
export class SshHostKeyMismatchError extends Error {
  override readonly name = "SshHostKeyMismatchError";

  constructor(
    readonly expected: string,
    readonly actual: string,
    where: string,
    /** The algorithm of the key the server presented ("ssh-ed25519"), when known. */
    keyType?: string,
  ) {
    const presented = keyType ? `its ${keyType} host key` : "a host key";
    super(
      `SSH host key mismatch for ${where}: the server presented ${presented} with fingerprint ${actual}, ` +
        `but ${expected} is pinned; the connection was closed before authenticating and no command was sent.\n` +
        "If the host key changed on purpose (reinstall), pin the new one in PROXMOX_SSH_HOST_KEY: on the host run " +
        "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`, or from a trusted network " +
        `\`ssh-keyscan -t ed25519 ${hostForShell(where)} | ssh-keygen -lf -\`. Otherwise, something is impersonating the host.`,
    );
  }
}

/** Grace for the server to close the connection after we end it, before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EADDRNOTAVAIL",
]);

/**
 * Normalises a pinned host key fingerprint to its bare base64 form (43 characters, no
 * "SHA256:" prefix, no "=" padding). Throws an Error explaining the expected format.
 */
export function normaliseHostKeyFingerprint(pin: string): string {
  let value = pin.trim();
  if (/^sha256:/i.test(value)) value = value.slice("sha256:".length);
  value = value.replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]{43}$/.test(value)) {
    throw new Error(
      "PROXMOX_SSH_HOST_KEY must be the host key's SHA256 fingerprint as `ssh-keygen -lf` prints it " +
        '(e.g. "SHA256:" followed by 43 base64 characters); get it on the host with ' +
        "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`",
    );
  }
  return value;
}

/** "SHA256:..." of a raw SSH public key blob, as ssh-keygen -lf prints it. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export async function runSshCommand(
  target: SshTarget,
  command: string,
  options: SshExecOptions,
): Promise<SshExecResult> {
  checkCommand(command);
  checkOptions(target, options);
  const expected = `SHA256:${normaliseHostKeyFingerprint(target.hostKeySha256)}`;
  const where = `${target.username}@${hostPort(target.host, target.port)}`;
  const started = performance.now();
  options.signal?.throwIfAborted();

  const ssh2 = (await import("ssh2")).default;
  options.signal?.throwIfAborted();
  const key = parsePrivateKey(ssh2.utils.parseKey, target);

  return new Promise<SshExecResult>((resolve, reject) => {
    const socket = new Socket();
    const client = new ssh2.Client();
    const stdout = new CappedBuffer(options.maxOutputBytes);
    const stderr = new CappedBuffer(options.maxOutputBytes);
    let channel: ClientChannel | undefined;
    let exitCode: number | null = null;
    let exitSignal: string | undefined;
    let exitReceived = false;
    let channelClosed = false;
    let hostKeyMismatch: SshHostKeyMismatchError | undefined;
    let firstError: Error | undefined;
    /**
     * Set once: how the call ends. The promise settles when the socket has closed, and a
     * result is built then, so it holds every byte that arrived.
     */
    let outcome: { timedOut: boolean } | { error: unknown } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let execRequested = false;
    let settled = false;

    const connectTimeoutMs =
      options.connectTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    const deadline = setTimeout(onDeadline, options.timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const result = (timedOut: boolean): SshExecResult => ({
      exitCode: timedOut ? null : exitCode,
      ...(exitSignal !== undefined && { exitSignal }),
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      timedOut,
      durationMs: Math.round(performance.now() - started),
    });

    /**
     * Decides the outcome (first call wins), stops the command if it runs, ends the
     * connection: politely (the server sees a disconnect) with a grace period, at once when
     * no command runs and the call was cut short (deadline, abort).
     */
    function finish(decided: { timedOut: boolean } | { error: unknown }, now = false): void {
      if (outcome) return;
      outcome = decided;
      clearTimeout(deadline);
      options.signal?.removeEventListener("abort", onAbort);
      if (channel && !channelClosed) {
        killRemote(channel);
        channel.close();
      }
      client.end();
      if (now && !channel) socket.destroy();
      else graceTimer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      if (socket.destroyed) settle();
    }

    function settle(): void {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      clearTimeout(deadline);
      options.signal?.removeEventListener("abort", onAbort);
      if (!outcome && exitReceived) outcome = { timedOut: false };
      if (!outcome) {
        // The connection went away before the command finished.
        outcome = {
          error:
            hostKeyMismatch ??
            firstError ??
            new SshError(
              "network",
              channel
                ? `${where}: the connection was lost while the command ran; whether it finished is unknown`
                : `${where}: the server closed the connection before the command could start`,
            ),
        };
      }
      if ("timedOut" in outcome) resolve(result(outcome.timedOut));
      else reject(outcome.error);
    }

    function onDeadline(): void {
      if (channel) {
        finish({ timedOut: true });
      } else {
        const what = execRequested
          ? "the server did not confirm the command; it may have started"
          : "the command did not start (connecting, exchanging keys or authenticating)";
        const message = `${where}: deadline of ${options.timeoutMs} ms passed: ${what}`;
        finish({ error: new SshError("timeout", message) }, true);
      }
    }

    function onAbort(): void {
      const reason: unknown = options.signal?.reason;
      finish({ error: reason ?? new DOMException("The operation was aborted", "AbortError") }, true);
    }

    const authHandler: AuthHandlerMiddleware = (_methodsLeft, _partialSuccess, next) => {
      // Called once per attempt: the key first, then `false` (no password, no
      // keyboard-interactive, no agent, no "none").
      if (attemptedKey) return (next as unknown as (auth: false) => void)(false);
      attemptedKey = true;
      next({ type: "publickey", username: target.username, key });
    };
    let attemptedKey = false;

    client.on("error", (error: Error & { level?: string; code?: string | number }) => {
      const mapped = hostKeyMismatch ?? mapClientError(error, where, key, connectTimeoutMs);
      firstError ??= mapped;
      finish({ error: firstError });
    });
    client.on("ready", () => {
      if (outcome) return;
      execRequested = true;
      client.exec(command, (error, stream) => {
        if (error) {
          finish({
            error: new SshError("protocol", `${where}: the server refused the command: ${error.message}`),
          });
          return;
        }
        if (outcome) {
          // Too late (deadline or abort while the server confirmed): stop it all the same.
          killRemote(stream);
          stream.close();
          return;
        }
        channel = stream;
        stream.on("data", (chunk: Buffer) => stdout.add(chunk));
        stream.stderr.on("data", (chunk: Buffer) => stderr.add(chunk));
        stream.on("exit", (code: number | null, signal?: string) => {
          exitReceived = true;
          exitCode = typeof code === "number" ? code : null;
          if (typeof signal === "string") exitSignal = signal;
        });
        stream.on("close", () => {
          channelClosed = true;
          finish({ timedOut: false });
        });
        // Nothing is sent on stdin: EOF now, as `ssh host cmd </dev/null`, so a command that
        // reads stdin (or prompts) ends instead of waiting for the deadline.
        stream.end();
      });
    });
    // Our own socket, so that every path can destroy it (ssh2's destroy() does nothing
    // once the socket is ending). Errors reach us through the client's "error" event.
    socket.on("error", () => {});
    socket.once("close", settle);
    socket.setNoDelay(true);

    try {
      // Connect first: ssh2 treats a socket that is not `connecting` as already connected.
      socket.connect({ host: target.host, port: target.port });
      client.connect({
        sock: socket,
        username: target.username,
        hostVerifier: (keyBlob: Buffer): boolean => {
          const actual = hostKeyFingerprint(keyBlob);
          if (actual === expected) return true;
          hostKeyMismatch = new SshHostKeyMismatchError(expected, actual, where, keyBlobType(keyBlob));
          return false;
        },
        authHandler,
        tryKeyboard: false,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: 0,
      });
    } catch (error) {
      finish({ error });
      socket.destroy();
    }
  });
}

/**
 * Asks the server to SIGKILL the command. OpenSSH (>= 7.9) delivers a "signal" request to
 * the session's process group; closing the channel alone would leave a command that
 * writes nothing (`sleep`) running, as no pty means no SIGHUP. OpenSSH refuses it in root
 * sessions ("session signalling requires privilege separation"): nothing more can be done
 * from here without wrapping the command, which we do not.
 *
 * ssh2's channel.signal() sends nothing once our side of the channel is at EOF (we send
 * EOF on stdin right away), although SSH allows channel requests until the channel is
 * closed; so in that state the request goes through ssh2's protocol object directly.
 * tests/ssh/exec.test.ts checks on a real sshd that the remote process is gone.
 */
function killRemote(channel: ClientChannel): void {
  const internal = channel as unknown as {
    outgoing?: { state?: string; id?: number };
    _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
  };
  const outgoing = internal.outgoing;
  if (outgoing?.state === "eof" && typeof outgoing.id === "number") {
    internal._client?._protocol?.signal?.(outgoing.id, "KILL");
  } else {
    channel.signal("KILL");
  }
}

function checkCommand(command: string): void {
  if (typeof command !== "string" || command.length === 0) throw new Error("the command is empty");
  if (command.includes("\0")) throw new Error("the command contains a NUL byte; refusing to send it");
  if (command.length > MAX_COMMAND_LENGTH) {
    throw new Error(
      `the command is ${command.length} characters long; at most ${MAX_COMMAND_LENGTH} are accepted`,
    );
  }
}

function checkOptions(target: SshTarget, options: SshExecOptions): void {
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new Error(`SSH port must be an integer from 1 to 65535, not ${String(target.port)}`);
  }
  if (typeof target.host !== "string" || target.host.length === 0) throw new Error("SSH host is empty");
  if (typeof target.username !== "string" || target.username.length === 0) {
    throw new Error("SSH user is empty");
  }
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new Error(`timeoutMs must be a positive number, not ${String(options.timeoutMs)}`);
  }
  if (!Number.isInteger(options.maxOutputBytes) || options.maxOutputBytes < 0) {
    throw new Error(`maxOutputBytes must be a non-negative integer, not ${String(options.maxOutputBytes)}`);
  }
  const connect = options.connectTimeoutMs;
  if (connect !== undefined && (!Number.isFinite(connect) || connect <= 0)) {
    throw new Error(`connectTimeoutMs must be a positive number, not ${String(connect)}`);
  }
}

type ParseKey = (data: string, passphrase?: string) => ParsedKey | ParsedKey[] | Error;

/** Parses the key before connecting, so a bad key or passphrase is not reported as "refused by the server". */
function parsePrivateKey(parseKey: ParseKey, target: SshTarget): ParsedKey {
  const parsed = parseKey(target.privateKey.reveal(), target.passphrase?.reveal());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const fix = "check PROXMOX_SSH_KEY_FILE (and PROXMOX_SSH_KEY_PASSPHRASE for an encrypted key)";
  if (key === undefined || key instanceof Error) {
    // ssh2's messages name the problem ("Encrypted private OpenSSH key detected, but no
    // passphrase given", "Unsupported key format"); a few append a value read from the
    // file ("Unsupported OpenSSH key magic: ..."), kept only when it is a short name.
    const reason = key instanceof Error ? keyErrorReason(key.message) : "no key found";
    throw new SshError("auth", `the SSH private key could not be read (${reason}); ${fix}`);
  }
  if (!key.isPrivateKey()) {
    throw new SshError("auth", `the SSH key given is a public key, not a private key; ${fix}`);
  }
  return key;
}

function keyErrorReason(message: string): string {
  const cut = message.indexOf(": ");
  if (cut < 0) return safeText(message);
  const detail = message.slice(cut + 2);
  return safeText(/^[A-Za-z0-9@.-]{1,40}$/.test(detail) ? message : message.slice(0, cut));
}

function mapClientError(
  error: Error & { level?: string; code?: string | number },
  where: string,
  key: ParsedKey,
  connectTimeoutMs: number,
): Error {
  const code = typeof error.code === "string" ? error.code : undefined;
  if (error.level === "client-authentication") {
    return new SshError(
      "auth",
      `${where}: key authentication was refused (key ${publicKeyFingerprint(key)}, ${key.type}). ` +
        "Check PROXMOX_SSH_USER and PROXMOX_SSH_KEY_FILE, and that the matching public key is in that " +
        "user's ~/.ssh/authorized_keys on the host.",
    );
  }
  if (error.level === "client-timeout") {
    return new SshError(
      "timeout",
      `${where}: no SSH handshake within ${connectTimeoutMs} ms; check PROXMOX_SSH_HOST and PROXMOX_SSH_PORT, ` +
        "and that no firewall drops the connection",
    );
  }
  if (error.level === "client-socket" || (code !== undefined && NETWORK_CODES.has(code))) {
    const reason = code ? `${code} (${safeText(error.message)})` : safeText(error.message);
    return new SshError(
      "network",
      `${where}: ${reason}; check PROXMOX_SSH_HOST and PROXMOX_SSH_PORT and that sshd runs`,
    );
  }
  return new SshError(
    "protocol",
    `${where}: SSH ${error.level ?? "protocol"} error: ${safeText(error.message)}`,
  );
}

function publicKeyFingerprint(key: ParsedKey): string {
  try {
    return hostKeyFingerprint(key.getPublicSSH());
  } catch {
    return "unknown fingerprint";
  }
}

/** The algorithm name at the start of an SSH key blob ("ssh-ed25519"), if readable. */
function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length < 1 || length > 64 || blob.length < 4 + length) return undefined;
  const type = blob.toString("latin1", 4, 4 + length);
  return /^[a-z0-9@.-]+$/i.test(type) ? type : undefined;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "user@host:port" -> "host" (no brackets) for the ssh-keyscan hint; quoted when odd. */
function hostForShell(where: string): string {
  const host = where
    .slice(where.lastIndexOf("@") + 1)
    .replace(/:\d+$/, "")
    .replace(/^\[(.*)\]$/, "$1");
  return /^[A-Za-z0-9.:_-]+$/.test(host) ? host : "<host>";
}

/** Error text from the network or ssh2, with control characters removed and length capped. */
function safeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").slice(0, 300);
}

/** Keeps the first `limit` bytes of a stream; counts the rest as dropped. */
class CappedBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.#size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    // Copy: ssh2 may reuse the buffer it handed us.
    this.#chunks.push(Buffer.from(kept));
    this.#size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString("utf8");
  }
}
