/**
 * Mutations: guest power actions as tasks (UPIDs, task lists, status, logs, HA,
 * request-time vs task-time failures, long-running tasks) and the guest agent's
 * exec / exec-status with qemu-ga's process table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type TokenCredentials } from "../../src/simulator/index.js";
import { api, type ApiResponse } from "../helpers/client.js";
import { NO_AGENT_VMID, testScenario } from "../helpers/scenarios.js";

/** Power and task tests; they change guest state, so they get their own cluster. */
let sim: Simulator;
/**
 * Guest-agent tests, with VM 104's agent rejecting some QGA commands and VMs 160 and
 * 161 whose running agent is disabled in the config.
 */
let agentSim: Simulator;
/** Tasks that stay running for a while and exec processes that do not exit. */
let slow: Simulator;

const DISABLED_AGENT_VMIDS = [160, 161] as const;

/** Tasks run "for an hour": the tests end them on cue with finishTasks(), never by waiting. */
const TASK_MS = 3_600_000;

beforeAll(async () => {
  const agentScenario = testScenario();
  agentScenario.guests!.find((g) => g.vmid === 104)!.agent!.unsupported = [
    "guest-network-get-interfaces",
    "get-osinfo",
  ];
  const disabledAgent = (vmid: number, agent: string) => ({
    vmid,
    type: "qemu" as const,
    node: "pve1",
    name: `agent-off-${vmid}`,
    status: "running" as const,
    cpus: 1,
    maxmem: 1073741824,
    maxdisk: 8589934592,
    config: { agent },
    agent: { running: true },
  });
  agentScenario.guests!.push(
    disabledAgent(DISABLED_AGENT_VMIDS[0], "0"),
    disabledAgent(DISABLED_AGENT_VMIDS[1], "enabled=0,fstrim_cloned_disks=1"),
  );
  [sim, agentSim, slow] = await Promise.all([
    startSimulator({ scenario: testScenario() }),
    startSimulator({ scenario: agentScenario }),
    startSimulator({ scenario: "demo", taskDurationMs: TASK_MS, execDurationMs: 3_600_000 }),
  ]);
});
afterAll(async () => {
  await Promise.all([sim?.close(), agentSim?.close(), slow?.close()]);
});

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** PVE's UPID format for a task of `vmid` on `node` owned by `authid`. */
function upidPattern(node: string, vmid: number, authid: string): RegExp {
  return new RegExp(
    `^UPID:${node}:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:\\w+:${vmid}:${escapeRegex(authid)}:$`,
  );
}

type GuestType = "qemu" | "lxc";

function power(
  s: Simulator,
  node: string,
  type: GuestType,
  vmid: number,
  action: string,
  token: TokenCredentials = s.tokens.admin,
): Promise<ApiResponse> {
  return api(s, { method: "POST", path: `/nodes/${node}/${type}/${vmid}/status/${action}`, token });
}

