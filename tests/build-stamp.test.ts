/**
 * `npm run demo` and `npm pack` build dist/ only when what the build reads changed
 * (scripts/build.mjs --if-changed). Run in a copy of the build's inputs, with this
 * checkout's node_modules linked in, so the real dist/ that other tests import is never
 * rebuilt under their feet.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const INPUTS = [
  "src",
  "scripts/build.mjs",
  "scripts/bundle.mjs",
  "scripts/record-opening.mjs",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
];

let copy: string;

async function build(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, ["scripts/build.mjs", ...args], {
      cwd: copy,
    });
    return { code: 0, stderr };
  } catch (err) {
    const failed = err as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

const stamp = () => readFileSync(join(copy, "dist/.build-stamp"), "utf8");
const builtAt = () => statSync(join(copy, "dist/cli.js")).mtimeMs;

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), "proxmox-mcp-build-"));
  for (const input of INPUTS) cpSync(join(ROOT, input), join(copy, input), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  const first = await build("--if-changed");
  expect(first, first.stderr).toMatchObject({ code: 0 });
  expect(first.stderr).toContain("build: rebuilding dist/ (no build stamp in dist/)");
}, 180_000);

afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe("build --if-changed", () => {
  it("skips the build when nothing it reads changed, leaving dist/ as it was", async () => {
    const before = { stamp: stamp(), builtAt: builtAt() };
    const again = await build("--if-changed");
    expect(again).toEqual({
      code: 0,
      stderr: "build: dist/ is up to date (sources unchanged since its build)\n",
    });
    expect({ stamp: stamp(), builtAt: builtAt() }).toEqual(before);
  });

  it("rebuilds when a bundle file is missing", async () => {
    rmSync(join(copy, "dist/cli.js"));
    const again = await build("--if-changed");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("build: rebuilding dist/ (dist/cli.js missing)");
    expect(statSync(join(copy, "dist/cli.js")).isFile()).toBe(true);
  }, 180_000);

  it("rebuilds when a source changed, and the new stamp vouches for the new sources", async () => {
    const before = stamp();
    const file = join(copy, "src/pve/model/duration.ts");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n// edited\n`);
    const again = await build("--if-changed");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("build: rebuilding dist/ (sources changed since the last build)");
    expect(stamp()).not.toBe(before);
    expect((await build("--if-changed")).stderr).toContain("up to date");
  }, 180_000);

  it("a failed build leaves no stamp, so the next run builds again", async () => {
    const file = join(copy, "src/pve/model/duration.ts");
    writeFileSync(file, `${readFileSync(file, "utf8")}\nconst broken: number = "text";\n`);
    const failed = await build("--if-changed");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("build: tsc failed");
    expect((await build("--if-changed")).stderr).toContain("rebuilding dist/ (no build stamp in dist/)");
  }, 180_000);
});
