/**
 * `proxmox-mcp doctor`: walks the chain from the configuration to the tools, one line
 * per step (✓ passed, ✗ failed, ! works but should be fixed, - skipped), each failure
 * with its fix. A step that makes the next ones meaningless stops the walk (no TCP
 * connection: no TLS to check). Exit 0 when nothing failed, 1 otherwise.
 */
import { lookup } from "node:dns/promises";
import { connect as tcpConnect, isIP } from "node:net";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/load.js";
import type { Config, TlsMode } from "../config/types.js";
import { explainError } from "../explain-error.js";
import { adminClientOf } from "../pve/admin.js";
import { PveReader } from "../pve/client.js";
import { PrivilegedTokenError, readOnlyTokenFix, TokenCheck } from "../token-check.js";
import { readFactsOf, type AnyTool } from "../tools/define.js";
import { ALL_TOOLS } from "../tools/inventory.js";
import { isToolsetOn, TOOLSETS } from "../tools/toolsets.js";
import { processIo, setUp, useColor, type CommandIo, type CommandSetup } from "./setup.js";
import { terminalIo } from "./terminal.js";

export const DOCTOR_USAGE = `Usage: proxmox-mcp doctor [--demo]

Checks what the server needs, step by step: the configuration, DNS, TCP, TLS (prints
the certificate's fingerprint to pin), the token, its privileges, which tools it can
use and, in dangerous mode, the admin token. Each failure comes with its fix.
  --demo   check the built-in simulated cluster
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
  if (!(await dnsStep(steps, config))) return;
  if (!(await tcpStep(steps, config))) return;
  if (!(await tlsStep(steps, config))) return;
  const pve = new PveReader(config);
  const admin = adminClientOf(config);
  try {
    if (!(await tokenStep(steps, config, pve))) return;
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

async function dnsStep(steps: Steps, { host }: Config): Promise<boolean> {
  if (isIP(host)) {
    steps.line("skip", "DNS", `${host} is an IP address`);
    return true;
  }
  try {
    const addresses = await withTimeout(lookup(host, { all: true }), `no answer within ${seconds()}`);
    steps.line("ok", "DNS", `${host} resolves to ${addresses.map((a) => a.address).join(", ")}`);
    return true;
  } catch (err) {
    steps.line("fail", "DNS", `${host} does not resolve (${codeOf(err)})`, [
      "fix: check the spelling of PROXMOX_HOST and this machine's DNS, or use the node's IP address",
    ]);
    return false;
  }
}

async function tcpStep(steps: Steps, config: Config): Promise<boolean> {
  const where = hostPort(config);
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect({ host: config.host, port: config.port });
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
    steps.line("ok", "TCP", `${where} accepts connections`);
    return true;
  } catch (err) {
    const code = codeOf(err);
    const [what, fix] =
      code === "ECONNREFUSED"
        ? [
            `nothing listens on ${where} (connection refused)`,
            "check PROXMOX_PORT (the API listens on 8006) and that pveproxy runs on the node: systemctl status pveproxy",
          ]
        : code === "ETIMEDOUT"
          ? [
              `no answer from ${where} within ${seconds()}`,
              "a firewall drops the connection or the host is down: check the host, the network path and the node's firewall (port 8006)",
            ]
          : [
              `cannot connect to ${where} (${code})`,
              "check PROXMOX_HOST and PROXMOX_PORT, and the network path to the node",
            ];
    steps.line("fail", "TCP", what, [`fix: ${fix}`]);
    return false;
  }
}

interface Handshake {
  certificate: PeerCertificate;
  authorized: boolean;
  authorizationError: string | undefined;
}

/** The certificate the server shows, and whether the configured CAs (system or file) accept it for this host. */
function handshake(config: Config): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: config.host,
      port: config.port,
      // No SNI for an IP address (as undici does); the name check then uses the address.
      ...(isIP(config.host) ? {} : { servername: config.host }),
      ...(config.tls.mode === "ca-file" ? { ca: config.tls.caPem } : {}),
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

async function tlsStep(steps: Steps, config: Config): Promise<boolean> {
  let shown: Handshake;
  try {
    shown = await handshake(config);
  } catch (err) {
    steps.line("fail", "TLS", `no TLS handshake with ${hostPort(config)} (${(err as Error).message})`, [
      "fix: PROXMOX_PORT must be the HTTPS API port of a PVE node (8006), not a plain HTTP or SSH port",
    ]);
    return false;
  }
  const fingerprint = shown.certificate.fingerprint256;
  const pin = `PROXMOX_TLS_FINGERPRINT=${fingerprint}`;
  const about = [
    `certificate: ${subjectOf(shown.certificate)}, issued by ${issuerOf(shown.certificate)}, valid until ${shown.certificate.valid_to}`,
    `SHA-256 fingerprint, to pin: ${pin}`,
  ];
  const { tls } = config;
  switch (tls.mode) {
    case "fingerprint": {
      if (sameFingerprint(tls.fingerprint, fingerprint)) {
        steps.line("ok", "TLS", "the server's certificate matches PROXMOX_TLS_FINGERPRINT", about);
        return true;
      }
      steps.line("fail", "TLS", "the server's certificate is not the pinned one; nothing would be sent", [
        `pinned (PROXMOX_TLS_FINGERPRINT): ${tls.fingerprint}`,
        `server's certificate:             ${fingerprint}`,
        about[0]!,
        `fix: if the certificate was renewed on purpose (check with \`pvenode cert info\` on the node), pin the new one: ${pin}`,
      ]);
      return false;
    }
    case "system":
    case "ca-file": {
      const trust = tls.mode === "system" ? "the system CAs" : `the CA in ${tls.caFile}`;
      if (shown.authorized) {
        steps.line(
          "ok",
          "TLS",
          `the server's certificate is valid for ${config.host} and signed by ${trust}`,
          about,
        );
        return true;
      }
      steps.line(
        "fail",
        "TLS",
        `the server's certificate is not accepted with ${trust} (${shown.authorizationError ?? "unknown reason"})`,
        [
          ...about,
          `fix: pin it (check the fingerprint with \`pvenode cert info\` on the node): ${pin}; or set PROXMOX_CA_FILE to a copy of the node's /etc/pve/pve-root-ca.pem`,
        ],
      );
      return false;
    }
    case "insecure":
      steps.line(
        "warn",
        "TLS",
        "verification is off (PROXMOX_VERIFY_SSL=false): anyone on the network path could read the token",
        [
          ...about,
          `fix: pin the certificate instead (check it with \`pvenode cert info\` on the node): ${pin} and remove PROXMOX_VERIFY_SSL=false`,
        ],
      );
      return true;
  }
}

