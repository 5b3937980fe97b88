/**
 * `proxmox-mcp audit`: the security audit as a report for people (grouped by severity,
 * colour on a terminal, or one HTML page with charts), as JSON or as SARIF, with an exit
 * code for cron and CI:
 * 0 no finding at or above high, 1 findings at or above high, 2 the audit could not run.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cleanReport, REPORT_STYLES } from "../audit/format.js";
import { renderHtmlReport } from "../audit/html.js";
import { toSarif } from "../audit/sarif.js";
import {
  applyWaivers,
  DEFAULT_WAIVERS_FILE,
  readWaivers,
  WaiverFileError,
  type Waiver,
} from "../audit/waivers.js";
import {
  atLeast,
  runAudit,
  SEVERITIES,
  formatReport,
  type AuditReport,
  type Severity,
} from "../audit/index.js";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/types.js";
import { explainError } from "../explain-error.js";
import { configuredSecrets } from "../config/redact.js";
import { PbsReader } from "../pbs/client.js";
import { PveReader } from "../pve/client.js";
import { Redactor } from "../redact.js";
import { PrivilegedTokenError, TokenCheck } from "../token-check.js";
import { oneLine, processIo, setUp, useColor, type CommandIo, type CommandSetup } from "./setup.js";
import { terminalIo } from "./terminal.js";

export const AUDIT_USAGE = `Usage: proxmox-mcp audit [--format text|json|sarif|html] [--min-severity S] [--waivers FILE] [--demo]

Runs the security audit with the read token (configured as for serve) and prints the
findings grouped by severity.
  --format F         text (default), json (the report with storage and backup facts;
                     docs/audit-report.schema.json), sarif (SARIF 2.1.0, for CI
                     systems) or html (one self-contained page with charts: > report.html);
                     --json is --format json
  --min-severity S   leave out findings below S (${SEVERITIES.join(", ")})
  --waivers FILE     accepted findings (code, object, reason, expires): listed as waived
                     until they expire; default ${DEFAULT_WAIVERS_FILE} when it exists
  --demo             audit the built-in simulated cluster (no Proxmox needed)
Exit code: 0 no finding at or above high, 1 findings at or above high, 2 the audit
could not run (configuration, connection, token, waivers file) or some of its checks
could not. Waived findings do not count.`;

const FORMATS = ["text", "json", "sarif", "html"] as const;
type Format = (typeof FORMATS)[number];

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_CANNOT_RUN = 2;

/** The severities that make the exit code 1: high and everything more severe. */
const FAILING = new Set(SEVERITIES.slice(0, SEVERITIES.indexOf("high") + 1));

