/**
 * Every route the PBS simulator serves, against PBS's own API definitions
 * (src/simulator/pbs/api-definitions.ts, extracted from proxmox-backup's #[api] blocks by
 * src/simulator/pbs/extract-api-definitions.py): same path, parameters (name, optional,
 * schema or type) and router permission.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PBS_API_DEFINITIONS, PBS_API_SOURCE_COMMIT } from "../../../src/simulator/pbs/api-definitions.js";
import { permissionText, ROUTES } from "../../../src/simulator/pbs/routes.js";
import { SCHEMAS } from "../../../src/simulator/pbs/schema.js";

/**
 * Parameters newer than the extracted snapshot (2024): pbs-reference.md documents them from
 * 2026's sources. Kept here, explicitly, so nothing else can differ.
 */
const NEWER: Record<string, string[]> = {
  "/admin/sync": ["sync-direction"],
  "/config/sync": ["sync-direction"],
};

/** Inline `type: Array` with `items: { type: TaskStateType }` is named so in the simulator. */
const typeName = (d: { type?: string; schema?: string }, path: string, name: string) =>
  d.schema ??
  (d.type === "Array" && path === "/nodes/{node}/tasks" && name === "statusfilter"
    ? "Array<TaskStateType>"
    : d.type);

describe("PBS simulator routes vs PBS's API definitions", () => {
  it("has definitions for the GET endpoints the tools read", () => {
    expect(Object.keys(PBS_API_DEFINITIONS).length).toBeGreaterThanOrEqual(33);
  });

  it("serves exactly the defined paths", () => {
    expect(ROUTES.map((r) => r.path).sort()).toEqual(Object.keys(PBS_API_DEFINITIONS).sort());
  });

  for (const route of ROUTES) {
    describe(route.path, () => {
      const def = PBS_API_DEFINITIONS[route.path]!;
      it("has the router permission PBS declares", () => {
        expect(permissionText(route.permission)).toBe(def.permission);
      });
      it("has the parameters PBS declares (name, optional, schema/type)", () => {
        const newer = NEWER[route.path] ?? [];
        const ours = Object.fromEntries(
          Object.entries(route.params)
            .filter(([k]) => !newer.includes(k))
            .map(([k, v]) => [k, { optional: v.optional, def: v.def }]),
        );
        const theirs = Object.fromEntries(
          Object.entries(def.parameters).map(([k, v]) => [
            k,
            { optional: v.optional, def: typeName(v, route.path, k) },
          ]),
        );
        expect(ours).toEqual(theirs);
        for (const p of Object.values(route.params)) expect(SCHEMAS[p.def]).toBeDefined();
      });
    });
  }
});

/** Where `fetch github:proxmox/proxmox-backup` leaves the sources (absent on a fresh clone). */
const PBS_GIT = process.env["PBS_SOURCE_GIT"] ?? "/work/.mirror/proxmox+proxmox-backup/repo";
const HAVE_SOURCES = existsSync(PBS_GIT);

describe.skipIf(!HAVE_SOURCES)(
  `api-definitions.ts is what the extractor makes of PBS's sources${HAVE_SOURCES ? "" : ` (skipped: no proxmox-backup git dir at ${PBS_GIT}; set PBS_SOURCE_GIT)`}`,
  () => {
    it("re-extracts to the same definitions", () => {
      const out = execFileSync(
        "python3",
        ["src/simulator/pbs/extract-api-definitions.py", PBS_GIT, PBS_API_SOURCE_COMMIT],
        { encoding: "utf8" },
      );
      const json = out.slice(out.indexOf("= {") + 2, out.lastIndexOf(";"));
      expect(JSON.parse(json)).toEqual(PBS_API_DEFINITIONS);
    });
  },
);
