/**
 * PBS's answers as the read model takes them: the pbs-api-types structs (kebab-case
 * fields, as PBS serialises them), with every field a reader does not rely on optional.
 * Sources: pbs-api-types src/{datastore,jobs,remote,user,acl,tfa}.rs, proxmox-backup
 * src/api2/{admin,config,status,access,node}/**.rs (see /work/shared/docs/pbs-reference.md).
 */

/** PBS's effective-permission map (GET /access/permissions): path -> privilege -> propagates. */
export type PbsPermissions = Record<string, Record<string, boolean | number>>;

/** GET /admin/datastore: DataStoreListItem (`comment` null with namespace privileges only). */
export interface PbsDatastoreListItem {
  store: string;
  comment?: string | null;
  /** "offline" / "read-only" with an optional message (MaintenanceMode as a property string). */
  maintenance?: string;
  "mount-status"?: string;
  "backend-type"?: string;
}

/** GET /config/datastore: DataStoreConfig (datastore.cfg). */
export interface PbsDatastoreConfig {
  name: string;
  path?: string;
  comment?: string;
  "gc-schedule"?: string;
  /**
   * Legacy retention on the store itself, from before prune jobs (PBS < 2.2): no longer
   * applied; `update-to-prune-jobs-config` migrates it into a prune job.
   */
  "prune-schedule"?: string;
  "keep-last"?: number;
  "keep-hourly"?: number;
  "keep-daily"?: number;
  "keep-weekly"?: number;
  "keep-monthly"?: number;
  "keep-yearly"?: number;
  "verify-new"?: boolean | number | string;
  "maintenance-mode"?: string;
  "notification-mode"?: string;
  notify?: string;
  "notify-user"?: string;
  tuning?: string;
  [key: string]: unknown;
}

