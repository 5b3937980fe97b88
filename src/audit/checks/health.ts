/**
 * Operations: quorum, offline nodes, HA, storage filling up, failed tasks, failing
 * replication and guests left locked by a task that is gone.
 */
import { REFERENCES } from "../references.js";
import { cleanText } from "../../untrusted.js";
import {
  age,
  clusterTasks,
  DAY,
  guestCli,
  guestLabel,
  guestObject,
  guests,
  offlineNodes,
  perNode,
  taskFailed,
  taskRunning,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";

interface ClusterStatusEntry {
  type: string;
  name?: string;
  quorate?: number;
  nodes?: number;
  online?: number;
}

export const clusterQuorum = defineCheck({
  id: "cluster-quorum",
  code: "PVE-CLU-001",
  references: [REFERENCES.cluster],
  severity: "critical",
  title: "Cluster without quorum",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const status = await ctx.getOrGap<ClusterStatusEntry[]>(
      "/cluster/status",
      {},
      "quorum (cluster status)",
      "Sys.Audit on /",
    );
    const cluster = status?.find((e) => e.type === "cluster");
    if (!status || !cluster || cluster.quorate !== 0) return [];
    const nodes = status.filter((e) => e.type === "node");
    const online = nodes.filter((e) => e.online === 1).length;
    const name = cleanText(cluster.name ?? "cluster", 64);
    return [
      {
        check: "cluster-quorum",
        severity: "critical",
        title: `Cluster ${name} has no quorum`,
        object: `cluster ${name}`,
        evidence: `${online} of ${nodes.length} nodes online: /etc/pve is read-only, guests cannot be started or changed`,
        remediation:
          "bring the missing nodes (or their corosync links) back; only as a last resort, with care: pvecm expected <online nodes>",
      },
    ];
  },
});

export const nodeOffline = defineCheck({
  id: "node-offline",
  code: "PVE-CLU-002",
  references: [REFERENCES.cluster],
  severity: "high",
  title: "Cluster nodes offline",
  needs: "nothing (nodes are always listed)",
  async run(ctx) {
    const [offline, list] = await Promise.all([offlineNodes(ctx), guests(ctx)]);
    return [...offline].sort().map((node) => {
      const stranded = list.filter((g) => g.node === node).map(guestObject);
      return {
        check: "node-offline",
        severity: "high",
        title: `Node ${node} is offline`,
        object: node,
        evidence:
          stranded.length > 0
            ? `${stranded.length} guest(s) on it not inspected: ${stranded.slice(0, 8).join(", ")}${stranded.length > 8 ? ", ..." : ""}`
            : "no visible guest on it",
        remediation: `check power, network and corosync of ${node} (pvecm status on a running node)`,
      } satisfies CheckFinding;
    });
  },
});

/** HA states that mean the resource is not where it should be and needs a person. */
const HA_BAD_STATES: Record<string, string> = {
  error: "the HA manager gave up on it",
  fence: "its node is being fenced",
  recovery: "it is being recovered to another node",
};

export const haError = defineCheck({
  id: "ha-error",
  code: "PVE-CLU-003",
  references: [REFERENCES.ha],
  severity: "high",
  title: "HA resources in error, fence or recovery",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const status = await ctx.getOrGap<{ type: string; sid?: string; node?: string; state?: string }[]>(
      "/cluster/ha/status/current",
      {},
      "HA resource states",
      "Sys.Audit on /",
    );
    return (status ?? [])
      .filter((e) => e.type === "service" && e.sid && e.state && HA_BAD_STATES[e.state])
      .map((e) => {
        const sid = cleanText(e.sid!, 40);
        const node = cleanText(e.node ?? "?", 64);
        return {
          check: "ha-error",
          severity: "high",
          title: `HA resource ${sid} is in state ${e.state} on ${node}`,
          object: sid,
          evidence: `state ${e.state}: ${HA_BAD_STATES[e.state!]}`,
          remediation:
            e.state === "error"
              ? `fix the cause (task log of ${sid}), then: ha-manager set ${sid} --state disabled && ha-manager set ${sid} --state started`
              : `check node ${node} and the fencing; the HA manager moves ${sid} once the node is fenced`,
        } satisfies CheckFinding;
      });
  },
});

const STORAGE_WARN = 0.85;
const STORAGE_HIGH = 0.95;