async function taskStatus(s: Simulator, upid: string): Promise<Record<string, unknown>> {
  const node = upid.split(":")[1]!;
  const res = await api(s, {
    path: `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
    token: s.tokens.root,
  });
  expect(res.status).toBe(200);
  return res.body.data;
}

async function taskLog(s: Simulator, upid: string): Promise<string[]> {
  const node = upid.split(":")[1]!;
  const res = await api(s, {
    path: `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`,
    token: s.tokens.root,
  });
  expect(res.status).toBe(200);
  return (res.body.data as { n: number; t: string }[]).map((l) => l.t);
}

async function guestStatus(
  s: Simulator,
  node: string,
  type: GuestType,
  vmid: number,
): Promise<Record<string, unknown>> {
  const res = await api(s, { path: `/nodes/${node}/${type}/${vmid}/status/current`, token: s.tokens.root });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** All tasks of a guest on a node, running or not, as the root token sees them. */
async function guestTasks(s: Simulator, node: string, vmid: number): Promise<Record<string, unknown>[]> {
  const res = await api(s, {
    path: `/nodes/${node}/tasks?source=all&vmid=${vmid}&limit=1000`,
    token: s.tokens.root,
  });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Runs an action that must succeed as a task of `taskType`; returns the UPID. */
async function runOk(
  s: Simulator,
  node: string,
  type: GuestType,
  vmid: number,
  action: string,
  taskType: string,
): Promise<string> {
  const res = await power(s, node, type, vmid, action);
  expect(res.status, `${action} ${vmid}: ${res.raw}`).toBe(200);
  const upid = res.body.data as string;
  expect(upid).toMatch(upidPattern(node, vmid, s.tokens.admin.id));
  expect(upid.split(":")[5]).toBe(taskType);
  expect(await taskStatus(s, upid)).toMatchObject({ status: "stopped", exitstatus: "OK", type: taskType });
  expect((await taskLog(s, upid)).at(-1)).toBe("TASK OK");
  return upid;
}

describe("qemu power actions on an HA-managed VM (100)", () => {
  it("stops through the HA stack: hastop task with a PVE UPID, listed, OK, VM stopped", async () => {
    expect(sim.tokens.admin.id).toContain("!");
    const before = await guestStatus(sim, "pve1", "qemu", 100);
    expect(before).toMatchObject({
      status: "running",
      qmpstatus: "running",
      ha: { managed: 1, state: "started" },
    });

    const res = await power(sim, "pve1", "qemu", 100, "stop");
    expect(res.status).toBe(200);
    const upid = res.body.data as string;
    expect(typeof upid).toBe("string");
    expect(upid).toMatch(upidPattern("pve1", 100, sim.tokens.admin.id));
    expect(upid.split(":")[5]).toBe("hastop");

    const { userid, tokenid } = splitToken(sim.tokens.admin.id);
    const nodeTasks = await api(sim, { path: "/nodes/pve1/tasks?vmid=100", token: sim.tokens.root });
    expect(nodeTasks.status).toBe(200);
    expect(nodeTasks.body.data).toContainEqual(
      expect.objectContaining({
        upid,
        node: "pve1",
        type: "hastop",
        id: "100",
        user: userid,
        tokenid,
        status: "OK",
      }),
    );
    const clusterTasks = await api(sim, { path: "/cluster/tasks", token: sim.tokens.root });
    expect(clusterTasks.status).toBe(200);
    expect(clusterTasks.body.data).toContainEqual(
      expect.objectContaining({ upid, type: "hastop", id: "100", status: "OK", saved: "1" }),
    );

    const status = await taskStatus(sim, upid);
    expect(status).toMatchObject({ upid, status: "stopped", exitstatus: "OK", type: "hastop", id: "100" });
    const log = await taskLog(sim, upid);
    expect(log).toContain("Requesting HA stop for VM 100");
    expect(log.at(-1)).toBe("TASK OK");

    expect(await guestStatus(sim, "pve1", "qemu", 100)).toMatchObject({
      status: "stopped",
      qmpstatus: "stopped",
      uptime: 0,
      ha: { managed: 1, state: "stopped" },
    });
  });

  it("starts through the HA stack (hastart), and a start of the running VM is still OK", async () => {
    const upid = await runOk(sim, "pve1", "qemu", 100, "start", "hastart");
    expect(await taskLog(sim, upid)).toContain("Requesting HA start for VM 100");
    expect(await guestStatus(sim, "pve1", "qemu", 100)).toMatchObject({
      status: "running",
      qmpstatus: "running",
      ha: { managed: 1, state: "started" },
    });
    // hastart only sets the requested state (ha-manager set vm:100 --state started).
    await runOk(sim, "pve1", "qemu", 100, "start", "hastart");
    expect(await guestStatus(sim, "pve1", "qemu", 100)).toMatchObject({ status: "running" });
  });

  it("shuts down through the HA stack too (hastop)", async () => {
    await runOk(sim, "pve1", "qemu", 100, "shutdown", "hastop");
    expect(await guestStatus(sim, "pve1", "qemu", 100)).toMatchObject({ status: "stopped" });
    await runOk(sim, "pve1", "qemu", 100, "start", "hastart");
  });
});

describe("qemu power actions on a VM without HA (105)", () => {
  it("runs each action as its qm* task and changes the state", async () => {
    expect(await guestStatus(sim, "pve1", "qemu", 105)).toMatchObject({
      status: "running",
      ha: { managed: 0 },
    });
    const steps: [action: string, task: string, status: string, qmpstatus: string][] = [
      ["shutdown", "qmshutdown", "stopped", "stopped"],
      ["start", "qmstart", "running", "running"],
      ["stop", "qmstop", "stopped", "stopped"],
      ["start", "qmstart", "running", "running"],
      ["reboot", "qmreboot", "running", "running"],
      ["reset", "qmreset", "running", "running"],
      ["suspend", "qmpause", "running", "paused"],
      ["resume", "qmresume", "running", "running"],
    ];
    for (const [action, task, status, qmpstatus] of steps) {
      await runOk(sim, "pve1", "qemu", 105, action, task);
      expect(await guestStatus(sim, "pve1", "qemu", 105), action).toMatchObject({ status, qmpstatus });
    }
  });

  it("refuses to shut down or reboot a paused VM before any task exists", async () => {
    await runOk(sim, "pve1", "qemu", 105, "suspend", "qmpause");
    const before = (await guestTasks(sim, "pve1", 105)).length;
    for (const action of ["shutdown", "reboot"]) {
      const res = await power(sim, "pve1", "qemu", 105, action);
      expect(res.status, action).toBe(500);
      expect(res.body.message).toBe("VM is paused - cannot shutdown\n");
    }
    expect(await guestTasks(sim, "pve1", 105)).toHaveLength(before);
    await runOk(sim, "pve1", "qemu", 105, "resume", "qmresume");
  });

  it("fails a start of a running VM inside the task: 200 with a UPID, task error 'already running'", async () => {
    const res = await power(sim, "pve1", "qemu", 103, "start");
    expect(res.status).toBe(200);
    const upid = res.body.data as string;
    expect(upid).toMatch(upidPattern("pve1", 103, sim.tokens.admin.id));
    expect(upid.split(":")[5]).toBe("qmstart");
    expect(await taskStatus(sim, upid)).toMatchObject({
      status: "stopped",
      exitstatus: "VM 103 already running",
    });
    expect((await taskLog(sim, upid)).at(-1)).toBe("TASK ERROR: VM 103 already running");
    const listed = await api(sim, {
      path: "/nodes/pve1/tasks?vmid=103&statusfilter=error",
      token: sim.tokens.root,
    });
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ upid, status: "VM 103 already running" }),
    );
    expect(await guestStatus(sim, "pve1", "qemu", 103)).toMatchObject({ status: "running" });
  });

  it.each(["reboot", "reset", "resume", "suspend"])(
    "answers 500 'VM 101 not running' to %s of a stopped VM, without a task",
    async (action) => {
      const before = await guestTasks(sim, "pve1", 101);
      const res = await power(sim, "pve1", "qemu", 101, action);
      expect(res.status).toBe(500);
      expect(res.reason).toBe("VM 101 not running");
      expect(res.body).toEqual({ data: null, message: "VM 101 not running\n" });
      expect(await guestTasks(sim, "pve1", 101)).toEqual(before);
      expect(await guestStatus(sim, "pve1", "qemu", 101)).toMatchObject({ status: "stopped" });
    },
  );

  it("fails a start of template 9000 inside the task", async () => {
    const res = await power(sim, "pve1", "qemu", 9000, "start");
    expect(res.status).toBe(200);
    const upid = res.body.data as string;
    expect(upid.split(":")[5]).toBe("qmstart");
    expect(await taskStatus(sim, upid)).toMatchObject({
      status: "stopped",
      exitstatus: "you can't start a vm if it's a template",
    });
    expect((await taskLog(sim, upid)).at(-1)).toBe("TASK ERROR: you can't start a vm if it's a template");
    expect(await guestStatus(sim, "pve1", "qemu", 9000)).toMatchObject({ status: "stopped", template: 1 });
  });
});

describe("suspend to disk", () => {
  it("runs as qmsuspend, stops the VM with a 'suspended' lock, and a start resumes it", async () => {
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/107/status/suspend",
      token: sim.tokens.admin,
      form: { todisk: 1 },
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.data.split(":")[5]).toBe("qmsuspend");
    expect(await taskStatus(sim, res.body.data)).toMatchObject({ exitstatus: "OK", type: "qmsuspend" });
    expect(await guestStatus(sim, "pve1", "qemu", 107)).toMatchObject({
      status: "stopped",
      lock: "suspended",
    });

    await runOk(sim, "pve1", "qemu", 107, "start", "qmstart");
    const resumed = await guestStatus(sim, "pve1", "qemu", 107);
    expect(resumed).toMatchObject({ status: "running", qmpstatus: "running" });
    expect(resumed).not.toHaveProperty("lock");
  });
});

describe("power actions on a guest whose config is not on the node", () => {
  it.each([
    ["qemu", 999, "start", "qmstart", "nodes/pve1/qemu-server/999.conf"],
    ["qemu", 999, "stop", "qmstop", "nodes/pve1/qemu-server/999.conf"],
    ["qemu", 999, "shutdown", "qmshutdown", "nodes/pve1/qemu-server/999.conf"],
    ["qemu", 104, "start", "qmstart", "nodes/pve1/qemu-server/104.conf"],
    ["lxc", 999, "start", "vzstart", "nodes/pve1/lxc/999.conf"],
  ] as const)(
    "forks %s %i %s as a %s task that fails to load %s",
    async (type, vmid, action, taskType, file) => {
      const res = await power(sim, "pve1", type, vmid, action);
      expect(res.status, res.raw).toBe(200);
      const upid = res.body.data as string;
      expect(upid).toMatch(upidPattern("pve1", vmid, sim.tokens.admin.id));
      expect(upid.split(":")[5]).toBe(taskType);
      const error = `Configuration file '${file}' does not exist`;
      expect(await taskStatus(sim, upid)).toMatchObject({ status: "stopped", exitstatus: error });
      expect(await taskLog(sim, upid)).toEqual([`TASK ERROR: ${error}`]);
    },
  );

  it.each(["reboot", "reset", "suspend", "resume"])(
    "answers qemu %s with 500 from check_running, without a task",
    async (action) => {
      const before = await guestTasks(sim, "pve1", 999);
      const res = await power(sim, "pve1", "qemu", 999, action);
      expect(res.status).toBe(500);
      expect(res.body.message).toBe("unable to find configuration file for VM 999 on node 'pve1'\n");
      expect(await guestTasks(sim, "pve1", 999)).toEqual(before);
    },
  );

  it("answers a CT stop with 500 'not running', as pve-container only asks whether it runs", async () => {
    const res = await power(sim, "pve1", "lxc", 999, "stop");
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("CT 999 not running\n");
  });

  it("checks skiplock before anything else", async () => {
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve1/qemu/999/status/start",
      token: sim.tokens.admin,
      form: { skiplock: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ skiplock: "Only root may use this option." });
  });
});

describe("lxc power actions", () => {
  it("answers 500 'CT 200 already running' to a start of the running CT, without a task", async () => {
    const before = await guestTasks(sim, "pve1", 200);
    const res = await power(sim, "pve1", "lxc", 200, "start");
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("CT 200 already running\n");
    expect(await guestTasks(sim, "pve1", 200)).toEqual(before);
  });

  it("answers 500 'CT 206 not running' to a stop of a stopped CT", async () => {
    const res = await power(sim, "pve1", "lxc", 206, "stop");
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("CT 206 not running\n");
  });

  it("has no reset for containers: 501", async () => {
    const res = await power(sim, "pve1", "lxc", 200, "reset");
    expect(res.status).toBe(501);
    expect(res.body.message).toBe("Method 'POST /nodes/pve1/lxc/200/status/reset' not implemented");
  });

  it("stops and starts a CT with vzstop / vzstart tasks", async () => {
    await runOk(sim, "pve1", "lxc", 200, "stop", "vzstop");
    expect(await guestStatus(sim, "pve1", "lxc", 200)).toMatchObject({ status: "stopped", type: "lxc" });
    await runOk(sim, "pve1", "lxc", 200, "start", "vzstart");
    expect(await guestStatus(sim, "pve1", "lxc", 200)).toMatchObject({ status: "running" });
  });
});

describe("power action permissions", () => {
  it("refuses the auditor token with 403 (/vms/100, VM.PowerMgmt) and creates no task", async () => {
    const before = await guestTasks(sim, "pve1", 100);
    sim.clearRequests();
    const res = await power(sim, "pve1", "qemu", 100, "stop", sim.tokens.auditor);
    expect(res.status).toBe(403);
    expect(res.reason).toBe("Permission check failed (/vms/100, VM.PowerMgmt)");
    expect(res.body).toEqual({ data: null, message: "Permission check failed (/vms/100, VM.PowerMgmt)\n" });
    expect(sim.requests()).toEqual([
      expect.objectContaining({
        method: "POST",
        path: "/nodes/pve1/qemu/100/status/stop",
        tokenId: sim.tokens.auditor.id,
        status: 403,
      }),
    ]);
    expect(await guestTasks(sim, "pve1", 100)).toEqual(before);
    expect(await guestStatus(sim, "pve1", "qemu", 100)).toMatchObject({ status: "running" });
  });
});

describe("guest locks", () => {
  it("fails the task of a locked guest, as qemu-server checks the lock inside the task", async () => {
    const res = await power(sim, "pve2", "qemu", 109, "start");
    expect(res.status).toBe(200);
    expect(await taskStatus(sim, res.body.data)).toMatchObject({ exitstatus: "VM is locked (backup)" });
    expect(await guestStatus(sim, "pve2", "qemu", 109)).toMatchObject({ status: "stopped", lock: "backup" });
  });

  it("allows skiplock only to root@pam itself, not to its tokens", async () => {
    const res = await api(sim, {
      method: "POST",
      path: "/nodes/pve2/qemu/109/status/start",
      token: sim.tokens.root,
      form: { skiplock: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ skiplock: "Only root may use this option." });
  });
});

describe("tasks that take time (taskDurationMs)", () => {
  it("answers with the UPID while the task runs; the state changes when it ends", async () => {
    const res = await power(slow, "pve1", "qemu", 103, "stop");
    expect(res.status).toBe(200);
    const upid = res.body.data as string;
    expect(upid).toMatch(upidPattern("pve1", 103, slow.tokens.admin.id));

    const running = await taskStatus(slow, upid);
    expect(running).toMatchObject({ upid, status: "running", type: "qmstop" });
    expect(running).not.toHaveProperty("exitstatus");
    const active = await api(slow, { path: "/nodes/pve1/tasks?source=active", token: slow.tokens.root });
    expect(active.body.data).toContainEqual(expect.objectContaining({ upid, status: "RUNNING" }));
    const archive = await api(slow, { path: "/nodes/pve1/tasks?vmid=103", token: slow.tokens.root });
    expect(archive.body.data.map((t: { upid: string }) => t.upid)).not.toContain(upid);
    expect(await guestStatus(slow, "pve1", "qemu", 103)).toMatchObject({ status: "running" });

    const idle = slow.tasksIdle();
    slow.finishTasks();
    await idle;

    expect(await taskStatus(slow, upid)).toMatchObject({ upid, status: "stopped", exitstatus: "OK" });
    expect((await taskLog(slow, upid)).at(-1)).toBe("TASK OK");
    expect(await guestStatus(slow, "pve1", "qemu", 103)).toMatchObject({ status: "stopped" });
    const after = await api(slow, { path: "/nodes/pve1/tasks?vmid=103", token: slow.tokens.root });
    expect(after.body.data).toContainEqual(expect.objectContaining({ upid, status: "OK" }));
  });

  it("checks what the task checks when the task runs, and request-time checks at once", async () => {
    // 101 is stopped: both starts pass the request, the second one fails when it runs.
    const first = await power(slow, "pve1", "qemu", 101, "start");
    const second = await power(slow, "pve1", "qemu", 101, "start");
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await guestStatus(slow, "pve1", "qemu", 101)).toMatchObject({ status: "stopped" });
    // A request-time check does not wait for the task.
    const reboot = await power(slow, "pve1", "qemu", 101, "reboot");
    expect(reboot.status).toBe(500);

    slow.finishTasks();

    expect(await taskStatus(slow, first.body.data)).toMatchObject({ exitstatus: "OK" });
    expect(await taskStatus(slow, second.body.data)).toMatchObject({ exitstatus: "VM 101 already running" });
    expect(await guestStatus(slow, "pve1", "qemu", 101)).toMatchObject({ status: "running" });
  });

  it("tasksIdle() resolves at once when nothing runs", async () => {
    await expect(slow.tasksIdle()).resolves.toBeUndefined();
  });
});

function splitToken(id: string): { userid: string; tokenid: string } {
  const i = id.lastIndexOf("!");
  return { userid: id.slice(0, i), tokenid: id.slice(i + 1) };
}

function exec(
  s: Simulator,
  vmid: number,
  body: { form?: Record<string, string | string[]>; json?: unknown },
  token: TokenCredentials = s.tokens.admin,
  node = "pve1",
): Promise<ApiResponse> {
  return api(s, { method: "POST", path: `/nodes/${node}/qemu/${vmid}/agent/exec`, token, ...body });
}

function execStatus(
  s: Simulator,
  vmid: number,
  pid: unknown,
  token: TokenCredentials = s.tokens.admin,
  node = "pve1",
): Promise<ApiResponse> {
  return api(s, { path: `/nodes/${node}/qemu/${vmid}/agent/exec-status?pid=${String(pid)}`, token });
}

describe("guest agent exec", () => {
  it.each([
    ["a form with a repeated key", { form: { command: ["/bin/sh", "-c", "uptime"] } }],
    ["a JSON body", { json: { command: ["/bin/sh", "-c", "uptime"] } }],
  ])("runs a command sent as %s, reports it once, then forgets the pid", async (_label, body) => {
    const res = await exec(agentSim, 100, body);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toEqual(["pid"]);
    const pid = res.body.data.pid as number;
    expect(Number.isInteger(pid)).toBe(true);

    const done = await execStatus(agentSim, 100, pid);
    expect(done.status).toBe(200);
    expect(done.body.data).toEqual({
      exited: 1,
      exitcode: 0,
      "out-data": expect.stringMatching(/ up \d+ days,/),
    });

    const again = await execStatus(agentSim, 100, pid);
    expect(again.status).toBe(500);
    expect(again.reason).toBe("Agent error: Invalid parameter 'pid'");
    expect(again.body.message).toBe("Agent error: Invalid parameter 'pid'\n");
  });

  it("gives every exec its own pid", async () => {
    const a = await exec(agentSim, 100, { json: { command: ["true"] } });
    const b = await exec(agentSim, 100, { json: { command: ["true"] } });
    expect(a.body.data.pid).not.toBe(b.body.data.pid);
    // Reading one does not consume the other.
    expect((await execStatus(agentSim, 100, b.body.data.pid)).body.data).toEqual({ exited: 1, exitcode: 0 });
    expect((await execStatus(agentSim, 100, a.body.data.pid)).body.data).toEqual({ exited: 1, exitcode: 0 });
  });

  it("reports a failing command's exit code and stderr", async () => {
    const res = await exec(agentSim, 100, { json: { command: ["ls", "/nonexistent"] } });
    expect(res.status).toBe(200);
    const status = await execStatus(agentSim, 100, res.body.data.pid);
    expect(status.body.data).toEqual({
      exited: 1,
      exitcode: 2,
      "err-data": "ls: cannot access '/nonexistent': No such file or directory\n",
    });
  });

  it("passes input-data to the command as stdin", async () => {
    const res = await exec(agentSim, 100, { form: { command: "cat", "input-data": "hello\n" } });
    expect(res.status).toBe(200);
    expect((await execStatus(agentSim, 100, res.body.data.pid)).body.data).toEqual({
      exited: 1,
      exitcode: 0,
      "out-data": "hello\n",
    });
  });

  it("answers 500 'Agent error: Failed to execute child process' for an unknown program", async () => {
    const res = await exec(agentSim, 100, { json: { command: ["/usr/bin/no-such-program", "-v"] } });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe(
      "Agent error: Failed to execute child process \u201c/usr/bin/no-such-program\u201d (No such file or directory)\n",
    );
    // The reason phrase carries the same text; its quotes arrive as UTF-8 bytes.
    expect(Buffer.from(res.reason, "latin1").toString("utf8")).toBe(res.body.message.trimEnd());
  });

  it("wraps a single form value into a one-element array: 'ls -la' is one program name", async () => {
    const single = await exec(agentSim, 100, { form: { command: "ls -la" } });
    expect(single.status).toBe(500);
    expect(single.body.message).toMatch(/^Agent error: Failed to execute child process .ls -la. /);
    const split = await exec(agentSim, 100, { form: { command: ["ls", "-la"] } });
    expect(split.status).toBe(200);
    expect((await execStatus(agentSim, 100, split.body.data.pid)).body.data).toMatchObject({ exitcode: 0 });
  });

  it("answers 500 'VM 101 is not running' for a stopped VM", async () => {
    const res = await exec(agentSim, 101, { json: { command: ["uptime"] } });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ data: null, message: "VM 101 is not running\n" });
  });

  it.each(DISABLED_AGENT_VMIDS)(
    "answers 500 'QEMU guest agent is not running' when VM %i's config disables the agent",
    async (vmid) => {
      const res = await exec(agentSim, vmid, { json: { command: ["uptime"] } });
      expect(res.status).toBe(500);
      expect(res.body.message).toBe("QEMU guest agent is not running\n");
      const status = await guestStatus(agentSim, "pve1", "qemu", vmid);
      expect(status).not.toHaveProperty("agent");
    },
  );

  it("gets no answer from the agent of a paused VM", async () => {
    expect((await power(agentSim, "pve1", "qemu", 105, "suspend")).status).toBe(200);
    try {
      const res = await exec(agentSim, 105, { json: { command: ["uptime"] } });
      expect(res.status).toBe(500);
      expect(res.body.message).toBe("QEMU guest agent is not running\n");
    } finally {
      expect((await power(agentSim, "pve1", "qemu", 105, "resume")).status).toBe(200);
    }
    expect((await exec(agentSim, 105, { json: { command: ["uptime"] } })).status).toBe(200);
  });

  it("reads `agent` as a property string: '1,fstrim_cloned_disks=1' is enabled (VM 103)", async () => {
    expect(await guestStatus(agentSim, "pve1", "qemu", 103)).toMatchObject({ agent: 1 });
  });

  it("checks for a command before it checks the agent", async () => {
    const res = await exec(agentSim, NO_AGENT_VMID, { json: { command: [] } });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("command or input-data (or both) required\n");
    const missing = await exec(agentSim, 999, { json: { command: [] } });
    expect(missing.body.message).toBe(
      "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n",
    );
  });

  it("answers 500 for exec-status of a pid that never existed", async () => {
    const res = await execStatus(agentSim, 100, 4242);
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("Agent error: Invalid parameter 'pid'\n");
  });

  it("refuses the auditor token exec and exec-status (VM.GuestAgent.Unrestricted) but lets it read interfaces", async () => {
    const res = await exec(agentSim, 100, { json: { command: ["uptime"] } }, agentSim.tokens.auditor);
    expect(res.status).toBe(403);
    expect(res.body.message).toBe("Permission check failed (/vms/100, VM.GuestAgent.Unrestricted)\n");
    const status = await execStatus(agentSim, 100, 1, agentSim.tokens.auditor);
    expect(status.status).toBe(403);
    expect(status.reason).toBe("Permission check failed (/vms/100, VM.GuestAgent.Unrestricted)");

    const ifaces = await api(agentSim, {
      path: "/nodes/pve1/qemu/100/agent/network-get-interfaces",
      token: agentSim.tokens.auditor,
    });
    expect(ifaces.status).toBe(200);
    const eth0 = (ifaces.body.data.result as { name: string; "ip-addresses": unknown[] }[]).find(
      (i) => i.name === "eth0",
    );
    expect(eth0?.["ip-addresses"]).toContainEqual(expect.objectContaining({ "ip-address": "192.0.2.100" }));
  });

  it("passes a QGA 'Unsupported' error through inside result, with HTTP 200", async () => {
    const unsupported = {
      result: {
        error: { class: "Unsupported", desc: "this feature or command is not currently supported" },
      },
    };
    for (const command of ["network-get-interfaces", "get-osinfo"]) {
      const res = await api(agentSim, {
        path: `/nodes/pve2/qemu/104/agent/${command}`,
        token: agentSim.tokens.admin,
      });
      expect(res.status, command).toBe(200);
      expect(res.body.data, command).toEqual(unsupported);
    }
    // The same agent still answers what it supports.
    const osinfo = await api(agentSim, {
      path: "/nodes/pve1/qemu/100/agent/get-osinfo",
      token: agentSim.tokens.admin,
    });
    expect(osinfo.body.data.result).toMatchObject({ id: "debian" });
  });

  it("turns a rejected guest-exec into 500 'Agent error: ...' (demo VM 108)", async () => {
    const res = await exec(agentSim, 108, { json: { command: ["uptime"] } }, agentSim.tokens.admin, "pve2");
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("Agent error: this feature or command is not currently supported\n");
    const status = await execStatus(agentSim, 108, 1, agentSim.tokens.admin, "pve2");
    expect(status.status).toBe(500);
    expect(status.body.message).toBe("Agent error: this feature or command is not currently supported\n");
  });
});

describe("guest agent exec that takes time (execDurationMs)", () => {
  it("says {exited: 0} while the process runs, and keeps the pid", async () => {
    const res = await exec(slow, 100, { form: { command: ["/bin/sh", "-c", "uptime"] } });
    expect(res.status).toBe(200);
    const pid = res.body.data.pid as number;
    for (let i = 0; i < 2; i++) {
      const status = await execStatus(slow, 100, pid);
      expect(status.status).toBe(200);
      expect(status.body.data).toEqual({ exited: 0 });
    }
  });
});
