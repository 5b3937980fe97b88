/**
 * Backup jobs (jobs.cfg), PVE's coverage report and a node's vzdump defaults. Like
 * pve-manager's BackupInfo, the report counts every job, enabled or not.
 */
import { permissionDenied } from "../checks.js";
import type { Cluster, GuestState } from "../cluster.js";
import { PveError } from "../errors.js";
import type { Scenario } from "../scenario.js";
import { nextRun } from "../calendar.js";
import { param, route, type Route, type RouteContext } from "./route.js";

type BackupJob = Scenario["backupJobs"][number];

/** PVE::VZDump::get_included_guests: all (minus exclude, optionally per node), a vmid list, or a pool. */
function includedGuests(cluster: Cluster, job: BackupJob): Set<number> {
  const guests = [...cluster.guests.values()].filter((g) => !job.node || g.node === job.node);
  const list = (s?: string) =>
    new Set(
      (s ?? "")
        .split(/[,;\s]+/)
        .filter(Boolean)
        .map(Number),
    );
  if (job.all) {
    const excluded = list(job.exclude);
    return new Set(guests.filter((g) => !excluded.has(g.vmid)).map((g) => g.vmid));
  }
  if (job.pool) return new Set(guests.filter((g) => g.pool === job.pool).map((g) => g.vmid));
  return list(job.vmid);
}

function jobEntry(cluster: Cluster, job: BackupJob): Record<string, unknown> {
  const { "next-run": configured, ...rest } = job;
  const entry: Record<string, unknown> = { ...rest, type: "vzdump" };
  const next = configured !== undefined ? cluster.time(configured) : nextRun(job.schedule, cluster.now());
  if (next !== undefined) entry["next-run"] = next;
  return entry;
}

/** read_vzdump_defaults before /etc/vzdump.conf: the schema defaults of PVE::VZDump::Common's options. */
const VZDUMP_SCHEMA_DEFAULTS: Record<string, unknown> = {
  all: 0,
  bwlimit: 0,
  compress: "0",
  ionice: 7,
  lockwait: 180,
  mailnotification: "always",
  mode: "snapshot",
  "notification-mode": "auto",
  pigz: 0,
  "prune-backups": "keep-all=1",
  quiet: 0,
  remove: 1,
  stdexcludes: 1,
  stop: 0,
  stopwait: 10,
  zstd: 1,
};

/** print_property_string of a prune-backups value: its keys sorted. */
function printPruneBackups(value: string): string {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .sort()
    .join(",");
}

/**
 * API2/VZDump.pm's defaults: /etc/vzdump.conf over the schema defaults; the storage (asked
 * for, from vzdump.conf, else "local") needs Datastore.Audit or AllocateSpace and lends its
 * dump directory and prune-backups; what only backup admins need is left out without
 * Sys.Audit on the node.
 */
function vzdumpDefaults(ctx: RouteContext): Record<string, unknown> {
  const { cluster, authid } = ctx;
  const node = param.str(ctx, "node");
  const conf = cluster.nodes.get(node)!.vzdumpConf;
  const res: Record<string, unknown> = {
    ...VZDUMP_SCHEMA_DEFAULTS,
    performance: { "max-workers": 16, "pbs-entries-max": 1048576 },
    fleecing: { enabled: 0 },
    ...conf,
  };
  if (typeof conf["prune-backups"] === "string")
    res["prune-backups"] = printPruneBackups(conf["prune-backups"]);
  if (typeof conf["mailto"] === "string")
    res["mailto"] = conf["mailto"]
      .split(/[,;\s]+/)
      .filter(Boolean)
      .join(",");
  const storage = param.optStr(ctx, "storage");
  if (storage !== undefined) res["storage"] = storage;
  if (res["dumpdir"] === undefined && res["storage"] === undefined) res["storage"] = "local";
  if (typeof res["storage"] === "string") {
    const sid = res["storage"];
    const privs = ["Datastore.Audit", "Datastore.AllocateSpace"];
    if (!cluster.engine.hasAny(authid, `/storage/${sid}`, privs)) {
      throw permissionDenied(`/storage/${sid}, ${privs.join("|")}`);
    }
    const s = cluster.storages.get(sid);
    if (!s) throw new PveError(500, `storage '${sid}' does not exist\n`);
    if (!s.content.split(",").includes("backup")) {
      throw new PveError(500, `can't use storage '${sid}' for backups - wrong content type\n`);
    }
    if (s.type !== "pbs") res["dumpdir"] = `${String(s.config["path"] ?? `/mnt/pve/${sid}`)}/dump`;
    const prune = s.config["prune-backups"];
    if (typeof prune === "string") res["prune-backups"] = printPruneBackups(prune);
  }
  if (!cluster.engine.has(authid, `/nodes/${node}`, "Sys.Audit")) {
    for (const key of ["mailto", "tmpdir", "dumpdir", "script", "ionice"]) delete res[key];
  }
  if (typeof res["pool"] === "string" && !cluster.engine.has(authid, `/pool/${res["pool"]}`, "Pool.Audit")) {
    delete res["pool"];
  }
  return res;
}

export const backupRoutes: Route[] = [
  route("GET /cluster/backup", ({ cluster }) =>
    cluster.scenario.backupJobs.map((job) => jobEntry(cluster, job)),
  ),

  route("GET /cluster/backup-info", () => [{ subdir: "not-backed-up" }]),

  route("GET /cluster/backup-info/not-backed-up", ({ cluster }) => {
    const covered = new Set(cluster.scenario.backupJobs.flatMap((job) => [...includedGuests(cluster, job)]));
    return [...cluster.guests.values()]
      .filter((g: GuestState) => !covered.has(g.vmid))
      .sort((a, b) => a.vmid - b.vmid)
      .map((g) => ({ vmid: g.vmid, name: g.name, type: g.type }));
  }),

  route("GET /nodes/{node}/vzdump/defaults", vzdumpDefaults),
];
