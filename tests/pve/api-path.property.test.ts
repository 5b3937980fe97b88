/**
 * Properties of the raw API tools' path check (parseApiPath) and of the read allow-list,
 * over generated inputs: real endpoints filled with valid values, the same with hostile
 * values or mutated (dot segments, percent-encodings, unicode look-alikes, control
 * characters, extra slashes), and arbitrary strings. Whatever parseApiPath accepts is a
 * canonical, percent-encoded path that re-parses to itself and is exactly what was asked
 * for; a mutated variable is refused or stays within its template; and whether the raw GET
 * tool may send a path depends only on the template PVE routes it to.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assertCheckedPath,
  parseApiPath,
  type CheckedApiPath,
  type ParsedApiPath,
} from "../../src/pve/api-path.js";
import { API_PATHS } from "../../src/pve/api-paths.js";
import { PveInputError } from "../../src/pve/errors.js";
import { readVerdict } from "../../src/pve/read-allowlist.js";

const RUNS = { numRuns: 2_000 };
const GET_TEMPLATES = API_PATHS.GET;
/** Variables that take the rest of the path in PVE's router (fragmentDelimiter ''). */
const REST_TEMPLATES = new Set([
  "/nodes/{node}/storage/{storage}/content/{volume}",
  "/cluster/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/qemu/{vmid}/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/lxc/{vmid}/firewall/ipset/{name}/{cidr}",
]);

/** parseApiPath's answer, or the PveInputError it threw; anything else fails the test. */
function tryParse(input: string): ParsedApiPath | PveInputError {
  try {
    return parseApiPath("GET", input);
  } catch (err) {
    if (err instanceof PveInputError) return err;
    throw err;
  }
}

const hex = (digits: number) => fc.stringMatching(new RegExp(`^[0-9A-F]{${digits}}$`));
const nodeName = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?$/);
/** Values PVE (and parseApiPath) accept for each kind of variable. */
const VALID: Record<string, fc.Arbitrary<string>> = {
  node: nodeName,
  vmid: fc.integer({ min: 100, max: 999_999_999 }).map(String),
  storage: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_.-]{0,10}[a-zA-Z0-9]$/),
  snapname: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{1,20}$/),
  upid: fc
    .tuple(nodeName, hex(8), hex(8), hex(8), fc.constantFrom("qmstart", "vzdump", "aptupdate"))
    .map(
      ([node, pid, pstart, start, type]) => `UPID:${node}:${pid}:${pstart}:${start}:${type}:100:root@pam:`,
    ),
  userid: fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}@(pam|pve|ldap-1)$/),
  realm: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9._-]{1,20}$/),
  volume: fc.stringMatching(/^[a-z][a-z0-9]{0,8}:(iso|backup|vztmpl)(\/[a-z0-9_-][a-z0-9._-]{0,11}){1,3}$/),
  cidr: fc
    .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 8, max: 32 }))
    .map(([a, b, c, d, len]) => `${a}.${b}.${c}.${d}/${len}`),
};
/** Any other variable: what parseApiPath's SAFE_SEGMENT admits, never a dot segment. */
const otherValue = fc.stringMatching(/^[A-Za-z0-9_@!:=+,~-][A-Za-z0-9._@!:=+,~-]{0,15}$/);
const validValue = (name: string) => VALID[name] ?? otherValue;

/** Fragments a hostile caller would try inside a segment (no '/': they stay in their segment). */
const HOSTILE_IN_SEGMENT = [
  "..",
  ".",
  "%2F",
  "%2f",
  "%2e%2e",
  "%",
  "%00",
  "%ZZ",
  "?",
  "?x=1",
  "#",
  "\\",
  " ",
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u001b[31m",
  "\u007f",
  "\u0085",
  "\u202e",
  "\u200b",
  "\ufeff",
  "\uff0f",
  "\u2215",
  "\uff0e\uff0e",
  "\u0440",
  "é",
  "😀",
  "'",
  '"',
  "$",
  ";",
  "&",
  "|",
  "*",
  "<",
  "{",
  "}",
] as const;
const hostileFragment = fc.oneof(
  fc.constantFrom(...HOSTILE_IN_SEGMENT),
  fc.string({ unit: "binary", minLength: 1, maxLength: 3 }).filter((s) => !s.includes("/")),
);
/** Fragments that change the path's structure. */
const structuralFragment = fc.constantFrom(
  "/..",
  "/../",
  "/.",
  "//",
  "/",
  "/x",
  "/../access/users",
  "/%2e%2e",
);

interface Filled {
  template: string;
  values: string[];
}
/** A GET template with a value for each variable, from `value`. */
const filledTemplate = (value: (name: string) => fc.Arbitrary<string>): fc.Arbitrary<Filled> =>
  fc.constantFrom(...GET_TEMPLATES).chain((template) => {
    const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    return fc.tuple(...names.map(value)).map((values) => ({ template, values }));
  });
const render = ({ template, values }: Filled) => {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => values[i++]!);
};

