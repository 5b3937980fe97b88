// Shared by tests/e2e/scale-out.test.ts and bench/http-load.mjs: run a real HAProxy
// (Debian's `haproxy` package) with the committed deploy/haproxy/haproxy.cfg in front of
// proxmox-mcp processes on loopback. The config is used as committed except for what a
// test cannot use, each change matched exactly (see testVariant), so a config that
// drifts from what the tests expect fails them instead of being tested half.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { clearTimeout, setTimeout } from "node:timers";
import { fileURLToPath } from "node:url";

/** The committed configuration. */
export const HAPROXY_CFG = fileURLToPath(new URL("../../deploy/haproxy/haproxy.cfg", import.meta.url));

const START_TIMEOUT_MS = 15_000;

/** The haproxy binary on PATH, else Debian's /usr/sbin/haproxy (not on a non-root PATH); undefined if neither. */
export function findHaproxy() {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin"];
  return dirs.map((dir) => join(dir, "haproxy")).find((path) => existsSync(path));
}

/**
 * The committed config with the changes a test needs, nothing else:
 *   - the frontend listens on 127.0.0.1:<port> instead of :443, with `certFile`;
 *   - the two `server` lines point at `backends` (the same port twice: one process);
 *   - the stats socket and the stats listener go to `socket` and 127.0.0.1:<statsPort>;
 *   - chroot, user and group (they need root) are left out, and the log goes to
 *     stderr instead of syslog (/dev/log).
 * Throws if a line it changes is not there exactly as expected.
 */
export function testVariant(text, { port, backends, certFile, socket, statsPort }) {
  if (backends.length !== 2) throw new Error("the committed config has two server lines: give two ports");
  // Functions, not replacement strings: "$1127.0.0.1" would read as a group number.
  const changes = [
    [/^ {4}chroot \/var\/lib\/haproxy\n/m, () => ""],
    [/^ {4}user haproxy\n/m, () => ""],
    [/^ {4}group haproxy\n/m, () => ""],
    [/^ {4}log \/dev\/log local1 notice\n/m, () => ""],
    [/^ {4}log \/dev\/log local0$/m, () => "    log stderr format short local0"],
    [/^( {4}stats socket )\/run\/haproxy\/admin\.sock( .*)$/m, (_, head, tail) => `${head}${socket}${tail}`],
    [
      /^( {4}bind ):443 ssl crt \/etc\/haproxy\/certs\/mcp\.pem( .*)$/m,
      (_, head, tail) => `${head}127.0.0.1:${port} ssl crt ${certFile}${tail}`,
    ],
    [/^( {4}server mcp1 )127\.0\.0\.1:8081$/m, (_, head) => `${head}127.0.0.1:${backends[0]}`],
    [/^( {4}server mcp2 )127\.0\.0\.1:8082$/m, (_, head) => `${head}127.0.0.1:${backends[1]}`],
    [/^( {4}bind )127\.0\.0\.1:8404$/m, (_, head) => `${head}127.0.0.1:${statsPort}`],
  ];
  let out = text;
  for (const [pattern, replacement] of changes) {
    const global = new RegExp(pattern.source, "gm");
    const found = out.match(global)?.length ?? 0;
    if (found !== 1) {
      throw new Error(`${HAPROXY_CFG}: expected exactly one line matching ${pattern}, found ${found}`);
    }
    out = out.replace(pattern, replacement);
  }
  return out;
}

