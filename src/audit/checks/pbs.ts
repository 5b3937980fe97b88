/**
 * Proxmox Backup Server: are the backups good? Verified, garbage-collected, pruned, with
 * room to grow, encrypted where it matters, recent for every guest PVE runs (the join of
 * PBS's backup groups with PVE's guest list, stated from both sides), copied offsite by
 * sync jobs that work. These checks run only when the audit has a PBS source (service
 * "pbs") and read it through ctx.pbs and the PBS read model (src/pbs/model); what the PBS
 * token cannot see is a gap finding in PBS's terms, never silence. The access checks are
 * in pbs-access.ts.
 */
import { backupJobs, jobCoverage, type JobCoverage } from "../../pve/model/backup.js";
import {
  estimatedFull,
  pbsDatastoreConfigs,
  pbsDatastores,
  pbsDatastoreUsage,
  pbsGcStatuses,
  usedPercent,
} from "../../pbs/model/datastores.js";
import { pbsRemotes } from "../../pbs/model/access.js";
import {
  jobFailed,
  keepOptions,
  keepText,
  pbsPruneJobs,
  pbsSyncJobs,
  pbsVerifyJobs,
} from "../../pbs/model/jobs.js";
import { PBS_NEEDS, pbsHoldsBelow, pbsPermissions } from "../../pbs/model/permissions.js";
import {
  encryptionMode,
  groupPath,
  guestKeyOfGroup,
  guestKeyOfPve,
  newestPerGroup,
  pbsAllSnapshots,
  snapshotName,
  verificationState,
} from "../../pbs/model/snapshots.js";
import type { PbsStoredSnapshot, PbsVerifyJob } from "../../pbs/model/types.js";
import { tagsOf } from "../../pve/model/values.js";
import { REFERENCES } from "../references.js";
import { age, DAY, guestLabel, guestObject, guests, isOn, type Guest } from "../shared.js";
import {
  defineCheck,
  type AuditCheck,
  type AuditContext,
  type CheckFinding,
  type PbsAuditContext,
} from "../types.js";
import { cleanText, LIMITS, quoted } from "../../untrusted.js";
import { PRODUCTION_TAG } from "./guests.js";

/** A guest's newest backup on PBS older than this is a finding. */
export const PBS_BACKUP_MAX_AGE_DAYS = 7;
/** Garbage collection not run for longer than this is a finding. */
export const PBS_GC_MAX_AGE_DAYS = 7;
/** A datastore this full (percent), or estimated full within PBS_FULL_WITHIN_DAYS, is a finding. */
export const PBS_FULL_PERCENT = 85;
export const PBS_FULL_WITHIN_DAYS = 30;
/** Snapshots younger than this are not yet "never verified": a daily verify job has not had its turn. */
export const PBS_VERIFY_GRACE_DAYS = 1;

export const isProduction = (g: Pick<Guest, "tags">) => tagsOf(g.tags).some((t) => PRODUCTION_TAG.test(t));

/** The PBS side of a PBS check's context (runAudit sets it for every check with service "pbs"). */
export function pbsOf(ctx: AuditContext): PbsAuditContext {
  if (!ctx.pbs) throw new Error("this check audits a Proxmox Backup Server, and the audit has none");
  return ctx.pbs;
}

/** A name PBS gave (store, namespace, group, job, user), cleaned for a finding. */
export const shown = (text: string, max: number = LIMITS.name) => cleanText(text, max);

/** The datastores the token sees, by name. */
async function storeNames(pbs: PbsAuditContext): Promise<string[]> {
  return [...new Set((await pbsDatastores(pbs)).map((d) => d.store))].sort();
}

/** Every snapshot of every visible datastore and namespace (one request per namespace, cached per run). */
async function allSnapshots(pbs: PbsAuditContext): Promise<PbsStoredSnapshot[]> {
  return pbsAllSnapshots(pbs, await storeNames(pbs));
}

/** "a, b, c (+2 more)". */
export function someOf(items: readonly string[], max = 4): string {
  return items.slice(0, max).join(", ") + (items.length > max ? ` (+${items.length - max} more)` : "");
}

const byName = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/** "main:prod/vm/101 (VM 101 (db01))": a backup group, with the PVE guest it belongs to when known. */
function groupLabel(s: PbsStoredSnapshot, guestsByKey: Map<string, Guest>): string {
  const key = guestKeyOfGroup(s);
  const g = key ? guestsByKey.get(key) : undefined;
  return `${shown(groupPath(s), 300)}${g ? ` (${guestLabel(g)})` : ""}`;
}

/** PVE's guests by PBS group key ("vm/100", "ct/200"). */
function byGroupKey(list: readonly Guest[]): Map<string, Guest> {
  const map = new Map<string, Guest>();
  for (const g of list) {
    const key = guestKeyOfPve(g);
    if (key) map.set(key, g);
  }
  return map;
}

// ---------------------------------------------------------------- verification

