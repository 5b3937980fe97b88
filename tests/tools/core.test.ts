/**
 * Core tool handlers against a scripted PVE reader, for answers the simulator does not
 * produce on its own: a guest reported "unknown" on a node that is online, and
 * /cluster/status failing with something else than 403.
 */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import type { PveReader } from "../../src/pve/client.js";
import { PveApiError } from "../../src/pve/errors.js";
import { getVersion, getVms, getVmStatus } from "../../src/tools/core.js";
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
  return { ctx: { pve, facts: readFactsOf(config), signal: new AbortController().signal, access }, requests };
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
