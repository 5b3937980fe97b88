/**
 * Every route the simulator implements agrees with Proxmox's own API schema:
 * method and path exist, parameter names and rules, permission rule, proxyto and
 * allowtoken are the schema's (PVE 9.1), and PVE 8 mode uses the PVE 8.4 rule.
 */
import { describe, expect, it } from "vitest";
import { API_SCHEMA } from "../../src/simulator/api-schema.js";
import { ALL_ROUTES } from "../../src/simulator/routes/index.js";
// @ts-expect-error plain JS build helper without type declarations
import { buildApiSchema, loadSchemas } from "../../scripts/api-schema-lib.mjs";
import { HAVE_SHARED, SHARED_PVE_API, SKIP_REASON } from "../helpers/shared.js";

type Info = { parameters?: { properties?: Record<string, unknown> }; permissions?: Record<string, unknown> };
type Flat = Record<string, Record<string, Info>>;

describe("route table", () => {
  it("has no duplicate routes and an embedded schema entry for each", () => {
    const keys = ALL_ROUTES.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(API_SCHEMA).sort()).toEqual([...keys].sort());
  });
});

describe.skipIf(!HAVE_SHARED)(
  `contract with Proxmox's API schema${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`,
  () => {
    const schemas = HAVE_SHARED
      ? (loadSchemas(SHARED_PVE_API) as { flat9: Flat; flat8: Flat })
      : { flat9: {}, flat8: {} };

    for (const r of ALL_ROUTES) {
      it(`${r.key}: method, parameter names and permission rule match the PVE 9.1 schema`, () => {
        const info = schemas.flat9[r.path]?.[r.method];
        expect(info, `${r.key} must exist in pve-api-flat.json`).toBeDefined();
        const embedded = API_SCHEMA[r.key]!;
        expect(Object.keys(embedded.parameters).sort()).toEqual(
          Object.keys(info!.parameters?.properties ?? {}).sort(),
        );
        const { description: _d, ...permissions } = info!.permissions ?? {};
        expect(embedded.permissions).toEqual(info!.permissions ? permissions : null);
        expect(r.paramNames.every((p) => p in embedded.parameters)).toBe(true);
      });
    }

    it("embedded parameter rules, proxyto, allowtoken and PVE 8 permissions equal a fresh extraction", () => {
      const fresh = buildApiSchema(
        schemas,
        ALL_ROUTES.map((r) => r.key),
      );
      expect(API_SCHEMA).toEqual(fresh);
    });
  },
);
