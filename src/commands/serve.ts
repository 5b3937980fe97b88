/**
 * `proxmox-mcp serve`: the MCP server over stdio or HTTP, on a configured cluster or the
 * built-in demo. Loaded by cli.ts once the command is known; over stdio, once the opening
 * has been answered (transports/stdio-opening.ts).
 */
import { AuditLog } from "../auditlog.js";
import { configuredSecrets, describeConfig, describeHttpConfig } from "../config/redact.js";
import type { Config, HttpConfig } from "../config/types.js";
import { adminClientOf } from "../pve/admin.js";
import { PbsReader } from "../pbs/client.js";
import { PveReader, type PveRequestRecord } from "../pve/client.js";
import { Confirmer, UsedStatesInDirectory } from "../confirm.js";
import { DOCTOR_HINT, explainError } from "../explain-error.js";
import { recordPveRequest, serverFactory, type ServerDeps } from "../server.js";
import { PrivilegedTokenError, TokenCheck } from "../token-check.js";
import type { Simulator } from "../simulator/index.js";
import type { PbsSimulator } from "../simulator/pbs/index.js";
import { ALL_TOOLS, buildInventory } from "../tools/inventory.js";
import { serveStdio, type StdioStreams } from "../transports/stdio.js";
import { demoConfig, startDemo } from "./setup.js";

/** Over stdio, how long the start-up check waits for a client's first tools/list before it runs anyway. */
const FIRST_LIST_WAIT_MS = 1000;

export interface ServeOptions {
  demo: boolean;
  /** Serve over HTTP (its configuration loaded here); otherwise over stdio. */
  overHttp: boolean;
  version: string;
  /** The configuration cli.ts already loaded (not in demo mode), and its warnings. */
  loaded?: { config: Config; warnings: string[] };
  /** Over stdio: the streams the opening was answered on (stdin and stdout otherwise). */
  stdio?: StdioStreams;
}

/** Serves until the client leaves (stdio) or a signal stops it (HTTP), then exits 0. */
export async function serve({ demo, overHttp, version, loaded, stdio }: ServeOptions): Promise<void> {
  let simulator: Simulator | undefined;
  let pbsSimulator: PbsSimulator | undefined;
  let config: Config;
  // Printed once each: both loaders read the same files.
  const warnings = new Set<string>();
  let http: HttpConfig | undefined;
  if (overHttp) {
    // Checked first: a bad HTTP setting stops the server before anything starts.
    const fromEnv = (await import("../config/http.js")).loadHttpConfig({
      env: process.env,
      cwd: process.cwd(),
    });
    http = fromEnv.http;
    for (const warning of fromEnv.warnings) warnings.add(warning);
  }
  if (demo) {
    const started = await startDemo();
    simulator = started.simulator;
    pbsSimulator = started.pbsSimulator;
    config = demoConfig(simulator, process.env, process.cwd(), pbsSimulator);
    process.stderr.write(
      `proxmox-mcp: demo mode, simulated cluster at ${simulator.url} and Proxmox Backup Server at ${pbsSimulator.url} (fingerprints pinned)\n`,
    );
  } else {
    const { config: configured, warnings: configWarnings } =
      loaded ?? (await import("../config/load.js")).loadConfig({ env: process.env, cwd: process.cwd() });
    config = configured;
    for (const warning of configWarnings) warnings.add(warning);
  }
  for (const warning of warnings) process.stderr.write(`proxmox-mcp: warning: ${warning}\n`);
  const debug = config.logLevel === "debug";
  if (debug) process.stderr.write(`proxmox-mcp: configuration ${JSON.stringify(describeConfig(config))}\n`);
  if (debug && http) {
    process.stderr.write(`proxmox-mcp: http configuration ${JSON.stringify(describeHttpConfig(http))}\n`);
  }
  const tools = buildInventory(ALL_TOOLS, {
    dangerousEnabled: config.dangerous !== undefined,
    toolsets: config.toolsets,
    pbsConfigured: config.pbs !== undefined,
  });
  const onRequest = (request: PveRequestRecord) => {
    recordPveRequest(request);
    if (debug) {
      const outcome = request.status ?? "no answer";
      process.stderr.write(
        `proxmox-mcp: ${request.method} ${request.path} -> ${outcome} in ${Math.round(request.durationMs)} ms\n`,
      );
    }
  };
  const pve = new PveReader({ ...config, onRequest });
  const pbs = config.pbs ? new PbsReader({ ...config.pbs, onRequest }) : undefined;
  const admin = adminClientOf(config, onRequest);
  // Opening the audit log fails loudly: no server runs without one, least of all a dangerous one.
  // A model can pass a secret as an argument: the log masks the configured ones wherever they appear.
  const secrets = configuredSecrets(config, http);
  const audit = new AuditLog(config.auditLogPath, secrets);
  const tokenCheck = new TokenCheck({ pve, ...(pbs ? { pbs } : {}), admin, config, tools });
  if (config.dangerous) {
    const names = tools.filter((t) => t.tier === "dangerous").map((t) => t.name);
    process.stderr.write(
      `proxmox-mcp: DANGEROUS MODE: ${names.join(", ")} act with the admin token ${config.dangerous.adminTokenId}; ` +
        `every call ${config.dangerous.confirm === "required" ? "must be confirmed by you" : "is confirmed where the client can ask"} and is logged to ${audit.path}\n`,
    );
  }
  // The check runs beside serving and, over stdio, once the first tools/list is answered
  // (or after FIRST_LIST_WAIT_MS): loading the HTTP client and the TLS handshake never
  // delay the list a client waits for at start. No tool runs before it passed (every call
  // awaits it, and retries it while Proxmox cannot be reached), and a token that can write
  // stops the server as soon as it is seen.
  let checking = false;
  const startCheck = () => {
    if (checking) return;
    checking = true;
    checkTokensAtStart(config, tokenCheck);
  };
  const deps: ServerDeps = {
    config,
    pve,
    admin,
    tokenCheck,
    tools,
    audit,
    version,
    secrets,
  };
  if (http) startCheck();
  else {
    deps.afterFirstList = startCheck;
    setTimeout(startCheck, FIRST_LIST_WAIT_MS).unref();
  }
  try {
    if (http) await serveHttp(http, deps, debug);
    else await serveStdio(serverFactory(deps), stdio);
  } finally {
    await pve.close();
    await pbs?.close();
    await admin?.close();
    audit.close();
    await simulator?.close();
    await pbsSimulator?.close();
  }
  process.exit(0);
}

