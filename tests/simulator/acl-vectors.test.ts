/**
 * Proxmox's own ACL resolution test vectors (pve-access-control src/test/perm-test*.pl)
 * run through the simulator's permission engine, and the engine's helpers.
 */
import { describe, expect, it } from "vitest";
import { PermissionEngine, realmOf } from "../../src/simulator/acl.js";
import { HAVE_SHARED, readShared, SKIP_REASON } from "../helpers/shared.js";
import { parseUserCfg } from "../helpers/user-cfg.js";

interface Suite {
  name: string;
  user_cfg: string;
  checks: { kind: "roles" | "permission"; user: string; path: string; expected: string[] }[];
}

const suites = HAVE_SHARED ? readShared<{ suites: Suite[] }>("acl-test-vectors/perm-tests.json").suites : [];

describe.skipIf(!HAVE_SHARED)(`Proxmox ACL test vectors${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`, () => {
  it("has all 100 vectors", () => {
    expect(suites.reduce((n, s) => n + s.checks.length, 0)).toBe(100);
  });

  for (const suite of suites) {
    describe(suite.name, () => {
      const engine = new PermissionEngine(parseUserCfg(suite.user_cfg), 9);
      for (const check of suite.checks) {
        it(`${check.kind}(${check.user}, "${check.path}") = [${check.expected.join(", ")}]`, () => {
          const result =
            check.kind === "roles"
              ? [...engine.roles(check.user, check.path).keys()]
              : [...engine.permissions(check.user, check.path).keys()];
          expect(result.sort()).toEqual([...check.expected].sort());
        });
      }
    });
  }
});

describe("PermissionEngine helpers", () => {
  const engine = new PermissionEngine({
    users: [{ userid: "alice@pve" }],
    tokens: [],
    groups: [],
    roles: {},
    acl: [
      { path: "/storage/nfs", ugid: "alice@pve", roleid: "PVEDatastoreUser", propagate: true },
      { path: "/vms/100", ugid: "alice@pve", roleid: "PVEAuditor", propagate: false },
    ],
    pools: [{ poolid: "prod", vms: [200], storage: [] }],
  });

  it("walks every node of the ACL tree, the levels without entries included", () => {
    expect(engine.aclTreePaths().sort()).toEqual(["/", "/storage", "/storage/nfs", "/vms", "/vms/100"]);
  });

  it("lists the default paths, the ACL tree and pool members for GET /access/permissions", () => {
    expect(engine.permissionPaths()).toEqual([
      "/",
      "/access",
      "/access/groups",
      "/nodes",
      "/pool",
      "/sdn",
      "/storage",
      "/storage/nfs",
      "/vms",
      "/vms/100",
      "/vms/200",
    ]);
  });

  it("hasAny needs one of the privileges", () => {
    expect(
      engine.hasAny("alice@pve", "/storage/nfs", ["Datastore.Allocate", "Datastore.AllocateSpace"]),
    ).toBe(true);
    expect(engine.hasAny("alice@pve", "/storage/nfs", ["Datastore.Allocate", "Sys.Audit"])).toBe(false);
  });

  it("takes the realm after the last '@'", () => {
    expect(realmOf("alice@pve")).toBe("pve");
    expect(realmOf("me@example.com@ldap")).toBe("ldap");
  });
});
