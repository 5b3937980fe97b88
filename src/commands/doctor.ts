/**
 * `proxmox-mcp doctor`: walks the chain from the configuration to the tools, one line
 * per step (✓ passed, ✗ failed, ! works but should be fixed, - skipped), each failure
 * with its fix. A step that makes the next ones meaningless stops the walk (no TCP
 * connection: no TLS to check). With PBS_HOST set, the same walk follows for the Proxmox
 * Backup Server (its own DNS, TCP, TLS, token and privileges, and the pbs toolset), also
 * when PVE's failed: the two are independent. Exit 0 when nothing failed, 1 otherwise.
 */
import { lookup } from "node:dns/promises";
import { connect as tcpConnect, isIP } from "node:net";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/load.js";
import type { Config, PbsConfig, TlsMode } from "../config/types.js";
import { explainError } from "../explain-error.js";
import { PbsReader } from "../pbs/client.js";
import { beyondAudit, PBS_AUDIT_PRIVILEGES } from "../pbs/privileges.js";
import { PBS_NEEDS, pbsHolds, pbsHoldsBelow, type PbsPermissions } from "../pbs/model/index.js";
import { adminClientOf } from "../pve/admin.js";
import { PveReader, type GetOptions } from "../pve/client.js";
import { pbsReadOnlyTokenFix, PrivilegedTokenError, readOnlyTokenFix, TokenCheck } from "../token-check.js";
import { readFactsOf, type AnyTool } from "../tools/define.js";
import { ALL_TOOLS } from "../tools/inventory.js";
import { isToolsetOn, TOOLSETS, type ToolsetId } from "../tools/toolsets.js";
import { processIo, setUp, useColor, type CommandIo, type CommandSetup } from "./setup.js";
import { terminalIo } from "./terminal.js";

export const DOCTOR_USAGE = `Usage: proxmox-mcp doctor [--demo]

Checks what the server needs, step by step: the configuration, DNS, TCP, TLS (prints
the certificate's fingerprint to pin), the token, its privileges, which tools it can
use and, in dangerous mode, the admin token. With PBS_HOST set, the same for the
Proxmox Backup Server: DNS, TCP, TLS (the PBS_TLS_FINGERPRINT to pin), the PBS token,
that it may only audit, and the pbs tools. Each failure comes with its fix.
  --demo   check the built-in simulated cluster and Proxmox Backup Server
Exit code: 0 nothing failed, 1 something failed.`;

/** How long DNS, the TCP connection and the TLS handshake may each take. */
export const NETWORK_STEP_TIMEOUT_MS = 5000;

type Mark = "ok" | "fail" | "warn" | "skip";
const SYMBOLS: Record<Mark, string> = { ok: "✓", fail: "✗", warn: "!", skip: "-" };
const COLORS: Record<Mark, string> = { ok: "\x1b[32m", fail: "\x1b[31m", warn: "\x1b[33m", skip: "\x1b[2m" };
const RESET = "\x1b[0m";
/** The only escape sequences doctor writes; the terminal gets no other. */
export const DOCTOR_STYLES: readonly string[] = [...Object.values(COLORS), RESET];

class Steps {
  failures = 0;
  constructor(
    private readonly io: CommandIo,
    private readonly color: boolean,
  ) {}

  /** One step's line; `more` lines (details, "fix: ...") are indented below it. */
  line(mark: Mark, step: string, text: string, more: string[] = []): void {
    if (mark === "fail") this.failures++;
    const symbol = this.color ? `${COLORS[mark]}${SYMBOLS[mark]}${RESET}` : SYMBOLS[mark];
    this.io.stdout.write(`${symbol} ${step}: ${text}\n${more.map((m) => `    ${m}\n`).join("")}`);
  }
}

