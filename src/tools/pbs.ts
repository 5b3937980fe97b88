/**
 * Toolset "pbs": Proxmox Backup Server, read only, through the PBS token (ctx.pbs, a
 * RunReader over the PbsReader). Datastores with usage, GC and schedules; snapshots with
 * verification state, encryption mode, size and age; verify/prune/sync jobs; tasks and
 * task logs. PBS leaves out silently what the token may not see: every answer lists that
 * as gaps, in PBS's privileges. The toolset is offered only when PBS_HOST is set.
 *
 * `needs` stays [] on every tool: needs are checked against PVE's permission map, and PBS
 * privileges (Datastore.Audit on /datastore, Remote.Audit on /remote, Sys.Audit on
 * /system/tasks) live in PBS's; the descriptions name them and the gaps report them.
 */
import { z } from "zod";
import { pbsBackupId, pbsBackupType, pbsDatastore, pbsNamespace, pbsUpid } from "../pbs/formats.js";
import {
  byNewest,
  encryptionMode,
  estimatedFull,
  groupPath,
  jobRunState,
  keepOptions,
  keepText,
  parsePbsUpid,
  pbsDatastoreConfigs,
  pbsDatastores,
  pbsDatastoreUsage,
  pbsGcStatuses,
  pbsNamespaces,
  pbsPruneJobs,
  pbsStoreSnapshots,
  pbsSyncJobs,
  pbsTaskLog,
  pbsTasks,
  pbsTaskStatus,
  pbsVerifyJobs,
  PBS_NEEDS,
  snapshotAge,
  summarizeSnapshots,
  taskState,
  usedPercent,
  verificationState,
  verifyNewOn,
  type JobRunState,
  type PbsJobScheduleStatus,
  type PbsStoredSnapshot,
  type PbsTask,
  type PbsTaskState,
} from "../pbs/model/index.js";
import { PveApiError } from "../pve/errors.js";
import { formatDuration, SHORT_AGE } from "../pve/model/duration.js";
import type { RunReader } from "../pve/model/reader.js";
import { cleanText, fence, LIMITS, quoted } from "../untrusted.js";
import { defineTool, type ReadContext } from "./define.js";
import { paginate, PAGED_RESULT_CHARS, pagingInput, pagingOutput } from "./paging.js";
import { EXIT_STATUS_MAX, isoTime, nowSeconds, shortTime, taskLogFields, taskLogPage } from "./tasks.js";
import { gapsField, gapText } from "./visibility.js";

/** This call's PBS reader, or a clear error when PBS is not configured. */
function pbsOf(ctx: ReadContext): RunReader {
  if (!ctx.pbs) {
    throw new Error(
      "Proxmox Backup Server is not configured: set PBS_HOST, PBS_TOKEN_ID and PBS_TOKEN_SECRET (and PBS_TLS_FINGERPRINT or PBS_CA_FILE) to use the pbs tools.",
    );
  }
  return ctx.pbs;
}

const KiB = 1024;
/** "9.0 GiB", "312 MiB", "1.2 TiB". */
function bytes(n: number | undefined): string {
  if (n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = 0;
  while (value >= KiB && unit < units.length - 1) {
    value /= KiB;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/**
 * One store's read, or undefined with a note when PBS answered with an error that is not a
 * refusal (a store in maintenance mode, a missing namespace): one store must not sink the
 * answer about the others. Refusals are gaps already (readOrGap).
 */
async function storeRead<T>(store: string, notes: string[], read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof PveApiError)) throw err;
    notes.push(`datastore ${name(store)} could not be read: PBS said ${quoted(err.pveMessage, 300)}`);
    return undefined;
  }
}

const age = (seconds: number) => formatDuration(seconds, SHORT_AGE);
const name = (text: string) => cleanText(text, LIMITS.name);
const NS_MAX = 256;
const UPID_MAX = 200;
const COMMENT_MAX = 200;

/**
 * A name PBS shows that is free text in places (a task's type from a UPID, an auth id):
 * bare when it looks like PBS's own identifiers, else in JSON quotes so it cannot pass as
 * our words.
 */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@!-]*$/;
const safeName = (text: string, max: number) => {
  const clean = cleanText(text, max);
  return PLAIN_NAME.test(clean) ? clean : quoted(clean, max);
};

// ---------------------------------------------------------------------------------------------
// pbs_datastores

