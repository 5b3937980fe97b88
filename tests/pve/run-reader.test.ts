/**
 * The run's reader every tool call and audit reads PVE through: one request per distinct
 * GET however many readers ask, a failure that stays a failure, gaps kept once each, and
 * a limit on requests in flight.
 */
import { describe, expect, it } from "vitest";
import { PveApiError } from "../../src/pve/errors.js";
import { RunReader, type RunSource } from "../../src/pve/model/reader.js";
import type { PathParams, Query } from "../../src/pve/model/visibility.js";

interface Sent {
  template: string;
  params: PathParams;
  query?: Query;
  signal?: AbortSignal;
}

/** A source that answers from `answer` and records what it was asked. */
function sourceOf(answer: (sent: Sent) => Promise<unknown>) {
  const sent: Sent[] = [];
  const source: RunSource = {
    get: async <T>(
      template: string,
      params: PathParams = {},
      options?: { query?: Query; signal?: AbortSignal },
    ) => {
      const request = { template, params, query: options?.query, signal: options?.signal };
      sent.push(request);
      return (await answer(request)) as T;
    },
  };
  return { source, sent };
}

const refusal = (path: string, needs: string) =>
  new PveApiError(403, "Permission check failed", `Permission check failed (${path}, ${needs})`, "GET", path);

describe("RunReader", () => {
  it("sends one request per distinct GET, whatever the order of params and query keys", async () => {
    const { source, sent } = sourceOf(async (r) => r.template);
    const read = new RunReader(source, undefined);
    const answers = await Promise.all([
      read.get("/nodes/{node}/qemu/{vmid}/config", { node: "pve1", vmid: 100 }, { current: 1 }),
      read.get("/nodes/{node}/qemu/{vmid}/config", { vmid: 100, node: "pve1" }, { current: 1 }),
      read.get("/nodes/{node}/qemu/{vmid}/config", { node: "pve1", vmid: 100 }),
      read.get("/cluster/resources", {}, { type: "vm" }),
      read.get("/cluster/resources"),
      read.get("/cluster/resources", {}, {}),
    ]);
    expect(answers[0]).toBe("/nodes/{node}/qemu/{vmid}/config");
    expect(sent.map((s) => [s.template, s.query ?? null])).toEqual([
      ["/nodes/{node}/qemu/{vmid}/config", { current: 1 }],
      ["/nodes/{node}/qemu/{vmid}/config", null],
      ["/cluster/resources", { type: "vm" }],
      ["/cluster/resources", null],
    ]);
  });

  it("passes the run's signal with every request", async () => {
    const { source, sent } = sourceOf(async () => []);
    const signal = new AbortController().signal;
    await new RunReader(source, signal).get("/nodes");
    expect(sent[0]?.signal).toBe(signal);
  });

  it("keeps a failed read failed for the run: it is not sent again", async () => {
    const { source, sent } = sourceOf(async () => {
      throw new PveApiError(500, "boom", "boom", "GET", "/nodes");
    });
    const read = new RunReader(source, undefined);
    await expect(read.get("/nodes")).rejects.toThrow("boom");
    await expect(read.get("/nodes")).rejects.toThrow("boom");
    expect(sent).toHaveLength(1);
  });

  it("turns a refusal into one gap naming PVE's privilege, however often it is read", async () => {
    const { source, sent } = sourceOf(async () => {
      throw refusal("/nodes/pve1", "Sys.Modify");
    });
    const read = new RunReader(source, undefined);
    for (let i = 0; i < 3; i++) {
      await expect(
        read.readOrGap("/nodes/{node}/apt/update", { node: "pve1" }, "pending updates on pve1", "?"),
      ).resolves.toBeUndefined();
    }
    read.gap("pending updates on pve1", "Sys.Modify on /nodes/pve1");
    read.gap("pending updates on pve2", "Sys.Modify on /nodes/pve2");
    expect(read.gaps).toEqual([
      { what: "pending updates on pve1", needs: "Sys.Modify on /nodes/pve1" },
      { what: "pending updates on pve2", needs: "Sys.Modify on /nodes/pve2" },
    ]);
    expect(sent).toHaveLength(1);
  });

  it("answers holds from one permissions read, with PVE's path normalisation and propagation", async () => {
    const { source, sent } = sourceOf(async () => ({
      "/": { "Sys.Audit": 1 },
      "/access/groups": { "Sys.Audit": 0 },
      "/vms": { "VM.Audit": 1 },
    }));
    const read = new RunReader(source, undefined);
    expect(await read.holds("/access//groups/", "Sys.Audit")).toBe(true);
    expect(await read.holds("/access/groups/ops", "Sys.Audit")).toBe(false);
    expect(await read.holds("/vms/100", ["VM.Audit", "Sys.Audit"])).toBe(true);
    // PVE always lists its default paths when anything is held there: /pool missing means nothing.
    expect(await read.holds("/pool/dev", "Sys.Audit")).toBe(false);
    expect(sent.map((s) => s.template)).toEqual(["/access/permissions"]);
  });

  it("says the permissions are unknown when PVE will not tell them, and lets other failures through", async () => {
    const refused = new RunReader(
      sourceOf(async () => {
        throw refusal("/access", "Sys.Audit");
      }).source,
      undefined,
    );
    expect(await refused.permissionsIfKnown()).toBeUndefined();
    const broken = new RunReader(
      sourceOf(async () => {
        throw new TypeError("socket hang up");
      }).source,
      undefined,
    );
    await expect(broken.permissionsIfKnown()).rejects.toThrow("socket hang up");
  });

  it("never has more than `concurrency` requests in flight, and sends the rest as slots free", async () => {
    const pending: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const { source, sent } = sourceOf(
      () =>
        new Promise((resolve) => {
          inFlight++;
          most = Math.max(most, inFlight);
          pending.push(() => {
            inFlight--;
            resolve(null);
          });
        }),
    );
    const read = new RunReader(source, undefined, 2);
    const all = Promise.all([1, 2, 3, 4, 5].map((vmid) => read.get("/x/{vmid}", { vmid })));
    await Promise.resolve();
    expect(sent).toHaveLength(2);
    while (pending.length > 0 || sent.length < 5) {
      pending.shift()?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await all;
    expect(sent).toHaveLength(5);
    expect(most).toBe(2);
  });

  it("refuses paged totals and raw paths when its source cannot read them", () => {
    const read = new RunReader(sourceOf(async () => []).source, undefined);
    expect(() => read.getWithTotal("/nodes/{node}/tasks", { node: "pve1" })).toThrow("paged totals");
    expect(() => read.getPath("/nodes" as never)).toThrow("raw paths");
  });
});