export async function runDoctorCommand(argv: string[], terminal: CommandIo = processIo()): Promise<number> {
  // Steps quote the server (its certificate's names, PVE's errors): one cleaning for every write.
  const io = terminalIo(terminal, useColor(terminal) ? DOCTOR_STYLES : []);
  let demo: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { demo: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout.write(`${DOCTOR_USAGE}\n`);
      return 0;
    }
    demo = values.demo === true;
  } catch (err) {
    io.stderr.write(`proxmox-mcp doctor: ${(err as Error).message}; see proxmox-mcp doctor --help\n`);
    return 1;
  }
  const steps = new Steps(io, useColor(io));
  let setup: CommandSetup;
  try {
    setup = await setUp(demo, io);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) steps.line("fail", "configuration", problem);
    return finish(steps, io);
  }
  try {
    const { config, warnings, simulator } = setup;
    steps.line(
      "ok",
      "configuration",
      simulator
        ? `demo: simulated cluster at ${simulator.url}, token ${config.tokenId}`
        : `${hostPort(config)}, token ${config.tokenId}, TLS ${trustOf(config.tls)}${sourcesOf(config)}`,
    );
    for (const warning of warnings) steps.line("warn", "configuration", warning);
    await walk(steps, config);
    // Independent of PVE: a PBS that works is worth knowing even when PVE does not.
    await walkPbs(steps, config, sourcesOf(config, "PBS_"));
  } finally {
    await setup.close();
  }
  return finish(steps, io);
}

function finish(steps: Steps, io: CommandIo): number {
  io.stdout.write(
    steps.failures === 0 ? "All good.\n" : `${steps.failures} problem(s) found; each ✗ says how to fix it.\n`,
  );
  return steps.failures === 0 ? 0 : 1;
}

/** The network and Proxmox steps; returns at the first failure that makes the rest meaningless. */
async function walk(steps: Steps, config: Config): Promise<void> {
  const target = pveTarget(config);
  if (!(await dnsStep(steps, target))) return;
  if (!(await tcpStep(steps, target))) return;
  if (!(await tlsStep(steps, target))) return;
  const pve = new PveReader(config);
  const admin = adminClientOf(config);
  try {
    if (!(await tokenStep(steps, "token", config.tokenId, "Proxmox VE", pve, config))) return;
    const check = new TokenCheck({ pve, admin, config, tools: ALL_TOOLS });
    if (!(await privilegeStep(steps, config, check))) return;
    toolsetSteps(steps, config, check, "read");
    if (!config.dangerous) {
      steps.line(
        "skip",
        "dangerous mode",
        "off (ENABLE_DANGEROUS_COMMANDS is not true): no admin token to check",
      );
      return;
    }
    try {
      await check.ensureAdmin();
    } catch (err) {
      steps.line("fail", "admin token", (err as Error).message);
      return;
    }
    steps.line("ok", "admin token", `${config.dangerous.adminTokenId} accepted`);
    for (const warning of check.report.adminWarnings) steps.line("warn", "admin token", warning);
    toolsetSteps(steps, config, check, "dangerous");
  } finally {
    await pve.close();
    await admin?.close();
  }
}

/** The PBS reader doctor talks through: it keeps the permission map the token check reads, to say what the tools see. */
class PermissionKeepingPbsReader extends PbsReader {
  permissions: PbsPermissions | undefined;

  override async get<T = unknown>(
    template: string,
    params?: Record<string, string | number>,
    options?: GetOptions,
  ): Promise<T> {
    const answer = await super.get<T>(template, params, options);
    if (template === "/access/permissions") this.permissions = answer as PbsPermissions;
    return answer;
  }
}

