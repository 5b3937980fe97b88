/**
 * Evaluation of an endpoint's `permissions` object, as RPCEnvironment's
 * `check_api2_permissions` / `exec_api2_perm_check` do it (pve-reference §3.3).
 */
import { normalizeAclPath, realmOf, type PermissionEngine } from "./acl.js";
import type { PermCheck, PermissionSpec } from "./api-types.js";
import { PveError } from "./errors.js";

export interface CheckContext {
  engine: PermissionEngine;
  /** The caller: `user@realm` or `user@realm!token`. */
  authid: string;
  /** URI parameters merged with request parameters, before validation. */
  params: Record<string, unknown>;
  userExists(userid: string): boolean;
  groupMembers(groupid: string): readonly string[];
  groupIds(): readonly string[];
}

/** 403 with PVE's text: `Permission check failed (<what>)`. */
export function permissionDenied(what?: string): PveError {
  return new PveError(403, `Permission check failed${what ? ` (${what})` : ""}\n`);
}

export function checkApiPermissions(spec: PermissionSpec | null, ctx: CheckContext): void {
  if (ctx.authid === "root@pam") return;
  if (!spec) throw permissionDenied("user != root@pam");
  if (spec.user === "all" || spec.user === "world") return;
  if (spec.check) {
    execCheck(spec.check, ctx, false);
    return;
  }
  throw permissionDenied();
}

/** Like `exec_api2_perm_check`: returns false only when `noerr`, else throws the 403. */
function execCheck(check: PermCheck, ctx: CheckContext, noerr: boolean): boolean {
  const [test, ...rest] = check;
  switch (test) {
    case "and":
      // Sub-checks of "and" always raise, even inside an "or" (as in PVE).
      for (const sub of rest) execCheck(sub as PermCheck, ctx, false);
      return true;
    case "or":
      for (const sub of rest) if (execCheck(sub as PermCheck, ctx, true)) return true;
      if (noerr) return false;
      throw permissionDenied();
    case "perm":
      return permCheck(rest, ctx, noerr);
    case "userid-group":
      return useridGroupCheck(rest, ctx, noerr);
    case "userid-param":
      return useridParamCheck(rest, ctx, noerr);
    default:
      throw new PveError(500, `unknown permission test '${String(test)}'\n`);
  }
}

function permCheck(args: unknown[], ctx: CheckContext, noerr: boolean): boolean {
  const [template, privs, ...optionList] = args as [string, string[], ...unknown[]];
  const options = new Map<string, unknown>();
  for (let i = 0; i + 1 < optionList.length; i += 2) options.set(String(optionList[i]), optionList[i + 1]);
  const requireParam = options.get("require_param");
  if (typeof requireParam === "string" && ctx.params[requireParam] === undefined) {
    if (noerr) return false;
    throw permissionDenied();
  }
  const path = normalizeAclPath(fillTemplate(template, ctx.params)) ?? "";
  const held = ctx.engine.permissions(ctx.authid, path);
  if (options.get("any")) {
    if (privs.some((p) => held.has(p))) return true;
    if (noerr) return false;
    throw permissionDenied(`${path}, ${privs.join("|")}`);
  }
  for (const priv of privs) {
    if (!held.has(priv)) {
      if (noerr) return false;
      throw permissionDenied(`${path}, ${priv}`);
    }
  }
  return true;
}

/** PVE::Tools::template_replace: `{var}` from the request parameters; Perl-false ones (missing, "", "0") become "-". */
export function fillTemplate(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = params[name];
    const text = v === undefined || v === null ? "" : String(v);
    return text === "" || text === "0" ? "-" : text;
  });
}

function useridGroupCheck(args: unknown[], ctx: CheckContext, noerr: boolean): boolean {
  const privs = args[0] as string[];
  const userid = String(ctx.params["userid"] ?? "");
  if (!ctx.userExists(userid)) {
    if (noerr) return false;
    throw new PveError(500, `no such user ('${userid}')\n`);
  }
  if (ctx.engine.hasAny(ctx.authid, "/access/groups", privs)) return true;
  const allowed = new Set(
    ctx
      .groupIds()
      .filter((g) => ctx.engine.hasAny(ctx.authid, `/access/groups/${g}`, privs))
      .flatMap((g) => ctx.groupMembers(g)),
  );
  if (allowed.has(userid)) return true;
  if (noerr) return false;
  throw permissionDenied();
}

function useridParamCheck(args: unknown[], ctx: CheckContext, noerr: boolean): boolean {
  const userid = String(ctx.params["userid"] ?? "");
  const subtest = args[0];
  if (subtest === "self") {
    if (!ctx.userExists(userid)) {
      if (noerr) return false;
      throw new PveError(500, `no such user ('${userid}')\n`);
    }
    if (ctx.authid === userid) return true;
    if (noerr) return false;
    throw permissionDenied();
  }
  const path = `/access/realm/${realmOf(userid)}`;
  if (ctx.engine.has(ctx.authid, path, "Realm.AllocateUser")) return true;
  if (noerr) return false;
  throw permissionDenied(`${path}, Realm.AllocateUser`);
}
