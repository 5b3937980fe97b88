/**
 * proxmox_api: one request of any method to a known PVE API endpoint with the admin
 * token. The path is checked segment by segment against Proxmox's own list of
 * endpoints before anything is sent; parameters go in the query (GET, DELETE) or
 * the form body (POST, PUT).
 */
import { z } from "zod";
import { parseApiPath } from "../../pve/admin.js";
import { isSecretKey, REDACTED } from "../../redact.js";
import { describeSshPublicKeys, isPublicKeyField } from "../../ssh/public-keys.js";
import { defineTool } from "../define.js";
import { cleanText, exactly, fence } from "../../untrusted.js";

const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const paramValue = z.union([
  z.string().max(16_384),
  z.number(),
  z.boolean(),
  z.array(z.string().max(4096)).max(64),
]);
const UPID_ANSWER = /^UPID:[^\s]+:$/;
/** Longest answer text kept (the server caps the whole text at 20,000 characters anyway). */
const MAX_ANSWER_CHARS = 16_000;

/**
 * A parameter as the person sees it: exactly, unless its name says it is a secret; SSH
 * public keys (who may log in) as type, fingerprint and comment.
 */
function shownParam(name: string, value: z.infer<typeof paramValue>): string {
  if (isPublicKeyField(name)) return `${name}=[${describeSshPublicKeys(value).join("; ")}]`;
  if (isSecretKey(name)) return `${name}=${REDACTED}`;
  if (Array.isArray(value)) return `${name}=[${value.map(exactly).join(", ")}]`;
  return `${name}=${typeof value === "string" ? exactly(value) : String(value)}`;
}

/**
 * Answers that carry credentials PVE shows once: a new token's secret (`value`), a
 * login ticket and its CSRF token. They never reach the model.
 */
function withoutCredentials(template: string, data: unknown): unknown {
  if (!data || typeof data !== "object" || Array.isArray(data)) return data;
  const masked: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  if (template.startsWith("/access/users/{userid}/token/") && "value" in masked) masked["value"] = REDACTED;
  for (const key of ["ticket", "CSRFPreventionToken"]) if (key in masked) masked[key] = REDACTED;
  return masked;
}

export const proxmoxApi = defineTool({
  name: "proxmox_api",
  title: "Raw Proxmox API call (admin token)",
  description:
    "One request to any Proxmox VE API endpoint (GET, POST, PUT, DELETE) with the admin token, e.g. path /nodes/pve1/qemu/100/config. The path must be a real endpoint; params go in the query or form body. dry_run=true shows the request without sending it.",
  toolset: "dangerous",
  tier: "dangerous",
  input: {
    method: z.enum(METHODS),
    path: z.string().min(1).max(1024),
    params: z
      .record(
        z.string().regex(PARAM_NAME, "parameter names are letters, digits, '_', '-' or '.'"),
        paramValue,
      )
      .refine((params) => Object.keys(params).length <= 100, "at most 100 parameters")
      .optional(),
    dry_run: z.boolean().default(false),
  },
  output: {
    method: z.enum(METHODS),
    path: z.string(),
    endpoint: z.string(),
    dryRun: z.boolean(),
    data: z.unknown().optional(),
  },
  needs: [],
  async handle(args, ctx) {
    const { path, template } = parseApiPath(args.method, args.path);
    const params = args.params ?? {};
    const inQuery = args.method === "GET" || args.method === "DELETE";
    const request = `${args.method} /api2/json${path}`;
    const shownParams = Object.entries(params)
      .map(([name, value]) => shownParam(name, value))
      .join(", ");
    const what = `${request}${shownParams ? ` with ${shownParams}` : ""}`;
    const base = { method: args.method, path, endpoint: template };
    if (args.dry_run) {
      return {
        text: `dry run: would send ${what} (endpoint ${args.method} ${template}) with the admin token ${ctx.dangerous.adminTokenId}; nothing was sent.`,
        structured: { ...base, dryRun: true },
      };
    }
    await ctx.confirm(`send ${what} with the admin token ${ctx.dangerous.adminTokenId}`);
    const answer = await ctx.admin.requestPath<unknown>(args.method, path, {
      ...(inQuery ? { query: params } : { body: params }),
      signal: ctx.signal,
    });
    if (typeof answer === "string" && UPID_ANSWER.test(answer)) ctx.recordEffect({ upid: answer });
    const data = withoutCredentials(template, answer);
    const json = cleanText(JSON.stringify(data, null, 1) ?? "null", MAX_ANSWER_CHARS, true);
    return {
      text: `${request}: OK\n${fence("api answer", json, "Proxmox (may include guest-written text)")}`,
      structured: { ...base, dryRun: false, data },
    };
  },
});
