/**
 * Paging from one snapshot (cursor-paging.ts): get_vms reads /cluster/resources once and
 * serves the next pages by cursor without a request; cursors are checked whole before
 * anything is sent; the snapshots held are bounded in number and age. The store on its
 * own with a clock the test moves, then get_vms through the server against the
 * simulator's 16-node, 2,000-guest cluster (time moved with a fake Date, no sleeps).
 */
import type { PageMeta } from "../../src/tools/paging.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { getVms } from "../../src/tools/core.js";
import {
  CURSOR_LENGTH,
  CURSOR_MAX_AGE_MS,
  ListingSnapshots,
  MAX_SNAPSHOTS,
  SNAPSHOT_TTL_MS,
} from "../../src/tools/cursor-paging.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

/** Replaces the character at `at` by another of the cursor alphabet. */
function alter(cursor: string, at: number): string {
  const c = cursor[at] === "A" ? "B" : "A";
  return cursor.slice(0, at) + c + cursor.slice(at + 1);
}

describe("the snapshot store", () => {
  let now = 1_800_000_000_000;
  const clock = () => now;
  const filters = { node: undefined, type: "all" };
  let reads = 0;
  const read = () => Promise.resolve({ read: ++reads });
  /** The Proxmox client a snapshot was read through. */
  const reader = {};

  beforeEach(() => {
    reads = 0;
  });

  it("a cursor serves its snapshot without a read, at its position, with the age", async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const first = await store.list("get_vms", filters, undefined, reader, read);
    expect(first).toMatchObject({ position: undefined, reread: false, ageMs: 0 });
    const cursor = first.cursorAt(100);
    expect(cursor).toMatch(new RegExp(`^[A-Za-z0-9_-]{${CURSOR_LENGTH}}$`));
    now += 12_000;
    const next = await store.list("get_vms", filters, cursor, reader, read);
    expect(next).toMatchObject({ data: { read: 1 }, position: 100, reread: false, ageMs: 12_000 });
    expect(reads).toBe(1);
  });

  it.each([
    ["too short", (c: string) => c.slice(1), /exactly 74 characters/],
    ["too long", (c: string) => `${c}A`, /exactly 74 characters/],
    ["a character outside base64url", (c: string) => `${c.slice(0, 40)}/${c.slice(41)}`, /and others/],
    ["control characters", (c: string) => `${c.slice(0, 40)}\u0000${c.slice(41)}`, /and others/],
    ["another spelling of the same bytes", (c: string) => alter(c, CURSOR_LENGTH - 1), /encoding|altered/],
    ["the version", (c: string) => `B${c.slice(1)}`, /unknown version/],
    ["the position", (c: string) => alter(c, 33), /altered/],
    ["the issuing process", (c: string) => alter(c, 3), /not issued by this server process/],
    ["the signature", (c: string) => alter(c, 60), /altered/],
  ])("refuses a cursor with %s, without a read and without quoting it", async (_label, tamper, rule) => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursor = (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    const bad = tamper(cursor);
    expect(bad).not.toBe(cursor);
    await expect(store.list("get_vms", filters, bad, reader, read)).rejects.toThrow(rule);
    await expect(store.list("get_vms", filters, bad, reader, read)).rejects.not.toThrow(bad.slice(0, 20));
    expect(reads).toBe(1);
  });

  it("refuses a cursor of another tool or of other filters, without a read", async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursor = (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    expect(() => store.check("get_storage", filters, cursor)).toThrow(
      "cursor refused: it belongs to another tool's listing, not get_storage's",
    );
    expect(() => store.check("get_vms", { ...filters, node: "pve1" }, cursor)).toThrow(
      "cursor refused: it was issued for other filter arguments (node, type must be those of the first page)",
    );
    expect(reads).toBe(1);
  });

  it("a cursor older than the maximum age is refused, one line saying how to start over", async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursor = (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    now += CURSOR_MAX_AGE_MS + 60_000;
    await expect(store.list("get_vms", filters, cursor, reader, read)).rejects.toThrow(
      /^cursor expired: its snapshot of \/cluster\/resources was taken 11 min ago and cursors last 10 min; call get_vms again without cursor for a fresh listing\.$/,
    );
    expect(reads).toBe(1);
  });

  it(`holds at most ${MAX_SNAPSHOTS} snapshots: the oldest is dropped, and its cursor reads once again`, async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursors: string[] = [];
    for (let i = 0; i <= MAX_SNAPSHOTS; i++) {
      cursors.push((await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100));
    }
    expect(store.size).toBe(MAX_SNAPSHOTS);
    expect(reads).toBe(MAX_SNAPSHOTS + 1);
    const newest = await store.list("get_vms", filters, cursors.at(-1), reader, read);
    expect(newest).toMatchObject({ reread: false, data: { read: MAX_SNAPSHOTS + 1 } });
    const oldest = await store.list("get_vms", filters, cursors[0], reader, read);
    expect(oldest).toMatchObject({ reread: true, position: 100, data: { read: MAX_SNAPSHOTS + 2 } });
  });

  it("drops snapshots past the maximum age on the next access (no timer)", async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    now += CURSOR_MAX_AGE_MS / 2;
    (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    expect(store.size).toBe(2);
    now += CURSOR_MAX_AGE_MS / 2 + 1;
    expect(store.size).toBe(1);
  });

  it("a cursor of another server process is refused, nothing read; a future time is refused", async () => {
    const here = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const there = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursor = (await there.list("get_vms", filters, undefined, reader, read)).cursorAt(300);
    await expect(here.list("get_vms", filters, cursor, reader, read)).rejects.toThrow(
      /^cursor refused: it was not issued by this server process/,
    );
    expect(reads).toBe(1);
    const early = (await there.list("get_vms", filters, undefined, reader, read)).cursorAt(300);
    now -= 5 * 60_000;
    expect(() => there.check("get_vms", filters, early)).toThrow("its snapshot time lies in the future");
  });

  it("a snapshot serves only the client (token) that read it: another one reads its own", async () => {
    const store = new ListingSnapshots<{ read: number }>("/cluster/resources", clock);
    const cursor = (await store.list("get_vms", filters, undefined, reader, read)).cursorAt(100);
    const otherToken = {};
    const theirs = await store.list("get_vms", filters, cursor, otherToken, read);
    expect(theirs).toMatchObject({ reread: true, position: 100, data: { read: 2 } });
    expect(await store.list("get_vms", filters, cursor, reader, read)).toMatchObject({
      reread: false,
      data: { read: 1 },
    });
  });
});