export const pbsSnapshotUnverified = defineCheck({
  id: "pbs-snapshot-unverified",
  code: "PBS-VER-001",
  service: "pbs",
  references: [REFERENCES.pbsVerification],
  severity: "medium",
  title: `Snapshots never verified (older than ${PBS_VERIFY_GRACE_DAYS} day), per datastore`,
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [snapshots, jobs, configs] = await Promise.all([
      allSnapshots(pbs),
      pbsVerifyJobs(pbs),
      pbsDatastoreConfigs(pbs),
    ]);
    const since = ctx.nowSeconds - PBS_VERIFY_GRACE_DAYS * DAY;
    const perStore = new Map<string, { never: PbsStoredSnapshot[]; total: number }>();
    for (const s of snapshots) {
      const entry = perStore.get(s.store) ?? { never: [], total: 0 };
      entry.total++;
      if (verificationState(s) === "none" && s["backup-time"] <= since) entry.never.push(s);
      perStore.set(s.store, entry);
    }
    const findings: CheckFinding[] = [];
    for (const [store, { never, total }] of [...perStore].sort(([a], [b]) => byName(a, b))) {
      if (never.length === 0) continue;
      const name = shown(store);
      const groups = [...new Set(never.map((s) => shown(groupPath(s), 300)))].sort(byName);
      const oldest = Math.min(...never.map((s) => s["backup-time"]));
      const storeJobs = jobs.filter((j) => j.store === store).map((j) => shown(j.id));
      const config = configs.find((c) => c.name === store);
      const how = [
        storeJobs.length > 0 ? `verify job(s) ${storeJobs.join(", ")}` : "no verify job",
        config ? `verify-new ${isOn(config["verify-new"]) ? "on" : "off"}` : undefined,
      ]
        .filter(Boolean)
        .join(", ");
      findings.push({
        check: "pbs-snapshot-unverified",
        severity: "medium",
        title: `${never.length} snapshot(s) on datastore ${name} of ${pbs.name} were never verified`,
        object: name,
        evidence: `${never.length} of ${total} snapshots, in ${groups.length} group(s): ${someOf(groups)}; the oldest ${age(ctx.nowSeconds - oldest)} old; ${how}: a damaged chunk goes unnoticed until a restore fails`,
        remediation: `proxmox-backup-manager verify ${name} now; and keep it verified: ${
          storeJobs.length > 0
            ? `check why verify job ${storeJobs[0]} skips them (its namespace, max-depth, schedule)`
            : `proxmox-backup-manager verify-job create v-${name} --store ${name} --schedule daily --ignore-verified true --outdated-after 30`
        }`,
      });
    }
    return findings;
  },
});

export const pbsVerifyFailed = defineCheck({
  id: "pbs-verify-failed",
  code: "PBS-VER-002",
  service: "pbs",
  references: [REFERENCES.pbsVerification],
  severity: "high",
  title: "Backup groups with snapshots whose last verification failed",
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [snapshots, list] = await Promise.all([allSnapshots(pbs), guests(ctx)]);
    const known = byGroupKey(list);
    const newest = newestPerGroup(snapshots);
    const failed = new Map<string, PbsStoredSnapshot[]>();
    for (const s of snapshots) {
      if (verificationState(s) !== "failed") continue;
      const key = groupPath(s);
      failed.set(key, [...(failed.get(key) ?? []), s]);
    }
    return [...failed]
      .sort(([a], [b]) => byName(a, b))
      .map(([key, bad]) => {
        bad.sort((a, b) => b["backup-time"] - a["backup-time"]);
        const first = bad[0]!;
        const newestFailed = newest.get(key)?.["backup-time"] === first["backup-time"];
        const upid = first.verification?.upid;
        return {
          check: "pbs-verify-failed",
          severity: "high",
          title: `${bad.length} snapshot(s) of ${groupLabel(first, known)} failed verification${newestFailed ? " (the newest among them)" : ""}`,
          object: shown(groupPath(first), 300),
          evidence: `${someOf(bad.map((s) => shown(snapshotName(s), 120)))} on ${pbs.name}: their chunks are damaged or missing, a restore from them fails${upid ? `; verify task ${shown(upid, 200)}` : ""}`,
          remediation: `read the verify task's log (proxmox-backup-manager task log <UPID>), then back the guest up again now (a new backup re-uploads the chunks marked bad) and verify it: proxmox-backup-manager verify ${shown(first.store)}`,
        } satisfies CheckFinding;
      });
  },
});

/** Namespace depth: "" is 0, "a" 1, "a/b" 2. */
const nsDepth = (ns: string) => (ns ? ns.split("/").length : 0);

/**
 * Whether a verify job verifies namespace `ns` on its own: it has a schedule (one without
 * runs only by hand), `ns` is its namespace or below, and its max-depth (absent: all the
 * way down; 0: its namespace only) reaches that far.
 */
export function verifyJobCovers(job: PbsVerifyJob, ns: string): boolean {
  if (!job.schedule) return false;
  const base = job.ns ?? "";
  if (base && ns !== base && !ns.startsWith(`${base}/`)) return false;
  const depth = job["max-depth"];
  return depth === undefined || nsDepth(ns) - nsDepth(base) <= depth;
}

