/**
 * The read token must be read-only: before serving, the server asks Proxmox what the
 * token may do (GET /access/permissions) and refuses to run if it holds any privilege
 * that can change something, unless the operator allowed it explicitly. If Proxmox
 * cannot be reached, the check is retried before every tool call until it passes.
 */
import type { Config } from "./config/types.js";
import type { PveReader } from "./pve/client.js";

/** Privileges that only let a token look (PVE 9 and PVE 8 names). */
export const READ_ONLY_PRIVILEGES = new Set([
  "VM.Audit",
  "VM.GuestAgent.Audit",
  "Sys.Audit",
  "Sys.Syslog",
  "Datastore.Audit",
  "SDN.Audit",
  "Pool.Audit",
  "Mapping.Audit",
]);

/** The read token can change things and the operator did not allow it. */
export class PrivilegedTokenError extends Error {}

export class TokenCheck {
  /** "path: privilege, ..." entries the token holds beyond read-only ones (once checked). */
  extraPrivileges: string[] = [];
  private passed: Promise<void> | undefined;

  constructor(
    private readonly pve: PveReader,
    private readonly config: Config,
  ) {}

  /** Resolves once the token passed; a failure to reach Proxmox is retried on the next call. */
  ensure(): Promise<void> {
    this.passed ??= this.run().catch((err: unknown) => {
      if (!(err instanceof PrivilegedTokenError)) this.passed = undefined;
      throw err;
    });
    return this.passed;
  }

  private async run(): Promise<void> {
    const permissions = await this.pve.get<Record<string, Record<string, number>>>("/access/permissions");
    this.extraPrivileges = Object.entries(permissions)
      .map(
        ([path, privileges]) =>
          [
            path,
            Object.keys(privileges)
              .filter((p) => !READ_ONLY_PRIVILEGES.has(p))
              .sort(),
          ] as const,
      )
      .filter(([, extra]) => extra.length > 0)
      .map(([path, extra]) => `${path}: ${extra.join(", ")}`);
    if (this.extraPrivileges.length === 0 || this.config.allowPrivilegedToken) return;
    const user = this.config.tokenId.split("!")[0];
    const shown =
      this.extraPrivileges.slice(0, 5).join("; ") + (this.extraPrivileges.length > 5 ? "; ..." : "");
    throw new PrivilegedTokenError(
      `the read token ${this.config.tokenId} can change things (${shown}); refusing to start. ` +
        `Use a PVEAuditor token: pveum user token add ${user} readonly --privsep 1 && ` +
        `pveum acl modify / --users ${user} --tokens '${user}!readonly' --roles PVEAuditor ` +
        `(or set PROXMOX_ALLOW_PRIVILEGED_TOKEN=true to run anyway).`,
    );
  }
}