async function tokenStep(steps: Steps, config: Config, pve: PveReader): Promise<boolean> {
  try {
    const version = await pve.get<{ version: string; release?: string }>("/version");
    steps.line("ok", "token", `${config.tokenId} accepted by Proxmox VE ${version.version}`);
    return true;
  } catch (err) {
    steps.line("fail", "token", explainError(err, config));
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

/** One line per toolset of a tier: which tools the token can use, and what the others lack. */
function toolsetSteps(steps: Steps, config: Config, check: TokenCheck, tier: AnyTool["tier"]): void {
  const hidden = new Map(check.hiddenTools.map((t) => [t.name, t.reason]));
  for (const toolset of TOOLSETS.filter((t) => t.tier === tier)) {
    const tools = ALL_TOOLS.filter((t) => t.toolset === toolset.id);
    const step = `toolset ${toolset.id} (${toolset.title})`;
    if (!isToolsetOn(toolset, config.toolsets)) {
      const off = config.toolsets
        ? `off (not in PROXMOX_TOOLSETS=${config.toolsets.join(",")})`
        : "off by default (name it in PROXMOX_TOOLSETS to turn it on)";
      steps.line("skip", step, off);
      continue;
    }
    const usable = tools.filter((t) => !hidden.has(t.name)).map((t) => t.name);
    // A tool the configuration leaves out (SSH not set up) is a choice; one the token cannot use is a problem.
    const facts = readFactsOf(config);
    const lacking = tools.filter((t) => hidden.has(t.name) && !t.unavailableWith?.(facts));
    const notSetUp = tools.filter((t) => t.unavailableWith?.(facts));
    const mark: Mark = lacking.length > 0 ? "fail" : "ok";
    const text = usable.length > 0 ? usable.join(", ") : "no tool usable";
    const more = [
      ...lacking.map((t) => `${t.name} unavailable: ${hidden.get(t.name)}`),
      ...notSetUp.map((t) => `${t.name} not offered: ${t.unavailableWith?.(facts)}`),
      ...(lacking.length > 0 ? [`fix: ${grantFix(config, tier)}`] : []),
    ];
    steps.line(mark, step, text, more);
  }
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

function hostPort({ host, port }: Config): string {
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

function sourcesOf(config: Config): string {
  const from = [...new Set(Object.values(config.sources).filter((s) => s !== "default"))];
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
