/**
 * A real OpenSSH sshd for the SSH tests, one per test file: loopback only, a fresh
 * ed25519 host key, client keys of each type authorised through a temporary
 * authorized_keys, password and keyboard-interactive off, LogLevel VERBOSE on stderr
 * (captured line by line, so tests can wait on and assert sshd's own log).
 *
 * A counting TCP proxy can sit in front of it, to prove "no connection was made".
 *
 * The SSH user is the current OS user (root in CI). Run as root with
 * PROXMOX_MCP_TEST_SSH_USER=<a local user with a login shell> to log in as that user
 * instead (UsePAM yes then, so that a locked account's key login works as on Debian).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as netConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

/** The sshd binary; PROXMOX_MCP_TEST_SSHD overrides it (another install, or a missing path to see the skip). */
export const SSHD = process.env.PROXMOX_MCP_TEST_SSHD || "/usr/sbin/sshd";
export const INSTALL_HINT = "apt-get install openssh-server";

export interface KeyPair {
  /** The private key file's text (OpenSSH format). */
  privateKey: string;
  /** The public key line ("ssh-ed25519 AAAA... comment"). */
  publicKey: string;
  /** "SHA256:..." as ssh-keygen -lf prints it. */
  fingerprint: string;
  path: string;
}

export interface Sshd {
  port: number;
  username: string;
  dir: string;
  hostKey: KeyPair;
  /** A host key sshd does NOT use: its fingerprint is a wrong pin. */
  otherHostKey: KeyPair;
  /** Authorised client keys. */
  keys: { ed25519: KeyPair; ecdsa: KeyPair; rsa: KeyPair; encrypted: KeyPair };
  /** The passphrase of keys.encrypted. */
  passphrase: string;
  /** A valid key that is not in authorized_keys. */
  unauthorisedKey: KeyPair;
  /** sshd's stderr, one entry per line, in order. */
  log: string[];
  /** Resolves with the first log line at index >= from that matches (now or later). */
  waitForLog(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Why sshd cannot be used here, or undefined when it can be tried. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not installed: ${INSTALL_HINT}`;
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return `ssh-keygen not installed: ${INSTALL_HINT}`;
  }
  return undefined;
}

/**
 * sshd for one test file, or why the file's SSH tests are skipped (printed, so the
 * skip is visible). Where sshd must run (CI sets PROXMOX_MCP_TEST_REQUIRE_SSHD=1), a
 * missing sshd fails the file instead.
 */
export async function sshdForFile(file: string): Promise<{ sshd?: Sshd; skipReason?: string }> {
  let skipReason = sshdUnavailable();
  if (skipReason === undefined) {
    try {
      return { sshd: await startSshd() };
    } catch (error) {
      skipReason = `sshd could not start (${(error as Error).message.split("\n")[0]}); ${INSTALL_HINT}`;
    }
  }
  if (process.env.PROXMOX_MCP_TEST_REQUIRE_SSHD === "1") {
    throw new Error(`PROXMOX_MCP_TEST_REQUIRE_SSHD=1 but ${skipReason}`);
  }
  console.warn(`${file}: SKIPPING the SSH tests: ${skipReason}`);
  return { skipReason };
}

function keygen(dir: string, name: string, args: string[], passphrase = ""): KeyPair {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", ...args, "-N", passphrase, "-C", `test-${name}`, "-f", path], {
    stdio: "ignore",
  });
  const fingerprint = execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" }).split(" ")[1];
  if (!fingerprint?.startsWith("SHA256:"))
    throw new Error(`ssh-keygen -lf printed no SHA256 fingerprint for ${name}`);
  return {
    privateKey: readFileSync(path, "utf8"),
    publicKey: readFileSync(`${path}.pub`, "utf8").trim(),
    fingerprint,
    path,
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-sshd-"));
  const self = userInfo().username;
  const username = process.env.PROXMOX_MCP_TEST_SSH_USER || self;
  const otherUser = username !== self;
  const passphrase = "correct horse battery staple";
  const hostKey = keygen(dir, "host_ed25519", ["-t", "ed25519"]);
  const otherHostKey = keygen(dir, "other_host_ed25519", ["-t", "ed25519"]);
  const keys = {
    ed25519: keygen(dir, "client_ed25519", ["-t", "ed25519"]),
    ecdsa: keygen(dir, "client_ecdsa", ["-t", "ecdsa", "-b", "256"]),
    rsa: keygen(dir, "client_rsa", ["-t", "rsa", "-b", "2048"]),
    encrypted: keygen(dir, "client_encrypted", ["-t", "ed25519"], passphrase),
  };
  const unauthorisedKey = keygen(dir, "client_unauthorised", ["-t", "ed25519"]);
  writeFileSync(
    join(dir, "authorized_keys"),
    Object.values(keys)
      .map((key) => key.publicKey)
      .join("\n") + "\n",
    { mode: otherUser ? 0o644 : 0o600 },
  );
  // sshd reads authorized_keys as the user who logs in.
  if (otherUser) chmodSync(dir, 0o755);
  // The privilege separation directory; only root may (and must) create it.
  if (process.getuid?.() === 0 && !existsSync("/run/sshd")) mkdirSync("/run/sshd", { mode: 0o755 });

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `ListenAddress 127.0.0.1`,
        `Port ${port}`,
        `HostKey ${hostKey.path}`,
        `PidFile none`,
        `UsePAM ${otherUser ? "yes" : "no"}`,
        `StrictModes no`,
        `PubkeyAuthentication yes`,
        `PasswordAuthentication no`,
        `KbdInteractiveAuthentication no`,
        `PermitRootLogin prohibit-password`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `AllowUsers ${username}`,
        `LogLevel VERBOSE`,
        `PrintMotd no`,
        `X11Forwarding no`,
        `AllowAgentForwarding no`,
        `AllowTcpForwarding no`,
        "",
      ].join("\n"),
    );
    try {
      return await launch(dir, port, { username, hostKey, otherHostKey, keys, passphrase, unauthorisedKey });
    } catch (error) {
      lastError = error as Error;
      // Another process may have taken the port between freePort() and sshd's bind: retry.
      if (!/Address already in use|Cannot bind/i.test(lastError.message)) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error("sshd did not start");
}

async function launch(
  dir: string,
  port: number,
  rest: Pick<Sshd, "username" | "hostKey" | "otherHostKey" | "keys" | "passphrase" | "unauthorisedKey">,
): Promise<Sshd> {
  const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const log: string[] = [];
  const waiters = new Set<{ pattern: RegExp; from: number; resolve: (line: string) => void }>();
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      log.push(line.replace(/\r$/, ""));
      for (const waiter of waiters) {
        const index = log.length - 1;
        if (index >= waiter.from && waiter.pattern.test(log[index]!)) {
          waiters.delete(waiter);
          waiter.resolve(log[index]!);
        }
      }
    }
  });

  const waitForLog = (pattern: RegExp, from = 0, timeoutMs = 10_000): Promise<string> => {
    const found = log.slice(from).find((line) => pattern.test(line));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        from,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`sshd never logged ${pattern} (log since ${from}:\n${log.slice(from).join("\n")})`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  // Ready on sshd's own word, not after a sleep; fail fast if it exits instead.
  const exited = once(child, "exit").then(([code, signal]) => {
    throw new Error(`sshd exited (${String(code ?? signal)}) before listening:\n${log.join("\n")}${partial}`);
  });
  const spawnFailed = once(child, "error").then(([error]) => {
    throw error as Error;
  });
  try {
    await Promise.race([waitForLog(/Server listening on 127\.0\.0\.1 port \d+\./), exited, spawnFailed]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  exited.catch(() => {});
  spawnFailed.catch(() => {});

  return {
    ...rest,
    port,
    dir,
    log,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = once(child, "exit");
        child.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CountingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 that counts the connections it accepts and pipes them to `targetPort`. */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    connections++;
    const outbound = netConnect({ host: "127.0.0.1", port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