/** Why a verify job does not cover a whole store: "v-a (namespace prod, max-depth 0, no schedule)". */
function verifyJobLimits(job: PbsVerifyJob): string {
  const limits = [
    job.ns ? `namespace ${shown(job.ns, 256)}` : undefined,
    job["max-depth"] !== undefined ? `max-depth ${job["max-depth"]}` : undefined,
    job.schedule ? undefined : "no schedule: runs only by hand",
  ].filter(Boolean);
  return `${shown(job.id)}${limits.length > 0 ? ` (${limits.join(", ")})` : ""}`;
}

export const pbsVerifyJob = defineCheck({
  id: "pbs-verify-job",
  code: "PBS-VER-003",
  service: "pbs",
  references: [REFERENCES.pbsVerification],
  severity: "medium",
  title:
    "Datastores nothing verifies: no scheduled verify job reaching every namespace with backups, and verify-new off",
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [configs, jobs, snapshots] = await Promise.all([
      pbsDatastoreConfigs(pbs),
      pbsVerifyJobs(pbs),
      allSnapshots(pbs),
    ]);
    const findings: CheckFinding[] = [];
    for (const config of [...configs].sort((a, b) => byName(a.name, b.name))) {
      if (isOn(config["verify-new"])) continue;
      const own = jobs.filter((j) => j.store === config.name).sort((a, b) => byName(a.id, b.id));
      // The namespaces holding backups (the root when the store holds none yet).
      const held = [...new Set(snapshots.filter((x) => x.store === config.name).map((x) => x.ns))];
      const targets = held.length > 0 ? held.sort(byName) : [""];
      const uncovered = targets.filter((ns) => !own.some((j) => verifyJobCovers(j, ns)));
      if (uncovered.length === 0) continue;
      const name = shown(config.name);
      const partial = uncovered.length < targets.length;
      const nsText = someOf(uncovered.map((ns) => (ns ? shown(ns, 256) : "the root namespace")));
      const jobsText =
        own.length > 0 ? `verify job(s) ${own.map(verifyJobLimits).join(", ")}` : "no verify job";
      findings.push({
        check: "pbs-verify-job",
        severity: partial ? "low" : "medium",
        title: partial
          ? `Verify jobs on datastore ${name} cover only some namespaces, and verify-new is off`
          : own.length > 0
            ? `Nothing verifies datastore ${name} on a schedule: its verify jobs do not reach its backups, and verify-new is off`
            : `Nothing verifies datastore ${name}: no verify job, and verify-new is off`,
        object: name,
        evidence:
          own.length > 0 || partial
            ? `${jobsText}; never verified on a schedule: ${held.length > 0 ? `backups in ${nsText}` : nsText}; new backups are not verified after they finish either`
            : `missing both: a verify job for ${name}, and verify-new (verify each backup as it finishes): bit rot and lost chunks go unnoticed until a restore fails`,
        remediation: `proxmox-backup-manager verify-job create v-${name} --store ${name} --schedule daily --ignore-verified true --outdated-after 30 (no --ns, no --max-depth: the whole store; or give the existing job a schedule and drop its max-depth) and/or proxmox-backup-manager datastore update ${name} --verify-new true`,
      });
    }
    return findings;
  },
});

// ---------------------------------------------------------------- GC, space, retention

export const pbsGc = defineCheck({
  id: "pbs-gc",
  code: "PBS-GC-001",
  service: "pbs",
  references: [REFERENCES.pbsGc],
  severity: "medium",
  title: `Garbage collection failing, or not run for ${PBS_GC_MAX_AGE_DAYS} days`,
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [statuses, configs, stores] = await Promise.all([
      pbsGcStatuses(pbs),
      pbsDatastoreConfigs(pbs),
      storeNames(pbs),
    ]);
    // A store PBS lists but leaves out of /admin/gc: its GC is not visible, never "fine".
    for (const store of stores) {
      if (!statuses.some((gc) => gc.store === store)) {
        pbs.gap(`garbage collection status of datastore ${shown(store)}`, PBS_NEEDS.datastore(shown(store)));
      }
    }
    const findings: CheckFinding[] = [];
    for (const gc of [...statuses].sort((a, b) => byName(a.store, b.store))) {
      const name = shown(gc.store);
      const ended = gc["last-run-endtime"];
      const schedule = gc.schedule ?? configs.find((c) => c.name === gc.store)?.["gc-schedule"];
      const scheduleText = schedule ? `gc-schedule ${shown(schedule, 60)}` : "no gc-schedule";
      const fixSchedule = schedule
        ? ""
        : `; and schedule it: proxmox-backup-manager datastore update ${name} --gc-schedule daily`;
      if (jobFailed(gc)) {
        findings.push({
          check: "pbs-gc",
          severity: "high",
          title: `Garbage collection on datastore ${name} fails`,
          object: name,
          evidence: `last run ${ended !== undefined ? `${age(ctx.nowSeconds - ended)} ago ` : ""}ended: ${quoted(gc["last-run-state"] ?? "", 200)}; ${scheduleText}: unused chunks stay, the store fills up`,
          remediation: `fix the cause, then: proxmox-backup-manager garbage-collection start ${name}${fixSchedule}`,
        });
        continue;
      }
      if (ended !== undefined && ctx.nowSeconds - ended <= PBS_GC_MAX_AGE_DAYS * DAY) continue;
      if (ended === undefined && gc.upid) continue; // running now, or PBS restarted since: no verdict
      findings.push({
        check: "pbs-gc",
        severity: "medium",
        title:
          ended === undefined
            ? `Garbage collection has never run on datastore ${name}`
            : `Garbage collection on datastore ${name} last ran ${age(ctx.nowSeconds - ended)} ago`,
        object: name,
        evidence: `${ended === undefined ? "no run recorded" : `last run ended ${age(ctx.nowSeconds - ended)} ago (limit ${PBS_GC_MAX_AGE_DAYS} d)`}; ${scheduleText}: pruned backups keep their space until GC removes the chunks`,
        remediation: `proxmox-backup-manager garbage-collection start ${name}${fixSchedule}`,
      });
    }
    return findings;
  },
});

