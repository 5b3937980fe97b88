/**
 * missingPrivileges: when a token's /access/permissions answer lets a tool work.
 * A need counts as held on the path, above it, below it (some guests only) or, for
 * guest and storage privileges, on a pool; the privileges of one need are alternatives.
 */
import { describe, expect, it } from "vitest";
import { missingPrivileges } from "../../src/tools/needs.js";

const powerMgmt = [{ path: "/vms/{vmid}", privileges: ["VM.PowerMgmt"] }];

describe("missingPrivileges", () => {
  it("held on /, on /vms, on one guest, or through a pool", () => {
    for (const path of ["/", "/vms", "/vms/100", "/pool/prod"]) {
      expect(missingPrivileges(powerMgmt, { [path]: { "VM.PowerMgmt": 1 } }), path).toEqual([]);
    }
  });

  it("not held on an unrelated path, or only a different privilege", () => {
    expect(missingPrivileges(powerMgmt, { "/nodes": { "VM.PowerMgmt": 1 } })).toEqual([
      "VM.PowerMgmt on /vms/{vmid}",
    ]);
    expect(missingPrivileges(powerMgmt, { "/": { "VM.Audit": 1 } })).toEqual(["VM.PowerMgmt on /vms/{vmid}"]);
    expect(missingPrivileges(powerMgmt, {})).toEqual(["VM.PowerMgmt on /vms/{vmid}"]);
  });

  it("a pool does not grant node or cluster privileges", () => {
    const sysAudit = [{ path: "/nodes/{node}", privileges: ["Sys.Audit"] }];
    expect(missingPrivileges(sysAudit, { "/pool/prod": { "Sys.Audit": 1 } })).toEqual([
      "Sys.Audit on /nodes/{node}",
    ]);
  });

  it("any one of the alternatives will do (PVE 9 and PVE 8 names)", () => {
    const exec = [{ path: "/vms/{vmid}", privileges: ["VM.GuestAgent.Unrestricted", "VM.Monitor"] }];
    expect(missingPrivileges(exec, { "/vms": { "VM.Monitor": 1 } })).toEqual([]);
    expect(missingPrivileges(exec, { "/vms": { "VM.Audit": 1 } })).toEqual([
      "VM.GuestAgent.Unrestricted or VM.Monitor on /vms/{vmid}",
    ]);
  });

  it("a need on a fixed path is held there or above, not below", () => {
    const onRoot = [{ path: "/", privileges: ["Sys.Audit"] }];
    expect(missingPrivileges(onRoot, { "/": { "Sys.Audit": 1 } })).toEqual([]);
    expect(missingPrivileges(onRoot, { "/nodes/pve1": { "Sys.Audit": 1 } })).toEqual(["Sys.Audit on /"]);
    const onStorage = [{ path: "/storage", privileges: ["Datastore.Audit"] }];
    expect(missingPrivileges(onStorage, { "/": { "Datastore.Audit": 1 } })).toEqual([]);
  });

  it("above the path, only a propagated privilege counts (PVE's propagate flag is the value)", () => {
    expect(missingPrivileges(powerMgmt, { "/": { "VM.PowerMgmt": 0 } })).toEqual([
      "VM.PowerMgmt on /vms/{vmid}",
    ]);
    expect(missingPrivileges(powerMgmt, { "/vms": { "VM.PowerMgmt": 0 } })).toEqual([
      "VM.PowerMgmt on /vms/{vmid}",
    ]);
    expect(missingPrivileges(powerMgmt, { "/vms/100": { "VM.PowerMgmt": 0 } })).toEqual([]);
    const onRoot = [{ path: "/", privileges: ["Sys.Audit"] }];
    expect(missingPrivileges(onRoot, { "/": { "Sys.Audit": 0 } })).toEqual([]);
  });

  it("no needs: always available", () => {
    expect(missingPrivileges([], {})).toEqual([]);
  });
});
