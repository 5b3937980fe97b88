#!/usr/bin/env node
// `npm run demo:tour`: starts the MCP server against the built-in simulated cluster
// and its Proxmox Backup Server (proxmox-mcp --demo, no Proxmox needed), connects as an MCP client over stdio the
// way Claude Code does, and shows what each read tool answers.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const state = mkdtempSync(join(tmpdir(), "proxmox-mcp-demo-"));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [new URL("../dist/cli.js", import.meta.url).pathname, "--demo"],
  env: { PROXMOX_AUDIT_LOG: join(state, "audit.jsonl") },
  stderr: "inherit",
});
const client = new Client({ name: "demo-tour", version: "1" });
await client.connect(transport);

const { tools } = await client.listTools();
console.log(`tools: ${tools.map((t) => t.name).join(", ")}\n`);
const calls = [
  ["get_version", {}],
  ["get_cluster_status", {}],
  ["get_nodes", {}],
  ["get_vms", { limit: 8 }],
  ["get_vm_status", { vmid: 100 }],
  ["get_vm_config", { vmid: 203 }],
  ["get_storage", { node: "pve2" }],
  ["get_node_status", { node: "pve3" }],
  ["get_node_status", { node: "../access" }],
  // The Proxmox Backup Server beside the cluster (--demo serves one; PBS_HOST for yours).
  ["pbs_datastores", {}],
  ["pbs_snapshots", { vmid: 101, limit: 5 }],
  ["pbs_jobs", {}],
];
for (const [name, args] of calls) {
  const result = await client.callTool({ name, arguments: args });
  console.log(`> ${name} ${JSON.stringify(args)}${result.isError ? "  (error)" : ""}`);
  console.log(`${result.content[0].text}\n`);
}
console.log(`audit log of this tour: ${join(state, "audit.jsonl")}`);
await client.close();
