/**
 * End-to-end harness: spawns the BUILT server (dist/cli.js) as a child process in a
 * fresh temporary directory (its HOME and cwd, so no real configuration is read) and
 * connects the SDK's Client to it over stdio. The simulator runs in the test process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import {
  type CallToolResult,
  type ElicitRequest,
  type ElicitResult,
  type Tool,
} from "@modelcontextprotocol/client";
import type { Simulator } from "../../src/simulator/index.js";

export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export const DANGEROUS_TOOLS = ["vm_action", "execute_vm_command", "execute_command", "proxmox_api"] as const;

/** Every read tool, in inventory order: what a token that may see everything is offered. */
export const READ_TOOLS = [
  "get_version",
  "get_cluster_status",
  "get_nodes",
  "get_node_status",
  "get_vms",
  "get_vm_status",
  "get_vm_config",
  "get_storage",
  "get_storage_content",
  "get_tasks",
  "get_task_log",
  "get_backup_jobs",
  "get_backup_coverage",
  "get_snapshots",
  "get_users",
  "get_acl",
  "get_permissions",
  "get_firewall",
  "get_certificates",
  "get_updates",
  "security_audit",
  "get_ha_status",
  "get_replication",
  "get_disks",
  "get_network",
  "proxmox_api_get",
] as const;

/** The pbs tools, offered only where PBS is configured (PBS_HOST; --demo serves one). */
export const PBS_TOOLS = [
  "pbs_datastores",
  "pbs_snapshots",
  "pbs_jobs",
  "pbs_tasks",
  "pbs_task_log",
] as const;

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the e2e tests`);
}

/** A fresh, empty directory: HOME and cwd of one server, and where its audit log goes. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "proxmox-mcp-e2e-"));
}

/** The environment that points a server at `sim` as `token` (default: the auditor), pinned by fingerprint. */
export function simEnv(
  sim: Simulator,
  token: { id: string; secret: string } = sim.tokens.auditor,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    PROXMOX_HOST: "127.0.0.1",
    PROXMOX_PORT: String(sim.port),
    PROXMOX_TOKEN_ID: token.id,
    PROXMOX_TOKEN_SECRET: token.secret,
    PROXMOX_TLS_FINGERPRINT: sim.fingerprint,
    ...overrides,
  };
}

export interface Served {
  client: Client;
  transport: StdioClientTransport;
  dir: string;
  auditLog: string;
  /**
   * The tools as the client listed them right after connecting (listing also arms the
   * client's outputSchema validation): the start-up check of the tokens may still run then.
   */
  tools: Tool[];
  /** The list once the start-up check has passed (a call waits for it: get_version is one). */
  settledTools(): Promise<Tool[]>;
  /** Everything the server wrote on stderr so far. */
  stderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Closes the client, checks that the child has exited, removes the directory. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Extra environment, or a function of the server's fresh directory (to put files there first). */
  env?: Record<string, string> | ((dir: string) => Record<string, string>);
  args?: string[];
  /** Makes the client answer confirmation questions (elicitation); without it the client cannot be asked. */
  onElicit?: (request: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
}

/**
 * Spawns `node dist/cli.js` with only HOME, PROXMOX_AUDIT_LOG (in a fresh temp dir)
 * and `env` (the SDK adds PATH, USER... but nothing else of ours), and connects.
 */
export async function serve({ env = {}, args = [], onElicit }: ServeOptions = {}): Promise<Served> {
  assertBuilt();
  const dir = tempDir();
  const auditLog = join(dir, "audit.jsonl");
  const extra = typeof env === "function" ? env(dir) : env;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: { HOME: dir, PROXMOX_AUDIT_LOG: auditLog, ...extra },
    cwd: dir,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const client = new Client(
    { name: "proxmox-mcp-e2e", version: "0.0.0" },
    onElicit ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  if (onElicit) client.setRequestHandler("elicitation/create", (request) => onElicit(request.params));
  try {
    await client.connect(transport);
  } catch (err) {
    await transport.close();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the server did not start: ${(err as Error).message}\nstderr: ${stderr}`);
  }
  const { tools } = await client.listTools();
  // The start-up check runs once the first list is answered: its requests and stderr lines
  // must not leak into what a test counts next.
  await startUpChecked(transport, () => stderr);
  return {
    client,
    transport,
    dir,
    auditLog,
    tools,
    stderr: () => stderr,
    async settledTools() {
      await client.callTool({ name: "get_version", arguments: {} });
      return (await client.listTools()).tools;
    },
    call: async (name, a = {}) => (await client.callTool({ name, arguments: a })) as CallToolResult,
    async close() {
      const pid = transport.pid;
      await client.close();
      // The early opening (transports/stdio-opening.ts) stops a server whose own answer differs.
      if (/the early answer to/.test(stderr)) throw new Error(`the early opening differed: ${stderr}`);
      if (pid !== null && isAlive(pid)) throw new Error(`server process ${pid} still runs after close`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when the server's stderr says how its start-up check of the tokens ended. */
function startUpChecked(transport: StdioClientTransport, stderr: () => string): Promise<void> {
  const settled = /proxmox-mcp: (ready: |warning: cannot check the tokens at start)/;
  return new Promise((resolve) => {
    const look = () => {
      if (!settled.test(stderr())) return false;
      transport.stderr?.off("data", look);
      resolve();
      return true;
    };
    if (!look()) transport.stderr?.on("data", look);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The text of a tool result (all text blocks, joined). */
export function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

/** Reads the audit log as parsed lines. */
export function auditLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/cli.js ...args` to completion (for --help, --version, bad configuration).
 * stdin stays open: a command that started serving instead of exiting would never end
 * (and the test would fail on its timeout).
 */
const running = new Set<ChildProcess>();

export function runCli(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  assertBuilt();
  const dir = tempDir();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

export interface HttpChild {
  url: string;
  child: ChildProcess;
  dir: string;
  auditLog: string;
  stderr(): string;
  /** Resolves with the first match of `pattern` on stderr (now or later); rejects if the server exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const httpChildren: HttpChild[] = [];

/**
 * Spawns `node dist/cli.js serve --http ...args` in a fresh directory (its HOME, cwd and
 * audit log) on a free port, with only PATH and `env` (MCP_HTTP_TOKEN included), and
 * resolves once it prints its listening line. stopHttpServers() ends them all.
 */
export async function serveHttp(env: Record<string, string>, args: string[] = []): Promise<HttpChild> {
  assertBuilt();
  const dir = tempDir();
  const auditLog = join(dir, "audit.jsonl");
  const child = spawn(process.execPath, [CLI, "serve", "--http", ...args], {
    cwd: dir,
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: dir,
      PROXMOX_AUDIT_LOG: auditLog,
      MCP_HTTP_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
      for (const waiter of waiters) waiter();
    }),
  );
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr);
        if (match) {
          waiters.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          reject(new Error(`the server exited before printing ${pattern}; stderr: ${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });
  const server: HttpChild = { url: "", child, dir, auditLog, stderr: () => stderr, waitFor, exited };
  httpChildren.push(server);
  const [, url] = await waitFor(/^proxmox-mcp: listening on (\S+)$/m);
  server.url = url!;
  return server;
}

/** Kills every server serveHttp started that still runs, and removes their directories. */
export function stopHttpServers(): void {
  for (const { child, dir } of httpChildren.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Kills what runCli started and has not ended (only after a failed test: normally nothing). */
export function killLeftovers(): void {
  for (const child of running) child.kill("SIGKILL");
}
