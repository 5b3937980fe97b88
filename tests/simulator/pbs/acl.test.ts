/** PBS's ACL evaluation: roles, propagation, NoAccess, token ∩ user, root@pam-only superuser. */
import { describe, expect, it } from "vitest";
import { PbsAcl, PRIV, privNames, ROLES } from "../../../src/simulator/pbs/acl.js";

const names = (acl: PbsAcl, authid: string, path: string) =>
  privNames(acl.lookupPrivs(authid, path.split("/").filter(Boolean))).sort();

describe("PBS roles", () => {
  it("has pbs-api-types' roles with their privileges", () => {
    expect(privNames(ROLES["Audit"]!.privs)).toEqual(["Sys.Audit", "Datastore.Audit"]);
    expect(privNames(ROLES["DatastoreAudit"]!.privs)).toEqual(["Datastore.Audit"]);
    expect(privNames(ROLES["RemoteAudit"]!.privs)).toEqual(["Remote.Audit"]);
    expect(privNames(ROLES["DatastoreBackup"]!.privs)).toEqual(["Datastore.Backup"]);
    expect(privNames(ROLES["DatastorePowerUser"]!.privs)).toEqual(["Datastore.Backup", "Datastore.Prune"]);
    expect(privNames(ROLES["DatastoreAdmin"]!.privs)).toEqual([
      "Datastore.Audit",
      "Datastore.Modify",
      "Datastore.Read",
      "Datastore.Verify",
      "Datastore.Backup",
      "Datastore.Prune",
    ]);
    expect(privNames(ROLES["RemoteSyncOperator"]!.privs)).toEqual(["Remote.Audit", "Remote.Read"]);
    expect(ROLES["NoAccess"]!.privs).toBe(0n);
    expect(privNames(ROLES["Admin"]!.privs)).toContain("Permissions.Modify");
    for (const r of [
      "Admin",
      "Audit",
      "NoAccess",
      "DatastoreReader",
      "RemoteAdmin",
      "RemoteSyncPushOperator",
      "TapeAudit",
    ])
      expect(ROLES[r]).toBeDefined();
  });
});

describe("PbsAcl", () => {
  const acl = new PbsAcl(
    [
      { path: "/", ugid: "u@pbs", roleid: "Audit" },
      { path: "/datastore/a", ugid: "u@pbs", roleid: "DatastoreAdmin", propagate: false },
      { path: "/datastore/b", ugid: "u@pbs", roleid: "NoAccess" },
      { path: "/", ugid: "u@pbs!t", roleid: "Admin" },
      { path: "/datastore/a/ns1", ugid: "v@pbs", roleid: "DatastoreBackup" },
      { path: "/", ugid: "root@pam!tok", roleid: "DatastoreAudit" },
      { path: "/", ugid: "g1", ugidType: "group", roleid: "RemoteAudit" },
      { path: "/remote", ugid: "w@pbs", roleid: "Audit" },
    ],
    (u) => (u === "w@pbs" || u === "x@pbs" ? ["g1"] : []),
  );

  it("propagates from / and lets a deeper node replace what is above", () => {
    expect(names(acl, "u@pbs", "/system/status")).toEqual(["Datastore.Audit", "Sys.Audit"]);
    expect(names(acl, "u@pbs", "/datastore/a")).toContain("Datastore.Modify");
    expect(names(acl, "u@pbs", "/datastore/a")).not.toContain("Sys.Audit");
  });

  it("does not propagate propagate=0 entries below their path", () => {
    // /datastore/a/x: the non-propagating DatastoreAdmin is skipped, / Audit applies.
    expect(names(acl, "u@pbs", "/datastore/a/x")).toEqual(["Datastore.Audit", "Sys.Audit"]);
  });

  it("NoAccess removes everything at and below its path", () => {
    expect(names(acl, "u@pbs", "/datastore/b")).toEqual([]);
    expect(names(acl, "u@pbs", "/datastore/b/ns")).toEqual([]);
  });

  it("intersects a token's ACL with its user's (no privsep switch)", () => {
    expect(names(acl, "u@pbs!t", "/")).toEqual(["Datastore.Audit", "Sys.Audit"]);
    expect(names(acl, "u@pbs!t", "/datastore/b")).toEqual([]);
    expect(acl.has("u@pbs!t", ["access", "acl"], PRIV.SYS_AUDIT)).toBe(true);
  });

  it("makes root@pam the user, never a token, superuser", () => {
    expect(names(acl, "root@pam", "/anything").length).toBeGreaterThan(15);
    expect(names(acl, "root@pam!tok", "/")).toEqual(["Datastore.Audit"]);
    expect(PbsAcl.isSuperuser("root@pam")).toBe(true);
    expect(PbsAcl.isSuperuser("root@pam!tok")).toBe(false);
    expect(PbsAcl.isSuperuser("root@pbs")).toBe(false);
  });

  it("uses group entries only when the user has none at a node; tokens never get group entries", () => {
    expect(names(acl, "x@pbs", "/remote/r1")).toEqual(["Remote.Audit"]);
    // w@pbs has its own entry on /remote, which replaces the group's from /.
    expect(names(acl, "w@pbs", "/remote")).toEqual(["Datastore.Audit", "Sys.Audit"]);
    expect(names(acl, "x@pbs!t", "/remote")).toEqual([]);
  });

  it("finds privileges below a path (any_privs_below)", () => {
    expect(acl.has("v@pbs", ["datastore", "a"], PRIV.DATASTORE_BACKUP)).toBe(false);
    expect(acl.anyPrivsBelow("v@pbs", ["datastore", "a"], PRIV.DATASTORE_BACKUP)).toBe(true);
    expect(acl.anyPrivsBelow("v@pbs", ["datastore", "b"], PRIV.DATASTORE_BACKUP)).toBe(false);
  });

  it("reports propagated privileges separately", () => {
    const [p, prop] = acl.lookupPrivsDetails("u@pbs", ["datastore", "a"]);
    expect(privNames(p)).toContain("Datastore.Modify");
    expect(privNames(prop)).toEqual([]);
  });
});
