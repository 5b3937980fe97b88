/**
 * Compares the shape of a simulator answer with a recorded PVE answer: field names
 * and JSON types, recursively. Values are data and may differ; shapes may not.
 */
export type JsonType = "null" | "array" | "object" | "string" | "number" | "boolean";

export function jsonType(v: unknown): JsonType {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v as JsonType;
}

export interface ShapeOptions {
  /** JSON paths ("data", "data.*.ballooninfo") whose object keys are data, not field names. */
  maps?: string[];
  /** Keys a recorded object has that the simulator may leave out (present only for some data). */
  optional?: string[];
  /** Keys the simulator may add that the recorded answer lacks (present only for some data). */
  extra?: string[];
  /** Only check that recorded keys exist with the same type (for older-version captures). */
  subsetOnly?: boolean;
  /** Keys whose type changed between PVE versions (e.g. CT vmid, a string before PVE 8.2). */
  ignore?: string[];
}

/** Items of a list are compared per kind: same `type` and same `status` when those are short words. */
function kindOf(item: unknown): string {
  if (jsonType(item) !== "object") return jsonType(item);
  const o = item as Record<string, unknown>;
  const word = (v: unknown) => (typeof v === "string" && /^[a-z]{1,12}$/.test(v) ? v : "");
  return `${word(o["type"])}/${word(o["status"])}`;
}

export function compareShape(
  expected: unknown,
  actual: unknown,
  options: ShapeOptions = {},
  path = "data",
): string[] {
  const te = jsonType(expected);
  const ta = jsonType(actual);
  if (te !== ta) return [`${path}: expected ${te}, got ${ta}`];
  if (te === "array") return compareArrays(expected as unknown[], actual as unknown[], options, path);
  if (te !== "object") return [];
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  if (options.maps?.includes(path)) {
    const sample = Object.values(e)[0];
    if (sample === undefined) return [];
    return Object.entries(a).flatMap(([k, v]) =>
      compareShape(sample, v, options, `${path}.*`).map((p) => p.replace(`${path}.*`, `${path}.${k}`)),
    );
  }
  const problems: string[] = [];
  for (const key of Object.keys(e)) {
    if (options.ignore?.includes(key)) continue;
    if (!(key in a)) {
      if (!options.optional?.includes(key)) problems.push(`${path}.${key}: missing`);
      continue;
    }
    problems.push(...compareShape(e[key], a[key], options, `${path}.${key}`));
  }
  if (!options.subsetOnly) {
    for (const key of Object.keys(a)) {
      if (!(key in e) && !options.extra?.includes(key))
        problems.push(`${path}.${key}: not in the recorded answer`);
    }
  }
  return problems;
}

function compareArrays(
  expected: unknown[],
  actual: unknown[],
  options: ShapeOptions,
  path: string,
): string[] {
  if (expected.length === 0) return [];
  if (actual.length === 0) return [`${path}: empty, cannot compare with ${expected.length} recorded items`];
  const elemPath = `${path}[]`;
  if (jsonType(expected[0]) !== "object") {
    return actual.flatMap((item) => compareShape(expected[0], item, options, elemPath)).slice(0, 5);
  }
  // The recorded items of a kind define which keys are required (present in all of them)
  // and which may appear (present in any of them, anywhere in the list).
  const allKeys = new Map<string, unknown>();
  for (const item of expected)
    for (const [k, v] of Object.entries(item as object)) if (!allKeys.has(k)) allKeys.set(k, v);
  const byKind = new Map<string, Record<string, unknown>[]>();
  for (const item of expected) {
    const list = byKind.get(kindOf(item)) ?? [];
    list.push(item as Record<string, unknown>);
    byKind.set(kindOf(item), list);
  }
  const problems: string[] = [];
  const kindsSeen = new Set<string>();
  for (const item of actual) {
    if (jsonType(item) !== "object") {
      problems.push(`${elemPath}: expected object, got ${jsonType(item)}`);
      continue;
    }
    const a = item as Record<string, unknown>;
    const kind = kindOf(a);
    kindsSeen.add(kind);
    // Keys every recorded item of this kind has are required (kinds the recording lacks,
    // like a stopped CT or a guest on an offline node, have no such reference).
    const peers = byKind.get(kind);
    const required = peers ? Object.keys(peers[0]!).filter((k) => peers.every((p) => k in p)) : [];
    for (const k of required) {
      if (!(k in a) && !options.optional?.includes(k)) problems.push(`${elemPath}(${kind}).${k}: missing`);
    }
    for (const [k, v] of Object.entries(a)) {
      if (options.ignore?.includes(k)) continue;
      if (!allKeys.has(k)) {
        if (!options.subsetOnly && !options.extra?.includes(k))
          problems.push(`${elemPath}(${kind}).${k}: not in the recorded answer`);
        continue;
      }
      problems.push(...compareShape(allKeys.get(k), v, options, `${elemPath}.${k}`));
    }
  }
  if (options.subsetOnly) {
    // Every recorded key must exist somewhere in an answer item of the same kind.
    for (const [kind, peers] of byKind) {
      const mine = actual.filter((x) => kindOf(x) === kind) as Record<string, unknown>[];
      if (mine.length === 0) continue;
      const keys = new Set(mine.flatMap((x) => Object.keys(x)));
      for (const k of new Set(peers.flatMap((p) => Object.keys(p)))) {
        if (!keys.has(k) && !options.optional?.includes(k))
          problems.push(`${elemPath}(${kind}).${k}: missing`);
      }
    }
  }
  return [...new Set(problems)].slice(0, 20);
}
