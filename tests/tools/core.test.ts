/**
 * Core tool handlers against a scripted PVE reader, for answers the simulator does not
 * produce on its own: a guest reported "unknown" on a node that is online, and
 * /cluster/status failing with something else than 403.
 */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import type { PveReader } from "../../src/pve/client.js";
import { PveApiError } from "../../src/pve/errors.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { getStorage, getVersion, getVmConfig, getVms, getVmStatus } from "../../src/tools/core.js";
import { readFactsOf, type ReadContext } from "../../src/tools/define.js";

type Answer = unknown | ((query: unknown) => unknown);

function context(answers: Record<string, Answer>): { ctx: ReadContext; requests: [string, unknown][] } {
  const requests: [string, unknown][] = [];
  const pve = {
    get(path: string, params: Record<string, string | number> = {}, opts: { query?: unknown } = {}) {
      const filled = path.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k]));
      requests.push([filled, opts.query]);
      const answer = answers[filled];
      if (answer === undefined) return Promise.reject(new Error(`unexpected GET ${filled}`));
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer);
    },
  } as unknown as PveReader;
  const config = { tokenId: "mcp@pve!ro", tls: { mode: "fingerprint" } } as unknown as Config;
  const access = { readExtraPrivileges: [], hiddenTools: [], adminWarnings: [] };
  const signal = new AbortController().signal;
  return { ctx: { read: new RunReader(pve, signal), facts: readFactsOf(config), signal, access }, requests };
}

const apiError = (status: number) => new PveApiError(status, "refused", "refused", "GET", "/cluster/status");

describe("get_version", () => {
  const version = { version: "9.1.9", release: "9.1", repoid: "abc" };

  it("403 from /cluster/status: answering node unknown (needs Sys.Audit on /)", async () => {
    const { ctx } = context({ "/version": version, "/cluster/status": apiError(403) });
    const out = await getVersion.handle({}, ctx);
    expect(out.structured.answeringNode).toBeNull();
    expect(out.text).toContain("unknown (needs Sys.Audit on /)");
  });

  it.each([
    ["a 500", apiError(500)],
    ["a 401", apiError(401)],
    ["a network error", new Error("socket hang up")],
  ])("%s from /cluster/status is an error, not 'unknown'", async (_label, err) => {
    const { ctx } = context({ "/version": version, "/cluster/status": err });
    await expect(getVersion.handle({}, ctx)).rejects.toBe(err);
  });
});

describe("get_vm_config", () => {
  it("a container's raw LXC keys ([[key, value], ...]) are shown as the config file's lines", async () => {
    const { ctx } = context({
      "/cluster/resources": [{ id: "lxc/207", type: "lxc", vmid: 207, node: "pve2", name: "pihole" }],
      "/nodes/pve2/lxc/207/config": {
        hostname: "pihole",
        unprivileged: 1,
        lxc: [
          ["lxc.apparmor.profile", "unconfined"],
          ["lxc.cgroup2.devices.allow", "a"],
        ],
        digest: "0123",
      },
    });
    const out = await getVmConfig.handle({ vmid: 207 }, ctx);
    expect(out.structured.config).toEqual({
      hostname: "pihole",
      unprivileged: 1,
      lxc: "lxc.apparmor.profile: unconfined\nlxc.cgroup2.devices.allow: a",
    });
    expect(getVmConfig.output.config.safeParse(out.structured.config).success).toBe(true);
    expect(out.text).toContain("lxc: lxc.apparmor.profile: unconfined\nlxc.cgroup2.devices.allow: a");
  });
});

describe("guests whose status is 'unknown'", () => {
  const resources = [
    { id: "node/pve1", type: "node", node: "pve1", status: "online" },
    { id: "node/pve3", type: "node", node: "pve3", status: "offline" },
    { id: "qemu/100", type: "qemu", vmid: 100, node: "pve1", name: "web", status: "unknown" },
    { id: "qemu/110", type: "qemu", vmid: 110, node: "pve3", name: "old", status: "unknown" },
  ];

  it("on an online node: its status is read normally", async () => {
    const { ctx, requests } = context({
      "/cluster/resources": resources,
      "/nodes/pve1/qemu/100/status/current": { status: "running", name: "web" },
    });
    const out = await getVmStatus.handle({ vmid: 100 }, ctx);
    expect(out.structured).toMatchObject({ vmid: 100, node: "pve1", status: "running" });
    expect(requests).toEqual([
      ["/cluster/resources", undefined],
      ["/nodes/pve1/qemu/100/status/current", undefined],
    ]);
  });

  it("on a node whose entry says offline: refused without a second request", async () => {
    const { ctx, requests } = context({ "/cluster/resources": resources });
    await expect(getVmStatus.handle({ vmid: 110 }, ctx)).rejects.toThrow(
      "VM/CT 110 is on node pve3, which is offline",
    );
    expect(requests).toHaveLength(1);
  });

  it("get_vms takes offline nodes from node entries only", async () => {
    const { ctx } = context({ "/cluster/resources": resources });
    const out = await getVms.handle({ type: "all", limit: 50, offset: 0 }, ctx);
    expect(out.structured.offlineNodes).toEqual(["pve3"]);
    expect(out.structured.guests.map((g) => g.vmid)).toEqual([100, 110]);
  });
});

describe("get_storage's usage line", () => {
  const TiB = 1024 ** 4;
  const GiB = 1024 ** 3;

  it("says which number is used and which is free, in TiB where that is the unit (issue 11: 7.6 TiB used read as available)", async () => {
    const { ctx } = context({
      "/cluster/resources": [
        {
          id: "storage/pve1/pbs",
          type: "storage",
          storage: "pbs",
          node: "pve1",
          plugintype: "pbs",
          content: "backup",
          shared: 1,
          status: "available",
          disk: 7634.9 * GiB,
          maxdisk: 8 * TiB,
        },
        {
          id: "storage/pve1/local",
          type: "storage",
          storage: "local",
          node: "pve1",
          plugintype: "dir",
          content: "iso",
          status: "available",
          disk: 9.2 * GiB,
          maxdisk: 93.9 * GiB,
        },
      ],
    });
    const out = await getStorage.handle({}, ctx);
    expect(out.text.split("\n")).toEqual([
      "local@pve1 dir [iso] status available, used 9.2 GiB of 93.9 GiB (10%), free 84.7 GiB",
      "pbs@pve1 pbs shared [backup] status available, used 7.5 TiB of 8.0 TiB (93%), free 557.1 GiB NEARLY FULL",
    ]);
  });
});
