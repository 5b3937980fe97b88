/**
 * The parameter schemas the simulated GET endpoints use, named as PBS names them
 * (pbs-api-types schema constants and #[api] types), and proxmox-schema's checks and
 * error texts for values that arrive as strings (query and URI parameters).
 */

export interface ParamCheck {
  kind: "string" | "integer" | "boolean" | "enum" | "array";
  pattern?: RegExp;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  values?: string[];
  items?: ParamCheck;
}

const SAFE_ID = "(?:[A-Za-z0-9_][A-Za-z0-9._\\-]*)";
const SAFE_ID_RE = new RegExp(`^${SAFE_ID}$`);
const BACKUP_NS_RE = new RegExp(`^(?:|${SAFE_ID}(?:/${SAFE_ID}){0,7})$`);
const HOSTNAME_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;
const USER_RE = "(?:[^\\s:/[:cntrl:]]+)".replace("[:cntrl:]", "\\x00-\\x1f\\x7f");
const REALM = SAFE_ID;
const AUTHID_RE = new RegExp(`^${USER_RE}@${REALM}(?:!${SAFE_ID})?$`);
const ACL_PATH_RE = new RegExp(`^(?:/|(?:/${SAFE_ID})+)$`);
export const UPID_RE =
  /^UPID:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8,16}:[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$/;

/** Schema / type names as the #[api] blocks write them -> how values are checked. */
export const SCHEMAS: Record<string, ParamCheck> = {
  DATASTORE_SCHEMA: { kind: "string", pattern: SAFE_ID_RE, minLength: 3, maxLength: 32 },
  REMOTE_ID_SCHEMA: { kind: "string", pattern: SAFE_ID_RE, minLength: 3, maxLength: 32 },
  BackupNamespace: { kind: "string", pattern: BACKUP_NS_RE, maxLength: 256 },
  BackupType: { kind: "enum", values: ["vm", "ct", "host"] },
  BACKUP_ID_SCHEMA: { kind: "string", pattern: SAFE_ID_RE },
  NODE_SCHEMA: { kind: "string", pattern: HOSTNAME_RE },
  UPID_SCHEMA: { kind: "string", pattern: UPID_RE },
  NS_MAX_DEPTH_SCHEMA: { kind: "integer", minimum: 0, maximum: 7 },
  START_PARAM_SCHEMA: { kind: "integer", minimum: 0 },
  LIMIT_PARAM_SCHEMA: { kind: "integer", minimum: 0 },
  DOWNLOAD_PARAM_SCHEMA: { kind: "boolean" },
  TEST_STATUS_PARAM_SCHEMA: { kind: "boolean" },
  ACL_PATH_SCHEMA: { kind: "string", pattern: ACL_PATH_RE, minLength: 1, maxLength: 128 },
  Authid: { kind: "string", pattern: AUTHID_RE, minLength: 3, maxLength: 64 },
  bool: { kind: "boolean" },
  u64: { kind: "integer", minimum: 0 },
  i64: { kind: "integer" },
  String: { kind: "string" },
  "Array<TaskStateType>": {
    kind: "array",
    items: { kind: "enum", values: ["ok", "warning", "error", "unknown"] },
  },
  "SyncDirection(newer)": { kind: "enum", values: ["pull", "push"] },
};

export interface ParamDef {
  /** The schema or type name as in the #[api] block (a key of SCHEMAS). */
  def: string;
  optional: boolean;
}

export type ParamValue = string | number | boolean | string[];

/** proxmox-schema's parse_boolean. */
function parseBoolean(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (["1", "on", "yes", "true"].includes(s)) return true;
  if (["0", "off", "no", "false"].includes(s)) return false;
  return undefined;
}

/** One value checked as proxmox-schema does; returns the parsed value or throws the message. */
export function checkValue(check: ParamCheck, raw: string): string | number | boolean {
  switch (check.kind) {
    case "boolean": {
      const b = parseBoolean(raw);
      if (b === undefined) throw new Error("Unable to parse boolean option.");
      return b;
    }
    case "integer": {
      if (!/^[+-]?\d+$/.test(raw)) throw new Error("invalid digit found in string");
      const n = Number(raw);
      if (check.minimum !== undefined && n < check.minimum)
        throw new Error(`value must have a minimum value of ${check.minimum} (got ${n})`);
      if (check.maximum !== undefined && n > check.maximum)
        throw new Error(`value must have a maximum value of ${check.maximum} (got ${n})`);
      return n;
    }
    case "enum":
      if (!check.values!.includes(raw)) throw new Error(`value '${raw}' is not defined in the enumeration.`);
      return raw;
    case "string": {
      const len = [...raw].length;
      if (check.minLength !== undefined && len < check.minLength)
        throw new Error(`value must be at least ${check.minLength} characters long`);
      if (check.maxLength !== undefined && len > check.maxLength)
        throw new Error(`value may only be ${check.maxLength} characters long`);
      if (check.pattern && !check.pattern.test(raw))
        throw new Error("value does not match the regex pattern");
      return raw;
    }
    default:
      return raw;
  }
}

/**
 * parse_query_parameters + verify: unknown keys, bad values, missing required ones, all
 * collected; the message lists them as proxmox-schema's ParameterError does.
 */
export function verifyParameters(
  defs: Record<string, ParamDef>,
  raw: Record<string, string | string[]>,
): Record<string, ParamValue> {
  const errors: [string, string][] = [];
  const out: Record<string, ParamValue> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) {
    if (key === "_dc") continue;
    const def = defs[key];
    if (!def) {
      errors.push([key, "schema does not allow additional properties."]);
      continue;
    }
    const check = SCHEMAS[def.def]!;
    try {
      if (check.kind === "array") {
        const list = Array.isArray(value) ? value : [value];
        out[key] = list.map((v) => String(checkValue(check.items!, v)));
      } else {
        out[key] = checkValue(check, Array.isArray(value) ? value[0]! : value);
      }
    } catch (err) {
      errors.push([key, (err as Error).message]);
    }
  }
  for (const [key, def] of Object.entries(defs)) {
    if (!def.optional && raw[key] === undefined)
      errors.push([key, "property is missing and it is not optional."]);
  }
  if (errors.length === 1) {
    const [k, m] = errors[0]!;
    throw new ParameterError(`parameter verification failed - '${k}': ${m}`, Object.fromEntries(errors));
  }
  if (errors.length > 1) {
    const lines = errors.map(([k, m]) => `- '${k}': ${m}`).join("\n");
    throw new ParameterError(`parameter verification failed:\n${lines}`, Object.fromEntries(errors));
  }
  return out;
}

export class ParameterError extends Error {
  constructor(
    message: string,
    readonly errors: Record<string, string>,
  ) {
    super(message);
  }
}