const gcSchema = z.object({
  state: z.enum(["ok", "warning", "error", "unknown", "running", "never"]),
  lastRunState: z.string().optional(),
  lastRunEnd: z.string().optional(),
  lastRunAgeS: z.number().int().optional(),
  nextRun: z.string().optional(),
  removedBytes: z.number().optional(),
  pendingBytes: z.number().optional(),
  diskBytes: z.number().optional(),
  stillBad: z.number().optional(),
});

const datastoreSchema = z.object({
  store: z.string(),
  comment: z.string().optional(),
  maintenance: z.string().optional(),
  /** PBS could not open the store (unmounted, offline maintenance, broken path): its error. */
  usageError: z.string().optional(),
  usage: z
    .object({
      total: z.number(),
      used: z.number(),
      avail: z.number().optional(),
      usedPercent: z.number(),
      estimatedFull: z.string().optional(),
    })
    .nullable(),
  gcSchedule: z.string().optional(),
  gc: gcSchema.nullable(),
  /**
   * Legacy keep-* and prune-schedule left on datastore.cfg from before prune jobs: inactive
   * since PBS 2.2 (only prune jobs prune), not retention. null when the config is not visible.
   */
  legacyKeep: z.record(z.string(), z.number()).nullable(),
  legacyPruneSchedule: z.string().optional(),
  verifyNew: z.boolean().nullable(),
  verifyJobs: z.array(z.string()),
  pruneJobs: z.array(z.string()),
  /** Namespaces below the root, or null when PBS would not list them. */
  namespaces: z.number().int().nullable(),
});
type DatastoreOut = z.infer<typeof datastoreSchema>;

function scheduleState(job: PbsJobScheduleStatus, now: number) {
  const end = job["last-run-endtime"];
  const next = job["next-run"];
  return {
    state: jobRunState(job),
    ...(job["last-run-state"] !== undefined
      ? { lastRunState: cleanText(job["last-run-state"], EXIT_STATUS_MAX) }
      : {}),
    ...(end !== undefined ? { lastRunEnd: isoTime(end), lastRunAgeS: Math.max(0, now - end) } : {}),
    ...(next !== undefined ? { nextRun: isoTime(next) } : {}),
  };
}

