/**
 * The catalog tools/list serves: computed once per tool, in inventory order, within the
 * budgets of what a client loads and a model reads, and kept in a snapshot so that any
 * change to what models see shows up in review (update: `npx vitest run -u`).
 */
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { catalogEntry } from "../../src/tools/catalog.js";
import { defineTool } from "../../src/tools/define.js";
import { ALL_TOOLS, buildInventory } from "../../src/tools/inventory.js";

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const readOnly = buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: undefined });
const everything = buildInventory(ALL_TOOLS, { dangerousEnabled: true, toolsets: undefined });

describe("catalog budgets", () => {
  it("what the model reads of the read tools (name, description, input schema) stays within 12 KB", () => {
    const read = readOnly.map(catalogEntry).map(({ name, description, inputSchema }) => ({
      name,
      description,
      inputSchema,
    }));
    expect(bytes(read)).toBeLessThanOrEqual(12 * 1024);
  });

  it("the whole tools/list of the default (read-only) server stays within 25 KB", () => {
    expect(bytes({ tools: readOnly.map(catalogEntry) })).toBeLessThanOrEqual(25 * 1024);
  });

  it("output schemas are slim: top-level fields and their JSON types, nothing nested", () => {
    for (const { name, outputSchema } of everything.map(catalogEntry)) {
      expect(outputSchema.type, name).toBe("object");
      const fields = Object.entries(outputSchema["properties"] as Record<string, Record<string, unknown>>);
      expect(fields.length, name).toBeGreaterThan(0);
      for (const [field, schema] of fields) {
        const unexpected = Object.keys(schema).filter((k) => k !== "type" && k !== "items");
        expect(unexpected, `${name}.${field}`).toEqual([]);
        if (schema["items"]) expect(Object.keys(schema["items"]), `${name}.${field}`).toEqual(["type"]);
      }
    }
  });
});

describe("catalogEntry", () => {
  it("is computed once per tool: the same object on every tools/list", () => {
    for (const tool of everything) expect(catalogEntry(tool)).toBe(catalogEntry(tool));
  });

  it("keeps types, enums, limits and descriptions, and drops patterns, $schema and zod's ±2^53 bounds", () => {
    const tool = defineTool({
      name: "probe",
      title: "Probe",
      description: "a tool for this test",
      toolset: "core",
      tier: "read",
      input: {
        // A field may be called like a JSON Schema keyword: it is data, and stays.
        pattern: z
          .string()
          .regex(/^[a-z]+$/)
          .max(20)
          .describe("a field named pattern"),
        count: z.number().int().min(0),
        kind: z.enum(["a", "b"]).default("a"),
      },
      output: { total: z.number().int(), items: z.array(z.object({ id: z.string() })) },
      needs: [],
      handle: () => Promise.resolve({ text: "", structured: { total: 0, items: [] } }),
    });
    const entry = catalogEntry(tool);
    expect(entry.inputSchema).toEqual({
      type: "object",
      properties: {
        pattern: { type: "string", maxLength: 20, description: "a field named pattern" },
        count: { type: "integer", minimum: 0 },
        kind: { type: "string", enum: ["a", "b"], default: "a" },
      },
      required: ["pattern", "count"],
    });
    expect(entry.outputSchema).toEqual({
      type: "object",
      properties: { total: { type: "integer" }, items: { type: "array", items: { type: "object" } } },
    });
    expect(entry.annotations).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(entry._meta).toBeUndefined();
  });

  it("the entry tools, and only they, are loaded up front by Claude Code (anthropic/alwaysLoad)", () => {
    const upFront = everything.filter((tool) => catalogEntry(tool)._meta?.["anthropic/alwaysLoad"] === true);
    expect(upFront.map((tool) => tool.name)).toEqual(["get_version", "security_audit"]);
  });

  it("every paged tool (it has a limit) raises Claude Code's 50,000-character result threshold, within its 500,000", () => {
    const paged = everything.filter(
      (tool) => "limit" in (catalogEntry(tool).inputSchema["properties"] as Record<string, unknown>),
    );
    expect(paged.map((tool) => tool.name)).toContain("get_vms");
    for (const tool of everything) {
      const declared = catalogEntry(tool)._meta?.["anthropic/maxResultSizeChars"];
      if (paged.includes(tool)) expect(declared, tool.name).toBeGreaterThan(50_000);
      else expect(declared, tool.name).toBeUndefined();
      if (declared !== undefined) expect(declared, tool.name).toBeLessThanOrEqual(500_000);
    }
  });

  it("dangerous tools carry anthropic/requiresUserInteraction", () => {
    for (const tool of everything.filter((t) => t.tier === "dangerous")) {
      expect(catalogEntry(tool)._meta, tool.name).toEqual({ "anthropic/requiresUserInteraction": true });
    }
  });
});

describe("catalog snapshot", () => {
  it("every tool as tools/list serves it, dangerous tier included", async () => {
    await expect(`${JSON.stringify(everything.map(catalogEntry), null, 2)}\n`).toMatchFileSnapshot(
      "./__snapshots__/catalog.json",
    );
  });
});