export const pbsDatastoreFull = defineCheck({
  id: "pbs-datastore-full",
  code: "PBS-STO-001",
  service: "pbs",
  references: [REFERENCES.pbsDatastores, REFERENCES.pbsPruning],
  severity: "medium",
  title: `Datastores ${PBS_FULL_PERCENT} % full or more, or estimated full within ${PBS_FULL_WITHIN_DAYS} days`,
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [usage, stores] = await Promise.all([pbsDatastoreUsage(pbs), storeNames(pbs)]);
    // A store PBS lists but leaves out of the usage list: how full it is is not visible.
    for (const store of stores) {
      if (!usage.some((u) => u.store === store)) {
        pbs.gap(`usage of datastore ${shown(store)}`, PBS_NEEDS.datastore(shown(store)));
      }
    }
    const findings: CheckFinding[] = [];
    for (const u of [...usage].sort((a, b) => byName(a.store, b.store))) {
      if (u.error !== undefined) {
        // PBS could not open the store (unmounted removable store, offline maintenance, broken path).
        const name = shown(u.store);
        findings.push({
          check: "pbs-datastore-full",
          severity: "medium",
          title: `Datastore ${name} of ${pbs.name} cannot be read: how full it is is unknown`,
          object: name,
          evidence: `PBS reports no usage for it, only an error: ${quoted(u.error, 200)}${
            u["mount-status"] ? ` (mount status ${shown(u["mount-status"], 40)})` : ""
          }: backups, GC, prune and verify on it fail until it is available again`,
          remediation: `mount it or end its maintenance mode if that is intended (proxmox-backup-manager datastore show ${name}), or fix the error above`,
        });
        continue;
      }
      const percent = usedPercent(u);
      const full = estimatedFull(u, ctx.nowSeconds);
      const days = full !== undefined ? (full - ctx.nowSeconds) / DAY : undefined;
      const soon = days !== undefined && days <= PBS_FULL_WITHIN_DAYS;
      if ((percent === undefined || percent < PBS_FULL_PERCENT) && !soon) continue;
      const name = shown(u.store);
      const when =
        full === undefined
          ? ""
          : `; PBS estimates it full in ${age(full - ctx.nowSeconds)} (${new Date(full * 1000).toISOString().slice(0, 10)})`;
      findings.push({
        check: "pbs-datastore-full",
        severity: (percent ?? 0) >= 95 || (days !== undefined && days <= 7) ? "high" : "medium",
        title: `Datastore ${name} of ${pbs.name} is ${percent !== undefined ? `${percent} % full` : "filling up"}`,
        object: name,
        evidence: `${percent !== undefined ? `${percent} % used` : "usage unknown"}${when}: when it is full, backups and GC fail (GC needs room to run)`,
        remediation: `check its retention (proxmox-backup-manager prune-job list) and run GC (proxmox-backup-manager garbage-collection start ${name}), or grow the storage under it`,
      });
    }
    return findings;
  },
});

/**
 * Retention: since PBS 2.2 only prune jobs (prune.cfg) prune on a schedule
 * (proxmox-backup-proxy's schedule_datastore_prune_jobs reads prune.cfg only, and skips a
 * disabled job or one without keep-*). The keep-* and prune-schedule on a datastore's own
 * config are legacy: `proxmox-backup-manager update-to-prune-jobs-config` (run on upgrade)
 * turns them into a prune job; left there, nothing applies them.
 */
