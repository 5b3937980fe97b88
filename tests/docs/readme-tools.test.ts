/**
 * The README's tool tables are generated from the tools and the toolset declarations, so
 * adding a tool never means editing the README by hand: this test fails when the region
 * between the markers is out of date, and with UPDATE_DOCS=1 (npm run docs) rewrites it.
 * The tables go through prettier with the repo's settings, so the README stays
 * prettier-clean either way.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { expect, it } from "vitest";
import { catalogEntry } from "../../src/tools/catalog.js";
import type { AnyTool } from "../../src/tools/define.js";
import { ALL_TOOLS } from "../../src/tools/inventory.js";
import { TOOLSETS, type ToolsetDeclaration } from "../../src/tools/toolsets.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const BEGIN = "<!-- tools:begin -->";
const END = "<!-- tools:end -->";

const cell = (text: string) => text.replaceAll("|", "\\|");

/** `name {arg, optional?}`, the arguments as the input schema lists them. */
function signature(tool: AnyTool): string {
  const { properties = {}, required = [] } = catalogEntry(tool).inputSchema as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  const args = Object.keys(properties).map((name) => (required.includes(name) ? name : `${name}?`));
  return args.length > 0 ? `${tool.name} {${args.join(", ")}}` : tool.name;
}

function privileges(tool: AnyTool): string {
  // PVE privileges only: what a pbs tool needs of the PBS token is in its description.
  if (tool.toolset === "pbs") return "PBS token (see the description)";
  if (tool.needs.length === 0) return "none";
  return tool.needs.map((need) => `${need.privileges.join(" or ")} on \`${need.path}\``).join(", ");
}

function availability(toolset: ToolsetDeclaration): string {
  if (toolset.tier === "dangerous") {
    return toolset.defaultOn ? "only in dangerous mode" : "off by default, even in dangerous mode";
  }
  return toolset.defaultOn ? "on by default" : "off by default";
}

function toolsetTable(toolset: ToolsetDeclaration): string {
  const token = toolset.tier === "read" ? "read" : "admin";
  const rows = ALL_TOOLS.filter((t) => t.toolset === toolset.id).map(
    (t) => `| \`${cell(signature(t))}\` | ${cell(t.description)} | ${cell(privileges(t))} |`,
  );
  return [
    `### ${toolset.title} (\`${toolset.id}\`, ${availability(toolset)})`,
    "",
    toolset.description,
    "",
    `| tool | what it does | ${token} token needs |`,
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
}

async function renderedTables(): Promise<string> {
  const markdown = TOOLSETS.map(toolsetTable).join("\n\n");
  return format(markdown, { ...(await resolveConfig(README)), parser: "markdown" });
}

it("README.md's tool tables match the tools and their toolsets", async () => {
  const readme = readFileSync(README, "utf8");
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin === -1 || end < begin) {
    throw new Error(
      `README.md lacks the ${BEGIN} ... ${END} markers where the tool tables go; put them back, then run npm run docs`,
    );
  }
  const region = readme.slice(begin + BEGIN.length, end);
  const expected = `\n\n${await renderedTables()}\n`;
  if (process.env["UPDATE_DOCS"] === "1") {
    writeFileSync(README, `${readme.slice(0, begin + BEGIN.length)}${expected}${readme.slice(end)}`);
    return;
  }
  expect(region, "README.md's tool tables are out of date: run npm run docs").toBe(expected);
});
