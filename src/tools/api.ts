/**
 * Toolset "api": proxmox_api_get, a GET of one of the curated audit endpoints through the
 * read-only client. The path is checked segment by segment against Proxmox's own list
 * of endpoints (parseApiPath), then against the allow-list (read-allowlist.ts: endpoints
 * that answer with credentials, fetch URLs, open consoles or prepare writes are refused,
 * saying why), and sent by PveReader.getPath, which checks it again and can only send GET.
 * The answer is cleaned, bounded and fenced as untrusted data (PVE answers carry
 * guest-written text); a 403 is a visibility gap naming the privilege.
 */
import { z } from "zod";
import { parseApiPath } from "../pve/api-path.js";
import { assertReadAllowed, READ_ALLOWED } from "../pve/read-allowlist.js";
import { defineTool, type AnyTool } from "./define.js";
import { cleanText, fence } from "../untrusted.js";
import { isRefusal, neededBy } from "../pve/model/visibility.js";
import { gapsField, gapText } from "./visibility.js";

const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_PARAMS = 50;
/** Longest answer kept, as compact JSON (the server caps the whole text at 20,000 characters). */
export const MAX_ANSWER_CHARS = 16_000;
/** Longest string value kept inside an answer. */
const MAX_STRING_CHARS = 4_000;
/** Deeper structures are cut (PVE's answers are a few levels deep; guest agent answers come from the guest). */
const MAX_DEPTH = 24;

/**
 * Endpoints whose answer PVE filters silently by privilege: the answer may be partial
 * even though PVE said 200. (pve-manager, pve-storage, pve-access-control handlers.)
 */
const FILTERED_BY: Record<string, string> = {
  "/cluster/resources":
    "guests need VM.Audit on /vms/<vmid>, storages Datastore.Audit on /storage/<id>, pools Pool.Audit; node stats need Sys.Audit on /nodes/<node>",
  "/nodes": "node stats need Sys.Audit on /nodes/<node>",
  "/nodes/{node}/qemu": "only guests with VM.Audit on /vms/<vmid>",
  "/nodes/{node}/lxc": "only guests with VM.Audit on /vms/<vmid>",
  "/nodes/{node}/storage/{storage}/content":
    "backup volumes need Datastore.AllocateSpace on the storage and VM.Backup on the guest; disk images need Datastore.Allocate",
  "/nodes/{node}/storage": "only storages with Datastore.Audit or Datastore.AllocateSpace on /storage/<id>",
  "/storage": "only storages with Datastore.Audit or Datastore.AllocateSpace on /storage/<id>",
  "/pools": "only pools with Pool.Audit on /pool/<id>",
  "/cluster/tasks": "other users' tasks need Sys.Audit on /",
  "/nodes/{node}/tasks": "other users' tasks need Sys.Audit on /nodes/<node>",
  "/access/users": "all users need Sys.Audit or User.Modify on /access/groups",
  "/access/acl":
    "all entries need Sys.Audit on /access (else only paths where the token may change permissions)",
  "/cluster/log": "all entries need Sys.Syslog on /",
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every string (keys too: guest agent answers come from the guest) cleaned and capped; depth capped. */
function cleanJson(value: unknown, depth = 0): Json {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string") return cleanText(value, MAX_STRING_CHARS, true);
  if (depth >= MAX_DEPTH) return "[nested too deep: cut]";
  if (Array.isArray(value)) return value.map((item) => cleanJson(item, depth + 1));
  if (typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) out[cleanText(key, 200)] = cleanJson(item, depth + 1);
    return out;
  }
  return null;
}

interface Bounded {
  data: Json;
  /** What was left out, or undefined when the answer is whole. */
  cut?: string;
}