export async function runAuditCommand(argv: string[], terminal: CommandIo = processIo()): Promise<number> {
  // The report quotes the cluster (guest names, task logs, PVE's errors): one cleaning for every write.
  const io = terminalIo(terminal, useColor(terminal) ? REPORT_STYLES : []);
  const fail = (message: string) => {
    io.stderr.write(`proxmox-mcp audit: ${message}\n`);
    return EXIT_CANNOT_RUN;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: "boolean" },
        format: { type: "string" },
        waivers: { type: "string" },
        "min-severity": { type: "string" },
        demo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(`${(err as Error).message}; see proxmox-mcp audit --help`);
  }
  if (values.help) {
    io.stdout.write(`${AUDIT_USAGE}\n`);
    return EXIT_CLEAN;
  }
  const minSeverity = values["min-severity"];
  if (minSeverity !== undefined && !isSeverity(minSeverity)) {
    return fail(`--min-severity must be one of ${SEVERITIES.join(", ")} (example: --min-severity high)`);
  }
  if (values.json && values.format !== undefined && values.format !== "json") {
    return fail(`--json and --format ${oneLine(values.format).slice(0, 20)} disagree: give one of them`);
  }
  const format = values.json ? "json" : (values.format ?? "text");
  if (!isFormat(format))
    return fail(`--format must be one of ${FORMATS.join(", ")} (example: --format sarif)`);
  let waivers: Waiver[];
  try {
    const file = values.waivers ?? DEFAULT_WAIVERS_FILE;
    const read = readWaivers(file, { optional: values.waivers === undefined });
    waivers = read ?? [];
    if (read) io.stderr.write(`proxmox-mcp audit: ${read.length} waiver(s) from ${file}\n`);
  } catch (err) {
    if (!(err instanceof WaiverFileError)) throw err;
    for (const problem of err.message.split("\n")) io.stderr.write(`proxmox-mcp audit: ${problem}\n`);
    return EXIT_CANNOT_RUN;
  }

  let setup: CommandSetup;
  try {
    setup = await setUp(values.demo === true, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) io.stderr.write(`proxmox-mcp audit: ${problem}\n`);
      return EXIT_CANNOT_RUN;
    }
    throw err;
  }
  const { config, warnings, simulator } = setup;
  for (const warning of warnings) io.stderr.write(`proxmox-mcp audit: warning: ${warning}\n`);
  if (simulator) {
    const pbsNote = config.pbs
      ? ` and Proxmox Backup Server at https://${config.pbs.host}:${config.pbs.port}`
      : "";
    io.stderr.write(`proxmox-mcp audit: demo mode, simulated cluster at ${simulator.url}${pbsNote}\n`);
  }
  const pve = new PveReader(config);
  const pbs = config.pbs ? new PbsReader(config.pbs) : undefined;
  try {
    const audited = await audit(pve, pbs, config, io, format === "json" || format === "html");
    if (typeof audited === "number") return audited;
    // Waivers see every finding, so one for a finding below --min-severity is not called unused.
    const waived = applyWaivers(cleanReport(audited), waivers, new Date(audited.generatedAt));
    const report = {
      ...waived,
      findings: atLeast(waived.findings, minSeverity),
      waived: atLeast(waived.waived, minSeverity),
    };
    // What goes to a terminal or a file follows the server's rules: no secret, ever.
    const redactor = new Redactor(configuredSecrets(config));
    const json = (value: object) => `${JSON.stringify(redactor.value(value), null, 2)}\n`;
    io.stdout.write(
      format === "json"
        ? json(report)
        : format === "sarif"
          ? json(toSarif(report, { version: VERSION }))
          : format === "html"
            ? // Redacted as data before it becomes markup: masking the page afterwards could break an escape.
              renderHtmlReport(redactor.value(report), { version: VERSION })
            : `${redactor.rendered(formatReport(report, { color: useColor(io) })).trimEnd()}\n`,
    );
    if (report.findings.some((f) => FAILING.has(f.severity))) return EXIT_FINDINGS;
    // "Clean" is claimed only for an audit that ran in full.
    if (report.errors.length > 0) {
      const failed = [...new Set(report.errors.map((e) => e.check))];
      const checks =
        failed.slice(0, 5).join(", ") + (failed.length > 5 ? ` and ${failed.length - 5} more` : "");
      io.stderr.write(
        `proxmox-mcp audit: ${failed.length} check(s) could not run in full (${checks}), so the cluster cannot be called clean; see the report\n`,
      );
      return EXIT_CANNOT_RUN;
    }
    return EXIT_CLEAN;
  } finally {
    await pve.close();
    await pbs?.close();
    await setup.close();
  }
}

/** The token check exactly as serve runs it, then the audit; a number is the exit code of a failure. */
async function audit(
  pve: PveReader,
  pbs: PbsReader | undefined,
  config: Config,
  io: CommandIo,
  inventory: boolean,
): Promise<AuditReport | number> {
  const cannotRun = (message: string) => {
    io.stderr.write(`proxmox-mcp audit: ${oneLine(message)}\n`);
    return EXIT_CANNOT_RUN;
  };
  const tokenCheck = new TokenCheck({ pve, ...(pbs ? { pbs } : {}), config, tools: [] });
  try {
    await tokenCheck.ensure();
  } catch (err) {
    if (err instanceof PrivilegedTokenError) return cannotRun(err.message);
    return cannotRun(`cannot run the audit: ${explainError(err, config)}`);
  }
  if (pbs) {
    try {
      await tokenCheck.ensurePbs();
    } catch (err) {
      if (err instanceof PrivilegedTokenError) return cannotRun(err.message);
      // PBS unreachable: the PVE checks still run, the PBS ones fail and the report says so.
      io.stderr.write(`proxmox-mcp audit: warning: ${oneLine(explainError(err, config))}\n`);
    }
  }
  const extra = tokenCheck.report.readExtraPrivileges;
  if (extra.length > 0) {
    io.stderr.write(
      `proxmox-mcp audit: warning: the read token can change things (PROXMOX_ALLOW_PRIVILEGED_TOKEN=true): ${extra.join("; ")}\n`,
    );
  }
  try {
    return await runAudit(pve, {
      inventory,
      ...(config.pbs ? { pbs: tokenCheck.checkedPbs(), pbsName: config.pbs.host } : {}),
    });
  } catch (err) {
    return cannotRun(`the audit failed: ${explainError(err, config)}`);
  }
}

function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}
