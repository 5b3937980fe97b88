/**
 * What the tokens may do, asked of Proxmox (GET /access/permissions) before any tool
 * runs. The read token must be read-only: the server refuses to run if it holds any
 * privilege that can change something, unless the operator allowed it explicitly.
 * Tools whose privileges a token lacks (or whose setup is missing) are hidden from
 * tools/list, with the reason kept for get_version. If Proxmox cannot be reached, a
 * check is retried before every tool call until it passes.
 *
 * A grant can come later: while serving, the read token is asked again at most every
 * READ_TOKEN_RECHECK_MS, and reads are refused for as long as it can change things.
 */
import type { Config } from "./config/types.js";
import { explainError } from "./explain-error.js";
import type { PveAdmin } from "./pve/admin.js";
import type { PbsReader } from "./pbs/client.js";
import { beyondAudit } from "./pbs/privileges.js";
import type { PveReader } from "./pve/client.js";
import { READ_ONLY_PRIVILEGES } from "./pve/privileges.js";
import { readFactsOf, type AccessReport, type AnyTool } from "./tools/define.js";
import type { RunSource } from "./pve/model/reader.js";
import type { Permissions } from "./pve/model/visibility.js";
import { missingPrivileges } from "./tools/needs.js";

/**
 * How long a passed check of the read token holds before a read asks Proxmox again: one
 * GET per five minutes is nothing, and a privilege granted later works that long at most.
 */
export const READ_TOKEN_RECHECK_MS = 5 * 60_000;

/** Privileges no dangerous tool needs that let a token take over the cluster or its accounts. */
const CLUSTER_ADMIN_PRIVILEGES = ["Permissions.Modify", "User.Modify", "Realm.Allocate", "Sys.Modify"];

/** The proxmox-backup-manager lines for a PBS token that may only audit (README "Proxmox Backup Server"). */
export function pbsReadOnlyTokenFix(configuredTokenId: string): string {
  const user = configuredTokenId.split("!")[0] === "mcp@pbs" ? "mcp-audit@pbs" : "mcp@pbs";
  const token = `${user}!readonly`;
  return (
    `proxmox-backup-manager user create ${user} && proxmox-backup-manager user generate-token ${user} readonly && ` +
    `proxmox-backup-manager acl update / Audit --auth-id ${user} && ` +
    `proxmox-backup-manager acl update / Audit --auth-id '${token}' && ` +
    `proxmox-backup-manager acl update /remote RemoteAudit --auth-id ${user} && ` +
    `proxmox-backup-manager acl update /remote RemoteAudit --auth-id '${token}'`
  );
}

/** The read token can change things and the operator did not allow it. */
export class PrivilegedTokenError extends Error {}

/**
 * The pveum lines for a read-only token, as the README's setup gives them. Always for a
 * user of its own that holds nothing but PVEAuditor: a token of root@pam (which our own
 * audit flags) or of an administrator stays one ACL change away from writing again.
 */
export function readOnlyTokenFix(configuredTokenId: string): string {
  const user = configuredTokenId.split("!")[0] === "mcp@pve" ? "mcp-audit@pve" : "mcp@pve";
  return (
    `pveum user add ${user} && pveum acl modify / --users ${user} --roles PVEAuditor && ` +
    `pveum user token add ${user} readonly --privsep 1 && ` +
    `pveum acl modify / --tokens '${user}!readonly' --roles PVEAuditor`
  );
}

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
  /** Present only when PBS is configured (PBS_HOST). */
  pbs?: PbsReader;
  /** Present only in dangerous mode. */
  admin?: PveAdmin;
  config: Config;
  /** The inventory, to find the tools a token cannot use. */
  tools: readonly AnyTool[];
  /** Milliseconds on a clock that only moves forward (tests pass their own). */
  now?: () => number;
  /** Where a re-check while serving reports what it found: stderr unless given. */
  log?: (line: string) => void;
}

/** "path: privilege, ..." for each path where `permissions` holds more than read-only privileges. */
function writablePrivileges(permissions: Permissions): string[] {
  return Object.entries(permissions)
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
}

/** Root holds ~40 privileges on each of many paths: two paths in full keep a message readable. */
function firstPaths(extraPrivileges: readonly string[]): string {
  return (
    extraPrivileges.slice(0, 2).join("; ") +
    (extraPrivileges.length > 2 ? `; and ${extraPrivileges.length - 2} more paths` : "")
  );
}

