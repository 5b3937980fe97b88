/**
 * Turns any failure of a tool call into one or two lines a person (or a model) can
 * act on: what went wrong, where, and how to fix it. Never includes a secret.
 */
import type { Config } from "./config/types.js";
import { PveApiError, PveInputError, PveTransportError } from "./pve/errors.js";
import { BUILTIN_ROLES } from "./pve/privileges.js";

const AUDITOR_PRIVILEGES = new Set(BUILTIN_ROLES[9]["PVEAuditor"]);

export function explainError(err: unknown, config: Config): string {
  // The client's own messages already say what failed, where, and how to fix it.
  if (err instanceof PveInputError || err instanceof PveTransportError) return err.message;
  if (err instanceof PveApiError) return explainApiError(err, config);
  return err instanceof Error ? err.message : String(err);
}

function explainApiError(err: PveApiError, config: Config): string {
  const where = `${err.method} ${err.path}`;
  if (err.status === 401) {
    return `Proxmox refused the token ${config.tokenId} (401): the secret is wrong, or the token or its user is expired or disabled. Check PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (Datacenter > Permissions > API Tokens).`;
  }
  if (err.status === 403) {
    const m = /^Permission check failed \(([^,]+), ([^)]+)\)/.exec(err.pveMessage);
    if (!m) return `Permission denied for ${where}: ${err.pveMessage}.`;
    const [, path, privs] = m;
    const wanted = (privs ?? "").split("|");
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
    return `Node ${node ?? "?"} is offline or unreachable from the cluster (${err.status} ${err.pveMessage}); try again when it is back.`;
  }
  if (err.status === 400 && err.fieldErrors) {
    const fields = Object.entries(err.fieldErrors).map(([k, v]) => `${k}: ${v.trim()}`);
    return `Proxmox rejected the parameters of ${where}: ${fields.join("; ")}.`;
  }
  return `Proxmox error ${err.status} for ${where}: ${err.pveMessage}.`;
}
