// The test suite on Node 24 LTS as well (run by .ci/run after `npm test`, which built
// dist/ and ran the same tests on Node 20, the engines minimum): fetches the pinned Node
// 24 (scripts/lib/node-binary.mjs) and runs `vitest run`, the last step of `npm test`,
// under it, with its bin directory first on PATH, so the tests that spawn
// process.execPath, `node` or npm run Node 24 as well. Prints the Node versions the run
// sees before it starts (and fails if one is not the pinned one), a PASS/FAIL line at
// the end, and exits non-zero on any failure.
//
// Usage: node scripts/test-on-node.mjs [vitest run arguments...]   (e.g. a test file)
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assertBuilt } from "./lib/http-server.mjs";
import { envWithNodeFirst, NODE_24, pinnedNode } from "./lib/node-binary.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VITEST = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));

function fail(message) {
  console.log(`FAIL test-on-node: ${message}`);
  process.exit(1);
}

async function main() {
  assertBuilt();
  if (!existsSync(VITEST)) fail(`${VITEST} is missing: run \`npm ci\` first`);

  const started = Date.now();
  const { version, node, binDir, cached } = pinnedNode(NODE_24);
  const want = `v${version}`;
  console.log(`node ${want}: ${node} (${cached ? "cached" : "fetched from npm, integrity checked"})`);
  const env = envWithNodeFirst(binDir);

  // What a test that runs `node` gets from PATH, and the Node vitest itself reports.
  const onPath = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout?.trim();
  const vitestVersion = spawnSync(node, [VITEST, "--version"], { cwd: ROOT, env, encoding: "utf8" });
  const vitestLine = vitestVersion.stdout?.trim() ?? "";
  console.log(`node --version on the tests' PATH: ${onPath}; vitest --version: ${vitestLine}`);
  if (onPath !== want) fail(`\`node\` on PATH is ${onPath}, want ${want}`);
  if (!vitestLine.includes(`node-${want}`)) fail(`vitest does not run on ${want}: ${vitestLine}`);

  const args = process.argv.slice(2);
  const vitest = spawn(node, [VITEST, "run", ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const { code, signal } = await new Promise((resolve) =>
    vitest.once("exit", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal })),
  );
  const took = `${Math.round((Date.now() - started) / 1000)} s`;
  if (code === 0) {
    console.log(`PASS vitest run on node ${want} (${took})`);
  } else {
    console.log(`FAIL vitest run on node ${want}: exit ${signal ?? code} (${took})`);
    process.exitCode = 1;
  }
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
