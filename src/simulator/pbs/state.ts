/**
 * A PBS scenario resolved against the clock: absolute times, UPIDs, snapshot files.
 * Everything here is read-only once built (the simulator never changes state).
 */
import { PbsAcl } from "./acl.js";
import {
  checkScenario,
  resolveTime,
  type JobStateInput,
  type PbsGcStatus,
  type PbsFileInput,
  type PbsScenarioInput,
  type PbsTaskInput,
} from "./scenario.js";

export interface Snapshot {
  ns: string;
  type: string;
  id: string;
  time: number;
  files: PbsFileInput[];
  size: number;
  encrypted: boolean;
  fingerprint?: string;
  verification?: { state: string; upid: string };
  protected: boolean;
  notes?: string;
}

export interface Group {
  ns: string;
  type: string;
  id: string;
  owner: string;
  comment?: string;
  snapshots: Snapshot[];
}

export interface Task {
  upid: string;
  type: string;
  id?: string;
  authid: string;
  starttime: number;
  endtime?: number;
  status?: string;
  log: string[];
  rotated: boolean;
  pid: number;
  pstart: number;
}

export interface JobState {
  state: string;
  upid: string;
  endtime: number;
}

/** proxmox-sys' systemd escape_unit, as UPIDs carry worker ids. */
export function escapeUnit(s: string): string {
  let out = "";
  const bytes = Buffer.from(s, "utf8");
  bytes.forEach((b, i) => {
    const c = String.fromCharCode(b);
    if (c === "/") out += "-";
    else if ((i === 0 && c === ".") || !/[A-Za-z0-9_.]/.test(c))
      out += `\\x${b.toString(16).padStart(2, "0")}`;
    else out += c;
  });
  return out;
}

export function unescapeUnit(s: string): string {
  return s
    .replace(/-/g, "/")
    .replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

export function makeUpid(
  node: string,
  n: number,
  type: string,
  id: string | undefined,
  authid: string,
  starttime: number,
): { upid: string; pid: number; pstart: number } {
  const pid = 0x2a0 + n * 7;
  const pstart = 0x1b3f00 + n * 13;
  const upid = `UPID:${node}:${hex8(pid)}:${hex8(pstart)}:${hex8(n)}:${hex8(starttime)}:${type}:${escapeUnit(id ?? "")}:${authid}:`;
  return { upid, pid, pstart };
}

export const UPID_REGEX =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8,16}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export function parseUpid(
  upid: string,
):
  | { node: string; pid: number; pstart: number; starttime: number; type: string; id: string; authid: string }
  | undefined {
  const m = UPID_REGEX.exec(upid);
  if (!m) return undefined;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[6]!, 16),
    type: m[7]!,
    id: unescapeUnit(m[8]!),
    authid: m[9]!,
  };
}

const DEFAULT_FILES = (type: string): string[] =>
  type === "vm"
    ? ["qemu-server.conf.blob", "drive-scsi0.img.fidx", "index.json.blob", "client.log.blob"]
    : type === "ct"
      ? ["pct.conf.blob", "root.pxar.didx", "catalog.pcat1.didx", "index.json.blob", "client.log.blob"]
      : ["root.pxar.didx", "catalog.pcat1.didx", "index.json.blob", "client.log.blob"];

export const KEY_FINGERPRINT =
  "e2:4b:79:0c:13:a8:5d:f6:c1:9e:38:07:b4:6a:d2:5f:8c:31:e0:97:4d:a6:1b:f3:70:c8:2e:95:5b:d4:06:a9";

export class PbsState {
  readonly hostname: string;
  readonly acl: PbsAcl;
  readonly tasks: Task[];
  readonly groups = new Map<string, Group[]>();
  readonly gcLast = new Map<string, JobState | undefined>();
  readonly jobLast = new Map<string, JobState | undefined>();
  /** GC status per datastore, UPID references resolved. */
  readonly gcStatus = new Map<string, PbsGcStatus>();