export class TokenCheck {
  /** "path: privilege, ..." entries the read token holds beyond read-only ones (once checked). */
  extraPrivileges: string[] = [];
  private readonly hidden = new Map<string, string>();
  private readonly adminWarnings: string[] = [];
  private readonly listeners: (() => void)[] = [];
  private readonly read: OnceChecked;
  private readonly adminCheck: OnceChecked;
  private readonly pbsCheck: OnceChecked;
  /** One per process: cursor paging keys its snapshots on the reader's identity. */
  #checkedPbs: RunSource | undefined;
  /** The PBS token's check, as the read token's: when it last passed, the re-check in flight, a refusal that holds. */
  private pbsConfirmedAt = 0;
  private pbsRecheck: Promise<void> | undefined;
  private pbsGainedPrivileges: PrivilegedTokenError | undefined;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  /** When Proxmox last confirmed what the read token may do. */
  private confirmedAt = 0;
  /** The re-check in flight: calls that arrive together share one GET. */
  private recheck: Promise<void> | undefined;
  /** Set while the read token holds privileges it gained after start: every read is refused with it. */
  private gainedPrivileges: PrivilegedTokenError | undefined;
  /** A failed re-check is logged once, not on every call that retries it. */
  private recheckFailing = false;

  constructor(private readonly deps: TokenCheckDeps) {
    this.now = deps.now ?? (() => performance.now());
    this.log = deps.log ?? ((line) => process.stderr.write(`proxmox-mcp: ${line}\n`));
    this.read = new OnceChecked(() => this.checkReadToken());
    this.adminCheck = new OnceChecked(() => this.checkAdminToken());
    this.pbsCheck = new OnceChecked(() => this.checkPbsToken());
    for (const tool of deps.tools) {
      const reason = tool.unavailableWith?.(readFactsOf(deps.config));
      if (reason) this.hidden.set(tool.name, reason);
    }
  }

  /**
   * Resolves once the read token passed, and while it is still read-only: once the last
   * confirmation is READ_TOKEN_RECHECK_MS old (or reads are refused), Proxmox is asked again.
   */
  async ensure(): Promise<void> {
    await this.read.ensure();
    if (this.gainedPrivileges || this.now() - this.confirmedAt >= READ_TOKEN_RECHECK_MS) {
      this.recheck ??= this.recheckReadToken().finally(() => {
        this.recheck = undefined;
      });
      await this.recheck;
    }
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

  /**
   * Resolves once the PBS token passed its own check (pbs tools and the PBS part of an
   * audit wait for this); PVE's tools do not wait for PBS.
   */
  async ensurePbs(): Promise<void> {
    await this.pbsCheck.ensure();
    const tokenId = this.deps.config.pbs?.tokenId;
    if (!tokenId) return;
    if (this.pbsGainedPrivileges || this.now() - this.pbsConfirmedAt >= READ_TOKEN_RECHECK_MS) {
      this.pbsRecheck ??= this.recheckPbsToken(tokenId).finally(() => {
        this.pbsRecheck = undefined;
      });
      await this.pbsRecheck;
    }
  }

  /**
   * PBS as tools and the audit read it: no request before the PBS token passed its check,
   * so a token that can write never gets to read, whichever tool asks (security_audit too).
   */
  checkedPbs(): RunSource | undefined {
    const { pbs } = this.deps;
    if (!pbs) return undefined;
    this.#checkedPbs ??= {
      get: async (template, params, options) => {
        await this.ensurePbs();
        return pbs.get(template, params, options);
      },
      getWithTotal: async (template, params, options) => {
        await this.ensurePbs();
        return pbs.getWithTotal(template, params, options);
      },
    };
    return this.#checkedPbs;
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
    const askedAt = this.now();
    const permissions = await pve.get<Permissions>("/access/permissions");
    this.extraPrivileges = writablePrivileges(permissions);
    if (this.extraPrivileges.length > 0 && !config.allowPrivilegedToken) {
      throw new PrivilegedTokenError(
        `the read token ${config.tokenId} can change things (${firstPaths(this.extraPrivileges)}); refusing to start. ` +
          `Make a read-only token of a user of its own: ${readOnlyTokenFix(config.tokenId)} ` +
          `(or set PROXMOX_ALLOW_PRIVILEGED_TOKEN=true to run anyway).`,
      );
    }
    this.confirmedAt = askedAt;
    this.hideLacking("read", permissions);
  }

