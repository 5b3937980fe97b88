/**
 * Toolset "backup": vzdump jobs, backup coverage and snapshots.
 *
 * Coverage is computed here from the job list (enabled jobs only) and
 * /cluster/resources: PVE's own /cluster/backup-info/not-backed-up counts disabled
 * jobs as coverage (pve-manager BackupInfo.pm), so it is only a cross-check. Backup
 * volumes in storage content are hidden from a token without Datastore.AllocateSpace on
 * the storage and VM.Backup on the guest (check_volume_access): the answer says so and
 * falls back to the vzdump task logs. Only the scheduler's state file, which the API does
 * not serve, links a vzdump task to its job: a run is attributed to a job by the command
 * line its log starts with (fitOf).
 */
import { z } from "zod";
import { pveNode, pveVmid } from "../pve/formats.js";
import { PveApiError } from "../pve/errors.js";
import { defineTool, type ReadContext } from "./define.js";
import {
  jobCoverage,
  jobEnabled,
  jobSelection,
  type JobSelection,
  type PveBackupJob,
} from "../pve/model/backup.js";
import { mapLimit, NODE_CONCURRENCY } from "../pve/model/concurrency.js";
import { DAY, formatDuration, PACKED_AGE } from "../pve/model/duration.js";
import { clusterResources, isGuest, locateGuest, offlineNodesOf } from "../pve/model/resources.js";
import { taskSucceeded, type PveTask } from "../pve/model/tasks.js";
import { holds, neededBy } from "../pve/model/visibility.js";
import { nowSeconds, shortTime } from "./tasks.js";
import { paginate, pagingInput, pagingOutput, PAGED_RESULT_CHARS } from "./paging.js";
import { cleanText, fence, LIMITS, quoted } from "../untrusted.js";
import { gapsField, gapText } from "./visibility.js";

/** vzdump task logs read per call, newest first. */
const HISTORY_MAX_TASKS = 16;
/** A job's log is one line per step: 2,000 lines cover a run of a few hundred guests. */
const LOG_LINES = 2000;
/** Snapshots older than this are flagged. */
const OLD_SNAPSHOT_DAYS = 30;
const COMMENT_MAX = 200;

const ageDays = (t: number, now: number) => Math.max(0, Math.floor((now - t) / DAY));

/** A failure of one of several per-node/per-storage requests, as one short line (the signal still aborts). */
function failureText(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) throw err;
  if (err instanceof PveApiError) {
    if (err.status === 595 || err.status === 596) return "node not reachable (offline?)";
    return `PVE answered ${err.status}: ${quoted(err.pveMessage, 160)}`;
  }
  return cleanText(err instanceof Error ? err.message : String(err), 160);
}

// ---------------------------------------------------------------------------------------
// Jobs

function selectionText(sel: JobSelection): string {
  const node = sel.node ? ` on node ${sel.node}` : "";
  const except = sel.exclude.length ? ` except ${sel.exclude.join(",")}` : "";
  if (sel.kind === "all") return `all guests${node}${except}`;
  if (sel.kind === "pool") return `pool ${sel.pool}${node}`;
  return `${sel.vmids.length ? `vmids ${sel.vmids.join(",")}` : "no guest"}${node}`;
}

function retentionText(value: PveBackupJob["prune-backups"]): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value === "string") return cleanText(value, 200);
  return Object.entries(value)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

// ---------------------------------------------------------------------------------------
// vzdump task history

/**
 * A vzdump command line's options as PVE::VZDump::Common::command_line prints them: the
 * guests first (under `vmid`, as jobs.cfg names them), then ` --key value` for each
 * parameter in Perl's hash order (random), values shell-quoted.
 */
type VzdumpCommand = Map<string, string>;

interface GuestOutcome {
  ok: boolean;
  error?: string;
}

interface VzdumpRun {
  upid: string;
  node: string;
  starttime: number;
  endtime?: number;
  /** PVE's exit status, or "running". */
  status: string;
  ok: boolean | null;
  command?: VzdumpCommand;
  guests: Map<number, GuestOutcome>;
  /** Why the log could not be read. */
  logError?: string;
}

interface History {
  runs: VzdumpRun[];
  /** Every vzdump task of the cluster since this time was read (get_backup_jobs). */
  since: number;
  /** vzdump tasks in the window whose logs were not read (beyond HISTORY_MAX_TASKS). */
  unread: number;
  /** Per node: every vzdump task since this time is known with its guests (get_backup_coverage). */
  nodeSince: Map<string, number>;
  warnings: string[];
}

/**
 * Shell words as String::ShellQuote (PVE::Tools::shellquote) writes them: single quotes,
 * a quote inside them as '\'' and a run of quotes as '"''"'.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  let escaped = false;
  for (const ch of line) {
    if (escaped) {
      current += ch;
      escaped = false;
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === "\\") {
      escaped = true;
      inWord = true;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

const JOB_START = /^INFO: starting new backup job: vzdump(?:\s+(.*))?$/;

export function parseVzdumpCommand(args: string): VzdumpCommand {
  const options: VzdumpCommand = new Map();
  const vmids: string[] = [];
  const words = shellWords(args);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word.startsWith("--")) {
      options.set(word.slice(2), words[i + 1] ?? "");
      i++;
    } else {
      vmids.push(word);
    }
  }
  if (vmids.length) options.set("vmid", vmids.join(" "));
  return options;
}

const sameSet = (a: readonly number[], b: readonly number[]) => {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((v) => sb.has(v));
};

/** The guests a command line asks for, read with the precedence of a job's (pool, vmid, all). */
const commandSelection = (cmd: VzdumpCommand): JobSelection =>
  jobSelection({
    vmid: cmd.get("vmid"),
    pool: cmd.get("pool"),
    all: cmd.get("all"),
    exclude: cmd.get("exclude"),
  });

/** get_included_guests reads `exclude` only with `all`. */
function sameSelection(a: JobSelection, b: JobSelection): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "all") return sameSet(a.exclude, b.exclude);
  if (a.kind === "pool") return a.pool === b.pool;
  return sameSet(a.vmids, b.vmids);
}