  constructor(
    readonly scenario: PbsScenarioInput,
    readonly now: number,
  ) {
    checkScenario(scenario);
    this.hostname = scenario.hostname ?? "pbs";
    this.acl = new PbsAcl(scenario.acl ?? []);
    const byKey = new Map<string, string>();
    // Tasks are kept newest first, as PBS's task archive is read.
    this.tasks = (scenario.tasks ?? []).map((t, i) => this.resolveTask(t, i + 1, byKey));
    this.tasks.sort((a, b) => b.starttime - a.starttime);
    const ref = (upid: string) => (upid.startsWith("@") ? (byKey.get(upid.slice(1)) ?? upid) : upid);
    const last = (j?: JobStateInput): JobState | undefined =>
      j && { state: j.state, upid: ref(j.upid), endtime: resolveTime(j.endtime, now) };
    for (const d of scenario.datastores) {
      this.gcLast.set(d.name, last(d.gc?.last));
      if (d.gc?.status.upid) this.gcStatus.set(d.name, { ...d.gc.status, upid: ref(d.gc.status.upid) });
      else if (d.gc) this.gcStatus.set(d.name, { ...d.gc.status });
      this.groups.set(
        d.name,
        (d.groups ?? []).map((g) => ({
          ns: g.ns ?? "",
          type: g.type,
          id: g.id,
          owner: g.owner,
          ...(g.comment !== undefined ? { comment: g.comment } : {}),
          snapshots: g.snapshots.map((s) => {
            const encrypted = s.encrypted ?? false;
            const size = s.size ?? 1024 ** 3;
            const files =
              s.files ??
              DEFAULT_FILES(g.type).map((filename): PbsFileInput => {
                if (filename === "client.log.blob") return { filename };
                const big = filename.endsWith("idx");
                const share = big ? Math.floor((size - 1024) / (g.type === "vm" ? 1 : 2)) : 512;
                return {
                  filename,
                  size: filename === "catalog.pcat1.didx" ? Math.floor(size / 200) : share,
                  cryptMode:
                    filename === "index.json.blob"
                      ? encrypted
                        ? "sign-only"
                        : "none"
                      : encrypted
                        ? "encrypt"
                        : "none",
                };
              });
            return {
              ns: g.ns ?? "",
              type: g.type,
              id: g.id,
              time: resolveTime(s.time, now),
              files,
              size: files.reduce((a, f) => a + (f.size ?? 0), 0),
              encrypted,
              ...(encrypted ? { fingerprint: KEY_FINGERPRINT } : {}),
              ...(s.verification
                ? { verification: { state: s.verification.state, upid: ref(s.verification.upid) } }
                : {}),
              protected: s.protected ?? false,
              ...(s.notes !== undefined ? { notes: s.notes } : {}),
            };
          }),
        })),
      );
    }
    for (const j of [
      ...(scenario.verifyJobs ?? []),
      ...(scenario.pruneJobs ?? []),
      ...(scenario.syncJobs ?? []),
    ])
      this.jobLast.set(j.config.id, last(j.last));
  }

  private resolveTask(t: PbsTaskInput, n: number, byKey: Map<string, string>): Task {
    const starttime = resolveTime(t.starttime, this.now);
    const { upid, pid, pstart } = makeUpid(this.hostname, n, t.type, t.id, t.authid, starttime);
    if (t.key) byKey.set(t.key, upid);
    const endtime = t.endtime === undefined ? undefined : resolveTime(t.endtime, this.now);
    const final =
      t.status === undefined
        ? []
        : [
            t.status === "OK"
              ? "TASK OK"
              : t.status.startsWith("WARNINGS")
                ? `TASK ${t.status}`
                : `TASK ERROR: ${t.status}`,
          ];
    return {
      upid,
      type: t.type,
      ...(t.id !== undefined ? { id: t.id } : {}),
      authid: t.authid,
      starttime,
      ...(endtime !== undefined ? { endtime } : {}),
      ...(t.status !== undefined ? { status: t.status } : {}),
      log: [...(t.log ?? [`starting ${t.type}`]), ...final],
      rotated: t.rotated ?? false,
      pid,
      pstart,
    };
  }

  datastore(name: string) {
    return this.scenario.datastores.find((d) => d.name === name);
  }

  user(userid: string) {
    return this.scenario.users.find((u) => u.userid === userid);
  }
}