export const pbsPrune = defineCheck({
  id: "pbs-prune",
  code: "PBS-PRU-001",
  service: "pbs",
  references: [REFERENCES.pbsPruneJobs, REFERENCES.pbsPruning],
  severity: "medium",
  title:
    "Datastores without retention: no enabled prune job with keep-* (keep-* on the datastore config are not applied since PBS 2.2)",
  needs: "Datastore.Audit on /datastore (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [configs, jobs] = await Promise.all([pbsDatastoreConfigs(pbs), pbsPruneJobs(pbs)]);
    const findings: CheckFinding[] = [];
    for (const config of [...configs].sort((a, b) => byName(a.name, b.name))) {
      const own = jobs.filter((j) => j.store === config.name);
      const pruning = own.filter((j) => !isOn(j.disable) && Object.keys(keepOptions(j)).length > 0);
      if (pruning.length > 0) continue;
      const name = shown(config.name);
      const idle = own.map((j) => `${shown(j.id)} (${isOn(j.disable) ? "disabled" : "keeps all"})`);
      const legacy = keepOptions(config);
      const hasLegacy = Object.keys(legacy).length > 0;
      const schedule = config["prune-schedule"] ? shown(config["prune-schedule"], 60) : "daily";
      const keepArgs = hasLegacy
        ? Object.entries(legacy)
            .map(([k, v]) => `--${k} ${v}`)
            .join(" ")
        : "--keep-daily 7 --keep-weekly 4 --keep-monthly 6";
      // The legacy prune-schedule carries over as the job's schedule (quoted when it has spaces).
      const scheduleArg = !hasLegacy
        ? "daily"
        : /^[\w:.,/-]+$/.test(schedule)
          ? schedule
          : `'${schedule.replace(/'/g, "")}'`;
      const create = `proxmox-backup-manager prune-job create p-${name} --store ${name} --schedule ${scheduleArg} ${keepArgs}`;
      findings.push({
        check: "pbs-prune",
        severity: "medium",
        title: hasLegacy
          ? `Datastore ${name} keeps every backup: no active prune job, and its keep-* options are legacy settings PBS no longer applies`
          : `Datastore ${name} keeps every backup: no active prune job, no retention`,
        object: name,
        evidence: `${idle.length > 0 ? `prune job(s) ${idle.join(", ")}` : "no prune job"}; ${
          hasLegacy
            ? `keep-* on the datastore config (${keepText(legacy)}${config["prune-schedule"] ? `, prune-schedule ${schedule}` : ""}) are not applied since PBS 2.2; create a prune job: ${create}`
            : "no keep-* option in its datastore.cfg either"
        }: snapshots pile up until the store is full`,
        remediation: hasLegacy
          ? `${create} (then drop the legacy options: proxmox-backup-manager datastore update ${name} --delete ${Object.keys(legacy).join(" --delete ")}${config["prune-schedule"] ? " --delete prune-schedule" : ""})`
          : create,
      });
    }
    return findings;
  },
});

// ---------------------------------------------------------------- encryption

/** The PVE storages (type pbs) that write to `store` (and `ns`), from storage.cfg if this token sees it. */
async function pveStoragesFor(ctx: AuditContext, store: string, ns: string): Promise<string[]> {
  let storages: { storage: string; type?: string; datastore?: string; namespace?: string }[];
  try {
    storages = await ctx.get("/storage");
  } catch (err) {
    // A hint for the fix only: without storage.cfg the fix names the storage generically.
    if (ctx.signal?.aborted) throw err;
    return [];
  }
  return storages
    .filter((s) => s.type === "pbs" && s.datastore === store && (s.namespace ?? "") === ns)
    .map((s) => shown(s.storage, 60))
    .sort();
}

export const pbsUnencrypted = defineCheck({
  id: "pbs-unencrypted",
  code: "PBS-ENC-001",
  service: "pbs",
  references: [REFERENCES.pbsEncryption, REFERENCES.pbsStorage],
  severity: "low",
  title:
    "Backups stored unencrypted (by their newest snapshot): per production-tagged guest (high), per datastore for the rest",
  needs: "Datastore.Audit on /datastore (PBS); VM.Audit on /vms (PVE, for the tags)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const [snapshots, list] = await Promise.all([allSnapshots(pbs), guests(ctx)]);
    const known = byGroupKey(list);
    const findings: CheckFinding[] = [];
    const rest = new Map<string, string[]>();
    const newest = [...newestPerGroup(snapshots).values()].sort((a, b) => byName(groupPath(a), groupPath(b)));
    for (const s of newest) {
      const mode = encryptionMode(s);
      if (mode === "encrypt") continue;
      const key = guestKeyOfGroup(s);
      const g = key ? known.get(key) : undefined;
      if (g && isProduction(g)) {
        const storages = await pveStoragesFor(ctx, s.store, s.ns);
        const fix =
          storages.length > 0
            ? `pvesm set ${storages[0]} --encryption-key autogen (the PVE storage writing there), keep a copy of the key off the cluster`
            : `set an encryption key on the PVE storage that writes to ${shown(s.store)}${s.ns ? ` namespace ${shown(s.ns, 256)}` : ""} (pvesm set <storage> --encryption-key autogen), or with proxmox-backup-client: proxmox-backup-client key create and back up with --keyfile`;
        findings.push({
          check: "pbs-unencrypted",
          severity: "high",
          title: `Backups of production guest ${guestLabel(g)} are stored unencrypted on ${pbs.name}`,
          object: guestObject(g),
          evidence: `newest snapshot ${shown(groupPath(s), 300)} ${shown(snapshotName(s), 120).split("/").pop()} has crypt-mode ${mode}: whoever reads the datastore (or a stolen disk) reads the guest's data`,
          remediation: fix,
        });
        continue;
      }
      rest.set(s.store, [
        ...(rest.get(s.store) ?? []),
        `${shown(groupPath(s), 300).slice(s.store.length + 1)}`,
      ]);
    }
    for (const [store, groups] of [...rest].sort(([a], [b]) => byName(a, b))) {
      const name = shown(store);
      findings.push({
        check: "pbs-unencrypted",
        severity: "low",
        title: `${groups.length} backup group(s) on datastore ${name} are stored unencrypted`,
        object: name,
        evidence: `newest snapshot not encrypted (crypt-mode none, sign-only or mixed): ${someOf(groups, 6)}; none of these guests is tagged production`,
        remediation: `if the datastore's disks or its sync targets are less trusted than the guests: pvesm set <PVE storage writing to ${name}> --encryption-key autogen (or proxmox-backup-client key create, then --keyfile)`,
      });
    }
    return findings;
  },
});