export const pbsDatastoresTool = defineTool({
  name: "pbs_datastores",
  title: "PBS datastores",
  description:
    "PBS datastores: usage (used/total, %, estimated full date), garbage collection (last run, state, removed/pending bytes, schedule), verify-new, verify and prune jobs (where retention lives since PBS 2.2), namespaces. Complete with Datastore.Audit on /datastore; what PBS hides is listed as gaps.",
  toolset: "pbs",
  tier: "read",
  input: {},
  output: {
    datastores: z.array(datastoreSchema),
    notes: z.array(z.string()),
    gaps: gapsField,
  },
  needs: [],
  async handle(_args, ctx) {
    const pbs = pbsOf(ctx);
    const now = nowSeconds();
    const [list, configs, usage, gc, verify, prune] = await Promise.all([
      pbsDatastores(pbs),
      pbsDatastoreConfigs(pbs),
      pbsDatastoreUsage(pbs),
      pbsGcStatuses(pbs),
      pbsVerifyJobs(pbs),
      pbsPruneJobs(pbs),
    ]);
    const stores = list.map((d) => d.store).sort();
    const notes: string[] = [];
    const namespaces = await Promise.all(
      stores.map((store) => storeRead(store, notes, () => pbsNamespaces(pbs, store))),
    );
    // Stores PBS lists but leaves out of the other lists: what this token may not see of them.
    for (const store of stores) {
      const needs = PBS_NEEDS.datastore(name(store));
      if (!configs.some((c) => c.name === store)) pbs.gap(`configuration of datastore ${name(store)}`, needs);
      if (!usage.some((u) => u.store === store)) pbs.gap(`usage of datastore ${name(store)}`, needs);
      if (!gc.some((g) => g.store === store)) {
        pbs.gap(`garbage collection status of datastore ${name(store)}`, needs);
      }
    }
    const datastores: DatastoreOut[] = stores.map((store, i) => {
      const item = list.find((d) => d.store === store)!;
      const config = configs.find((c) => c.name === store);
      const u = usage.find((x) => x.store === store);
      const g = gc.find((x) => x.store === store);
      const percent = u ? usedPercent(u) : undefined;
      const full = u ? estimatedFull(u, now) : undefined;
      const legacyKeep = config ? keepOptions(config) : undefined;
      const ns = namespaces[i];
      return {
        store: name(store),
        ...(typeof item.comment === "string" && item.comment
          ? { comment: cleanText(item.comment, COMMENT_MAX) }
          : {}),
        ...(item.maintenance ? { maintenance: cleanText(item.maintenance, COMMENT_MAX) } : {}),
        ...(u?.error !== undefined ? { usageError: cleanText(u.error, COMMENT_MAX) } : {}),
        usage:
          u && u.total !== undefined && u.used !== undefined && percent !== undefined
            ? {
                total: u.total,
                used: u.used,
                ...(u.avail !== undefined ? { avail: u.avail } : {}),
                usedPercent: percent,
                ...(full !== undefined ? { estimatedFull: isoTime(full) } : {}),
              }
            : null,
        ...(config?.["gc-schedule"] ? { gcSchedule: cleanText(config["gc-schedule"], 100) } : {}),
        gc: g
          ? {
              ...scheduleState(g, now),
              ...(g["removed-bytes"] !== undefined ? { removedBytes: g["removed-bytes"] } : {}),
              ...(g["pending-bytes"] !== undefined ? { pendingBytes: g["pending-bytes"] } : {}),
              ...(g["disk-bytes"] !== undefined ? { diskBytes: g["disk-bytes"] } : {}),
              ...(g["still-bad"] ? { stillBad: g["still-bad"] } : {}),
            }
          : null,
        legacyKeep: legacyKeep ?? null,
        ...(config?.["prune-schedule"]
          ? { legacyPruneSchedule: cleanText(config["prune-schedule"], 100) }
          : {}),
        verifyNew: config ? verifyNewOn(config) : null,
        verifyJobs: verify
          .filter((j) => j.store === store)
          .map((j) => name(j.id))
          .sort(),
        pruneJobs: prune
          .filter((j) => j.store === store)
          .map((j) => name(j.id))
          .sort(),
        namespaces: ns ? ns.filter((n) => n.ns !== "").length : null,
      };
    });
    const gaps = pbs.gaps;
    const lines = datastores.map((d) => {
      const use = d.usage
        ? `${bytes(d.usage.used)}/${bytes(d.usage.total)} used (${d.usage.usedPercent}%)` +
          (d.usage.usedPercent >= 90 ? " NEARLY FULL" : "") +
          (d.usage.estimatedFull ? `, full by ${d.usage.estimatedFull.slice(0, 10)}` : "")
        : d.usageError !== undefined
          ? `NOT READABLE: PBS said ${quoted(d.usageError, COMMENT_MAX)}`
          : "usage not visible";
      const gcText = d.gc
        ? `GC ${d.gc.state === "error" ? `FAILED ${quoted(d.gc.lastRunState ?? "", 120)}` : d.gc.state}` +
          (d.gc.lastRunAgeS !== undefined ? ` ${age(d.gc.lastRunAgeS)} ago` : "") +
          (d.gc.removedBytes !== undefined ? `, removed ${bytes(d.gc.removedBytes)}` : "") +
          (d.gc.pendingBytes !== undefined ? `, pending ${bytes(d.gc.pendingBytes)}` : "") +
          (d.gcSchedule ? `, schedule ${quoted(d.gcSchedule, 100)}` : ", NO GC schedule")
        : "GC not visible";
      const jobs =
        `verify jobs ${d.verifyJobs.length ? d.verifyJobs.join(",") : "none"}` +
        (d.verifyNew === null ? "" : `, verify-new ${d.verifyNew ? "on" : "off"}`) +
        `; prune jobs ${d.pruneJobs.length ? d.pruneJobs.join(",") : "none"}` +
        (d.legacyKeep && Object.keys(d.legacyKeep).length
          ? ` (legacy datastore.cfg ${keepText(d.legacyKeep)}${d.legacyPruneSchedule ? `, prune-schedule ${quoted(d.legacyPruneSchedule, 100)}` : ""}: inactive since PBS 2.2, not retention)`
          : "");
      return (
        `${d.store}${d.maintenance ? ` [maintenance ${quoted(d.maintenance, COMMENT_MAX)}]` : ""}: ${use}; ${gcText}; ${jobs}` +
        `; namespaces ${d.namespaces ?? "?"}` +
        (d.comment ? ` — ${quoted(d.comment, COMMENT_MAX)}` : "")
      );
    });
    const text = [
      `${datastores.length} datastore(s)`,
      ...lines,
      ...notes.map((n) => `note: ${n}`),
      gapText(gaps),
    ]
      .filter(Boolean)
      .join("\n");
    return { text, structured: { datastores, notes, gaps } };
  },
});

