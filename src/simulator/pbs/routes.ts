/**
 * The GET endpoints of the PBS simulator, each with its parameters and router permission as
 * PBS declares them (tests compare both with api-definitions.ts, extracted from PBS's
 * sources) and a handler applying the real handler's permission filters.
 */
import { nextRun } from "../calendar.js";
import { isToken, PbsAcl, PRIV, privBit, privNames, ROLES, splitAclPath, userOf } from "./acl.js";
import type { ParamDef, ParamValue } from "./schema.js";
import { resolveTime } from "./scenario.js";
import { parseUpid, type Group, type JobState, type PbsState, type Task } from "./state.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An `anyhow::bail!` from a handler: 400 with the message. */
const bail = (message: string) => new HttpError(400, message);
const forbidden = (message = "permission check failed") => new HttpError(403, message);

export type Permission =
  | { kind: "anybody" }
  | { kind: "world" }
  | { kind: "superuser" }
  | { kind: "privilege"; path: string[]; priv: keyof typeof PRIV_CONSTANTS; propagate: boolean };

/** Names of the PRIV_* constants the router permissions use. */
export const PRIV_CONSTANTS = {
  PRIV_SYS_AUDIT: PRIV.SYS_AUDIT,
  PRIV_DATASTORE_AUDIT: PRIV.DATASTORE_AUDIT,
  PRIV_REMOTE_AUDIT: PRIV.REMOTE_AUDIT,
} as const;

/** The permission written as api-definitions.ts writes it (`&` and spaces removed). */
export function permissionText(p: Permission): string {
  switch (p.kind) {
    case "anybody":
      return "Permission::Anybody";
    case "world":
      return "Permission::World";
    case "superuser":
      return "Superuser (default)";
    case "privilege":
      return `Permission::Privilege([${p.path.map((c) => JSON.stringify(c)).join(",")}],${p.priv},${p.propagate})`;
  }
}

export interface HandlerContext {
  state: PbsState;
  authid: string;
  params: Record<string, ParamValue>;
  /** Result attributes beside `data` (`total`, `digest`, `success`). */
  attributes: Record<string, unknown>;
}

export interface PbsRoute {
  path: string;
  params: Record<string, ParamDef>;
  permission: Permission;
  /** Directory-style path names below it (for `[{"subdir":…}]` answers); unused here. */
  handler(ctx: HandlerContext): unknown;
}

const NS_PRIVS_OK = PRIV.DATASTORE_MODIFY | PRIV.DATASTORE_BACKUP | PRIV.DATASTORE_AUDIT;
const DIGEST = "3f1c0b7de2a94c55e6b1f08d2c7a4e9b1d6f3a0c8e5b2d7f4a1c6e9b3d0f5a28";

const p = (def: string, optional = true): ParamDef => ({ def, optional });
const node = { node: p("NODE_SCHEMA", false) };
const store = { store: p("DATASTORE_SCHEMA", false) };

function nsPath(storeName: string, ns: string): string[] {
  return ["datastore", storeName, ...splitAclPath(ns)];
}

/** hierarchy.rs check_ns_privs_full: false = full access, true = owner-limited, else 403. */
function checkNsPrivsFull(
  ctx: HandlerContext,
  storeName: string,
  ns: string,
  full: bigint,
  partial: bigint,
): boolean {
  const path = nsPath(storeName, ns);
  const privs = ctx.state.acl.lookupPrivs(ctx.authid, path);
  if (full !== 0n && (privs & full) !== 0n) return false;
  if (partial !== 0n && (privs & partial) !== 0n) return true;
  throw forbidden(
    `permission check failed - missing ${privNames(full | partial).join("|")} on /${path.join("/")}`,
  );
}

function lookupStore(ctx: HandlerContext, name: string) {
  const d = ctx.state.datastore(name);
  if (!d) throw bail(`no such datastore '${name}'`);
  return d;
}

function requireNs(ctx: HandlerContext, storeName: string, ns: string): void {
  const d = lookupStore(ctx, storeName);
  if (ns !== "" && !(d.namespaces ?? []).includes(ns)) throw bail("ENOENT: No such file or directory");
}

/** check_backup_owner: the owner itself, or the user owning a token owner. */
function isOwner(owner: string, authid: string): boolean {
  return owner === authid || (isToken(owner) && !isToken(authid) && userOf(owner) === authid);
}

function visibleGroups(ctx: HandlerContext, storeName: string, ns: string): Group[] {
  const limited = checkNsPrivsFull(ctx, storeName, ns, PRIV.DATASTORE_AUDIT, PRIV.DATASTORE_BACKUP);
  requireNs(ctx, storeName, ns);
  return (ctx.state.groups.get(storeName) ?? []).filter(
    (g) => g.ns === ns && (!limited || isOwner(g.owner, ctx.authid)),
  );
}

function fileItems(files: { filename: string; size?: number; cryptMode?: string }[]) {
  return files.map((f) => ({
    filename: f.filename,
    ...(f.cryptMode !== undefined ? { "crypt-mode": f.cryptMode } : {}),
    ...(f.size !== undefined ? { size: f.size } : {}),
  }));
}