/** jobs.cfg keys that are no vzdump option, or that fitOf compares on their own. */
const NOT_OPTIONS = new Set([
  "id",
  "type",
  "schedule",
  "starttime",
  "dow",
  "enabled",
  "comment",
  "next-run",
  "repeat-missed",
  "vmid",
  "pool",
  "all",
  "exclude",
  "storage",
  "node",
]);
const PROPERTY_STRINGS = new Set(["prune-backups", "fleecing", "performance"]);

/** An option's value as command_line prints it, property strings and mailto in a fixed order. */
function optionText(key: string, value: unknown): string {
  if (PROPERTY_STRINGS.has(key)) {
    const parts =
      typeof value === "object" && value !== null
        ? Object.entries(value).map(([k, v]) => `${k}=${String(v)}`)
        : String(value).split(",");
    return parts.sort().join(",");
  }
  if (key === "mailto")
    return String(value)
      .split(/[,;\s]+/)
      .filter(Boolean)
      .join(",");
  return String(value);
}

interface Fit {
  /** Storage and node printed exactly as the job has them (0-2). */
  exact: number;
  /** The job's other options that the run printed otherwise or not at all. */
  differing: number;
}

/**
 * How well a run fits a job, or undefined when its command line contradicts the job.
 * Before PVE printed the job's id (--job-id), only the scheduler's state file (Jobs.pm
 * started_job), which the API does not serve, bound a run to its job, so this reads what
 * each way of starting a job prints:
 * - the scheduler passes the job's options, `node` included, and always `quiet 1`
 *   (Jobs/VZDump.pm);
 * - the GUI's "Run now" posts them without `node` to /nodes/{node}/vzdump of the job's
 *   node or of every online node, and the URL's node becomes the `node` parameter
 *   (HTTPServer.pm), so a job without a node prints `--node` too, which then says nothing
 *   about the job; it always sends `all` (dc/Backup.js);
 * - a job without storage prints none: vzdump.conf's default is applied after printing.
 */
function fitOf(run: VzdumpRun, cmd: VzdumpCommand, job: PveBackupJob): Fit | undefined {
  if (!sameSelection(jobSelection(job), commandSelection(cmd))) return undefined;
  const storage = cmd.get("storage");
  if (job.storage && storage && storage !== job.storage) return undefined;
  const node = cmd.get("node");
  if (job.node) {
    if (run.node !== job.node || (node !== undefined && node !== job.node)) return undefined;
  } else if (node !== undefined && !cmd.has("all")) {
    return undefined;
  }
  let differing = 0;
  for (const [key, value] of Object.entries(job)) {
    if (NOT_OPTIONS.has(key) || value === undefined) continue;
    const printed = cmd.get(key);
    if (printed === undefined || optionText(key, printed) !== optionText(key, value)) differing++;
  }
  const scheduled = cmd.get("quiet") === "1";
  return {
    exact:
      Number((job.storage || undefined) === storage) + Number(scheduled && (job.node || undefined) === node),
    differing,
  };
}

/**
 * The jobs each run belongs to. A run that prints its job's id belongs to that job. Other
 * runs count only when started as a job is (the scheduler's `quiet 1`, "Run now"'s `all`):
 * a guest's "Backup now" or a vzdump typed in a shell is no run of any job, however well
 * it fits, so it cannot hide a job's failed or missed run. Those go to the jobs they fit
 * best, by storage and node first, then by the fewest other options printed otherwise
 * (jobs get edited, so those only break ties). Jobs still tied share the run and are told
 * so: telling them apart by schedule would need PVE's calendar events in the node's time
 * zone, which /cluster/backup does not give.
 */
function jobsOfRuns(jobs: readonly PveBackupJob[], runs: readonly VzdumpRun[]): Map<VzdumpRun, string[]> {
  const owners = new Map<VzdumpRun, string[]>();
  for (const run of runs) {
    const cmd = run.command;
    if (!cmd) continue;
    const jobId = cmd.get("job-id");
    if (jobId !== undefined) {
      if (jobs.some((job) => job.id === jobId)) owners.set(run, [jobId]);
      continue;
    }
    if (cmd.get("quiet") !== "1" && !cmd.has("all")) continue;
    const fits = jobs.flatMap((job) => {
      const fit = fitOf(run, cmd, job);
      return fit ? [{ id: job.id, ...fit }] : [];
    });
    if (!fits.length) continue;
    const exact = Math.max(...fits.map((f) => f.exact));
    const closest = fits.filter((f) => f.exact === exact);
    const differing = Math.min(...closest.map((f) => f.differing));
    owners.set(
      run,
      closest.filter((f) => f.differing === differing).map((f) => f.id),
    );
  }
  return owners;
}

function parseRunLog(run: VzdumpRun, lines: string[]): void {
  for (const line of lines) {
    const start = JOB_START.exec(line);
    if (start) {
      run.command ??= parseVzdumpCommand(start[1] ?? "");
      continue;
    }
    const done = /^INFO: Finished Backup of VM (\d+)/.exec(line);
    if (done) {
      run.guests.set(Number(done[1]), { ok: true });
      continue;
    }
    const failed = /^ERROR: Backup of VM (\d+) failed - (.*)$/.exec(line);
    if (failed) run.guests.set(Number(failed[1]), { ok: false, error: cleanText(failed[2] ?? "", 200) });
  }
}

const singleGuest = (t: PveTask) => (t.id && /^\d+$/.test(t.id) ? Number(t.id) : undefined);

/**
 * The runs of `tasks` (newest first): the logs of at most HISTORY_MAX_TASKS of them are
 * read, 4 at a time. A one-guest task names its guest in its id, so its log is read only
 * when the command line is wanted (to match it to a job).
 */
