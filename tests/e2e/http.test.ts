/**
 * `proxmox-mcp serve --http` end to end: the BUILT server as a child process on a free
 * port (MCP_HTTP_PORT=0, the port read from its one "listening on" line), driven by
 * the SDK's Streamable HTTP client. Refusals to start, the bearer token and Host
 * checks on the real listener, --demo, and SIGTERM while a dangerous call waits for
 * its confirmation: the call finishes and the process exits 0.
 */
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { testScenario } from "../helpers/scenarios.js";
import {
  connectClient,
  INITIALIZE,
  mcpHeaders,
  rawRequest,
  textOf,
  TOKEN,
} from "../transports/http-harness.js";
import {
  auditLines,
  killLeftovers,
  READ_TOOLS,
  runCli,
  serveHttp,
  simEnv,
  stopHttpServers,
} from "./harness.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(async () => {
  killLeftovers();
  await sim.close();
});

afterEach(() => stopHttpServers());

/** `serve --http ...args` with the tests' bearer token. */
const serve = (env: Record<string, string>, args: string[] = []) =>
  serveHttp({ MCP_HTTP_TOKEN: TOKEN, ...env }, args);

describe("refusals to start", () => {
  it.each([
    ["without MCP_HTTP_TOKEN", {}, /MCP_HTTP_TOKEN is required with --http: .*openssl rand -hex 32/],
    [
      "with a short token",
      { MCP_HTTP_TOKEN: "short-token" },
      /MCP_HTTP_TOKEN must be at least 32 characters/,
    ],
    [
      "with a guessable token (a repeated word)",
      { MCP_HTTP_TOKEN: "weak-token-".repeat(4) },
      /MCP_HTTP_TOKEN has fewer than 10 different characters, .*openssl rand -hex 32/,
    ],
    [
      "on a non-loopback address without TLS",
      { MCP_HTTP_TOKEN: TOKEN, MCP_HTTP_HOST: "0.0.0.0" },
      /MCP_HTTP_HOST is not a loopback address, .*MCP_HTTP_ALLOW_PLAINTEXT=true/,
    ],
  ])("%s: one line, exit 2, nothing listening", async (_what, env, message) => {
    const { code, stderr } = await runCli(["serve", "--http"], { ...simEnv(sim), ...env });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain("listening");
    expect(stderr).not.toContain("short-token");
    expect(stderr).not.toContain("weak-token");
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("--demo needs the token too", async () => {
    const { code, stderr } = await runCli(["--http", "--demo"]);
    expect(code).toBe(2);
    expect(stderr).toContain("MCP_HTTP_TOKEN is required with --http");
    expect(stderr).not.toContain("demo mode");
  });
});

describe("serving the simulator", () => {
  it("prints one listening line, serves the tools to a client with the token, refuses others, exits 0 on SIGTERM", async () => {
    const server = await serve(simEnv(sim));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.stderr().match(/listening on/g)).toHaveLength(1);

    const client = await connectClient(server.url);
    const { tools } = await client.client.listTools();
    expect(tools.map((t) => t.name)).toEqual([...READ_TOOLS]);
    const nodes = await client.call("get_nodes");
    expect(nodes.isError, textOf(nodes)).toBeFalsy();
    expect(textOf(nodes)).toContain("pve1");

    sim.clearRequests();
    const base = server.url.replace(/\/mcp$/, "");
    const post = (headers: Record<string, string | undefined>) =>
      rawRequest(server.url, { method: "POST", headers: mcpHeaders(headers), body: INITIALIZE });
    expect((await post({ Authorization: undefined })).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${"w".repeat(64)}` })).status).toBe(401);
    expect((await post({ Host: "evil.example.com", Origin: "http://evil.example.com" })).status).toBe(403);
    expect(sim.requests()).toEqual([]);
    expect((await rawRequest(`${base}/healthz`)).json).toEqual({ status: "ok" });
    expect(
      (await rawRequest(`${base}/readyz`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json,
    ).toEqual({
      status: "ready",
    });

    await client.close();
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toContain("proxmox-mcp: SIGTERM: stopping");
    expect(server.stderr()).not.toContain(TOKEN);
    expect(server.stderr()).not.toContain(sim.tokens.auditor.secret);
  });

  it("--demo --http serves the built-in cluster; SIGINT stops it", async () => {
    const server = await serve({}, ["--demo"]);
    expect(server.stderr()).toContain("demo mode, simulated cluster at https://127.0.0.1:");
    const client = await connectClient(server.url);
    const result = await client.call("get_nodes");
    expect(result.isError, textOf(result)).toBeFalsy();
    await client.close();
    server.child.kill("SIGINT");
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});

describe("the audit log of the running server", () => {
  it("a token secret a model passes as an argument leaves no trace in it", async () => {
    const server = await serve(
      simEnv(sim, sim.tokens.auditor, {
        ENABLE_DANGEROUS_COMMANDS: "true",
        PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
        PROXMOX_ADMIN_TOKEN_SECRET: sim.tokens.admin.secret,
      }),
    );
    const readSecret = sim.tokens.auditor.secret;
    const adminSecret = sim.tokens.admin.secret;
    const client = await connectClient(server.url);
    await client.call("proxmox_api_get", { path: `/nodes/pve1/${readSecret}` });
    await client.call("get_vm_config", { node: readSecret, vmid: 100 });
    await client.call("get_vms", { note: encodeURIComponent(adminSecret) });
    // Refused by its schema before any handler: logged as "rejected" with the arguments as sent.
    await client.call("vm_action", { vmid: 101, action: adminSecret });
    await client.close();
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const lines = auditLines(server.auditLog);
    expect(lines.map((line) => line["tool"])).toEqual([
      "proxmox_api_get",
      "get_vm_config",
      "get_vms",
      "vm_action",
    ]);
    const text = readFileSync(server.auditLog, "utf8");
    for (const secret of [readSecret, adminSecret]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(0, 13));
    }
    expect(lines[1]?.["args"]).toEqual({ node: "[redacted]", vmid: 100 });
  });
});

describe("SIGTERM with a call in flight", () => {
  it("the dangerous call waiting for its confirmation finishes, is audited, and the process exits 0", async () => {
    const server = await serve(
      simEnv(sim, sim.tokens.auditor, {
        ENABLE_DANGEROUS_COMMANDS: "true",
        PROXMOX_ADMIN_TOKEN_ID: sim.tokens.admin.id,
        PROXMOX_ADMIN_TOKEN_SECRET: sim.tokens.admin.secret,
      }),
    );
    const client = await connectClient(server.url, {
      // The person is asked: stop the server now, and answer once it is stopping.
      onElicit: async () => {
        server.child.kill("SIGTERM");
        await server.waitFor(/SIGTERM: stopping; letting 1 call\(s\) in flight finish/);
        return { action: "accept", content: { confirm: true } };
      },
    });
    sim.clearRequests();
    const result = await client.call("vm_action", { vmid: 101, action: "start" });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(
      sim
        .requests()
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path} ${r.tokenId}`),
    ).toEqual([`POST /nodes/pve1/qemu/101/status/start ${sim.tokens.admin.id}`]);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const done = auditLines(server.auditLog).findLast((line) => line["tool"] === "vm_action");
    expect(done).toMatchObject({ outcome: "ok", confirmation: "accepted" });
    await client.close();
  });
});