/** compute_schedule_status: the job's last run and the next one after it (or after now). */
function scheduleStatus(state: PbsState, last: JobState | undefined, schedule: unknown) {
  const out: Record<string, unknown> = {};
  if (last) {
    out["last-run-state"] = last.state;
    out["last-run-upid"] = last.upid;
    out["last-run-endtime"] = last.endtime;
    const started = parseUpid(last.upid)?.starttime;
    if (started !== undefined) out["duration"] = last.endtime - started;
  }
  if (typeof schedule === "string") {
    const next = nextRun(schedule, last?.endtime ?? state.now);
    if (next !== undefined) out["next-run"] = next;
  }
  return out;
}

function gcStatus(ctx: HandlerContext, name: string): Record<string, unknown> {
  const d = lookupStore(ctx, name);
  const last = ctx.state.gcLast.get(name);
  const schedule = d.config["gc-schedule"];
  const status = ctx.state.gcStatus.get(d.name) ?? {};
  const out: Record<string, unknown> = { store: name, ...status };
  if (typeof schedule === "string") out["schedule"] = schedule;
  if (last) {
    out["last-run-endtime"] = last.endtime;
    out["last-run-state"] = last.state;
    const started = parseUpid(last.upid)?.starttime;
    if (started !== undefined) out["duration"] = last.endtime - started;
  }
  if (typeof schedule === "string") {
    const next = nextRun(schedule, last?.endtime ?? ctx.state.now);
    if (next !== undefined) out["next-run"] = next;
  }
  return out;
}

function datastoreListItems(ctx: HandlerContext) {
  const out: Record<string, unknown>[] = [];
  for (const d of ctx.state.scenario.datastores) {
    const path = ["datastore", d.name];
    const allowed =
      (ctx.state.acl.lookupPrivs(ctx.authid, path) & (PRIV.DATASTORE_AUDIT | PRIV.DATASTORE_BACKUP)) !== 0n;
    if (!allowed && !ctx.state.acl.anyPrivsBelow(ctx.authid, path, NS_PRIVS_OK)) continue;
    const comment = d.config["comment"];
    const maintenance = d.config["maintenance-mode"];
    out.push({
      store: d.name,
      comment: allowed && typeof comment === "string" ? comment : null,
      ...(typeof maintenance === "string" ? { maintenance } : {}),
    });
  }
  return out;
}

function datastoreConfig(d: PbsState["scenario"]["datastores"][number]) {
  return { name: d.name, ...d.config };
}

function jobList(
  ctx: HandlerContext,
  jobs: PbsState["scenario"]["verifyJobs"],
  visible: (cfg: Record<string, unknown>) => boolean,
  withStatus: boolean,
) {
  const storeFilter = ctx.params["store"];
  ctx.attributes["digest"] = DIGEST;
  return (jobs ?? [])
    .filter((j) => visible(j.config) && (storeFilter === undefined || j.config["store"] === storeFilter))
    .map((j) =>
      withStatus
        ? {
            ...j.config,
            ...scheduleStatus(ctx.state, ctx.state.jobLast.get(j.config.id), j.config["schedule"]),
          }
        : { ...j.config },
    );
}

function jobAclPath(cfg: Record<string, unknown>): string[] {
  return nsPath(String(cfg["store"]), typeof cfg["ns"] === "string" ? cfg["ns"] : "");
}

function verifyJobVisible(ctx: HandlerContext) {
  return (cfg: Record<string, unknown>) =>
    (ctx.state.acl.lookupPrivs(ctx.authid, jobAclPath(cfg)) &
      (PRIV.DATASTORE_AUDIT | PRIV.DATASTORE_VERIFY)) !==
    0n;
}

function pruneJobVisible(ctx: HandlerContext) {
  return (cfg: Record<string, unknown>) =>
    (ctx.state.acl.lookupPrivs(ctx.authid, jobAclPath(cfg)) &
      (PRIV.DATASTORE_AUDIT | PRIV.DATASTORE_MODIFY)) !==
    0n;
}

/** config/sync.rs check_sync_job_read_access (pull; push needs Remote.Audit on the remote). */
function syncJobVisible(ctx: HandlerContext) {
  const direction = ctx.params["sync-direction"] ?? "pull";
  return (cfg: Record<string, unknown>) => {
    if ((cfg["sync-direction"] ?? "pull") !== direction) return false;
    const acl = ctx.state.acl;
    if (!acl.has(ctx.authid, jobAclPath(cfg), PRIV.DATASTORE_AUDIT)) return false;
    if (typeof cfg["remote"] === "string")
      return acl.has(ctx.authid, ["remote", cfg["remote"]], PRIV.REMOTE_AUDIT);
    return acl.has(ctx.authid, ["datastore", String(cfg["remote-store"])], PRIV.DATASTORE_AUDIT);
  };
}

// ---- tasks (node/tasks.rs) ----

const VERIFY_JOB_ID = /^([^:]+):.*$/;
const SYNC_JOB_ID = /^([^:]+):([^:]+):([^:]+):(?:([^:]*):)?([^:]+)$/;

