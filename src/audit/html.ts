/**
 * The audit report as one self-contained HTML file (`proxmox-mcp audit --format html`):
 * counts per severity, charts drawn here as inline SVG (findings by severity and by
 * area, storage usage), the backup-coverage table, then every finding with its fix, the
 * waived ones, what the token could not see and the checks that failed.
 *
 * Nearly every string in it comes from the cluster (guest names, tags, task errors,
 * PVE's messages), so the page is built with one tagged template, `markup`, that escapes
 * every interpolation unless it is markup made by that same template, after cleanReport
 * stripped control and bidi characters. (Not named `html`: Prettier reflows templates
 * of that name, and with them the text and the hashed style.) The file has no script
 * and loads nothing: a Content-Security-Policy allows only the one style element (by
 * its hash) and data: images, so even a missed escape could neither run nor fetch
 * anything. The only links are the checks' https references, which we wrote. */
import { createHash } from "node:crypto";
import { cleanText, LIMITS } from "../untrusted.js";
import { AUDIT_CHECKS } from "./checks/index.js";
import { BACKUP_MAX_AGE_DAYS } from "./checks/backup.js";
import { isGapFinding } from "./context.js";
import { cleanReport } from "./format.js";
import { age, DAY } from "./shared.js";
import {
  SEVERITIES,
  type AuditCheck,
  type AuditInventory,
  type AuditReport,
  type BackupState,
  type Finding,
  type InventoryGuest,
  type InventoryNote,
  type InventoryStorage,
  type Severity,
} from "./types.js";
import type { WaivedReport } from "./waivers.js";

export type HtmlReport = AuditReport & Partial<Pick<WaivedReport, "waived" | "unusedWaivers">>;

export interface HtmlOptions {
  /** The tool's version, shown in the header. */
  version: string;
  /** Where titles and references come from, by code (default: the audit's checks). */
  checks?: readonly Pick<AuditCheck, "code" | "title" | "references">[];
}

/** Past this many findings of one check, the rest are counted, not shown (the JSON report has all). */
export const MAX_FINDINGS_PER_CHECK = 100;
/** Waived findings, waivers and errors shown at most. */
const MAX_LISTED = 500;
/** Storage usage above this share is drawn in the warning colour, against a dashed line. */
const STORAGE_LIMIT = 0.85;

const AREAS: Readonly<Record<string, string>> = {
  ACC: "Access",
  FWL: "Firewall",
  UPD: "Updates",
  NOD: "Nodes",
  CLU: "Cluster",
  STO: "Storage",
  BAK: "Backups",
  GST: "Guests",
  CTR: "Containers",
};

// ------------------------------------------------------------------ escaping

