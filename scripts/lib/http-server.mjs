// Shared by scripts/conformance.mjs, scripts/inspector-check.mjs and bench/http-load.mjs:
// start the BUILT server (`node dist/cli.js serve --http`) or the simulator as child
// processes in a fresh temporary directory (HOME, cwd and audit log: no real
// configuration is read), and the bearer-injecting proxy that lets tools which cannot
// send an Authorization header (the conformance suite) talk to it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearTimeout, setTimeout } from "node:timers";
import { fileURLToPath } from "node:url";

/** The CLI under test; PROXMOX_MCP_CLI overrides it (to try the scripts against another build). */
export const CLI =
  process.env.PROXMOX_MCP_CLI || fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

const START_TIMEOUT_MS = 30_000;

export function assertBuilt() {
  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

/** A fresh bearer token for one run (64 hex characters). */
export function randomToken() {
  return randomBytes(32).toString("hex");
}

/** A fresh empty directory, removed by the returned function. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Spawns `node CLI ...args` with only PATH, HOME (a fresh directory), the audit log in
 * that directory and `env`; resolves once `ready(stdout, stderr)` returns a value.
 */
function startChild(name, args, env, ready) {
  const { dir, remove } = tempDir(`proxmox-mcp-${name}-`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      PROXMOX_AUDIT_LOG: join(dir, "audit.jsonl"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  const exit = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    }
    remove();
  };
  return new Promise((resolve, reject) => {
    const fail = async (why) => {
      await stop();
      reject(
        new Error(`${name} did not start (${why})\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`),
      );
    };
    const timer = setTimeout(
      () => void fail(`no ready line within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    const check = () => {
      const value = ready(stdout, stderr);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve({ ...value, child, pid: child.pid, dir, stderr: () => stderr, stop });
      }
    };
    child.stdout.on("data", (chunk) => {
      stdout += chunk.toString("utf8");
      check();
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk.toString("utf8");
      check();
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      if (ready(stdout, stderr) === undefined) void fail(`exited with ${signal ?? code}`);
    });
  });
}

/**
 * `node dist/cli.js serve --http [args]`: resolves with { url, port, pid, stop, stderr }
 * when the server printed `proxmox-mcp: listening on http://HOST:PORT/mcp`.
 */
export function startHttpServer({ token, args = ["--demo"], env = {} }) {
  return startChild(
    "http",
    ["serve", "--http", ...args],
    { MCP_HTTP_HOST: "127.0.0.1", MCP_HTTP_PORT: "0", MCP_HTTP_TOKEN: token, ...env },
    (_stdout, stderr) => {
      const match = /proxmox-mcp: listening on (http:\/\/\S+)/.exec(stderr);
      if (!match) return undefined;
      const url = new URL(match[1]);
      return { url: url.href, port: Number(url.port) };
    },
  );
}

/** `node dist/cli.js simulator --port 0 [args]`: resolves with its JSON line (url, port, fingerprint, tokens...). */
export function startSimulator(args = []) {
  return startChild("simulator", ["simulator", "--port", "0", ...args], {}, (stdout) => {
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    if (line === undefined || !stdout.includes("\n")) return undefined;
    return { info: JSON.parse(line) };
  });
}

/** PROXMOX_* settings that point the server at a running simulator as its auditor token. */
export function simulatorEnv(info) {
  return {
    PROXMOX_HOST: "127.0.0.1",
    PROXMOX_PORT: String(info.port),
    PROXMOX_TOKEN_ID: info.tokens.auditor.id,
    PROXMOX_TOKEN_SECRET: info.tokens.auditor.secret,
    PROXMOX_TLS_FINGERPRINT: info.fingerprint,
  };
}

/**
 * An HTTP proxy on 127.0.0.1 (port 0 = free port; listening before the server starts, so
 * the server can be told its origin) that forwards every request to `target` (set later
 * with proxy.setTarget) with method, path and ALL headers unchanged (Host and Origin
 * included, so Host/Origin checks see what the client sent) plus
 * `Authorization: Bearer <token>` (replacing any the client sent). Bodies and responses
 * (SSE included) are streamed both ways; a client that hangs up closes the upstream
 * request. Resolves with { port, origin, setTarget, close, requests }.
 */
export async function startAuthProxy({ token, port = 0 }) {
  let target;
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    if (!target) {
      res.writeHead(503).end("proxy has no target yet\n");
      return;
    }
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i].toLowerCase() !== "authorization") {
        headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
      }
    }
    headers.push("Authorization", `Bearer ${token}`);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        res.flushHeaders();
        answer.pipe(res);
        answer.on("error", () => res.destroy());
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent)
        res.writeHead(502, { "content-type": "text/plain" }).end(`proxy: ${err.message}\n`);
      else res.destroy();
    });
    // The client went away (e.g. it cancelled an SSE stream): so does the upstream request.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = server.address().port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}/mcp`,
    setTarget: (url) => (target = new URL(url)),
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One plain HTTP request (node:http, so a Host header is sent as given): { status, headers, body }. */
export function httpRequest(url, { method = "GET", headers = {}, body } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers, agent: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${url}: no answer in 15 s`)));
    req.end(body);
  });
}

/**
 * Runs a command without stdin, capturing stdout and stderr; resolves with
 * { code, signal, stdout, stderr, timedOut } (never rejects on a non-zero exit).
 */
export function run(command, args, { env = process.env, cwd, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (c) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => {
      timedOut = true;
      // Its own process group: npx and what it started go together.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
