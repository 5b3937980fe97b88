/**
 * Toolset "access" against the demo cluster: the planted user, token and ACL problems
 * show with the auditor; a token that may audit one group only reproduces PVE's silent
 * filtering of users and ACL entries, and the answer says what it could not see.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { PveReader } from "../../src/pve/client.js";
import { RunReader } from "../../src/pve/model/reader.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { accessTools, getAcl, getPermissions } from "../../src/tools/access.js";
import { readFactsOf, type AnyTool, type ReadContext } from "../../src/tools/define.js";
import { simConfig } from "../helpers/config.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { toolClient, type ToolClient } from "../helpers/tool-client.js";

/** A token that may audit the members of group "operators" only. */
const GROUP_AUDITOR = { id: "grpaudit@pve!tk", secret: "55555555-5555-4555-8555-555555555555" };

/** Like toolClient, for a token that can write (allowed, as PROXMOX_ALLOW_PRIVILEGED_TOKEN would). */
const privilegedClient = (sim: Simulator, tools: readonly AnyTool[], token: { id: string; secret: string }) =>
  toolClient(sim, tools, token, { allowPrivilegedToken: true });

/** A handler's context without the server, for answers the inventory would not let a token reach. */
function directContext(
  sim: Simulator,
  token: { id: string; secret: string },
  dangerous = false,
): ReadContext {
  const config = simConfig(sim, {
    tokenId: token.id,
    tokenSecret: new Secret(token.secret),
    ...(dangerous
      ? {
          dangerous: {
            adminTokenId: sim.tokens.admin.id,
            adminTokenSecret: new Secret(sim.tokens.admin.secret),
            confirm: "required" as const,
          },
        }
      : {}),
  });
  const signal = new AbortController().signal;
  return {
    read: new RunReader(new PveReader(config), signal),
    facts: readFactsOf(config),
    signal,
    access: { readExtraPrivileges: [], hiddenTools: [], adminWarnings: [] },
  };
}

type User = {
  userid: string;
  enabled: boolean;
  expired: boolean;
  tfa: string[] | null;
  groups: string[];
  tokens: { id: string; privsep: boolean; expire: number | null; flags: string[] }[];
  flags: string[];
};
type Entry = {
  path: string;
  type: string;
  ugid: string;
  roleid: string;
  risk: string;
  flags: string[];
  members?: { userid: string; state: string }[];
  principalState?: string;
};

let sim: Simulator;
let auditor: ToolClient;

beforeAll(async () => {
  const scenario = testScenario();
  scenario.users = [
    ...(scenario.users ?? []),
    { userid: "grpaudit@pve", tokens: [{ tokenid: "tk", secret: GROUP_AUDITOR.secret, privsep: 0 }] },
  ];
  scenario.acl = [
    ...(scenario.acl ?? []),
    { path: "/access/groups/operators", ugid: "grpaudit@pve", roleid: "PVEAuditor" },
  ];
  sim = await startSimulator({ scenario });
  auditor = await toolClient(sim, accessTools);
  // The start-up token check (GET /access/permissions) runs with the first call.
  await auditor.call("get_permissions");
});
afterAll(async () => {
  await auditor.close();
  await sim.close();
});