/** The same walk for the Proxmox Backup Server, when PBS_HOST is set. */
async function walkPbs(steps: Steps, config: Config, sources: string): Promise<void> {
  const { pbs } = config;
  if (!pbs) {
    steps.line("skip", "PBS", "not configured (set PBS_HOST to audit a Proxmox Backup Server)");
    return;
  }
  steps.line(
    "ok",
    "PBS configuration",
    `${hostPort(pbs)}, token ${pbs.tokenId}, TLS ${trustOf(pbs.tls)}${sources}`,
  );
  const target = pbsTarget(pbs);
  if (!(await dnsStep(steps, target))) return;
  if (!(await tcpStep(steps, target))) return;
  if (!(await tlsStep(steps, target))) return;
  const reader = new PermissionKeepingPbsReader(pbs);
  // The token check wants PVE's reader too; its PBS check never asks PVE anything.
  const pve = new PveReader(config);
  try {
    if (!(await tokenStep(steps, "PBS token", pbs.tokenId, "Proxmox Backup Server", reader, config))) return;
    const check = new TokenCheck({ pve, pbs: reader, config, tools: ALL_TOOLS });
    if (!(await pbsPrivilegeStep(steps, pbs, check, reader))) return;
    const hiddenPbs = check.hiddenTools.some((t) =>
      ALL_TOOLS.some((a) => a.name === t.name && a.toolset === "pbs"),
    );
    const partial = new Map<string, string>();
    const grants = new Set<PbsRead["grant"]>(hiddenPbs ? [AUDIT_ON_ROOT] : []);
    for (const [tool, reads] of Object.entries(PBS_TOOL_READS)) {
      const lacking = reads.filter((r) => !r.holds(reader.permissions));
      for (const read of lacking) grants.add(read.grant);
      if (lacking.length > 0) {
        partial.set(
          tool,
          lacking.map((r) => `leaves out ${r.what} (the PBS token lacks ${r.need})`).join("; "),
        );
      }
    }
    toolsetStep(steps, config, check, "pbs", () => pbsGrantFix(pbs.tokenId, [...grants]), partial);
  } finally {
    await reader.close();
    await pve.close();
  }
}

/** The PBS token may only audit: the server uses it for nothing else (TokenCheck.ensurePbs). */
async function pbsPrivilegeStep(
  steps: Steps,
  pbs: PbsConfig,
  check: TokenCheck,
  reader: PermissionKeepingPbsReader,
): Promise<boolean> {
  try {
    await check.ensurePbs();
  } catch (err) {
    const beyond = beyondAudit(reader.permissions ?? {});
    if (!(err instanceof PrivilegedTokenError) || beyond.length === 0) {
      steps.line("fail", "PBS privileges", (err as Error).message);
      return false;
    }
    steps.line(
      "fail",
      "PBS privileges",
      `${pbs.tokenId} can do more than audit, so the server refuses to use it: ${summarize(beyond)}`,
      [`fix: make a token that may only audit: ${pbsReadOnlyTokenFix(pbs.tokenId)}`],
    );
    return false;
  }
  steps.line(
    "ok",
    "PBS privileges",
    `${pbs.tokenId} may only audit (holds nothing beyond ${[...PBS_AUDIT_PRIVILEGES].join(", ")})`,
  );
  return true;
}

/** A part of PBS a pbs tool reads in full only with a privilege; without it PBS leaves things out silently. */
interface PbsRead {
  need: string;
  holds(permissions: PbsPermissions | undefined): boolean;
  /** What the answers then leave out. */
  what: string;
  /** The auditor role that grants it, and where. */
  grant: { path: string; role: string };
}

const AUDIT_ON_ROOT = { path: "/", role: "Audit" };
const DATASTORES: PbsRead = {
  need: PBS_NEEDS.datastores,
  holds: (p) => pbsHoldsBelow(p, "/datastore", "Datastore.Audit"),
  what: "datastores it cannot audit",
  grant: AUDIT_ON_ROOT,
};
const REMOTES: PbsRead = {
  need: PBS_NEEDS.remotes,
  holds: (p) => pbsHoldsBelow(p, "/remote", "Remote.Audit"),
  what: "sync jobs with a remote",
  grant: { path: "/remote", role: "RemoteAudit" },
};
const TASKS: PbsRead = {
  need: PBS_NEEDS.tasks,
  holds: (p) => pbsHolds(p, "/system/tasks", "Sys.Audit"),
  what: "tasks of other users",
  grant: AUDIT_ON_ROOT,
};

/**
 * What each pbs tool reads in full only with privileges (src/pbs/model's gaps): the tools
 * declare no `needs` (they answer what the token sees, with gaps), so doctor says here
 * which of them answer only in part with this token.
 */
export const PBS_TOOL_READS: Readonly<Record<string, readonly PbsRead[]>> = {
  pbs_datastores: [DATASTORES],
  pbs_snapshots: [DATASTORES],
  pbs_jobs: [DATASTORES, REMOTES],
  pbs_tasks: [TASKS],
  pbs_task_log: [{ ...TASKS, what: "the logs of other users' tasks" }],
};