// ---------------------------------------------------------------------------------------------
// pbs_snapshots

const snapshotSchema = z.object({
  store: z.string(),
  ns: z.string(),
  type: z.enum(["vm", "ct", "host"]),
  id: z.string(),
  time: z.string(),
  ageS: z.number().int(),
  size: z.number().optional(),
  verification: z.enum(["ok", "failed", "none"]),
  encryption: z.enum(["encrypt", "sign-only", "none", "mixed"]),
  protected: z.boolean(),
  owner: z.string().optional(),
  comment: z.string().optional(),
});
type SnapshotOut = z.infer<typeof snapshotSchema>;

function snapshotOut(s: PbsStoredSnapshot, now: number): SnapshotOut {
  return {
    store: name(s.store),
    ns: cleanText(s.ns, NS_MAX),
    type: s["backup-type"],
    id: name(s["backup-id"]),
    time: isoTime(s["backup-time"]),
    ageS: snapshotAge(s, now),
    ...(s.size !== undefined ? { size: s.size } : {}),
    verification: verificationState(s),
    encryption: encryptionMode(s),
    protected: s.protected === true,
    ...(s.owner ? { owner: cleanText(s.owner, 130) } : {}),
    ...(s.comment ? { comment: cleanText(s.comment, COMMENT_MAX) } : {}),
  };
}

function snapshotLine(s: SnapshotOut): string {
  const verify = { ok: "verified", failed: "VERIFY FAILED", none: "never verified" }[s.verification];
  const enc =
    s.encryption === "encrypt" ? "encrypted" : s.encryption === "none" ? "UNENCRYPTED" : s.encryption;
  return (
    `${s.store}:${s.ns ? `${s.ns}/` : ""}${s.type}/${s.id} ${s.time.slice(0, 16).replace("T", " ")}Z ` +
    `(${age(s.ageS)} ago) ${bytes(s.size)} ${verify} ${enc}${s.protected ? " protected" : ""}` +
    (s.comment ? ` ${quoted(s.comment, COMMENT_MAX)}` : "")
  );
}

const summarySchema = z.object({
  count: z.number().int(),
  groups: z.number().int(),
  totalSize: z.number(),
  neverVerified: z.number().int(),
  failedVerification: z.number().int(),
  unencrypted: z.number().int(),
  protected: z.number().int(),
  newest: z.string().optional(),
  newestAgeS: z.number().int().optional(),
  oldest: z.string().optional(),
  oldestAgeS: z.number().int().optional(),
});

