#!/usr/bin/env node
// `npm run demo`: the security audit of the built-in simulated cluster. The audit exits 1
// when it finds problems of high severity, which the demo cluster has by design; the demo
// itself succeeded then, so it says so and exits 0 (2, "could not run", stays a failure).
import { spawnSync } from "node:child_process";

const cli = new URL("../dist/cli.js", import.meta.url).pathname;
const { status, error } = spawnSync(process.execPath, [cli, "audit", "--demo"], { stdio: "inherit" });
if (error) throw error;
if (status === 1) {
  process.stderr.write(
    "\n(proxmox-mcp audit exited 1: findings at or above high, planted in the demo cluster on purpose)\n",
  );
  process.exit(0);
}
process.exit(status ?? 2);
