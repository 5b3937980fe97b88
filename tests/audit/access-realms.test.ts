/**
 * The access checks around accounts and realms: pam users that hold roles, tokens that
 * never expire split between token-expiry (no admin privilege) and token-expiry-privileged,
 * realms without an enforced second factor (realm-tfa) next to user-tfa, LDAP and AD
 * realms without TLS or without certificate checks, and acl-broad-admin's reach (custom
 * roles, groups, pools). The demo's plants and decoys, variants on the clean cluster, and
 * tokens that may not see what the checks read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGapFinding, runAudit, type AuditReport, type Finding } from "../../src/audit/index.js";
import { startSimulator, type Simulator, type TokenCredentials } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { CONTROL_OR_INVISIBLE, HOSTILE_CLEANED, HOSTILE_LINE } from "../helpers/hostile-text.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";
import { readerFor } from "./reader.js";

const CHECKS = [
  "pam-user-roles",
  "token-expiry",
  "token-expiry-privileged",
  "user-tfa",
  "realm-tfa",
  "realm-ldap-tls",
  "acl-broad-admin",
];

async function audit(
  scenario: ScenarioInput,
  token?: TokenCredentials,
  checks = CHECKS,
): Promise<{ report: AuditReport; paths: string[] }> {
  const sim = await startSimulator({ scenario });
  const reader = readerFor(sim, token ?? sim.tokens.root);
  try {
    const report = await runAudit(reader, { checks });
    return { report, paths: sim.requests().map((r) => r.path) };
  } finally {
    await reader.close();
    await sim.close();
  }
}

const of = (report: AuditReport, check: string) => report.findings.filter((f) => f.check === check);
const objects = (report: AuditReport, check: string) => of(report, check).map((f) => f.object);
function one(report: AuditReport, check: string, object: string): Finding {
  const found = of(report, check).filter((f) => f.object === object);
  expect(found, `${check} ${object}`).toHaveLength(1);
  return found[0]!;
}

const totp = (id: string) => [{ id, type: "totp" as const, created: "now-30d" }];

describe("the demo", () => {
  let sim: Simulator;
  let root: AuditReport;
  let auditor: AuditReport;
  let rootPaths: string[];

  beforeAll(async () => {
    sim = await startSimulator();
    const asRoot = readerFor(sim, sim.tokens.root);
    const asAuditor = readerFor(sim, sim.tokens.auditor);
    root = await runAudit(asRoot, { checks: CHECKS });
    rootPaths = sim
      .requests()
      .map((r) => `${r.path}?${new URLSearchParams(r.query as Record<string, string>)}`);
    auditor = await runAudit(asAuditor, { checks: CHECKS });
    await Promise.all([asRoot.close(), asAuditor.close()]);
  });
  afterAll(() => sim?.close());

  it("pam-user-roles: hmueller@pam and its role; not root@pam, not backup@pam (NoAccess only)", () => {
    expect(objects(root, "pam-user-roles")).toEqual(["hmueller@pam"]);
    const f = one(root, "pam-user-roles", "hmueller@pam");
    expect(f).toMatchObject({ code: "PVE-ACC-008", severity: "medium" });
    expect(f.evidence).toBe(
      "a Linux account on the nodes (the same password opens the GUI, the API and, where allowed, SSH); roles: PVEVMAdmin on /pool/prod",
    );
    expect(f.remediation).toContain("pveum user add hmueller@pve");
    expect(f.remediation).toContain("pveum user delete hmueller@pam");
  });

  it("tokens that never expire: admin ones are token-expiry-privileged's, the others token-expiry's", () => {
    expect(objects(root, "token-expiry-privileged")).toEqual([
      "automation@pve!mcp-admin",
      "olddev@pve!deploy",
      "ops@pve!ansible",
      "root@pam!sim",
    ]);
    expect(of(root, "token-expiry-privileged").every((f) => f.severity === "high")).toBe(true);
    // The decoys: monitor@pve!prometheus (an auditor's token), mcp@pve!readonly (an
    // auditor token of an admin user) and mcp@pve!ops (PVEVMUser) can only look or use.
    expect(objects(root, "token-expiry")).toEqual([
      "mcp@pve!ops",
      "mcp@pve!readonly",
      "monitor@pve!prometheus",
    ]);
    expect(one(root, "token-expiry-privileged", "ops@pve!ansible").evidence).toBe(
      "expire=0, privsep=0: ops@pve's rights: Permissions.Modify, Sys.Modify, Sys.Console (+11 more) on / (+15 more paths); from Administrator on / via @operators",
    );
    expect(one(root, "token-expiry-privileged", "automation@pve!mcp-admin").evidence).toMatch(
      /^expire=0, privsep=1, its own ACL: Sys\.Console, User\.Modify, Realm\.AllocateUser \(\+5 more\) on \/ .*; from PVEAdmin on \/$/,
    );
    expect(one(root, "token-expiry-privileged", "olddev@pve!deploy").evidence).toMatch(
      /^expire=0, privsep=1, its own ACL: VM\.Allocate on \/pool\/dev .*; from PVEVMAdmin on \/pool\/dev$/,
    );
    expect(one(root, "token-expiry-privileged", "ops@pve!ansible").remediation).toBe(
      "set an expiry and rotate the secret before it: pveum user token modify ops@pve ansible --expire $(date -d '+90 days' +%s)",
    );
    // One effective-rights read per token that never expires, and none for the others.
    expect(rootPaths.filter((p) => p.startsWith("/access/permissions?userid="))).toHaveLength(7);
  });

  it("realm-tfa: the LDAP realm corp, whose users hold roles; not example-ad, which enforces TOTP", () => {
    expect(objects(root, "realm-tfa")).toEqual(["realm corp"]);
    const f = one(root, "realm-tfa", "realm corp");
    expect(f.title).toBe(
      "Realm corp (ldap) lets users with roles log in with their directory password alone",
    );
    expect(f.evidence).toBe(
      "no tfa in the realm's settings; users with roles: jdoe@corp (PVEVMUser on /pool/prod); msmith@corp (PVEAuditor on /); 2 of 2 without a factor of their own",
    );
    expect(f.remediation).toContain("pveum realm modify corp --tfa type=oath");
  });

  it("user-tfa: LDAP users are in scope, a user of a realm that enforces TFA is covered", () => {
    expect(objects(root, "user-tfa")).toEqual(
      expect.arrayContaining(["jdoe@corp", "msmith@corp", "ops@pve"]),
    );
    expect(objects(root, "user-tfa")).not.toContain("kim@example-ad");
    expect(one(root, "user-tfa", "jdoe@corp").evidence).toBe(
      "enabled user of ldap realm corp (which enforces no TFA), no TOTP/WebAuthn/YubiKey",
    );
    expect(one(root, "user-tfa", "ops@pve").evidence).toBe("enabled pve user, no TOTP/WebAuthn/YubiKey");
  });

  it("realm-ldap-tls: corp talks plain LDAP; example-ad (ldaps, verify 1) is fine", () => {
    expect(objects(root, "realm-ldap-tls")).toEqual(["realm corp"]);
    const f = one(root, "realm-ldap-tls", "realm corp");
    expect(f).toMatchObject({
      code: "PVE-ACC-011",
      severity: "high",
      title: "Realm corp (ldap) sends passwords to ldap.corp.example unencrypted",
      evidence:
        "mode ldap, server1 ldap.corp.example, port 389 (default), verify unset (default 0): the bind password and users' passwords cross the network in the clear",
      remediation:
        "pveum realm modify corp --mode ldaps --verify 1 (the server's CA in the system store, or --capath <CA certificate file>)",
    });
    expect(rootPaths).toEqual(
      expect.arrayContaining(["/access/domains/corp?", "/access/domains/example-ad?"]),
    );
  });

  it("the PVEAuditor token sees the same, without a gap", () => {
    const lines = (r: AuditReport) =>
      r.findings.map((f) => `${f.severity} ${f.check} ${f.object}: ${f.evidence}`);
    expect(auditor.findings.filter(isGapFinding)).toEqual([]);
    expect(lines(auditor)).toEqual(lines(root));
  });
});

describe("tokens that may not see it: a gap, never silence", () => {
  /** PVEAuditor on /access/groups only: it sees the users and their tokens, not the ACL or others' rights. */
  const GROUPS_ONLY = { id: "groupaud@pve!tk", secret: "abababab-abab-4bab-8bab-abababababab" };

  function scenario(): ScenarioInput {
    const s = testScenario();
    s.users!.push({
      userid: "groupaud@pve",
      tokens: [{ tokenid: "tk", secret: GROUPS_ONLY.secret, privsep: 0 }],
    });
    s.acl!.push({ path: "/access/groups", ugid: "groupaud@pve", roleid: "PVEAuditor" });
    return s;
  }

  it("without Sys.Audit on /access/realm the realms' settings are a gap; the index is still read", async () => {
    const { report } = await audit(scenario(), TEST_TOKENS.vmAuditOnly, ["realm-ldap-tls"]);
    expect(report.errors).toEqual([]);
    expect(report.findings.map((f) => f.title)).toEqual([
      "Could not check the connection settings of realm(s) corp, example-ad: needs Sys.Audit on /access/realm",
    ]);
  });

  it("without Sys.Audit on /access: the tokens' rights are a gap, so every token that never expires stays token-expiry's", async () => {
    const { report } = await audit(scenario(), GROUPS_ONLY, [
      "token-expiry",
      "token-expiry-privileged",
      "pam-user-roles",
    ]);
    expect(report.errors).toEqual([]);
    // A gap is reported once, whichever checks hit it.
    expect(report.findings.filter(isGapFinding).map((f) => f.title)).toEqual(
      expect.arrayContaining([
        "Could not check the effective rights of tokens that never expire (whether they hold admin privileges): needs Sys.Audit on /access",
        "Could not check the ACL (PVE lists only entries this token may modify): needs Sys.Audit on /access",
      ]),
    );
    expect(of(report, "token-expiry-privileged").filter((f) => !isGapFinding(f))).toEqual([]);
    expect(of(report, "pam-user-roles").filter((f) => !isGapFinding(f))).toEqual([]);
    const expiry = of(report, "token-expiry").filter((f) => !isGapFinding(f));
    expect(expiry.map((f) => f.object)).toEqual(expect.arrayContaining(["ops@pve!ansible", "root@pam!sim"]));
    expect(one(report, "token-expiry", "ops@pve!ansible").evidence).toBe(
      "expire=0: a leaked secret stays valid forever (whether it holds admin privileges could not be read)",
    );
  });
});

