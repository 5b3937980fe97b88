/**
 * What the dangerous tools share: finding a guest's node and type with the admin
 * token, and following a task to its end.
 */
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import type { PveAdmin } from "../../pve/admin.js";
import { exactly } from "../../untrusted.js";

export interface LocatedGuest {
  vmid: number;
  node: string;
  type: "qemu" | "lxc";
  name: string;
  status: string;
}

const guestType = z.enum(["qemu", "lxc"]);

interface Resource {
  type?: string;
  vmid?: number;
  node?: string;
  name?: string;
  status?: string;
}

/** The guest's node and type from one /cluster/resources call; the node, if given, must agree. */
export async function locateGuest(
  admin: PveAdmin,
  vmid: number,
  node: string | undefined,
  signal: AbortSignal,
): Promise<LocatedGuest> {
  const resources = await admin.request<Resource[]>(
    "GET",
    "/cluster/resources",
    {},
    {
      query: { type: "vm" },
      signal,
    },
  );
  const guest = resources.find((r) => r.vmid === vmid && (r.type === "qemu" || r.type === "lxc"));
  if (!guest?.node) {
    throw new Error(
      `VM/CT ${vmid} not found: it does not exist, or the admin token lacks VM.Audit on /vms/${vmid} (PVE hides guests it may not see).`,
    );
  }
  if (node && guest.node !== node) {
    throw new Error(`VM/CT ${vmid} is on node ${guest.node}, not ${node}: omit "node" or use ${guest.node}.`);
  }
  // The type goes into a request path: taken from PVE's answer only if it is one we know.
  return {
    vmid,
    node: guest.node,
    type: guestType.parse(guest.type),
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
  const now = await locateGuest(admin, before.vmid, before.node, signal);
  if (now.type !== before.type || now.name !== before.name) {
    throw new Error(
      `${describeGuest(before)} changed while you were asked (now ${describeGuest(now)}); nothing was sent: ask again.`,
    );
  }
}