async function readRuns(
  ctx: ReadContext,
  tasks: readonly PveTask[],
  offline: readonly string[],
  wantCommand: boolean,
): Promise<{ runs: VzdumpRun[]; unread: PveTask[]; warnings: string[] }> {
  const warnings: string[] = [];
  const runs = tasks.map((t): VzdumpRun => {
    const finished = t.endtime !== undefined || (t.status !== undefined && t.status !== "RUNNING");
    const run: VzdumpRun = {
      upid: t.upid,
      node: t.node,
      starttime: t.starttime,
      endtime: t.endtime,
      status: finished ? cleanText(t.status ?? "unknown", 120) : "running",
      ok: finished ? taskSucceeded(t.status) : null,
      guests: new Map(),
    };
    const vmid = singleGuest(t);
    if (vmid !== undefined && finished) {
      run.guests.set(vmid, taskSucceeded(t.status) ? { ok: true } : { ok: false, error: run.status });
    }
    return run;
  });
  const needLog = runs.filter((r, i) => wantCommand || singleGuest(tasks[i] as PveTask) === undefined);
  const read = needLog.slice(0, HISTORY_MAX_TASKS);
  const unreadUpids = new Set(needLog.slice(HISTORY_MAX_TASKS).map((r) => r.upid));
  await mapLimit(read, NODE_CONCURRENCY, async (run) => {
    if (offline.includes(run.node)) {
      run.logError = `node ${run.node} is offline`;
      return;
    }
    try {
      const log = await ctx.read.get<{ n: number; t: string }[]>(
        "/nodes/{node}/tasks/{upid}/log",
        { node: run.node, upid: run.upid },
        { start: 0, limit: LOG_LINES },
      );
      parseRunLog(
        run,
        log.map((l) => l.t),
      );
    } catch (err) {
      if (err instanceof PveApiError && err.status === 403) {
        ctx.read.gap(
          `logs of other users' vzdump tasks on ${run.node}`,
          neededBy(err) ?? `Sys.Audit on /nodes/${run.node}`,
        );
      }
      run.logError = failureText(err, ctx.signal);
      warnings.push(`log of ${run.upid} not read: ${run.logError}`);
    }
  });
  return { runs, unread: tasks.filter((t) => unreadUpids.has(t.upid)), warnings };
}

/**
 * get_backup_jobs: the cluster's recent vzdump tasks from one /cluster/tasks call (the
 * caller read /cluster/backup, so it has Sys.Audit on / and PVE lists every user's tasks).
 */
async function clusterHistory(ctx: ReadContext, windowDays: number): Promise<History> {
  const now = nowSeconds();
  const start = now - windowDays * DAY;
  const tasks = await ctx.read.get<PveTask[]>("/cluster/tasks");
  const recent = tasks
    .filter((t) => t.type === "vzdump" && t.starttime >= start)
    .sort((a, b) => b.starttime - a.starttime);
  const { runs, unread, warnings } = await readRuns(ctx, recent, [], true);
  const newestUnread = unread[0];
  return {
    runs: runs.filter((r) => !unread.some((t) => t.upid === r.upid)),
    since: newestUnread ? newestUnread.starttime + 1 : start,
    unread: unread.length,
    nodeSince: new Map(),
    warnings,
  };
}

/**
 * get_backup_coverage, when backup volumes are hidden: each online node's task archive
 * (/nodes/{node}/tasks, typefilter vzdump, complete unlike the cluster's short recent-task
 * list), one request per node, 4 at a time, then the logs of the multi-guest runs.
 */
async function nodeHistory(ctx: ReadContext, nodes: readonly string[], windowDays: number): Promise<History> {
  const now = nowSeconds();
  const start = now - windowDays * DAY;
  const warnings: string[] = [];
  const nodeSince = new Map<string, number>();
  const perNode = await mapLimit(nodes, NODE_CONCURRENCY, async (node) => {
    try {
      const { data, total } = await ctx.read.getWithTotal<PveTask[]>(
        "/nodes/{node}/tasks",
        { node },
        { typefilter: "vzdump", since: start, limit: 100 },
      );
      const tasks = data.filter((t) => t.type === "vzdump").map((t) => ({ ...t, node: t.node || node }));
      const oldest = tasks.reduce((m, t) => Math.min(m, t.starttime), now);
      nodeSince.set(node, total !== undefined && total > data.length ? oldest : start);
      return tasks;
    } catch (err) {
      if (err instanceof PveApiError && err.status === 403) {
        ctx.read.gap(`task history of ${node}`, neededBy(err) ?? `Sys.Audit on /nodes/${node}`);
      } else {
        warnings.push(`task history of ${node} not read: ${failureText(err, ctx.signal)}`);
      }
      return [];
    }
  });
  const tasks = perNode.flat().sort((a, b) => b.starttime - a.starttime);
  const read = await readRuns(ctx, tasks, [], false);
  for (const t of read.unread) {
    // Everything newer than an unread log is known.
    nodeSince.set(t.node, Math.max(nodeSince.get(t.node) ?? start, t.starttime + 1));
  }
  for (const r of read.runs) {
    if (r.logError) nodeSince.set(r.node, Math.max(nodeSince.get(r.node) ?? start, r.starttime + 1));
  }
  return {
    runs: read.runs.filter((r) => !read.unread.some((t) => t.upid === r.upid)),
    since: Math.min(start, ...nodeSince.values()),
    unread: read.unread.length,
    nodeSince,
    warnings: [...warnings, ...read.warnings],
  };
}

const lastRunSchema = z.object({
  starttime: z.number(),
  ok: z.boolean().nullable(),
  nodes: z.array(
    z.object({ node: z.string(), status: z.string(), upid: z.string(), logError: z.string().optional() }),
  ),
  failedGuests: z.array(z.object({ vmid: z.number().int(), error: z.string() })),
  backedUpGuests: z.array(z.number().int()),
  /** Other jobs whose options fit these tasks as well as this job's. */
  alsoFits: z.array(z.string()).optional(),
});
type LastRun = z.infer<typeof lastRunSchema>;