/** PBS intersects a token's ACL with its user's: both get each role. */
function pbsGrantFix(tokenId: string, grants: readonly PbsRead["grant"][]): string {
  const user = tokenId.split("!")[0];
  const ordered = (grants.length > 0 ? [...grants] : [AUDIT_ON_ROOT]).sort((a, b) =>
    a.path.localeCompare(b.path),
  );
  const lines = ordered.flatMap(({ path, role }) => [
    `proxmox-backup-manager acl update ${path} ${role} --auth-id ${user}`,
    `proxmox-backup-manager acl update ${path} ${role} --auth-id '${tokenId}'`,
  ]);
  return `grant the PBS token and its user the auditor roles (a token may do only what its user may): ${lines.join(" && ")}`;
}

/**
 * What the network steps reach, and the words their fixes use: PVE's (PROXMOX_*, 8006,
 * pveproxy) or PBS's (PBS_*, 8007, proxmox-backup-proxy). One step code for both.
 */
interface Target {
  /** Put before each step's name: "" for PVE, "PBS " for PBS. */
  prefix: string;
  host: string;
  port: number;
  tls: TlsMode;
  /** The API's usual port, and what listens on it. */
  apiPort: number;
  api: string;
  service: string;
  /** The machine, as a fix names it: "the node", "the PBS host". */
  machine: string;
  /** Where the certificate's fingerprint is shown, and what a CA file could be a copy of. */
  certInfo: string;
  caCopy: string;
  vars: { host: string; port: string; fingerprint: string; caFile: string; verify: string };
  /** A fingerprint as the product shows it (PBS: lower case). */
  shown(fingerprint: string): string;
}

function pveTarget(config: Config): Target {
  return {
    prefix: "",
    host: config.host,
    port: config.port,
    tls: config.tls,
    apiPort: 8006,
    api: "a PVE node",
    service: "pveproxy",
    machine: "the node",
    certInfo: "`pvenode cert info` on the node",
    caCopy: "the node's /etc/pve/pve-root-ca.pem",
    vars: {
      host: "PROXMOX_HOST",
      port: "PROXMOX_PORT",
      fingerprint: "PROXMOX_TLS_FINGERPRINT",
      caFile: "PROXMOX_CA_FILE",
      verify: "PROXMOX_VERIFY_SSL",
    },
    shown: (fingerprint) => fingerprint,
  };
}

function pbsTarget(pbs: PbsConfig): Target {
  return {
    prefix: "PBS ",
    host: pbs.host,
    port: pbs.port,
    tls: pbs.tls,
    apiPort: 8007,
    api: "a Proxmox Backup Server",
    service: "proxmox-backup-proxy",
    machine: "the PBS host",
    certInfo: "`proxmox-backup-manager cert info` on the PBS host",
    // PBS's own certificate is self-signed: a copy of it is the CA that signed it.
    caCopy: "the PBS host's /etc/proxmox-backup/proxy.pem",
    vars: {
      host: "PBS_HOST",
      port: "PBS_PORT",
      fingerprint: "PBS_TLS_FINGERPRINT",
      caFile: "PBS_CA_FILE",
      verify: "PBS_VERIFY_SSL",
    },
    shown: (fingerprint) => fingerprint.toLowerCase(),
  };
}
async function dnsStep(steps: Steps, target: Target): Promise<boolean> {
  const { host } = target;
  const step = `${target.prefix}DNS`;
  if (isIP(host)) {
    steps.line("skip", step, `${host} is an IP address`);
    return true;
  }
  try {
    const addresses = await withTimeout(lookup(host, { all: true }), `no answer within ${seconds()}`);
    steps.line("ok", step, `${host} resolves to ${addresses.map((a) => a.address).join(", ")}`);
    return true;
  } catch (err) {
    steps.line("fail", step, `${host} does not resolve (${codeOf(err)})`, [
      `fix: check the spelling of ${target.vars.host} and this machine's DNS, or use ${target.machine}'s IP address`,
    ]);
    return false;
  }
}

