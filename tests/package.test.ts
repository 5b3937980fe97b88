/**
 * What `npm pack` puts in the tarball (the install route of the README until the package
 * is published), from the dist/ that `npm test` built: the bin and every chunk, the
 * bundled licenses, nothing of the sources, tests or source maps. scripts/install-check.mjs
 * installs and runs the real tarball.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
  scripts: Record<string, string>;
};

// --ignore-scripts: listing must not rebuild dist/ under the other tests' feet.
const [packed] = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" }),
) as [{ files: { path: string }[] }];
const paths = packed.files.map((f) => f.path);

describe("npm pack", () => {
  it("builds before packing, so a tarball always has dist/", () => {
    expect(pkg.scripts.prepack).toMatch(/scripts\/build\.mjs/);
  });

  it("has no runtime dependencies: everything is bundled, so the tarball installs offline", () => {
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it("packs the bin and every chunk of the bundle", () => {
    for (const bin of Object.values(pkg.bin)) expect(paths).toContain(bin);
    const chunks = paths.filter((p) => p.startsWith("dist/chunks/") && p.endsWith(".js"));
    expect(chunks.length).toBeGreaterThan(0);
    for (const file of ["dist/cli.js", ...chunks]) {
      // Static and dynamic imports alike: "./chunks/x-HASH.js" from cli.js, "./x-HASH.js" between chunks.
      const imported = readFileSync(join(ROOT, file), "utf8").matchAll(
        /"\.\/(?:chunks\/)?([\w-]+-[A-Z0-9]{8}\.js)"/g,
      );
      for (const [, name] of imported) expect(paths).toContain(`dist/chunks/${name}`);
    }
  });

  it("packs the recorded opening of every variant (dist/cli.js answers it before loading the rest)", () => {
    for (const variant of ["read-only", "dangerous", "dangerous+ssh"])
      expect(paths).toContain(`dist/opening/${variant}.json`);
  });

  it("packs the license file every bundled chunk points to", () => {
    const pointers = paths
      .filter((p) => p.endsWith(".js"))
      .flatMap((p) =>
        [
          ...readFileSync(join(ROOT, p), "utf8").matchAll(
            /For license information please see (\S+\.LEGAL\.txt)/g,
          ),
        ].map(([, name]) => join(p, "..", name!)),
      );
    expect(pointers.length).toBeGreaterThan(0);
    for (const legal of pointers) expect(paths).toContain(legal);
  });

  it("leaves out sources, tests, source maps and the build stamp", () => {
    expect(paths.filter((p) => /\.map$|\.build-stamp$|^(src|tests|scripts|bench|plugins)\//.test(p))).toEqual(
      [],
    );
    expect(paths).toEqual(expect.arrayContaining(["package.json", "README.md", "SECURITY.md", "LICENSE"]));
  });
});
