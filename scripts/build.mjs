// `npm run build`: tsc (type-checks and emits dist/**, which tests and benches import),
// then the esbuild bundle (dist/cli.js + dist/chunks/), then the recorded opening
// (dist/opening/: the server's own answers to initialize, server/discover and tools/list,
// scripts/record-opening.mjs). After a successful build it writes dist/.build-stamp: a
// hash of everything the build reads, taken BEFORE the build (a file edited while it ran
// makes the stamp stale, never wrongly fresh), and the list of bundle files it made.
//
// With --if-changed (npm run demo, demo:tour, npm pack) the build is skipped when that
// hash is unchanged and every bundle file is still there. Content, not mtimes: a git
// checkout or a fresh clone sets mtimes to "now" whatever changed.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STAMP = join(ROOT, "dist", ".build-stamp");

/** What the build reads. node_modules/.package-lock.json is what npm actually installed. */
const INPUT_DIRS = ["src"];
const INPUT_FILES = [
  "scripts/build.mjs",
  "scripts/bundle.mjs",
  "scripts/record-opening.mjs",
  "package-lock.json",
  "node_modules/.package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
];

function filesUnder(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** sha256 over the inputs' paths and contents, in a fixed order (a renamed or deleted file changes it too). */
function sourceHash() {
  const hash = createHash("sha256");
  const files = [...INPUT_DIRS.flatMap(filesUnder), ...INPUT_FILES.filter((f) => existsSync(join(ROOT, f)))];
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(ROOT, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function bundleFiles() {
  const chunks = join(ROOT, "dist", "chunks");
  const opening = join(ROOT, "dist", "opening");
  const inChunks = existsSync(chunks) ? readdirSync(chunks).map((name) => `dist/chunks/${name}`) : [];
  const recorded = existsSync(opening) ? readdirSync(opening).map((name) => `dist/opening/${name}`) : [];
  return ["dist/cli.js", ...inChunks.filter((f) => f.endsWith(".js")), ...recorded].sort();
}

/** Why dist/ must be rebuilt for sources of this hash, or undefined when it is current. */
function staleReason(hash) {
  if (!existsSync(STAMP)) return "no build stamp in dist/";
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, "utf8"));
  } catch {
    return "unreadable build stamp";
  }
  if (stamp.sources !== hash) return "sources changed since the last build";
  const missing = stamp.bundle?.find((file) => !existsSync(join(ROOT, file)));
  if (!Array.isArray(stamp.bundle) || missing) return `${missing ?? "bundle list"} missing`;
  return undefined;
}

function step(what, args) {
  const { status, signal, error } = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (error) throw error;
  if (status !== 0) {
    console.error(`build: ${what} failed (${signal ?? `exit ${status}`})`);
    process.exit(status || 1);
  }
}

const hash = sourceHash();
if (process.argv.includes("--if-changed")) {
  const reason = staleReason(hash);
  if (reason === undefined) {
    console.error("build: dist/ is up to date (sources unchanged since its build)");
    process.exit(0);
  }
  console.error(`build: rebuilding dist/ (${reason})`);
}
// A build that fails half-way must not leave the previous stamp vouching for dist/.
rmSync(STAMP, { force: true });
step("tsc", [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"]);
step("bundle", ["scripts/bundle.mjs"]);
step("opening", ["scripts/record-opening.mjs"]);
writeFileSync(`${STAMP}.tmp`, `${JSON.stringify({ sources: hash, bundle: bundleFiles() }, null, 2)}\n`);
renameSync(`${STAMP}.tmp`, STAMP);
