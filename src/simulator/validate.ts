/**
 * Parameter validation as pve-common's JSONSchema `validate` / `check_prop` does it
 * (pve-reference §1.1): per parameter type -> format -> pattern -> maxLength ->
 * minLength -> maximum/minimum -> enum, the first failure recorded in `errors`.
 */
import type { ApiMethodSchema, PropSchema } from "./api-types.js";
import { parameterError } from "./errors.js";

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+|\d*\.\d+|\d+\.\d*)(?:[eE][+-]?\d+)?$/;

/** Named formats of pve-common and pve-access-control; unknown names are not checked. */
const FORMATS: Record<string, (value: string) => string | undefined> = {
  "pve-node": (v) =>
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)$/.test(v)
      ? undefined
      : "value does not look like a valid node name",
  "pve-vmid": (v) => (/^[1-9][0-9]{2,8}$/.test(v) ? undefined : "value does not look like a valid VM ID"),
  "pve-storage-id": (v) => {
    if (v.length < 2) return `storage ID '${v}' cannot be shorter than 2 characters`;
    return /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v)
      ? undefined
      : `storage ID '${v}' contains illegal characters`;
  },
  "pve-configid": (v) => (/^[a-z][a-z0-9_-]+$/i.test(v) ? undefined : `invalid configuration ID '${v}'`),
  "pve-userid": (v) => {
    if (v.length > 64) return `user name '${v}' is too long (${v.length} > 64)`;
    return /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(v)
      ? undefined
      : `value '${v}' does not look like a valid user name`;
  },
  "pve-realm": (v) =>
    /^[A-Za-z][A-Za-z0-9.\-_]+$/.test(v) ? undefined : "value does not look like a valid realm",
};

/** Perl regex syntax in schema patterns that JavaScript spells differently. */
function compilePattern(pattern: string): RegExp {
  const js = pattern
    .replace(/\(\?\^:/g, "(?:")
    .replace(/\(\?>/g, "(?:")
    .replace(/\{,(\d+)\}/g, "{0,$1}");
  return new RegExp(`^${js}$`);
}
const patternCache = new Map<string, RegExp>();

/**
 * Before validation PVE wraps a scalar sent for an array parameter into a list and
 * joins a list sent for a `*-list` format; then it validates. Returns the typed
 * parameters (integers and booleans as numbers) or throws the 400.
 */
export function validateParameters(
  schema: ApiMethodSchema,
  raw: Record<string, string | string[]>,
): Record<string, unknown> {
  const errors: Record<string, string> = Object.create(null);
  const out: Record<string, unknown> = Object.create(null);
  for (const [name, value] of Object.entries(raw)) {
    if (Object.hasOwn(schema.parameters, name)) continue;
    if (!schema.additionalProperties) {
      errors[name] = "property is not defined in schema and the schema does not allow additional properties";
    }
    out[name] = value;
  }
  for (const [name, prop] of Object.entries(schema.parameters)) {
    let value: unknown = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (value === undefined) {
      if (!prop.optional) errors[name] = "property is missing and it is not optional";
      continue;
    }
    if (prop.type === "array" && !Array.isArray(value)) value = [value];
    if (Array.isArray(value) && prop.type !== "array" && prop.format?.endsWith("-list"))
      value = value.join(",");
    const result = checkProp(prop, value);
    if ("error" in result) errors[name] = result.error;
    else out[name] = result.value;
  }
  if (Object.keys(errors).length > 0) throw parameterError(errors);
  return out;
}

type Checked = { value: unknown } | { error: string };

function checkProp(prop: PropSchema, value: unknown): Checked {
  if (prop.type === "array") {
    if (!Array.isArray(value)) return { error: `type check ('array') failed` };
    const items: unknown[] = [];
    for (const item of value) {
      const r = prop.items ? checkProp(prop.items, item) : { value: item };
      if ("error" in r) return r;
      items.push(r.value);
    }
    return { value: items };
  }
  if (Array.isArray(value)) return { error: `type check ('${prop.type ?? "string"}') failed - got ARRAY` };
  const text = String(value);
  let typed: unknown = text;
  switch (prop.type) {
    case "integer":
      if (!INTEGER.test(text)) return { error: `type check ('integer') failed - got '${text}'` };
      typed = Number(text);
      break;
    case "number":
      if (!NUMBER.test(text)) return { error: `type check ('number') failed - got '${text}'` };
      typed = Number(text);
      break;
    case "boolean":
      // Only 1 and 0: a JSON true/false was already turned into one of them.
      if (text === "1") typed = 1;
      else if (text === "0") typed = 0;
      else return { error: `type check ('boolean') failed - got '${text}'` };
      break;
  }
  const format = prop.format ? FORMATS[prop.format] : undefined;
  const formatError = format?.(text);
  if (formatError) return { error: `invalid format - ${formatError}\n` };
  if (prop.pattern !== undefined) {
    let re = patternCache.get(prop.pattern);
    if (!re) patternCache.set(prop.pattern, (re = compilePattern(prop.pattern)));
    if (!re.test(text)) return { error: "value does not match the regex pattern" };
  }
  if (prop.maxLength !== undefined && text.length > prop.maxLength) {
    return { error: `value may only be ${prop.maxLength} characters long` };
  }
  if (prop.minLength !== undefined && text.length < prop.minLength) {
    return { error: `value must be at least ${prop.minLength} characters long` };
  }
  if (prop.type === "integer" || prop.type === "number") {
    const n = typed as number;
    if (prop.maximum !== undefined && n > prop.maximum) {
      return { error: `value must have a maximum value of ${prop.maximum}` };
    }
    if (prop.minimum !== undefined && n < prop.minimum) {
      return { error: `value must have a minimum value of ${prop.minimum}` };
    }
  }
  if (prop.enum && !prop.enum.includes(text)) {
    return { error: `value '${text}' does not have a value in the enumeration '${prop.enum.join(", ")}'` };
  }
  return { value: typed };
}
