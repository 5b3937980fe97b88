/**
 * PBS's own formats for the values that end up in API paths and in the query parameters
 * that name objects, as zod schemas whose every error message is the rule in plain words,
 * never the offending value. Sources (proxmox-backup and proxmox-rs, read 2024-2026):
 *
 * - SAFE_ID `(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)`: proxmox-schema src/api_types.rs
 *   (PROXMOX_SAFE_ID_REGEX_STR, re-exported by pbs-api-types src/lib.rs).
 * - DATASTORE_SCHEMA (SAFE_ID, 3..32), REMOTE_ID_SCHEMA (SAFE_ID, 3..32), JOB_ID_SCHEMA
 *   (SAFE_ID, 3..32): pbs-api-types src/datastore.rs, src/remote.rs, src/jobs.rs.
 * - BACKUP_TYPE_RE `(?:host|vm|ct)`, BACKUP_ID_RE `[A-Za-z0-9_][A-Za-z0-9._\-]*`, BACKUP_NS_RE
 *   `(?:(?:SAFE_ID/){0,7}SAFE_ID)?` with MAX_NAMESPACE_DEPTH 7 and MAX_BACKUP_NAMESPACE_LENGTH
 *   256 (BackupNamespace::push_do): pbs-api-types src/lib.rs and src/datastore.rs.
 * - PROXMOX_UPID_REGEX `^UPID:node:pid{8}:pstart{8,9}:task_id{8,16}:starttime{8}:wtype:wid:authid:$`
 *   (fields `[^:\s]`), UPID_SCHEMA max 128: proxmox-rest-server / pbs-api-types src/upid.rs.
 * - USER_NAME `[^\s:/[:cntrl:]]+`, userid `name@SAFE_ID` (3..64), token name SAFE_ID (2..64):
 *   proxmox-auth-api src/types.rs.
 * - node: proxmox-schema NODE_SCHEMA (a host name label, or "localhost").
 */
import { z } from "zod";
import { PveInputError } from "../pve/errors.js";

export const PBS_RULES = {
  store:
    "must be a PBS datastore name (a letter, digit or '_', then letters, digits, '.', '_' or '-', 3 to 32 characters; e.g. backup-main)",
  node: "must be a PBS node name (letters, digits and inner hyphens, at most 63 characters; e.g. localhost)",
  upid: "must be a task ID as PBS returns it (UPID:<node>:<pid>:<pstart>:<task id>:<starttime>:<type>:<id>:<auth id>:)",
  id: "must be a PBS job ID (a letter, digit or '_', then letters, digits, '.', '_' or '-', 3 to 32 characters; e.g. v-3fb1a2c4-d5e6)",
  name: "must be a PBS name (remote, datastore or token: a letter, digit or '_', then letters, digits, '.', '_' or '-', 2 to 64 characters; e.g. offsite)",
  userid: "must be a PBS user ID (name@realm, 3 to 64 characters; e.g. root@pam)",
  authid: "must be a PBS user or API token ID (name@realm or name@realm!token; e.g. mcp@pbs!readonly)",
  ns: "must be a PBS namespace: up to 7 levels of names (a letter, digit or '_', then letters, digits, '.', '_' or '-') joined by '/', at most 256 characters, or empty for the root (e.g. prod/web)",
  "backup-type": "must be a PBS backup type: vm, ct or host",
  "backup-id":
    "must be a PBS backup ID (a letter, digit or '_', then letters, digits, '.', '_' or '-'; e.g. 101)",
} as const;

const SAFE_ID = "[A-Za-z0-9_][A-Za-z0-9._\\-]*";
const SAFE_ID_RE = new RegExp(`^${SAFE_ID}$`);
const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
// PBS allows any non-space character but ':' in the last three fields; we also refuse '/'
// (it would add a path segment wherever a proxy decodes %2F) and anything outside printable ASCII.
const UPID_FIELD = "[!-.0-9;-~]";
const UPID_RE = new RegExp(
  `^UPID:${NODE_RE.source.slice(1, -1)}:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8,16}:[0-9A-Fa-f]{8}` +
    `:${UPID_FIELD}+:${UPID_FIELD}*:${UPID_FIELD}+:$`,
);
// proxmox-auth-api's `[^\s:/[:cntrl:]]+`; a non-ASCII space (NBSP) is refused as well.
const USER_NAME = "[^\\s:/\\p{Cc}]+";
const USER_ID_RE = new RegExp(`^${USER_NAME}@${SAFE_ID}$`, "u");
const AUTH_ID_RE = new RegExp(`^${USER_NAME}@${SAFE_ID}(?:!${SAFE_ID})?$`, "u");
// BACKUP_NS_RE's pattern allows 8 components, but BackupNamespace::push_do refuses a depth over
// MAX_NAMESPACE_DEPTH (7) and a length over 256: 7 it is.
const NS_RE = new RegExp(`^(?:(?:${SAFE_ID}/){0,6}${SAFE_ID})?$`);
const BACKUP_ID_RE = SAFE_ID_RE;

