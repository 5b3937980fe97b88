/**
 * Turns any failure of a tool call into one or two lines a person (or a model) can
 * act on: what went wrong, where, and how to fix it. Never includes a secret. What PVE
 * said is quoted apart from our words, and the whole answer is cleaned: errors carry
 * text from guests (agent errors), tasks and the server.
 */
import type { Config } from "./config/types.js";
import { PbsApiError } from "./pbs/errors.js";
import { PveApiError, PveInputError, PveTransportError } from "./pve/errors.js";
import { BUILTIN_ROLES } from "./pve/privileges.js";
import { cleanText, LIMITS, quoted } from "./untrusted.js";

const AUDITOR_PRIVILEGES = new Set(BUILTIN_ROLES[9]["PVEAuditor"]);

/** Which token made the failed request: the read token, or (dangerous tools) the admin token. */
export type TokenRole = "read" | "admin";

export function explainError(err: unknown, config: Config, token: TokenRole = "read"): string {
  return cleanText(explain(err, config, token), LIMITS.error, true);
}

/**
 * A tool call's failure. When Proxmox could not be reached or refused the token, the
 * settings are wrong rather than the call: `proxmox-mcp doctor` walks DNS, TCP, TLS and
 * the token one step at a time and prints the fix, so the answer points there.
 */
export function explainCallError(err: unknown, config: Config, token: TokenRole = "read"): string {
  const message = explainError(err, config, token);
  const settingsAtFault =
    err instanceof PveTransportError || (err instanceof PveApiError && err.status === 401);
  return settingsAtFault ? `${message} ${DOCTOR_HINT}` : message;
}

export const DOCTOR_HINT =
  "To check the connection step by step, run `proxmox-mcp doctor` with the same settings.";

function explain(err: unknown, config: Config, token: TokenRole): string {
  // The client's own messages already say what failed, where, and how to fix it.
  if (err instanceof PveInputError || err instanceof PveTransportError) return err.message;
  if (err instanceof PbsApiError) return explainPbsApiError(err, config);
  if (err instanceof PveApiError) {
    return token === "admin" && config.dangerous
      ? explainAdminApiError(err, config.dangerous.adminTokenId)
      : explainApiError(err, config);
  }
  return err instanceof Error ? err.message : String(err);
}

/** "Permission check failed (/vms/100, VM.PowerMgmt)" -> the path and the privileges, any of which would do. */
function permissionCheck(pveMessage: string): { path: string; wanted: string[] } | undefined {
  const m = /^Permission check failed \(([^,]+), ([^)]+)\)/.exec(pveMessage);
  return m ? { path: m[1] ?? "", wanted: (m[2] ?? "").split("|") } : undefined;
}

/** PBS's answers: its 403 texts name no role, so the fix is the auditor's roles on the path PBS names. */
function explainPbsApiError(err: PbsApiError, config: Config): string {
  const where = `${err.method} ${err.path}`;
  const tokenId = config.pbs?.tokenId ?? "?";
  const said = `PBS said ${quoted(err.pveMessage, LIMITS.pveMessage)}`;
  if (err.status === 401) {
    return `Proxmox Backup Server refused the token ${tokenId} (401): the secret is wrong, or the token or its user is expired or disabled. Check PBS_TOKEN_ID and PBS_TOKEN_SECRET (Configuration > Access Control > API Token).`;
  }
  if (err.status === 403) {
    const user = tokenId.split("!")[0];
    // The Audit role holds Sys.Audit and Datastore.Audit; remotes need RemoteAudit besides.
    const [path, role] = /Remote\.Audit|\/remote/.test(err.pveMessage + err.path)
      ? ["/remote", "RemoteAudit"]
      : ["/", "Audit"];
    return (
      `The PBS token may not read ${where} (${said}). A PBS token gets its own ACL intersected with its user's: grant both ${role}, ` +
      `e.g. proxmox-backup-manager acl update ${path} ${role} --auth-id ${user} and proxmox-backup-manager acl update ${path} ${role} --auth-id '${tokenId}'`
    );
  }
  return `Proxmox Backup Server error ${err.status} for ${where}: ${said}.`;
}

function explainAdminApiError(err: PveApiError, adminTokenId: string): string {
  const where = `${err.method} ${err.path}`;
  if (err.status === 401) {
    return `Proxmox refused the admin token ${adminTokenId} (401): the secret is wrong, or the token or its user is expired or disabled. Check PROXMOX_ADMIN_TOKEN_ID and PROXMOX_ADMIN_TOKEN_SECRET.`;
  }
  const check = err.status === 403 ? permissionCheck(err.pveMessage) : undefined;
  if (check) {
    const user = adminTokenId.split("!")[0];
    return (
      `The admin token lacks ${check.wanted.join(" or ")} on ${check.path} (${where}). Grant a narrow role to the token and its user, e.g. ` +
      `pveum acl modify ${check.path} --users ${user} --tokens '${adminTokenId}' --roles PVEVMAdmin`
    );
  }
  return explainApiError(err, undefined);
}

function explainApiError(err: PveApiError, config: Config | undefined): string {
  const where = `${err.method} ${err.path}`;
  if (err.status === 401 && config) {
    return `Proxmox refused the token ${config.tokenId} (401): the secret is wrong, or the token or its user is expired or disabled. Check PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (Datacenter > Permissions > API Tokens).`;
  }
  if (err.status === 403 && config) {
    const check = permissionCheck(err.pveMessage);
    if (!check)
      return `Permission denied for ${where}: PVE said ${quoted(err.pveMessage, LIMITS.pveMessage)}.`;
    const { path, wanted } = check;
    if (wanted.some((p) => AUDITOR_PRIVILEGES.has(p))) {
      const user = config.tokenId.split("!")[0];
      return (
        `The token lacks ${wanted.join(" or ")} on ${path} (${where}). Grant read-only access to the token and its user ` +
        `(a privilege-separated token gets the intersection): pveum acl modify ${path} --users ${user} --tokens '${config.tokenId}' --roles PVEAuditor`
      );
    }
    return `This read needs ${wanted.join(" or ")} on ${path}, which the read-only PVEAuditor role does not include (${where}); it stays unavailable with a read-only token.`;
  }
  if (err.status === 595 || err.status === 596) {
    const node = /^\/nodes\/([^/]+)/.exec(err.path)?.[1];
    return `Node ${node ?? "?"} is offline or unreachable from the cluster (${err.status}, PVE said ${quoted(err.pveMessage, LIMITS.pveMessage)}); try again when it is back.`;
  }
  if (err.status === 400 && err.fieldErrors) {
    const fields = Object.entries(err.fieldErrors).map(
      ([k, v]) => `${k}: ${quoted(v.trim(), LIMITS.fieldError)}`,
    );
    return `Proxmox rejected the parameters of ${where}: ${fields.join("; ")}.`;
  }
  return `Proxmox error ${err.status} for ${where}: PVE said ${quoted(err.pveMessage, LIMITS.pveMessage)}.`;
}