async function tcpStep(steps: Steps, target: Target): Promise<boolean> {
  const where = hostPort(target);
  const { vars, apiPort, service, machine } = target;
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect({ host: target.host, port: target.port });
      socket.setTimeout(NETWORK_STEP_TIMEOUT_MS, () => {
        socket.destroy();
        reject(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }));
      });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      // Every error, also one after the verdict, ends here (a second reject is a no-op).
      socket.on("error", reject);
    });
    steps.line("ok", `${target.prefix}TCP`, `${where} accepts connections`);
    return true;
  } catch (err) {
    const code = codeOf(err);
    const [what, fix] =
      code === "ECONNREFUSED"
        ? [
            `nothing listens on ${where} (connection refused)`,
            `check ${vars.port} (the API listens on ${apiPort}) and that ${service} runs on ${machine}: systemctl status ${service}`,
          ]
        : code === "ETIMEDOUT"
          ? [
              `no answer from ${where} within ${seconds()}`,
              `a firewall drops the connection or the host is down: check the host, the network path and ${machine}'s firewall (port ${apiPort})`,
            ]
          : [
              `cannot connect to ${where} (${code})`,
              `check ${vars.host} and ${vars.port}, and the network path to ${machine}`,
            ];
    steps.line("fail", `${target.prefix}TCP`, what, [`fix: ${fix}`]);
    return false;
  }
}

interface Handshake {
  certificate: PeerCertificate;
  authorized: boolean;
  authorizationError: string | undefined;
}

/** The certificate the server shows, and whether the configured CAs (system or file) accept it for this host. */
function handshake(target: Target): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: target.host,
      port: target.port,
      // No SNI for an IP address (as undici does); the name check then uses the address.
      ...(isIP(target.host) ? {} : { servername: target.host }),
      ...(target.tls.mode === "ca-file" ? { ca: target.tls.caPem } : {}),
      // Look, do not trust: the verdict is read below and nothing is sent on this socket.
      rejectUnauthorized: false,
    });
    socket.setTimeout(NETWORK_STEP_TIMEOUT_MS, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${seconds()}`));
    });
    socket.once("secureConnect", () => {
      const result = {
        certificate: socket.getPeerCertificate(),
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
      };
      socket.destroy();
      resolve(result);
    });
    socket.on("error", reject);
  });
}

async function tlsStep(steps: Steps, target: Target): Promise<boolean> {
  const step = `${target.prefix}TLS`;
  const { vars, certInfo } = target;
  let shown: Handshake;
  try {
    shown = await handshake(target);
  } catch (err) {
    steps.line("fail", step, `no TLS handshake with ${hostPort(target)} (${(err as Error).message})`, [
      `fix: ${vars.port} must be the HTTPS API port of ${target.api} (${target.apiPort}), not a plain HTTP or SSH port`,
    ]);
    return false;
  }
  const fingerprint = target.shown(shown.certificate.fingerprint256);
  const pin = `${vars.fingerprint}=${fingerprint}`;
  const about = [
    `certificate: ${subjectOf(shown.certificate)}, issued by ${issuerOf(shown.certificate)}, valid until ${shown.certificate.valid_to}`,
    `SHA-256 fingerprint, to pin: ${pin}`,
  ];
  const { tls } = target;
  switch (tls.mode) {
    case "fingerprint": {
      if (sameFingerprint(tls.fingerprint, fingerprint)) {
        steps.line("ok", step, `the server's certificate matches ${vars.fingerprint}`, about);
        return true;
      }
      const pinned = `pinned (${vars.fingerprint}):`;
      steps.line("fail", step, "the server's certificate is not the pinned one; nothing would be sent", [
        `${pinned} ${target.shown(tls.fingerprint)}`,
        `${"server's certificate:".padEnd(pinned.length)} ${fingerprint}`,
        about[0]!,
        `fix: if the certificate was renewed on purpose (check with ${certInfo}), pin the new one: ${pin}`,
      ]);
      return false;
    }
    case "system":
    case "ca-file": {
      const trust = tls.mode === "system" ? "the system CAs" : `the CA in ${tls.caFile}`;
      if (shown.authorized) {
        steps.line(
          "ok",
          step,
          `the server's certificate is valid for ${target.host} and signed by ${trust}`,
          about,
        );
        return true;
      }
      steps.line(
        "fail",
        step,
        `the server's certificate is not accepted with ${trust} (${shown.authorizationError ?? "unknown reason"})`,
        [
          ...about,
          `fix: pin it (check the fingerprint with ${certInfo}): ${pin}; or set ${vars.caFile} to a copy of ${target.caCopy}`,
        ],
      );
      return false;
    }
    case "insecure":
      steps.line(
        "warn",
        step,
        `verification is off (${vars.verify}=false): anyone on the network path could read the token`,
        [
          ...about,
          `fix: pin the certificate instead (check it with ${certInfo}): ${pin} and remove ${vars.verify}=false`,
        ],
      );
      return true;
  }
}

