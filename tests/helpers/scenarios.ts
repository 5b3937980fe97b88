/**
 * The demo scenario plus principals and guests that tests need to reach every
 * answer PVE can give: a token without Sys.Audit, a token without any ACL, a token
 * with VM.Audit only, a token that may see one node only, a user with a password (ticket flow), a VM whose agent is
 * configured but not running, and a running VM without an agent.
 */
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";

export const TEST_TOKENS = {
  noSysAudit: { id: "nosys@pve!tk", secret: "11111111-1111-4111-8111-111111111111" },
  empty: { id: "empty@pve!tk", secret: "22222222-2222-4222-8222-222222222222" },
  vmAuditOnly: { id: "vmaudit@pve!tk", secret: "33333333-3333-4333-8333-333333333333" },
  /** PVEAuditor on /nodes/pve2 only: node tools are offered, and pve1 answers 403. */
  oneNode: { id: "onenode@pve!tk", secret: "44444444-4444-4444-8444-444444444444" },
};
export const TICKET_USER = { userid: "ticket@pve", password: "correct horse battery staple" };
export const AGENT_NOT_RUNNING_VMID = 150;
export const NO_AGENT_VMID = 151;

export function testScenario(): ScenarioInput {
  const s = structuredClone(demoScenario);
  const local = s.nodes[0]!.name;
  s.users = [
    ...(s.users ?? []),
    { userid: "nosys@pve", tokens: [{ tokenid: "tk", secret: TEST_TOKENS.noSysAudit.secret, privsep: 0 }] },
    { userid: "empty@pve", tokens: [{ tokenid: "tk", secret: TEST_TOKENS.empty.secret, privsep: 1 }] },
    {
      userid: "vmaudit@pve",
      tokens: [{ tokenid: "tk", secret: TEST_TOKENS.vmAuditOnly.secret, privsep: 0 }],
    },
    { userid: TICKET_USER.userid, password: TICKET_USER.password },
    { userid: "onenode@pve", tokens: [{ tokenid: "tk", secret: TEST_TOKENS.oneNode.secret, privsep: 0 }] },
  ];
  s.roles = {
    ...(s.roles ?? {}),
    VMAuditOnly: ["VM.Audit"],
    Operator: ["VM.Audit", "VM.Console", "VM.PowerMgmt", "Datastore.Audit", "Sys.Audit"],
  };
  s.acl = [
    ...(s.acl ?? []),
    { path: "/vms", ugid: "nosys@pve", roleid: "PVEAuditor" },
    { path: "/", ugid: "vmaudit@pve", roleid: "VMAuditOnly" },
    { path: "/", ugid: TICKET_USER.userid, roleid: "Operator" },
    { path: "/nodes/pve2", ugid: "onenode@pve", roleid: "PVEAuditor" },
  ];
  const base = {
    type: "qemu" as const,
    node: local,
    status: "running" as const,
    cpus: 1,
    maxmem: 1073741824,
    maxdisk: 8589934592,
  };
  s.guests = [
    ...(s.guests ?? []),
    {
      ...base,
      vmid: AGENT_NOT_RUNNING_VMID,
      name: "agent-down",
      config: { agent: "1" },
      agent: { running: false },
    },
    { ...base, vmid: NO_AGENT_VMID, name: "no-agent", config: {} },
  ];
  return s;
}
