/**
 * The simulated cluster at run time: the scenario with its times resolved, plus
 * what changes while the simulator runs (guest power state, tasks, agent exec
 * processes). Route handlers read and change it; nothing here knows about HTTP.
 */
import { createHash, randomBytes } from "node:crypto";
import { PermissionEngine } from "./acl.js";
import type { PveMajor } from "../pve/privileges.js";
import {
  resolveTime,
  type GuestSpec,
  type NodeSpec,
  type Scenario,
  type StorageSpec,
  type TaskSpec,
  type TimeInput,
} from "./scenario.js";
import {
  createClusterPki,
  fingerprint256,
  NODE_CERT_SUBJECT,
  type ClusterKeys,
  type ClusterPki,
} from "./tls.js";

export interface Task {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  /** Owner auth id (`user@realm` or `user@realm!token`). */
  authid: string;
  endtime?: number;
  /** Exit status once finished. */
  exitstatus?: string;
  log: string[];
}

export interface GuestState extends Omit<GuestSpec, "snapshots"> {
  snapshots: { name: string; snaptime: number; description: string; vmstate?: number; parent?: string }[];
  /** Epoch of the last start, for uptime while running. */
  startedAt: number;
}

export interface NodeCertificate {
  filename: string;
  pem: string;
  fingerprint: string;
  subject: string;
  issuer: string;
  notbefore: number;
  notafter: number;
  san: string[];
}

export interface ExecProcess {
  pid: number;
  exitcode: number;
  out?: string;
  err?: string;
  /** Epoch ms when the process exits. */
  exitsAt: number;
}

export interface PveVersion {
  /** pve-manager version, e.g. "9.1.9". */
  version: string;
  /** Major.minor, e.g. "9.1". */
  release: string;
  repoid: string;
  /** Running kernel release, e.g. "6.17.2-1-pve". */
  kernel: string;
  /** The kernel's build string (uname -v). */
  kernelBuild: string;
}

/** What a PVE 8.4 node runs, for scenarios written with PVE 9 versions but simulated as PVE 8. */
const PVE_8_4: PveVersion = {
  version: "8.4.14",
  release: "8.4",
  repoid: "b5e2a6c4d13f9e07",
  kernel: "6.8.12-15-pve",
  kernelBuild: "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-15 (2025-09-12T11:02Z)",
};

/** A guest whose QEMU or container runs: paused guests count, as in PVE's check_running. */
export function isRunning(g: GuestState): boolean {
  return g.status === "running" || g.status === "paused";
}

export function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

export function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, "0");
}

export function formatUpid(
  t: Pick<Task, "node" | "pid" | "pstart" | "starttime" | "type" | "id" | "authid">,
): string {
  return `UPID:${t.node}:${hex8(t.pid)}:${hex8(t.pstart)}:${hex8(t.starttime)}:${t.type}:${t.id}:${t.authid}:`;
}

