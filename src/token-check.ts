/**
 * What the tokens may do, asked of Proxmox (GET /access/permissions) before any tool
 * runs. The read token must be read-only: the server refuses to run if it holds any
 * privilege that can change something, unless the operator allowed it explicitly.
 * Tools whose privileges a token lacks (or whose setup is missing) are hidden from
 * tools/list, with the reason kept for get_version. If Proxmox cannot be reached, a
 * check is retried before every tool call until it passes.
 */
import type { Config } from "./config/types.js";
import { explainError } from "./explain-error.js";
import type { PveAdmin } from "./pve/admin.js";
import type { PveReader } from "./pve/client.js";
import type { AccessReport, AnyTool } from "./tools/define.js";
import { missingPrivileges, type Permissions } from "./tools/needs.js";

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

/** Privileges no dangerous tool needs that let a token take over the cluster or its accounts. */
const CLUSTER_ADMIN_PRIVILEGES = ["Permissions.Modify", "User.Modify", "Realm.Allocate", "Sys.Modify"];

/** The read token can change things and the operator did not allow it. */
export class PrivilegedTokenError extends Error {}

/** A check that, once passed, stays passed; a failure other than a refusal is retried on the next call. */
class OnceChecked {
  private passed: Promise<void> | undefined;
  constructor(private readonly run: () => Promise<void>) {}
  ensure(): Promise<void> {
    this.passed ??= this.run().catch((err: unknown) => {
      if (!(err instanceof PrivilegedTokenError)) this.passed = undefined;
      throw err;
    });
    return this.passed;
  }
}

export interface TokenCheckDeps {
  pve: PveReader;
  /** Present only in dangerous mode. */
  admin?: PveAdmin;
  config: Config;
  /** The inventory, to find the tools a token cannot use. */
  tools: readonly AnyTool[];
}

export class TokenCheck {
  /** "path: privilege, ..." entries the read token holds beyond read-only ones (once checked). */
  extraPrivileges: string[] = [];
  private readonly hidden = new Map<string, string>();
  private readonly adminWarnings: string[] = [];
  private readonly listeners: (() => void)[] = [];
  private readonly read: OnceChecked;
  private readonly adminCheck: OnceChecked;

  constructor(private readonly deps: TokenCheckDeps) {
    this.read = new OnceChecked(() => this.checkReadToken());
    this.adminCheck = new OnceChecked(() => this.checkAdminToken());
    for (const tool of deps.tools) {
      const reason = tool.unavailableWith?.(deps.config);
      if (reason) this.hidden.set(tool.name, reason);
    }
  }

  /** Resolves once the read token passed. */
  ensure(): Promise<void> {
    return this.read.ensure();
  }

  /** Resolves once both tokens were checked (dangerous tools wait for this). */
  async ensureAdmin(): Promise<void> {
    await this.read.ensure();
    await this.adminCheck.ensure();
  }

  /** Both checks, as at start-up. */
  ensureAll(): Promise<void> {
    return this.deps.admin ? this.ensureAdmin() : this.ensure();
  }

  /** Why `name` is left out of tools/list, or undefined when it is offered. */
  hiddenReason(name: string): string | undefined {
    return this.hidden.get(name);
  }

  /** Tools to leave out of tools/list, and why. */
  get hiddenTools(): { name: string; reason: string }[] {
    return [...this.hidden].map(([name, reason]) => ({ name, reason }));
  }

  get report(): AccessReport {
    return {
      readExtraPrivileges: [...this.extraPrivileges],
      hiddenTools: this.hiddenTools,
      adminWarnings: [...this.adminWarnings],
    };
  }

  /**
   * Called after each check that may have hidden tools (the server then updates tools/list).
   * Returns the unsubscribe: over HTTP, each session's server listens while it is open.
   */
  onChange(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  private async checkReadToken(): Promise<void> {
    const { pve, config } = this.deps;
    const permissions = await pve.get<Permissions>("/access/permissions");
    this.extraPrivileges = Object.entries(permissions)
      .map(
        ([path, held]) =>
          [
            path,
            Object.keys(held)
              .filter((p) => !READ_ONLY_PRIVILEGES.has(p))
              .sort(),
          ] as const,
      )
      .filter(([, extra]) => extra.length > 0)
      .map(([path, extra]) => `${path}: ${extra.join(", ")}`);
    if (this.extraPrivileges.length > 0 && !config.allowPrivilegedToken) {
      const user = config.tokenId.split("!")[0];
      // Root holds ~40 privileges on each of many paths: two paths in full keep it readable.
      const shown =
        this.extraPrivileges.slice(0, 2).join("; ") +
        (this.extraPrivileges.length > 2 ? `; and ${this.extraPrivileges.length - 2} more paths` : "");
      throw new PrivilegedTokenError(
        `the read token ${config.tokenId} can change things (${shown}); refusing to start. ` +
          `Use a PVEAuditor token: pveum user token add ${user} readonly --privsep 1 && ` +
          `pveum acl modify / --users ${user} --tokens '${user}!readonly' --roles PVEAuditor ` +
          `(or set PROXMOX_ALLOW_PRIVILEGED_TOKEN=true to run anyway).`,
      );
    }
    this.hideLacking("read", permissions);
  }

  private async checkAdminToken(): Promise<void> {
    const { admin, config } = this.deps;
    if (!admin || !config.dangerous) return;
    let permissions: Permissions;
    try {
      permissions = await admin.request<Permissions>("GET", "/access/permissions");
    } catch (err) {
      throw new Error(explainError(err, config, "admin"), { cause: err });
    }
    this.adminWarnings.length = 0;
    const broad = CLUSTER_ADMIN_PRIVILEGES.filter((privilege) =>
      Object.values(permissions).some((held) => Object.hasOwn(held, privilege)),
    );
    if (broad.length > 0) {
      const paths = Object.keys(permissions).filter((path) =>
        broad.some((privilege) => Object.hasOwn(permissions[path]!, privilege)),
      );
      const where =
        paths.length > 3
          ? `${paths.slice(0, 3).join(", ")} and ${paths.length - 3} more paths`
          : paths.join(", ");
      this.adminWarnings.push(
        `the admin token ${config.dangerous.adminTokenId} holds ${broad.join(", ")} (on ${where}), which no tool here needs; ` +
          `a token with PVEVMAdmin on /vms is enough`,
      );
    }
    this.hideLacking("dangerous", permissions);
  }

  private hideLacking(tier: "read" | "dangerous", permissions: Permissions): void {
    const token = tier === "read" ? "read token" : "admin token";
    for (const tool of this.deps.tools) {
      if (tool.tier !== tier || this.hidden.has(tool.name)) continue;
      const missing = missingPrivileges(tool.needs, permissions);
      if (missing.length > 0) this.hidden.set(tool.name, `the ${token} lacks ${missing.join("; ")}`);
    }
    for (const listener of this.listeners) listener();
  }
}
