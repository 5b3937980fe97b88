/**
 * HA manager status and resources (pve-ha-manager API2/HA/Status.pm and
 * Resources.pm) and storage replication jobs (pve-manager API2/ReplicationConfig.pm
 * and API2/Replication.pm with pve-guest-common's ReplicationState::job_status).
 */
import { MONTHS, nextRun } from "../calendar.js";
import { sha1, type Cluster, type GuestState } from "../cluster.js";
import type { Scenario } from "../scenario.js";
import { param, route, type Route, type RouteContext } from "./route.js";

type HaGuest = GuestState & { ha: NonNullable<GuestState["ha"]> };
type ReplicationJob = Scenario["replication"][number];

/** How old the status of a node that went down is: well past the 30 s "dead?" threshold. */
const DEAD_NODE_STATUS_AGE = 2 * 3600;
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Perl's scalar localtime(): "Tue Apr 28 08:15:02 2026" (the simulated nodes run in UTC). */
function perlLocaltime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const day = String(d.getUTCDate()).padStart(2, " ");
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${time} ${d.getUTCFullYear()}`;
}

function sidOf(g: GuestState): string {
  return `${g.type === "qemu" ? "vm" : "ct"}:${g.vmid}`;
}

function haGuests(cluster: Cluster): HaGuest[] {
  return [...cluster.guests.values()]
    .filter((g): g is HaGuest => g.ha !== undefined)
    .sort((a, b) => (sidOf(a) < sidOf(b) ? -1 : sidOf(a) > sidOf(b) ? 1 : 0));
}

/** Status.pm's timestamp_to_status. */
function timestampStatus(now: number, timestamp: number): string {
  const diff = now - timestamp;
  if (diff > 30) return "old timestamp - dead?";
  if (diff < -2) return "detected time drift!";
  return "active";
}

/** The state the CRM keeps for a resource (manager_status service_status); ignored resources have none. */
function crmState(cluster: Cluster, g: HaGuest): string | undefined {
  switch (g.ha.state) {
    case "ignored":
      return undefined;
    case "started":
      return cluster.isOnline(g.node) ? "started" : "fence";
    default:
      return "stopped";
  }
}

/** PVE::HA::Tools::get_verbose_service_state. */
function verboseState(g: HaGuest, crm: string | undefined): string {
  if (crm === undefined) return "ignored";
  if (crm === "stopped" && g.ha.state === "disabled") return "disabled";
  if (crm === "started" && g.status !== "running") return "starting";
  return crm;
}

function haStatus(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  const now = cluster.now();
  const v9 = cluster.version === 9;
  const local = cluster.localNode;
  const { quorate } = cluster.scenario.ha;
  const guests = haGuests(cluster);
  const statusTime = (node: string) => (cluster.isOnline(node) ? now - 2 : now - DEAD_NODE_STATUS_AGE);
  const result: Record<string, unknown>[] = [
    quorate
      ? { id: "quorum", type: "quorum", node: local, status: "OK", quorate: 1 }
      : { id: "quorum", type: "quorum", node: local, status: `No quorum on node '${local}'!`, quorate: 0 },
  ];

  const master =
    cluster.scenario.ha.master ??
    (guests.length > 0 ? [...cluster.nodes.keys()].find((n) => cluster.isOnline(n)) : undefined);
  if (master !== undefined) {
    const timestamp = statusTime(master);
    let state = timestampStatus(now, timestamp);
    if (quorate && state !== "active" && guests.length === 0) state = "idle";
    result.push({
      id: "master",
      type: "master",
      node: master,
      status: `${master} (${state}, ${perlLocaltime(timestamp)})`,
      timestamp,
    });
    if (v9) {
      const armed = guests.some((g) => g.ha.state !== "ignored");
      result.push({
        id: "fencing",
        type: "fencing",
        node: master,
        status: armed ? "armed (CRM watchdog active)" : "standby (CRM watchdog standby)",
        "armed-state": armed ? "armed" : "standby",
      });
    }
  }

  for (const node of [...cluster.nodes.keys()].sort()) {
    const timestamp = statusTime(node);
    const active = guests.some(
      (g) => g.node === node && ["started", "fence"].includes(crmState(cluster, g) ?? ""),
    );
    let state = timestampStatus(now, timestamp);
    if (state === "active" && !active) state = "idle";
    const watchdog = state === "active" ? "watchdog active" : "watchdog standby";
    const detail = v9 ? `${state}, ${watchdog}` : state;
    result.push({
      id: `lrm:${node}`,
      type: "lrm",
      node,
      status: `${node} (${detail}, ${perlLocaltime(timestamp)})`,
      timestamp,
    });
  }

  for (const g of guests) {
    const sid = sidOf(g);
    const crm = crmState(cluster, g);
    const state = verboseState(g, crm);
    const entry: Record<string, unknown> = { id: `service:${sid}`, type: "service", sid, node: g.node };
    if (crm !== undefined) entry["crm_state"] = crm;
    Object.assign(entry, { state, status: `${sid} (${g.node}, ${state})`, request_state: g.ha.state });
    Object.assign(entry, resourceOptions(cluster, g));
    result.push(entry);
  }
  return result;
}

/** The options of a resources.cfg section (failback exists since PVE 9). */
function resourceOptions(cluster: Cluster, g: HaGuest): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (g.ha.group !== undefined) options["group"] = g.ha.group;
  options["max_restart"] = g.ha.max_restart;
  options["max_relocate"] = g.ha.max_relocate;
  if (cluster.version === 9) options["failback"] = g.ha.failback;
  if (g.ha.comment !== undefined) options["comment"] = g.ha.comment;
  return options;
}

function haResources(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  const guests = haGuests(cluster);
  const sections = guests.map((g) => {
    const options = { state: g.ha.state, ...resourceOptions(cluster, g) };
    return { g, options };
  });
  const resourcesCfg = sections
    .map(({ g, options }) => {
      const lines = Object.entries(options).map(([k, v]) => `\t${k} ${String(v)}\n`);
      return `${sidOf(g).replace(":", ": ")}\n${lines.join("")}\n`;
    })
    .join("");
  const digest = sha1(resourcesCfg);
  const type = param.optStr(ctx, "type");
  return sections
    .map(({ g, options }) => ({ sid: sidOf(g), type: g.type === "qemu" ? "vm" : "ct", ...options, digest }))
    .filter((entry) => type === undefined || entry.type === type);
}

/** Retry delay after the n-th consecutive failure (ReplicationState::job_status). */
function retryDelay(failCount: number): number {
  return 60 * (failCount < 3 ? 5 * failCount : 30);
}

function jobConfig(cluster: Cluster, job: ReplicationJob): Record<string, unknown> {
  const config: Record<string, unknown> = {
    id: job.id,
    type: "local",
    guest: job.guest,
    jobnum: Number(job.id.split("-")[1]),
    target: job.target,
    schedule: job.schedule,
  };
  if (job.disable !== undefined) config["disable"] = job.disable;
  if (job.rate !== undefined) config["rate"] = job.rate;
  if (job.comment !== undefined) config["comment"] = job.comment;
  // The first run records the node the guest was replicated from.
  const guest = cluster.guests.get(job.guest);
  if (job.last_sync !== undefined && guest) config["source"] = guest.node;
  return config;
}

function clusterReplication(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  return [...cluster.scenario.replication]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .filter((job) => cluster.engine.has(ctx.authid, `/vms/${job.guest}`, "VM.Audit"))
    .map((job) => jobConfig(cluster, job));
}

/** The job state pvesr keeps on the guest's node, and when it will run next. */
function jobState(cluster: Cluster, job: ReplicationJob): Record<string, unknown> {
  const now = cluster.now();
  const lastSync = job.last_sync === undefined ? 0 : cluster.time(job.last_sync);
  let lastTry = lastSync;
  if (lastSync > 0 && job.fail_count > 0) {
    lastTry = nextRun(job.schedule, lastSync) ?? lastSync;
    for (let failure = 1; failure < job.fail_count; failure++) lastTry += retryDelay(failure);
    lastTry = Math.min(lastTry, now);
  }
  let nextSync: number | undefined = 0;
  if (job.fail_count > 0) {
    if (cluster.isOnline(job.target)) nextSync = lastTry + retryDelay(job.fail_count);
  } else {
    nextSync = nextRun(job.schedule, lastTry);
  }
  const state: Record<string, unknown> = {};
  if (nextSync !== undefined) state["next_sync"] = nextSync;
  Object.assign(state, { last_sync: lastSync, last_try: lastTry });
  state["fail_count"] = job.fail_count;
  if (job.error !== undefined && job.fail_count > 0) state["error"] = job.error;
  // A plausible run time in seconds, stable per job.
  if (lastTry > 0) state["duration"] = Number((1.5 + (job.guest % 9) * 0.35).toFixed(6));
  return state;
}

function nodeReplication(ctx: RouteContext): unknown[] {
  const { cluster } = ctx;
  const node = param.str(ctx, "node");
  const guestFilter = param.optInt(ctx, "guest");
  return [...cluster.scenario.replication]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .flatMap((job) => {
      const guest = cluster.guests.get(job.guest);
      if (!guest || guest.node !== node || job.target === node || job.disable) return [];
      if (guestFilter !== undefined && job.guest !== guestFilter) return [];
      if (!cluster.engine.has(ctx.authid, `/vms/${job.guest}`, "VM.Audit")) return [];
      return [{ ...jobConfig(cluster, job), vmtype: guest.type, ...jobState(cluster, job) }];
    });
}

export const haRoutes: Route[] = [
  route("GET /cluster/ha/status/current", haStatus),
  route("GET /cluster/ha/resources", haResources),
  route("GET /cluster/replication", clusterReplication),
  route("GET /nodes/{node}/replication", nodeReplication),
];