export const pbsSnapshotsTool = defineTool({
  name: "pbs_snapshots",
  title: "PBS snapshots",
  description:
    "PBS backup snapshots, newest first, by guest (vmid or backup_type/backup_id), datastore and namespace: verification, encryption, size, age, protected; paged, with a summary of all matches. Without Datastore.Audit PBS lists only the token's own groups (a gap).",
  toolset: "pbs",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    store: pbsDatastore.optional().describe("only this datastore (default: every datastore the token sees)"),
    ns: pbsNamespace
      .optional()
      .describe('only this namespace and those below it, e.g. "prod" (default: all; "" = all)'),
    backup_type: pbsBackupType.optional().describe("vm, ct or host"),
    backup_id: pbsBackupId.optional().describe('the group\'s backup id, e.g. "101" or a host name'),
    vmid: z
      .number()
      .int()
      .min(100)
      .max(999_999_999)
      .optional()
      .describe("a PVE guest: its vm/<vmid> and ct/<vmid> groups (same as backup_id)"),
    ...pagingInput(50),
  },
  output: {
    ...pagingOutput,
    summary: summarySchema,
    snapshots: z.array(snapshotSchema),
    notes: z.array(z.string()),
    gaps: gapsField,
  },
  needs: [],
  checkArgs(args) {
    if (args.vmid !== undefined && args.backup_id !== undefined && args.backup_id !== String(args.vmid)) {
      throw new Error("Give either vmid or backup_id (they name the same thing), not two different ones.");
    }
    if (args.vmid !== undefined && args.backup_type === "host") {
      throw new Error(
        "vmid names a guest (backup type vm or ct), not a host backup: drop backup_type or vmid.",
      );
    }
  },
  async handle(args, ctx) {
    const pbs = pbsOf(ctx);
    const now = nowSeconds();
    const id = args.backup_id ?? (args.vmid !== undefined ? String(args.vmid) : undefined);
    const filter = {
      ...(args.backup_type ? { "backup-type": args.backup_type } : {}),
      ...(id !== undefined ? { "backup-id": id } : {}),
    };
    const stores = args.store ? [args.store] : (await pbsDatastores(pbs)).map((d) => d.store).sort();
    const ns = args.ns || undefined;
    const notes: string[] = [];
    const lists = await Promise.all(
      stores.map(async (store) => ({
        store,
        list: await storeRead(store, notes, () =>
          pbsStoreSnapshots(pbs, store, { ...(ns ? { ns } : {}), filter }),
        ),
        namespaces: ns ? await storeRead(store, [], () => pbsNamespaces(pbs, store)) : undefined,
      })),
    );
    if (ns) {
      const without = lists.filter((l) => l.namespaces && !l.namespaces.some((n) => n.ns === ns));
      if (without.length === lists.length && lists.length > 0) {
        notes.push(
          `namespace ${quoted(ns, NS_MAX)} is not listed in ${args.store ? `datastore ${name(args.store)}` : "any datastore"} (absent, or the token holds no privilege on it)`,
        );
      }
    }
    const all = lists
      .flatMap((l) => l.list ?? [])
      // A vmid names a guest: a host backup that happens to have a number for its id is not one.
      .filter((x) => args.vmid === undefined || x["backup-type"] !== "host")
      .sort(byNewest);
    const page = paginate(all, args.limit, args.offset, "snapshot");
    const s = summarizeSnapshots(all);
    const summary = {
      count: s.count,
      groups: new Set(all.map(groupPath)).size,
      totalSize: s.totalSize,
      neverVerified: s.neverVerified,
      failedVerification: s.failedVerification,
      unencrypted: s.unencrypted,
      protected: s.protected,
      ...(s.newest !== undefined
        ? { newest: isoTime(s.newest), newestAgeS: Math.max(0, now - s.newest) }
        : {}),
      ...(s.oldest !== undefined
        ? { oldest: isoTime(s.oldest), oldestAgeS: Math.max(0, now - s.oldest) }
        : {}),
    };
    const snapshots = page.items.map((x) => snapshotOut(x, now));
    const gaps = pbs.gaps;
    const summaryLine =
      all.length === 0
        ? ""
        : `summary: ${summary.count} snapshot(s) in ${summary.groups} group(s), ${bytes(summary.totalSize)} listed; ` +
          `${summary.failedVerification} failed verification, ${summary.neverVerified} never verified, ` +
          `${summary.unencrypted} not encrypted, ${summary.protected} protected; ` +
          `newest ${age(summary.newestAgeS ?? 0)} ago, oldest ${age(summary.oldestAgeS ?? 0)} ago`;
    const text = [
      page.header,
      summaryLine,
      ...snapshots.map(snapshotLine),
      ...notes.map((n) => `note: ${n}`),
      gapText(gaps),
    ]
      .filter(Boolean)
      .join("\n");
    return { text, structured: { ...page.meta, summary, snapshots, notes, gaps } };
  },
});

// ---------------------------------------------------------------------------------------------
// pbs_jobs

const jobSchema = z.object({
  kind: z.enum(["verify", "prune", "sync"]),
  id: z.string(),
  store: z.string(),
  ns: z.string().optional(),
  schedule: z.string().optional(),
  disabled: z.boolean().optional(),
  state: z.enum(["ok", "warning", "error", "unknown", "running", "never"]),
  lastRunState: z.string().optional(),
  lastRunEnd: z.string().optional(),
  lastRunAgeS: z.number().int().optional(),
  nextRun: z.string().optional(),
  /** sync */
  direction: z.enum(["pull", "push"]).optional(),
  remote: z.string().optional(),
  remoteStore: z.string().optional(),
  remoteNs: z.string().optional(),
  removeVanished: z.boolean().optional(),
  /** prune */
  retention: z.record(z.string(), z.number()).optional(),
  /** verify */
  ignoreVerified: z.boolean().optional(),
  outdatedAfterDays: z.number().optional(),
  comment: z.string().optional(),
});
type JobOut = z.infer<typeof jobSchema>;

const STATE_ORDER: Record<JobRunState, number> = {
  error: 0,
  warning: 1,
  unknown: 2,
  never: 3,
  running: 4,
  ok: 5,
};

