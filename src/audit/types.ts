/**
 * The security audit's shapes: a finding names one exact object, what was seen and
 * what to do; a check is one small object (id, severity, what it needs, run); a report
 * is every finding of one run, most severe first, plus the checks that failed.
 */
import type { RunSource } from "../pve/model/reader.js";
import type { ClusterResource } from "../pve/model/resources.js";
import type { ModelReader, PathParams, Query } from "../pve/model/visibility.js";

export type Severity = "critical" | "high" | "medium" | "low" | "info";

/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

export interface Finding {
  /** The check's stable code, e.g. "PVE-ACC-001": waivers and SARIF name findings by it. */
  code: string;
  /** Check id, e.g. "token-privsep". */
  check: string;
  severity: Severity;
  /** One line that names the object: "Token ops@pve!ansible runs without privilege separation". */
  title: string;
  /** The exact object: token id, user, "VM 103", node, "tank on pve2", an ACL entry, a UPID... */
  object: string;
  /** What was seen, one line. */
  evidence: string;
  /** What to do, one line (a pveum/pvesh/qm step or a GUI path). */
  remediation: string;
}

/** A finding as a check makes it: the run adds the check's code. */
export type CheckFinding = Omit<Finding, "code">;

export interface AuditCheck {
  id: string;
  /**
   * Stable for good (waivers and CI systems refer to it): PVE-<area>-<number>, the areas
   * being ACC access, FWL firewall, UPD updates, NOD nodes, CLU cluster, STO storage,
   * BAK backups, GST guests; PBS-<area>-<number> for a PBS check, the areas being VER
   * verification, GC garbage collection, STO datastores, PRU pruning, ENC encryption, BAK
   * backups, SYN sync, REM remotes, ACC access.
   */
  code: string;
  /** The severity of a typical finding (a finding may carry another one, e.g. "critical" for the worst case). */
  severity: Severity;
  title: string;
  /** What the check needs to see everything: "Sys.Audit on /access". */
  needs: string;
  /** Where to read up on it: chapters of the PVE admin guide, wiki pages. */
  references: readonly string[];
  /**
   * The server the check audits: PVE (the default) or "pbs", a Proxmox Backup Server check
   * that runs only when the audit has a PBS source (RunAuditOptions.pbs) and reads it
   * through `ctx.pbs`; codes PBS-<area>-<number>.
   */
  service?: "pbs";
  run(ctx: AuditContext): Promise<CheckFinding[]>;
}

export interface AuditReport {
  /** ISO time. */
  generatedAt: string;
  /** Cluster name if visible (needs Sys.Audit on /). */
  cluster: string | null;
  checksRun: number;
  /** Most severe first, then check id, then object; includes the visibility-gap findings. */
  findings: Finding[];
  /** A check that failed (network, 5xx...) is reported here, not fatal; the other checks still ran. */
  errors: { check: string; message: string }[];
  /** Storage fill and backup coverage as this token sees them (RunAuditOptions.inventory). */
  inventory?: AuditInventory;
}

/**
 * The facts the HTML report draws beside the findings, read from the run's cache (a few
 * requests at most). Every string in it comes from the cluster and is cleaned; what the
 * token could not see is listed in `notVisible`, never left as an empty list.
 */
export interface AuditInventory {
  /** Fullest first; a node-local storage once per node, a shared one once. */
  storages: InventoryStorage[];
  /** Storages left out past the cap (the emptiest). */
  storagesOmitted: number;
  /** Null when the token may not read the backup jobs. */
  backupJobs: InventoryBackupJob[] | null;
  /** Least covered first, then by vmid; at most MAX_INVENTORY_GUESTS. */
  guests: InventoryGuest[];
  /** How many guests PVE listed to this token (more than `guests` holds past the cap). */
  guestsTotal: number;
  notVisible: (InventoryNote & { needs: string })[];
  /** Other limits of what was read (an offline node's storage, a cap). */
  notes: InventoryNote[];
}

/** A word on one part of the inventory: the storage chart or the backup table. */
export interface InventoryNote {
  about: "storage" | "backups";
  what: string;
}

export interface InventoryStorage {
  storage: string;
  /** The node of a node-local storage; null for a shared one. */
  node: string | null;
  type: string;
  shared: boolean;
  /** Bytes; null when PVE reports no usage (storage inactive, node offline). */
  used: number | null;
  total: number | null;
  content: string[];
}

export interface InventoryBackupJob {
  id: string;
  enabled: boolean;
  comment: string;
  schedule: string;
  storage: string;
}

/**
 * covered: in an enabled job with every disk; partial: in one, some disks left out;
 * disabled: only in disabled jobs; excluded: left out of an enabled "all" job;
 * none: in no job; unknown: the jobs are not visible.
 */
export type BackupState = "covered" | "partial" | "disabled" | "excluded" | "none" | "unknown";