/** The newest run of a job: its tasks on every node, started within 30 minutes of each other. */
function lastRunOf(
  job: PveBackupJob,
  runs: readonly VzdumpRun[],
  owners: ReadonlyMap<VzdumpRun, string[]>,
): LastRun | null {
  const mine = runs.filter((r) => owners.get(r)?.includes(job.id));
  const newest = mine[0];
  if (!newest) return null;
  const group = mine.filter((r) => Math.abs(r.starttime - newest.starttime) <= 1800);
  const others = [...new Set(group.flatMap((r) => owners.get(r) ?? []))].filter((id) => id !== job.id);
  const failed = new Map<number, string>();
  const done = new Set<number>();
  for (const r of group) {
    for (const [vmid, outcome] of r.guests) {
      if (outcome.ok) done.add(vmid);
      else failed.set(vmid, outcome.error ?? "failed");
    }
  }
  const oks = group.map((r) => r.ok);
  return {
    starttime: Math.min(...group.map((r) => r.starttime)),
    ok: oks.includes(false) ? false : oks.includes(null) ? null : true,
    nodes: group
      .map((r) => ({
        node: r.node,
        status: r.status,
        upid: r.upid,
        ...(r.logError ? { logError: r.logError } : {}),
      }))
      .sort((a, b) => a.node.localeCompare(b.node)),
    failedGuests: [...failed].sort(([a], [b]) => a - b).map(([vmid, error]) => ({ vmid, error })),
    backedUpGuests: [...done].sort((a, b) => a - b),
    ...(others.length ? { alsoFits: others.map((id) => cleanText(id, LIMITS.name)) } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// get_backup_jobs

const jobSchema = z.object({
  id: z.string(),
  enabled: z.boolean(),
  schedule: z.string(),
  nextRun: z.number().nullable(),
  storage: z.string().nullable(),
  selection: z.object({
    kind: z.enum(["all", "vmids", "pool"]),
    vmids: z.array(z.number().int()),
    pool: z.string().optional(),
    exclude: z.array(z.number().int()),
    node: z.string().optional(),
  }),
  mode: z.string(),
  retention: z.string().nullable(),
  retentionFrom: z.enum(["job", "storage", "unset", "unknown"]),
  comment: z.string().optional(),
  lastRun: lastRunSchema.nullable(),
  flags: z.array(z.string()),
});

export const getBackupJobs = defineTool({
  name: "get_backup_jobs",
  title: "Backup jobs",
  description:
    "vzdump jobs: enabled, schedule and next run, storage, selection, mode, retention, and the last run with failed guests (from task logs).",
  toolset: "backup",
  tier: "read",
  input: {},
  output: {
    jobs: z.array(jobSchema),
    /** Runs were looked for in the vzdump tasks since this time. */
    historySince: z.number(),
    warnings: z.array(z.string()),
    gaps: gapsField,
  },
  needs: [{ path: "/", privileges: ["Sys.Audit"] }],
  async handle(_args, ctx) {
    const now = nowSeconds();
    const warnings: string[] = [];
    type StorageCfg = { storage: string; "prune-backups"?: string; maxfiles?: number };
    const [raw, storages] = await Promise.all([
      ctx.read.get<PveBackupJob[]>("/cluster/backup"),
      // Where a job sets no retention, the storage's prune-backups applies.
      ctx.read.get<StorageCfg[]>("/storage").catch((err: unknown) => {
        warnings.push(`storage.cfg not read (retention defaults unknown): ${failureText(err, ctx.signal)}`);
        return undefined;
      }),
    ]);
    const empty: History = { runs: [], since: now, unread: 0, nodeSince: new Map(), warnings: [] };
    const history = raw.length
      ? await clusterHistory(ctx, 8).catch((err: unknown) => {
          warnings.push(`task history not read (last runs unknown): ${failureText(err, ctx.signal)}`);
          return empty;
        })
      : { ...empty, since: now - 8 * DAY };
    warnings.push(...history.warnings);
    const owners = jobsOfRuns(raw, history.runs);
    const jobs = raw.map((job) => {
      const enabled = jobEnabled(job);
      const schedule = job.schedule ?? [job.dow, job.starttime].filter(Boolean).join(" ");
      const own =
        retentionText(job["prune-backups"]) ?? (job.maxfiles ? `maxfiles=${job.maxfiles}` : undefined);
      const storage = job.storage ? storages?.find((s) => s.storage === job.storage) : undefined;
      const fromStorage =
        retentionText(storage?.["prune-backups"]) ??
        (storage?.maxfiles ? `maxfiles=${storage.maxfiles}` : undefined);
      if (!own && job.storage && storages && !storage) {
        ctx.read.gap(
          `retention configured on storage ${job.storage}`,
          `Datastore.Audit on /storage/${job.storage}`,
        );
      }
      const lastRun = lastRunOf(job, history.runs, owners);
      const flags: string[] = [];
      if (!enabled) flags.push("disabled");
      if (enabled && !lastRun && history !== empty) flags.push("no-recent-run-seen");
      if (lastRun?.ok === false) flags.push("last-run-failed");
      if (!own && !fromStorage && storages) flags.push("retention-unset");
      return {
        id: cleanText(job.id, LIMITS.name),
        enabled,
        schedule: cleanText(schedule, 100),
        nextRun: enabled ? (job["next-run"] ?? null) : null,
        storage: job.storage ?? null,
        selection: jobSelection(job),
        mode: job.mode ?? "snapshot",
        retention: own ?? fromStorage ?? null,
        retentionFrom: own
          ? ("job" as const)
          : fromStorage
            ? ("storage" as const)
            : storages
              ? ("unset" as const)
              : ("unknown" as const),
        ...(job.comment ? { comment: cleanText(job.comment, COMMENT_MAX) } : {}),
        lastRun,
        flags,
      };
    });
    const enabledCount = jobs.filter((j) => j.enabled).length;
    const withoutCommand = history.runs.filter((r) => !r.command).length;
    // Says why no run was found, so a reader can tell a job that did not run from one not matched.
    const noRun =
      history === empty
        ? "last run: unknown (task history not read)"
        : history.runs.length
          ? `last run: none of the ${history.runs.length} vzdump run(s) read is this job's (its --job-id, or started by the scheduler or Run now with its selection, storage and node)` +
            (withoutCommand ? ` (${withoutCommand} without a readable command line)` : "")
          : `last run: no vzdump run since ${shortTime(history.since)}`;
    const lines = jobs.map((j) => {
      const state = j.enabled
        ? `enabled, "${j.schedule}", next ${j.nextRun ? shortTime(j.nextRun) : "unknown"}`
        : `DISABLED ("${j.schedule}", does not run)`;
      const retention = j.retention
        ? `retention ${j.retention}${j.retentionFrom === "storage" ? " (storage default)" : ""}`
        : j.retentionFrom === "unknown"
          ? "retention not set on the job (storage default unknown)"
          : "retention unset on job and storage (node's vzdump.conf decides)";
      let last = noRun;
      if (j.lastRun) {
        const r = j.lastRun;
        const perNode = r.nodes
          .map(
            (n) =>
              `${n.node} ${n.status === "OK" ? "OK" : JSON.stringify(n.status)}${n.logError ? ` (log: ${n.logError})` : ""}`,
          )
          .join(", ");
        const failed = r.failedGuests.map((f) => `VM ${f.vmid}: ${JSON.stringify(f.error)}`).join("; ");
        last =
          `last run ${shortTime(r.starttime)} (${formatDuration(now - r.starttime, PACKED_AGE)} ago): ${r.ok === false ? "FAILED" : r.ok ? "ok" : "running"} [${perNode}]` +
          `${failed ? `; failed guests: ${failed}` : ""}` +
          `${r.alsoFits ? `; its command line fits ${r.alsoFits.join(", ")} as well` : ""}`;
      }
      return (
        `${j.id} ${state} -> ${j.storage ?? "(default storage)"}, ${selectionText(j.selection)}, mode ${j.mode}, ${retention}` +
        `${j.comment ? `, comment ${JSON.stringify(j.comment)}` : ""}\n  ${last}`
      );
    });
    const head = raw.length
      ? `${jobs.length} backup job(s): ${enabledCount} enabled, ${jobs.length - enabledCount} DISABLED`
      : "no backup job configured: nothing is backed up on a schedule";
    const historyNote = raw.length
      ? `last runs from the logs of ${history.runs.length} vzdump task(s) since ${shortTime(history.since)}` +
        (history.unread ? ` (${history.unread} older ones in the window not read)` : "") +
        "; PVE's API does not link tasks to jobs: a run is matched by the selection, storage and node on its command line"
      : "";
    return {
      text: [head, ...lines, historyNote, ...warnings.map((w) => `WARNING: ${w}`), gapText(ctx.read.gaps)]
        .filter(Boolean)
        .join("\n"),
      structured: {
        jobs,
        historySince: history.since,
        warnings,
        gaps: ctx.read.gaps,
      },
    };
  },
});

// ---------------------------------------------------------------------------------------
// get_backup_coverage

interface BackupVolume {
  vmid: number;
  ctime: number;
  storage: string;
  shared: boolean;
}

interface PveVolume {
  volid: string;
  content?: string;
  ctime?: number;
  vmid?: number | string;
}

const REMOTE_PLUGINS = new Set(["pbs", "nfs", "cifs", "cephfs", "rbd", "glusterfs", "iscsi"]);

const coverageGuest = z.object({
  vmid: z.number().int(),
  name: z.string(),
  type: z.string(),
  node: z.string(),
  template: z.boolean(),
  enabledJobs: z.array(z.string()),
  disabledJobs: z.array(z.string()),
  lastBackup: z
    .object({
      at: z.number(),
      ageDays: z.number().int(),
      source: z.enum(["storage", "task-log"]),
      storage: z.string().optional(),
      node: z.string().optional(),
    })
    .nullable(),
  backupsVisible: z.boolean(),
  lastAttemptFailed: z.object({ at: z.number(), error: z.string() }).optional(),
  /** Backups hidden: no successful backup in the node's vzdump task archive since then. */
  noBackupLoggedSince: z.number().optional(),
  flags: z.array(z.string()),
});
type CoverageGuest = z.infer<typeof coverageGuest>;

/** One line per guest: coverage, last backup, last failure. */
function coverageLine(r: CoverageGuest): string {
  const has = (flag: string) => r.flags.includes(flag);
  const coverage = r.enabledJobs.length
    ? `job ${r.enabledJobs.join(",")}`
    : r.disabledJobs.length
      ? `NOT COVERED (only disabled job(s) ${r.disabledJobs.join(",")})`
      : "NOT COVERED (no job)";
  let backup: string;
  if (r.lastBackup) {
    const where = r.lastBackup.storage ? `on ${r.lastBackup.storage}` : "per task log";
    backup =
      `${has("stale") ? "STALE: " : ""}last backup ${shortTime(r.lastBackup.at)} (${r.lastBackup.ageDays}d) ${where}` +
      (has("local-only") ? ", ONLY ON NODE-LOCAL STORAGE" : "");
  } else if (has("no-backup-found")) {
    backup = "NO BACKUP";
  } else if (r.noBackupLoggedSince !== undefined) {
    backup = `STALE: no backup logged since ${shortTime(r.noBackupLoggedSince)}`;
  } else {
    backup = has("backups-unread")
      ? "last backup unknown (not readable now)"
      : "last backup unknown (hidden)";
  }
  const failed = r.lastAttemptFailed
    ? `; LAST ATTEMPT FAILED ${shortTime(r.lastAttemptFailed.at)}: ${JSON.stringify(r.lastAttemptFailed.error)}`
    : "";
  return `${r.vmid} ${r.type} ${r.node}${r.template ? " template" : ""} ${JSON.stringify(r.name)}: ${coverage}; ${backup}${failed}`;
}

export const getBackupCoverage = defineTool({
  name: "get_backup_coverage",
  title: "Backup coverage",
  description:
    "Guests without an ENABLED backup job (PVE's own report counts disabled jobs), last backup per guest where visible, stale or node-local-only backups. Lists problems only unless include_ok.",
  toolset: "backup",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    max_age_days: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(7)
      .describe("flag guests whose last backup is older than this"),
    include_ok: z.boolean().default(false).describe("also list guests without any problem"),
    ...pagingInput(50),
  },
  output: {
    ...pagingOutput,
    summary: z.object({
      guests: z.number().int(),
      jobs: z.number().int(),
      enabledJobs: z.number().int(),
      coveredByEnabledJob: z.number().int(),
      notCovered: z.number().int(),
      onlyDisabledJobs: z.number().int(),
      withProblems: z.number().int(),
    }),
    pveNotBackedUp: z
      .object({ vmids: z.array(z.number().int()), missedBecauseOfDisabledJobs: z.array(z.number().int()) })
      .nullable(),
    lastBackupSource: z.enum(["storage", "task-log", "storage+task-log"]),
    history: z
      .object({ since: z.number(), tasksRead: z.number().int(), unread: z.number().int() })
      .nullable(),
    offlineNodes: z.array(z.string()),
    warnings: z.array(z.string()),
    gaps: gapsField,
    guests: z.array(coverageGuest),
  },
  needs: [
    { path: "/", privileges: ["Sys.Audit"] },
    { path: "/vms/{vmid}", privileges: ["VM.Audit"] },
  ],
  async handle(args, ctx) {
    const now = nowSeconds();
    const maxAge = args.max_age_days;
    const [jobs, resources, pveReport, perms] = await Promise.all([
      ctx.read.get<PveBackupJob[]>("/cluster/backup"),
      clusterResources(ctx.read),
      ctx.read.readOrGap<{ vmid: number }[]>(
        "/cluster/backup-info/not-backed-up",
        {},
        "PVE's own not-backed-up report",
        "Sys.Audit on /",
      ),
      ctx.read.permissions(),
    ]);
    const warnings: string[] = [];
    const offline = offlineNodesOf(resources);
    const guests = resources.filter(isGuest).sort((a, b) => (a.vmid as number) - (b.vmid as number));
    if (!guests.length) ctx.read.gap("guests (none visible)", "VM.Audit on /vms or on the guests");
    const coverage = await jobCoverage(ctx.read, jobs, guests);

    // Backup volumes: which storages hold backups, and what this token may see there.
    const storageEntries = resources.filter(
      (r) => r.type === "storage" && r.storage && r.node && (r.content ?? "").split(",").includes("backup"),
    );
    // No backup storage: either none exists, or this token cannot see the storages at all.
    const storagesHidden = !storageEntries.length && !holds(perms, "/storage", "Datastore.Audit");
    if (storagesHidden) ctx.read.gap("backup storages", "Datastore.Audit on /storage");
    else if (!storageEntries.length) warnings.push("no storage holds backups (content type 'backup')");
    const storageIds = [...new Set(storageEntries.map((r) => r.storage as string))].sort();
    const visibleFor = (storage: string, vmid: number) =>
      holds(perms, `/storage/${storage}`, "Datastore.Allocate") ||
      (holds(perms, `/storage/${storage}`, "Datastore.AllocateSpace") &&
        holds(perms, `/vms/${vmid}`, "VM.Backup"));
    const hiddenOn = new Map<string, number[]>();
    for (const storage of storageIds) {
      const hidden = guests
        .filter((g) => !visibleFor(storage, g.vmid as number))
        .map((g) => g.vmid as number);
      if (hidden.length) hiddenOn.set(storage, hidden);
    }
    for (const [storage, hidden] of hiddenOn) {
      if (hidden.length === guests.length) {
        ctx.read.gap(
          `backup volumes on ${storage} (PVE lists the storage without them)`,
          `Datastore.AllocateSpace on /storage/${storage} and VM.Backup on /vms, or Datastore.Allocate on /storage/${storage}`,
        );
      } else {
        ctx.read.gap(
          `backup volumes of ${hidden.length} guest(s) on ${storage}: ${hidden.slice(0, 20).join(",")}${hidden.length > 20 ? ",..." : ""}`,
          "VM.Backup on /vms/<vmid>",
        );
      }
    }
    // One request per shared storage, one per node for the others; none where nothing is visible.
    const targets: { storage: string; node: string; shared: boolean; local: boolean }[] = [];
    const unreadShared = new Set<string>();
    const unreadLocal = new Set<string>();
    for (const storage of storageIds) {
      if (hiddenOn.get(storage)?.length === guests.length && guests.length > 0) continue;
      const entries = storageEntries.filter((r) => r.storage === storage);
      const shared = entries.some((r) => r.shared === 1);
      const remote = shared || entries.some((r) => REMOTE_PLUGINS.has(r.plugintype ?? ""));
      const online = entries.filter((r) => !offline.includes(r.node as string) && r.status !== "unknown");
      if (shared) {
        const first = online[0];
        if (first) targets.push({ storage, node: first.node as string, shared: remote, local: false });
        else {
          unreadShared.add(storage);
          warnings.push(`storage ${storage}: no online node to read it from`);
        }
      } else {
        for (const r of entries) {
          if (offline.includes(r.node as string)) {
            unreadLocal.add(r.node as string);
            warnings.push(`backups on ${storage}@${r.node} not read: node ${r.node} is offline`);
          } else {
            targets.push({ storage, node: r.node as string, shared: remote, local: true });
          }
        }
      }
    }
    const volumes: BackupVolume[] = [];
    const lastOn = new Map<number, { at: number; storage: string; node: string }>();
    await mapLimit(targets, NODE_CONCURRENCY, async (t) => {
      try {
        const list = await ctx.read.get<PveVolume[]>(
          "/nodes/{node}/storage/{storage}/content",
          { node: t.node, storage: t.storage },
          { content: "backup" },
        );
        for (const v of list) {
          if (v.content !== undefined && v.content !== "backup") continue;
          const vmid =
            v.vmid !== undefined
              ? Number(v.vmid)
              : Number(/vzdump-(?:qemu|lxc|openvz)-(\d+)-/.exec(v.volid)?.[1]);
          if (!Number.isInteger(vmid) || v.ctime === undefined) continue;
          volumes.push({ vmid, ctime: v.ctime, storage: t.storage, shared: t.shared });
          const prev = lastOn.get(vmid);
          if (!prev || v.ctime > prev.at) {
            lastOn.set(vmid, { at: v.ctime, storage: t.storage, node: t.node });
          }
        }
      } catch (err) {
        if (t.local) unreadLocal.add(t.node);
        else unreadShared.add(t.storage);
        if (err instanceof PveApiError && err.status === 403) {
          ctx.read.gap(
            `content of ${t.storage}@${t.node}`,
            neededBy(err) ?? `Datastore.Audit on /storage/${t.storage}`,
          );
        } else {
          warnings.push(`backups on ${t.storage}@${t.node} not read: ${failureText(err, ctx.signal)}`);
        }
      }
    });

    // Guests whose backups this token cannot see: fall back to the vzdump task logs.
    const hiddenGuests = new Set([...hiddenOn.values()].flat());
    const useHistory = hiddenGuests.size > 0 || (storagesHidden && guests.length > 0);
    const onlineNodes = resources
      .filter((r) => r.type === "node" && r.node && !offline.includes(r.node))
      .map((r) => r.node as string)
      .sort();
    const history = useHistory ? await nodeHistory(ctx, onlineNodes, Math.max(8, maxAge + 1)) : undefined;
    if (history) warnings.push(...history.warnings);
    const fromLogs = new Map<number, { ok?: number; failed?: { at: number; error: string } }>();
    for (const run of history?.runs ?? []) {
      for (const [vmid, outcome] of run.guests) {
        const seen = fromLogs.get(vmid) ?? {};
        if (outcome.ok && (seen.ok === undefined || run.starttime > seen.ok)) seen.ok = run.starttime;
        if (!outcome.ok && (!seen.failed || run.starttime > seen.failed.at)) {
          seen.failed = { at: run.starttime, error: outcome.error ?? "failed" };
        }
        fromLogs.set(vmid, seen);
      }
    }

    const rows: CoverageGuest[] = guests.map((g) => {
      const vmid = g.vmid as number;
      const enabledJobs = coverage.enabled.get(vmid) ?? [];
      const disabledJobs = coverage.disabled.get(vmid) ?? [];
      const flags: string[] = [];
      if (!enabledJobs.length) flags.push("not-covered");
      if (!enabledJobs.length && disabledJobs.length) flags.push("disabled-jobs-only");
      const hidden = hiddenGuests.has(vmid) || storagesHidden;
      const unread = unreadShared.size > 0 || unreadLocal.has(g.node ?? "");
      const visible = !hidden && !unread;
      const own = volumes.filter((v) => v.vmid === vmid);
      const onStorage = lastOn.get(vmid);
      const logs = fromLogs.get(vmid);
      let lastBackup: CoverageGuest["lastBackup"] = null;
      if (onStorage) {
        lastBackup = {
          at: onStorage.at,
          ageDays: ageDays(onStorage.at, now),
          source: "storage",
          storage: onStorage.storage,
          node: onStorage.node,
        };
      }
      if (logs?.ok !== undefined && (!lastBackup || logs.ok > lastBackup.at)) {
        lastBackup = { at: logs.ok, ageDays: ageDays(logs.ok, now), source: "task-log" };
      }
      if (lastBackup) {
        if (now - lastBackup.at > maxAge * DAY) flags.push("stale");
      } else if (visible) {
        flags.push("no-backup-found");
      }
      const knownSince = history?.nodeSince.get(g.node ?? "");
      const notLoggedSince =
        !lastBackup && !visible && knownSince !== undefined && now - knownSince >= maxAge * DAY
          ? knownSince
          : undefined;
      if (notLoggedSince !== undefined) flags.push("stale");
      if (own.length && own.every((v) => !v.shared)) flags.push("local-only");
      const failed =
        logs?.failed && (logs.ok === undefined || logs.failed.at > logs.ok) ? logs.failed : undefined;
      if (failed) flags.push("last-attempt-failed");
      if (!lastBackup && hidden) flags.push("backups-hidden");
      else if (!lastBackup && unread) flags.push("backups-unread");
      return {
        vmid,
        name: cleanText(g.name ?? "", LIMITS.name),
        type: g.type,
        node: g.node ?? "",
        template: g.template === 1,
        enabledJobs,
        disabledJobs,
        lastBackup,
        backupsVisible: visible,
        ...(failed ? { lastAttemptFailed: failed } : {}),
        ...(notLoggedSince !== undefined ? { noBackupLoggedSince: notLoggedSince } : {}),
        flags,
      };
    });

    const problem = (r: CoverageGuest) =>
      r.flags.some((f) => f !== "backups-hidden" && f !== "backups-unread");
    const listed = args.include_ok ? rows : rows.filter(problem);
    const page = paginate(listed, args.limit, args.offset, args.include_ok ? "guest" : "guest with problem");
    const notCovered = rows.filter((r) => r.flags.includes("not-covered"));
    const onlyDisabled = rows.filter((r) => r.flags.includes("disabled-jobs-only"));
    let pveNotBackedUp: { vmids: number[]; missedBecauseOfDisabledJobs: number[] } | null = null;
    if (pveReport) {
      const vmids = pveReport.map((e) => Number(e.vmid)).sort((a, b) => a - b);
      pveNotBackedUp = {
        vmids,
        missedBecauseOfDisabledJobs: notCovered.map((r) => r.vmid).filter((v) => !vmids.includes(v)),
      };
    }
    const source: "storage" | "task-log" | "storage+task-log" =
      history && lastOn.size ? "storage+task-log" : history ? "task-log" : "storage";
    const summary = {
      guests: rows.length,
      jobs: jobs.length,
      enabledJobs: jobs.filter(jobEnabled).length,
      coveredByEnabledJob: rows.length - notCovered.length,
      notCovered: notCovered.length,
      onlyDisabledJobs: onlyDisabled.length,
      withProblems: rows.filter(problem).length,
    };

    const lines: string[] = [
      `${summary.guests} guest(s), ${summary.jobs} job(s) (${summary.enabledJobs} enabled): ${summary.coveredByEnabledJob} covered by an enabled job, ${summary.notCovered} NOT covered` +
        (summary.onlyDisabledJobs ? ` (${summary.onlyDisabledJobs} of them only by disabled jobs)` : ""),
    ];
    if (pveNotBackedUp) {
      const missed = pveNotBackedUp.missedBecauseOfDisabledJobs;
      lines.push(
        `PVE's own not-backed-up report lists ${pveNotBackedUp.vmids.length}: ${pveNotBackedUp.vmids.join(",") || "none"}` +
          (missed.length
            ? `; it counts disabled jobs as coverage and so misses ${missed.join(",")}`
            : "; it agrees with the enabled jobs"),
      );
    }
    if (history) {
      const nodes = [...history.nodeSince].map(([n, t]) => `${n} since ${shortTime(t)}`).join(", ");
      lines.push(
        `backup volumes are hidden from this token, so last backups come from the vzdump task archives (${history.runs.length} task(s); ${nodes || "no node readable"})` +
          (history.unread ? `, ${history.unread} older task log(s) not read` : ""),
      );
    }
    if (offline.length) lines.push(`offline node(s): ${offline.join(", ")}`);
    lines.push(...warnings.map((w) => `WARNING: ${w}`));
    const gapLines = gapText(ctx.read.gaps);
    if (gapLines) lines.push(gapLines);
    lines.push(
      page.header +
        (args.include_ok
          ? ""
          : ` (${rows.length - listed.length} guest(s) without problems not listed: include_ok=true)`),
    );
    for (const r of page.items) lines.push(coverageLine(r));
    return {
      text: lines.join("\n"),
      structured: {
        ...page.meta,
        summary,
        pveNotBackedUp,
        lastBackupSource: source,
        history: history
          ? { since: history.since, tasksRead: history.runs.length, unread: history.unread }
          : null,
        offlineNodes: offline,
        warnings,
        gaps: ctx.read.gaps,
        guests: page.items,
      },
    };
  },
});

// ---------------------------------------------------------------------------------------
// get_snapshots

export const getSnapshots = defineTool({
  name: "get_snapshots",
  title: "Snapshots of a guest",
  description: `Snapshots of one VM or container (found automatically): age, parent, RAM state, description; older than ${OLD_SNAPSHOT_DAYS} days flagged.`,
  toolset: "backup",
  tier: "read",
  input: {
    vmid: pveVmid.describe("VM or container id, e.g. 101"),
    node: pveNode.optional().describe("node of the guest; found automatically when omitted"),
  },
  output: {
    vmid: z.number().int(),
    type: z.string(),
    node: z.string(),
    name: z.string(),
    current: z.object({ parent: z.string().optional() }),
    oldCount: z.number().int(),
    snapshots: z.array(
      z.object({
        name: z.string(),
        snaptime: z.number().optional(),
        ageDays: z.number().int().optional(),
        parent: z.string().optional(),
        vmstate: z.boolean(),
        description: z.string(),
        snapstate: z.string().optional(),
        old: z.boolean(),
      }),
    ),
  },
  needs: [{ path: "/vms/{vmid}", privileges: ["VM.Audit"] }],
  async handle({ vmid, node }, ctx) {
    const now = nowSeconds();
    const g = locateGuest(await clusterResources(ctx.read), vmid, node);
    type Entry = {
      name: string;
      snaptime?: number;
      parent?: string;
      vmstate?: number;
      description?: string;
      snapstate?: string;
    };
    const list = await ctx.read.get<Entry[]>(`/nodes/{node}/${g.type}/{vmid}/snapshot`, {
      node: g.node,
      vmid,
    });
    const current = list.find((s) => s.name === "current");
    const snapshots = list
      .filter((s) => s !== current)
      .map((s) => ({
        name: cleanText(s.name, LIMITS.name),
        ...(s.snaptime !== undefined ? { snaptime: s.snaptime, ageDays: ageDays(s.snaptime, now) } : {}),
        ...(s.parent ? { parent: cleanText(s.parent, LIMITS.name) } : {}),
        vmstate: s.vmstate === 1,
        description: cleanText(s.description ?? "", LIMITS.description, true),
        ...(s.snapstate ? { snapstate: cleanText(s.snapstate, 40) } : {}),
        old: s.snaptime !== undefined && now - s.snaptime > OLD_SNAPSHOT_DAYS * DAY,
      }))
      .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0));
    const out = {
      vmid,
      type: g.type,
      node: g.node,
      name: cleanText(g.name ?? "", LIMITS.name),
      current: current?.parent ? { parent: cleanText(current.parent, LIMITS.name) } : {},
      oldCount: snapshots.filter((s) => s.old).length,
      snapshots,
    };
    const head =
      `${g.type} ${vmid} ${JSON.stringify(out.name)} on ${g.node}: ${snapshots.length} snapshot(s)` +
      (out.oldCount
        ? `, ${out.oldCount} OLDER THAN ${OLD_SNAPSHOT_DAYS} DAYS (they keep old data and hold disk space)`
        : "") +
      (out.current.parent ? `; current state is based on ${out.current.parent}` : "");
    const lines = snapshots.map(
      (s) =>
        `${s.name}: ${s.snaptime !== undefined ? `${shortTime(s.snaptime)} (${s.ageDays}d)` : "time unknown"}` +
        `${s.old ? " OLD" : ""}${s.parent ? `, parent ${s.parent}` : ""}${s.vmstate ? ", with RAM state" : ""}` +
        `${s.snapstate ? `, INCOMPLETE (${s.snapstate})` : ""}`,
    );
    const described = snapshots.filter((s) => s.description);
    const descriptions = described.length
      ? `\n${fence("snapshot descriptions", described.map((s) => `${s.name}: ${s.description}`).join("\n"))}`
      : "";
    return { text: `${[head, ...lines].join("\n")}${descriptions}`, structured: out };
  },
});

export const backupTools = [getBackupJobs, getBackupCoverage, getSnapshots];