function jobLine(j: JobOut): string {
  const state = {
    error: `FAILED ${quoted(j.lastRunState ?? "", 160)}`,
    warning: `WARNINGS ${quoted(j.lastRunState ?? "", 60)}`,
    unknown: "unknown (last run aborted or cut off by a PBS restart)",
    never: "NEVER RAN",
    running: "running",
    ok: "ok",
  }[j.state];
  const where =
    j.kind === "sync"
      ? ` ${j.direction} ${j.direction === "push" ? `${j.store} -> ${j.remote ?? "local"}:${j.remoteStore}` : `${j.remote ?? "local"}:${j.remoteStore} -> ${j.store}`}`
      : ` on ${j.store}`;
  return (
    `${j.kind} ${j.id}${where}${j.ns ? ` ns ${j.ns}` : ""}: ${state}` +
    (j.lastRunAgeS !== undefined ? ` ${age(j.lastRunAgeS)} ago` : "") +
    (j.disabled ? ", DISABLED" : j.schedule ? `, schedule ${quoted(j.schedule, 100)}` : ", no schedule") +
    (j.nextRun ? `, next ${j.nextRun.slice(0, 16).replace("T", " ")}Z` : "") +
    (j.retention ? `, ${keepText(j.retention)}` : "") +
    (j.ignoreVerified !== undefined
      ? `, ${j.ignoreVerified ? `skips verified${j.outdatedAfterDays ? ` (re-verify after ${j.outdatedAfterDays} d)` : ""}` : "verifies all"}`
      : "")
  );
}

export const pbsJobsTool = defineTool({
  name: "pbs_jobs",
  title: "PBS jobs",
  description:
    "PBS verify, prune and sync jobs, failing first: schedule, last run (state, end, age), next run; sync direction, remote and remote store; prune retention. Sync jobs need Remote.Audit on /remote to be listed; what PBS hides is listed as gaps.",
  toolset: "pbs",
  tier: "read",
  input: {
    store: pbsDatastore.optional().describe("only the jobs of this datastore"),
    kind: z.enum(["verify", "prune", "sync"]).optional().describe("only this kind of job"),
  },
  output: {
    counts: z.object({
      error: z.number().int(),
      warning: z.number().int(),
      /** Last run "unknown": aborted, or cut off by a PBS restart. */
      unknown: z.number().int(),
      never: z.number().int(),
      running: z.number().int(),
      ok: z.number().int(),
    }),
    jobs: z.array(jobSchema),
    gaps: gapsField,
  },
  needs: [],
  async handle(args, ctx) {
    const pbs = pbsOf(ctx);
    const now = nowSeconds();
    const want = (kind: string) => !args.kind || args.kind === kind;
    const [verify, prune, sync] = await Promise.all([
      want("verify") ? pbsVerifyJobs(pbs, args.store) : [],
      want("prune") ? pbsPruneJobs(pbs, args.store) : [],
      want("sync") ? pbsSyncJobs(pbs, args.store) : [],
    ]);
    const base = (
      j: PbsJobScheduleStatus & {
        id: string;
        store: string;
        ns?: string;
        schedule?: string;
        comment?: string;
      },
    ) => ({
      id: name(j.id),
      store: name(j.store),
      ...(j.ns ? { ns: cleanText(j.ns, NS_MAX) } : {}),
      ...(j.schedule ? { schedule: cleanText(j.schedule, 100) } : {}),
      ...scheduleState(j, now),
      ...(j.comment ? { comment: cleanText(j.comment, COMMENT_MAX) } : {}),
    });
    const jobs: JobOut[] = [
      ...verify.map((j) => ({
        kind: "verify" as const,
        ...base(j),
        ignoreVerified: j["ignore-verified"] !== false,
        ...(j["outdated-after"] ? { outdatedAfterDays: j["outdated-after"] } : {}),
      })),
      ...prune.map((j) => ({
        kind: "prune" as const,
        ...base(j),
        ...(j.disable ? { disabled: true } : {}),
        retention: keepOptions(j),
      })),
      ...sync.map((j) => ({
        kind: "sync" as const,
        ...base(j),
        direction: j["sync-direction"] ?? ("pull" as const),
        ...(j.remote ? { remote: name(j.remote) } : {}),
        remoteStore: name(j["remote-store"]),
        ...(j["remote-ns"] ? { remoteNs: cleanText(j["remote-ns"], NS_MAX) } : {}),
        ...(j["remove-vanished"] !== undefined ? { removeVanished: j["remove-vanished"] } : {}),
      })),
    ].sort(
      (a, b) =>
        STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
        a.kind.localeCompare(b.kind) ||
        a.id.localeCompare(b.id),
    );
    const counts = { error: 0, warning: 0, unknown: 0, never: 0, running: 0, ok: 0 };
    for (const j of jobs) counts[j.state]++;
    const gaps = pbs.gaps;
    const text = [
      `${jobs.length} job(s): ${counts.error} failed, ${counts.warning} with warnings, ${counts.unknown ? `${counts.unknown} unknown, ` : ""}${counts.never} never ran, ${counts.running} running, ${counts.ok} ok`,
      ...jobs.map(jobLine),
      gapText(gaps),
    ]
      .filter(Boolean)
      .join("\n");
    return { text, structured: { counts, jobs, gaps } };
  },
});

