/**
 * The toolset declarations against the tools: every tool names a declared toolset of its
 * own tier, every declared toolset has tools, and the inventory follows the declared
 * defaults unless PROXMOX_TOOLSETS names toolsets itself.
 */
import { describe, expect, it } from "vitest";
import { ALL_TOOLS, buildInventory } from "../../src/tools/inventory.js";
import { isToolsetOn, TOOLSETS, type ToolsetDeclaration } from "../../src/tools/toolsets.js";

const declaredIds: readonly string[] = TOOLSETS.map((t) => t.id);
const namesIn = (toolsetIds: readonly string[]) =>
  ALL_TOOLS.filter((t) => toolsetIds.includes(t.toolset)).map((t) => t.name);

describe("toolset declarations", () => {
  it("have unique ids PROXMOX_TOOLSETS accepts, a title fit for doctor and a one-line description", () => {
    expect(new Set(declaredIds).size).toBe(declaredIds.length);
    for (const toolset of TOOLSETS) {
      expect(toolset.id).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(toolset.title).toMatch(/^[^:\n]+$/);
      expect(toolset.description).toMatch(/^[^\n]{10,120}\.$/);
    }
  });

  it("cover every tool's toolset, and each has a tool", () => {
    const undeclared = ALL_TOOLS.filter((t) => !declaredIds.includes(t.toolset));
    expect(
      undeclared.map((t) => `${t.name}: ${t.toolset}`),
      "declare these toolsets in src/tools/toolsets.ts",
    ).toEqual([]);
    const empty = TOOLSETS.filter((toolset) => !ALL_TOOLS.some((t) => t.toolset === toolset.id));
    expect(
      empty.map((t) => t.id),
      "drop these toolsets from src/tools/toolsets.ts, or give them tools",
    ).toEqual([]);
  });

  it("have the tier of all their tools", () => {
    const tierOf = new Map<string, string>(TOOLSETS.map((t) => [t.id, t.tier]));
    const disagreeing = ALL_TOOLS.filter((t) => tierOf.get(t.toolset) !== t.tier);
    expect(
      disagreeing.map((t) => `${t.name} (${t.tier}) in ${t.toolset} (${tierOf.get(t.toolset)})`),
      "move these tools to a toolset of their tier, or fix the tier in src/tools/toolsets.ts",
    ).toEqual([]);
  });

  it("are all on by default, the dangerous one only once its tier is on", () => {
    expect(TOOLSETS.filter((t) => !t.defaultOn)).toEqual([]);
    expect(TOOLSETS.filter((t) => t.tier === "dangerous").map((t) => t.id)).toEqual(["dangerous"]);
  });
});

describe("isToolsetOn", () => {
  const offByDefault: ToolsetDeclaration = {
    id: "extra",
    title: "Extra",
    description: "A toolset that is off unless named.",
    tier: "read",
    defaultOn: false,
  };
  const onByDefault: ToolsetDeclaration = { ...offByDefault, id: "usual", defaultOn: true };

  it("follows the declared default while PROXMOX_TOOLSETS is unset", () => {
    expect(isToolsetOn(onByDefault, undefined)).toBe(true);
    expect(isToolsetOn(offByDefault, undefined)).toBe(false);
  });

  it("follows PROXMOX_TOOLSETS alone once it is set: it turns a default-off toolset on, a default-on one off", () => {
    expect(isToolsetOn(offByDefault, ["extra"])).toBe(true);
    expect(isToolsetOn(onByDefault, ["extra"])).toBe(false);
  });
});

describe("buildInventory with the declarations", () => {
  const readIds = TOOLSETS.filter((t) => t.tier === "read" && t.defaultOn).map((t) => t.id);
  const allIds = TOOLSETS.filter((t) => t.defaultOn).map((t) => t.id);
  const names = (dangerousEnabled: boolean, toolsets: string[] | undefined, pbsConfigured = true) =>
    buildInventory(ALL_TOOLS, { dangerousEnabled, toolsets, pbsConfigured }).map((t) => t.name);

  it("offers every default-on toolset of the allowed tiers when PROXMOX_TOOLSETS is unset", () => {
    expect(names(false, undefined)).toEqual(namesIn(readIds));
    expect(names(true, undefined)).toEqual(namesIn(allIds));
  });

  it("lists no pbs tool without PBS configured, even when PROXMOX_TOOLSETS names pbs", () => {
    expect(names(false, undefined, false)).toEqual(namesIn(readIds.filter((id) => id !== "pbs")));
    expect(names(false, ["core", "pbs"], false)).toEqual(namesIn(["core"]));
    expect(names(false, ["core", "pbs"])).toEqual(namesIn(["core", "pbs"]));
  });

  it("offers only the named toolsets, and a dangerous one only with its tier on", () => {
    expect(names(true, ["core", "dangerous"])).toEqual(namesIn(["core", "dangerous"]));
    expect(names(false, ["core", "dangerous"])).toEqual(namesIn(["core"]));
  });

  it("refuses an unknown toolset, listing every declared one with its title", () => {
    const call = () => buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: ["core", "backups"] });
    expect(call).toThrow(/^PROXMOX_TOOLSETS names unknown toolset\(s\) backups; known toolsets: /);
    for (const toolset of TOOLSETS) expect(call).toThrow(`${toolset.id} (${toolset.title})`);
  });
});
