/**
 * PVE's path formats: what each accepts and refuses, that every refusal names the rule
 * (never the value), and that the schemas still convert to JSON Schema for tool inputs.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { PveInputError } from "../../src/pve/errors.js";
import {
  checkPathParam,
  PATH_PARAM_FORMATS,
  pveConfigId,
  pveNode,
  pveRealm,
  pveStorageId,
  pveTokenId,
  pveUpid,
  pveUserId,
  pveVmid,
  RULES,
} from "../../src/pve/formats.js";

const UPID = "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qmstart:100:root@pam:";
const CYRILLIC_PVE1 = "\u0440v\u04351"; // "рvе1": Cyrillic er and ie

const cases: { name: string; schema: z.ZodType; rule: string; valid: unknown[]; invalid: unknown[] }[] = [
  {
    name: "pveNode",
    schema: pveNode,
    rule: RULES.node,
    valid: ["pve1", "PVE-node-2", "a", "x".repeat(63)],
    invalid: [
      "",
      "-pve",
      "pve-",
      "pve_1",
      "pve.lan",
      "../access",
      "pve/qemu/101/status/stop#",
      "%2F",
      "pve1?x=1",
      CYRILLIC_PVE1,
      "x".repeat(64),
      "x".repeat(1000),
      "-".repeat(1000),
      1,
      null,
    ],
  },
  {
    name: "pveVmid",
    schema: pveVmid,
    rule: RULES.vmid,
    valid: [100, 999_999_999, "100", "999999999", 1e3],
    invalid: [
      0,
      99,
      -1,
      100.5,
      1_000_000_000,
      NaN,
      Infinity,
      "0",
      "99",
      "0100",
      "-1",
      "1e3",
      "100 ",
      " 100",
      "+100",
      "100.0",
      "1000000000",
      "",
      null,
      true,
    ],
  },
  {
    name: "pveStorageId",
    schema: pveStorageId,
    rule: RULES.storage,
    valid: ["local", "local-lvm", "ceph_pool.1", "NFS2"],
    invalid: ["l", "1local", "local-", "local/x", "local lvm", "", "../x"],
  },
  {
    name: "pveConfigId",
    schema: pveConfigId,
    rule: RULES.snapname,
    valid: ["before_upgrade", "snap-1", "ab", "a".repeat(40)],
    invalid: ["a", "1snap", "snap.1", "snap/1", "a".repeat(41), ""],
  },
  {
    name: "pveUpid",
    schema: pveUpid,
    rule: RULES.upid,
    valid: [UPID, "UPID:pve2:00001234:123456789:6745A1B0:vzdump::mcp@pve!readonly:"],
    invalid: [
      "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qmstart:100:root@pam",
      "UPID:pve1:A1B2:00C3D4E5:6745A1B0:qmstart:100:root@pam:",
      "UPID:pve_1:0000A1B2:00C3D4E5:6745A1B0:qmstart:100:root@pam:",
      "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qmstart:100/status/stop:root@pam:",
      "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qm start:100:root@pam:",
      "UPID:pve1:0000A1B2:00C3D4E5:6745A1B0:qmstart:10\u00e9:root@pam:",
      "",
    ],
  },
  {
    name: "pveUserId",
    schema: pveUserId,
    rule: RULES.userid,
    valid: ["root@pam", "mcp@pve", "j.doe@ad-corp"],
    invalid: [
      "root",
      "@pam",
      "root@p",
      "ro ot@pam",
      "a/b@pam",
      "a:b@pam",
      "root@1pam",
      `${"a".repeat(60)}@pam1`,
    ],
  },
  {
    name: "pveTokenId",
    schema: pveTokenId,
    rule: RULES.tokenid,
    valid: ["mcp@pve!readonly", "root@pam!t.1"],
    invalid: ["mcp@pve", "mcp@pve!", "mcp@pve!1abc", "mcp!readonly", `${"a".repeat(61)}@pve!readonly`],
  },
  {
    name: "pveRealm",
    schema: pveRealm,
    rule: RULES.realm,
    valid: ["pam", "corp.example", "ad-1", "x".repeat(32)],
    invalid: ["p", "1corp", "corp/x", "corp x", "..", "x".repeat(33), ""],
  },
];

describe.each(cases)("$name", ({ schema, rule, valid, invalid }) => {
  it.each(valid.map((v) => [v]))("accepts %j", (value) => {
    expect(schema.safeParse(value).success).toBe(true);
  });

  it.each(invalid.map((v) => [v]))("refuses %j with the rule as the only message", (value) => {
    const result = schema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual([rule]);
  });
});

describe("pveVmid output", () => {
  it("is a number whether the input was a number or a decimal string", () => {
    expect(pveVmid.parse("101")).toBe(101);
    expect(pveVmid.parse(101)).toBe(101);
  });
});

describe("checkPathParam", () => {
  it("returns the value as it goes into the path", () => {
    expect(checkPathParam("node", "pve1")).toBe("pve1");
    expect(checkPathParam("vmid", 101)).toBe("101");
    expect(checkPathParam("upid", UPID)).toBe(UPID);
  });

  it("throws a PveInputError naming the field and the rule, without the value", () => {
    const err = (() => {
      try {
        checkPathParam("node", "pve1?secret=hunter2");
      } catch (e) {
        return e as PveInputError;
      }
    })();
    expect(err).toBeInstanceOf(PveInputError);
    expect(err?.field).toBe("node");
    expect(err?.message).toBe(`node: ${RULES.node}`);
    expect(err?.message).not.toContain("hunter2");
  });

  it("has a rule for every path variable", () => {
    for (const name of Object.keys(PATH_PARAM_FORMATS)) expect(RULES).toHaveProperty(name);
    expect(Object.keys(PATH_PARAM_FORMATS).sort()).toEqual([
      "node",
      "realm",
      "snapname",
      "storage",
      "upid",
      "userid",
      "vmid",
    ]);
  });
});

describe("JSON Schema for tool inputs", () => {
  it("keeps the patterns and bounds, as the MCP SDK converts them (io: input)", () => {
    const schema = z.toJSONSchema(z.object({ node: pveNode, vmid: pveVmid }), { io: "input" });
    expect(schema.properties?.["node"]).toMatchObject({ type: "string", maxLength: 63 });
    expect(schema.properties?.["vmid"]).toMatchObject({
      anyOf: [
        { type: "integer", minimum: 100, maximum: 999_999_999 },
        { type: "string", pattern: "^[1-9][0-9]{2,8}$" },
      ],
    });
  });
});