describe("variants on the clean cluster", () => {
  it("pam users: roles through a group count; NoAccess only, a disabled account and root@pam do not", async () => {
    const s = cleanScenario();
    s.users!.push(
      { userid: "sysop@pam", tfa: totp("t1") },
      { userid: "locked@pam", tfa: totp("t2") },
      { userid: "gone@pam", enable: 0 },
    );
    s.groups = [{ groupid: "linux", users: ["sysop@pam", "gone@pam"] }];
    s.acl!.push(
      { path: "/pool/prod", ugid: "@linux", roleid: "PVEVMUser" },
      { path: "/", ugid: "locked@pam", roleid: "NoAccess" },
    );
    const { report } = await audit(s, undefined, ["pam-user-roles"]);
    expect(objects(report, "pam-user-roles")).toEqual(["sysop@pam"]);
    expect(report.findings[0]!.evidence).toMatch(/; roles: PVEVMUser on \/pool\/prod via @linux$/);
  });

  it("token rights: a pool grant through a group is privileged; a privsep token's Administrator is cut to its user's", async () => {
    const s = cleanScenario();
    s.users!.push(
      {
        userid: "deploy@pve",
        tfa: totp("t3"),
        tokens: [{ tokenid: "ci", secret: "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1", privsep: 0 }],
      },
      {
        userid: "narrow@pve",
        tfa: totp("t4"),
        tokens: [{ tokenid: "admin", secret: "d2d2d2d2-d2d2-4d2d-8d2d-d2d2d2d2d2d2", privsep: 1 }],
      },
    );
    s.groups = [{ groupid: "deployers", users: ["deploy@pve"] }];
    s.acl!.push(
      { path: "/pool/prod", ugid: "@deployers", roleid: "PVEVMAdmin" },
      { path: "/", ugid: "narrow@pve", roleid: "PVEAuditor" },
      { path: "/", ugid: "narrow@pve!admin", roleid: "Administrator" },
    );
    const { report } = await audit(s, undefined, ["token-expiry", "token-expiry-privileged"]);
    expect(report.findings.map((f) => `${f.check} ${f.object}`)).toEqual([
      "token-expiry-privileged deploy@pve!ci",
      "token-expiry narrow@pve!admin",
    ]);
    expect(report.findings[0]!.evidence).toMatch(
      /^expire=0, privsep=0: deploy@pve's rights: VM\.Allocate on \/pool\/prod \(\+\d+ more paths\); from PVEVMAdmin on \/pool\/prod via @deployers$/,
    );
  });

  it("realms: enforced TFA covers its users, OpenID is left out (and its settings never read), a partly enrolled AD realm", async () => {
    const s = cleanScenario();
    s.realms = [
      {
        realm: "dir",
        type: "ldap",
        server1: "ldap.example",
        base_dn: "dc=example",
        user_attr: "uid",
        mode: "ldaps",
        verify: 1,
        tfa: "type=yubico,id=1,key=k",
      },
      { realm: "sso", type: "openid", "issuer-url": "https://id.example", "client-id": "pve" },
      { realm: "corp-ad", type: "ad", server1: "dc.example", domain: "example", mode: "ldaps", verify: 1 },
    ];
    s.users!.push(
      { userid: "x@dir" },
      { userid: "y@sso" },
      { userid: "a@corp-ad", tfa: totp("t5") },
      { userid: "b@corp-ad" },
      { userid: "idle@corp-ad" },
    );
    s.groups = [{ groupid: "admins-ad", users: ["a@corp-ad", "b@corp-ad"] }];
    s.acl!.push(
      { path: "/", ugid: "x@dir", roleid: "PVEAuditor" },
      { path: "/", ugid: "y@sso", roleid: "PVEAuditor" },
      { path: "/vms", ugid: "@admins-ad", roleid: "PVEVMUser" },
    );
    const { report, paths } = await audit(s, undefined, ["realm-tfa", "user-tfa", "realm-ldap-tls"]);
    expect(report.findings.map((f) => `${f.check} ${f.object}`)).toEqual([
      "realm-tfa realm corp-ad",
      "user-tfa b@corp-ad",
      "user-tfa idle@corp-ad",
    ]);
    expect(report.findings[0]!.evidence).toBe(
      "no tfa in the realm's settings; users with roles: a@corp-ad (PVEVMUser on /vms via @admins-ad); b@corp-ad (PVEVMUser on /vms via @admins-ad); 1 of 2 without a factor of their own",
    );
    // An OpenID realm's settings hold its client-key: the audit never asks for them.
    expect(paths).not.toContain("/access/domains/sso");
    expect(paths).toEqual(expect.arrayContaining(["/access/domains/dir", "/access/domains/corp-ad"]));
  });

  it("LDAP connections: TLS without verify, STARTTLS with verify unset, the older secure flag either way", async () => {
    const s = cleanScenario();
    const ldap = { type: "ldap" as const, base_dn: "dc=example", user_attr: "uid" };
    s.realms = [
      { ...ldap, realm: "noverify", server1: "ldap1.example", mode: "ldaps", verify: 0, port: 6360 },
      { ...ldap, realm: "starttls", server1: "ldap2.example", mode: "ldap+starttls" },
      { ...ldap, realm: "legacy-tls", server1: "ldap3.example", secure: 1, verify: 1 },
      {
        ...ldap,
        realm: "legacy-plain",
        server1: `ldap4${HOSTILE_LINE}`,
        server2: "ldap5.example",
        secure: 0,
      },
      { ...ldap, realm: "good", server1: "ldap6.example", mode: "ldaps", verify: 1, port: 636 },
    ];
    const { report } = await audit(s, undefined, ["realm-ldap-tls"]);
    expect(report.findings.map((f) => `${f.object}: ${f.evidence.split(": ")[0]}`)).toEqual([
      `realm legacy-plain: mode unset (secure 0, so ldap), server1 ldap4${HOSTILE_CLEANED}, server2 ldap5.example, port 389 (default), verify unset (default 0)`,
      "realm noverify: mode ldaps, server1 ldap1.example, port 6360, verify 0",
      "realm starttls: mode ldap+starttls, server1 ldap2.example, port 389 (default), verify unset (default 0)",
    ]);
    expect(one(report, "realm-ldap-tls", "realm noverify")).toMatchObject({
      title: "Realm noverify (ldap) does not check the certificate of ldap1.example",
      remediation:
        "pveum realm modify noverify --verify 1 (the server's CA in the system store, or --capath <CA certificate file>)",
    });
    expect(one(report, "realm-ldap-tls", "realm legacy-plain").remediation).toMatch(
      /^pveum realm modify legacy-plain --mode ldaps --verify 1 /,
    );
    for (const f of report.findings) expect(`${f.title}${f.evidence}`).not.toMatch(CONTROL_OR_INVISIBLE);
  });

  it("acl-broad-admin: custom roles with Permissions.Modify on a pool or Sys.Modify on /, through groups; not Sys.Modify on one node", async () => {
    const s = cleanScenario();
    s.roles = {
      ...s.roles,
      Delegator: ["Permissions.Modify", "VM.Audit"],
      HostAdmin: ["Sys.Audit", "Sys.Modify"],
    };
    s.groups = [
      { groupid: "poolleads", users: ["ops@pve"] },
      { groupid: "hostadmins", users: ["ops@pve"] },
    ];
    s.acl!.push(
      { path: "/pool/prod", ugid: "@poolleads", roleid: "Delegator" },
      { path: "/", ugid: "@hostadmins", roleid: "HostAdmin" },
      { path: "/vms/100", ugid: "ops@pve", roleid: "Administrator", propagate: 0 },
    );
    const { report } = await audit(s, undefined, ["acl-broad-admin"]);
    expect(report.findings.map((f) => `${f.severity} ${f.object}`)).toEqual([
      "high @hostadmins: HostAdmin on /",
      "medium @poolleads: Delegator on /pool/prod",
      "medium ops@pve: Administrator on /vms/100",
    ]);
    expect(one(report, "acl-broad-admin", "@poolleads: Delegator on /pool/prod").evidence).toBe(
      "Permissions.Modify: it may grant any role on /pool/prod (the pool's guests and storages) to anyone, itself included",
    );
    expect(one(report, "acl-broad-admin", "@hostadmins: HostAdmin on /").evidence).toBe(
      "write privileges: Sys.Modify",
    );
    // The clean cluster's audit token holds Sys.Modify on each node (to read pending updates), and
    // ops@pve PVEVMAdmin on /pool/prod: neither is reported.
    expect(objects(report, "acl-broad-admin").join()).not.toMatch(/NodeUpdates|PVEVMAdmin/);
  });
});
