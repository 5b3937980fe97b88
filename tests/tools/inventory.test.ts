/**
 * The inventory's rules: every tool declares tier and toolset, annotations follow the
 * tier, the tier filter runs first and wins over toolsets, and the exact tool names
 * per mode are pinned.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { annotationsFor, defineTool, metaFor, type AnyTool } from "../../src/tools/define.js";
import { ALL_TOOLS, buildInventory } from "../../src/tools/inventory.js";

const dangerousProbe: AnyTool = defineTool({
  name: "probe_dangerous",
  title: "probe",
  description: "a dangerous tool for the filter test",
  toolset: "core",
  tier: "dangerous",
  input: {},
  output: { ok: z.boolean() },
  needs: [],
  handle: async () => ({ text: "", structured: { ok: true } }),
});

describe("every tool", () => {
  it.each(ALL_TOOLS.map((t) => [t.name, t] as const))(
    "%s declares tier, toolset, schemas and needs",
    (_n, tool) => {
      expect(["read", "dangerous"]).toContain(tool.tier);
      expect(tool.toolset).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(tool.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(tool.title.length).toBeGreaterThan(0);
      expect(tool.description.length).toBeGreaterThan(20);
      expect(tool.description.length).toBeLessThanOrEqual(300);
      expect(typeof tool.input).toBe("object");
      expect(Object.keys(tool.output).length).toBeGreaterThan(0);
      expect(Array.isArray(tool.needs)).toBe(true);
    },
  );

  it("has unique names", () => {
    const names = ALL_TOOLS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("annotations follow the tier", () => {
  it("read tools are read-only, non-destructive, idempotent; dangerous ones destructive and confirmed", () => {
    expect(annotationsFor("read")).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
    });
    expect(metaFor("read")).toBeUndefined();
    expect(annotationsFor("dangerous")).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(metaFor("dangerous")).toEqual({ "anthropic/requiresUserInteraction": true });
  });
});

describe("buildInventory", () => {
  const tools = [...ALL_TOOLS, dangerousProbe];

  it("hides dangerous tools unless the tier is on, whatever the toolsets say", () => {
    const readOnly = buildInventory(tools, { dangerousEnabled: false, toolsets: ["core"] });
    expect(readOnly.map((t) => t.name)).not.toContain("probe_dangerous");
    const dangerous = buildInventory(tools, { dangerousEnabled: true, toolsets: undefined });
    expect(dangerous.map((t) => t.name)).toContain("probe_dangerous");
  });

  it("pins the tool names of the read-only default", () => {
    expect(
      buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: undefined }).map((t) => t.name),
    ).toEqual([
      "get_version",
      "get_cluster_status",
      "get_nodes",
      "get_node_status",
      "get_vms",
      "get_vm_status",
      "get_vm_config",
      "get_storage",
      "get_storage_content",
      "get_tasks",
      "get_task_log",
      "get_backup_jobs",
      "get_backup_coverage",
      "get_snapshots",
      "get_users",
      "get_acl",
      "get_permissions",
      "get_firewall",
      "get_certificates",
      "get_updates",
      "security_audit",
      "get_ha_status",
      "get_replication",
      "get_disks",
      "get_network",
      "proxmox_api_get",
    ]);
  });

  it("trims by toolset and refuses unknown toolsets with the known ones listed", () => {
    const core = ALL_TOOLS.filter((t) => t.toolset === "core");
    expect(buildInventory(ALL_TOOLS, { dangerousEnabled: true, toolsets: ["core"] })).toEqual(core);
    expect(() => buildInventory(ALL_TOOLS, { dangerousEnabled: false, toolsets: ["nope"] })).toThrow(
      /PROXMOX_TOOLSETS names unknown toolset\(s\) nope; known toolsets: core \(Cluster, nodes and guests\), storage \(Storage contents\), .*, dangerous \(Dangerous actions\) \(example: PROXMOX_TOOLSETS=core\)$/,
    );
  });
});