/** The answer within MAX_ANSWER_CHARS of compact JSON: a prefix of a list, or of an object's keys. */
function bound(data: Json): Bounded {
  if (JSON.stringify(data).length <= MAX_ANSWER_CHARS) return { data };
  if (typeof data === "string") {
    return {
      data: cleanText(data, MAX_ANSWER_CHARS, true),
      cut: `text cut at ${MAX_ANSWER_CHARS} characters`,
    };
  }
  if (Array.isArray(data)) {
    const kept: Json[] = [];
    let size = 2;
    for (const item of data) {
      size += JSON.stringify(item).length + 1;
      if (size > MAX_ANSWER_CHARS) break;
      kept.push(item);
    }
    return { data: kept, cut: `${kept.length} of ${data.length} items shown` };
  }
  if (data !== null && typeof data === "object") {
    const kept: { [key: string]: Json } = {};
    const omitted: string[] = [];
    let size = 2;
    for (const [key, item] of Object.entries(data)) {
      const entry = JSON.stringify(key).length + JSON.stringify(item).length + 2;
      if (omitted.length === 0 && size + entry <= MAX_ANSWER_CHARS) {
        kept[key] = item;
        size += entry;
      } else omitted.push(key);
    }
    const names =
      omitted.slice(0, 20).join(", ") + (omitted.length > 20 ? `, +${omitted.length - 20} more` : "");
    return { data: kept, cut: `${omitted.length} key(s) left out: ${names}` };
  }
  return { data };
}

export const proxmoxApiGet = defineTool({
  name: "proxmox_api_get",
  title: "Raw Proxmox API GET (read-only)",
  description: `GET one of ${READ_ALLOWED.length} curated audit endpoints of the PVE API (read-only token), e.g. /nodes/pve1/qemu/100/pending; params in the query. Endpoints that return secrets, fetch URLs, open consoles or prepare writes are refused. Answer capped at 16k characters.`,
  toolset: "api",
  tier: "read",
  input: {
    path: z.string().min(1).max(1024).describe("API path below /api2/json, e.g. /cluster/ha/groups"),
    params: z
      .record(
        z.string().regex(PARAM_NAME, "parameter names are letters, digits, '_', '-' or '.'"),
        z.union([z.string().max(4096), z.number(), z.boolean()]),
      )
      .refine((params) => Object.keys(params).length <= MAX_PARAMS, `at most ${MAX_PARAMS} parameters`)
      .optional()
      .describe('query parameters, e.g. {type: "vm"}'),
  },
  output: {
    /** The path sent (below /api2/json), each segment percent-encoded. */
    path: z.string(),
    /** The endpoint's template in PVE's API schema. */
    endpoint: z.string(),
    /** PVE's `data`, cleaned and bounded; absent when the token may not read it (see gaps). */
    data: z.unknown().optional(),
    truncated: z.boolean(),
    /** What was left out when truncated. */
    cut: z.string().optional(),
    /** For endpoints PVE filters by privilege: what a fuller token would also see. */
    filteredBy: z.string().optional(),
    gaps: gapsField,
  },
  needs: [],
  checkArgs(args) {
    assertReadAllowed(parseApiPath("GET", args.path).template, Object.keys(args.params ?? {}));
  },
  async handle(args, ctx) {
    const { path, template } = parseApiPath("GET", args.path);
    assertReadAllowed(template, Object.keys(args.params ?? {}));
    const request = `GET /api2/json${path}`;
    const filteredBy = FILTERED_BY[template];
    let answer: unknown;
    try {
      answer = await ctx.read.getPath<unknown>(path, args.params ?? {});
    } catch (err) {
      if (!isRefusal(err)) throw err;
      ctx.read.gap(
        `GET ${path}`,
        neededBy(err) ?? `a privilege this token lacks (PVE: ${cleanText(err.pveMessage, 200)})`,
      );
      const gaps = ctx.read.gaps;
      return {
        text: `${request}: refused (403)\n${gapText(gaps)}`,
        structured: { path, endpoint: template, truncated: false, gaps },
      };
    }
    const { data, cut } = bound(cleanJson(answer));
    const head = [
      `${request}: OK (endpoint ${template})`,
      ...(cut ? [`TRUNCATED: ${cut}; narrow the request with params, or use a dedicated tool`] : []),
      ...(filteredBy ? [`NOTE: PVE filters this answer by privilege: ${filteredBy}`] : []),
    ];
    return {
      text: `${head.join("\n")}\n${fence("api answer", JSON.stringify(data), "Proxmox (may include guest-written text)")}`,
      structured: {
        path,
        endpoint: template,
        data,
        truncated: cut !== undefined,
        ...(cut ? { cut } : {}),
        ...(filteredBy ? { filteredBy } : {}),
        gaps: ctx.read.gaps,
      },
    };
  },
});

export const apiTools = [proxmoxApiGet] as const satisfies readonly AnyTool[];
