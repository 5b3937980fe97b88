/**
 * MCP resources: read-only views a client can attach to a conversation. Each one is a
 * core tool's answer (same handler, same redaction and fencing) or the audit report,
 * read through the server's read path: the token check first, then an audit line with
 * the PVE requests made. {node} and {vmid} are checked against PVE's formats before any
 * request.
 */
import { ResourceTemplate, type McpServer, type ReadResourceResult } from "@modelcontextprotocol/server";
import type { z } from "zod";
import { pveNode, pveVmid } from "./pve/formats.js";
import { isToolsetOn, type ToolsetId } from "./tools/toolsets.js";
import { getClusterStatus, getNodes, getNodeStatus, getVmConfig } from "./tools/core.js";
import type { ReadContext } from "./tools/define.js";

/** How the server runs a resource read (src/server.ts provides it). */
export interface ResourceReader {
  /**
   * Runs `read` like a read tool: after the token check, with its PVE requests and
   * outcome written to the audit log as `name`; the answer comes back redacted (text
   * capped). A failure is thrown as one actionable line.
   */
  read<T>(
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    read: (ctx: ReadContext) => Promise<T>,
  ): Promise<T>;
  /** Writes the audit line of a read refused before any request, and returns the error to throw. */
  reject(name: string, args: Record<string, unknown>, message: string): Error;
}

export const RESOURCE_URIS = {
  clusterStatus: "pve://cluster/status",
  nodeStatus: "pve://nodes/{node}/status",
  guestConfig: "pve://guests/{vmid}/config",
  auditReport: "pve://audit/report",
} as const;

const text = (uri: URL, body: string): ReadResourceResult => ({
  contents: [{ uri: uri.href, mimeType: "text/plain", text: body }],
});

/** The audit line's name of a resource read: the URI (template), e.g. "resource:pve://nodes/{node}/status". */
const auditName = (uri: string) => `resource:${uri}`;

/**
 * Registers the resources of the enabled toolsets (undefined: all): the core views with
 * "core", the audit report with "security".
 */
export function registerResources(
  server: McpServer,
  reader: ResourceReader,
  toolsets: readonly string[] | undefined,
): void {
  const on = (toolset: ToolsetId) => isToolsetOn(toolset, toolsets);

  /** A template variable in a PVE format, or the audited refusal (no request is sent). */
  const variable = <S extends z.ZodType>(
    uri: string,
    name: string,
    value: string | string[] | undefined,
    format: S,
  ): z.output<S> => {
    const parsed = format.safeParse(value);
    if (parsed.success) return parsed.data;
    const rule = parsed.error.issues[0]?.message ?? "invalid value";
    throw reader.reject(auditName(uri), { [name]: value }, `${name}: ${rule}`);
  };

  if (on("core")) {
    server.registerResource(
      "cluster_status",
      RESOURCE_URIS.clusterStatus,
      {
        title: "Cluster status",
        description: "Quorum, and each node's membership and online state (as get_cluster_status).",
        mimeType: "text/plain",
      },
      async (uri, request) =>
        text(
          uri,
          await reader.read(
            auditName(RESOURCE_URIS.clusterStatus),
            {},
            request.mcpReq.signal,
            async (ctx) => {
              return (await getClusterStatus.handle({}, ctx)).text;
            },
          ),
        ),
    );

    server.registerResource(
      "node_status",
      new ResourceTemplate(RESOURCE_URIS.nodeStatus, {
        // One GET /nodes (no privilege needed). Listing never fails: without Proxmox it lists no node.
        list: async (request) => {
          const nodes = await reader
            .read(auditName("list:pve://nodes"), {}, request.mcpReq.signal, async (ctx) => {
              return (await getNodes.handle({}, ctx)).structured.nodes.map((n) => n.node);
            })
            .catch(() => []);
          return {
            resources: nodes
              .filter((node) => pveNode.safeParse(node).success)
              .map((node) => ({
                uri: `pve://nodes/${node}/status`,
                name: `node ${node} status`,
                mimeType: "text/plain",
              })),
          };
        },
      }),
      {
        title: "Node status",
        description: "One node's kernel, PVE version, CPU, load, memory, swap and root filesystem.",
        mimeType: "text/plain",
      },
      async (uri, variables, request) => {
        const node = variable(RESOURCE_URIS.nodeStatus, "node", variables["node"], pveNode);
        return text(
          uri,
          await reader.read(
            auditName(RESOURCE_URIS.nodeStatus),
            { node },
            request.mcpReq.signal,
            async (ctx) => {
              return (await getNodeStatus.handle({ node }, ctx)).text;
            },
          ),
        );
      },
    );

    server.registerResource(
      "guest_config",
      // Not listed: a cluster can hold thousands of guests (get_vms pages through them).
      new ResourceTemplate(RESOURCE_URIS.guestConfig, { list: undefined }),
      {
        title: "Guest configuration",
        description:
          "Current configuration of one VM or container, secrets redacted, fenced as untrusted text (as get_vm_config).",
        mimeType: "text/plain",
      },
      async (uri, variables, request) => {
        const vmid = variable(RESOURCE_URIS.guestConfig, "vmid", variables["vmid"], pveVmid);
        return text(
          uri,
          await reader.read(
            auditName(RESOURCE_URIS.guestConfig),
            { vmid },
            request.mcpReq.signal,
            async (ctx) => {
              return (await getVmConfig.handle({ vmid }, ctx)).text;
            },
          ),
        );
      },
    );
  }

  if (on("security")) {
    server.registerResource(
      "audit_report",
      RESOURCE_URIS.auditReport,
      {
        title: "Security audit report",
        description: "Every security audit finding, one line each, most severe first (as security_audit).",
        mimeType: "text/plain",
      },
      async (uri, request) =>
        text(
          uri,
          await reader.read(auditName(RESOURCE_URIS.auditReport), {}, request.mcpReq.signal, async (ctx) => {
            // The audit engine is loaded when first asked for, not at start-up.
            const [{ formatReportCompact, runAudit }, { cleanReport }] = await Promise.all([
              import("./audit/index.js"),
              import("./audit/format.js"),
            ]);
            return formatReportCompact(
              cleanReport(
                await runAudit(ctx.read.asSource(), {
                  ...(ctx.pbs && ctx.facts.pbs
                    ? { pbs: ctx.pbs.asSource(), pbsName: ctx.facts.pbs.host }
                    : {}),
                  signal: ctx.signal,
                }),
              ),
            );
          }),
        ),
    );
  }
}
