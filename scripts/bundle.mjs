// Bundles the CLI into dist/cli.js plus lazily loaded chunks (dist/chunks/): loading the
// MCP SDK, zod and undici as hundreds of modules costs most of the start-up time.
// tsc still type-checks and emits dist/** (tests and benches import those modules).
import { rmSync } from "node:fs";
import { build } from "esbuild";
import { pathToFileURL } from "node:url";

/**
 * ssh2 tries two optional native addons, each inside try/catch: `cpu-features` (only to
 * order its cipher list) and its own `crypto/build/Release/sshcrypto.node` (faster
 * ChaCha20/AES-GCM). Neither can be inlined in a JavaScript bundle, and leaving them as
 * runtime require()s would load whatever copy sits in a node_modules near dist/cli.js.
 * Each is replaced by a module that throws, so ssh2 always takes its pure-JS paths in
 * the bundle (node:crypto for ed25519, curve25519, AES-GCM/CTR; its WASM Poly1305).
 */
export const noNativeAddons = {
  name: "no-native-addons",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^cpu-features$|\.node$/ }, (args) => ({
      path: args.path,
      namespace: "no-native-addon",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "no-native-addon" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`native addon ${args.path} is not bundled`)});`,
      loader: "js",
    }));
  },
};

/**
 * The SDK checks the answers to its elicitation questions with a JSON Schema validator,
 * Ajv by default on Node (290 kB, parsed and compiled at every start). Our only question
 * is a yes/no form, which the confirmation code checks itself as well: the SDK's own
 * @cfworker/json-schema validator (42 kB, a public export of the package) does that job.
 */
export const lightSchemaValidator = {
  name: "light-schema-validator",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^@modelcontextprotocol\/server\/_shims$/ }, () => ({
      path: "server-shims",
      namespace: "light-schema-validator",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "light-schema-validator" }, () => ({
      contents: [
        'export { CfWorkerJsonSchemaValidator as DefaultJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";',
        'export { default as process } from "node:process";',
      ].join("\n"),
      resolveDir: process.cwd(),
      loader: "js",
    }));
  },
};

/** The bundle's options (tests/ssh bundles src/ssh/exec.ts with them to check the pure-JS path). */
export const buildOptions = {
  entryPoints: ["src/cli.ts"],
  outdir: "dist",
  // What only some runs need (the simulator, ssh2) goes into chunks loaded on first use,
  // so serving a real cluster does not parse them at start-up.
  splitting: true,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "linked",
  // CommonJS dependencies (undici, ssh2) call require() and use __dirname (ssh2's agent
  // module, at load time); give the ES module both.
  banner: {
    js: [
      'import { createRequire as __createRequire } from "node:module";',
      'import { fileURLToPath as __fileURLToPath } from "node:url";',
      "const require = __createRequire(import.meta.url);",
      "const __filename = __fileURLToPath(import.meta.url);",
      'const __dirname = __fileURLToPath(new URL(".", import.meta.url));',
    ].join(" "),
  },
  plugins: [noNativeAddons, lightSchemaValidator],
  logLevel: "warning",
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Chunk names carry content hashes: old ones would pile up and be packed.
  rmSync("dist/chunks", { recursive: true, force: true });
  await build(buildOptions);
}