  /**
   * The start-up rule again, while serving. Proxmox not answering does not stop reads that
   * were fine (the next call asks again), but reads once refused stay refused until
   * Proxmox confirms the privileges are gone.
   */
  private async recheckReadToken(): Promise<void> {
    const { pve, config } = this.deps;
    const askedAt = this.now();
    let permissions: Permissions;
    try {
      permissions = await pve.get<Permissions>("/access/permissions");
    } catch (err) {
      if (this.gainedPrivileges) throw this.gainedPrivileges;
      if (!this.recheckFailing) {
        this.log(
          `cannot re-check the read token's privileges (${explainError(err, config)}); reads go on, and the next call asks again`,
        );
      }
      this.recheckFailing = true;
      return;
    }
    this.recheckFailing = false;
    this.confirmedAt = askedAt;
    this.extraPrivileges = writablePrivileges(permissions);
    const refusedBefore = this.gainedPrivileges !== undefined;
    if (this.extraPrivileges.length > 0 && !config.allowPrivilegedToken) {
      this.gainedPrivileges = new PrivilegedTokenError(
        `the read token ${config.tokenId} gained privileges that can change things since start (${firstPaths(this.extraPrivileges)}); ` +
          `every read is refused until you remove them from the token, its user and their groups (Datacenter > Permissions); ` +
          `to serve reads anyway, restart with PROXMOX_ALLOW_PRIVILEGED_TOKEN=true`,
      );
      if (!refusedBefore) this.log(this.gainedPrivileges.message);
      throw this.gainedPrivileges;
    }
    if (refusedBefore) {
      this.gainedPrivileges = undefined;
      this.log(`the read token ${config.tokenId} is read-only again; reads resume`);
    }
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

  /**
   * The PBS token may hold audit privileges only: anything that can write, delete, start a
   * job or read a backup's contents refuses the start, whatever PROXMOX_ALLOW_PRIVILEGED_TOKEN
   * says (that switch is about the PVE token; PBS has no tool that would need more).
   */
  private async checkPbsToken(): Promise<void> {
    const tokenId = this.deps.config.pbs?.tokenId;
    if (!tokenId) return;
    const askedAt = this.now();
    const extra = await this.pbsPrivilegesBeyondAudit(tokenId);
    if (extra.length > 0) {
      throw new PrivilegedTokenError(
        `the PBS token ${tokenId} can do more than audit (${firstPaths(extra)}); refusing to start. ` +
          `Make a token that may only audit: ${pbsReadOnlyTokenFix(tokenId)}`,
      );
    }
    this.pbsConfirmedAt = askedAt;
  }

  /** The PBS start-up rule again while serving, as for the PVE read token (recheckReadToken). */
  private async recheckPbsToken(tokenId: string): Promise<void> {
    const askedAt = this.now();
    let extra: string[];
    try {
      extra = await this.pbsPrivilegesBeyondAudit(tokenId);
    } catch (err) {
      if (this.pbsGainedPrivileges) throw this.pbsGainedPrivileges;
      this.log(`${(err as Error).message}; PBS reads go on, and the next call asks again`);
      return;
    }
    this.pbsConfirmedAt = askedAt;
    const refusedBefore = this.pbsGainedPrivileges !== undefined;
    if (extra.length > 0) {
      this.pbsGainedPrivileges = new PrivilegedTokenError(
        `the PBS token ${tokenId} gained privileges beyond audit since start (${firstPaths(extra)}); every PBS read is ` +
          `refused until you remove them from the token and its user: ${pbsReadOnlyTokenFix(tokenId)}`,
      );
      if (!refusedBefore) this.log(this.pbsGainedPrivileges.message);
      throw this.pbsGainedPrivileges;
    }
    if (refusedBefore) {
      this.pbsGainedPrivileges = undefined;
      this.log(`the PBS token ${tokenId} may only audit again; PBS reads resume`);
    }
  }

  /** "path: privilege, ..." entries the PBS token holds beyond audit (GET /access/permissions on PBS). */
  private async pbsPrivilegesBeyondAudit(tokenId: string): Promise<string[]> {
    const { pbs, config } = this.deps;
    if (!pbs) return [];
    try {
      return beyondAudit(await pbs.get<Record<string, Record<string, unknown>>>("/access/permissions"));
    } catch (err) {
      throw new Error(`cannot check the PBS token ${tokenId}: ${explainError(err, config)}`, { cause: err });
    }
  }

  private hideLacking(tier: "read" | "dangerous", permissions: Permissions): void {
    const token = tier === "read" ? "read token" : "admin token";
    for (const tool of this.deps.tools) {
      // PVE's permissions say nothing of what the PBS token may do.
      if (tool.tier !== tier || this.hidden.has(tool.name) || tool.toolset === "pbs") continue;
      const missing = missingPrivileges(tool.needs, permissions);
      if (missing.length > 0) this.hidden.set(tool.name, `the ${token} lacks ${missing.join("; ")}`);
    }
    for (const listener of this.listeners) listener();
  }
}