// ---------------------------------------------------------------- backups of PVE's guests

/** What PVE says of a guest's backup: its enabled jobs and their storages, or why none. */
interface PveSide {
  text: (g: Guest) => string;
  /** The enabled jobs' storages, with whether each is a PBS storage. */
  storages: (g: Guest) => { storage: string; pbs: boolean }[];
  visible: boolean;
}

async function pveSide(ctx: AuditContext, list: Guest[]): Promise<PveSide> {
  const jobs = await backupJobs(ctx);
  if (!jobs) {
    return {
      text: () => "PVE's backup jobs are not visible to the PVE token",
      storages: () => [],
      visible: false,
    };
  }
  const [cover, resources] = await Promise.all([jobCoverage(ctx, jobs, list), ctx.resources()]);
  const pbsStorages = new Set(
    resources
      .filter((r) => r.type === "storage" && r.plugintype === "pbs" && r.storage)
      .map((r) => r.storage!),
  );
  const storageOf = new Map(jobs.map((j) => [shown(j.id), j.storage]));
  const storages = (g: Guest) =>
    (cover.enabled.get(g.vmid) ?? []).flatMap((id) => {
      const storage = storageOf.get(id);
      return storage ? [{ storage: shown(storage, 60), pbs: pbsStorages.has(storage) }] : [];
    });
  return { text: (g) => coverageText(cover, g, storages(g)), storages, visible: true };
}

function coverageText(cover: JobCoverage, g: Guest, storages: { storage: string; pbs: boolean }[]): string {
  const enabled = cover.enabled.get(g.vmid);
  if (enabled) {
    const to = storages.map((s) => `${s.storage}${s.pbs ? " (PBS)" : ""}`);
    return `PVE: in enabled backup job(s) ${enabled.join(", ")}${to.length > 0 ? ` to ${[...new Set(to)].join(", ")}` : ""}`;
  }
  const disabled = cover.disabled.get(g.vmid);
  const excluded = cover.excludedBy.get(g.vmid);
  if (disabled) return `PVE: only in disabled backup job(s) ${disabled.join(", ")}`;
  if (excluded) return `PVE: excluded from backup job(s) ${excluded.join(", ")}`;
  return "PVE: in no backup job";
}

/** The PVE guests (not templates) and their newest snapshot on PBS, by group key. */
async function guestBackups(ctx: AuditContext, pbs: PbsAuditContext) {
  const [snapshots, list, stores, perms] = await Promise.all([
    allSnapshots(pbs),
    guests(ctx),
    storeNames(pbs),
    pbsPermissions(pbs),
  ]);
  const newest = new Map<string, PbsStoredSnapshot>();
  for (const s of snapshots) {
    const key = guestKeyOfGroup(s);
    if (!key) continue;
    const seen = newest.get(key);
    if (!seen || s["backup-time"] > seen["backup-time"]) newest.set(key, s);
  }
  return {
    list: list.filter((g) => !isOn(g.template)),
    newest,
    stores,
    /** Whether the token sees every group of every datastore (else "no group" may be a blind spot). */
    seesAll: pbsHoldsBelow(perms, "/datastore", "Datastore.Audit"),
  };
}