export const storageUsage = defineCheck({
  id: "storage-usage",
  code: "PVE-STO-001",
  references: [REFERENCES.storage],
  severity: "medium",
  title: `Storage more than ${STORAGE_WARN * 100} % full`,
  needs: "Datastore.Audit on /storage",
  async run(ctx) {
    const resources = await ctx.resources();
    if (!(await ctx.holds("/storage", "Datastore.Audit"))) {
      ctx.gap(
        "storages this token may not see (PVE lists only storages with Datastore.Audit)",
        "Datastore.Audit on /storage",
      );
    }
    const seenShared = new Set<string>();
    const findings: CheckFinding[] = [];
    for (const s of resources) {
      if (s.type !== "storage" || !s.storage || !s.maxdisk || s.disk === undefined) continue;
      const shared = s.shared === 1;
      if (shared) {
        if (seenShared.has(s.storage)) continue;
        seenShared.add(s.storage);
      }
      const used = s.disk / s.maxdisk;
      if (used <= STORAGE_WARN) continue;
      const name = shared ? s.storage : `${s.storage} on ${s.node}`;
      const gib = (b: number) => (b / 1024 ** 3).toFixed(0);
      findings.push({
        check: "storage-usage",
        severity: used > STORAGE_HIGH ? "high" : "medium",
        title: `Storage ${name} is ${Math.round(used * 100)} % full`,
        object: name,
        evidence: `${gib(s.disk)} of ${gib(s.maxdisk)} GiB used (${s.plugintype ?? "?"})${shared ? ", shared" : ""}`,
        remediation:
          "free space (old backups, snapshots, unused disks) or grow it: thin pools and ZFS fail when full",
      });
    }
    return findings;
  },
});

const FAILED_TASK_WINDOW = DAY;

export const tasksFailed = defineCheck({
  id: "tasks-failed",
  code: "PVE-CLU-004",
  references: [REFERENCES.cluster],
  severity: "medium",
  title: "Tasks that failed in the last 24 h (backups: see backup-failed)",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const tasks = await clusterTasks(ctx);
    return tasks
      .filter(
        (t) => t.type !== "vzdump" && taskFailed(t) && t.endtime! >= ctx.nowSeconds - FAILED_TASK_WINDOW,
      )
      .sort((a, b) => b.endtime! - a.endtime!)
      .map((t) => {
        const type = cleanText(t.type, 32);
        const id = t.id ? cleanText(t.id, 32) : "";
        const on = /^\d+$/.test(id) ? ` for guest ${id}` : id ? ` (${id})` : "";
        const node = cleanText(t.node, 64);
        return {
          check: "tasks-failed",
          severity: "medium",
          title: `Task ${type}${on} failed on ${node} ${age(ctx.nowSeconds - t.endtime!)} ago`,
          object: cleanText(t.upid, 200),
          evidence: `${cleanText(t.status ?? "", 120)} (by ${cleanText(t.tokenid ? `${t.user}!${t.tokenid}` : (t.user ?? "?"), 80)})`,
          remediation: "read its log (get_task_log) and fix the cause",
        } satisfies CheckFinding;
      });
  },
});

interface ReplicationState {
  id: string;
  guest?: number;
  target?: string;
  fail_count?: number;
  last_sync?: number;
  error?: string;
}

export const replicationFailed = defineCheck({
  id: "replication-failed",
  code: "PVE-STO-002",
  references: [REFERENCES.replication],
  severity: "medium",
  title: "Storage replication jobs that fail",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    // PVE lists only the jobs of guests the token may audit: guests() states that gap.
    await guests(ctx);
    const answers = await perNode<ReplicationState[]>(
      ctx,
      "/nodes/{node}/replication",
      (nodes) => `replication state on ${nodes}`,
      "VM.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const job of data) {
        if (!job.fail_count) continue;
        const id = cleanText(job.id, 40);
        const last = job.last_sync
          ? `last good sync ${age(ctx.nowSeconds - job.last_sync)} ago`
          : "never synced";
        findings.push({
          check: "replication-failed",
          severity: "medium",
          title: `Replication ${id} (guest ${job.guest ?? "?"} on ${node} to ${cleanText(job.target ?? "?", 64)}) fails`,
          object: id,
          evidence: `${job.fail_count} failure(s) in a row, ${last}${job.error ? `: ${cleanText(job.error, 100)}` : ""}`,
          remediation: `fix the cause (target node up? storage there?), then: pvesr schedule-now ${id} (on ${node})`,
        });
      }
    }
    return findings;
  },
});

