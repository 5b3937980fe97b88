/**
 * Toolset "storage": the volumes of one storage. PVE's content index drops every volume
 * the caller may not access (pve-storage check_volume_access): a PVEAuditor sees ISOs and
 * templates only, never backups (Datastore.AllocateSpace + VM.Backup) nor disk images
 * (Datastore.Allocate). The answer says what was left out and what would show it, so
 * "no backups here" is never read from a filtered list.
 */
import { z } from "zod";
import { PveApiError } from "../pve/errors.js";
import { pveNode, pveStorageId, pveVmid } from "../pve/formats.js";
import { defineTool, type ReadContext } from "./define.js";
import { paginate, pagingInput, pagingOutput, PAGED_RESULT_CHARS } from "./paging.js";
import type { RunReader } from "../pve/model/reader.js";
import { holds, type Permissions } from "../pve/model/visibility.js";
import { isoTime } from "./tasks.js";
import { cleanText } from "../untrusted.js";
import { gapsField, gapText } from "./visibility.js";

const CONTENT_TYPES = ["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"] as const;
/** Listed with Datastore.Audit or Datastore.AllocateSpace on the storage. */
const OPEN_CONTENT = new Set(["iso", "vztmpl"]);

const GiB = 1024 ** 3;
const gib = (bytes: number) => (bytes / GiB).toFixed(1);

const volumeSchema = z.object({
  volid: z.string(),
  content: z.string(),
  format: z.string().optional(),
  size: z.number().optional(),
  vmid: z.number().int().optional(),
  ctime: z.string().optional(),
  notes: z.string().optional(),
  protected: z.boolean().optional(),
  used: z.number().optional(),
  parent: z.string().optional(),
  verification: z.string().optional(),
});

interface PveVolume {
  volid: string;
  content: string;
  format?: string;
  size?: number;
  vmid?: number | string;
  ctime?: number;
  notes?: string;
  protected?: number | boolean;
  used?: number;
  parent?: string;
  verification?: { state?: string };
}

/** A node's view of one storage (/nodes/{node}/storage?storage=). */
interface NodeStorage {
  storage: string;
  type: string;
  content: string;
  shared?: number;
  active?: number;
  enabled?: number;
  used?: number;
  total?: number;
}

/**
 * The node to list a storage on: the one asked for; else for a shared storage any online
 * node that has it, for a local one the only node that has it.
 */
async function pickNode(ctx: ReadContext, storage: string): Promise<string> {
  const [configs, nodes] = await Promise.all([
    ctx.read.get<{ storage: string; shared?: number; nodes?: string; disable?: number }[]>("/storage"),
    ctx.read.get<{ node: string; status: string }[]>("/nodes"),
  ]);
  const cfg = configs.find((c) => c.storage === storage);
  if (!cfg) {
    throw new Error(
      `Storage ${storage} not found: it does not exist, or this token lacks Datastore.Audit on /storage/${storage} (PVE hides storages it may not see).`,
    );
  }
  if (cfg.disable) throw new Error(`Storage ${storage} is disabled in the cluster's storage configuration.`);
  const online = new Set(nodes.filter((n) => n.status === "online").map((n) => n.node));
  const holders = (cfg.nodes ? cfg.nodes.split(/[,;\s]+/).filter(Boolean) : nodes.map((n) => n.node)).sort();
  const label = (n: string) => (online.has(n) ? n : `${n} (offline)`);
  if (cfg.shared) {
    const node = holders.find((n) => online.has(n));
    if (!node)
      throw new Error(
        `Shared storage ${storage} is on ${holders.map(label).join(", ")}: no node that has it is online.`,
      );
    return node;
  }
  if (holders.length === 1) return holders[0] as string;
  throw new Error(
    `Storage ${storage} is local to each node (${holders.map(label).join(", ")}), with different volumes on each: give node.`,
  );
}

