/**
 * What every command that talks to Proxmox shares: the configuration as `serve` loads
 * it (environment, .env, JSON file), or, with --demo, the built-in simulated cluster
 * (loaded only then) with its certificate pinned.
 */
import { resolve } from "node:path";
import { auditLogPath, loadConfig } from "../config/load.js";
import { Secret } from "../config/secret.js";
import type { Config } from "../config/types.js";
import type { Simulator } from "../simulator/index.js";
import type { PbsSimulator } from "../simulator/pbs/index.js";

/** Where a command reads its settings and writes its output (process.* in the CLI, fakes in tests). */
export interface CommandIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
}

export function processIo(): CommandIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
}

export interface CommandSetup {
  config: Config;
  /** Configuration warnings, for the caller to show. */
  warnings: string[];
  /** The demo's simulated cluster (--demo only). */
  simulator?: Simulator;
  close(): Promise<void>;
}

/** Loads the configuration (throws ConfigError), or starts the demo cluster. */
export async function setUp(demo: boolean, io: Pick<CommandIo, "env" | "cwd">): Promise<CommandSetup> {
  if (!demo) {
    const { config, warnings } = loadConfig({ env: io.env, cwd: io.cwd });
    return { config, warnings, close: async () => {} };
  }
  const { simulator, pbsSimulator } = await startDemo();
  return {
    config: demoConfig(simulator, io.env, io.cwd, pbsSimulator),
    warnings: [],
    simulator,
    close: async () => {
      await Promise.all([simulator.close(), pbsSimulator.close()]);
    },
  };
}

/** The demo: a simulated PVE cluster and the Proxmox Backup Server its PBS storage points at. */
export async function startDemo(): Promise<{ simulator: Simulator; pbsSimulator: PbsSimulator }> {
  const [{ startSimulator }, { startPbsSimulator }] = await Promise.all([
    import("../simulator/index.js"),
    import("../simulator/pbs/index.js"),
  ]);
  const [simulator, pbsSimulator] = await Promise.all([
    startSimulator({ scenario: "demo" }),
    startPbsSimulator({ scenario: "demo" }),
  ]);
  return { simulator, pbsSimulator };
}

/** Colour only for a person at a terminal who did not ask for none (https://no-color.org). */
export function useColor(io: CommandIo): boolean {
  return io.stdout.isTTY === true && !io.env["NO_COLOR"];
}

/** Multi-line client messages as the one line a terminal user reads. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}

/** Whether the demo offers the dangerous tools (ENABLE_DANGEROUS_COMMANDS=true). */
export function demoDangerous(env: NodeJS.ProcessEnv): boolean {
  return /^(true|1|yes)$/i.test(env["ENABLE_DANGEROUS_COMMANDS"]?.trim() ?? "");
}

/**
 * The demo talks to the in-process simulator as its auditor token (a privilege-separated
 * PVEAuditor token, the setup the README recommends), with its certificate pinned;
 * ENABLE_DANGEROUS_COMMANDS=true adds the simulator's admin token (no SSH).
 */
export function demoConfig(
  sim: Simulator,
  env: NodeJS.ProcessEnv,
  cwd: string,
  pbsSim?: Pick<PbsSimulator, "host" | "port" | "fingerprint" | "tokens">,
): Config {
  const dangerous = demoDangerous(env);
  return {
    host: sim.host,
    port: sim.port,
    tokenId: sim.tokens.auditor.id,
    tokenSecret: new Secret(sim.tokens.auditor.secret),
    tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
    timeoutMs: 15_000,
    service: "PVE",
    logLevel: "info",
    toolsets: undefined,
    allowPrivilegedToken: false,
    // The demo ignores the cluster settings, but the audit log goes where the person asked.
    auditLogPath: auditLogPath(env["PROXMOX_AUDIT_LOG"], env, cwd),
    ...(env["PROXMOX_AUDIT_WAIVERS"]?.trim()
      ? { auditWaiversPath: resolve(cwd, env["PROXMOX_AUDIT_WAIVERS"].trim()) }
      : {}),
    ...(dangerous
      ? {
          dangerous: {
            adminTokenId: sim.tokens.admin.id,
            adminTokenSecret: new Secret(sim.tokens.admin.secret),
            confirm: "required" as const,
          },
        }
      : {}),
    ...(pbsSim
      ? {
          pbs: {
            host: pbsSim.host,
            port: pbsSim.port,
            tokenId: pbsSim.tokens.auditor.id,
            tokenSecret: new Secret(pbsSim.tokens.auditor.secret),
            tls: { mode: "fingerprint" as const, fingerprint: pbsSim.fingerprint },
            timeoutMs: 15_000,
          },
        }
      : {}),
    sources: {},
  };
}