/** Locks a task holds while it runs; "suspended" is a state, not a task. */
const LOCK_TASK_TYPES: Record<string, RegExp> = {
  backup: /^vzdump$/,
  migrate: /migrate$/,
  clone: /clone$/,
  create: /create$|^vzrestore$|^qmrestore$/,
  snapshot: /snapshot$/,
  "snapshot-delete": /delsnapshot$/,
  rollback: /rollback$/,
  disk: /(move|resize|disk)/,
};

export const guestLockStale = defineCheck({
  id: "guest-lock-stale",
  code: "PVE-GST-003",
  references: [REFERENCES.qemu],
  severity: "medium",
  title: "Guests locked by a task that no longer runs",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const [list, tasks] = await Promise.all([guests(ctx), clusterTasks(ctx)]);
    const running = tasks.filter(taskRunning);
    const offline = await offlineNodes(ctx);
    const findings: CheckFinding[] = [];
    for (const g of list) {
      if (!g.lock || g.lock === "suspended" || offline.has(g.node)) continue;
      const lock = cleanText(g.lock, 32);
      const pattern = LOCK_TASK_TYPES[lock];
      const holder = running.find(
        (t) =>
          t.node === g.node &&
          (t.id === String(g.vmid) || t.type === "vzdump") &&
          (!pattern || pattern.test(t.type)),
      );
      if (holder) continue;
      findings.push({
        check: "guest-lock-stale",
        severity: "medium",
        title: `${guestLabel(g)} is locked (${lock}) but no such task runs`,
        object: guestObject(g),
        evidence: `lock=${lock}, no running task on ${g.node} holds it: it cannot be started, changed or backed up`,
        remediation: `if nothing runs on it: ${guestCli(g)} unlock ${g.vmid} (on ${g.node})`,
      });
    }
    return findings;
  },
});

/** What the corosync checks could not see: one gap for both, whichever read PVE refused. */
const COROSYNC_CONFIG = "the corosync configuration";

/** The cluster's name from /cluster/status; undefined for a standalone node or without Sys.Audit (a gap then). */
async function clusterNameOf(ctx: AuditContext): Promise<string | undefined> {
  const status = await ctx.getOrGap<ClusterStatusEntry[]>(
    "/cluster/status",
    {},
    COROSYNC_CONFIG,
    "Sys.Audit on /",
  );
  const name = status?.find((e) => e.type === "cluster")?.name;
  return name === undefined ? undefined : cleanText(name, 64);
}

type Totem = Record<string, unknown>;

/**
 * Corosync 3 (kronosnet) encrypts and authenticates with crypto_cipher and crypto_hash;
 * where they are not set, secauth: on (what pvecm create writes) means aes256 and sha256.
 */
function corosyncCrypto(totem: Totem): { cipher: string; hash: string } {
  const secauth = String(totem["secauth"] ?? "off") === "on";
  const setting = (key: string, fallback: string) =>
    typeof totem[key] === "string" ? cleanText(totem[key], 20) : secauth ? fallback : "none";
  return { cipher: setting("crypto_cipher", "aes256"), hash: setting("crypto_hash", "sha256") };
}

export const corosyncCryptoOff = defineCheck({
  id: "corosync-crypto",
  code: "PVE-CLU-005",
  references: [REFERENCES.cluster],
  severity: "high",
  title: "Corosync cluster traffic without encryption or authentication",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const name = await clusterNameOf(ctx);
    if (name === undefined) return [];
    const totem = await ctx.getOrGap<Totem>("/cluster/config/totem", {}, COROSYNC_CONFIG, "Sys.Audit on /");
    if (!totem) return [];
    const { cipher, hash } = corosyncCrypto(totem);
    if (cipher !== "none" && hash !== "none") return [];
    return [
      {
        check: "corosync-crypto",
        severity: "high",
        title: `Corosync traffic of cluster ${name} is not ${cipher === "none" ? "encrypted" : "authenticated"}`,
        object: `cluster ${name}`,
        evidence: `totem: secauth ${cleanText(String(totem["secauth"] ?? "unset"), 10)}, crypto_cipher ${cipher}, crypto_hash ${hash}: anyone on the cluster network reads, or injects, cluster messages`,
        remediation:
          "in a copy of /etc/pve/corosync.conf set secauth: on (or crypto_cipher: aes256 and crypto_hash: sha256) in totem, raise config_version, and move it into place (the pvecm chapter: Edit corosync.conf)",
      },
    ];
  },
});

