/**
 * The permission rule forms of Proxmox's API schema, evaluated like
 * RPCEnvironment::check_api2_permissions: perm (all / any), require_param, and,
 * or, userid-param, userid-group, user:all, root-only.
 */
import { describe, expect, it } from "vitest";
import { PermissionEngine } from "../../src/simulator/acl.js";
import type { PermissionSpec } from "../../src/simulator/api-types.js";
import { checkApiPermissions, type CheckContext } from "../../src/simulator/checks.js";
import { PveError } from "../../src/simulator/errors.js";
import { parseUserCfg } from "../helpers/user-cfg.js";

const engine = new PermissionEngine(
  parseUserCfg(`
user:alice@pve:1:
user:bob@pve:1:
user:carol@pve:1:
group:staff:bob@pve:
group:admins:carol@pve:
token:alice@pve!ro::1:
role:VMOps:VM.Audit,VM.PowerMgmt:
acl:1:/vms:alice@pve:VMOps:
acl:1:/vms:alice@pve!ro:PVEAuditor:
acl:1:/access/groups/staff:alice@pve:PVEUserAdmin:
acl:1:/access/realm/pve:alice@pve:PVEUserAdmin:
`),
  9,
);

function check(spec: PermissionSpec | null, authid: string, params: Record<string, unknown> = {}): string {
  const ctx: CheckContext = {
    engine,
    authid,
    params,
    userExists: (u) => ["alice@pve", "bob@pve", "carol@pve"].includes(u),
    groupMembers: (g) => ({ staff: ["bob@pve"], admins: ["carol@pve"] })[g] ?? [],
    groupIds: () => ["staff", "admins"],
  };
  try {
    checkApiPermissions(spec, ctx);
    return "ok";
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    return `${(err as PveError).status} ${(err as PveError).message.trim()}`;
  }
}

describe("checkApiPermissions", () => {
  it("perm: all privileges required, the first missing one named; {var} filled from the parameters", () => {
    const spec = { check: ["perm", "/vms/{vmid}", ["VM.Audit", "VM.Console", "VM.PowerMgmt"]] };
    expect(check(spec, "alice@pve", { vmid: 100 })).toBe(
      "403 Permission check failed (/vms/100, VM.Console)",
    );
    expect(check({ check: ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]] }, "alice@pve", { vmid: 100 })).toBe(
      "ok",
    );
  });

  it("perm with any: one of them suffices, all alternatives named on failure", () => {
    const spec = { check: ["perm", "/vms/{vmid}", ["VM.Console", "VM.PowerMgmt"], "any", 1] };
    expect(check(spec, "alice@pve", { vmid: 7 })).toBe("ok");
    expect(check(spec, "bob@pve", { vmid: 7 })).toBe(
      "403 Permission check failed (/vms/7, VM.Console|VM.PowerMgmt)",
    );
  });

  it("perm with require_param: a missing parameter fails without detail", () => {
    const spec = { check: ["perm", "/vms/{vmid}", ["VM.Audit"], "require_param", "target"] };
    expect(check(spec, "alice@pve", { vmid: 100 })).toBe("403 Permission check failed");
    expect(check(spec, "alice@pve", { vmid: 100, target: "pve2" })).toBe("ok");
  });

  it("a privsep token is limited to the intersection with its user", () => {
    const spec = { check: ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]] };
    expect(check(spec, "alice@pve!ro", { vmid: 100 })).toBe(
      "403 Permission check failed (/vms/100, VM.PowerMgmt)",
    );
    expect(check({ check: ["perm", "/vms/{vmid}", ["VM.Audit"]] }, "alice@pve!ro", { vmid: 100 })).toBe("ok");
  });

  it("and / or", () => {
    const audit = ["perm", "/vms", ["VM.Audit"]];
    const sys = ["perm", "/", ["Sys.Audit"]];
    expect(check({ check: ["or", sys, audit] }, "alice@pve")).toBe("ok");
    expect(check({ check: ["or", sys, sys] }, "alice@pve")).toBe("403 Permission check failed");
    expect(check({ check: ["and", audit, sys] }, "alice@pve")).toBe(
      "403 Permission check failed (/, Sys.Audit)",
    );
  });

  it("userid-param self and Realm.AllocateUser", () => {
    const self = { check: ["userid-param", "self"] };
    expect(check(self, "bob@pve", { userid: "bob@pve" })).toBe("ok");
    expect(check(self, "bob@pve", { userid: "carol@pve" })).toBe("403 Permission check failed");
    const realm = { check: ["userid-param", "Realm.AllocateUser"] };
    expect(check(realm, "alice@pve", { userid: "bob@pve" })).toBe("ok");
    expect(check(realm, "bob@pve", { userid: "alice@pve" })).toBe(
      "403 Permission check failed (/access/realm/pve, Realm.AllocateUser)",
    );
  });

  it("userid-group: privileges on /access/groups or on a group of the user", () => {
    const spec = { check: ["userid-group", ["User.Modify", "Sys.Audit"]] };
    expect(check(spec, "alice@pve", { userid: "bob@pve" })).toBe("ok");
    expect(check(spec, "alice@pve", { userid: "carol@pve" })).toBe("403 Permission check failed");
    expect(check(spec, "alice@pve", { userid: "nobody@pve" })).toBe("500 no such user ('nobody@pve')");
  });

  it("user:all passes anyone authenticated; no permissions object means root@pam only", () => {
    expect(check({ user: "all" }, "bob@pve")).toBe("ok");
    expect(check(null, "alice@pve")).toBe("403 Permission check failed (user != root@pam)");
    expect(check(null, "root@pam")).toBe("ok");
    expect(check(null, "root@pam!tok")).toBe("403 Permission check failed (user != root@pam)");
  });
});
