/**
 * What the dangerous tools share: finding a guest's node and type with the admin
 * token, and following a task to its end.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { PveAdmin } from "../../pve/admin.js";
import { locateGuest, type ClusterResource } from "../../pve/model/resources.js";
import { exactly } from "../../untrusted.js";

export interface LocatedGuest {
  vmid: number;
  node: string;
  type: "qemu" | "lxc";
  name: string;
  status: string;
}

/** The guest's node and type from one /cluster/resources call with the admin token; the node, if given, must agree. */
export async function locateAsAdmin(
  admin: PveAdmin,
  vmid: number,
  node: string | undefined,
  signal: AbortSignal,
): Promise<LocatedGuest> {
  const resources = await admin.request<ClusterResource[]>(
    "GET",
    "/cluster/resources",
    {},
    {
      query: { type: "vm" },
      signal,
    },
  );
  const guest = locateGuest(resources, vmid, node, "the admin token");
  return {
    vmid,
    node: guest.node,
    type: guest.type,
    name: guest.name ?? "",
    status: guest.status ?? "unknown",
  };
}

export interface TaskEnd {
  /** "running" when the wait ran out first. */
  status: "stopped" | "running";
  exitstatus?: string;
}

/** Polls the task's status until it stops or `waitMs` passes (then it is reported as still running). */
export async function waitForTask(
  admin: PveAdmin,
  node: string,
  upid: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<TaskEnd> {
  const until = Date.now() + waitMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 2000)) {
    const task = await admin.request<{ status: string; exitstatus?: string }>(
      "GET",
      "/nodes/{node}/tasks/{upid}/status",
      { node, upid },
      { signal },
    );
    if (task.status === "stopped") {
      return task.exitstatus === undefined
        ? { status: "stopped" }
        : { status: "stopped", exitstatus: task.exitstatus };
    }
    if (Date.now() + pause > until) return { status: "running" };
    await delay(pause, undefined, { signal });
  }
}

/** 'VM 100 "web01" on pve1': the name is the guest owner's text, shown exactly. */
export function describeGuest(g: LocatedGuest): string {
  const kind = g.type === "qemu" ? "VM" : "CT";
  return `${kind} ${g.vmid}${g.name ? ` ${exactly(g.name)}` : ""} on ${g.node}`;
}

/**
 * The person may take minutes to answer: after the confirmation the guest is looked
 * up again, and nothing is sent if it moved, changed type or was replaced.
 */
export async function assertUnchanged(
  admin: PveAdmin,
  before: LocatedGuest,
  signal: AbortSignal,
): Promise<void> {
  const now = await locateAsAdmin(admin, before.vmid, before.node, signal);
  if (now.type !== before.type || now.name !== before.name) {
    throw new Error(
      `${describeGuest(before)} changed while you were asked (now ${describeGuest(now)}); nothing was sent: ask again.`,
    );
  }
}