/** GET /version with the token: PVE's and PBS's answer it to any valid token. */
async function tokenStep(
  steps: Steps,
  step: string,
  tokenId: string,
  product: string,
  reader: Pick<PveReader, "get">,
  config: Config,
): Promise<boolean> {
  try {
    const version = await reader.get<{ version: string; release?: string }>("/version");
    steps.line("ok", step, `${tokenId} accepted by ${product} ${version.version}`);
    return true;
  } catch (err) {
    steps.line("fail", step, explainError(err, config));
    return false;
  }
}

/** The read token's start-up check, as serve runs it. */
async function privilegeStep(steps: Steps, config: Config, check: TokenCheck): Promise<boolean> {
  const fix = `fix: make a read-only token of a user of its own: ${readOnlyTokenFix(config.tokenId)}`;
  try {
    await check.ensure();
  } catch (err) {
    if (!(err instanceof PrivilegedTokenError)) {
      steps.line("fail", "privileges", `cannot read the token's permissions: ${explainError(err, config)}`);
      return false;
    }
    // The server refuses to start with this token: which tools it could use does not matter.
    steps.line(
      "fail",
      "privileges",
      `${config.tokenId} can change things, so the server refuses to run with it: ${summarize(check.extraPrivileges)}`,
      [`${fix} (or set PROXMOX_ALLOW_PRIVILEGED_TOKEN=true to run anyway)`],
    );
    return false;
  }
  const extra = check.report.readExtraPrivileges;
  if (extra.length > 0) {
    steps.line(
      "warn",
      "privileges",
      `${config.tokenId} can change things (allowed by PROXMOX_ALLOW_PRIVILEGED_TOKEN=true): ${summarize(extra)}`,
      [`${fix}, and remove PROXMOX_ALLOW_PRIVILEGED_TOKEN`],
    );
  } else {
    steps.line(
      "ok",
      "privileges",
      `${config.tokenId} is read-only (holds no privilege that changes anything)`,
    );
  }
  return true;
}

/** Named first when a token holds them: they take over the cluster, its accounts or its guests. */
const WORST = [
  "Permissions.Modify",
  "User.Modify",
  "Realm.Allocate",
  "Sys.Modify",
  "Sys.Console",
  "Sys.PowerMgmt",
  "VM.Allocate",
  "VM.Console",
  "VM.PowerMgmt",
  "Datastore.Allocate",
  // PBS's: they change or read the backups themselves.
  "Datastore.Modify",
  "Datastore.Prune",
  "Datastore.Read",
];