/** A path written as the caller wrote it: without /api2/json and one trailing '/', as parseApiPath reads it. */
function asWritten(input: string): string {
  let rest = input === "/api2/json" || input.startsWith("/api2/json/") ? input.slice(10) || "/" : input;
  if (rest.length > 1 && rest.endsWith("/") && !rest.endsWith("//")) rest = rest.slice(0, -1);
  return rest;
}

/** Does `template` match these (decoded) segments the way PVE's router reads them? */
function templateMatches(template: string, segments: string[]): boolean {
  const parts = template.slice(1).split("/");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith("{")) {
      if (i >= segments.length) return false;
      if (i === parts.length - 1 && REST_TEMPLATES.has(template)) return true;
      continue;
    }
    if (segments[i] !== part) return false;
  }
  return segments.length === parts.length;
}

/** Of the templates that match, the one PVE's router picks: a literal segment beats a variable. */
function routedTemplate(segments: string[]): string | undefined {
  const matching = GET_TEMPLATES.filter((t) => templateMatches(t, segments));
  const literalFirst = (a: string, b: string) => {
    const pa = a.slice(1).split("/");
    const pb = b.slice(1).split("/");
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const va = pa[i]!.startsWith("{");
      const vb = pb[i]!.startsWith("{");
      if (va !== vb) return va ? 1 : -1;
    }
    return 0;
  };
  return matching.sort(literalFirst)[0];
}

