/**
 * PVE's own formats for the values that end up in API paths (pve-common
 * JSONSchema.pm, pve-access-control; see pve-reference §1.1), as zod schemas whose
 * every error message is the rule in plain words, never the offending value.
 */
import { z } from "zod";
import { PveInputError } from "./errors.js";

export const RULES = {
  node: "must be a PVE node name (letters, digits and inner hyphens, at most 63 characters; e.g. pve1)",
  vmid: "must be a VM ID: a whole number from 100 to 999999999 without leading zeros (e.g. 100)",
  storage:
    "must be a storage ID (a letter, then letters, digits, '-', '_' or '.', ending in a letter or digit; e.g. local-lvm)",
  snapname:
    "must be a snapshot name (a letter, then letters, digits, '_' or '-', 2 to 40 characters; e.g. before_upgrade)",
  upid: "must be a task ID as PVE returns it (UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:)",
  userid: "must be a user ID (name@realm, 3 to 64 characters; e.g. root@pam)",
  tokenid: "must be an API token ID (user@realm!name; e.g. mcp@pve!readonly)",
  realm: "must be a realm ID (a letter, then letters, digits, '.', '-' or '_', 2 to 32 characters; e.g. pve)",
} as const;

const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const VMID_RE = /^[1-9][0-9]{2,8}$/;
// Also PVE's "at least 2 characters".
const STORAGE_ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const CONFIG_ID_RE = /^[a-z][a-z0-9_-]+$/i;
// PVE allows any non-space character here except ':'; we also refuse '/' (pveproxy decodes
// %2F before routing, so it would add path segments) and anything outside printable ASCII.
const UPID_FIELD = "[!-.0-9;-~]";
const UPID_RE = new RegExp(
  `^UPID:${NODE_RE.source.slice(1, -1)}:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}` +
    `:${UPID_FIELD}+:${UPID_FIELD}*:${UPID_FIELD}+:$`,
);
const REALM = "[A-Za-z][A-Za-z0-9.\\-_]+";
// PVE's `[^\s:/]` user name, minus control characters.
const USER_NAME = "[^\\s:/\\x00-\\x1f\\x7f]+";
const USER_ID_RE = new RegExp(`^${USER_NAME}@${REALM}$`);
const TOKEN_ID_RE = new RegExp(`^(${USER_NAME}@${REALM})![A-Za-z][A-Za-z0-9.\\-_]+$`);

/** A string schema whose every failure (type, length, pattern) reports `rule`, once. */
function ruleString(rule: string, pattern: RegExp, maxLength?: number) {
  const schema = z.string({ error: rule });
  return (maxLength === undefined ? schema : schema.max(maxLength, { error: rule, abort: true })).regex(
    pattern,
    { error: rule },
  );
}

export const pveNode = ruleString(RULES.node, NODE_RE, 63);

/** A number, or the decimal string PVE itself would accept ("100", never "0100" or "1e3"). */
export const pveVmid = z
  .union(
    [
      z
        .number({ error: RULES.vmid })
        .int({ error: RULES.vmid })
        .min(100, { error: RULES.vmid })
        .max(999_999_999, { error: RULES.vmid }),
      z.string({ error: RULES.vmid }).regex(VMID_RE, { error: RULES.vmid }),
    ],
    { error: RULES.vmid },
  )
  .transform(Number);

export const pveStorageId = ruleString(RULES.storage, STORAGE_ID_RE);
export const pveConfigId = ruleString(RULES.snapname, CONFIG_ID_RE, 40);
export const pveUpid = ruleString(RULES.upid, UPID_RE, 512);
export const pveUserId = ruleString(RULES.userid, USER_ID_RE, 64);
export const pveRealm = ruleString(RULES.realm, new RegExp(`^${REALM}$`), 32);
export const pveTokenId = ruleString(RULES.tokenid, TOKEN_ID_RE).refine(
  (id) => id.slice(0, id.lastIndexOf("!")).length <= 64,
  { error: RULES.tokenid },
);

/** The schema for each path variable a request template may use. */
export const PATH_PARAM_FORMATS = {
  node: pveNode,
  vmid: pveVmid,
  storage: pveStorageId,
  snapname: pveConfigId,
  upid: pveUpid,
  userid: pveUserId,
  realm: pveRealm,
} as const satisfies Record<string, z.ZodType<string | number, unknown>>;

export type PathParamName = keyof typeof PATH_PARAM_FORMATS;

export function isPathParamName(name: string): name is PathParamName {
  return Object.hasOwn(PATH_PARAM_FORMATS, name);
}

/** The plain validator: the value as it goes into the path, or a PveInputError naming the rule. */
export function checkPathParam(name: PathParamName, value: unknown): string {
  const result = PATH_PARAM_FORMATS[name].safeParse(value);
  if (!result.success) throw new PveInputError(name, RULES[name]);
  return String(result.data);
}
