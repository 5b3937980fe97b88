/**
 * runSshCommand against a real OpenSSH sshd on 127.0.0.1 (see sshd.ts). Without sshd the
 * suite is skipped with a visible reason, unless PROXMOX_MCP_TEST_REQUIRE_SSHD=1 (set by
 * .ci/run, which installs openssh-server), where a missing sshd fails it.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { compileAllowlist, isCommandAllowed } from "../../src/config/ssh-allowlist.js";
import {
  runSshCommand,
  SshError,
  SshHostKeyMismatchError,
  type SshExecOptions,
  type SshTarget,
} from "../../src/ssh/exec.js";
import { sshdForFile, startCountingProxy, type CountingProxy, type KeyPair, type Sshd } from "./sshd.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { sshd, skipReason } = await sshdForFile("tests/ssh/exec.test.ts");

afterAll(async () => {
  await sshd?.stop();
});

/** Auth lines sshd logs at VERBOSE once a client tries to authenticate. */
const AUTH_LOG =
  /publickey|password|keyboard-interactive|authenticating user|invalid user|userauth|Accepted|Failed|Postponed/i;
/** The line sshd logs when a connection is gone, whatever the stage. */
const CONNECTION_GONE =
  /Connection (closed|reset) by|Disconnected from|Received disconnect from|Close session/;

if (skipReason !== undefined) {
  describe("SSH execution", () => {
    it.skip(skipReason, () => {});
  });
}

