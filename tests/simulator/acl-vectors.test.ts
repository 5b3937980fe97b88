/**
 * Proxmox's own ACL resolution test vectors (pve-access-control src/test/perm-test*.pl)
 * run through the simulator's permission engine.
 */
import { describe, expect, it } from "vitest";
import { PermissionEngine } from "../../src/simulator/acl.js";
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
