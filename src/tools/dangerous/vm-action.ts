/** vm_action: power actions on a VM or container through the admin token, as a PVE task. */
import { z } from "zod";
import { pveNode, pveVmid } from "../../pve/formats.js";
import { defineTool } from "../define.js";
import { assertUnchanged, describeGuest, locateAsAdmin, waitForTask } from "./guests.js";

const ACTIONS = ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"] as const;
/** How long `wait` follows the task before answering "still running" (a shutdown may take minutes). */
const WAIT_MS = 120_000;

export const vmAction = defineTool({
  name: "vm_action",
  title: "Start, stop or reboot a guest",
  description:
    "Power action on a VM or container (start, stop, shutdown, reboot, reset, suspend, resume). Returns the task id; wait=true follows the task up to 2 min and reports the new status. dry_run=true shows the request without sending it.",
  toolset: "dangerous",
  tier: "dangerous",
  input: {
    vmid: pveVmid,
    node: pveNode.optional(),
    action: z.enum(ACTIONS),
    wait: z.boolean().default(false),
    dry_run: z.boolean().default(false),
  },
  output: {
    vmid: z.number(),
    node: z.string(),
    type: z.enum(["qemu", "lxc"]),
    action: z.enum(ACTIONS),
    request: z.string(),
    dryRun: z.boolean(),
    statusBefore: z.string(),
    upid: z.string().optional(),
    task: z.object({ status: z.enum(["stopped", "running"]), exitstatus: z.string().optional() }).optional(),
    statusAfter: z.string().optional(),
  },
  // VM.Audit finds the guest's node in /cluster/resources.
  needs: [
    { path: "/vms/{vmid}", privileges: ["VM.PowerMgmt"] },
    { path: "/vms/{vmid}", privileges: ["VM.Audit"] },
  ],
  async handle(args, ctx) {
    const guest = await locateAsAdmin(ctx.admin, args.vmid, args.node, ctx.signal);
    if (guest.type === "lxc" && args.action === "reset") {
      throw new Error(`CT ${guest.vmid}: containers have no reset; use reboot, or stop then start.`);
    }
    const template = `/nodes/{node}/${guest.type}/{vmid}/status/${args.action}`;
    const request = `POST /api2/json/nodes/${guest.node}/${guest.type}/${guest.vmid}/status/${args.action}`;
    const base = {
      vmid: guest.vmid,
      node: guest.node,
      type: guest.type,
      action: args.action,
      request,
      statusBefore: guest.status,
    };
    const what = `${args.action} ${describeGuest(guest)} (now ${guest.status})`;
    if (args.dry_run) {
      return {
        text: `dry run: would ${what} by sending ${request} with the admin token ${ctx.dangerous.adminTokenId}; nothing was sent.`,
        structured: { ...base, dryRun: true },
      };
    }
    await ctx.confirm(`${what}, with the admin token ${ctx.dangerous.adminTokenId}`);
    await assertUnchanged(ctx.admin, guest, ctx.signal);
    const upid = await ctx.admin.request<string>(
      "POST",
      template,
      { node: guest.node, vmid: guest.vmid },
      { signal: ctx.signal },
    );
    ctx.recordEffect({ upid });
    if (!args.wait) {
      return {
        text: `${args.action} of ${describeGuest(guest)} started as task ${upid} (not waited for).`,
        structured: { ...base, dryRun: false, upid },
      };
    }
    const task = await waitForTask(ctx.admin, guest.node, upid, WAIT_MS, ctx.signal);
    const current = await ctx.admin.request<{ status: string; qmpstatus?: string }>(
      "GET",
      `/nodes/{node}/${guest.type}/{vmid}/status/current`,
      { node: guest.node, vmid: guest.vmid },
      { signal: ctx.signal },
    );
    // A suspended (paused) VM shows status "running" and qmpstatus "paused".
    const statusAfter =
      current.qmpstatus && current.qmpstatus !== current.status
        ? `${current.status} (${current.qmpstatus})`
        : current.status;
    const ended =
      task.status === "running"
        ? `still running after ${WAIT_MS / 1000} s`
        : task.exitstatus === "OK"
          ? "finished OK"
          : `FAILED: ${task.exitstatus ?? "no exit status"}`;
    return {
      text: `${args.action} of ${describeGuest(guest)}: task ${upid} ${ended}; status now ${statusAfter}.`,
      structured: { ...base, dryRun: false, upid, task, statusAfter },
    };
  },
});
