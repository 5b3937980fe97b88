/**
 * docs/checks.md, the audit's check catalogue, is generated from the checks themselves
 * (code, id, severity, title, what it needs, where to read up): this test fails when the
 * file is out of date, and with UPDATE_DOCS=1 (npm run docs) rewrites it, through
 * prettier with the repo's settings.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { expect, it } from "vitest";
import { AUDIT_CHECKS } from "../../src/audit/index.js";

const CATALOGUE = fileURLToPath(new URL("../../docs/checks.md", import.meta.url));

const cell = (text: string) => text.replaceAll("|", "\\|");

async function renderedCatalogue(): Promise<string> {
  const rows = AUDIT_CHECKS.map(
    (c) =>
      `| ${c.code} | \`${c.id}\` | ${c.severity} | ${cell(c.title)} | ${cell(c.needs)} | ${c.references
        .map((url) => `<${url}>`)
        .join(" ")} |`,
  );
  const markdown = [
    "# Audit checks",
    "",
    "<!-- Generated from src/audit/checks by tests/docs/audit-checks.test.ts: run npm run docs after changing a check. -->",
    "",
    `\`proxmox-mcp audit\` and the \`security_audit\` tool run ${AUDIT_CHECKS.length} checks. A check's code never changes:`,
    "waivers (`--waivers`) and SARIF reports (`--format sarif`) name findings by it. The severity is that of a typical",
    "finding; a finding may carry another one (the worst case of a check is often more severe). What a check needs is",
    "what the read token must hold to see everything it looks at: without it, the report says what it could not check",
    "(a finding of severity info), never nothing.",
    "",
    "| code | check | severity | what it finds | needs | read up |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  return format(markdown, { ...(await resolveConfig(CATALOGUE)), parser: "markdown" });
}

it("docs/checks.md lists every audit check as the code defines it", async () => {
  const expected = await renderedCatalogue();
  if (process.env["UPDATE_DOCS"] === "1") {
    writeFileSync(CATALOGUE, expected);
    return;
  }
  expect(readFileSync(CATALOGUE, "utf8"), "docs/checks.md is out of date: run npm run docs").toBe(expected);
});