function taskStateType(t: Task): "ok" | "warning" | "error" | "unknown" {
  if (t.status === undefined) return "unknown";
  if (t.status === "OK") return "ok";
  if (t.status.startsWith("WARNINGS")) return "warning";
  if (t.status === "unknown") return "unknown";
  return "error";
}

function checkJobPrivs(ctx: HandlerContext, t: Task): boolean {
  const acl = ctx.state.acl;
  const id = t.id;
  if (id === undefined) return false;
  if (t.type === "verificationjob") {
    const m = VERIFY_JOB_ID.exec(id);
    return !!m && acl.has(ctx.authid, ["datastore", m[1]!], PRIV.DATASTORE_VERIFY);
  }
  if (t.type === "syncjob") {
    const m = SYNC_JOB_ID.exec(id);
    if (!m) return false;
    // check_pull_privs: Datastore.Backup on the local store/ns and Remote.Read on the remote.
    const local = acl.has(ctx.authid, nsPath(m[3]!, m[4] ?? ""), PRIV.DATASTORE_BACKUP);
    const remote =
      m[1] === "-"
        ? acl.has(ctx.authid, ["datastore", m[2]!], PRIV.DATASTORE_BACKUP)
        : acl.has(ctx.authid, ["remote", m[1]!, m[2]!], PRIV.REMOTE_READ);
    return local && remote;
  }
  if (t.type === "garbage_collection") return acl.has(ctx.authid, ["datastore", id], PRIV.DATASTORE_MODIFY);
  if (t.type === "prune" || t.type === "prunejob") {
    const parts = ["datastore", ...id.split(":")];
    const path = parts.length === 4 ? parts.slice(0, 3) : parts;
    return acl.has(ctx.authid, path, PRIV.DATASTORE_MODIFY);
  }
  return false;
}

function checkTaskAccess(ctx: HandlerContext, t: Task): boolean {
  const owner = t.authid;
  if (ctx.authid === owner || (isToken(owner) && userOf(owner) === ctx.authid)) return true;
  return ctx.state.acl.has(ctx.authid, ["system", "tasks"], PRIV.SYS_AUDIT) || checkJobPrivs(ctx, t);
}

function checkJobStore(t: Task, storeName: string): boolean {
  const id = t.id;
  if (id === undefined) return false;
  if (t.type.startsWith("verif")) {
    const m = VERIFY_JOB_ID.exec(id);
    return m ? m[1] === storeName : id === storeName;
  }
  if (t.type === "syncjob") return SYNC_JOB_ID.exec(id)?.[3] === storeName;
  if (["prune", "prunejob", "backup", "garbage_collection"].includes(t.type))
    return id === storeName || id.startsWith(`${storeName}:`);
  return false;
}

function taskItem(t: Task) {
  return {
    upid: t.upid,
    node: "localhost",
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    worker_type: t.type,
    ...(t.id !== undefined ? { worker_id: t.id } : {}),
    user: t.authid,
    ...(t.endtime !== undefined ? { endtime: t.endtime } : {}),
    ...(t.status !== undefined ? { status: t.status } : {}),
  };
}

function findTask(ctx: HandlerContext): { task?: Task; upid: string } {
  const upid = String(ctx.params["upid"]);
  return { task: ctx.state.tasks.find((t) => t.upid === upid), upid };
}

// ---- datastore usage ----

function usageItem(ctx: HandlerContext, d: PbsState["scenario"]["datastores"][number]) {
  const points = 1440;
  const delta = 1800;
  const end = Math.floor(ctx.state.now / delta) * delta;
  const start = end - (points - 1) * delta;
  const to = d.used / d.total;
  const from = d.historyFrom ?? to;
  const history = Array.from(
    { length: points },
    (_v, i) => Math.round((from + ((to - from) * i) / (points - 1)) * 1e6) / 1e6,
  );
  // Least squares over (time, usage), as status.rs' linear_regression.
  const xs = history.map((_v, i) => start + i * delta);
  const mx = xs.reduce((a, b) => a + b, 0) / points;
  const my = history.reduce((a, b) => a + b, 0) / points;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (history[i]! - my);
    sxx += (x - mx) ** 2;
  });
  const b = sxy / sxx;
  const a = my - b * mx;
  return {
    store: d.name,
    total: d.total,
    used: d.used,
    avail: d.total - d.used,
    history,
    "history-start": start,
    "history-delta": delta,
    "estimated-full-date": b !== 0 ? Math.floor((1 - a) / b) : 0,
    "gc-status": ctx.state.gcStatus.get(d.name) ?? {},
    "mount-status": "nonremovable",
    "backend-type": "filesystem",
  };
}

// ---- access ----