/** What PVE left out of this listing, and which privileges would show it, as gaps of the call. */
function contentGaps(
  read: RunReader,
  storage: string,
  node: string,
  types: readonly string[],
  perms: Permissions | undefined,
  vmid: number | undefined,
): void {
  const at = `/storage/${storage}`;
  if (holds(perms, at, "Datastore.Allocate")) return;
  if (types.includes("backup")) {
    const vms = vmid === undefined ? "/vms" : `/vms/${vmid}`;
    if (!holds(perms, at, "Datastore.AllocateSpace") || !holds(perms, vms, "VM.Backup")) {
      read.gap(
        `backup volumes on ${storage}@${node}${vmid === undefined ? "" : ` of guest ${vmid}`}: PVE leaves them out of this list, so backups may exist that are not shown`,
        `Datastore.AllocateSpace on ${at} and VM.Backup on ${vms}${vmid === undefined ? " (or on each guest)" : ""}`,
      );
    }
  }
  const closed = types.filter((t) => !OPEN_CONTENT.has(t) && t !== "backup");
  if (closed.length > 0) {
    read.gap(
      `${closed.join(", ")} volumes on ${storage}@${node} (guest disks and other files): PVE lists them only to storage administrators; guests' disks show in get_vm_config`,
      `Datastore.Allocate on ${at}`,
    );
  }
}

