/**
 * Parameter validation in pve-common's order and words (type -> format -> pattern ->
 * length -> range -> enum), including PVE's pre-validation coercions.
 */
import { describe, expect, it } from "vitest";
import type { ApiMethodSchema } from "../../src/simulator/api-types.js";
import { PveError } from "../../src/simulator/errors.js";
import { validateParameters } from "../../src/simulator/validate.js";

const schema: ApiMethodSchema = {
  parameters: {
    node: { type: "string", format: "pve-node" },
    vmid: { type: "integer", format: "pve-vmid", minimum: 100, maximum: 999999999 },
    storage: { type: "string", format: "pve-storage-id", optional: 1 },
    snapname: { type: "string", format: "pve-configid", optional: 1, maxLength: 40 },
    userid: { type: "string", format: "pve-userid", optional: 1 },
    full: { type: "boolean", optional: 1 },
    limit: { type: "integer", minimum: 0, optional: 1 },
    ratio: { type: "number", maximum: 1, optional: 1 },
    kind: { type: "string", enum: ["vm", "ct"], optional: 1 },
    since: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}( \\d{2}:\\d{2}(:\\d{2})?)?$", optional: 1 },
    command: { type: "array", items: { type: "string" }, optional: 1 },
    vmids: { type: "string", format: "pve-vmid-list", optional: 1 },
    name: { type: "string", minLength: 3, optional: 1 },
  },
  additionalProperties: 0,
  permissions: { user: "all" },
  proxyto: null,
  protected: 0,
  allowtoken: 1,
};

function errorsOf(raw: Record<string, string | string[]>): Record<string, string> | undefined {
  try {
    validateParameters(schema, { node: "pve1", vmid: "100", ...raw });
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    expect((err as PveError).status).toBe(400);
    expect((err as PveError).message).toBe("Parameter verification failed.\n");
    return (err as PveError).errors;
  }
}

describe("validateParameters", () => {
  it("returns typed values: integers and booleans as numbers", () => {
    expect({ ...validateParameters(schema, { node: "pve1", vmid: "100", full: "1", ratio: ".5" }) }).toEqual({
      node: "pve1",
      vmid: 100,
      full: 1,
      ratio: 0.5,
    });
  });

  it.each([
    [{ vmid: "abc" }, { vmid: "type check ('integer') failed - got 'abc'" }],
    [{ vmid: "99" }, { vmid: "invalid format - value does not look like a valid VM ID\n" }],
    [{ vmid: "0100" }, { vmid: "invalid format - value does not look like a valid VM ID\n" }],
    [{ vmid: "1000000000" }, { vmid: "invalid format - value does not look like a valid VM ID\n" }],
    [{ node: "bad_node" }, { node: "invalid format - value does not look like a valid node name\n" }],
    [{ node: "pve1.example.com" }, { node: "invalid format - value does not look like a valid node name\n" }],
    [{ storage: "a" }, { storage: "invalid format - storage ID 'a' cannot be shorter than 2 characters\n" }],
    [{ storage: "nfs/x" }, { storage: "invalid format - storage ID 'nfs/x' contains illegal characters\n" }],
    [{ snapname: "1st" }, { snapname: "invalid format - invalid configuration ID '1st'\n" }],
    [{ snapname: `s${"x".repeat(40)}` }, { snapname: "value may only be 40 characters long" }],
    [{ userid: "root" }, { userid: "invalid format - value 'root' does not look like a valid user name\n" }],
    [
      { userid: `${"u".repeat(61)}@pve` },
      { userid: `invalid format - user name '${"u".repeat(61)}@pve' is too long (65 > 64)\n` },
    ],
    [{ full: "yes" }, { full: "type check ('boolean') failed - got 'yes'" }],
    [{ full: "true" }, { full: "type check ('boolean') failed - got 'true'" }],
    [
      { toString: "1" },
      { toString: "property is not defined in schema and the schema does not allow additional properties" },
    ],
    [{ limit: "-1" }, { limit: "value must have a minimum value of 0" }],
    [{ ratio: "2" }, { ratio: "value must have a maximum value of 1" }],
    [{ ratio: "x" }, { ratio: "type check ('number') failed - got 'x'" }],
    [{ kind: "pod" }, { kind: "value 'pod' does not have a value in the enumeration 'vm, ct'" }],
    [{ since: "yesterday" }, { since: "value does not match the regex pattern" }],
    [{ name: "ab" }, { name: "value must be at least 3 characters long" }],
    [
      { bogus: "1" },
      { bogus: "property is not defined in schema and the schema does not allow additional properties" },
    ],
    [{ node: ["pve1", "pve2"] }, { node: "type check ('string') failed - got ARRAY" }],
  ])("%j -> %j", (raw, expected) => {
    expect({ ...errorsOf(raw) }).toEqual(expected);
  });

  it("accepts user ids of up to 64 characters", () => {
    expect(errorsOf({ userid: `${"u".repeat(60)}@pve` })).toBeUndefined();
  });

  it("reports missing required parameters and every failing parameter at once", () => {
    try {
      validateParameters(schema, { limit: "x" });
      expect.unreachable();
    } catch (err) {
      expect({ ...(err as PveError).errors }).toEqual({
        node: "property is missing and it is not optional",
        vmid: "property is missing and it is not optional",
        limit: "type check ('integer') failed - got 'x'",
      });
    }
  });

  it("wraps a single value sent for an array parameter and joins a list sent for a -list format", () => {
    const out = validateParameters(schema, {
      node: "pve1",
      vmid: "100",
      command: "ls -la",
      vmids: ["100", "101"],
    });
    expect(out["command"]).toEqual(["ls -la"]);
    expect(out["vmids"]).toBe("100,101");
  });

  it("anchors schema patterns and translates Perl-only syntax", () => {
    const perl: ApiMethodSchema = {
      ...schema,
      parameters: { v: { type: "string", pattern: "(?^:a{,2})b|c" } },
    };
    expect(() => validateParameters(perl, { v: "aab" })).not.toThrow();
    expect(() => validateParameters(perl, { v: "c" })).not.toThrow();
    expect(() => validateParameters(perl, { v: "aaab" })).toThrow(PveError);
  });
});
