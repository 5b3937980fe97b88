/**
 * `proxmox-mcp simulator` as a user runs it: one JSON line on stdout when ready,
 * curl with --cacert and the auditor token, 403 for a write, clean exit on SIGTERM.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { X509Certificate } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI = new URL("../../dist/cli.js", import.meta.url).pathname;
const HAVE_CURL = spawnSync("curl", ["--version"]).status === 0;
const run = promisify(execFile);

interface Ready {
  url: string;
  host: string;
  port: number;
  fingerprint: string;
  caFile: string;
  tokens: Record<"auditor" | "admin" | "root", { id: string; secret: string }>;
}

/** Stops a simulator the way a user does (SIGTERM), so it removes its CA file's directory. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function startCli(args: string[]): Promise<{ child: ChildProcess; ready: Ready; extraStdout: string[] }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [CLI, "simulator", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const extraStdout: string[] = [];
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let ready: Ready | undefined;
    lines.on("line", (line) => {
      if (ready) extraStdout.push(line);
      else {
        ready = JSON.parse(line) as Ready;
        resolve({ child, ready, extraStdout });
      }
    });
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code} before it was ready`)));
  });
}

describe("proxmox-mcp simulator (CLI)", () => {
  let child: ChildProcess;
  let ready: Ready;
  let extraStdout: string[];

  beforeAll(async () => {
    ({ child, ready, extraStdout } = await startCli(["--port", "0"]));
  });
  afterAll(() => stop(child));

  it("prints one JSON line with url, host, port, fingerprint, caFile and the three tokens", () => {
    expect(Object.keys(ready).sort()).toEqual(["caFile", "fingerprint", "host", "port", "tokens", "url"]);
    expect(ready.host).toBe("127.0.0.1");
    expect(ready.port).toBeGreaterThan(0);
    expect(ready.url).toBe(`https://127.0.0.1:${ready.port}`);
    expect(ready.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Object.keys(ready.tokens).sort()).toEqual(["admin", "auditor", "root"]);
    const ca = new X509Certificate(readFileSync(ready.caFile));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain("O=PVE Cluster Manager CA");
  });

  it.skipIf(!HAVE_CURL)("answers curl --cacert with the auditor token", async () => {
    const { id, secret } = ready.tokens.auditor;
    const { stdout } = await run("curl", [
      "-sS",
      "--fail-with-body",
      "--cacert",
      ready.caFile,
      "-H",
      `Authorization: PVEAPIToken=${id}=${secret}`,
      `${ready.url}/api2/json/cluster/resources?type=node`,
    ]);
    const nodes = (JSON.parse(stdout) as { data: { node: string }[] }).data.map((n) => n.node);
    expect(nodes).toEqual(["pve1", "pve2", "pve3"]);
  });

  it.skipIf(!HAVE_CURL)("answers 403 to an auditor POST to status/stop", async () => {
    const { id, secret } = ready.tokens.auditor;
    const { stdout } = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-X",
      "POST",
      "--cacert",
      ready.caFile,
      "-H",
      `Authorization: PVEAPIToken=${id}=${secret}`,
      `${ready.url}/api2/json/nodes/pve1/qemu/100/status/stop`,
    ]);
    expect(stdout).toBe("403");
  });

  it("stops cleanly on SIGTERM, printing nothing more on stdout and removing the CA file", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(extraStdout).toEqual([]);
    expect(existsSync(ready.caFile)).toBe(false);
  });
});

describe("proxmox-mcp simulator options", () => {
  it("generates a cluster with --nodes/--guests and imitates PVE 8 with --pve 8", async () => {
    const { child, ready } = await startCli(["--port", "0", "--nodes", "4", "--guests", "50", "--pve", "8"]);
    try {
      const { id, secret } = ready.tokens.root;
      const res = await fetchJson(ready, "/cluster/resources?type=node", `PVEAPIToken=${id}=${secret}`);
      expect(res.data).toHaveLength(4);
    } finally {
      await stop(child);
    }
  });

  it.each([
    [["--port", "99999"], "--port must be an integer from 0 to 65535"],
    [["--nodes", "3"], "--nodes and --guests go together"],
    [["--pve", "7"], "--pve must be an integer from 8 to 9"],
    [["--scenario", "/nonexistent.json"], "cannot read scenario file /nonexistent.json"],
    [["--bogus"], "Unknown option '--bogus'"],
    [["--host", "0.0.0.0"], "--host 0.0.0.0 is not a loopback address"],
  ])("refuses %j with a clear message and exit code 2", (args, message) => {
    const r = spawnSync(process.execPath, [CLI, "simulator", ...args], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
  });
});

async function fetchJson(ready: Ready, path: string, auth: string): Promise<{ data: unknown[] }> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: ready.host,
        port: ready.port,
        path: `/api2/json${path}`,
        ca: readFileSync(ready.caFile),
        headers: { Authorization: auth },
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve(JSON.parse(body) as { data: unknown[] }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
