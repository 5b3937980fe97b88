/**
 * What tools/list serves, computed once per tool and process rather than on every
 * tools/list (the SDK converts every zod schema to JSON Schema on each call: 86-167 ms
 * for our 26 tools, against a few ms for peers).
 *
 * The input schema is what the model reads to call a tool: types, enums, limits and
 * descriptions. It leaves out the regular expressions of PVE's formats (node names, UPIDs,
 * storage ids: a third of it) because the server checks every argument with them before
 * any request and names the rule broken, which tells a model more than a pattern; and
 * noise: the `$schema` line and the ±2^53 bounds zod writes on every integer. The output schema is slim: the answer's
 * top-level fields and their JSON types. Clients validate structuredContent against it and
 * the model reads the answer itself; the full zod schema still checks every answer on the
 * server before it leaves (McpServer validates structuredContent against tool.output), so
 * nothing about the answers is loosened, only the catalog gets shorter (output schemas were
 * 65 % of a 57 KB tools/list).
 */
import { z } from "zod";
import { annotationsFor, metaFor, type AnyTool } from "./define.js";

type JsonSchema = { [key: string]: unknown };

export interface CatalogEntry {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema & { type: "object" };
  outputSchema: JsonSchema & { type: "object" };
  annotations: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

/** Keywords whose value is a schema, or a list of them, that the cleaning walks into. */
const SUBSCHEMAS = new Set([
  "items",
  "prefixItems",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "additionalProperties",
  "propertyNames",
]);
/** Keywords whose value maps names to schemas: the names are data, the schemas are walked. */
const SCHEMA_MAPS = new Set(["properties", "$defs", "definitions", "patternProperties"]);

/** The JSON Schema without patterns (checked by the server), `$schema` and zod's ±2^53 integer bounds. */
function withoutNoise(schema: JsonSchema): JsonSchema {
  const kept: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "pattern") continue;
    if ((key === "minimum" || key === "maximum") && Math.abs(value as number) === SAFE_INTEGER_BOUND)
      continue;
    if (SCHEMA_MAPS.has(key) && typeof value === "object" && value !== null) {
      // Field names are data here, never keywords: a field called "pattern" stays.
      const fields = Object.entries(value as Record<string, JsonSchema>);
      kept[key] = Object.fromEntries(fields.map(([name, field]) => [name, withoutNoise(field)]));
    } else if (SUBSCHEMAS.has(key) && typeof value === "object" && value !== null) {
      kept[key] = Array.isArray(value)
        ? value.map((item: JsonSchema) => withoutNoise(item))
        : withoutNoise(value as JsonSchema);
    } else {
      kept[key] = value;
    }
  }
  return kept;
}

/** A field's JSON type, one level deep: an array says its items' type, and no more. */
function slimField(field: JsonSchema): JsonSchema {
  const { type } = field;
  if (type === "array") {
    const items = (field["items"] ?? {}) as JsonSchema;
    return typeof items["type"] === "string" ? { type, items: { type: items["type"] } } : { type };
  }
  if (typeof type === "string") return { type };
  // Unions and nullables (anyOf): any value; the server's own check is exact.
  return {};
}

/** The answer's top-level fields and their types; which ones are always present is the server's check. */
function slimOutput(full: JsonSchema): JsonSchema & { type: "object" } {
  const properties = (full["properties"] ?? {}) as Record<string, JsonSchema>;
  return {
    type: "object",
    properties: Object.fromEntries(Object.entries(properties).map(([key, field]) => [key, slimField(field)])),
  };
}

const toJson = (shape: z.ZodRawShape, io: "input" | "output") =>
  z.toJSONSchema(z.object(shape), { target: "draft-7", io }) as JsonSchema;

const entries = new WeakMap<AnyTool, CatalogEntry>();

/** The tools/list entry of `tool`, computed on first use and kept for the life of the process. */
export function catalogEntry(tool: AnyTool): CatalogEntry {
  let entry = entries.get(tool);
  if (!entry) {
    const meta = {
      ...metaFor(tool.tier),
      ...(tool.alwaysLoad ? { "anthropic/alwaysLoad": true } : {}),
      ...(tool.maxResultChars ? { "anthropic/maxResultSizeChars": tool.maxResultChars } : {}),
    };
    entry = {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: withoutNoise(toJson(tool.input, "input")) as CatalogEntry["inputSchema"],
      outputSchema: slimOutput(toJson(tool.output, "output")),
      // The title once, at the top level where MCP 2025-06-18 put it, not again in the annotations.
      annotations: annotationsFor(tool.tier),
      ...(Object.keys(meta).length ? { _meta: meta } : {}),
    };
    entries.set(tool, entry);
  }
  return entry;
}