/** Everything an accepted path must be, whatever the input was. */
function expectCanonical(input: string, parsed: ParsedApiPath): void {
  const { path, template } = parsed;
  // Only what encodeURIComponent writes, each '%' starting a valid escape it made itself.
  expect(path).toMatch(/^(\/[A-Za-z0-9\-_.!~*'()%]+)+$/);
  expect(path).not.toMatch(/%(?![0-9A-F]{2})/);
  const segments = path.slice(1).split("/");
  const decoded = segments.map((s) => decodeURIComponent(s));
  segments.forEach((s, i) => expect(encodeURIComponent(decoded[i]!)).toBe(s));
  for (const segment of decoded) {
    expect(segment).not.toMatch(/^\.{1,2}$/);
    expect(segment).toMatch(/^[\x21-\x7e]+$/);
    expect(segment).not.toMatch(/[?#%\\/]/);
  }
  expect(GET_TEMPLATES).toContain(template);
  // Accepted as written: what is sent is what was asked for, nothing normalised away.
  expect(`/${decoded.join("/")}`).toBe(asWritten(input));
  // A fixed point: the decoded path parses to the same answer, and passes the send-time check.
  expect(parseApiPath("GET", `/${decoded.join("/")}`)).toEqual(parsed);
  expect(() => assertCheckedPath("GET", path)).not.toThrow();
  // The template is the one PVE's router would pick for these segments.
  expect(routedTemplate(decoded)).toBe(template);
}

function expectRefusal(result: PveInputError): void {
  expect(result.field).toBe("path");
  expect(result.message).not.toMatch(/[\n\r]/);
}

describe("parseApiPath, over generated paths", () => {
  it("accepts every endpoint filled with valid values, as its own template", () => {
    fc.assert(
      fc.property(filledTemplate(validValue), fc.boolean(), fc.boolean(), (filled, prefix, slash) => {
        const input = `${prefix ? "/api2/json" : ""}${render(filled)}${slash ? "/" : ""}`;
        const parsed = tryParse(input);
        if (parsed instanceof PveInputError) throw parsed;
        expect(parsed.template).toBe(filled.template);
        expectCanonical(input, parsed);
      }),
      RUNS,
    );
  });

  it("whatever it accepts is canonical, encoded, re-parses to itself and is routed as PVE would", () => {
    const anyValue = (name: string) =>
      fc.oneof(validValue(name), hostileFragment, fc.string({ unit: "grapheme-ascii", maxLength: 12 }));
    const inputs = fc.oneof(
      filledTemplate(anyValue).map(render),
      fc.string({ unit: "binary", maxLength: 60 }).map((s) => `/${s}`),
      fc
        .array(
          fc.constantFrom("nodes", "pve1", "qemu", "100", "..", ".", "", "%2F", "status", "config", "report"),
          {
            maxLength: 8,
          },
        )
        .map((segments) => `/${segments.join("/")}`),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        const result = tryParse(input);
        if (result instanceof PveInputError) expectRefusal(result);
        else expectCanonical(input, result);
      }),
      RUNS,
    );
  });

  it("a mutated variable value is refused, or stays within its template", () => {
    const mutated = fc
      .tuple(
        filledTemplate(validValue).filter((f) => f.values.length > 0),
        fc.nat(),
        fc.nat(),
        hostileFragment,
      )
      .map(([filled, which, at, fragment]) => {
        const values = [...filled.values];
        const i = which % values.length;
        const value = values[i]!;
        const pos = at % (value.length + 1);
        values[i] = value.slice(0, pos) + fragment + value.slice(pos);
        return { template: filled.template, values };
      });
    fc.assert(
      fc.property(mutated, (filled) => {
        const input = render(filled);
        const result = tryParse(input);
        if (result instanceof PveInputError) return expectRefusal(result);
        expect(result.template).toBe(filled.template);
        expectCanonical(input, result);
      }),
      RUNS,
    );
  });

  it("structural mutations (dot segments, extra slashes, encoded dots) are refused or accepted as written", () => {
    const mutated = fc
      .tuple(filledTemplate(validValue), fc.nat(), structuralFragment)
      .map(([filled, at, fragment]) => {
        const path = render(filled);
        const pos = at % (path.length + 1);
        return path.slice(0, pos) + fragment + path.slice(pos);
      });
    fc.assert(
      fc.property(mutated, (input) => {
        const result = tryParse(input);
        if (result instanceof PveInputError) expectRefusal(result);
        else expectCanonical(input, result);
      }),
      RUNS,
    );
  });

  it("where it is sent, a path passes only if parseApiPath makes exactly it (forged or edited paths do not)", () => {
    const edited = fc
      .tuple(
        filledTemplate(validValue),
        fc.nat(),
        fc.constantFrom("%2F", "%2f", "%2e", "/..", "%", "%41", "?", " ", "/x", "A"),
      )
      .map(([filled, at, fragment]) => {
        const { path } = parseApiPath("GET", render(filled));
        const pos = at % (path.length + 1);
        return path.slice(0, pos) + fragment + path.slice(pos);
      });
    const madeByParse = (path: string) => {
      try {
        const decoded = path
          .split("/")
          .map((s) => decodeURIComponent(s))
          .join("/");
        return parseApiPath("GET", decoded).path === path;
      } catch {
        return false;
      }
    };
    let refused = 0;
    fc.assert(
      fc.property(edited, (path) => {
        const passes = (() => {
          try {
            assertCheckedPath("GET", path as CheckedApiPath);
            return true;
          } catch (err) {
            expect(err).toBeInstanceOf(PveInputError);
            return false;
          }
        })();
        expect(passes).toBe(madeByParse(path));
        if (!passes) refused++;
      }),
      RUNS,
    );
    // Most edits are refused; the rest happen to spell another endpoint exactly as parseApiPath would.
    expect(refused).toBeGreaterThan(RUNS.numRuns / 2);
  });
});

describe("the read allow-list, over generated paths", () => {
  it("decides by template only: any two fillings of a template get the same verdict", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...GET_TEMPLATES).chain((template) => {
          const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
          const values = fc.tuple(...names.map(validValue));
          return fc.tuple(fc.constant(template), values, values);
        }),
        ([template, a, b]) => {
          const first = parseApiPath("GET", render({ template, values: a }));
          const second = parseApiPath("GET", render({ template, values: b }));
          expect(first.template).toBe(template);
          expect(second.template).toBe(template);
          expect(readVerdict(first.template)).toEqual(readVerdict(second.template));
        },
      ),
      RUNS,
    );
  });

  it("no value smuggles a refused endpoint through an allowed one: the verdict is that of the routed template", () => {
    const refusedInside = (name: string) =>
      fc.oneof(
        validValue(name),
        // Paths of refused endpoints as a value: the rest-of-path variables take them whole.
        fc.constantFrom(
          "report",
          "subscription",
          "scan/cifs",
          "file-restore/download",
          "../report",
          "x/../../report",
        ),
      );
    fc.assert(
      fc.property(filledTemplate(refusedInside), (filled) => {
        const input = render(filled);
        const result = tryParse(input);
        if (result instanceof PveInputError) return expectRefusal(result);
        const decoded = result.path
          .slice(1)
          .split("/")
          .map((s) => decodeURIComponent(s));
        expect(readVerdict(result.template)).toEqual(readVerdict(routedTemplate(decoded) ?? ""));
      }),
      RUNS,
    );
  });
});
