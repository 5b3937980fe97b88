/**
 * PveReader.getPath: a checked path goes out as a GET; a forged brand or a path that
 * parseApiPath accepted only for another method is refused before anything is sent.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { parseApiPath, type CheckedApiPath } from "../../src/pve/api-path.js";
import { PveReader } from "../../src/pve/client.js";
import { PveInputError } from "../../src/pve/errors.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { simConfig } from "../helpers/config.js";

let sim: Simulator;
let reader: PveReader;
beforeAll(async () => {
  sim = await startSimulator();
  reader = new PveReader(simConfig(sim));
});
afterAll(async () => {
  await reader.close();
  await sim.close();
});
beforeEach(() => sim.clearRequests());

it("sends a path parseApiPath returned for GET", async () => {
  const { path } = parseApiPath("GET", "/nodes/pve1/qemu/100/status/current");
  const data = await reader.getPath<{ vmid: number }>(path);
  expect(data.vmid).toBe(100);
  expect(sim.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
    "GET /nodes/pve1/qemu/100/status/current",
  ]);
});

it("refuses a forged path and a path checked for POST, sending nothing", async () => {
  const post = parseApiPath("POST", "/nodes/pve1/qemu/100/status/start").path;
  await expect(reader.getPath(post)).rejects.toBeInstanceOf(PveInputError);
  await expect(reader.getPath("/access/../version" as CheckedApiPath)).rejects.toBeInstanceOf(PveInputError);
  expect(sim.requests()).toEqual([]);
});