describe.skipIf(sshd === undefined)("runSshCommand against OpenSSH sshd", () => {
  const server = sshd as Sshd;

  function target(overrides: Partial<SshTarget> = {}, key: KeyPair = server.keys.ed25519): SshTarget {
    return {
      host: "127.0.0.1",
      port: server.port,
      username: server.username,
      privateKey: new Secret(key.privateKey),
      hostKeySha256: server.hostKey.fingerprint,
      ...overrides,
    };
  }
  const options = (overrides: Partial<SshExecOptions> = {}): SshExecOptions => ({
    timeoutMs: 15_000,
    maxOutputBytes: 65_536,
    ...overrides,
  });

  async function withProxy<T>(run: (proxy: CountingProxy) => Promise<T>): Promise<T> {
    const proxy = await startCountingProxy(server.port);
    try {
      return await run(proxy);
    } finally {
      await proxy.close();
    }
  }

  it("runs a command: stdout, stderr and exit code kept apart", async () => {
    const result = await runSshCommand(target(), "echo hello; echo err >&2; exit 3", options());
    expect(result).toMatchObject({
      exitCode: 3,
      stdout: "hello\n",
      stderr: "err\n",
      stdoutTruncated: false,
      stderrTruncated: false,
      timedOut: false,
    });
    expect(result.exitSignal).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("sends the command as-is (the login shell interprets it) and utf8 output back", async () => {
    const result = await runSshCommand(target(), "printf '%s|' \"$0\" 'a b' 'héllo ✓'", options());
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^[^|]*sh\|a b\|héllo ✓\|$/);
  });

  it("gives the command an empty stdin (EOF), so a command reading stdin does not hang", async () => {
    const result = await runSshCommand(target(), "cat; echo done", options({ timeoutMs: 10_000 }));
    expect(result).toMatchObject({ exitCode: 0, stdout: "done\n", timedOut: false });
  });

  it("reports a command killed by a signal: exitCode null and the signal", async () => {
    const result = await runSshCommand(target(), "kill -TERM $$", options());
    expect(result.exitCode).toBeNull();
    expect(result.exitSignal).toBe("SIGTERM");
    expect(result.timedOut).toBe(false);
  });

  it.each([
    ["ecdsa", "ecdsa"],
    ["rsa", "rsa"],
  ] as const)("authenticates with an %s key too", async (_label, type) => {
    const result = await runSshCommand(target({}, server.keys[type]), "echo ok", options());
    expect(result).toMatchObject({ exitCode: 0, stdout: "ok\n" });
  });

  it("authenticates with a passphrase-protected key", async () => {
    const result = await runSshCommand(
      target({ passphrase: new Secret(server.passphrase) }, server.keys.encrypted),
      "echo ok",
      options(),
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: "ok\n" });
  });

  it("refuses a protected key without its passphrase or with a wrong one, without connecting", async () => {
    await withProxy(async (proxy) => {
      for (const passphrase of [undefined, new Secret("wrong passphrase")]) {
        const error = await runSshCommand(
          target({ port: proxy.port, ...(passphrase && { passphrase }) }, server.keys.encrypted),
          "echo ok",
          options(),
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SshError);
        expect((error as SshError).kind).toBe("auth");
        expect((error as Error).message).toMatch(/private key could not be read.*PROXMOX_SSH_KEY_FILE/);
        expect((error as Error).message).not.toContain("wrong passphrase");
      }
      expect(proxy.connections).toBe(0);
    });
  });

  it("refuses a public key or a non-key as the private key, without connecting", async () => {
    await withProxy(async (proxy) => {
      for (const [text, message] of [
        [server.keys.ed25519.publicKey, /is a public key, not a private key/],
        ["not a key", /could not be read \(Unsupported key format\)/],
      ] as const) {
        const error = await runSshCommand(
          target({ port: proxy.port, privateKey: new Secret(text) }),
          "echo ok",
          options(),
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SshError);
        expect((error as SshError).kind).toBe("auth");
        expect((error as Error).message).toMatch(message);
      }
      expect(proxy.connections).toBe(0);
    });
  });

  it("accepts the pin with or without the SHA256: prefix and with = padding", async () => {
    const bare = server.hostKey.fingerprint.slice("SHA256:".length);
    for (const pin of [bare, `${bare}=`, `SHA256:${bare}=`, ` ${server.hostKey.fingerprint} `]) {
      const result = await runSshCommand(target({ hostKeySha256: pin }), "echo ok", options());
      expect(result.stdout).toBe("ok\n");
    }
  });

  it("refuses a malformed pin without connecting", async () => {
    await withProxy(async (proxy) => {
      for (const pin of ["", "SHA256:short", "MD5:aa:bb:cc", `${server.hostKey.fingerprint}x`]) {
        await expect(
          runSshCommand(target({ port: proxy.port, hostKeySha256: pin }), "echo ok", options()),
        ).rejects.toThrow(/PROXMOX_SSH_HOST_KEY must be the host key's SHA256 fingerprint/);
      }
      expect(proxy.connections).toBe(0);
    });
  });

  it("ends the connection before authenticating when the host key is not the pinned one", async () => {
    const from = server.log.length;
    const error = await runSshCommand(
      target({ hostKeySha256: server.otherHostKey.fingerprint }),
      "touch /tmp/should-not-exist",
      options(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshHostKeyMismatchError);
    const message = (error as Error).message;
    expect(message).toContain(server.otherHostKey.fingerprint); // expected
    expect(message).toContain(server.hostKey.fingerprint); // actual
    expect(message).toContain(`${server.username}@127.0.0.1:${server.port}`);
    expect(message).toContain("ssh-ed25519");
    expect(message).toMatch(/ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub/);
    expect(message).toMatch(/ssh-keyscan -t ed25519 127\.0\.0\.1 \| ssh-keygen -lf -/);

    // sshd's side: the connection came and went, and no authentication was attempted.
    await server.waitForLog(CONNECTION_GONE, from);
    const lines = server.log.slice(from);
    expect(lines.some((line) => line.startsWith("Connection from 127.0.0.1"))).toBe(true);
    expect(lines.filter((line) => AUTH_LOG.test(line))).toEqual([]);
  });

  it("the same connection does authenticate when the pin is right (so the log check above means something)", async () => {
    const from = server.log.length;
    await runSshCommand(target(), "true", options());
    await server.waitForLog(CONNECTION_GONE, from);
    expect(server.log.slice(from).some((line) => /Accepted publickey for /.test(line))).toBe(true);
  });

  it("reports a refused key as an auth error without key material", async () => {
    const from = server.log.length;
    const error = await runSshCommand(target({}, server.unauthorisedKey), "echo ok", options()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).kind).toBe("auth");
    const message = (error as Error).message;
    expect(message).toContain(`key authentication was refused`);
    expect(message).toContain(`${server.username}@127.0.0.1:${server.port}`);
    expect(message).toMatch(/PROXMOX_SSH_USER.*PROXMOX_SSH_KEY_FILE.*authorized_keys/s);
    const publicBlob = server.unauthorisedKey.publicKey.split(" ")[1]!;
    expect(message).not.toContain(publicBlob.slice(20, 60));
    for (const line of server.unauthorisedKey.privateKey.split("\n").filter((l) => l.length > 20)) {
      expect(message).not.toContain(line.slice(0, 30));
    }
    // Only key authentication was tried: never password or keyboard-interactive.
    await server.waitForLog(CONNECTION_GONE, from);
    const auth = server.log
      .slice(from)
      .filter((line) => /password|keyboard-interactive|Accepted/i.test(line));
    expect(auth).toEqual([]);
  });

  it("reports a closed port as a network error", async () => {
    const proxy = await startCountingProxy(server.port);
    const closedPort = proxy.port;
    await proxy.close();
    const error = await runSshCommand(target({ port: closedPort }), "echo ok", options()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).kind).toBe("network");
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${server.username}@127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED.*check PROXMOX_SSH_HOST and PROXMOX_SSH_PORT and that sshd runs`,
      ),
    );
  });

  it("reports an unknown host name as a network error", async () => {
    const error = await runSshCommand(target({ host: "no-such-host.invalid" }), "echo ok", options()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).kind).toBe("network");
    expect((error as Error).message).toMatch(/no-such-host\.invalid:\d+: (ENOTFOUND|EAI_AGAIN)/);
  });

  it("kills a command that outlives the deadline and returns what it printed", async () => {
    const from = server.log.length;
    const result = await runSshCommand(target(), "echo $$; exec sleep 30", options({ timeoutMs: 2000 }));
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.stderr).toBe("");
    const pid = Number(result.stdout.trim());
    expect(Number.isInteger(pid) && pid > 1).toBe(true);
    try {
      // The channel and the connection are closed: sshd logs the client's disconnect.
      await server.waitForLog(/Received disconnect from|Disconnected from user/, from);
      if (server.username === "root") {
        // OpenSSH refuses "signal" requests in root sessions (no post-auth privilege
        // separation for root): it logs the refusal of our SIGKILL, and `sleep`, which
        // never writes, outlives the closed channel. What is true: the request was sent.
        await server.waitForLog(/session_signal_req: session signalling requires privilege separation/, from);
      } else {
        // Any other user: sshd delivers SIGKILL to the command's process group.
        expect(await processGone(pid)).toBe(true);
      }
    } finally {
      if (server.username === "root") killLocal(pid);
    }
  });

  it("after a deadline, a command that keeps writing dies at its next write (closed channel: SIGPIPE)", async () => {
    const from = server.log.length;
    const result = await runSshCommand(
      target(),
      "echo $$; while :; do echo tick; sleep 0.05; done",
      // The deadline covers the handshake too: on a loaded 2-CPU machine 1.5 s once left no tick.
      options({ timeoutMs: 4000 }),
    );
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    const [pidLine, ...ticks] = result.stdout.trim().split("\n");
    expect(ticks.length).toBeGreaterThan(0);
    expect(new Set(ticks)).toEqual(new Set(["tick"]));
    await server.waitForLog(/Received disconnect from|Disconnected from user/, from);
    expect(await processGone(Number(pidLine))).toBe(true);
  });

  it("caps each stream at maxOutputBytes and keeps draining", async () => {
    const result = await runSshCommand(
      target(),
      "head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' b >&2; echo end >&2",
      options({ maxOutputBytes: 1000 }),
    );
    expect(result.stdout).toBe("a".repeat(1000));
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderr).toBe("b".repeat(1000));
    expect(result.stderrTruncated).toBe(true);
    expect(result.exitCode).toBe(0); // read to the end: the command was not blocked on a full pipe
    expect(result.timedOut).toBe(false);
  });

  it("a cap of exactly the output size is not a truncation", async () => {
    const result = await runSshCommand(target(), "printf 12345", options({ maxOutputBytes: 5 }));
    expect(result).toMatchObject({ stdout: "12345", stdoutTruncated: false });
  });

  it("an abort ends the command and the connection, and rejects with the abort reason", async () => {
    const from = server.log.length;
    const controller = new AbortController();
    // A command that keeps writing, so that it ends even where OpenSSH refuses the KILL (root).
    const command = "while :; do echo tick; sleep 0.05; done";
    const running = runSshCommand(target(), command, options({ signal: controller.signal }));
    // Abort once sshd has started the command (its own log says so), not after a sleep.
    await server.waitForLog(/Starting session: command for /, from);
    controller.abort();
    const error = await running.catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    await server.waitForLog(CONNECTION_GONE, from);
  });

  it("an already-aborted signal makes no connection", async () => {
    await withProxy(async (proxy) => {
      const reason = new Error("cancelled by the client");
      await expect(
        runSshCommand(
          target({ port: proxy.port }),
          "echo ok",
          options({ signal: AbortSignal.abort(reason) }),
        ),
      ).rejects.toBe(reason);
      expect(proxy.connections).toBe(0);
    });
  });

  it("refuses NUL bytes, over-long and empty commands without connecting", async () => {
    await withProxy(async (proxy) => {
      const t = target({ port: proxy.port });
      await expect(runSshCommand(t, "echo a\0b", options())).rejects.toThrow(/NUL byte/);
      await expect(runSshCommand(t, "x".repeat(8193), options())).rejects.toThrow(/8193 characters.*8192/);
      await expect(runSshCommand(t, "", options())).rejects.toThrow(/empty/);
      expect(proxy.connections).toBe(0);
      // 8192 characters exactly is fine (a comment the shell ignores).
      const longest = `#${"x".repeat(8191)}`;
      await expect(runSshCommand(t, longest, options())).resolves.toMatchObject({ exitCode: 0 });
      expect(proxy.connections).toBe(1);
    });
  });

  it("with an allow-list, a refused command never reaches the network", async () => {
    const allowlist = compileAllowlist(["uptime", "pveversion( -v)?"]);
    await withProxy(async (proxy) => {
      // What the execute_command tool does: check first, connect only when allowed.
      const run = async (command: string) =>
        isCommandAllowed(command, allowlist)
          ? await runSshCommand(target({ port: proxy.port }), command, options())
          : "refused";
      for (const command of ["uptime; rm -rf /", "uptime\nid", "uptimex"]) {
        expect(await run(command)).toBe("refused");
      }
      expect(proxy.connections).toBe(0);
      expect(await run("uptime")).toMatchObject({ exitCode: 0, timedOut: false });
      expect(proxy.connections).toBe(1);
    });
  });

  it("a deadline that passes before the command starts is a timeout error", async () => {
    // A server that accepts TCP and never speaks SSH.
    const { createServer } = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    silent.listen(0, "127.0.0.1");
    await new Promise((resolve) => silent.once("listening", resolve));
    const port = (silent.address() as import("node:net").AddressInfo).port;
    try {
      const error = await runSshCommand(target({ port }), "echo ok", options({ timeoutMs: 300 })).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SshError);
      expect((error as SshError).kind).toBe("timeout");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe("through the esbuild bundle (ssh2 without its native addons)", () => {
    it("works with ed25519 keys, and a plain node process exits by itself after every kind of call", async () => {
      const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-ssh-bundle-"));
      try {
        const { buildOptions } = (await import(pathToFileURL(join(ROOT, "scripts/bundle.mjs")).href)) as {
          buildOptions: Record<string, unknown>;
        };
        const { build } = await import("esbuild");
        const outfile = join(dir, "exec.bundle.js");
        await build({
          ...buildOptions,
          entryPoints: [join(ROOT, "src/ssh/exec.ts")],
          outdir: undefined,
          splitting: false,
          entryNames: undefined,
          chunkNames: undefined,
          outfile,
          sourcemap: false,
          legalComments: "none",
          absWorkingDir: ROOT,
        });
        const bundle = readFileSync(outfile, "utf8");
        // The addons are replaced by a module that throws, so ssh2 takes its pure-JS paths.
        expect(bundle).not.toMatch(/require\(["'][^"']*\.node["']\)/);
        expect(bundle).not.toMatch(/require\(["']cpu-features["']\)/);
        expect(bundle).toContain("native addon ./crypto/build/Release/sshcrypto.node is not bundled");

        const closed = await startCountingProxy(server.port);
        const closedPort = closed.port;
        await closed.close();
        const config = {
          target: {
            host: "127.0.0.1",
            port: server.port,
            username: server.username,
            hostKeySha256: server.hostKey.fingerprint,
          },
          key: server.keys.ed25519.privateKey,
          unauthorisedKey: server.unauthorisedKey.privateKey,
          otherPin: server.otherHostKey.fingerprint,
          closedPort,
        };
        writeFileSync(join(dir, "config.json"), JSON.stringify(config), { mode: 0o600 });
        const script = join(dir, "run.mjs");
        writeFileSync(
          script,
          `
import { readFileSync } from "node:fs";
const { runSshCommand } = await import(${JSON.stringify(pathToFileURL(outfile).href)});
const config = JSON.parse(readFileSync(new URL("./config.json", import.meta.url), "utf8"));
const secret = (value) => ({ reveal: () => value });
const good = { ...config.target, privateKey: secret(config.key) };
const options = { timeoutMs: 10000, maxOutputBytes: 1000 };
const outcome = (promise) => promise.then(
  (r) => ({ exitCode: r.exitCode, stdout: r.stdout, timedOut: r.timedOut }),
  (e) => ({ error: e.name, kind: e.kind }),
);
const controller = new AbortController();
const results = {
  ok: await outcome(runSshCommand(good, "echo bundled; exit 4", options)),
  timeout: await outcome(runSshCommand(good, "while :; do echo t; sleep 0.05; done", { ...options, timeoutMs: 800 })),
  mismatch: await outcome(runSshCommand({ ...good, hostKeySha256: config.otherPin }, "true", options)),
  auth: await outcome(runSshCommand({ ...good, privateKey: secret(config.unauthorisedKey) }, "true", options)),
  network: await outcome(runSshCommand({ ...good, port: config.closedPort }, "true", options)),
  abort: await outcome((() => {
    const running = runSshCommand(good, "while :; do echo t; sleep 0.05; done", { ...options, signal: controller.signal });
    setTimeout(() => controller.abort(), 500);
    return running;
  })()),
};
// Nothing of ours may be left: no timer, no socket.
results.handles = process.getActiveResourcesInfo().filter((r) => r === "Timeout" || /TCP/.test(r));
process.stdout.write(JSON.stringify(results));
`,
        );
        const { stdout } = await promisify(execFile)(process.execPath, [script], {
          cwd: dir,
          timeout: 20_000,
        });
        const results = JSON.parse(stdout) as Record<string, unknown>;
        expect(results).toEqual({
          ok: { exitCode: 4, stdout: "bundled\n", timedOut: false },
          timeout: expect.objectContaining({ exitCode: null, timedOut: true }),
          mismatch: { error: "SshHostKeyMismatchError" },
          auth: { error: "SshError", kind: "auth" },
          network: { error: "SshError", kind: "network" },
          abort: { error: "AbortError" },
          handles: [],
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** Ends a test's leftover local process (the "remote" host is this machine). */
function killLocal(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * true once `pid` is gone or a zombie (dead, waiting for its parent to reap it).
 * Checked right after sshd logged the connection's end; the kill (or the next write's
 * SIGPIPE) lands asynchronously, so a short bounded re-check (at most ~2 s) covers it.
 */
async function processGone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!existsSync(`/proc/${pid}`)) return true;
    try {
      const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
      if (state === "Z" || state === "X") return true;
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