export const pbsGuestNoBackup = defineCheck({
  id: "pbs-guest-no-backup",
  code: "PBS-BAK-002",
  service: "pbs",
  references: [REFERENCES.pbsDatastores, REFERENCES.backup],
  severity: "high",
  title:
    "PVE guests (not templates) without any backup group on PBS, with what PVE's backup jobs say of them",
  needs: "Datastore.Audit on /datastore (PBS); VM.Audit on /vms and Sys.Audit on / (PVE)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const { list, newest, stores, seesAll } = await guestBackups(ctx, pbs);
    const missing = list.filter((g) => !newest.has(guestKeyOfPve(g) ?? ""));
    if (missing.length === 0) return [];
    if (!seesAll) {
      pbs.gap(
        `the PBS backups of ${missing.length} guest(s) without a visible backup group: ${someOf(missing.map(guestObject), 6)}`,
        PBS_NEEDS.datastores,
      );
      return [];
    }
    const pve = await pveSide(ctx, missing);
    const where =
      stores.length > 0 ? `datastores ${someOf(stores.map((s) => shown(s)))}` : "no datastore visible";
    return missing.map((g) => {
      const toPbs = pve.storages(g).filter((s) => s.pbs);
      const elsewhere = pve.storages(g).filter((s) => !s.pbs);
      const severity = toPbs.length === 0 && elsewhere.length > 0 ? "low" : "high";
      return {
        check: "pbs-guest-no-backup",
        severity,
        title:
          severity === "low"
            ? `${guestLabel(g)} has no backup on ${pbs.name} (PVE backs it up to ${elsewhere.map((s) => s.storage).join(", ")})`
            : `${guestLabel(g)} has no backup on ${pbs.name} (${where})${pve.visible && toPbs.length === 0 ? ", nor a PVE backup job" : ""}`,
        object: guestObject(g),
        evidence: `no backup group ${guestKeyOfPve(g)} in any namespace of ${stores.length > 0 ? "these datastores" : "any datastore"}; ${pve.text(g)}${
          toPbs.length > 0
            ? `: that job writes to a PBS storage, yet nothing of it arrived here (another PBS or datastore, or the job fails)`
            : ""
        }`,
        remediation:
          toPbs.length > 0
            ? `check the job's last run (Datacenter > Backup, Task History), then: vzdump ${g.vmid} --storage ${toPbs[0]!.storage}`
            : `add it to an enabled backup job to a PBS storage (Datacenter > Backup), then run it once: vzdump ${g.vmid} --storage <PBS storage>`,
      } satisfies CheckFinding;
    });
  },
});

export const pbsBackupAge = defineCheck({
  id: "pbs-backup-age",
  code: "PBS-BAK-001",
  service: "pbs",
  references: [REFERENCES.pbsDatastores, REFERENCES.backup],
  severity: "medium",
  title: `PVE guests whose newest backup on PBS is older than ${PBS_BACKUP_MAX_AGE_DAYS} days`,
  needs: "Datastore.Audit on /datastore (PBS); VM.Audit on /vms and Sys.Audit on / (PVE)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const { list, newest } = await guestBackups(ctx, pbs);
    const limit = ctx.nowSeconds - PBS_BACKUP_MAX_AGE_DAYS * DAY;
    const stale = list.filter((g) => {
      const s = newest.get(guestKeyOfPve(g) ?? "");
      return s !== undefined && s["backup-time"] < limit;
    });
    if (stale.length === 0) return [];
    const pve = await pveSide(ctx, stale);
    return stale.map((g) => {
      const s = newest.get(guestKeyOfPve(g) ?? "")!;
      const old = age(ctx.nowSeconds - s["backup-time"]);
      return {
        check: "pbs-backup-age",
        severity: "medium",
        title: `Newest backup of ${guestLabel(g)} on ${pbs.name} is ${old} old`,
        object: guestObject(g),
        evidence: `newest snapshot ${shown(groupPath(s), 300)} from ${new Date(s["backup-time"] * 1000).toISOString().slice(0, 16)}Z (limit ${PBS_BACKUP_MAX_AGE_DAYS} d); ${pve.text(g)}`,
        remediation: `find why backups stopped (PVE Task History; on the PBS: proxmox-backup-manager task list --all), then: vzdump ${g.vmid} --storage <PBS storage for ${shown(s.store)}>`,
      } satisfies CheckFinding;
    });
  },
});