describe("get_users", () => {
  it("shows the planted account and token problems", async () => {
    sim.clearRequests();
    const res = await auditor.call("get_users", { limit: 100 });
    expect(res.isError).toBeFalsy();
    const users = res.structuredContent?.["users"] as User[];
    const user = (id: string) => users.find((u) => u.userid === id);
    // ops@pve: no TFA, and its ansible token runs without privilege separation.
    expect(user("ops@pve")).toMatchObject({
      enabled: true,
      tfa: [],
      flags: ["no-tfa"],
      groups: ["operators"],
    });
    expect(user("ops@pve")?.tokens).toEqual([
      {
        id: "ops@pve!ansible",
        privsep: false,
        expire: null,
        expired: false,
        comment: "ansible playbooks",
        flags: ["privsep-off", "no-expiry"],
      },
    ]);
    // contractor@pve expired 45 days ago (and is still in @operators).
    expect(user("contractor@pve")).toMatchObject({
      expired: true,
      flags: ["expired"],
      groups: ["operators"],
    });
    // olddev@pve is disabled but still owns a token.
    expect(user("olddev@pve")).toMatchObject({ enabled: false, flags: ["disabled"] });
    expect(user("olddev@pve")?.tokens[0]).toMatchObject({
      id: "olddev@pve!deploy",
      flags: expect.arrayContaining(["owner-inactive"]),
    });
    // TFA where there is some; root's simulator token is flagged as a root@pam token.
    expect(user("root@pam")).toMatchObject({ tfa: ["totp"], flags: [] });
    expect(user("root@pam")?.tokens[0]?.flags).toEqual(["privsep-off", "no-expiry", "root-token"]);
    expect(user("alice@pve")).toMatchObject({ tfa: ["webauthn", "recovery"], flags: [] });
    expect(user("mcp@pve")?.tokens.find((t) => t.id === "mcp@pve!readonly")?.privsep).toBe(true);

    expect(res.text).toMatch(
      /^ops@pve enabled, NO TFA, groups operators\n {2}tokens: ops@pve!ansible \(PRIVSEP OFF/m,
    );
    expect(res.text).toMatch(/^contractor@pve EXPIRED 45d ago/m);
    expect(res.text).toMatch(
      /^olddev@pve DISABLED.*\n {2}tokens: olddev@pve!deploy \(.*OWNER DISABLED\/EXPIRED: delete it/m,
    );
    expect(res.text).not.toContain("[redacted]");
    expect(res.structuredContent?.["gaps"]).toEqual([]);
    expect(
      sim
        .requests()
        .map((r) => r.path)
        .sort(),
    ).toEqual(["/access/permissions", "/access/tfa", "/access/users"]);
    expect(sim.requests().find((r) => r.path === "/access/users")?.query).toEqual({ full: "1" });
  });

  it("a token that may audit one group sees its members only, and says so", async () => {
    const c = await toolClient(sim, accessTools, GROUP_AUDITOR);
    try {
      const res = await c.call("get_users");
      expect(res.isError).toBeFalsy();
      const users = res.structuredContent?.["users"] as User[];
      expect(users.map((u) => u.userid)).toEqual(["alice@pve", "contractor@pve", "ops@pve"]);
      expect(res.structuredContent?.["gaps"]).toEqual([
        {
          what: "users and their tokens (PVE lists only users of groups this token may audit)",
          needs: "Sys.Audit on /access/groups",
        },
      ]);
      expect(res.text).toContain(
        "NOT VISIBLE: users and their tokens (PVE lists only users of groups this token may audit)",
      );
      // get_acl needs Sys.Audit on /access: not offered to this token.
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(["get_users", "get_permissions"]);
    } finally {
      await c.close();
    }
  });

  it("is not offered to a token that may audit no user at all", async () => {
    const c = await toolClient(sim, accessTools, TEST_TOKENS.vmAuditOnly);
    try {
      await c.call("get_permissions");
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(["get_permissions"]);
    } finally {
      await c.close();
    }
  });
});

describe("get_acl", () => {
  it("flags @operators' Administrator on / and expands its members, the expired contractor included", async () => {
    sim.clearRequests();
    const res = await auditor.call("get_acl", { limit: 100 });
    expect(res.isError).toBeFalsy();
    const entries = res.structuredContent?.["entries"] as Entry[];
    const operators = entries.find((e) => e.ugid === "operators");
    expect(operators).toMatchObject({
      path: "/",
      type: "group",
      roleid: "Administrator",
      risk: "high",
      flags: expect.arrayContaining(["administrator", "can-escalate", "broad", "inactive-members"]),
      members: [
        { userid: "alice@pve", state: "active" },
        { userid: "contractor@pve", state: "expired" },
        { userid: "ops@pve", state: "active" },
      ],
    });
    expect(res.text).toContain(
      "HIGH / group @operators Administrator (propagate): members: alice@pve, contractor@pve (EXPIRED), ops@pve",
    );
    // The disabled olddev@pve and its token still hold PVEVMAdmin on /pool/dev.
    expect(entries.filter((e) => e.path === "/pool/dev")).toEqual([
      expect.objectContaining({ type: "user", ugid: "olddev@pve", risk: "low", principalState: "disabled" }),
      expect.objectContaining({ type: "token", ugid: "olddev@pve!deploy", principalState: "owner disabled" }),
    ]);
    // The read token's own grant is read-only.
    expect(entries.find((e) => e.ugid === "mcp@pve!readonly")).toMatchObject({
      roleid: "PVEAuditor",
      risk: "none",
    });
    // High-risk entries come first.
    expect(entries.slice(0, 4).every((e) => e.risk === "high")).toBe(true);
    const roles = res.structuredContent?.["roles"] as {
      roleid: string;
      privileges: string[];
      escalation: string[];
    }[];
    expect(roles.find((r) => r.roleid === "Administrator")?.privileges).toHaveLength(47);
    expect(roles.find((r) => r.roleid === "PVEAuditor")).toMatchObject({ escalation: [] });
    expect(res.text).toContain("Administrator: all 47 privileges");
    expect(res.text).not.toContain("[redacted]");
    expect(res.structuredContent?.["gaps"]).toEqual([]);
    expect(sim.requests()).toHaveLength(5);
  });

  it("without Sys.Audit on /access, PVE leaves entries out: the answer says so", async () => {
    const out = await getAcl.handle({ limit: 50, offset: 0 }, directContext(sim, GROUP_AUDITOR));
    expect(out.structured.entries).toEqual([]);
    expect(out.structured.gaps).toContainEqual({
      what: "the ACL (PVE lists only entries this token may modify)",
      needs: "Sys.Audit on /access",
    });
    expect(out.text).toContain("NOT VISIBLE: the ACL (PVE lists only entries this token may modify)");
  });
});

describe("get_permissions", () => {
  it("the auditor's token is read-only; dangerous mode is off", async () => {
    sim.clearRequests();
    const res = await auditor.call("get_permissions");
    expect(res.structuredContent).toMatchObject({
      tokenId: "mcp@pve!readonly",
      readOnly: true,
      writePrivileges: [],
      dangerousMode: false,
      adminTokenId: null,
    });
    expect(res.text).toMatch(/^read token mcp@pve!readonly: read-only/);
    expect(res.text).toContain("dangerous mode off");
    expect(sim.requests().map((r) => [r.path, r.query])).toEqual([["/access/permissions", {}]]);
  });

  it("path= asks PVE about that path only", async () => {
    sim.clearRequests();
    const res = await auditor.call("get_permissions", { path: "/vms/100" });
    expect(res.structuredContent?.["paths"]).toEqual([
      {
        path: "/vms/100",
        privileges: [
          "Datastore.Audit",
          "Mapping.Audit",
          "Pool.Audit",
          "SDN.Audit",
          "Sys.Audit",
          "VM.Audit",
          "VM.GuestAgent.Audit",
        ],
        propagated: [
          "Datastore.Audit",
          "Mapping.Audit",
          "Pool.Audit",
          "SDN.Audit",
          "Sys.Audit",
          "VM.Audit",
          "VM.GuestAgent.Audit",
        ],
        write: [],
      },
    ]);
    expect(sim.requests().map((r) => r.query)).toEqual([{ path: "/vms/100" }]);
  });

  it("a token that can write is reported as such", async () => {
    const root = await privilegedClient(sim, accessTools, sim.tokens.root);
    try {
      const res = await root.call("get_permissions");
      expect(res.structuredContent).toMatchObject({ readOnly: false });
      expect(res.structuredContent?.["writePrivileges"]).toContainEqual(
        expect.stringMatching(/^\/: .*Permissions\.Modify/),
      );
      expect((res.structuredContent?.["allowedByOperator"] as string[]).length).toBeGreaterThan(0);
      expect(res.text).toMatch(/^read token root@pam!sim CAN CHANGE THINGS: \d+ privilege\(s\) beyond audit/);
      expect(res.text).toContain("allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN");
    } finally {
      await root.close();
    }
  });

  it("names the admin token when dangerous mode is on", async () => {
    const out = await getPermissions.handle({}, directContext(sim, sim.tokens.auditor, true));
    expect(out.structured).toMatchObject({ dangerousMode: true, adminTokenId: "automation@pve!mcp-admin" });
    expect(out.text).toContain("dangerous mode ON: admin token automation@pve!mcp-admin");
  });

  it.each([
    "vms/100",
    "/vms/../access",
    "/vms/./100",
    "//vms",
    "/vms/100/",
    "/vms/100?x=1",
    "/vms/1 00",
    `/${"a".repeat(300)}`,
  ])("refuses path %j without a request", async (path) => {
    sim.clearRequests();
    const res = await auditor.call("get_permissions", { path });
    expect(res.isError).toBe(true);
    expect(res.text).toContain("must be an ACL path");
    expect(sim.requests()).toEqual([]);
  });

  it.each([
    ["get_users", { limit: 1000 }],
    ["get_acl", { offset: -5 }],
  ])("%s refuses %j without a request", async (tool, args) => {
    sim.clearRequests();
    const res = await auditor.call(tool, args);
    expect(res.isError).toBe(true);
    expect(sim.requests()).toEqual([]);
  });
});
