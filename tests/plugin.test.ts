/**
 * The Claude Code plugin (.claude-plugin/marketplace.json, plugins/proxmox), checked
 * without a network or the Claude Code CLI (scripts/install-check.mjs runs
 * `claude plugin validate --strict` and installs it). Covered here what the validator
 * does not: a marketplace entry whose source directory is missing passes
 * `claude plugin validate`, and it cannot know our tool names or what a secret of ours
 * looks like.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_TOOLS } from "../src/tools/inventory.js";

const ROOT = new URL("..", import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const readJson = (path: string) => JSON.parse(read(path)) as Record<string, unknown>;

interface MarketplaceEntry {
  name: string;
  source: string;
  description?: string;
}

const pkg = readJson("package.json") as { name: string; version: string; bin: Record<string, string> };
const marketplace = readJson(".claude-plugin/marketplace.json") as {
  name: string;
  owner: { name: string };
  plugins: MarketplaceEntry[];
};
const entry = marketplace.plugins[0]!;
const PLUGIN = entry.source.replace(/^\.\//, "");
const plugin = readJson(join(PLUGIN, ".claude-plugin/plugin.json")) as {
  name: string;
  version: string;
  description: string;
};
const mcp = readJson(join(PLUGIN, ".mcp.json")) as {
  mcpServers: Record<string, { command: string; args?: string[]; env?: Record<string, string> }>;
};

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length));
}

/** `--- key: value ... ---` at the top of a SKILL.md (one-line values, as ours are). */
function frontmatter(text: string): { fields: Record<string, string>; body: string } {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!match) throw new Error("no frontmatter");
  const fields: Record<string, string> = {};
  for (const line of match[1]!.split("\n")) {
    const kv = /^([a-z][a-z-]*): (.+)$/.exec(line);
    if (!kv) throw new Error(`frontmatter line is not "key: value": ${line}`);
    fields[kv[1]!] = kv[2]!;
  }
  return { fields, body: text.slice(match[0].length) };
}

describe("marketplace and plugin manifests", () => {
  it("the marketplace lists exactly one plugin, whose directory holds a manifest of the same name", () => {
    expect(marketplace.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(marketplace.owner.name.length).toBeGreaterThan(0);
    expect(marketplace.plugins).toHaveLength(1);
    expect(entry.source).toMatch(/^\.\/plugins\/[a-z0-9-]+$/);
    expect(existsSync(join(ROOT, PLUGIN, ".claude-plugin/plugin.json"))).toBe(true);
    expect(plugin.name).toBe(entry.name);
    expect(entry.description).toBe(plugin.description);
  });

  it("the plugin's version is the package's: it starts the proxmox-mcp of that release", () => {
    expect(plugin.version).toBe(pkg.version);
  });
});

describe(".mcp.json", () => {
  it("starts the package's own bin from PATH, with no arguments: no --demo, no path into a checkout", () => {
    expect(Object.keys(mcp.mcpServers)).toEqual(["proxmox"]);
    const server = mcp.mcpServers.proxmox!;
    expect(Object.keys(pkg.bin)).toContain(server.command);
    expect(server.args ?? []).toEqual([]);
  });

  it("has no env block: the server inherits the user's environment and reads their .env", () => {
    // An env entry, even "${PROXMOX_TOKEN_SECRET}", would override a .env value with the
    // unexpanded text whenever the variable is not set in the shell.
    expect(mcp.mcpServers.proxmox!.env).toBeUndefined();
  });
});

describe("no secret in the plugin or the marketplace", () => {
  const files = [...filesUnder(PLUGIN), ...filesUnder(".claude-plugin")];
  it.each(files)("%s", (file) => {
    const text = read(file);
    // Proxmox token secrets are UUIDs; token ids look like user@realm!name.
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
    expect(text).not.toMatch(/\b[\w.-]+@[\w.-]+![\w.-]+/);
    expect(text).not.toMatch(/PROXMOX_[A-Z_]*(SECRET|TOKEN|VALUE)[A-Z_]*\s*[=:]\s*["']?[^\s"'$]/);
  });
});

describe("skills/proxmox-audit/SKILL.md", () => {
  const path = join(PLUGIN, "skills/proxmox-audit/SKILL.md");
  const text = read(path);
  const { fields, body } = frontmatter(text);
  const toolNames = new Set(ALL_TOOLS.map((t) => t.name));
  const argumentNames = new Set(ALL_TOOLS.flatMap((t) => Object.keys(t.input)));

  it("has a name matching its directory and a description that says when to use it", () => {
    expect(Object.keys(fields).sort()).toEqual(["description", "name"]);
    expect(fields.name).toBe("proxmox-audit");
    expect(fields.description!.length).toBeLessThanOrEqual(1024);
    expect(fields.description).toMatch(/Use when/);
  });

  it("stays short", () => {
    expect(text.split("\n").length).toBeLessThanOrEqual(120);
  });

  it("starts with get_version and security_audit, and points to proxmox-mcp doctor", () => {
    expect(body).toContain("`get_version`");
    expect(body).toContain("`security_audit`");
    expect(body).toContain("proxmox-mcp doctor");
  });

  it("names only tools and arguments the server has", () => {
    const snakeCase = [...new Set(text.match(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g) ?? [])];
    const unknown = snakeCase.filter((word) => !toolNames.has(word) && !argumentNames.has(word));
    expect(unknown).toEqual([]);
    expect(snakeCase.filter((word) => toolNames.has(word)).length).toBeGreaterThan(10);
  });

  it("names severities the audit has, and the markers the tools print", () => {
    const severities = ALL_TOOLS.find((t) => t.name === "security_audit")!.input.min_severity;
    for (const severity of ["critical", "high", "medium", "low", "info"]) {
      expect(severities!.safeParse(severity).success).toBe(true);
      expect(body).toContain(`\`${severity}\``);
    }
    for (const marker of ["TRUNCATED", "NOT VISIBLE", "«untrusted", "[redacted]"])
      expect(body).toContain(marker);
  });

  it("never asks for a secret", () => {
    expect(body).toMatch(/Never ask the user for a token secret/);
    expect(body).not.toMatch(/PROXMOX_TOKEN_SECRET/);
  });
});