/** Parses a UPID (pve-common PVE/UPID.pm); undefined when malformed. */
export function parseUpid(upid: string): { node: string; authid: string } | undefined {
  const m =
    /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):(?:[0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/.exec(
      upid,
    );
  return m ? { node: m[1] as string, authid: m[7] as string } : undefined;
}

export interface ClusterOptions {
  version: PveMajor;
  /** Start time of the simulation, epoch seconds; relative scenario times resolve against it. */
  now: number;
  /** How long a task started through the API stays running. */
  taskDurationMs: number;
  /** How long an agent exec process runs before it exits. */
  execDurationMs: number;
  /** Key pairs of the cluster CA and the node certificates. */
  keys: ClusterKeys;
}

export class Cluster {
  readonly version: PveMajor;
  readonly startedAt: number;
  readonly scenario: Scenario;
  readonly nodes = new Map<string, NodeSpec>();
  readonly guests = new Map<number, GuestState>();
  readonly storages = new Map<string, StorageSpec>();
  readonly tasks: Task[] = [];
  readonly engine: PermissionEngine;
  readonly pki: ClusterPki;
  readonly localNode: string;
  readonly certificates = new Map<string, NodeCertificate[]>();
  readonly execs = new Map<number, Map<number, ExecProcess>>();
  readonly options: ClusterOptions;
  /** Key of this simulated cluster's ticket signatures and CSRF tokens. */
  readonly ticketKey = randomBytes(32);
  private nextPid = 0x3a0000;
  /** Tasks started through the API that are still running: their timer and how they end. */
  private readonly pendingTasks = new Map<NodeJS.Timeout, () => void>();
  private readonly taskWaiters: (() => void)[] = [];

  constructor(scenario: Scenario, options: ClusterOptions) {
    this.scenario = scenario;
    this.options = options;
    this.version = options.version;
    this.startedAt = options.now;
    for (const n of scenario.nodes) this.nodes.set(n.name, n);
    for (const s of scenario.storages) this.storages.set(s.storage, s);
    for (const g of scenario.guests) {
      this.guests.set(g.vmid, {
        ...g,
        snapshots: g.snapshots.map((s) => ({ ...s, snaptime: this.time(s.snaptime) })),
        startedAt: options.now - g.uptime,
      });
    }
    for (const t of scenario.tasks) this.tasks.push(this.taskFromSpec(t));
    this.tasks.sort((a, b) => b.starttime - a.starttime);
    this.localNode =
      scenario.localNode ?? scenario.nodes.find((n) => n.online)?.name ?? scenario.nodes[0]!.name;
    this.engine = new PermissionEngine(
      {
        users: scenario.users.map((u) => ({ userid: u.userid })),
        tokens: scenario.users.flatMap((u) =>
          u.tokens.map((t) => ({ tokenid: `${u.userid}!${t.tokenid}`, privsep: t.privsep === 1 })),
        ),
        groups: scenario.groups,
        roles: scenario.roles,
        acl: scenario.acl.map((a) => ({ ...a, propagate: a.propagate === 1 })),
        pools: scenario.pools.map((p) => ({
          poolid: p.poolid,
          vms: scenario.guests.filter((g) => g.pool === p.poolid).map((g) => g.vmid),
          storage: [],
        })),
      },
      options.version,
    );
    this.pki = createClusterPki(
      clusterUuid(scenario.clusterName ?? this.localNode),
      options.now,
      options.keys,
    );
    for (const n of scenario.nodes) this.certificates.set(n.name, this.nodeCertificates(n));
  }

  time(value: TimeInput): number {
    return resolveTime(value, this.startedAt);
  }

  now(): number {
    return Math.floor(Date.now() / 1000);
  }

  isOnline(node: string): boolean {
    return this.nodes.get(node)?.online === true;
  }

  /** The certificate the simulator's HTTPS listener serves (the local node's pve-ssl.pem). */
  servedCertificate(): NodeCertificate {
    return this.certificates.get(this.localNode)!.find((c) => c.filename === "pve-ssl.pem")!;
  }

  private nodeCertificates(n: NodeSpec): NodeCertificate[] {
    const fqdn = `${n.name}.${(this.scenario.clusterName ?? "pve").toLowerCase()}.example`;
    const notbefore = this.startedAt - 120 * 86400;
    const notafter = n.certificates.nodeNotAfter
      ? this.time(n.certificates.nodeNotAfter)
      : notbefore + 730 * 86400;
    const nodePem = this.pki.issueNodeCertificate({
      nodeName: n.name,
      fqdn,
      ips: [n.ip],
      notBefore: notbefore,
      notAfter: notafter,
    });
    const san = ["127.0.0.1", "0000:0000:0000:0000:0000:0000:0000:0001", "localhost", n.name, fqdn, n.ip];
    const certs: NodeCertificate[] = [
      {
        filename: "pve-root-ca.pem",
        pem: this.pki.caPem,
        fingerprint: fingerprint256(this.pki.caPem),
        subject: this.pki.caSubject,
        issuer: this.pki.caSubject,
        notbefore: this.pki.caNotBefore,
        notafter: this.pki.caNotAfter,
        san: [],
      },
      {
        filename: "pve-ssl.pem",
        pem: nodePem,
        fingerprint: fingerprint256(nodePem),
        subject: NODE_CERT_SUBJECT(fqdn),
        issuer: this.pki.caSubject,
        notbefore,
        notafter,
        san,
      },
    ];
    const custom = n.certificates.custom;
    if (custom) {
      const nb = this.time(custom.notbefore);
      const na = this.time(custom.notafter);
      const customSan = custom.san.length ? custom.san : [fqdn];
      const pem = this.pki.issueDisplayCertificate({
        subject: custom.subject,
        issuer: custom.issuer,
        san: customSan,
        notBefore: nb,
        notAfter: na,
      });
      certs.push({
        filename: "pveproxy-ssl.pem",
        pem,
        fingerprint: fingerprint256(pem),
        subject: custom.subject,
        issuer: custom.issuer,
        notbefore: nb,
        notafter: na,
        san: customSan,
      });
    }
    return certs;
  }

  private taskFromSpec(t: TaskSpec): Task {
    const starttime = this.time(t.starttime);
    const task: Task = {
      upid: "",
      node: t.node,
      pid: t.pid,
      pstart: t.pstart,
      starttime,
      type: t.type,
      id: t.id,
      authid: t.user,
      log: t.log,
    };
    if (t.endtime !== undefined) task.endtime = this.time(t.endtime);
    if (t.status !== undefined) task.exitstatus = t.status;
    task.upid = formatUpid(task);
    return task;
  }

  guestUptime(g: GuestState): number {
    return isRunning(g) ? Math.max(0, this.now() - g.startedAt) : 0;
  }

  /** PVE 9's `memhost` of a VM (guest memory plus QEMU's overhead on the host); undefined where PVE omits it. */
  guestMemhost(g: GuestState): number | undefined {
    if (g.type !== "qemu" || this.version !== 9) return undefined;
    return isRunning(g) ? Math.round(g.mem * 1.18) : 0;
  }

  /** The pve-manager version and kernel a node reports for the simulated PVE major version. */
  pveVersionOf(node: NodeSpec): PveVersion {
    if (this.version === 8 && !node.pveManager.startsWith("8.")) return PVE_8_4;
    return {
      version: node.pveManager,
      release: node.pveManager.split(".").slice(0, 2).join("."),
      repoid: node.repoid,
      kernel: node.kernel,
      kernelBuild: node.kernelBuild,
    };
  }

  /** Config text digest: PVE answers the sha1 of the file content. */
  guestDigest(g: GuestState): string {
    return sha1(
      JSON.stringify([g.vmid, g.name, g.tags ?? "", g.config, ...(g.rawLxc.length > 0 ? [g.rawLxc] : [])]),
    );
  }

  /** Starts a task that ends after `taskDurationMs` with the given outcome. */
  startTask(opts: {
    node: string;
    type: string;
    id: string;
    authid: string;
    run: () => { ok: true; log?: string[] } | { ok: false; error: string; log?: string[] };
  }): Task {
    const now = this.now();
    const pid = this.nextPid++;
    const task: Task = {
      upid: "",
      node: opts.node,
      pid,
      pstart: 130000000 + (now - this.startedAt) * 100,
      starttime: now,
      type: opts.type,
      id: opts.id,
      authid: opts.authid,
      log: [],
    };
    task.upid = formatUpid(task);
    this.tasks.unshift(task);
    const finish = () => {
      const result = opts.run();
      task.log.push(...(result.log ?? []));
      task.log.push(result.ok ? "TASK OK" : `TASK ERROR: ${result.error}`);
      task.exitstatus = result.ok ? "OK" : result.error;
      task.endtime = this.now();
      if (this.pendingTasks.size === 0) this.taskWaiters.splice(0).forEach((resolve) => resolve());
    };
    if (this.options.taskDurationMs <= 0) {
      finish();
    } else {
      const timer = setTimeout(() => {
        this.pendingTasks.delete(timer);
        finish();
      }, this.options.taskDurationMs);
      this.pendingTasks.set(timer, finish);
    }
    return task;
  }

  /** Resolves when no task started through the API is running any more. */
  whenTasksIdle(): Promise<void> {
    if (this.pendingTasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.taskWaiters.push(resolve));
  }

  /** Ends every running API task now, in start order, as if its time had come. */
  finishTasks(): void {
    for (const [timer, finish] of [...this.pendingTasks]) {
      clearTimeout(timer);
      this.pendingTasks.delete(timer);
      finish();
    }
  }

  nextExecPid(): number {
    return this.nextPid++;
  }

  dispose(): void {
    for (const timer of this.pendingTasks.keys()) clearTimeout(timer);
    this.pendingTasks.clear();
    this.taskWaiters.splice(0).forEach((resolve) => resolve());
  }
}

/** A stable UUID-looking id per cluster name (the CA's OU is the cluster's UUID on real PVE). */
function clusterUuid(name: string): string {
  const h = sha1(`cluster:${name}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
