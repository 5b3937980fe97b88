/**
 * The layers of src/, checked on the import graph itself so that they hold even if the
 * lint rule (eslint.config.js, no-restricted-imports) is switched off or worked around.
 *
 * Cycles count every static import and re-export, `import type` included: a type-only
 * cycle costs nothing at run time, but it still ties two modules together so that
 * neither can be read, tested or moved without the other (pve/api-path.ts and
 * pve/client.ts were such a pair). Dynamic import() is left out of the cycle search:
 * it runs after both modules have loaded, which is how the CLI loads a command on
 * demand. The layer rules count every kind of import, dynamic ones too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../src");

interface Edge {
  /** Path below src/, e.g. "pve/client.ts". */
  to: string;
  dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The module a relative specifier names ("./client.js" -> "pve/client.ts"); undefined for packages. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = resolve(dirname(join(SRC, from)), specifier).replace(/\.js$/, ".ts");
  return relative(SRC, target).split("\\").join("/");
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (specifier: ts.Expression | undefined, dynamic: boolean) => {
    if (!specifier || !ts.isStringLiteral(specifier)) return;
    const to = resolveSpecifier(file, specifier.text);
    if (to) edges.push({ to, dynamic });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const graph = new Map(
  sourceFiles(SRC)
    .map((path) => relative(SRC, path).split("\\").join("/"))
    .sort()
    .map((file) => [file, importsOf(file)] as const),
);

/** Every strongly connected group of modules, each as one cycle through it ("a.ts -> b.ts -> a.ts"). */
function cycles(): string[] {
  const next = (file: string) =>
    (graph.get(file) ?? []).filter((e) => !e.dynamic && graph.has(e.to)).map((e) => e.to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (file: string) => {
    index.set(file, counter);
    low.set(file, counter);
    counter++;
    stack.push(file);
    onStack.add(file);
    for (const to of next(file)) {
      if (!index.has(to)) {
        connect(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || next(file).includes(file)) groups.push(group.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) connect(file);
  return groups.map((group) => {
    const members = new Set(group);
    const start = group[0]!;
    // Breadth-first from the group's first module back to itself: the shortest cycle through it.
    const cameFrom = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const file = queue.shift()!;
      for (const to of next(file).filter((t) => members.has(t))) {
        if (to === start) {
          const path = [start];
          for (let at: string | undefined = file; at !== start && at; at = cameFrom.get(at)) path.push(at);
          return [...path, start].reverse().join(" -> ");
        }
        if (!cameFrom.has(to)) {
          cameFrom.set(to, file);
          queue.push(to);
        }
      }
    }
    return group.join(", ");
  });
}

/** A layer that may not import another; `except` lists the imports allowed anyway, and why. */
interface LayerRule {
  name: string;
  from: (file: string) => boolean;
  to: (file: string) => boolean;
  except?: { from: string; to: readonly string[] };
}

const under = (dir: string) => (file: string) => file.startsWith(`${dir}/`);
const either =
  (...tests: ((file: string) => boolean)[]) =>
  (file: string) =>
    tests.some((test) => test(file));
const is = (name: string) => (file: string) => file === name;

/** The same rules as eslint.config.js, with the same single exception. */
const LAYER_RULES: readonly LayerRule[] = [
  {
    name: "the audit does not import the tools",
    from: under("audit"),
    to: under("tools"),
  },
  {
    name: "the tools do not import the audit",
    from: under("tools"),
    to: under("audit"),
    // The security_audit tool runs the audit: it alone may use the audit's entry (index.ts)
    // and the pieces of its report it answers with (cleaning, schema, waivers).
    except: {
      from: "tools/security-audit.ts",
      to: ["audit/index.ts", "audit/format.ts", "audit/report-schema.ts", "audit/waivers.ts"],
    },
  },
  {
    name: "the tools and the audit do not import start-up code",
    from: either(under("tools"), under("audit")),
    to: is("token-check.ts"),
  },
  {
    name: "the tools and the audit read PVE through the run's reader, not the client",
    from: either(under("tools"), under("audit")),
    to: is("pve/client.ts"),
  },
  {
    name: "the configuration does not import the SSH client",
    from: under("config"),
    to: under("ssh"),
  },
  {
    name: "the PVE client and read model import nothing above them",
    from: under("pve"),
    to: either(under("tools"), under("audit"), under("commands"), is("server.ts")),
  },
];

function layerViolations(): string[] {
  const found: string[] = [];
  for (const [file, edges] of graph) {
    for (const rule of LAYER_RULES) {
      if (!rule.from(file)) continue;
      for (const edge of edges) {
        if (!rule.to(edge.to)) continue;
        if (rule.except?.from === file && rule.except.to.includes(edge.to)) continue;
        found.push(`${rule.name}: ${file} imports ${edge.to}`);
      }
    }
  }
  return found;
}

describe("architecture of src/", () => {
  it("reads the import graph (relative imports resolve to files that exist)", () => {
    expect(graph.size).toBeGreaterThan(50);
    const missing = [...graph].flatMap(([file, edges]) =>
      edges.filter((e) => !graph.has(e.to)).map((e) => `${file} imports ${e.to}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles()).toEqual([]);
  });

  it("keeps the layers apart", () => {
    expect(layerViolations()).toEqual([]);
  });

  it("each exception is still used (a stale one would allow more than intended)", () => {
    for (const rule of LAYER_RULES) {
      if (!rule.except) continue;
      const used = (graph.get(rule.except.from) ?? []).map((e) => e.to);
      expect(rule.except.to.filter((to) => !used.includes(to))).toEqual([]);
    }
  });
});
