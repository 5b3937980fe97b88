#!/usr/bin/env node
/**
 * proxmox-mcp command line. stdout is reserved for protocol/data output;
 * diagnostics go to stderr.
 */
import { readFileSync } from "node:fs";
import { runSimulatorCommand, SIMULATOR_USAGE } from "./simulator/command.js";

const USAGE = `Usage: proxmox-mcp <command> [options]

Commands:
  simulator   serve a simulated Proxmox VE API (demo cluster or a scenario file)

Run "proxmox-mcp <command> --help" for the options of a command.

${SIMULATOR_USAGE}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "simulator":
      return runSimulatorCommand(rest);
    case "--version":
    case "-v": {
      const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
        version: string;
      };
      process.stdout.write(`${pkg.version}\n`);
      return;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}; run "proxmox-mcp --help" for the list`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`proxmox-mcp: ${(err as Error).message}\n`);
  process.exit(2);
});
