/**
 * GET /nodes/{node}/{qemu,lxc}/{vmid}/pending: the guest config as PVE's vm_pending lists
 * it, one {key, value} per option, to anyone with VM.Audit on the guest. A second read
 * path for guest notes and cloud-init fields, so the leak scan can see what it carries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { api } from "../helpers/client.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

const get = (path: string, token = sim.tokens.auditor) => api(sim, { path, token });

describe("GET /nodes/{node}/{type}/{vmid}/pending", () => {
  it("lists every config option as {key, value}, with the config's digest and cipassword masked", async () => {
    const [pending, config] = await Promise.all([
      get("/nodes/pve1/qemu/9000/pending"),
      get("/nodes/pve1/qemu/9000/config"),
    ]);
    expect(pending.status, pending.raw).toBe(200);
    const items = pending.body.data as { key: string; value: unknown }[];
    for (const item of items) expect(Object.keys(item).sort()).toEqual(["key", "value"]);
    expect(Object.fromEntries(items.map((i) => [i.key, i.value]))).toEqual(config.body.data);
    expect(items).toContainEqual({ key: "cipassword", value: "**********" });
    expect(items).toContainEqual({ key: "name", value: "debian-13-cloud" });
  });

  it("serves containers too, notes included", async () => {
    const res = await get("/nodes/pve1/lxc/203/pending");
    expect(res.status, res.raw).toBe(200);
    const description = (res.body.data as { key: string; value: string }[]).find(
      (i) => i.key === "description",
    );
    expect(description?.value).toContain("Gitea for internal repos");
  });

  it("needs VM.Audit on the guest (403), and the guest's node (500, like load_config)", async () => {
    expect((await get("/nodes/pve1/qemu/9000/pending", TEST_TOKENS.empty)).status).toBe(403);
    const elsewhere = await get("/nodes/pve2/qemu/9000/pending");
    expect(elsewhere.status).toBe(500);
    expect(elsewhere.body.message).toBe(
      "Configuration file 'nodes/pve2/qemu-server/9000.conf' does not exist\n",
    );
  });
});