/** A TCP port nothing listens on now (taken, then released: HAProxy cannot bind port 0 and tell). */
export async function freePort() {
  const probe = createServer();
  await new Promise((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", resolve);
  });
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Resolves once `target` (a net.connect option: { host, port } or { path }) accepts a
 * connection; each refused attempt starts the next one.
 */
function waitForListener(target, { exited, timeoutMs }) {
  const where = target.path ?? `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`nothing listens on ${where} after ${timeoutMs} ms`)),
      timeoutMs,
    );
    void exited.then(({ code, signal }) => finish(new Error(`haproxy exited with ${signal ?? code}`)));
    const attempt = () => {
      if (done) return;
      const socket = connect(target);
      socket.once("connect", () => {
        socket.destroy();
        finish();
      });
      socket.once("error", () => {
        socket.destroy();
        attempt();
      });
    };
    attempt();
  });
}

/** One command on HAProxy's stats socket (`show stat`, `show table mcp`...): its whole answer. */
export function haproxyCommand(socketPath, command) {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (text += chunk));
    socket.once("error", reject);
    socket.once("end", () => resolve(text));
    socket.once("connect", () => socket.end(`${command}\n`));
  });
}

/** `show stat` of the servers as { "backend/server": { status, check_status, ... every column } }. */
export async function serverStates(socketPath) {
  const [header = "", ...rows] = (await haproxyCommand(socketPath, "show stat")).trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const states = {};
  for (const row of rows) {
    const cells = Object.fromEntries(row.split(",").map((cell, i) => [columns[i], cell]));
    if (!["FRONTEND", "BACKEND"].includes(cells.svname)) states[`${cells.pxname}/${cells.svname}`] = cells;
  }
  return states;
}

/**
 * Starts `haproxy -f <test variant> -db` (foreground) in a fresh temporary directory, in
 * front of the processes listening on 127.0.0.1:`backends[i]`, serving TLS with
 * `certPem` + `keyPem`. Resolves once its frontend accepts connections and both
 * servers are UP, with { url, port, pid, dir, socket, config, stderr, command, serverStates, stop }.
 */
export async function startHaproxy({ backends, certPem, keyPem, binary = findHaproxy() }) {
  if (!binary) throw new Error("haproxy is not installed (install haproxy: apt-get install haproxy)");
  // A port found free may be taken by another program before HAProxy binds it: then again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ backends, certPem, keyPem, binary });
    } catch (err) {
      if (!err.portTaken || attempt === 3) throw err;
    }
  }
}

async function startOnce({ backends, certPem, keyPem, binary }) {
  const dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-haproxy-"));
  const certFile = join(dir, "mcp.pem");
  writeFileSync(certFile, `${certPem.trim()}\n${keyPem.trim()}\n`, { mode: 0o600 });
  const socket = join(dir, "admin.sock");
  const [port, statsPort] = [await freePort(), await freePort()];
  const config = testVariant(readFileSync(HAPROXY_CFG, "utf8"), {
    port,
    backends,
    certFile,
    socket,
    statsPort,
  });
  const configFile = join(dir, "haproxy.cfg");
  writeFileSync(configFile, config);
  const child = spawn(binary, ["-f", configFile, "-db"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stdout.on("data", (chunk) => (stderr += chunk.toString("utf8")));
  child.stderr.on("data", (chunk) => (stderr += chunk.toString("utf8")));
  // "close", not "exit": its output is all read by then (a bind error is in the message).
  const exited = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM: HAProxy's hard stop, it does not wait for open streams (SSE) to end.
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The frontend and the stats socket are not bound at the same instant: wait for both.
    await waitForListener({ host: "127.0.0.1", port }, { exited, timeoutMs: START_TIMEOUT_MS });
    await waitForListener({ path: socket }, { exited, timeoutMs: START_TIMEOUT_MS });
    // Servers start UP ("UP 1/2": one failed check would take them down) until their first
    // check, which comes within `inter`; one that refuses connections is DOWN at once.
    const states = await serverStates(socket);
    const down = ["mcp/mcp1", "mcp/mcp2"].filter((name) => !/^UP\b/.test(states[name]?.status ?? ""));
    if (down.length > 0) {
      throw new Error(
        `not UP: ${down.map((name) => `${name} ${JSON.stringify(states[name] ?? "missing")}`)}`,
      );
    }
  } catch (err) {
    await stop();
    throw Object.assign(
      new Error(`haproxy did not start: ${err.message}\n--- haproxy output ---\n${stderr}`),
      { portTaken: /cannot bind socket.*Address already in use/.test(stderr) },
    );
  }
  return {
    url: `https://127.0.0.1:${port}/mcp`,
    port,
    pid: child.pid,
    dir,
    socket,
    config,
    stderr: () => stderr,
    command: (text) => haproxyCommand(socket, text),
    serverStates: () => serverStates(socket),
    stop,
  };
}
