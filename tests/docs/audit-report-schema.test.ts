/**
 * docs/audit-report.schema.json, the JSON Schema of `proxmox-mcp audit --format json`, is
 * generated from the report's zod schema: this test fails when it is out of date, and with
 * UPDATE_DOCS=1 (npm run docs) rewrites it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { expect, it } from "vitest";
import { z } from "zod";
import { reportSchema } from "../../src/audit/report-schema.js";

const SCHEMA_FILE = fileURLToPath(new URL("../../docs/audit-report.schema.json", import.meta.url));

it("docs/audit-report.schema.json is the report's schema", async () => {
  const schema = {
    ...z.toJSONSchema(reportSchema, { target: "draft-2020-12" }),
    title: "proxmox-mcp audit report (proxmox-mcp audit --format json)",
  };
  const expected = await format(JSON.stringify(schema), {
    ...(await resolveConfig(SCHEMA_FILE)),
    parser: "json",
  });
  if (process.env["UPDATE_DOCS"] === "1") {
    writeFileSync(SCHEMA_FILE, expected);
    return;
  }
  expect(
    readFileSync(SCHEMA_FILE, "utf8"),
    "docs/audit-report.schema.json is out of date: run npm run docs",
  ).toBe(expected);
});
