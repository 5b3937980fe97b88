/**
 * The PBS scenario format: everything the simulated Proxmox Backup Server knows, as plain
 * data. Times are epoch seconds or "now", "now-40d", "now+3h", ... resolved at start against
 * the same clock the PVE simulator uses (so ages agree with the PVE demo).
 */
import type { AclEntry } from "./acl.js";

export type TimeInput = number | string;

export interface PbsFileInput {
  filename: string;
  size?: number;
  /** none, encrypt or sign-only; absent for client.log.blob. */
  cryptMode?: "none" | "encrypt" | "sign-only";
}

export interface PbsSnapshotInput {
  time: TimeInput;
  /** Total of the files; spread over the default files when `files` is absent. */
  size?: number;
  encrypted?: boolean;
  files?: PbsFileInput[];
  verification?: { state: "ok" | "failed"; upid: string };
  protected?: boolean;
  notes?: string;
}

export interface PbsGroupInput {
  ns?: string;
  type: "vm" | "ct" | "host";
  id: string;
  owner: string;
  comment?: string;
  snapshots: PbsSnapshotInput[];
}

export interface PbsGcStatus {
  upid?: string;
  "index-file-count"?: number;
  "index-data-bytes"?: number;
  "disk-bytes"?: number;
  "disk-chunks"?: number;
  "removed-bytes"?: number;
  "removed-chunks"?: number;
  "pending-bytes"?: number;
  "pending-chunks"?: number;
  "removed-bad"?: number;
  "still-bad"?: number;
}

export interface JobStateInput {
  /** "OK", "WARNINGS: n" or the error text. */
  state: string;
  upid: string;
  endtime: TimeInput;
}

export interface PbsDatastoreInput {
  /** The datastore.cfg section (kebab-case keys as PBS writes them), without `name`. */
  config: Record<string, string | number | boolean> & { path: string };
  name: string;
  total: number;
  used: number;
  /** Namespaces below the root, e.g. "dev", "dev/k8s". */
  namespaces?: string[];
  groups?: PbsGroupInput[];
  gc?: { status: PbsGcStatus; last?: JobStateInput };
  /** Usage history in 30-minute steps ending now, as used/total fractions. */
  historyFrom?: number;
}

export interface PbsJobInput {
  config: Record<string, string | number | boolean> & { id: string };
  last?: JobStateInput;
}

export interface PbsRemoteInput {
  name: string;
  host: string;
  port?: number;
  "auth-id": string;
  fingerprint?: string;
  comment?: string;
  /** Kept, never answered. */
  password: string;
}

export interface PbsTokenInput {
  name: string;
  secret: string;
  enable?: boolean;
  expire?: TimeInput;
  comment?: string;
}

export interface PbsTfaInput {
  type: "totp" | "u2f" | "webauthn" | "recovery" | "yubico";
  id: string;
  description: string;
  created: TimeInput;
  enable?: boolean;
}

export interface PbsUserInput {
  userid: string;
  enable?: boolean;
  expire?: TimeInput;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  tokens?: PbsTokenInput[];
  tfa?: PbsTfaInput[];
}

export interface PbsTaskInput {
  /** A name other entries use to refer to this task's UPID as "@key". */
  key?: string;
  type: string;
  /** The worker id, unescaped (e.g. "main", "offsite:pve-lab:main::s-3b1e9c2d-7a44"). */
  id?: string;
  authid: string;
  starttime: TimeInput;
  /** Absent: still running. */
  endtime?: TimeInput;
  /** "OK", "WARNINGS: n", or an error text (`TASK ERROR: ` is added in the log). */
  status?: string;
  log?: string[];
  /** The log file has been rotated away. */
  rotated?: boolean;
}

export interface PbsScenarioInput {
  /** The host name in UPIDs and /nodes. */
  hostname?: string;
  version?: { version: string; release: string; repoid: string };
  datastores: PbsDatastoreInput[];
  verifyJobs?: PbsJobInput[];
  pruneJobs?: PbsJobInput[];
  syncJobs?: PbsJobInput[];
  remotes?: PbsRemoteInput[];
  users: PbsUserInput[];
  acl?: AclEntry[];
  tasks?: PbsTaskInput[];
  subscription?: Record<string, string | number>;
  /** Tokens handed out by startPbsSimulator (token ids). */
  tokens: { auditor: string; datastoreAuditor: string; admin: string; root: string };
}

const RELATIVE = /^now(?:([+-])(\d+)([smhd]))?$/;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function resolveTime(value: TimeInput, now: number): number {
  if (typeof value === "number") return value;
  const m = RELATIVE.exec(value);
  if (!m) throw new Error(`PBS scenario: bad time ${JSON.stringify(value)}`);
  if (!m[1]) return now;
  const delta = Number(m[2]) * UNIT[m[3] as string]!;
  return m[1] === "+" ? now + delta : now - delta;
}

/** Cross-references a scenario must satisfy; throws with every problem listed. */
export function checkScenario(s: PbsScenarioInput): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const d of s.datastores) {
    if (names.has(d.name)) problems.push(`duplicate datastore ${d.name}`);
    names.add(d.name);
    for (const g of d.groups ?? []) {
      if (g.ns && !(d.namespaces ?? []).includes(g.ns))
        problems.push(`group ${g.type}/${g.id} in unknown namespace ${d.name}:${g.ns}`);
    }
  }
  const tokenIds = new Set(s.users.flatMap((u) => (u.tokens ?? []).map((t) => `${u.userid}!${t.name}`)));
  for (const [k, id] of Object.entries(s.tokens)) {
    if (!tokenIds.has(id)) problems.push(`tokens.${k}: no token ${id}`);
  }
  for (const j of [...(s.verifyJobs ?? []), ...(s.pruneJobs ?? []), ...(s.syncJobs ?? [])]) {
    if (!names.has(String(j.config["store"]))) problems.push(`job ${j.config.id}: unknown store`);
  }
  if (problems.length) throw new Error(`PBS scenario: ${problems.join("; ")}`);
}
