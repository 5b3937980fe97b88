/**
 * One simulated API method: its key ("GET /nodes/{node}/status") and a handler.
 * Parameters, permissions, proxyto and allowtoken come from Proxmox's own schema
 * (api-schema.ts, generated), so a route only says what the method answers.
 */
import type { Cluster } from "../cluster.js";

export interface RouteContext {
  cluster: Cluster;
  /** Validated parameters (URI + query/body); integers and booleans are numbers. */
  params: Record<string, unknown>;
  /** The caller: `user@realm` or `user@realm!token`. */
  authid: string;
  /** The user behind the caller (the token's owner for a token). */
  userid: string;
  isToken: boolean;
  /** Adds `"total": N` to the response, as PVE's set_result_attrib does. */
  setTotal(total: number): void;
}

export type Handler = (ctx: RouteContext) => unknown;

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  key: string;
  pattern: RegExp;
  paramNames: string[];
  handler: Handler;
}

export function route(key: string, handler: Handler): Route {
  const [method, path] = key.split(" ") as [Route["method"], string];
  const paramNames: string[] = [];
  // A path variable is one segment of non-blank characters, like RESTHandler's \S+ match.
  const source = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    paramNames.push(name);
    return "([^/\\s]+)";
  });
  return { method, path, key, pattern: new RegExp(`^${source}$`), paramNames, handler };
}

/** Typed accessors for validated parameters. */
export const param = {
  str: (ctx: RouteContext, name: string): string => String(ctx.params[name]),
  int: (ctx: RouteContext, name: string): number => Number(ctx.params[name]),
  optStr: (ctx: RouteContext, name: string): string | undefined =>
    ctx.params[name] === undefined ? undefined : String(ctx.params[name]),
  optInt: (ctx: RouteContext, name: string): number | undefined =>
    ctx.params[name] === undefined ? undefined : Number(ctx.params[name]),
  flag: (ctx: RouteContext, name: string): boolean => ctx.params[name] === 1,
};