// ---------------------------------------------------------------------------------------------
// pbs_tasks and pbs_task_log

const pbsTaskSchema = z.object({
  upid: z.string(),
  type: z.string(),
  id: z.string().optional(),
  user: z.string(),
  status: z.enum(["ok", "warning", "error", "running", "unknown"]),
  failed: z.boolean(),
  exitStatus: z.string().optional(),
  start: z.string(),
  end: z.string().optional(),
  durationS: z.number().int().optional(),
});
type PbsTaskOut = z.infer<typeof pbsTaskSchema>;

function pbsTaskOut(t: PbsTask): PbsTaskOut {
  const status = taskState(t);
  return {
    upid: cleanText(t.upid, UPID_MAX),
    type: cleanText(t.worker_type, 40),
    ...(t.worker_id ? { id: cleanText(t.worker_id, 120) } : {}),
    user: cleanText(t.user, 130),
    status,
    failed: status === "error",
    ...(status !== "running" && t.status ? { exitStatus: cleanText(t.status, EXIT_STATUS_MAX) } : {}),
    start: isoTime(t.starttime),
    ...(t.endtime !== undefined && status !== "running"
      ? { end: isoTime(t.endtime), durationS: Math.max(0, t.endtime - t.starttime) }
      : {}),
  };
}

function pbsTaskLine(t: PbsTaskOut): string {
  const mark = { error: "FAILED", warning: "WARNINGS", running: "RUNNING", ok: "ok", unknown: "unknown" }[
    t.status
  ];
  const took = t.durationS !== undefined ? ` (${age(t.durationS)})` : "";
  const exit =
    t.status === "error" || t.status === "warning"
      ? ` exit ${quoted(t.exitStatus ?? "", EXIT_STATUS_MAX)}`
      : "";
  // A PBS worker id is free text (a host backup's id, a sync job's remote): quoted, never bare.
  return `${mark} ${shortTime(Date.parse(t.start) / 1000)} ${safeName(t.type, 40)}${t.id ? ` ${JSON.stringify(t.id)}` : ""} by ${safeName(t.user, 130)}${took}${exit} ${t.upid}`;
}

export const pbsTasksTool = defineTool({
  name: "pbs_tasks",
  title: "PBS tasks",
  description:
    "PBS tasks (backup, GC, verify, prune, sync), running first then newest, paged with PBS's total; filters errors_only, typefilter, store. Without Sys.Audit on /system/tasks PBS lists only the token's own tasks (a gap).",
  toolset: "pbs",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    ...pagingInput(50),
    errors_only: z
      .boolean()
      .optional()
      .describe(
        "only tasks that did not end OK: failed, with warnings, and (as PBS counts them) running ones",
      ),
    typefilter: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,39}$/, {
        error: "must be a PBS task type such as garbage_collection, verificationjob, syncjob, backup",
      })
      .optional()
      .describe("only task types containing this, e.g. garbage_collection, verificationjob, syncjob, prune"),
    store: pbsDatastore.optional().describe("only tasks of this datastore"),
  },
  output: {
    ...pagingOutput,
    /** PBS counts one past a full page: then there are more, how many it does not say. */
    totalExact: z.boolean(),
    tasks: z.array(pbsTaskSchema),
    gaps: gapsField,
  },
  needs: [],
  async handle(args, ctx) {
    const pbs = pbsOf(ctx);
    const page = await pbsTasks(pbs, {
      start: args.offset,
      limit: args.limit,
      ...(args.errors_only ? { errors: true } : {}),
      ...(args.typefilter ? { typefilter: args.typefilter } : {}),
      ...(args.store ? { store: args.store } : {}),
    });
    const tasks = page.tasks.slice(0, args.limit).map(pbsTaskOut);
    const end = args.offset + tasks.length;
    const full = page.tasks.length >= args.limit;
    const total = Math.max(page.total, end);
    const truncated = total > end;
    const gaps = pbs.gaps;
    const head =
      tasks.length === 0
        ? args.offset > 0
          ? `no tasks from offset ${args.offset} on`
          : "0 task(s) match"
        : `${full && truncated ? "at least " : ""}${total} task(s) match; showing ${args.offset + 1}-${end}` +
          (truncated ? ` (TRUNCATED: call again with offset=${end})` : "");
    const text = [head, ...tasks.map(pbsTaskLine), gapText(gaps)].filter(Boolean).join("\n");
    return {
      text,
      structured: {
        total,
        offset: args.offset,
        returned: tasks.length,
        truncated,
        ...(truncated ? { nextOffset: end } : {}),
        totalExact: !(full && truncated),
        tasks,
        gaps,
      },
    };
  },
});

