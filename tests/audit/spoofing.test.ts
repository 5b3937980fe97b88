/**
 * firewall-guest-spoofing on variations of the demo: every NIC needs its ipset before
 * ipfilter goes on (a VM's addresses are never implied; a container's static ip= ones
 * are, its DHCP ones are not), and macfilter off is named.
 */
import { describe, expect, it } from "vitest";
import { runAudit, type Finding } from "../../src/audit/index.js";
import { startSimulator } from "../../src/simulator/index.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { readerFor } from "./reader.js";

async function findingsOf(change: (scenario: typeof demoScenario) => void): Promise<Finding[]> {
  const scenario = structuredClone(demoScenario);
  change(scenario);
  const sim = await startSimulator({ scenario });
  const reader = readerFor(sim, sim.tokens.auditor);
  try {
    return (await runAudit(reader, { checks: ["firewall-guest-spoofing"] })).findings;
  } finally {
    await reader.close();
    await sim.close();
  }
}

describe("firewall-guest-spoofing", () => {
  it("a VM with two filtered NICs: the fix lists an ipset for each before ipfilter", async () => {
    const findings = await findingsOf((s) => {
      const vm = s.guests!.find((g) => g.vmid === 103)!;
      vm.config = { ...vm.config, net1: "virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1" };
    });
    const f = findings.find((x) => x.object === "VM 103")!;
    expect(f.evidence).toBe("no IP filter on net0, net1 (ipfilter off, no ipfilter-<nic> ipset)");
    expect(f.remediation).toContain("ipset --name ipfilter-net0");
    expect(f.remediation).toContain("ipset --name ipfilter-net1");
    expect(f.remediation).toMatch(/then pvesh set \/nodes\/pve1\/qemu\/103\/firewall\/options --ipfilter 1$/);
  });

  it("a container: static addresses are implied, DHCP ones need an ipset; macfilter off is named", async () => {
    const findings = await findingsOf((s) => {
      const ct = s.guests!.find((g) => g.vmid === 202)!;
      ct.firewall = { ...ct.firewall!, options: { enable: 1, policy_in: "DROP", macfilter: 0 } };
      const dhcp = s.guests!.find((g) => g.vmid === 205)!;
      dhcp.config = {
        ...dhcp.config,
        net0: "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:05,ip=dhcp,type=veth",
      };
      dhcp.firewall = { options: { enable: 1 }, rules: [], ipsets: [] };
    });
    const ct202 = findings.find((f) => f.object === "CT 202")!;
    expect(ct202.evidence).toBe(
      "no IP filter on net0 (ipfilter off, no ipfilter-<nic> ipset); macfilter off",
    );
    expect(ct202.remediation).toBe(
      "pvesh set /nodes/pve1/lxc/202/firewall/options --ipfilter 1 --macfilter 1",
    );
    const ct205 = findings.find((f) => f.object === "CT 205")!;
    expect(ct205.remediation).toContain(
      "pvesh create /nodes/pve2/lxc/205/firewall/ipset --name ipfilter-net0",
    );
  });
});