/** "path: A, B" entries as "A, B, C and 30 more on /, /access and 3 more paths". */
function summarize(entries: readonly string[]): string {
  const paths = entries.map((e) => e.slice(0, e.indexOf(": ")));
  const rank = (privilege: string) => {
    const i = WORST.indexOf(privilege);
    return i === -1 ? WORST.length : i;
  };
  const privileges = [...new Set(entries.flatMap((e) => e.slice(e.indexOf(": ") + 2).split(", ")))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  const some = (list: string[], n: number, unit: string) =>
    list.length > n ? `${list.slice(0, n).join(", ")} and ${list.length - n} more${unit}` : list.join(", ");
  return `${some(privileges, 6, "")} on ${some(paths, 3, " paths")}`;
}

/** One line per toolset of a tier: which tools the token can use, and what the others lack. PBS's has its own walk. */
function toolsetSteps(steps: Steps, config: Config, check: TokenCheck, tier: AnyTool["tier"]): void {
  for (const toolset of TOOLSETS.filter((t) => t.tier === tier && t.id !== "pbs")) {
    toolsetStep(steps, config, check, toolset.id, () => grantFix(config, tier));
  }
}

/**
 * A toolset's line: the tools the token can use; each one it cannot use (hidden for a
 * missing privilege) or can use only in part (`partial`: tool → what its answers leave
 * out) is a failure, with `fix()` below them.
 */
function toolsetStep(
  steps: Steps,
  config: Config,
  check: TokenCheck,
  id: ToolsetId,
  fix: () => string,
  partial: ReadonlyMap<string, string> = new Map(),
): void {
  const toolset = TOOLSETS.find((t) => t.id === id)!;
  const hidden = new Map(check.hiddenTools.map((t) => [t.name, t.reason]));
  const tools = ALL_TOOLS.filter((t) => t.toolset === toolset.id);
  const step = `toolset ${toolset.id} (${toolset.title})`;
  if (!isToolsetOn(toolset, config.toolsets)) {
    const off = config.toolsets
      ? `off (not in PROXMOX_TOOLSETS=${config.toolsets.join(",")})`
      : "off by default (name it in PROXMOX_TOOLSETS to turn it on)";
    steps.line("skip", step, off);
    return;
  }
  const usable = tools.filter((t) => !hidden.has(t.name)).map((t) => t.name);
  // A tool the configuration leaves out (SSH not set up) is a choice; one the token cannot use is a problem.
  const facts = readFactsOf(config);
  const lacking = tools.filter((t) => hidden.has(t.name) && !t.unavailableWith?.(facts));
  const notSetUp = tools.filter((t) => t.unavailableWith?.(facts));
  const inPart = usable.filter((name) => partial.has(name));
  const mark: Mark = lacking.length > 0 || inPart.length > 0 ? "fail" : "ok";
  const text = usable.length > 0 ? usable.join(", ") : "no tool usable";
  const more = [
    ...lacking.map((t) => `${t.name} unavailable: ${hidden.get(t.name)}`),
    ...inPart.map((name) => `${name} answers only in part: ${partial.get(name)}`),
    ...notSetUp.map((t) => `${t.name} not offered: ${t.unavailableWith?.(facts)}`),
    ...(mark === "fail" ? [`fix: ${fix()}`] : []),
  ];
  steps.line(mark, step, text, more);
}

function grantFix(config: Config, tier: AnyTool["tier"]): string {
  if (tier === "dangerous") {
    const id = config.dangerous?.adminTokenId ?? "";
    const user = id.split("!")[0];
    return `grant the admin token and its user a role with these privileges, e.g. pveum acl modify /vms --users ${user} --tokens '${id}' --roles PVEVMAdmin`;
  }
  const user = config.tokenId.split("!")[0];
  return `grant read-only access on / to the token and its user: pveum acl modify / --users ${user} --tokens '${config.tokenId}' --roles PVEAuditor`;
}

function hostPort({ host, port }: { host: string; port: number }): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function trustOf(tls: TlsMode): string {
  switch (tls.mode) {
    case "system":
      return "verified with the system CAs";
    case "ca-file":
      return `verified with the CA file ${tls.caFile}`;
    case "fingerprint":
      return "pinned by fingerprint";
    case "insecure":
      return "NOT verified";
  }
}

/** Where the settings came from; with `prefix`, only those of its variables (PBS_). */
function sourcesOf(config: Config, prefix = ""): string {
  const from = [
    ...new Set(
      Object.entries(config.sources)
        .filter(([name, source]) => name.startsWith(prefix) && source !== "default")
        .map(([, source]) => source),
    ),
  ];
  return from.length > 0 ? ` (from ${from.join(", ")})` : "";
}

function sameFingerprint(a: string, b: string): boolean {
  const normalize = (f: string) => f.replace(/:/g, "").toUpperCase();
  return normalize(a) === normalize(b);
}

function subjectOf(cert: PeerCertificate): string {
  return cert.subject?.CN ? `CN=${cert.subject.CN}` : "no subject CN";
}

function issuerOf(cert: PeerCertificate): string {
  return cert.issuer?.CN ? `CN=${cert.issuer.CN}` : cert.issuer?.O ? `O=${cert.issuer.O}` : "unknown";
}

function codeOf(err: unknown): string {
  const { code, message } = err as { code?: unknown; message?: unknown };
  return typeof code === "string" ? code : String(message ?? err);
}

function seconds(): string {
  return `${NETWORK_STEP_TIMEOUT_MS / 1000} s`;
}

async function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(message), { code: "ETIMEOUT" })),
          NETWORK_STEP_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
