// Bundles the CLI into one file (dist/cli.js): loading the MCP SDK, zod and undici
// as hundreds of modules costs most of the start-up time; one file halves it.
// tsc still type-checks and emits dist/** (tests and benches import those modules).
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  legalComments: "linked",
  // CommonJS dependencies (undici) call require(); give the ES module one.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  logLevel: "warning",
});