/** Markup this module made; anything else interpolated into `markup` is text and escaped. */
class Markup {
  constructor(readonly value: string) {}
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** The five characters that end text or an attribute value, as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Markup | string | number | null | undefined | false | readonly Part[];

function render(part: Part): string {
  if (part instanceof Markup) return part.value;
  if (Array.isArray(part)) return part.map(render).join("");
  if (part === null || part === undefined || part === false) return "";
  // Cleaned again here: the inventory and the waivers reach this without cleanReport.
  return escapeHtml(cleanText(String(part), LIMITS.error));
}

function markup(strings: TemplateStringsArray, ...parts: Part[]): Markup {
  let out = strings[0] ?? "";
  parts.forEach((part, i) => {
    out += render(part) + (strings[i + 1] ?? "");
  });
  return new Markup(out);
}

/** A link only to an https address without anything that could leave the attribute; else plain text. */
function reference(url: string): Markup {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== "https:" || !/^https:\/\/[A-Za-z0-9.-]+(?:[/?#][^\s"'<>`\\]*)?$/.test(url)) {
    return markup`<span>${url}</span>`;
  }
  const label = parsed.hostname + (parsed.pathname === "/" ? "" : parsed.pathname) + parsed.hash;
  return markup`<a href="${url}" rel="noreferrer noopener">${label}</a>`;
}

// ------------------------------------------------------------------ formatting

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "2026-11-21 10:00 UTC" from the report's ISO time. */
function when(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** At most `max` characters for a chart label (the SVG has no room to wrap). */
function short(text: string, max: number): string {
  const points = Array.from(text);
  return points.length > max ? `${points.slice(0, max - 1).join("")}…` : text;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The area of a code: PVE-ACC-001 -> ACC. */
function areaOf(code: string): string {
  return /^PVE-([A-Z]+)-\d+$/.exec(code)?.[1] ?? code;
}

/** What a visibility gap says is needed, from its evidence ("... needs X"). */
function needsOf(gap: Finding): string {
  const at = gap.evidence.lastIndexOf("needs ");
  return at >= 0 ? gap.evidence.slice(at + "needs ".length) : gap.evidence;
}

// ------------------------------------------------------------------ charts

/**
 * A chart at its drawn width, shrinking with the page; one with a `minWidth` class only
 * down to that width (CSS), below which (a phone) it scrolls sideways in its box rather
 * than shrink its labels out of reach.
 */
const SVG = (width: number, height: number, label: string, body: Markup, minWidth?: "min-480" | "min-680") =>
  markup`<div class="chart-box"><svg class="${minWidth ? `chart ${minWidth}` : "chart"}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${label}">${body}</svg></div>`;

function severityChart(counts: Record<Severity, number>): Markup {
  const width = 380;
  const height = 210;
  const top = 26;
  const bottom = 30;
  const slot = width / SEVERITIES.length;
  const barWidth = 44;
  const max = Math.max(1, ...SEVERITIES.map((s) => counts[s]));
  const bars = SEVERITIES.map((s, i) => {
    const h = Math.max(2, Math.round(((height - top - bottom) * counts[s]) / max));
    const x = Math.round(i * slot + (slot - barWidth) / 2);
    const y = height - bottom - h;
    return markup`<g><title>${counts[s]} ${s}</title><rect class="${counts[s] ? `fill-${s}` : "track"}" x="${x}" y="${y}" width="${barWidth}" height="${h}" rx="3"/><text class="value" x="${x + barWidth / 2}" y="${y - 7}" text-anchor="middle">${counts[s]}</text><text class="muted" x="${x + barWidth / 2}" y="${height - 10}" text-anchor="middle">${s}</text></g>`;
  });
  return SVG(
    width,
    height,
    "Findings by severity",
    markup`<line class="axis" x1="0" y1="${height - bottom + 0.5}" x2="${width}" y2="${height - bottom + 0.5}"/>${bars}`,
  );
}

function areaChart(findings: readonly Finding[]): Markup {
  const rows = new Map<string, Record<Severity, number>>();
  for (const f of findings) {
    const area = areaOf(f.code);
    const row = rows.get(area) ?? { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    row[f.severity]++;
    rows.set(area, row);
  }
  const order = Object.keys(AREAS);
  const areas = [...rows.keys()].sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  if (areas.length === 0) return markup`<p class="empty">No findings.</p>`;
  const width = 560;
  const labelWidth = 110;
  const totalWidth = 40;
  const rowHeight = 30;
  const barHeight = 18;
  const max = Math.max(...areas.map((a) => SEVERITIES.reduce((sum, s) => sum + rows.get(a)![s], 0)));
  const scale = (width - labelWidth - totalWidth) / max;
  const body = areas.map((area, i) => {
    const row = rows.get(area)!;
    const y = i * rowHeight + 6;
    let x = labelWidth;
    const segments = SEVERITIES.filter((s) => row[s] > 0).map((s) => {
      const w = Math.max(2, row[s] * scale);
      const segment = markup`<rect class="fill-${s}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}"><title>${AREAS[area] ?? area}: ${row[s]} ${s}</title></rect>`;
      x += w;
      return segment;
    });
    const total = SEVERITIES.reduce((sum, s) => sum + row[s], 0);
    return markup`<g><text x="0" y="${y + 13}">${AREAS[area] ?? area}</text><text class="muted code" x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${area}</text>${segments}<text class="value" x="${(x + 6).toFixed(1)}" y="${y + 13}">${total}</text></g>`;
  });
  return SVG(
    width,
    areas.length * rowHeight + 8,
    "Findings by area and severity",
    markup`${body}`,
    "min-480",
  );
}

function storageChart(storages: readonly InventoryStorage[]): Markup {
  const width = 760;
  const labelWidth = 190;
  const valueWidth = 200;
  const barWidth = width - labelWidth - valueWidth;
  const rowHeight = 30;
  const barHeight = 14;
  const top = 20;
  const limitX = labelWidth + barWidth * STORAGE_LIMIT;
  const rows = storages.map((s, i) => {
    const y = top + i * rowHeight;
    const name = s.node === null ? `${s.storage} (shared)` : `${s.storage} on ${s.node}`;
    const label = markup`<text x="0" y="${y + 12}">${short(name, 30)}</text>`;
    const track = markup`<rect class="track" x="${labelWidth}" y="${y}" width="${barWidth}" height="${barHeight}" rx="3"/>`;
    if (s.used === null || !s.total) {
      return markup`<g><title>${name}: no usage reported</title>${label}${track}<text class="muted" x="${labelWidth + barWidth + 12}" y="${y + 12}">no usage reported</text></g>`;
    }
    const share = Math.min(1, Math.max(0, s.used / s.total));
    const percent = Math.round((s.used / s.total) * 100);
    const full = share >= STORAGE_LIMIT;
    return markup`<g><title>${name} (${s.type}): ${bytes(s.used)} of ${bytes(s.total)} used</title>${label}${track}<rect class="${full ? "fill-high" : "fill-ok"}" x="${labelWidth}" y="${y}" width="${(barWidth * share).toFixed(1)}" height="${barHeight}" rx="3"/><text class="${full ? "value warn" : "value"}" x="${labelWidth + barWidth + 12}" y="${y + 12}">${percent} %</text><text class="muted" x="${labelWidth + barWidth + 56}" y="${y + 12}">${bytes(s.used)} of ${bytes(s.total)}</text></g>`;
  });
  const height = top + storages.length * rowHeight;
  return SVG(
    width,
    height,
    "Storage usage",
    markup`${rows}<line class="limit" x1="${limitX}" y1="12" x2="${limitX}" y2="${height - 8}"/><text class="muted small" x="${limitX}" y="9" text-anchor="middle">${Math.round(STORAGE_LIMIT * 100)} %</text>`,
    "min-680",
  );
}

// ------------------------------------------------------------------ sections

const STATE_TEXT: Readonly<Record<BackupState, string>> = {
  covered: "covered",
  partial: "covered, disks left out",
  disabled: "only in disabled jobs",
  excluded: "excluded",
  none: "not covered",
  unknown: "unknown",
};

const STATE_CLASS: Readonly<Record<BackupState, string>> = {
  covered: "ok",
  partial: "sev-medium",
  disabled: "sev-high",
  excluded: "sev-high",
  none: "sev-high",
  unknown: "sev-info",
};

/** What the token could not see of one part, and the other limits of what was read for it. */
function inventoryNotes(inventory: AuditInventory, about: InventoryNote["about"]): Markup {
  const items = [
    ...inventory.notVisible
      .filter((n) => n.about === about)
      .map((n) => markup`<li>${n.what}: not visible to this token (needs ${n.needs})</li>`),
    ...inventory.notes.filter((n) => n.about === about).map((n) => markup`<li>${n.what}</li>`),
  ];
  return items.length > 0 ? markup`<ul class="notes">${items}</ul>` : markup``;
}

function storageSection(inventory: AuditInventory | undefined): Markup {
  if (!inventory) return markup`<p class="empty">Not collected in this report.</p>`;
  return markup`${
    inventory.storages.length > 0
      ? storageChart(inventory.storages)
      : markup`<p class="empty">No storage visible to this token.</p>`
  }${inventoryNotes(inventory, "storage")}`;
}

function backupSection(inventory: AuditInventory | undefined, now: number): Markup {
  if (!inventory) return markup`<p class="empty">Not collected in this report.</p>`;
  const jobs = new Map((inventory.backupJobs ?? []).map((j) => [j.id, j]));
  // The comment says what a job is for ("prod nightly"); the id is a random suffix.
  const jobName = (id: string) => {
    const comment = jobs.get(id)?.comment;
    return comment ? `“${comment}”` : id;
  };
  // Hidden from every guest (a PVEAuditor token), the column would repeat the note above it.
  const anyBackupVisible = inventory.guests.some((g) => g.backupsVisible);
  const counts = new Map<BackupState, number>();
  for (const g of inventory.guests) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
  const summary = (Object.keys(STATE_TEXT) as BackupState[])
    .filter((s) => counts.get(s))
    .map((s) => markup`<li class="${STATE_CLASS[s]}"><b>${counts.get(s)}</b> ${STATE_TEXT[s]}</li>`);
  const lastBackup = (g: InventoryGuest) => {
    if (!g.backupsVisible) return markup`<span class="muted">not visible to this token</span>`;
    if (!g.lastBackup) return markup`<span class="muted">none found</span>`;
    const seconds = now - g.lastBackup.time;
    if (!Number.isFinite(seconds)) return markup`<span class="muted">on ${g.lastBackup.storage}</span>`;
    return markup`<span class="${seconds > BACKUP_MAX_AGE_DAYS * DAY ? "stale" : ""}">${age(seconds)} ago</span> <span class="muted">on ${g.lastBackup.storage}</span>`;
  };
  const jobCell = (g: InventoryGuest) => {
    if (inventory.backupJobs === null) return markup`<span class="muted">not visible to this token</span>`;
    if (g.jobs.length > 0) return g.jobs.map((id) => markup`<span>${jobName(id)}</span>`);
    // Why it is not backed up: what a disabled or an excluding job would change.
    const why: Markup[] = [];
    if (g.disabledJobs.length > 0)
      why.push(markup`<span class="muted">disabled: ${g.disabledJobs.map(jobName).join(", ")}</span>`);
    if (g.excludedBy.length > 0)
      why.push(markup`<span class="muted">excluded by: ${g.excludedBy.map(jobName).join(", ")}</span>`);
    return why.length > 0 ? why : markup`<span class="muted">none</span>`;
  };
  const rows = inventory.guests.map(
    (g) =>
      markup`<tr><td class="nowrap">${g.type === "lxc" ? "CT" : "VM"} ${g.vmid}</td><td>${g.name}${g.template ? markup` <span class="muted">(template)</span>` : ""}</td><td>${g.node}</td><td>${g.tags.map((t) => markup`<span class="tag">${t}</span>`)}</td><td class="jobs">${jobCell(g)}</td>${anyBackupVisible ? markup`<td>${lastBackup(g)}</td>` : ""}<td><span class="badge ${STATE_CLASS[g.state]}">${STATE_TEXT[g.state]}</span></td></tr>`,
  );
  const listed =
    inventory.guestsTotal > inventory.guests.length
      ? `${inventory.guests.length} of ${inventory.guestsTotal} guests listed (least covered first)`
      : plural(inventory.guestsTotal, "guest");
  return markup`<ul class="states"><li class="total"><b>${listed}</b></li>${summary}</ul>${inventoryNotes(inventory, "backups")}${
    rows.length > 0
      ? markup`<div class="table-wrap"><table class="coverage"><thead><tr><th>Guest</th><th>Name</th><th>Node</th><th>Tags</th><th>Backup jobs</th>${anyBackupVisible ? markup`<th>Last backup</th>` : ""}<th>State</th></tr></thead><tbody>${rows}</tbody></table></div>`
      : markup`<p class="empty">No guest visible to this token.</p>`
  }`;
}

function findingCard(f: Finding): Markup {
  return markup`<article class="finding sev-${f.severity}"><div class="fhead"><p class="ftitle">${f.title}</p><code class="obj">${f.object}</code></div><dl><dt>Seen</dt><dd>${f.evidence}</dd><dt>Fix</dt><dd><pre class="fix"><code>${f.remediation}</code></pre></dd></dl></article>`;
}

function findingsSection(findings: readonly Finding[], checks: Map<string, CheckInfo>): Markup {
  if (findings.length === 0) return markup`<p class="empty">No findings.</p>`;
  return markup`${SEVERITIES.map((severity) => {
    const group = findings.filter((f) => f.severity === severity);
    if (group.length === 0) return "";
    const byCheck = new Map<string, Finding[]>();
    for (const f of group) byCheck.set(f.code, [...(byCheck.get(f.code) ?? []), f]);
    return markup`<div class="severity sev-${severity}"><h3><span class="dot"></span>${severity} <span class="count">${group.length}</span></h3>${[
      ...byCheck,
    ].map(([code, list]) => {
      const info = checks.get(code);
      const shown = list.slice(0, MAX_FINDINGS_PER_CHECK);
      const more = list.length - shown.length;
      return markup`<div class="check"><h4><span class="code">${code}</span> ${info?.title ?? list[0]!.check} <span class="count">${list.length}</span></h4>${
        info && info.references.length > 0
          ? markup`<p class="refs">Read up: ${info.references.map((r, i) => markup`${i > 0 ? ", " : ""}${reference(r)}`)}</p>`
          : ""
      }${shown.map(findingCard)}${
        more > 0
          ? markup`<p class="more">${more} more finding(s) of this check are not shown here: proxmox-mcp audit --format json lists them all.</p>`
          : ""
      }</div>`;
    })}</div>`;
  })}`;
}

function waivedSection(report: HtmlReport): Markup {
  const waived = report.waived ?? [];
  const unused = report.unusedWaivers ?? [];
  return markup`${
    waived.length > 0
      ? markup`<div class="table-wrap"><table><thead><tr><th>Code</th><th>Object</th><th>Finding</th><th>Reason</th><th>Until</th></tr></thead><tbody>${waived
          .slice(0, MAX_LISTED)
          .map(
            (f) =>
              markup`<tr class="waived"><td class="nowrap"><span class="code">${f.code}</span></td><td><code>${f.object}</code></td><td>${f.title}</td><td>${f.waiver.reason}</td><td class="nowrap">${f.waiver.expires}</td></tr>`,
          )}</tbody></table></div>`
      : markup`<p class="empty">No waived findings.</p>`
  }${
    unused.length > 0
      ? markup`<h3 class="sub">Waivers that match no finding (${unused.length}): fixed or renamed; remove or correct them</h3><ul class="notes">${unused
          .slice(0, MAX_LISTED)
          .map(
            (w) =>
              markup`<li><span class="code">${w.code}</span> <code>${w.object}</code> (until ${w.expires})</li>`,
          )}</ul>`
      : ""
  }`;
}

function gapsSection(gaps: readonly Finding[]): Markup {
  if (gaps.length === 0) return markup`<p class="empty">This token saw everything the checks look at.</p>`;
  return markup`${gaps.map(
    (g) =>
      markup`<article class="gap"><p class="ftitle">${g.object}</p><p class="needs">needs <b>${needsOf(g)}</b> <span class="muted">(${g.code} ${g.check})</span></p><pre class="fix"><code>${g.remediation}</code></pre></article>`,
  )}`;
}

function errorsSection(errors: AuditReport["errors"]): Markup {
  if (errors.length === 0) return markup`<p class="empty">Every check ran in full.</p>`;
  return markup`<ul class="errors">${errors
    .slice(0, MAX_LISTED)
    .map((e) => markup`<li><span class="code">${e.check}</span> ${e.message}</li>`)}</ul>`;
}

// ------------------------------------------------------------------ page

type CheckInfo = Pick<AuditCheck, "title" | "references">;

const CSS = `
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--text:#1d2430;--muted:#5e6a78;--line:#e2e6eb;--track:#eceff3;--code-bg:#f2f4f7;--ok:#3b7f71;--critical:#a3213a;--high:#c4532a;--medium:#b98517;--low:#3d72b4;--info:#7b8794}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1c2027;--text:#e3e6ea;--muted:#9aa4b0;--line:#2d333c;--track:#2a3039;--code-bg:#252a32;--ok:#5fb3a1;--critical:#ef6b82;--high:#f0895a;--medium:#e2b441;--low:#75a7e6;--info:#a3adb8}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
.page{max-width:1100px;margin:0 auto;padding:36px 28px 56px}
code,pre,.code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.87em}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.09em;font-size:12px;font-weight:650;color:var(--muted)}
h1{font-size:30px;line-height:1.2;margin:6px 0 6px;letter-spacing:-.015em}
.meta{margin:0;color:var(--muted);font-size:14px}
.counts{display:flex;flex-wrap:wrap;gap:10px;list-style:none;padding:0;margin:22px 0 0}
.counts li{background:var(--card);border:1px solid var(--line);border-top:3px solid var(--sev,var(--line));border-radius:8px;padding:9px 16px 8px;min-width:104px}
.counts b{display:block;font-size:24px;line-height:1.15;font-weight:650}
.counts span{font-size:13px;color:var(--muted)}
nav{display:flex;flex-wrap:wrap;gap:4px 18px;margin:18px 0 0;font-size:14px}
nav a{color:var(--muted);text-decoration:none;white-space:nowrap}
nav a:hover{color:var(--text)}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:22px 26px 24px;margin-top:22px}
h2{font-size:19px;margin:0 0 4px;letter-spacing:-.005em}
.lead{color:var(--muted);margin:0 0 18px;font-size:14px}
.charts{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr);gap:32px;align-items:start}
figure{margin:0}
figcaption{font-weight:600;font-size:14px;margin:0 0 10px}
.chart-box{overflow-x:auto}
svg.chart{display:block;width:100%;max-width:100%;height:auto}
svg.min-480{min-width:480px}
svg.min-680{min-width:680px}
svg text{fill:var(--text);font-size:12.5px;font-family:inherit}
svg text.muted{fill:var(--muted)}
svg text.value{font-weight:600}
svg text.warn{fill:var(--high)}
svg text.code{font-size:11px;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace}
svg text.small{font-size:11px}
.axis{stroke:var(--line);stroke-width:1}
.track{fill:var(--track)}
.limit{stroke:var(--high);stroke-width:1.5;stroke-dasharray:4 3}
.fill-ok{fill:var(--ok)}
.fill-critical{fill:var(--critical)}.fill-high{fill:var(--high)}.fill-medium{fill:var(--medium)}.fill-low{fill:var(--low)}.fill-info{fill:var(--info)}
.sev-critical{--sev:var(--critical)}.sev-high{--sev:var(--high)}.sev-medium{--sev:var(--medium)}.sev-low{--sev:var(--low)}.sev-info{--sev:var(--info)}.ok{--sev:var(--ok)}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;list-style:none;padding:0;margin:12px 0 0;font-size:13px;color:var(--muted)}
.legend li::before{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;background:var(--sev);margin-right:6px}
.muted{color:var(--muted)}
.empty{color:var(--muted);font-style:italic;margin:6px 0}
.notes{margin:12px 0 0;padding-left:20px;color:var(--muted);font-size:13.5px}
.states{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0 0 12px;font-size:13.5px}
.states li{border:1px solid var(--line);border-left:3px solid var(--sev,var(--line));border-radius:6px;padding:3px 10px}
.states li.total{border-left-color:var(--text)}
.table-wrap{overflow-x:auto;margin-top:14px}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th{text-align:left;font-size:11.5px;font-weight:650;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);padding:8px 10px;border-bottom:1px solid var(--line);background:var(--card);position:sticky;top:0}
td{padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:last-child td{border-bottom:none}
.nowrap{white-space:nowrap}
.tag{display:inline-block;font-size:11.5px;background:var(--code-bg);border:1px solid var(--line);border-radius:4px;padding:0 6px;margin:1px 4px 1px 0}
.jobs span{display:block}
.badge{display:inline-block;white-space:nowrap;font-size:12px;font-weight:600;color:var(--sev);border:1px solid var(--sev);border-radius:999px;padding:0 9px}
.stale{color:var(--high);font-weight:600}
.severity{margin-top:26px}
.severity:first-of-type{margin-top:8px}
h3{font-size:16px;margin:0 0 10px;text-transform:capitalize;display:flex;align-items:center;gap:8px}
h3 .dot{width:10px;height:10px;border-radius:50%;background:var(--sev);display:inline-block}
h3.sub{text-transform:none;font-size:14px;margin-top:20px}
.count{display:inline-block;font-size:12px;font-weight:600;color:var(--muted);background:var(--code-bg);border-radius:999px;padding:0 8px;text-transform:none}
.check{margin:0 0 18px}
h4{font-size:14.5px;margin:16px 0 2px;font-weight:600}
h4 .code,td .code,li .code{color:var(--muted);font-weight:500;margin-right:4px}
.refs{margin:0 0 6px;font-size:12.5px;color:var(--muted)}
.refs a{color:var(--low)}
.finding,.gap{border:1px solid var(--line);border-left:3px solid var(--sev,var(--info));border-radius:8px;padding:9px 16px 10px;margin:8px 0 0}
.ftitle{margin:0 0 4px;font-weight:600}
.fhead{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:0 14px;margin:0 0 4px}
.fhead .ftitle{margin:0}
.obj{margin-left:auto;font-size:12.5px;color:var(--muted);background:var(--code-bg);border-radius:4px;padding:1px 7px;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:64px minmax(0,1fr);gap:2px 12px;margin:0;font-size:14px}
dt{color:var(--muted);font-size:12.5px;padding-top:1px}
dd{margin:0;overflow-wrap:anywhere}
pre.fix{margin:2px 0 0;background:var(--code-bg);border-radius:6px;padding:6px 10px;white-space:pre-wrap;overflow-wrap:anywhere;user-select:all;-webkit-user-select:all}
.needs{margin:0 0 6px;font-size:14px}
.more{color:var(--muted);font-size:13px;margin:8px 0 0}
.errors{padding-left:20px;margin:0}
footer{color:var(--muted);font-size:12.5px;margin:26px 4px 0;line-height:1.6}
@media (max-width:760px){.page{padding:20px 12px 40px}section{padding:16px 14px 18px;border-radius:10px}.charts{grid-template-columns:minmax(0,1fr);gap:24px}h1{font-size:24px}dl{grid-template-columns:minmax(0,1fr)}dt{padding-top:4px}.counts li{min-width:0;flex:1 1 30%}}
@media print{:root{--bg:#fff;--card:#fff;--text:#111;--muted:#555;--line:#ccc;--track:#e8e8e8;--code-bg:#f3f3f3;--ok:#3b7f71;--critical:#a3213a;--high:#c4532a;--medium:#b98517;--low:#3d72b4;--info:#7b8794}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}body{font-size:10pt}.page{max-width:none;padding:0}nav{display:none}section{border:none;border-radius:0;padding:0;margin-top:18pt}.finding,.gap,tr,figure{break-inside:avoid}th{position:static}h2,h3,h4{break-after:avoid}.refs a::after{content:" <" attr(href) ">"}pre.fix{white-space:pre-wrap}}
`;

const STYLE_HASH = createHash("sha256").update(CSS).digest("base64");

/** The policy: nothing may load or run; only our one style element, by its hash. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

/** The report as one HTML file: no script, nothing loaded, every string from the cluster escaped. */
export function renderHtmlReport(input: HtmlReport, options: HtmlOptions): string {
  const report: HtmlReport = { ...input, ...cleanReport(input) };
  const checks = new Map((options.checks ?? AUDIT_CHECKS).map((c) => [c.code, c]));
  const gaps = report.findings.filter(isGapFinding);
  const findings = report.findings.filter((f) => !isGapFinding(f));
  const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const waived = report.waived ?? [];
  const now = Math.floor(Date.parse(report.generatedAt) / 1000);
  const title = report.cluster ? `Cluster ${report.cluster}` : "Proxmox VE";
  const inventory = report.inventory;

  const page = markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="proxmox-mcp-hardened ${options.version}">
<title>Security audit: ${title}</title>
<style>${new Markup(CSS)}</style>
</head>
<body>
<div class="page">
<header>
<p class="eyebrow">Proxmox VE security audit</p>
<h1>${title}</h1>
<p class="meta">${when(report.generatedAt)} · ${plural(report.checksRun, "check")} run · proxmox-mcp-hardened ${options.version}</p>
<ul class="counts">${SEVERITIES.map(
    (s) => markup`<li class="sev-${s}"><b>${counts[s]}</b><span>${s}</span></li>`,
  )}<li><b>${gaps.length}</b><span>not visible</span></li><li><b>${waived.length}</b><span>waived</span></li><li class="${report.errors.length > 0 ? "sev-high" : ""}"><b>${report.errors.length}</b><span>check errors</span></li></ul>
<nav><a href="#summary">Summary</a><a href="#storage">Storage</a><a href="#backups">Backups</a><a href="#findings">Findings</a><a href="#waived">Waived</a><a href="#gaps">Not visible</a><a href="#errors">Check errors</a></nav>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
<p class="lead">${findings.length > 0 ? `${plural(findings.length, "finding")} of ${report.checksRun} checks` : "No findings"}${gaps.length > 0 ? `; ${gaps.length} thing(s) this token could not see are listed apart and not counted here` : ""}.</p>
<div class="charts">
<figure><figcaption>Findings by severity</figcaption>${severityChart(counts)}</figure>
<figure><figcaption>Findings by area</figcaption>${areaChart(findings)}<ul class="legend">${SEVERITIES.map(
    (s) => markup`<li class="sev-${s}">${s}</li>`,
  )}</ul></figure>
</div>
</section>
<section id="storage">
<h2>Storage usage</h2>
<p class="lead">Per storage, and per node for a node-local one; fuller than ${Math.round(STORAGE_LIMIT * 100)} % is drawn in orange.</p>
${storageSection(inventory)}
</section>
<section id="backups">
<h2>Backup coverage</h2>
<p class="lead">Each guest, the enabled backup jobs that include it, and its newest backup where this token may see it.</p>
${backupSection(inventory, now)}
</section>
<section id="findings">
<h2>Findings <span class="count">${findings.length}</span></h2>
<p class="lead">Most severe first, grouped by check. Names and messages come from the cluster: data, not instructions.</p>
${findingsSection(findings, checks)}
</section>
<section id="waived">
<h2>Waived <span class="count">${waived.length}</span></h2>
<p class="lead">Findings accepted in the waivers file, until the waiver expires.</p>
${waivedSection(report)}
</section>
<section id="gaps">
<h2>Not visible to this token <span class="count">${gaps.length}</span></h2>
<p class="lead">What the checks could not see, and the privilege that would show it: not a pass.</p>
${gapsSection(gaps)}
</section>
<section id="errors">
<h2>Checks that failed <span class="count">${report.errors.length}</span></h2>
<p class="lead">Their results are incomplete.</p>
${errorsSection(report.errors)}
</section>
</main>
<footer>Generated by proxmox-mcp-hardened ${options.version} (proxmox-mcp audit --format html). This file has no script and loads nothing. The same report as data: --format json.</footer>
</div>
</body>
</html>
`;
  return page.value;
}
