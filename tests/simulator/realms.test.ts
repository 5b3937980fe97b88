/**
 * Authentication realms as pve-access-control's Domains.pm answers them: GET
 * /access/domains to anyone (the login box needs it), only the enforced second factor's
 * type; GET /access/domains/{realm} with Realm.Allocate or Sys.Audit on /access/realm, the
 * section of domains.cfg as parsed plus its digest. pam and pve always exist. A realm's
 * settings also decide logins (enforced TFA, OpenID) and password changes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { parseScenario, type ScenarioInput } from "../../src/simulator/scenario.js";
import { demoScenario } from "../../src/simulator/scenarios/demo.js";
import { api } from "../helpers/client.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";

type Entry = Record<string, unknown>;

const PASSWORD = "directory password 1";

function realmScenario(): ScenarioInput {
  const s = testScenario();
  s.realms = [
    ...(s.realms ?? []),
    { realm: "sso", type: "openid", "issuer-url": "https://id.example", "client-id": "pve" },
    {
      realm: "strict",
      type: "ldap",
      server1: "ldap.example",
      base_dn: "dc=example",
      user_attr: "uid",
      tfa: "type=oath",
    },
    { realm: "pve", type: "pve", default: 1 },
  ];
  s.users = [
    ...(s.users ?? []),
    { userid: "ann@sso", password: PASSWORD },
    { userid: "bo@strict", password: PASSWORD },
    { userid: "jdoe2@corp", password: PASSWORD },
  ];
  return s;
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: realmScenario() });
});
afterAll(() => sim.close());

async function get(path: string, token = sim.tokens.auditor) {
  return api(sim, { path, token });
}

describe("GET /access/domains", () => {
  it("lists every realm, pam and pve with PVE's default comments, tfa as the enforced type only", async () => {
    const res = await get("/access/domains");
    expect(res.status).toBe(200);
    const realms = res.body.data as Entry[];
    const byId = new Map(realms.map((r) => [r["realm"], r]));
    expect([...byId.keys()].sort()).toEqual(["corp", "example-ad", "pam", "pve", "sso", "strict"]);
    expect(byId.get("pam")).toEqual({
      realm: "pam",
      type: "pam",
      comment: "Linux PAM standard authentication",
    });
    expect(byId.get("pve")).toEqual({
      realm: "pve",
      type: "pve",
      comment: "Proxmox VE authentication server",
      default: 1,
    });
    expect(byId.get("corp")).toEqual({ realm: "corp", type: "ldap", comment: "Corporate directory" });
    expect(byId.get("example-ad")).toEqual({
      realm: "example-ad",
      type: "ad",
      comment: "Active Directory (TOTP required)",
      tfa: "oath",
    });
    expect(byId.get("strict")).toEqual({ realm: "strict", type: "ldap", tfa: "oath" });
  });

  it("answers any token, even one without any privilege (user: world)", async () => {
    const res = await get("/access/domains", TEST_TOKENS.empty);
    expect(res.status).toBe(200);
    expect((res.body.data as Entry[]).length).toBe(6);
  });
});

describe("GET /access/domains/{realm}", () => {
  it("an LDAP realm: its keys as parsed, no id key, the file's digest", async () => {
    const res = await get("/access/domains/corp");
    expect(res.status).toBe(200);
    const { digest, ...data } = res.body.data as Entry;
    expect(data).toEqual({
      type: "ldap",
      comment: "Corporate directory",
      server1: "ldap.corp.example",
      base_dn: "ou=People,dc=corp,dc=example",
      user_attr: "uid",
      bind_dn: "cn=pve-sync,ou=Services,dc=corp,dc=example",
      mode: "ldap",
    });
    expect(digest).toMatch(/^[0-9a-f]{40}$/);
    expect((await get("/access/domains/pve")).body.data["digest"]).toBe(digest);
  });

  it("booleans and integers are numbers; tfa is the whole option string", async () => {
    const data = (await get("/access/domains/example-ad")).body.data as Entry;
    expect(data).toMatchObject({
      type: "ad",
      mode: "ldaps",
      verify: 1,
      "case-sensitive": 0,
      domain: "ad.example",
      server2: "dc2.ad.example",
      tfa: "type=oath,digits=6",
    });
  });

  it("pam: the plugin key parse_config adds", async () => {
    const { digest: _d, ...data } = (await get("/access/domains/pam")).body.data as Entry;
    expect(data).toEqual({
      type: "pam",
      plugin: "PVE::Auth::PAM",
      comment: "Linux PAM standard authentication",
    });
  });

  it("an unknown realm is a 500, a malformed id a 400", async () => {
    const unknown = await get("/access/domains/nope");
    expect(unknown.status).toBe(500);
    expect(unknown.body.message).toBe("domain 'nope' does not exist\n");
    const malformed = await get("/access/domains/1x");
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toHaveProperty("realm");
  });

  it("needs Realm.Allocate or Sys.Audit on /access/realm", async () => {
    const res = await get("/access/domains/corp", TEST_TOKENS.vmAuditOnly);
    expect(res.status).toBe(403);
    expect(res.reason).toContain("Permission check failed (/access/realm, Realm.Allocate|Sys.Audit)");
  });
});

describe("the realm decides", () => {
  it("realm-type in the user list follows the realm's type", async () => {
    const users = (await get("/access/users")).body.data as Entry[];
    const type = (id: string) => users.find((u) => u["userid"] === id)?.["realm-type"];
    expect(type("jdoe@corp")).toBe("ldap");
    expect(type("kim@example-ad")).toBe("ad");
    expect(type("ann@sso")).toBe("openid");
    expect(type("hmueller@pam")).toBe("pam");
  });

  const login = (username: string) =>
    api(sim, { method: "POST", path: "/access/ticket", form: { username, password: PASSWORD } });

  it("a realm enforcing TOTP refuses its users without a factor; an OpenID realm takes no password", async () => {
    expect((await login("bo@strict")).status).toBe(401);
    expect((await login("ann@sso")).status).toBe(401);
    const plain = await login("jdoe2@corp");
    expect(plain.status).toBe(200);
    expect(plain.body.data["NeedTFA"]).toBeUndefined();
  });

  it("a directory keeps its own passwords: PUT /access/password refuses an LDAP user", async () => {
    // Logged in as the LDAP user, changing its own password.
    const own = (await login("jdoe2@corp")).body.data as Entry;
    const res = await api(sim, {
      method: "PUT",
      path: "/access/password",
      form: { userid: "jdoe2@corp", password: "new password 22", "confirmation-password": PASSWORD },
      headers: {
        Cookie: `PVEAuthCookie=${encodeURIComponent(String(own["ticket"]))}`,
        CSRFPreventionToken: String(own["CSRFPreventionToken"]),
      },
    });
    expect(res.status).toBe(500);
    expect(res.body.message).toBe("can't set password on auth type 'ldap'\n");
  });
});

describe("scenario validation", () => {
  const withRealm = (realm: Record<string, unknown>) => ({
    ...structuredClone(demoScenario),
    realms: [realm],
  });

  it.each([
    [{ realm: "x1", type: "ldap", server1: "a", base_dn: "b", user_attr: "uid", tfa: "type=sms" }, /tfa/],
    [{ realm: "x1", type: "ldap", server1: "a", user_attr: "uid" }, /base_dn: required for a ldap realm/],
    [{ realm: "pam", type: "pve" }, /only the realms pam and pve/],
    [{ realm: "x1", type: "pam" }, /only the realms pam and pve/],
    [
      { realm: "x1", type: "openid", "issuer-url": "u", "client-id": "c", mode: "ldap" },
      /mode: not an option/,
    ],
    [{ realm: "1x", type: "ad", server1: "a", domain: "d" }, /realm ids start with a letter/],
  ])("refuses %j", (realm, message) => {
    expect(() => parseScenario(withRealm(realm))).toThrow(message);
  });

  it("refuses a realm listed twice, and takes tfa keys in any order", () => {
    const realm = { realm: "x1", type: "ad", server1: "a", domain: "d", tfa: "digits=8,type=oath,step=60" };
    expect(() => parseScenario({ ...withRealm(realm), realms: [realm, realm] })).toThrow(
      /duplicate realm x1/,
    );
    expect(parseScenario(withRealm(realm)).realms).toHaveLength(1);
  });
});