export const corosyncSingleLink = defineCheck({
  id: "corosync-single-link",
  code: "PVE-CLU-006",
  references: [REFERENCES.cluster],
  severity: "low",
  title: "Cluster nodes with a single corosync link",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const name = await clusterNameOf(ctx);
    if (name === undefined) return [];
    const nodes = await ctx.getOrGap<Record<string, unknown>[]>(
      "/cluster/config/nodes",
      {},
      COROSYNC_CONFIG,
      "Sys.Audit on /",
    );
    if (!nodes || nodes.length < 2) return [];
    const single = nodes
      .filter((n) => Object.keys(n).filter((key) => /^ring\d+_addr$/.test(key)).length < 2)
      .map((n) => cleanText(String(n["name"] ?? n["node"] ?? "?"), 64))
      .sort();
    if (single.length === 0) return [];
    return [
      {
        check: "corosync-single-link",
        severity: "low",
        title:
          single.length === nodes.length
            ? `Every node of cluster ${name} has one corosync link`
            : `${single.length} node(s) of cluster ${name} have one corosync link`,
        object: `cluster ${name}`,
        evidence: `one link (ring0_addr only) on ${single.join(", ")}: when that network fails or is saturated (a backup, a migration), nodes lose quorum and HA fences them`,
        remediation:
          "add a second link on another network: ring1_addr per node and an interface with linknumber 1 in /etc/pve/corosync.conf (the pvecm chapter: Adding Redundant Links)",
      },
    ];
  },
});

/** What GET /cluster/config/qdevice keeps of corosync-qdevice's status; {} without a QDevice. */
interface QDeviceStatus {
  Model?: string;
  State?: string;
  "QNetd host"?: string;
}

export const clusterEvenVotes = defineCheck({
  id: "cluster-even-votes",
  code: "PVE-CLU-007",
  references: [REFERENCES.qdevice],
  severity: "medium",
  title: "Clusters with an even number of votes and no QDevice",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const name = await clusterNameOf(ctx);
    if (name === undefined) return [];
    const nodes = await ctx.getOrGap<Record<string, unknown>[]>(
      "/cluster/config/nodes",
      {},
      COROSYNC_CONFIG,
      "Sys.Audit on /",
    );
    if (!nodes || nodes.length < 2) return [];
    // corosync counts a node without quorum_votes as one vote.
    const votes = nodes.reduce((sum, n) => {
      const v = Number.parseInt(String(n["quorum_votes"] ?? "1"), 10);
      return sum + (Number.isFinite(v) ? v : 1);
    }, 0);
    if (votes % 2 !== 0) return [];
    const qdevice = await ctx.getOrGap<QDeviceStatus>(
      "/cluster/config/qdevice",
      {},
      COROSYNC_CONFIG,
      "Sys.Audit on /",
    );
    if (!qdevice) return [];
    const state = cleanText(qdevice.State ?? "", 40);
    if (state === "Connected") return [];
    const configured = qdevice.Model !== undefined || qdevice.State !== undefined;
    const two = nodes.length === 2;
    const consequence = two
      ? "when either node or the link between them fails, the other loses quorum too"
      : `a split into two halves of ${votes / 2} votes (a switch, a rack) leaves neither with quorum`;
    return [
      {
        check: "cluster-even-votes",
        severity: two ? "medium" : "low",
        title: `Cluster ${name} has ${votes} votes on ${nodes.length} nodes and no working QDevice`,
        object: `cluster ${name}`,
        evidence: `${configured ? `QDevice ${cleanText(qdevice["QNetd host"] ?? "?", 80)} in state ${state || "unknown"}` : "no QDevice"}: quorum needs ${votes / 2 + 1} of ${votes} votes; ${consequence}: /etc/pve turns read-only, HA fences, no guest starts`,
        remediation:
          "add a QDevice: apt install corosync-qnetd on a host outside the cluster, apt install corosync-qdevice on every node, then pvecm qdevice setup <qnetd host IP> (or add a node with a vote)",
      },
    ];
  },
});

export const healthChecks = [
  clusterQuorum,
  nodeOffline,
  haError,
  corosyncCryptoOff,
  corosyncSingleLink,
  clusterEvenVotes,
  storageUsage,
  tasksFailed,
  replicationFailed,
  guestLockStale,
] as const;
