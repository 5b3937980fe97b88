#!/usr/bin/env node
/**
 * proxmox-mcp command line. stdout belongs to the MCP protocol in `serve`;
 * diagnostics go to stderr.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { demoDangerous } from "./commands/setup.js";
import { ConfigError, loadConfig } from "./config/load.js";
import type { StdioStreams } from "./transports/stdio.js";
import { answerOpeningEarly, openingVariantKey, readRecordedOpening } from "./transports/stdio-opening.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Over stdio, how long the server waits for a client to finish its opening before it loads anyway. */
const OPENING_WAIT_MS = 1000;

const USAGE = `Usage: proxmox-mcp [serve] [--demo]     MCP server over stdio (the default command)
       proxmox-mcp serve --http [--demo]
                                        MCP server over Streamable HTTP on MCP_HTTP_HOST:MCP_HTTP_PORT
                                        (default 127.0.0.1:8080); needs MCP_HTTP_TOKEN (openssl rand -hex 32)
       proxmox-mcp audit [--json] [--min-severity S] [--demo]
                                        print the security audit; exit 1 on findings at or above high
       proxmox-mcp doctor [--demo]      check configuration, network, TLS, token and privileges
       proxmox-mcp simulator [options]  serve a simulated Proxmox VE API
       proxmox-mcp --help | --version

serve, audit and doctor read the configuration from the environment, a .env file, or the
JSON file named by PROXMOX_MCP_CONFIG (default proxmox-config/config.json); see README.md.
  --demo   use a built-in simulated cluster instead (no Proxmox needed), e.g.
           npx -y proxmox-mcp-hardened audit --demo
           claude mcp add demo -- npx -y proxmox-mcp-hardened --demo`;

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  // The simulator is loaded only when used: serving a real cluster never pays for it.
  if (first === "simulator") return (await import("./simulator/command.js")).runSimulatorCommand(rest);
  // So are the audit engine and the doctor: each command loads what it uses.
  if (first === "audit")
    return process.exit(await (await import("./commands/audit.js")).runAuditCommand(rest));
  if (first === "doctor")
    return process.exit(await (await import("./commands/doctor.js")).runDoctorCommand(rest));
  const args = first === "serve" ? rest : argv;
  const { values } = parseArgs({
    args,
    options: {
      demo: { type: "boolean" },
      http: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
    strict: true,
  });
  if (values.help) {
    const { SIMULATOR_USAGE } = await import("./simulator/command.js");
    return void process.stdout.write(`${USAGE}\n\n${SIMULATOR_USAGE}\n`);
  }
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (values.http === true)
    return (await import("./commands/serve.js")).serve({
      demo: values.demo === true,
      overHttp: true,
      version: VERSION,
    });
  return serveOverStdio(values.demo === true);
}

/**
 * Over stdio the opening (initialize or server/discover, then tools/list) is answered from
 * the answers this build recorded, before the server and its libraries are loaded: a
 * client waits for those two at start. Everything after is the server's.
 */
async function serveOverStdio(demo: boolean): Promise<void> {
  const loaded = demo ? undefined : loadConfig({ env: process.env, cwd: process.cwd() });
  const settings = loaded
    ? {
        toolsets: loaded.config.toolsets,
        dangerous: loaded.config.dangerous !== undefined,
        ssh: loaded.config.dangerous?.ssh !== undefined,
        pbs: loaded.config.pbs !== undefined,
      }
    : // The demo serves a simulated PBS beside the cluster.
      { toolsets: undefined, dangerous: demoDangerous(process.env), ssh: false, pbs: true };
  const key = openingVariantKey(settings);
  const variant = key && readRecordedOpening(new URL("./opening/", import.meta.url), key, VERSION);
  let stdio: StdioStreams | undefined;
  if (variant) {
    const early = answerOpeningEarly({
      variant,
      stdin: process.stdin,
      stdout: process.stdout,
      waitMs: OPENING_WAIT_MS,
      onMismatch: (method, detail) => {
        process.stderr.write(
          `proxmox-mcp: the early answer to ${method} differs from the server's own (${detail}); stopping, as the client was told something else. This is a bug: please report it.\n`,
        );
        process.exit(1);
      },
    });
    await early.loadNeeded;
    stdio = { input: early.input, output: early.output };
  }
  const { serve } = await import("./commands/serve.js");
  return serve({
    demo,
    overHttp: false,
    version: VERSION,
    ...(loaded ? { loaded } : {}),
    ...(stdio ? { stdio } : {}),
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Config errors are one line by construction; anything else is summarised the same way.
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`proxmox-mcp: ${message}\n`);
  process.exit(2);
});
