/**
 * PBS's formats (pbs-api-types, proxmox-schema, proxmox-auth-api): what each accepts and
 * refuses, and that every refusal names the rule, never the value.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { PveInputError } from "../../src/pve/errors.js";
import {
  checkPbsPathParam,
  checkPbsQueryValue,
  isPbsPathParamName,
  PBS_RULES,
  pbsAuthId,
  pbsBackupId,
  pbsBackupType,
  pbsDatastore,
  pbsJobId,
  pbsName,
  pbsNamespace,
  pbsNode,
  pbsUpid,
  pbsUserId,
} from "../../src/pbs/formats.js";

// As PBS writes them: 8-hex pid, 8-hex pstart, 8..16-hex task id, 8-hex start time, escaped worker id.
const UPID =
  "UPID:localhost:000004D2:0000162E:00000001:6750A4C0:verificationjob:store1\\x3av\\x2d1:root@pam:";
const TOKEN_UPID =
  "UPID:pbs1:00001234:00ABCDEF:0000000000000002:6750A4C0:garbage_collection:store1:mcp@pbs!readonly:";

const HOSTILE = [
  "../x",
  "..",
  "a/b",
  "%2F",
  "a%2Fb",
  "a\nb",
  "a b",
  "a?b",
  "a#b",
  "\u0441tore1",
  "",
  " store1",
];

const cases: { name: string; schema: z.ZodType; valid: unknown[]; invalid: unknown[] }[] = [
  {
    name: "datastore (SAFE_ID, 3..32)",
    schema: pbsDatastore,
    valid: ["store1", "backup-main", "_x1", "a.b", "ABC", "x".repeat(32), "123"],
    invalid: [...HOSTILE, "ab", "x".repeat(33), ".hidden", "-dash", "st:ore", 123],
  },
  {
    name: "node",
    schema: pbsNode,
    valid: ["localhost", "pbs1", "PBS-2", "x".repeat(63)],
    invalid: [...HOSTILE, "-pbs", "pbs-", "pbs_1", "pbs.lan", "x".repeat(64)],
  },
  {
    name: "UPID",
    schema: pbsUpid,
    valid: [UPID, TOKEN_UPID, "UPID:N:12345678:12345678:12345678:12345678:t::a@b:"],
    invalid: [
      ...HOSTILE,
      // PVE's UPID has no task id field
      "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qmstart:100:root@pam:",
      UPID.slice(0, -1),
      UPID.replace("verificationjob", "verif/../job"),
      UPID.replace("root@pam", "root@pam\n"),
      `${UPID}x`,
      UPID.replace("6750A4C0", "6750A4C0".repeat(2)),
      `UPID:localhost:000004D2:0000162E:00000001:6750A4C0:${"w".repeat(100)}:x:root@pam:`,
    ],
  },
  {
    name: "job id (SAFE_ID, 3..32)",
    schema: pbsJobId,
    valid: ["v-3fb1a2c4-d5e6", "s-offsite", "abc"],
    invalid: [...HOSTILE, "ab", "x".repeat(33)],
  },
  {
    name: "name (remote, datastore, token: SAFE_ID, 2..64)",
    schema: pbsName,
    valid: ["offsite", "ro", "x".repeat(64), "token_1"],
    invalid: [...HOSTILE, "a", "x".repeat(65)],
  },
  {
    name: "userid",
    schema: pbsUserId,
    valid: ["root@pam", "mcp@pbs", "jane.doe@ldap-corp", "ä@pbs"],
    invalid: [
      ...HOSTILE,
      "root",
      "root@",
      "@pam",
      "ro ot@pam",
      "root@pam/x",
      "a:b@pam",
      "a\u0085b@pam",
      "mcp@pbs!tok",
    ],
  },
  {
    name: "auth id",
    schema: pbsAuthId,
    valid: ["root@pam", "mcp@pbs!readonly", "a@b!cd"],
    invalid: [...HOSTILE, "mcp@pbs!", "mcp@pbs!a/b", `mcp@pbs!${"x".repeat(65)}`, "mcp@pbs!to ken"],
  },
  {
    name: "namespace (up to 7 levels, 256 characters)",
    schema: pbsNamespace,
    valid: ["", "prod", "prod/web", "a/b/c/d/e/f/g", `${"x".repeat(32)}/${"y".repeat(32)}`],
    invalid: [
      "/prod",
      "prod/",
      "prod//web",
      "../x",
      "prod/../x",
      "a/b/c/d/e/f/g/h",
      "a%2Fb",
      "a b",
      "a\nb",
      Array.from({ length: 7 }, () => "x".repeat(40)).join("/"),
    ],
  },
  {
    name: "backup type",
    schema: pbsBackupType,
    valid: ["vm", "ct", "host"],
    invalid: ["qemu", "lxc", "VM", "", "vm/..", 1],
  },
  {
    name: "backup id",
    schema: pbsBackupId,
    valid: ["101", "host-web.lan", "_x"],
    invalid: [...HOSTILE, ".101", "101/../102", "-x"],
  },
];

describe.each(cases)("$name", ({ schema, valid, invalid }) => {
  it.each(valid.map((value) => [value]))("accepts %j", (value) => {
    expect(schema.safeParse(value).success).toBe(true);
  });
  it.each(invalid.map((value) => [value]))("refuses %j", (value) => {
    expect(schema.safeParse(value).success).toBe(false);
  });
});

describe("checks", () => {
  it("names the path variables PBS's templates use", () => {
    for (const name of ["store", "node", "upid", "id", "name", "userid"])
      expect(isPbsPathParamName(name)).toBe(true);
    for (const name of ["vmid", "storage", "toString", "__proto__"])
      expect(isPbsPathParamName(name)).toBe(false);
  });

  it("returns the value, or a PveInputError naming the rule and never the value", () => {
    expect(checkPbsPathParam("store", "store1")).toBe("store1");
    const hostile = "../../evil\u202e";
    try {
      checkPbsPathParam("store", hostile);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PveInputError);
      expect(err).toMatchObject({ field: "store", rule: PBS_RULES.store });
      expect((err as Error).message).not.toContain("evil");
    }
  });

  it("checks the query values that name objects and lets the others through", () => {
    expect(() => checkPbsQueryValue("ns", "prod/web")).not.toThrow();
    expect(() => checkPbsQueryValue("parent", "")).not.toThrow();
    expect(() => checkPbsQueryValue("backup-type", "vm")).not.toThrow();
    expect(() => checkPbsQueryValue("auth-id", "mcp@pbs!readonly")).not.toThrow();
    expect(() => checkPbsQueryValue("limit", 50)).not.toThrow();
    expect(() => checkPbsQueryValue("typefilter", "anything at all")).not.toThrow();
    for (const [key, value] of [
      ["ns", "../x"],
      ["parent", "a//b"],
      ["backup-type", "qemu"],
      ["backup-id", "a/b"],
      ["store", "x"],
      ["auth-id", "root"],
      ["userid", "root@pam!tok"],
      ["store", true],
    ] as const) {
      expect(() => checkPbsQueryValue(key, value)).toThrow(PveInputError);
    }
  });
});