export interface InventoryGuest {
  vmid: number;
  type: "qemu" | "lxc";
  name: string;
  node: string;
  tags: string[];
  template: boolean;
  state: BackupState;
  /** Ids of the enabled jobs that include it. */
  jobs: string[];
  /** Ids of disabled jobs that would include it. */
  disabledJobs: string[];
  /** Ids of enabled "all" jobs that exclude it. */
  excludedBy: string[];
  /** False when PVE hides this guest's backup volumes from the token (then lastBackup says nothing). */
  backupsVisible: boolean;
  /** The newest backup on the storages read; null when there is none there. */
  lastBackup: { time: number; storage: string } | null;
}

export interface RunAuditOptions {
  /** Leave out findings below this severity (visibility gaps are always kept). Default: all. */
  minSeverity?: Severity;
  /** Run only these check ids (default: all). Unknown ids throw, listing the known ones. */
  checks?: string[];
  signal?: AbortSignal;
  /** At most this many PVE requests at once (default 4). */
  concurrency?: number;
  /** The audit's clock (tests pin it); default: now. */
  now?: Date;
  /** Also read the inventory (storage fill, backup coverage) into the report, for the HTML report and JSON. */
  inventory?: boolean;
  /**
   * A Proxmox Backup Server to audit beside PVE (a PbsReader): with it the PBS checks run
   * too, over a cache and limiter of their own; without it none runs and nothing of PBS
   * appears in the report.
   */
  pbs?: AuditReader;
  /** How findings name that PBS (its host as configured); default "PBS". */
  pbsName?: string;
}

/** What the audit reads PVE through: GETs only (a PveReader is one, and so is a RunReader's asSource()). */
export type AuditReader = RunSource;

/**
 * What a check receives. Reads go through one per-run cache shared by every check (so
 * /cluster/resources, /access/users... are fetched once per run), and through one
 * limiter (at most `concurrency` PVE requests at once, whatever the checks do).
 */
export interface AuditContext {
  /** The audit's clock: compare ages against this, never against Date.now(). */
  readonly now: Date;
  /** Epoch seconds of `now` (PVE's time unit). */
  readonly nowSeconds: number;
  readonly signal: AbortSignal | undefined;
  /** PVE's `data` for GET `template`, memoised per run (same template, params and query: one request). */
  get<T>(template: string, params?: PathParams, query?: Query): Promise<T>;
  /**
   * Like get, but PVE's 403 becomes a visibility gap of this check ("could not check
   * `what`: needs ..."), and undefined is returned. `needs` is used when PVE's message
   * names no privilege.
   */
  getOrGap<T>(
    template: string,
    params: PathParams,
    what: string,
    needs: string,
    query?: Query,
  ): Promise<T | undefined>;
  /** Records a visibility gap: something this token could not see, and what would show it. */
  gap(what: string, needs: string, remediation?: string): void;
  /** Records a partial failure (one node did not answer...): reported in the report's errors; the check goes on. */
  fail(message: string): void;
  /** /cluster/resources (guests, nodes, storages), once per run. */
  resources(): Promise<ClusterResource[]>;
  /**
   * Whether the token holds `privilege` on `path` (any of several), from one GET
   * /access/permissions per run: the nearest listed path decides, a parent only when
   * the privilege propagates.
   */
  holds(path: string, privilege: string | readonly string[]): Promise<boolean>;
  /** Runs `fn` for every item, each failure (other than abort) recorded with fail(`label(item): message`). */
  each<T>(items: readonly T[], label: (item: T) => string, fn: (item: T) => Promise<void>): Promise<void>;
  /** The Proxmox Backup Server of this run; set for the PBS checks (service "pbs") only. */
  readonly pbs?: PbsAuditContext;
}

/**
 * A PBS check's reads of its PBS, like the PVE side's: memoised per run (one cache and
 * limiter shared by every PBS check), a 403 or a silently filtered list stated as a gap of
 * the check in PBS's terms ("needs Datastore.Audit on /datastore/x", fixed with
 * proxmox-backup-manager). A ModelReader, so the PBS read model (src/pbs/model) takes it.
 */
export interface PbsAuditContext extends ModelReader {
  /** How findings name this PBS: "PBS 192.0.2.60" reads well in a title. */
  readonly name: string;
  get<T>(template: string, params?: PathParams, query?: Query): Promise<T>;
  /** Like get, but PBS's 403 becomes a gap of this check, and undefined is returned. */
  getOrGap<T>(
    template: string,
    params: PathParams,
    what: string,
    needs: string,
    query?: Query,
  ): Promise<T | undefined>;
  /** Whether the PBS token holds one of `privilege` on the ACL path, by PBS's /access/permissions. */
  holds(path: string, privilege: string | readonly string[]): Promise<boolean>;
  /** A visibility gap on the PBS side: something the PBS token could not see, and what would show it. */
  gap(what: string, needs: string, remediation?: string): void;
}

/** A check is one declarative object; this only fixes its type. */
export function defineCheck(check: AuditCheck): AuditCheck {
  return check;
}