/** The start-up check's outcome on stderr; a token that can write ends the process (exit 2). */
function checkTokensAtStart(config: Config, tokenCheck: TokenCheck): void {
  checkPveTokensAtStart(config, tokenCheck);
  if (config.pbs) checkPbsTokenAtStart(config.pbs.tokenId, config, tokenCheck);
}

/** PVE's tools do not wait for PBS: a PBS that cannot be reached only delays the pbs tools. */
function checkPbsTokenAtStart(tokenId: string, config: Config, tokenCheck: TokenCheck): void {
  void tokenCheck.ensurePbs().then(
    () => process.stderr.write(`proxmox-mcp: ready: the PBS token ${tokenId} passed the start-up check\n`),
    (err: unknown) => {
      if (err instanceof PrivilegedTokenError) {
        process.stderr.write(`proxmox-mcp: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(
        `proxmox-mcp: warning: ${explainError(err, config)}; every pbs tool call retries the check. ${DOCTOR_HINT}\n`,
      );
    },
  );
}

function checkPveTokensAtStart(config: Config, tokenCheck: TokenCheck): void {
  void tokenCheck.ensureAll().then(
    () => {
      const { readExtraPrivileges, adminWarnings, hiddenTools } = tokenCheck.report;
      const admin = config.dangerous ? ` and the admin token ${config.dangerous.adminTokenId}` : "";
      process.stderr.write(
        `proxmox-mcp: ready: the read token ${config.tokenId}${admin} passed the start-up check\n`,
      );
      if (readExtraPrivileges.length > 0) {
        process.stderr.write(
          `proxmox-mcp: warning: the read token can change things (PROXMOX_ALLOW_PRIVILEGED_TOKEN=true): ${readExtraPrivileges.join("; ")}\n`,
        );
      }
      for (const warning of adminWarnings) process.stderr.write(`proxmox-mcp: warning: ${warning}\n`);
      for (const { name, reason } of hiddenTools) {
        process.stderr.write(`proxmox-mcp: ${name} is not offered: ${reason}\n`);
      }
    },
    (err: unknown) => {
      if (err instanceof PrivilegedTokenError) {
        process.stderr.write(`proxmox-mcp: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(
        `proxmox-mcp: warning: cannot check the tokens at start (${explainError(err, config)}); every tool call retries the check. ${DOCTOR_HINT}\n`,
      );
    },
  );
}

/** Serves until SIGTERM or SIGINT, then stops gracefully (calls in flight finish first, bounded). */
async function serveHttp(http: HttpConfig, deps: ServerDeps, debug: boolean): Promise<void> {
  const { startHttpServer, SHUTDOWN_GRACE_MS } = await import("../transports/http.js");
  const line = (text: string) => void process.stderr.write(`${text}\n`);
  const confirmer = new Confirmer({
    ...(http.confirmKey ? { key: Buffer.from(http.confirmKey.reveal(), "utf8") } : {}),
    ...(http.confirmStateDir ? { used: new UsedStatesInDirectory(http.confirmStateDir) } : {}),
  });
  const server = await startHttpServer({
    http,
    deps: { ...deps, confirmer },
    warn: line,
    ...(debug ? { log: line } : {}),
  });
  // Scripts wait for this line to learn the port (MCP_HTTP_PORT=0): keep its shape.
  line(`proxmox-mcp: listening on ${server.url}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const busy = server.inFlight();
  line(
    `proxmox-mcp: ${signal}: stopping` +
      (busy > 0 ? `; letting ${busy} call(s) in flight finish (at most ${SHUTDOWN_GRACE_MS / 1000} s)` : "") +
      "; send it again to stop at once",
  );
  await server.close();
}