export const pbsOrphanGroup = defineCheck({
  id: "pbs-orphan-group",
  code: "PBS-BAK-003",
  service: "pbs",
  references: [REFERENCES.pbsPruning],
  severity: "info",
  title: "Backup groups of guests PVE no longer has (or another cluster's)",
  needs: "Datastore.Audit on /datastore (PBS); VM.Audit on /vms (PVE)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    // Only a complete guest list can tell that a guest is gone (guests() states the gap).
    if (!(await ctx.holds("/vms", "VM.Audit"))) {
      await guests(ctx);
      return [];
    }
    const [snapshots, all] = await Promise.all([allSnapshots(pbs), guests(ctx)]);
    const present = new Set(all.map((g) => guestKeyOfPve(g)));
    const vmids = new Map(all.map((g) => [g.vmid, g]));
    return [...newestPerGroup(snapshots).values()]
      .filter((s) => {
        const key = guestKeyOfGroup(s);
        return key !== undefined && !present.has(key);
      })
      .sort((a, b) => byName(groupPath(a), groupPath(b)))
      .map((s) => {
        const other = vmids.get(Number(s["backup-id"]));
        return {
          check: "pbs-orphan-group",
          severity: "info",
          title: `Backup group ${shown(groupPath(s), 300)} belongs to no guest of this PVE cluster`,
          object: shown(groupPath(s), 300),
          evidence: `newest snapshot ${age(ctx.nowSeconds - s["backup-time"])} old; ${
            other
              ? `vmid ${other.vmid} is a ${other.type === "lxc" ? "container" : "VM"} now (${guestLabel(other)}): a reused vmid`
              : `no guest ${shown(s["backup-id"])} in PVE`
          }; fine if it is another cluster's or kept on purpose`,
          remediation: `keep it as long as needed, then remove the group (PBS GUI: Datastore ${shown(s.store)} > Content > Remove), or thin it: proxmox-backup-client prune ${s["backup-type"]}/${shown(s["backup-id"])}${s.ns ? ` --ns ${shown(s.ns, 256)}` : ""} --keep-last 1 --repository <user>@<pbs>:${shown(s.store)}`,
        } satisfies CheckFinding;
      });
  },
});

// ---------------------------------------------------------------- sync and remotes

export const pbsSyncFailed = defineCheck({
  id: "pbs-sync-failed",
  code: "PBS-SYN-001",
  service: "pbs",
  references: [REFERENCES.pbsSyncJobs],
  severity: "medium",
  title: "Sync jobs whose last run failed",
  needs: "Datastore.Audit on /datastore and Remote.Audit on /remote (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const jobs = await pbsSyncJobs(pbs);
    return jobs
      .filter(jobFailed)
      .sort((a, b) => byName(a.id, b.id))
      .map((j) => {
        const id = shown(j.id);
        const ended = j["last-run-endtime"];
        const from = j.remote ? `remote ${shown(j.remote)}` : "local";
        const direction = j["sync-direction"] === "push" ? "push to" : "pull from";
        return {
          check: "pbs-sync-failed",
          severity: "medium",
          title: `Sync job ${id} (${direction} ${from}, datastore ${shown(j["remote-store"])} -> ${shown(j.store)}) failed`,
          object: id,
          evidence: `last run${ended !== undefined ? ` ${age(ctx.nowSeconds - ended)} ago` : ""} ended: ${quoted(j["last-run-state"] ?? "", 200)}: the copy is not up to date`,
          remediation: `read its task log (proxmox-backup-manager task log ${j["last-run-upid"] ? shown(j["last-run-upid"], 200) : "<UPID>"}), fix the cause, then: proxmox-backup-manager sync-job run ${id}`,
        } satisfies CheckFinding;
      });
  },
});

export const pbsRemoteFingerprint = defineCheck({
  id: "pbs-remote-fingerprint",
  code: "PBS-REM-001",
  service: "pbs",
  references: [REFERENCES.pbsRemotes],
  severity: "medium",
  title: "Remotes without a pinned certificate fingerprint",
  needs: "Remote.Audit on /remote (PBS)",
  async run(ctx) {
    const pbs = pbsOf(ctx);
    const perms = await pbsPermissions(pbs);
    if (!pbsHoldsBelow(perms, "/remote", "Remote.Audit")) {
      const some = Object.entries(perms ?? {}).some(
        ([path, privs]) => (path === "/remote" || path.startsWith("/remote/")) && "Remote.Audit" in privs,
      );
      if (!some) {
        pbs.gap("remotes", PBS_NEEDS.remotes);
        return [];
      }
    }
    const remotes = await pbsRemotes(pbs);
    return remotes
      .filter((r) => !r.fingerprint)
      .sort((a, b) => byName(a.name, b.name))
      .map((r) => {
        const name = shown(r.name);
        return {
          check: "pbs-remote-fingerprint",
          severity: "medium",
          title: `Remote ${name} has no certificate fingerprint pinned`,
          object: name,
          evidence: `host ${shown(r.host, 253)}${r.port !== undefined && String(r.port) !== "8007" ? `:${shown(String(r.port), 8)}` : ""}, auth-id ${shown(r["auth-id"], 130)}, no fingerprint: ${pbs.name} trusts any certificate its system CA store accepts (a self-signed remote fails, a spoofed one with a trusted certificate passes)`,
          remediation: `proxmox-backup-manager remote update ${name} --fingerprint <SHA-256 fingerprint from proxmox-backup-manager cert info on ${shown(r.host, 253)}>`,
        } satisfies CheckFinding;
      });
  },
});

export const pbsChecks: readonly AuditCheck[] = [
  pbsSnapshotUnverified,
  pbsVerifyFailed,
  pbsVerifyJob,
  pbsGc,
  pbsDatastoreFull,
  pbsPrune,
  pbsUnencrypted,
  pbsBackupAge,
  pbsGuestNoBackup,
  pbsOrphanGroup,
  pbsSyncFailed,
  pbsRemoteFingerprint,
];
