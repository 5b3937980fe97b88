/**
 * The container checks against variations of the demo cluster: privileged by default (no
 * unprivileged key) or explicitly, nesting/keyctl on privileged ones, raw lxc.* keys that
 * switch isolation off; and the decoys: templates never run, unprivileged containers may
 * nest, one allowed device is fine.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runAudit, type AuditReport } from "../../src/audit/index.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { readerFor } from "./reader.js";

const CHECKS = ["ct-privileged", "ct-privileged-features", "ct-raw-lxc"];

async function auditOf(change: (scenario: typeof demoScenario) => void): Promise<AuditReport> {
  const scenario = structuredClone(demoScenario);
  change(scenario);
  const sim: Simulator = await startSimulator({ scenario });
  const reader = readerFor(sim, sim.tokens.auditor);
  try {
    return await runAudit(reader, { checks: CHECKS });
  } finally {
    await reader.close();
    await sim.close();
  }
}

const lines = (report: AuditReport) =>
  report.findings.map((f) => `${f.code} ${f.severity} ${f.object}: ${f.evidence}`);

let demo: AuditReport;
beforeAll(async () => {
  demo = await auditOf(() => undefined);
});

describe("containers", () => {
  it("the demo: CT 206 privileged by default, CT 208 explicitly and with nesting, CT 207 with AppArmor off", () => {
    expect(demo.errors).toEqual([]);
    expect(lines(demo)).toEqual([
      "PVE-CTR-001 high CT 206: its config has no unprivileged key, and PVE's default is 0: privileged",
      "PVE-CTR-001 high CT 208: unprivileged: 0",
      "PVE-CTR-002 high CT 208: features: nesting=1 without unprivileged: 1: the host's procfs and sysfs are exposed to the container's root",
      "PVE-CTR-003 high CT 207: lxc.apparmor.profile: unconfined (AppArmor off); lxc.cgroup2.devices.allow: a (every device of the host)",
    ]);
    // The decoys: unprivileged containers with nesting (200, 202, 203), CT 202's one tun device.
    for (const fine of ["CT 200", "CT 202", "CT 203", "CT 205"]) {
      expect(demo.findings.map((f) => f.object)).not.toContain(fine);
    }
  });

  it("a privileged template never runs: not a finding; a privileged container's raw keys are critical", async () => {
    const report = await auditOf((s) => {
      const ct206 = s.guests!.find((g) => g.vmid === 206)!;
      ct206.template = true;
      const ct208 = s.guests!.find((g) => g.vmid === 208)!;
      ct208.config = { ...ct208.config, features: "keyctl=1,nesting=yes" };
      ct208.rawLxc = [["lxc.cap.drop", ""]];
      const ct202 = s.guests!.find((g) => g.vmid === 202)!;
      ct202.rawLxc = [
        ["lxc.cgroup2.devices.allow", "b *:* rwm"],
        ["lxc.mount.auto", "proc:rw sys:rw"],
      ];
      // unprivileged: "yes" is unprivileged (pve-common's parse_boolean).
      const ct207 = s.guests!.find((g) => g.vmid === 207)!;
      ct207.config = { ...ct207.config, unprivileged: "yes" };
      ct207.rawLxc = [];
    });
    expect(lines(report)).toEqual([
      "PVE-CTR-003 critical CT 208: lxc.cap.drop: (empty: no capability dropped)",
      "PVE-CTR-001 high CT 208: unprivileged: 0",
      "PVE-CTR-002 high CT 208: features: nesting=1 without unprivileged: 1: the host's procfs and sysfs are exposed to the container's root",
      "PVE-CTR-003 high CT 202: lxc.cgroup2.devices.allow: b *:* rwm (every block device of the host); lxc.mount.auto: proc:rw sys:rw (the host's /proc or /sys writable)",
    ]);
  });

  it("keyctl alone on a privileged container is not reported: PVE applies it to unprivileged ones only", async () => {
    const report = await auditOf((s) => {
      const ct208 = s.guests!.find((g) => g.vmid === 208)!;
      ct208.config = { ...ct208.config, features: "keyctl=1" };
    });
    expect(report.findings.filter((f) => f.check === "ct-privileged-features")).toEqual([]);
  });

  it("without VM.Audit on the containers: a gap that says what, never a pass", async () => {
    const report = await auditOf((s) => {
      s.acl = (s.acl ?? []).filter((entry) => entry.ugid !== "mcp@pve!readonly");
      s.acl.push({ path: "/nodes", ugid: "mcp@pve!readonly", roleid: "PVEAuditor" });
    });
    expect(report.findings.some((f) => f.code.startsWith("PVE-CTR") && f.severity !== "info")).toBe(false);
    expect(report.findings.map((f) => f.title)).toContain(
      "Could not check guests this token may not see (PVE lists only guests with VM.Audit): needs VM.Audit on /vms",
    );
  });
});