function userItem(ctx: HandlerContext, u: PbsState["scenario"]["users"][number], withTokens: boolean) {
  const now = ctx.state.now;
  const tokens = withTokens
    ? (u.tokens ?? []).map((t) => ({
        tokenid: `${u.userid}!${t.name}`,
        ...(t.comment !== undefined ? { comment: t.comment } : {}),
        enable: t.enable ?? true,
        expire: t.expire === undefined ? 0 : resolveTime(t.expire, now),
      }))
    : [];
  return {
    userid: u.userid,
    ...(u.comment !== undefined ? { comment: u.comment } : {}),
    enable: u.enable ?? true,
    expire: u.expire === undefined ? 0 : resolveTime(u.expire, now),
    ...(u.firstname !== undefined ? { firstname: u.firstname } : {}),
    ...(u.lastname !== undefined ? { lastname: u.lastname } : {}),
    ...(u.email !== undefined ? { email: u.email } : {}),
    ...(tokens.length ? { tokens } : {}),
    "totp-locked": false,
  };
}

export const ROUTES: PbsRoute[] = [
  {
    path: "/version",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => ctx.state.scenario.version ?? { version: "4.1", release: "2", repoid: "6a3b2c1d" },
  },
  { path: "/ping", params: {}, permission: { kind: "world" }, handler: () => ({ pong: true }) },
  {
    // #[api] without access: the superuser only (a token never is).
    path: "/nodes",
    params: {},
    permission: { kind: "superuser" },
    handler: (ctx) => [{ node: ctx.state.hostname }],
  },
  {
    path: "/nodes/{node}/status",
    params: node,
    permission: { kind: "privilege", path: ["system", "status"], priv: "PRIV_SYS_AUDIT", propagate: false },
    handler: () => ({
      memory: { total: 16_646_434_816, used: 5_372_854_272, free: 11_273_580_544 },
      swap: { total: 8_589_930_496, used: 0, free: 8_589_930_496 },
      root: { total: 101_203_873_792, used: 9_446_326_272, avail: 86_562_594_816 },
      uptime: 1_987_211,
      loadavg: [0.21, 0.18, 0.12],
      kversion: "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
      "current-kernel": {
        sysname: "Linux",
        release: "6.17.2-1-pve",
        version: "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
        machine: "x86_64",
      },
      cpuinfo: { model: "Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz", sockets: 1, cpus: 12 },
      cpu: 0.031,
      wait: 0.002,
      info: { fingerprint: "" },
      "boot-info": { mode: "efi", secureboot: true },
    }),
  },
  {
    path: "/nodes/{node}/subscription",
    params: node,
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const info = ctx.state.scenario.subscription ?? {
        status: "notfound",
        message: "There is no subscription key",
        serverid: "9B4C1F0E2D7A3B65C8E1D0F2A4B6C8E0",
        url: "https://www.proxmox.com/en/proxmox-backup-server/pricing",
      };
      if (!ctx.state.acl.has(ctx.authid, [], PRIV.SYS_AUDIT)) {
        const reduced: Record<string, unknown> = { status: info["status"] };
        if (info["message"] !== undefined) reduced["message"] = info["message"];
        if (info["url"] !== undefined) reduced["url"] = info["url"];
        return reduced;
      }
      return info;
    },
  },
  {
    path: "/nodes/{node}/apt/repositories",
    params: node,
    permission: { kind: "privilege", path: [], priv: "PRIV_SYS_AUDIT", propagate: false },
    handler: () => ({
      files: [
        {
          path: "/etc/apt/sources.list.d/debian.sources",
          "file-type": "sources",
          repositories: [
            {
              Types: ["deb"],
              URIs: ["http://deb.debian.org/debian"],
              Suites: ["trixie", "trixie-updates"],
              Components: ["main", "contrib"],
              Options: [{ Key: "Signed-By", Values: ["/usr/share/keyrings/debian-archive-keyring.gpg"] }],
              Comment: "",
              FileType: "sources",
              Enabled: true,
            },
            {
              Types: ["deb"],
              URIs: ["http://security.debian.org/debian-security"],
              Suites: ["trixie-security"],
              Components: ["main", "contrib"],
              Options: [{ Key: "Signed-By", Values: ["/usr/share/keyrings/debian-archive-keyring.gpg"] }],
              Comment: "",
              FileType: "sources",
              Enabled: true,
            },
          ],
          digest: [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
            28, 29, 30, 31, 32,
          ],
        },
        {
          path: "/etc/apt/sources.list.d/proxmox.sources",
          "file-type": "sources",
          repositories: [
            {
              Types: ["deb"],
              URIs: ["http://download.proxmox.com/debian/pbs"],
              Suites: ["trixie"],
              Components: ["pbs-no-subscription"],
              Options: [{ Key: "Signed-By", Values: ["/usr/share/keyrings/proxmox-archive-keyring.gpg"] }],
              Comment: "",
              FileType: "sources",
              Enabled: true,
            },
          ],
          digest: [
            32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8,
            7, 6, 5, 4, 3, 2, 1,
          ],
        },
      ],
      errors: [],
      digest: "b1c0a9f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a29180706f5e4d3",
      infos: [
        {
          path: "/etc/apt/sources.list.d/proxmox.sources",
          index: "0",
          kind: "warning",
          message: "the pbs-no-subscription repository is not recommended for production use",
        },
      ],
      "standard-repos": [
        { handle: "enterprise", name: "Enterprise", description: "", status: false },
        { handle: "no-subscription", name: "No-Subscription", description: "", status: true },
        { handle: "test", name: "Test", description: "" },
      ],
    }),
  },
  {
    path: "/nodes/{node}/tasks",
    params: {
      ...node,
      start: p("u64"),
      limit: p("u64"),
      store: p("DATASTORE_SCHEMA"),
      running: p("bool"),
      errors: p("bool"),
      userfilter: p("String"),
      since: p("i64"),
      until: p("i64"),
      typefilter: p("String"),
      statusfilter: p("Array<TaskStateType>"),
    },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const q = ctx.params;
      const start = Number(q["start"] ?? 0);
      const limit = Number(q["limit"] ?? 50) || Number.MAX_SAFE_INTEGER;
      const running = q["running"] === true;
      const errors = q["errors"] === true;
      const listAll = ctx.state.acl.has(ctx.authid, ["system", "tasks"], PRIV.SYS_AUDIT);
      const statusfilter = q["statusfilter"] as string[] | undefined;
      const result: Task[] = [];
      let skipped = 0;
      // The running tasks first (the active list), then the archive, newest first.
      const ordered = [
        ...ctx.state.tasks.filter((t) => !t.status),
        ...ctx.state.tasks.filter((t) => t.status),
      ];
      const tasks = running ? ordered.filter((t) => !t.status) : ordered;
      for (const t of tasks) {
        if (q["until"] !== undefined && t.starttime > Number(q["until"])) continue;
        if (q["since"] !== undefined) {
          if (t.endtime !== undefined && t.endtime < Number(q["since"])) break;
          if (t.starttime < Number(q["since"])) continue;
        }
        if (!listAll && !checkTaskAccess(ctx, t)) continue;
        if (typeof q["userfilter"] === "string" && !t.authid.includes(q["userfilter"])) continue;
        if (typeof q["store"] === "string" && !checkJobStore(t, q["store"])) continue;
        if (typeof q["typefilter"] === "string" && !t.type.includes(q["typefilter"])) continue;
        if (t.status !== undefined) {
          if (running) continue;
          if (t.status === "OK" && errors) continue;
          if (statusfilter && !statusfilter.includes(taskStateType(t))) continue;
        } else if (statusfilter) continue;
        if (skipped < start) {
          skipped++;
          continue;
        }
        result.push(t);
        if (result.length >= limit) break;
      }
      let count = result.length + start;
      if (result.length > 0 && result.length >= limit) count += 1;
      ctx.attributes["total"] = count;
      return result.map(taskItem);
    },
  },
  {
    path: "/nodes/{node}/tasks/{upid}/status",
    params: { ...node, upid: p("UPID_SCHEMA", false) },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const { task, upid } = findTask(ctx);
      const parsed = parseUpid(upid)!;
      const t: Task = task ?? {
        upid,
        type: parsed.type,
        id: parsed.id,
        authid: parsed.authid,
        starttime: parsed.starttime,
        status: "unknown",
        endtime: 0,
        log: [],
        rotated: true,
        pid: parsed.pid,
        pstart: parsed.pstart,
      };
      if (!checkTaskAccess(ctx, t)) throw bail("task access not allowed");
      const out: Record<string, unknown> = {
        upid,
        node: parsed.node,
        pid: parsed.pid,
        pstart: parsed.pstart,
        starttime: parsed.starttime,
        type: parsed.type,
        id: parsed.id === "" ? null : parsed.id,
        user: userOf(parsed.authid),
      };
      if (isToken(parsed.authid)) out["tokenid"] = parsed.authid.slice(parsed.authid.indexOf("!") + 1);
      if (t.status === undefined) out["status"] = "running";
      else {
        out["status"] = "stopped";
        out["exitstatus"] =
          t.status.startsWith("WARNINGS") || t.status === "OK" || t.status === "unknown"
            ? t.status
            : `Error: ${t.status}`;
      }
      return out;
    },
  },
  {
    path: "/nodes/{node}/tasks/{upid}/log",
    params: {
      ...node,
      upid: p("UPID_SCHEMA", false),
      start: p("START_PARAM_SCHEMA"),
      limit: p("LIMIT_PARAM_SCHEMA"),
      download: p("DOWNLOAD_PARAM_SCHEMA"),
      "test-status": p("TEST_STATUS_PARAM_SCHEMA"),
    },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const { task, upid } = findTask(ctx);
      const parsed = parseUpid(upid)!;
      const owner: Task = task ?? ({ type: parsed.type, id: parsed.id, authid: parsed.authid } as Task);
      if (!checkTaskAccess(ctx, owner)) throw bail("task access not allowed");
      if (!task || task.rotated) throw bail("No such file or directory (os error 2)");
      if (ctx.params["download"] === true) return new RawText(`${task.log.join("\n")}\n`);
      const start = Number(ctx.params["start"] ?? 0);
      const limit = Number(ctx.params["limit"] ?? 50);
      const lines = task.log
        .map((t, i) => ({ n: i + 1, t }))
        .slice(start, limit > 0 ? start + limit : undefined);
      ctx.attributes["total"] = task.log.length;
      ctx.attributes["success"] = 1;
      if (ctx.params["test-status"] === true) ctx.attributes["active"] = task.status === undefined;
      return lines;
    },
  },
  {
    path: "/status/datastore-usage",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const out: Record<string, unknown>[] = [];
      for (const d of ctx.state.scenario.datastores) {
        const path = ["datastore", d.name];
        const privs = ctx.state.acl.lookupPrivs(ctx.authid, path);
        if ((privs & (PRIV.DATASTORE_AUDIT | PRIV.DATASTORE_BACKUP)) === 0n) {
          if (ctx.state.acl.anyPrivsBelow(ctx.authid, path, NS_PRIVS_OK))
            out.push({ store: d.name, "mount-status": "nonremovable", "backend-type": "filesystem" });
          continue;
        }
        out.push(usageItem(ctx, d));
      }
      return out;
    },
  },
  { path: "/admin/datastore", params: {}, permission: { kind: "anybody" }, handler: datastoreListItems },
  {
    path: "/admin/datastore/{store}/status",
    params: { ...store, verbose: p("bool") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const name = String(ctx.params["store"]);
      const path = ["datastore", name];
      const privs = ctx.state.acl.lookupPrivs(ctx.authid, path);
      const full = (privs & (PRIV.DATASTORE_AUDIT | PRIV.DATASTORE_BACKUP)) !== 0n;
      if (
        !full &&
        (privs & PRIV.DATASTORE_READ) === 0n &&
        !ctx.state.acl.anyPrivsBelow(ctx.authid, path, NS_PRIVS_OK)
      )
        throw forbidden();
      const d = lookupStore(ctx, name);
      const out: Record<string, unknown> = full
        ? { total: d.total, used: d.used, avail: d.total - d.used }
        : { total: 0, used: 0, avail: 0 };
      if (ctx.params["verbose"] === true) {
        const audit = (privs & PRIV.DATASTORE_AUDIT) !== 0n;
        const counts: Record<string, { groups: number; snapshots: number } | null> = {
          ct: null,
          host: null,
          vm: null,
          other: null,
        };
        for (const g of ctx.state.groups.get(name) ?? []) {
          const nsPrivs = ctx.state.acl.lookupPrivs(ctx.authid, nsPath(name, g.ns));
          const nsAudit = (nsPrivs & PRIV.DATASTORE_AUDIT) !== 0n;
          if (!nsAudit && !((nsPrivs & PRIV.DATASTORE_BACKUP) !== 0n && isOwner(g.owner, ctx.authid)))
            continue;
          if (!audit && !nsAudit && !isOwner(g.owner, ctx.authid)) continue;
          const c = (counts[g.type] ??= { groups: 0, snapshots: 0 });
          c.groups++;
          c.snapshots += g.snapshots.length;
        }
        out["counts"] = counts;
        if (full) out["gc-status"] = ctx.state.gcStatus.get(d.name) ?? {};
      }
      return out;
    },
  },
  {
    path: "/admin/datastore/{store}/groups",
    params: { ...store, ns: p("BackupNamespace") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const name = String(ctx.params["store"]);
      const groups = visibleGroups(ctx, name, String(ctx.params["ns"] ?? ""));
      return groups
        .filter((g) => g.snapshots.length > 0)
        .map((g) => {
          const last = g.snapshots.reduce((a, b) => (a.time > b.time ? a : b));
          return {
            "backup-type": g.type,
            "backup-id": g.id,
            "last-backup": last.time,
            "backup-count": g.snapshots.length,
            files: last.files.map((f) => f.filename),
            owner: g.owner,
            ...(g.comment !== undefined ? { comment: g.comment } : {}),
          };
        });
    },
  },
  {
    path: "/admin/datastore/{store}/snapshots",
    params: {
      ...store,
      ns: p("BackupNamespace"),
      "backup-type": p("BackupType"),
      "backup-id": p("BACKUP_ID_SCHEMA"),
    },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const name = String(ctx.params["store"]);
      const type = ctx.params["backup-type"];
      const id = ctx.params["backup-id"];
      const groups = visibleGroups(ctx, name, String(ctx.params["ns"] ?? "")).filter(
        (g) => (type === undefined || g.type === type) && (id === undefined || g.id === id),
      );
      return groups.flatMap((g) =>
        g.snapshots.map((s) => ({
          "backup-type": s.type,
          "backup-id": s.id,
          "backup-time": s.time,
          ...(s.notes !== undefined ? { comment: s.notes.split("\n")[0] } : {}),
          ...(s.verification ? { verification: s.verification } : {}),
          ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}),
          files: fileItems(s.files),
          size: s.size,
          owner: g.owner,
          protected: s.protected,
        })),
      );
    },
  },
  {
    path: "/admin/datastore/{store}/gc",
    params: store,
    permission: {
      kind: "privilege",
      path: ["datastore", "{store}"],
      priv: "PRIV_DATASTORE_AUDIT",
      propagate: false,
    },
    handler: (ctx) => gcStatus(ctx, String(ctx.params["store"])),
  },
  {
    path: "/admin/datastore/{store}/namespace",
    params: { ...store, parent: p("BackupNamespace"), "max-depth": p("NS_MAX_DEPTH_SCHEMA") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const name = String(ctx.params["store"]);
      const parent = String(ctx.params["parent"] ?? "");
      const acl = ctx.state.acl;
      const parentAccess = acl.has(ctx.authid, nsPath(name, parent), NS_PRIVS_OK);
      const d = ctx.state.datastore(name);
      if (!d) {
        if (!parentAccess) throw forbidden();
        throw bail(`no such datastore '${name}'`);
      }
      const all = ["", ...(d.namespaces ?? [])];
      if (!all.includes(parent)) {
        if (!parentAccess) throw forbidden();
        throw bail("ENOENT: No such file or directory");
      }
      const depthOf = (ns: string) => (ns === "" ? 0 : ns.split("/").length);
      const maxDepth = ctx.params["max-depth"] === undefined ? 7 : Number(ctx.params["max-depth"]);
      const below = all.filter(
        (ns) =>
          (parent === "" || ns === parent || ns.startsWith(`${parent}/`)) &&
          depthOf(ns) - depthOf(parent) <= maxDepth,
      );
      const list = below
        .filter((ns) => acl.has(ctx.authid, nsPath(name, ns), NS_PRIVS_OK))
        .map((ns) => ({ ns }));
      if (list.length === 0 && !parentAccess) throw forbidden();
      return list;
    },
  },
  {
    path: "/admin/gc",
    params: { store: p("DATASTORE_SCHEMA") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      // admin/gc.rs calls garbage_collection_status directly: with `store` no privilege is checked.
      if (typeof ctx.params["store"] === "string") return [gcStatus(ctx, ctx.params["store"])];
      return datastoreListItems(ctx).map((d) => gcStatus(ctx, String(d["store"])));
    },
  },
  {
    path: "/admin/verify",
    params: { store: p("DATASTORE_SCHEMA") },
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.verifyJobs, verifyJobVisible(ctx), true),
  },
  {
    path: "/admin/prune",
    params: { store: p("DATASTORE_SCHEMA") },
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.pruneJobs, pruneJobVisible(ctx), true),
  },
  {
    path: "/admin/sync",
    params: { store: p("DATASTORE_SCHEMA"), "sync-direction": p("SyncDirection(newer)") },
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.syncJobs, syncJobVisible(ctx), true),
  },
  {
    path: "/config/datastore",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => {
      ctx.attributes["digest"] = DIGEST;
      return ctx.state.scenario.datastores
        .filter((d) => ctx.state.acl.has(ctx.authid, ["datastore", d.name], PRIV.DATASTORE_AUDIT))
        .map(datastoreConfig);
    },
  },
  {
    path: "/config/datastore/{name}",
    params: { name: p("DATASTORE_SCHEMA", false) },
    permission: {
      kind: "privilege",
      path: ["datastore", "{name}"],
      priv: "PRIV_DATASTORE_AUDIT",
      propagate: false,
    },
    handler: (ctx) => {
      ctx.attributes["digest"] = DIGEST;
      return datastoreConfig(lookupStore(ctx, String(ctx.params["name"])));
    },
  },
  {
    path: "/config/verify",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.verifyJobs, verifyJobVisible(ctx), false),
  },
  {
    path: "/config/prune",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.pruneJobs, pruneJobVisible(ctx), false),
  },
  {
    path: "/config/sync",
    params: { "sync-direction": p("SyncDirection(newer)") },
    permission: { kind: "anybody" },
    handler: (ctx) => jobList(ctx, ctx.state.scenario.syncJobs, syncJobVisible(ctx), false),
  },
  {
    path: "/config/remote",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => {
      ctx.attributes["digest"] = DIGEST;
      return (ctx.state.scenario.remotes ?? [])
        .filter((r) => ctx.state.acl.has(ctx.authid, ["remote", r.name], PRIV.REMOTE_AUDIT))
        .map(remoteItem);
    },
  },
  {
    path: "/config/remote/{name}",
    params: { name: p("REMOTE_ID_SCHEMA", false) },
    permission: {
      kind: "privilege",
      path: ["remote", "{name}"],
      priv: "PRIV_REMOTE_AUDIT",
      propagate: false,
    },
    handler: (ctx) => {
      const name = String(ctx.params["name"]);
      const r = (ctx.state.scenario.remotes ?? []).find((x) => x.name === name);
      if (!r) throw bail(`no such remote '${name}'`);
      ctx.attributes["digest"] = DIGEST;
      return remoteItem(r);
    },
  },
  {
    path: "/access/users",
    params: { include_tokens: p("bool") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const all = ctx.state.acl.has(ctx.authid, ["access", "users"], PRIV.SYS_AUDIT);
      const me = userOf(ctx.authid);
      ctx.attributes["digest"] = DIGEST;
      return ctx.state.scenario.users
        .filter((u) => all || u.userid === me)
        .map((u) => userItem(ctx, u, ctx.params["include_tokens"] === true));
    },
  },
  {
    path: "/access/acl",
    params: { path: p("ACL_PATH_SCHEMA"), exact: p("bool") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const all = ctx.state.acl.has(ctx.authid, ["access", "acl"], PRIV.SYS_AUDIT);
      const path = ctx.params["path"];
      const exact = ctx.params["exact"] === true;
      ctx.attributes["digest"] = DIGEST;
      const norm = (x: string) => `/${splitAclPath(x).join("/")}`;
      return ctx.state.acl.entries
        .filter((e) => all || e.ugid === ctx.authid)
        .filter((e) => {
          if (typeof path !== "string") return !exact || norm(e.path) === "/";
          const base = norm(path);
          const ep = norm(e.path);
          return exact ? ep === base : ep === base || ep.startsWith(base === "/" ? "/" : `${base}/`);
        })
        .map((e) => ({
          path: norm(e.path),
          ugid: e.ugid,
          ugid_type: e.ugidType ?? "user",
          propagate: e.propagate ?? true,
          roleid: e.roleid,
        }));
    },
  },
  {
    path: "/access/tfa",
    params: {},
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const all = ctx.state.acl.has(ctx.authid, ["access", "users"], PRIV.SYS_AUDIT);
      const me = userOf(ctx.authid);
      return ctx.state.scenario.users
        .filter((u) => (all || u.userid === me) && (u.tfa ?? []).length > 0)
        .map((u) => ({
          userid: u.userid,
          entries: (u.tfa ?? []).map((t) => ({
            type: t.type,
            id: t.id,
            description: t.description,
            created: resolveTime(t.created, ctx.state.now),
            ...(t.enable === false ? { enable: false } : {}),
          })),
        }));
    },
  },
  {
    path: "/access/permissions",
    params: { "auth-id": p("Authid"), path: p("ACL_PATH_SCHEMA") },
    permission: { kind: "anybody" },
    handler: (ctx) => {
      const acl = ctx.state.acl;
      const requested = ctx.params["auth-id"];
      let authid = ctx.authid;
      if (typeof requested === "string" && requested !== ctx.authid) {
        const mayAudit = acl.has(ctx.authid, ["access"], PRIV.SYS_AUDIT);
        const ownToken = isToken(requested) && !isToken(ctx.authid) && userOf(requested) === ctx.authid;
        if (!mayAudit && !ownToken) throw bail(`not allowed to list permissions of ${requested}`);
        authid = requested;
      }
      const paths =
        typeof ctx.params["path"] === "string"
          ? [ctx.params["path"]]
          : [...new Set([...acl.paths(), "/", "/access", "/datastore", "/remote", "/system"])];
      const out: Record<string, Record<string, boolean>> = {};
      for (const path of paths) {
        const [privs, propagated] = acl.lookupPrivsDetails(authid, splitAclPath(path));
        if (privs === 0n) continue;
        out[path] = Object.fromEntries(
          privNames(privs).map((n) => [n, (propagated & (privs & privBit(n))) !== 0n]),
        );
      }
      return out;
    },
  },
  {
    path: "/access/roles",
    params: {},
    permission: { kind: "anybody" },
    handler: () =>
      Object.entries(ROLES).map(([roleid, r]) => ({ roleid, privs: privNames(r.privs), comment: r.comment })),
  },
  {
    path: "/access/domains",
    params: {},
    permission: { kind: "world" },
    handler: () => [
      { realm: "pam", type: "pam", comment: "Linux PAM standard authentication", default: true },
      { realm: "pbs", type: "pbs", comment: "Proxmox Backup authentication server" },
    ],
  },
];