/** A string schema whose every failure (type, length, pattern) reports `rule`, once. */
function ruleString(rule: string, pattern: RegExp, minLength: number, maxLength: number) {
  return z
    .string({ error: rule })
    .min(minLength, { error: rule, abort: true })
    .max(maxLength, { error: rule, abort: true })
    .regex(pattern, { error: rule });
}

export const pbsDatastore = ruleString(PBS_RULES.store, SAFE_ID_RE, 3, 32);
export const pbsNode = ruleString(PBS_RULES.node, NODE_RE, 1, 63);
export const pbsUpid = ruleString(
  PBS_RULES.upid,
  UPID_RE,
  "UPID:N:12345678:12345678:12345678:::".length,
  128,
);
export const pbsJobId = ruleString(PBS_RULES.id, SAFE_ID_RE, 3, 32);
export const pbsName = ruleString(PBS_RULES.name, SAFE_ID_RE, 2, 64);
export const pbsUserId = ruleString(PBS_RULES.userid, USER_ID_RE, 3, 64);
/** A userid, or a token id whose user part is at most 64 characters and token name at most 64. */
export const pbsAuthId = ruleString(PBS_RULES.authid, AUTH_ID_RE, 3, 129).refine(
  (id) => {
    const bang = id.indexOf("!");
    return bang === -1 || (bang <= 64 && id.length - bang - 1 <= 64);
  },
  { error: PBS_RULES.authid },
);
/** An API token id, `user@realm!name`: a userid (3..64) and a token name (2..64), as PBS_TOKEN_ID needs it. */
export function isPbsTokenId(value: string): boolean {
  const bang = value.lastIndexOf("!");
  const user = value.slice(0, bang);
  const token = value.slice(bang + 1);
  return (
    bang > 0 &&
    user.length >= 3 &&
    user.length <= 64 &&
    USER_ID_RE.test(user) &&
    token.length >= 2 &&
    token.length <= 64 &&
    SAFE_ID_RE.test(token)
  );
}
export const pbsNamespace = ruleString(PBS_RULES.ns, NS_RE, 0, 256);
export const pbsBackupType = z.enum(["vm", "ct", "host"], { error: PBS_RULES["backup-type"] });
export const pbsBackupId = ruleString(PBS_RULES["backup-id"], BACKUP_ID_RE, 1, 256);

/** The schema for each path variable a PBS request template may use. */
export const PBS_PATH_PARAM_FORMATS = {
  store: pbsDatastore,
  node: pbsNode,
  upid: pbsUpid,
  id: pbsJobId,
  name: pbsName,
  userid: pbsUserId,
} as const satisfies Record<string, z.ZodType<string, unknown>>;

export type PbsPathParamName = keyof typeof PBS_PATH_PARAM_FORMATS;

export function isPbsPathParamName(name: string): name is PbsPathParamName {
  return Object.hasOwn(PBS_PATH_PARAM_FORMATS, name);
}

/**
 * The query parameters that name an object, checked before a request is sent (every
 * query value is URL-encoded anyway; this refuses what PBS itself would refuse, and what
 * a prompt-injected tool argument would aim at another object with).
 */
export const PBS_QUERY_FORMATS: Readonly<Record<string, { schema: z.ZodType<string>; rule: string }>> = {
  ns: { schema: pbsNamespace, rule: PBS_RULES.ns },
  parent: { schema: pbsNamespace, rule: PBS_RULES.ns },
  "backup-type": { schema: pbsBackupType, rule: PBS_RULES["backup-type"] },
  "backup-id": { schema: pbsBackupId, rule: PBS_RULES["backup-id"] },
  store: { schema: pbsDatastore, rule: PBS_RULES.store },
  "auth-id": { schema: pbsAuthId, rule: PBS_RULES.authid },
  userid: { schema: pbsUserId, rule: PBS_RULES.userid },
};

/** The value as it goes into the path, or a PveInputError naming the rule (never the value). */
export function checkPbsPathParam(name: PbsPathParamName, value: unknown): string {
  const result = PBS_PATH_PARAM_FORMATS[name].safeParse(value);
  if (!result.success) throw new PveInputError(name, PBS_PATH_RULE[name]);
  return result.data;
}

const PBS_PATH_RULE: Record<PbsPathParamName, string> = {
  store: PBS_RULES.store,
  node: PBS_RULES.node,
  upid: PBS_RULES.upid,
  id: PBS_RULES.id,
  name: PBS_RULES.name,
  userid: PBS_RULES.userid,
};

/** A query value that names an object, checked; other keys pass (URL-encoded by the client). */
export function checkPbsQueryValue(key: string, value: string | number | boolean): void {
  const format = Object.hasOwn(PBS_QUERY_FORMATS, key) ? PBS_QUERY_FORMATS[key] : undefined;
  if (!format) return;
  // A boolean names no object (1/0 would pass as a backup id).
  if (typeof value === "boolean" || !format.schema.safeParse(String(value)).success) {
    throw new PveInputError(key, format.rule);
  }
}