export const getStorageContent = defineTool({
  name: "get_storage_content",
  title: "Storage content",
  description:
    "Volumes of one storage (backups, ISOs, templates, disks) with size, guest, date, notes; filtered and paginated. Says which volumes PVE hid from this token.",
  toolset: "storage",
  tier: "read",
  maxResultChars: PAGED_RESULT_CHARS,
  input: {
    storage: pveStorageId.describe("storage id, e.g. local or nfs-backup"),
    node: pveNode
      .optional()
      .describe("node to list it on: optional for shared storage, needed for local storage on several nodes"),
    content: z.enum(CONTENT_TYPES).optional().describe("only this content type"),
    vmid: pveVmid.optional().describe("only volumes of this guest"),
    ...pagingInput(50),
  },
  output: {
    storage: z.string(),
    node: z.string(),
    type: z.string(),
    shared: z.boolean(),
    contentTypes: z.array(z.string()),
    usage: z.object({ used: z.number(), total: z.number(), usedFraction: z.number() }).nullable(),
    ...pagingOutput,
    totalSize: z.number(),
    byContent: z.record(z.string(), z.object({ count: z.number().int(), size: z.number() })),
    volumes: z.array(volumeSchema),
    gaps: gapsField,
  },
  needs: [{ path: "/storage/{storage}", privileges: ["Datastore.Audit", "Datastore.AllocateSpace"] }],
  async handle(args, ctx) {
    const { storage, vmid } = args;
    const [node, perms] = await Promise.all([
      args.node ?? pickNode(ctx, storage),
      ctx.read.permissionsIfKnown(),
    ]);
    const [infoResult, contentResult] = await Promise.allSettled([
      ctx.read.get<NodeStorage[]>("/nodes/{node}/storage", { node }, { storage }),
      ctx.read.get<PveVolume[]>(
        "/nodes/{node}/storage/{storage}/content",
        { node, storage },
        { content: args.content, vmid },
      ),
    ]);
    if (infoResult.status === "rejected") {
      const err: unknown = infoResult.reason;
      if (err instanceof PveApiError && err.status === 400) {
        throw new Error(
          `Storage ${storage} is not configured on node ${node}: use get_storage to see where it is.`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    const info = infoResult.value.find((s) => s.storage === storage);
    if (!info) {
      throw new Error(
        `Storage ${storage} is not visible on ${node}: it does not exist there, or this token lacks Datastore.Audit on /storage/${storage}.`,
      );
    }
    if (info.enabled === 0) throw new Error(`Storage ${storage} is disabled on ${node}.`);
    if (contentResult.status === "rejected") {
      const err: unknown = contentResult.reason;
      if (err instanceof PveApiError && err.status === 500 && info.active === 0) {
        throw new Error(
          `Storage ${storage} is not active on ${node} (unreachable or not mounted): ${cleanText(err.pveMessage, 200)}`,
          { cause: err },
        );
      }
      throw err;
    }
    const contentTypes = info.content.split(",").filter(Boolean).sort();
    const shown = args.content ? contentTypes.filter((t) => t === args.content) : contentTypes;
    const all = contentResult.value
      .map((v) => ({
        volid: cleanText(v.volid, 255),
        content: v.content,
        ...(v.format !== undefined ? { format: v.format } : {}),
        ...(v.size !== undefined ? { size: v.size } : {}),
        ...(v.vmid !== undefined && v.vmid !== "" ? { vmid: Number(v.vmid) } : {}),
        ...(v.ctime !== undefined ? { ctime: isoTime(v.ctime) } : {}),
        ...(v.notes ? { notes: cleanText(v.notes, 200) } : {}),
        ...(v.protected !== undefined ? { protected: Boolean(v.protected) } : {}),
        ...(v.used !== undefined ? { used: v.used } : {}),
        ...(v.parent ? { parent: cleanText(v.parent, 255) } : {}),
        ...(v.verification?.state ? { verification: cleanText(v.verification.state, 20) } : {}),
      }))
      // Backups newest first, then by volume id.
      .sort(
        (a, b) =>
          a.content.localeCompare(b.content) ||
          (b.ctime ?? "").localeCompare(a.ctime ?? "") ||
          a.volid.localeCompare(b.volid),
      );
    const byContent: Record<string, { count: number; size: number }> = {};
    let totalSize = 0;
    for (const v of all) {
      const c = (byContent[v.content] ??= { count: 0, size: 0 });
      c.count++;
      c.size += v.size ?? 0;
      totalSize += v.size ?? 0;
    }
    const page = paginate(all, args.limit, args.offset, "volume");
    contentGaps(ctx.read, storage, node, shown, perms, vmid);
    const gaps = ctx.read.gaps;
    const usage =
      info.total && info.used !== undefined
        ? { used: info.used, total: info.total, usedFraction: info.used / info.total }
        : null;
    const pct = usage ? Math.round(usage.usedFraction * 100) : 0;
    const head =
      `${storage}@${node} (${info.type}${info.shared ? ", shared" : ""}, content ${contentTypes.join(",")})` +
      (usage
        ? `: ${gib(usage.used)}/${gib(usage.total)} GiB used (${pct}%)${usage.usedFraction >= 0.9 ? " NEARLY FULL" : ""}`
        : info.active === 0
          ? ": inactive"
          : "");
    const summary = Object.entries(byContent)
      .map(([c, s]) => `${c} ${s.count} (${gib(s.size)} GiB)`)
      .join(", ");
    const lines = page.items.map(
      (v) =>
        `${v.content} ${v.volid} ${v.format ?? "?"} ${v.size === undefined ? "?" : `${gib(v.size)}GiB`}` +
        `${v.vmid !== undefined ? ` vmid ${v.vmid}` : ""}${v.ctime ? ` ${v.ctime.slice(0, 10)}` : ""}` +
        `${v.protected ? " protected" : ""}${v.verification ? ` verify:${v.verification}` : ""}` +
        `${v.parent ? ` parent:${v.parent}` : ""}${v.notes ? ` notes:${JSON.stringify(v.notes)}` : ""}`,
    );
    const filtered = args.content !== undefined || vmid !== undefined;
    const countLine =
      all.length === 0
        ? `no volume ${filtered ? "matches" : "listed"}${gaps.length ? " (see NOT VISIBLE below: this does not mean the storage is empty)" : ""}`
        : `${page.header}; ${summary}`;
    return {
      text: [head, countLine, ...lines, gapText(gaps)].filter(Boolean).join("\n"),
      structured: {
        storage,
        node,
        type: info.type,
        shared: info.shared === 1,
        contentTypes,
        usage,
        ...page.meta,
        totalSize,
        byContent,
        volumes: page.items,
        gaps,
      },
    };
  },
});

export const storageTools = [getStorageContent];