export const pbsTaskLogTool = defineTool({
  name: "pbs_task_log",
  title: "PBS task log",
  description:
    "One PBS task's status and log lines, paged with start/limit and the total line count. The log is untrusted text. Another user's task needs Sys.Audit on /system/tasks.",
  toolset: "pbs",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    upid: pbsUpid.describe("task id as pbs_tasks lists it (UPID:...)"),
    start: z.number().int().min(0).max(10_000_000).default(0).describe("first line, 0-based"),
    limit: z.number().int().min(1).max(200).default(100),
  },
  output: {
    upid: z.string(),
    type: z.string(),
    id: z.string().optional(),
    user: z.string(),
    ...taskLogFields,
  },
  needs: [],
  async handle({ upid, start, limit }, ctx) {
    const pbs = pbsOf(ctx);
    const parts = parsePbsUpid(upid);
    const owner = cleanText(parts?.authid ?? "", 130);
    const explain = (err: unknown) => {
      if (
        err instanceof PveApiError &&
        (err.status === 403 || /task access not allowed/.test(err.pveMessage))
      ) {
        return new Error(
          `Task ${upid} was run by ${owner}: reading another user's task needs Sys.Audit on /system/tasks (or privileges on its job), which the PBS token lacks.`,
          { cause: err },
        );
      }
      if (err instanceof PveApiError && err.status === 400 && /No such file/i.test(err.pveMessage)) {
        return new Error(`The log of task ${upid} is gone: PBS rotated it away, or the task never existed.`, {
          cause: err,
        });
      }
      return err;
    };
    const [statusResult, logResult] = await Promise.allSettled([
      pbsTaskStatus(pbs, upid),
      pbsTaskLog(pbs, upid, start, limit),
    ]);
    if (statusResult.status === "rejected") throw explain(statusResult.reason);
    if (logResult.status === "rejected") throw explain(logResult.reason);
    const taskStatus = statusResult.value;
    const running = taskStatus.status === "running";
    const exit = running ? undefined : taskStatus.exitstatus;
    const status: PbsTaskState = running
      ? "running"
      : exit === undefined
        ? "unknown"
        : taskState({ status: exit, endtime: 0 });
    const user = taskStatus.user
      ? taskStatus.tokenid
        ? `${taskStatus.user}!${taskStatus.tokenid}`
        : taskStatus.user
      : (parts?.authid ?? "");
    const page = taskLogPage({
      status,
      exit,
      start,
      total: logResult.value.total,
      lines: logResult.value.lines,
    });
    const type = cleanText(taskStatus.type ?? parts?.type ?? "", 40);
    const id = cleanText(taskStatus.id ?? parts?.id ?? "", 120);
    const out = {
      upid,
      type,
      ...(id ? { id } : {}),
      user: cleanText(user, 130),
      ...page.fields,
    };
    const text = [
      `PBS task ${safeName(type, 40)}${id ? ` ${quoted(id, 120)}` : ""} by ${safeName(out.user, 130)}: ${page.state}`,
      page.range,
      ...(out.lines.length
        ? [fence("task log", out.lines.map((l) => l.t).join("\n"), "the PBS task's output")]
        : []),
    ].join("\n");
    return { text, structured: out };
  },
});

export const pbsTools = [pbsDatastoresTool, pbsSnapshotsTool, pbsJobsTool, pbsTasksTool, pbsTaskLogTool];