describe("get_vms on 16 nodes x 2,000 guests", () => {
  let sim: Simulator;
  let tools: ToolClient;

  interface VmPage extends PageMeta {
    snapshot: { takenAt: number; ageSeconds: number; stale: boolean; reread: boolean };
    guests: { vmid: number }[];
  }

  async function page(args: Record<string, unknown>) {
    const result = await tools.call("get_vms", args);
    expect(result.isError, result.text).toBeFalsy();
    return { text: result.text, data: result.structuredContent as unknown as VmPage };
  }

  async function refused(args: Record<string, unknown>): Promise<string> {
    const result = await tools.call("get_vms", args);
    expect(result.isError).toBe(true);
    return result.text;
  }

  const resourceReads = () => sim.requests().filter((r) => r.path === "/cluster/resources").length;

  beforeAll(async () => {
    sim = await startSimulator({ scale: { nodes: 16, guests: 2000 } });
    tools = await toolClient(sim, [getVms]);
  });

  afterAll(async () => {
    await tools?.close();
    await sim?.close();
  });

  beforeEach(() => sim.clearRequests());
  afterEach(() => vi.useRealTimers());

  it("20 pages of 100 come from ONE /cluster/resources request, every guest once, in order", async () => {
    let { text, data } = await page({ limit: 100 });
    expect(data).toMatchObject({ total: 2000, offset: 0, returned: 100, truncated: true, nextOffset: 100 });
    expect(text).toContain(`TRUNCATED: call again with cursor=${data.nextCursor}`);
    expect(text).toContain("snapshot of /cluster/resources taken 0 s ago");
    const vmids = data.guests.map((g) => g.vmid);
    let pages = 1;
    while (data.nextCursor) {
      ({ text, data } = await page({ limit: 100, cursor: data.nextCursor }));
      expect(data.offset).toBe(pages * 100);
      expect(data.snapshot).toMatchObject({ stale: false, reread: false });
      vmids.push(...data.guests.map((g) => g.vmid));
      pages++;
    }
    expect(pages).toBe(20);
    expect(data).toMatchObject({ total: 2000, returned: 100, truncated: false });
    expect(vmids).toHaveLength(2000);
    expect(new Set(vmids).size).toBe(2000);
    expect(vmids).toEqual([...vmids].sort((a, b) => a - b));
    expect(resourceReads()).toBe(1);
    // The token check's /access/permissions at most besides.
    expect(sim.requests().length).toBeLessThanOrEqual(2);
  });

  it("offset works as before: a fresh read from there, with a cursor to the next page", async () => {
    const { text, data } = await page({ limit: 100, offset: 1950 });
    expect(data).toMatchObject({ offset: 1950, returned: 50, truncated: false });
    expect(data.nextCursor).toBeUndefined();
    expect(text).toMatch(/^2000 guest\(s\) match; showing 1951-2000\n/);
    const middle = await page({ limit: 100, offset: 500 });
    expect(middle.data).toMatchObject({ offset: 500, nextOffset: 600 });
    const next = await page({ limit: 100, cursor: middle.data.nextCursor });
    expect(next.data.offset).toBe(600);
    expect(resourceReads()).toBe(2);
  });

  it("cursor and offset together: refused, nothing sent", async () => {
    const { data } = await page({ limit: 100 });
    sim.clearRequests();
    expect(await refused({ cursor: data.nextCursor, offset: 100 })).toBe(
      "cursor and offset given together: a cursor carries its own position; pass only cursor (the next page) or only offset (a fresh listing from there).",
    );
    expect(sim.requests()).toEqual([]);
  });

  it("a tampered, foreign-tool or other-filter cursor is refused with the rule, nothing sent", async () => {
    const { data } = await page({ limit: 100, type: "qemu" });
    const cursor = data.nextCursor as string;
    sim.clearRequests();
    expect(await refused({ type: "qemu", cursor: alter(cursor, 50) })).toMatch(
      /^cursor refused: it was altered \(its signature does not match what this server issued\); pass nextCursor exactly as returned, or call get_vms without cursor\.$/,
    );
    const hostile = `${"../access/ticket?".repeat(10)}\u001b[2J`;
    const text = await refused({ type: "qemu", cursor: hostile });
    expect(text).toContain("a cursor is exactly 74 characters");
    expect(text).not.toContain("../access");
    expect(await refused({ type: "lxc", cursor })).toMatch(/^cursor refused: it was issued for other filter/);
    expect(await refused({ cursor })).toMatch(/^cursor refused: it was issued for other filter/);
    expect(await refused({ type: "qemu", cursor: "x".repeat(10_000) })).toMatch(/cursor/);
    expect(await refused({ type: "qemu", cursor: alter(cursor, 3) })).toMatch(
      /^cursor refused: it was not issued by this server process/,
    );
    expect(sim.requests()).toEqual([]);
    // The filters again: accepted, and the limit may change between pages.
    expect((await page({ type: "qemu", limit: 10, cursor })).data.returned).toBe(10);
    expect(sim.requests()).toEqual([]);
  });

  it(`a snapshot older than ${SNAPSHOT_TTL_MS / 1000} s still serves its cursor, and says so and how to refresh`, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { data } = await page({ limit: 100 });
    sim.clearRequests();
    vi.setSystemTime(Date.now() + 45_000);
    const stale = await page({ limit: 100, cursor: data.nextCursor });
    expect(stale.data.snapshot).toMatchObject({ ageSeconds: 45, stale: true, reread: false });
    expect(stale.text.split("\n")[1]).toBe(
      "snapshot of /cluster/resources taken 45 s ago, OLDER than 30 s: the cluster may have changed since; for fresh data call get_vms again without cursor",
    );
    expect(sim.requests()).toEqual([]);
  });

  it("a cursor past the maximum age is an error, one line, nothing sent", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { data } = await page({ limit: 100 });
    sim.clearRequests();
    vi.setSystemTime(Date.now() + CURSOR_MAX_AGE_MS + 1000);
    expect(await refused({ limit: 100, cursor: data.nextCursor })).toBe(
      "cursor expired: its snapshot of /cluster/resources was taken 10 min ago and cursors last 10 min; call get_vms again without cursor for a fresh listing.",
    );
    expect(sim.requests()).toEqual([]);
  });

  it("a cursor whose snapshot was dropped for newer ones: one read, continued at its position, said so", async () => {
    const { data } = await page({ limit: 100 });
    for (let i = 0; i < MAX_SNAPSHOTS; i++) await page({ limit: 100, offset: i });
    sim.clearRequests();
    const { text, data: again } = await page({ limit: 100, cursor: data.nextCursor });
    expect(again).toMatchObject({ offset: 100, returned: 100, snapshot: { reread: true } });
    expect(again.guests[0]!.vmid).toBeGreaterThan(data.guests.at(-1)!.vmid);
    expect(text).toContain(
      "the cursor's snapshot is no longer held (dropped for newer ones): /cluster/resources was read again and the listing continues at position 100; totals and order may have shifted since the earlier pages",
    );
    expect(resourceReads()).toBe(1);
    // Its own next cursor points into the new snapshot: no further read.
    await page({ limit: 100, cursor: again.nextCursor });
    expect(resourceReads()).toBe(1);
  });
});
