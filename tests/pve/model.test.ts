/**
 * The read model the tools and the audit share (src/pve/model/): the guest locator, a
 * refused read as a gap, and the readers stating what PVE filtered silently.
 */
import { describe, expect, it } from "vitest";
import { PveApiError } from "../../src/pve/errors.js";
import { users } from "../../src/pve/model/access.js";
import { guests, locateGuest, reachableGuests, type ClusterResource } from "../../src/pve/model/resources.js";
import { clusterTasks } from "../../src/pve/model/tasks.js";
import { holds, readOrGap, type ModelReader, type Permissions } from "../../src/pve/model/visibility.js";

const RESOURCES: ClusterResource[] = [
  { id: "node/pve1", type: "node", node: "pve1", status: "online" },
  { id: "node/pve2", type: "node", node: "pve2", status: "offline" },
  { id: "qemu/100", type: "qemu", vmid: 100, node: "pve1", status: "running", name: "web" },
  { id: "lxc/200", type: "lxc", vmid: 200, node: "pve2", status: "unknown" },
  { id: "qemu/9000", type: "qemu", vmid: 9000, node: "pve1", status: "stopped", template: 1 },
  { id: "storage/pve1/local", type: "storage", node: "pve1", storage: "local" },
];

/** A reader over fixed answers, with the token's permissions, that keeps the gaps it is told. */
function fakeReader(answers: Record<string, unknown>, permissions: Permissions) {
  const gaps: string[] = [];
  const requests: string[] = [];
  const reader: ModelReader = {
    get: async <T>(template: string) => {
      requests.push(template);
      return answers[template] as T;
    },
    holds: async (path, privilege) => holds(permissions, path, privilege),
    gap: (what, needs) => gaps.push(`${what}: needs ${needs}`),
  };
  return { reader, gaps, requests };
}

describe("locateGuest", () => {
  it("finds a guest's node and type", () => {
    expect(locateGuest(RESOURCES, 100, undefined)).toMatchObject({ vmid: 100, node: "pve1", type: "qemu" });
    expect(locateGuest(RESOURCES, 100, "pve1").name).toBe("web");
  });

  it("names the token that cannot see it, the node it is on, and an offline node", () => {
    expect(() => locateGuest(RESOURCES, 101, undefined)).toThrow(
      "VM/CT 101 not found: it does not exist, or this token lacks VM.Audit on /vms/101",
    );
    expect(() => locateGuest(RESOURCES, 101, undefined, "the admin token")).toThrow(
      "or the admin token lacks VM.Audit on /vms/101",
    );
    expect(() => locateGuest(RESOURCES, 100, "pve2")).toThrow(
      'VM/CT 100 is on node pve1, not pve2: omit "node" or use pve1.',
    );
    expect(() => locateGuest(RESOURCES, 200, undefined)).toThrow("on node pve2, which is offline");
  });

  it("does not take a guest PVE lists without its node", () => {
    expect(() => locateGuest([{ id: "qemu/2", type: "qemu", vmid: 2 }], 2, undefined)).toThrow("not found");
  });
});

describe("readOrGap", () => {
  const refusal = new PveApiError(
    403,
    "Permission check failed",
    "Permission check failed (/nodes/pve1, Sys.Modify)",
    "GET",
    "/nodes/pve1/apt/update",
  );
  const readerOf = (answer: () => Promise<unknown>) => {
    const gaps: { what: string; needs: string }[] = [];
    const reader: ModelReader = {
      get: async <T>() => (await answer()) as T,
      holds: async () => true,
      gap: (what, needs) => gaps.push({ what, needs }),
    };
    return { reader, gaps };
  };

  it("is the data when PVE answers, and records no gap", async () => {
    const { reader, gaps } = readerOf(async () => [1]);
    await expect(readOrGap(reader, "/x", {}, "x", "Sys.Audit on /")).resolves.toEqual([1]);
    expect(gaps).toEqual([]);
  });

  it("is undefined when PVE refuses, with a gap naming the privilege PVE's message names", async () => {
    const { reader, gaps } = readerOf(async () => {
      throw refusal;
    });
    await expect(
      readOrGap(reader, "/nodes/{node}/apt/update", { node: "pve1" }, "updates", "?"),
    ).resolves.toBe(undefined);
    expect(gaps).toEqual([{ what: "updates", needs: "Sys.Modify on /nodes/pve1" }]);
  });

  it("lets every other failure through", async () => {
    const { reader, gaps } = readerOf(async () => {
      throw new PveApiError(500, "boom", "boom", "GET", "/x");
    });
    await expect(readOrGap(reader, "/x", {}, "x", "y")).rejects.toThrow(PveApiError);
    expect(gaps).toEqual([]);
  });
});

describe("the readers", () => {
  const answers = {
    "/cluster/resources": RESOURCES,
    "/access/users": [{ userid: "b@pve" }, { userid: "a@pve" }],
    "/cluster/tasks": [],
  };

  it("read once through the reader and state no gap for a token that sees everything", async () => {
    // PVE lists its default paths with what the token holds there (here, inherited from /).
    const everywhere = { "Sys.Audit": 1, "VM.Audit": 1 };
    const { reader, gaps } = fakeReader(
      answers,
      Object.fromEntries(["/", "/access", "/access/groups", "/vms"].map((path) => [path, everywhere])),
    );
    expect((await guests(reader)).map((g) => g.vmid)).toEqual([100, 200, 9000]);
    expect((await reachableGuests(reader)).map((g) => g.vmid)).toEqual([100]);
    expect((await reachableGuests(reader, true)).map((g) => g.vmid)).toEqual([100, 9000]);
    expect((await users(reader)).map((u) => u.userid)).toEqual(["a@pve", "b@pve"]);
    expect(gaps).toEqual([]);
  });

  it("state as gaps what PVE filters silently for a token that sees little", async () => {
    const { reader, gaps } = fakeReader(answers, {});
    await guests(reader);
    await users(reader);
    await clusterTasks(reader);
    expect(gaps).toEqual([
      "guests this token may not see (PVE lists only guests with VM.Audit): needs VM.Audit on /vms",
      "users and their tokens (PVE lists only users of groups this token may audit): needs Sys.Audit on /access/groups",
      "tasks of other users (PVE lists only this token's own tasks): needs Sys.Audit on /",
    ]);
  });
});