/** GarbageCollectionStatus (the last GC's counters). */
export interface PbsGcCounters {
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

/** Job state fields every job status carries (JobScheduleStatus). */
export interface PbsJobScheduleStatus {
  "next-run"?: number;
  /** "OK", "WARNINGS: n", or the error text; absent: never ran (or running). */
  "last-run-state"?: string;
  "last-run-upid"?: string;
  "last-run-endtime"?: number;
  duration?: number;
}

/** GET /admin/gc and …/{store}/gc: GarbageCollectionJobStatus. */
export interface PbsGcJobStatus extends PbsGcCounters, PbsJobScheduleStatus {
  store: string;
  schedule?: string;
}

/** GET /status/datastore-usage: DataStoreStatusListItem (reduced to store/mount/backend without Audit). */
export interface PbsDatastoreUsage {
  store: string;
  total?: number;
  used?: number;
  avail?: number;
  history?: (number | null)[];
  "history-start"?: number;
  "history-delta"?: number;
  /**
   * Epoch seconds by a linear fit of the month's usage; a date at or before now (0 when the
   * trend is flat) means "never" (PBS's GUI shows it so). Absent with fewer than 7 samples.
   */
  "estimated-full-date"?: number;
  error?: string;
  "gc-status"?: PbsGcCounters;
  "mount-status"?: string;
  "backend-type"?: string;
}

/** GET …/{store}/namespace: NamespaceListItem ("" is the root). */
export interface PbsNamespace {
  ns: string;
  comment?: string;
}

export type PbsBackupType = "vm" | "ct" | "host";
export type PbsCryptMode = "none" | "encrypt" | "sign-only";

/** BackupContent: one file of a snapshot (client.log.blob comes without crypt-mode and size). */
export interface PbsBackupFile {
  filename: string;
  "crypt-mode"?: PbsCryptMode;
  size?: number;
}

/** SnapshotVerifyState. */
export interface PbsVerifyState {
  state: "ok" | "failed";
  upid: string;
}

/** GET …/{store}/snapshots: SnapshotListItem. */
export interface PbsSnapshot {
  "backup-type": PbsBackupType;
  "backup-id": string;
  "backup-time": number;
  /** The first line of the snapshot's notes. */
  comment?: string;
  verification?: PbsVerifyState;
  /** The encryption key's fingerprint. */
  fingerprint?: string;
  files: PbsBackupFile[];
  size?: number;
  owner?: string;
  protected?: boolean;
}

/** A snapshot with where it lives. */
export interface PbsStoredSnapshot extends PbsSnapshot {
  store: string;
  /** "" = the root namespace. */
  ns: string;
}

/** Prune options (KeepOptions), shared by prune jobs and datastore.cfg. */
export interface PbsKeepOptions {
  "keep-last"?: number;
  "keep-hourly"?: number;
  "keep-daily"?: number;
  "keep-weekly"?: number;
  "keep-monthly"?: number;
  "keep-yearly"?: number;
}

/** GET /admin/verify: VerificationJobStatus (VerificationJobConfig + status). */
export interface PbsVerifyJob extends PbsJobScheduleStatus {
  id: string;
  store: string;
  ns?: string;
  "ignore-verified"?: boolean;
  "outdated-after"?: number;
  schedule?: string;
  comment?: string;
  "max-depth"?: number;
}

/** GET /admin/prune: PruneJobStatus (PruneJobConfig + status). */
export interface PbsPruneJob extends PbsJobScheduleStatus, PbsKeepOptions {
  id: string;
  store: string;
  ns?: string;
  schedule?: string;
  disable?: boolean;
  comment?: string;
  "max-depth"?: number;
}

/** GET /admin/sync: SyncJobStatus (SyncJobConfig + status). `remote` absent: a local sync. */
export interface PbsSyncJob extends PbsJobScheduleStatus {
  id: string;
  store: string;
  ns?: string;
  owner?: string;
  remote?: string;
  "remote-store": string;
  "remote-ns"?: string;
  "remove-vanished"?: boolean;
  "max-depth"?: number;
  "group-filter"?: string[];
  "encrypted-only"?: boolean;
  "verified-only"?: boolean;
  schedule?: string;
  comment?: string;
  "sync-direction"?: "pull" | "push";
}

/** GET /config/remote: Remote without its password. */
export interface PbsRemote {
  name: string;
  host: string;
  port?: number;
  "auth-id": string;
  fingerprint?: string;
  comment?: string;
}

/** ApiToken as /access/users?include_tokens=1 lists it. */
export interface PbsApiToken {
  tokenid: string;
  comment?: string;
  enable?: boolean;
  /** Epoch seconds; 0 or absent = never. */
  expire?: number;
}

/** UserWithTokens. */
export interface PbsUser {
  userid: string;
  comment?: string;
  enable?: boolean;
  expire?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  tokens?: PbsApiToken[];
  "totp-locked"?: boolean;
  "tfa-locked-until"?: number;
}

/** AclListItem. */
export interface PbsAclEntry {
  path: string;
  ugid: string;
  ugid_type: "user" | "group";
  propagate: boolean;
  roleid: string;
}

/** GET /access/tfa: one user's second factors. */
export interface PbsTfaUser {
  userid: string;
  entries: { type: string; id: string; description?: string; created?: number; enable?: boolean }[];
  "totp-locked"?: boolean;
  "tfa-locked-until"?: number;
}

/** GET /access/roles. */
export interface PbsRole {
  roleid: string;
  privs: string[];
  comment?: string;
}

/** GET /nodes/{node}/tasks: TaskListItem (snake_case, as PBS writes it). */
export interface PbsTask {
  upid: string;
  node: string;
  pid?: number;
  pstart?: number;
  starttime: number;
  worker_type: string;
  worker_id?: string;
  user: string;
  endtime?: number;
  status?: string;
}

/** GET /nodes/{node}/tasks/{upid}/status. */
export interface PbsTaskStatus {
  upid?: string;
  node?: string;
  status: "running" | "stopped";
  exitstatus?: string;
  type?: string;
  id?: string;
  user?: string;
  tokenid?: string;
  starttime?: number;
}

/** One line of GET …/tasks/{upid}/log. */
export interface PbsTaskLogLine {
  n: number;
  t: string;
}