function remoteItem(r: NonNullable<PbsState["scenario"]["remotes"]>[number]) {
  // RemoteWithoutPassword: the password never leaves the config.
  return {
    name: r.name,
    ...(r.comment !== undefined ? { comment: r.comment } : {}),
    host: r.host,
    ...(r.port !== undefined ? { port: r.port } : {}),
    "auth-id": r["auth-id"],
    ...(r.fingerprint !== undefined ? { fingerprint: r.fingerprint } : {}),
  };
}

/** A handler answer that is not JSON (task log download). */
export class RawText {
  constructor(readonly text: string) {}
}

/** Whether the router permission lets `authid` in (proxmox-router's check_api_permission). */
export function routerAllows(
  acl: PbsAcl,
  permission: Permission,
  authid: string,
  uriParams: Record<string, string>,
): boolean {
  switch (permission.kind) {
    case "anybody":
    case "world":
      return true;
    case "superuser":
      return PbsAcl.isSuperuser(authid);
    case "privilege": {
      const path = permission.path.map((c) => c.replace(/^\{(.+)\}$/, (_m, k: string) => uriParams[k] ?? ""));
      const [privs] = acl.lookupPrivsDetails(authid, path);
      const want = PRIV_CONSTANTS[permission.priv];
      // Privilege(path, privs, partial): with partial=false all bits are needed.
      return (privs & want) === want;
    }
  }
}
