/**
 * The HTML report as text: every string from the cluster escaped and cleaned wherever it
 * lands (text, attribute, SVG), nothing that could load or run (no src, links only to
 * the checks' https references, a Content-Security-Policy whose style hash matches), the
 * sections for waived findings, gaps and failed checks, an empty report, and the size
 * of a 2,000-guest report. `proxmox-mcp audit --format html` prints it.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GAP_TITLE_PREFIX, type Finding } from "../../src/audit/index.js";
import {
  CONTENT_SECURITY_POLICY,
  escapeHtml,
  MAX_FINDINGS_PER_CHECK,
  renderHtmlReport,
  type HtmlReport,
} from "../../src/audit/html.js";
import { MAX_INVENTORY_GUESTS } from "../../src/audit/inventory.js";
import type { AuditInventory, InventoryGuest } from "../../src/audit/types.js";
import { runAuditCommand } from "../../src/commands/audit.js";
import { startSimulator } from "../../src/simulator/index.js";
import { runIn } from "../commands/io.js";
import { simEnv } from "../e2e/harness.js";
import { CONTROL_OR_INVISIBLE, HOSTILE_REMAINDERS, HOSTILE_TEXT } from "../helpers/hostile-text.js";
import { testScenario } from "../helpers/scenarios.js";

/** Markup and script in every form a field could carry, plus the terminal and bidi tricks. */
const EVIL = `<script>alert(1)</script></style><img src=x onerror=alert(2)>"onmouseover="alert(3)' &amp; javascript:alert(4) ${HOSTILE_TEXT}`;

function finding(over: Partial<Finding> = {}): Finding {
  return {
    code: "PVE-ACC-001",
    check: "token-privsep",
    severity: "high",
    title: "Token ops@pve!ansible runs without privilege separation",
    object: "ops@pve!ansible",
    evidence: "privsep 0",
    remediation: "pveum user token modify ops@pve ansible --privsep 1",
    ...over,
  };
}

function guest(vmid: number, over: Partial<InventoryGuest> = {}): InventoryGuest {
  return {
    vmid,
    type: "qemu",
    name: `guest-${vmid}`,
    node: "pve1",
    tags: ["prod"],
    template: false,
    state: "covered",
    jobs: ["backup-9e1d4c7a-2b6f"],
    disabledJobs: [],
    excludedBy: [],
    backupsVisible: true,
    lastBackup: { time: 1_795_000_000, storage: "nfs-backup" },
    ...over,
  };
}

function inventory(over: Partial<AuditInventory> = {}): AuditInventory {
  return {
    storages: [
      {
        storage: "tank",
        node: "pve2",
        type: "zfspool",
        shared: false,
        used: 94,
        total: 100,
        content: ["images"],
      },
    ],
    storagesOmitted: 0,
    backupJobs: [
      {
        id: "backup-9e1d4c7a-2b6f",
        enabled: true,
        comment: "prod nightly",
        schedule: "01:00",
        storage: "nfs-backup",
      },
    ],
    guests: [guest(100)],
    guestsTotal: 1,
    notVisible: [],
    notes: [],
    ...over,
  };
}

function report(over: Partial<HtmlReport> = {}): HtmlReport {
  return {
    generatedAt: "2026-11-21T10:00:00.000Z",
    cluster: "lab",
    checksRun: 38,
    findings: [finding()],
    errors: [],
    inventory: inventory(),
    ...over,
  };
}

/** Every field that carries text from the cluster (or from a check that quotes it) set to EVIL. */
function hostileReport(): HtmlReport {
  const evilFinding = finding({
    check: EVIL,
    title: EVIL,
    object: EVIL,
    evidence: EVIL,
    remediation: EVIL,
  });
  return report({
    cluster: EVIL,
    generatedAt: EVIL,
    findings: [
      evilFinding,
      finding({ code: EVIL, severity: "critical" }),
      finding({
        severity: "info",
        title: `${GAP_TITLE_PREFIX}${EVIL}`,
        object: EVIL,
        evidence: `not visible to this token: needs ${EVIL}`,
        remediation: EVIL,
      }),
    ],
    errors: [{ check: EVIL, message: EVIL }],
    waived: [{ ...evilFinding, waiver: { reason: EVIL, expires: EVIL } }],
    unusedWaivers: [{ code: EVIL, object: EVIL, reason: EVIL, expires: EVIL }],
    inventory: inventory({
      storages: [
        { storage: EVIL, node: EVIL, type: EVIL, shared: false, used: 1, total: 2, content: [EVIL] },
        { storage: EVIL, node: null, type: EVIL, shared: true, used: null, total: null, content: [] },
      ],
      backupJobs: [{ id: EVIL, enabled: true, comment: EVIL, schedule: EVIL, storage: EVIL }],
      guests: [
        guest(100, {
          name: EVIL,
          node: EVIL,
          tags: [EVIL, EVIL],
          jobs: [EVIL],
          lastBackup: { time: 1, storage: EVIL },
        }),
        guest(101, { name: EVIL, state: "disabled", jobs: [], disabledJobs: [EVIL], excludedBy: [EVIL] }),
      ],
      guestsTotal: 2,
      notVisible: [
        { about: "backups", what: EVIL, needs: EVIL },
        { about: "storage", what: EVIL, needs: EVIL },
      ],
      notes: [
        { about: "backups", what: EVIL },
        { about: "storage", what: EVIL },
      ],
    }),
  });
}

/** The tags of the page: text cannot hold a "<" once escaped, so these are all of them. */
function tags(html: string): string[] {
  return html.match(/<[a-zA-Z!][^>]*>/g) ?? [];
}

/** The values of every attribute named `name` in the tags (double-quoted, as the report writes them). */
function attributes(html: string, name: string): string[] {
  return tags(html).flatMap((tag) =>
    [...tag.matchAll(new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, "gi"))].map((m) => m[1]!),
  );
}

const OPTIONS = { version: "0.1.0" };

describe("escaping", () => {
  const html = renderHtmlReport(hostileReport(), {
    ...OPTIONS,
    checks: [
      {
        code: "PVE-ACC-001",
        title: EVIL,
        references: [
          "javascript:alert(5)",
          'https://example.com/"><script>alert(6)</script>',
          "http://example.com/plain",
          "https://pve.proxmox.com/pve-docs/chapter-pveum.html#pveum_tokens",
        ],
      },
    ],
  });

  it("no markup of the cluster's survives: no script, no second style end, no event handler", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html.match(/<\/style>/gi)).toHaveLength(1);
    for (const tag of tags(html)) expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toContain('"onmouseover=');
    // The text is still there, as text.
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/style&gt;");
    expect(html).toContain("&quot;onmouseover=&quot;alert(3)&#39; &amp;amp;");
  });

  it("no control, bidi or zero-width character, and nothing of the terminal sequences", () => {
    expect(html.replace(/\n/g, "")).not.toMatch(CONTROL_OR_INVISIBLE);
    for (const remainder of HOSTILE_REMAINDERS) expect(html).not.toContain(remainder);
  });

  it("links only to https references: never javascript:, a plain http: one or a broken-out quote", () => {
    expect(attributes(html, "src")).toEqual([]);
    expect(attributes(html, "action")).toEqual([]);
    expect(attributes(html, "xlink:href")).toEqual([]);
    const external = attributes(html, "href").filter((h) => !h.startsWith("#"));
    expect(external).toEqual(["https://pve.proxmox.com/pve-docs/chapter-pveum.html#pveum_tokens"]);
    expect(attributes(html, "href").filter((h) => h.startsWith("#"))).toEqual([
      "#summary",
      "#storage",
      "#backups",
      "#findings",
      "#waived",
      "#gaps",
      "#errors",
    ]);
    // The refused references show as text, escaped.
    expect(html).toContain("<span>javascript:alert(5)</span>");
    expect(html).toContain("https://example.com/&quot;&gt;&lt;script&gt;");
  });

  it("no url() or @import a missed escape could use, and no http address outside the reference links", () => {
    expect(html).not.toMatch(/url\(|@import/i);
    const addresses = [...html.matchAll(/\b(?:https?|ftp|wss?):\/\/[^\s"'<>]*/gi)].map((m) => m[0]);
    expect(new Set(addresses)).toEqual(
      new Set([
        "https://pve.proxmox.com/pve-docs/chapter-pveum.html#pveum_tokens",
        "https://example.com/&quot;&gt;&lt;script&gt;alert(6)&lt;/script&gt;",
        "http://example.com/plain",
      ]),
    );
  });
});

describe("the page", () => {
  it("carries a CSP that loads and runs nothing, and its hash is the one style element's", () => {
    const html = renderHtmlReport(report(), OPTIONS);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">`,
    );
    expect(CONTENT_SECURITY_POLICY).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:;/,
    );
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = createHash("sha256").update(style).digest("base64");
    expect(CONTENT_SECURITY_POLICY).toContain(`'sha256-${hash}'`);
    expect(attributes(html, "style")).toEqual([]);
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html).toContain("@media print");
    expect(html).toContain("prefers-color-scheme:dark");
  });

  it("the header: cluster, time, checks, version and the counts per severity", () => {
    const html = renderHtmlReport(report(), OPTIONS);
    expect(html).toContain("<h1>Cluster lab</h1>");
    expect(html).toContain("2026-11-21 10:00 UTC · 38 checks run · proxmox-mcp-hardened 0.1.0");
    expect(html).toContain('<li class="sev-high"><b>1</b><span>high</span></li>');
    expect(html).toContain('<li class="sev-critical"><b>0</b><span>critical</span></li>');
  });

  it("a finding: code, check title, object, evidence, the fix in a code block, the check's references", () => {
    const html = renderHtmlReport(report(), OPTIONS);
    expect(html).toContain('<span class="code">PVE-ACC-001</span> API tokens without privilege separation');
    expect(html).toContain(
      '<code class="obj">ops@pve!ansible</code></div><dl><dt>Seen</dt><dd>privsep 0</dd>',
    );
    expect(html).toContain(
      '<pre class="fix"><code>pveum user token modify ops@pve ansible --privsep 1</code></pre>',
    );
    expect(html).toContain('href="https://pve.proxmox.com/pve-docs/chapter-pveum.html#pveum_tokens"');
  });

  it("waived findings with reason and expiry, unused waivers, gaps with what they need, failed checks", () => {
    const gap: Finding = finding({
      code: "PVE-BAK-002",
      check: "backup-age",
      severity: "info",
      title: `${GAP_TITLE_PREFIX}the last backup of every guest: needs VM.Backup on /vms/{vmid}`,
      object: "the last backup of every guest",
      evidence:
        "not visible to this token (PVE refuses or silently filters it): needs VM.Backup on /vms/{vmid}",
      remediation: "check this by hand in the GUI",
    });
    const html = renderHtmlReport(
      report({
        findings: [finding(), gap],
        waived: [
          {
            ...finding({ object: "ci@pve!runner" }),
            waiver: { reason: "rotated by Vault", expires: "2027-03-31" },
          },
        ],
        unusedWaivers: [{ code: "PVE-ACC-003", object: "gone@pve", reason: "old", expires: "2027-01-01" }],
        errors: [{ check: "node-updates", message: "pve2: 595 no route to host" }],
      }),
      OPTIONS,
    );
    const section = (id: string) => new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html)![1]!;
    expect(section("waived")).toContain("<code>ci@pve!runner</code>");
    expect(section("waived")).toContain('<td>rotated by Vault</td><td class="nowrap">2027-03-31</td>');
    expect(section("waived")).toContain("<code>gone@pve</code> (until 2027-01-01)");
    expect(section("gaps")).toContain('<p class="ftitle">the last backup of every guest</p>');
    expect(section("gaps")).toContain("needs <b>VM.Backup on /vms/{vmid}</b>");
    expect(section("errors")).toContain('<span class="code">node-updates</span> pve2: 595 no route to host');
    // A gap is not counted as a finding.
    expect(section("findings").match(/<article class="finding/g)).toHaveLength(1);
    expect(section("summary")).toContain("1 finding of 38 checks; 1 thing(s) this token could not see");
  });

  it("an empty report says so in every section", () => {
    const { inventory: _, ...without } = report({ findings: [] });
    const html = renderHtmlReport(without, OPTIONS);
    expect(html).toContain('<p class="empty">No findings.</p>');
    expect(html).toContain("This token saw everything the checks look at.");
    expect(html).toContain("Every check ran in full.");
    expect(html).toContain("No waived findings.");
    expect(html.match(/Not collected in this report\./g)).toHaveLength(2);
    expect(html).not.toContain("<article");
  });

  it("what the token could not see is said where it is missing, never an empty table", () => {
    const html = renderHtmlReport(
      report({
        inventory: inventory({
          backupJobs: null,
          guests: [guest(100, { state: "unknown", jobs: [], backupsVisible: false, lastBackup: null })],
          notVisible: [
            { about: "backups", what: "backup jobs", needs: "Sys.Audit on /" },
            {
              about: "storage",
              what: "storages this token may not see",
              needs: "Datastore.Audit on /storage",
            },
            { about: "backups", what: "the last backup of every guest", needs: "VM.Backup on /vms/{vmid}" },
          ],
          storages: [],
        }),
      }),
      OPTIONS,
    );
    expect(html).toContain("<li>backup jobs: not visible to this token (needs Sys.Audit on /)</li>");
    expect(html).toContain(
      "storages this token may not see: not visible to this token (needs Datastore.Audit on /storage)",
    );
    expect(html).toContain("No storage visible to this token.");
    expect(html).toContain('<td class="jobs"><span class="muted">not visible to this token</span></td>');
    expect(html).toContain('<span class="badge sev-info">unknown</span>');
    // No guest's backups visible: the note says it once, no column repeats it.
    expect(html).toContain(
      "<li>the last backup of every guest: not visible to this token (needs VM.Backup on /vms/{vmid})</li>",
    );
    expect(html).not.toContain("<th>Last backup</th>");
  });

  it("the backup table: a job by its comment, why a guest is not covered, its last backup where visible", () => {
    const html = renderHtmlReport(
      report({
        inventory: inventory({
          guests: [
            guest(101, {
              state: "disabled",
              jobs: [],
              disabledJobs: ["backup-9e1d4c7a-2b6f"],
              lastBackup: null,
            }),
            guest(102, { state: "excluded", jobs: [], excludedBy: ["backup-0c84"], backupsVisible: false }),
            guest(100, { lastBackup: { time: Date.parse("2026-11-01T10:00:00Z") / 1000, storage: "nfs" } }),
          ],
        }),
      }),
      OPTIONS,
    );
    const row = (vmid: number) => new RegExp(`<tr><td class="nowrap">VM ${vmid}</td>.*?</tr>`).exec(html)![0];
    expect(row(101)).toContain('<span class="muted">disabled: “prod nightly”</span>');
    expect(row(101)).toContain('<span class="muted">none found</span>');
    expect(row(101)).toContain("only in disabled jobs");
    expect(row(102)).toContain('<span class="muted">excluded by: backup-0c84</span>');
    expect(row(102)).toContain('<span class="muted">not visible to this token</span>');
    expect(row(100)).toContain("<span>“prod nightly”</span>");
    expect(row(100)).toContain('<span class="stale">20 d ago</span> <span class="muted">on nfs</span>');
    expect(html).toContain("<th>Last backup</th>");
  });
});

describe("at scale", () => {
  it(`2,000 guests and thousands of findings stay under 2 MB; past ${MAX_FINDINGS_PER_CHECK} findings a check says how many are not shown`, () => {
    const guests = Array.from({ length: MAX_INVENTORY_GUESTS }, (_, i) =>
      guest(1000 + i, {
        name: `k8s-worker-${String(i).padStart(4, "0")}.cluster.example.internal`,
        tags: ["k8s", "prod", "team-platform"],
        state: i % 3 === 0 ? "none" : "covered",
        jobs: i % 3 === 0 ? [] : ["backup-9e1d4c7a-2b6f"],
      }),
    );
    const checks = ["PVE-FWL-003", "PVE-BAK-001", "PVE-GST-001", "PVE-GST-002", "PVE-CTR-001"];
    const findings = checks.flatMap((code) =>
      guests.map((g) =>
        finding({
          code,
          object: `VM ${g.vmid}`,
          title: `VM ${g.vmid} (${g.name}) has a problem this check describes in one line`,
          evidence: "net0 without firewall=1: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,tag=20",
        }),
      ),
    );
    const html = renderHtmlReport(
      report({
        findings,
        inventory: inventory({
          guests,
          guestsTotal: 2400,
          storages: Array.from({ length: 100 }, (_, i) => ({
            storage: "local-lvm",
            node: `pve${i}`,
            type: "lvmthin",
            shared: false,
            used: i,
            total: 100,
            content: ["images"],
          })),
          storagesOmitted: 50,
        }),
      }),
      OPTIONS,
    );
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024);
    expect(html.match(/<article class="finding/g)).toHaveLength(checks.length * MAX_FINDINGS_PER_CHECK);
    expect(html).toContain(
      `${MAX_INVENTORY_GUESTS - MAX_FINDINGS_PER_CHECK} more finding(s) of this check are not shown here: proxmox-mcp audit --format json lists them all.`,
    );
    expect(html).toContain(`${MAX_INVENTORY_GUESTS} of 2400 guests listed (least covered first)`);
    expect(html.match(/<tr><td class="nowrap">VM /g)).toHaveLength(MAX_INVENTORY_GUESTS);
  });
});

describe("proxmox-mcp audit --format html", () => {
  it("prints the page, exit code as for the other formats; the usage names it", async () => {
    const sim = await startSimulator({ scenario: testScenario() });
    try {
      const ran = await runIn(runAuditCommand, ["--format", "html"], simEnv(sim));
      expect(ran.code, ran.stderr).toBe(1);
      expect(ran.stdout.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
      expect(ran.stdout.trimEnd().endsWith("</html>")).toBe(true);
      expect(ran.stdout).toContain('<table class="coverage">');
      expect(ran.stdout).toContain('aria-label="Storage usage"');
      for (const token of Object.values(sim.tokens)) expect(ran.stdout).not.toContain(token.secret);
      const help = await runIn(runAuditCommand, ["--help"], {});
      expect(help.stdout).toContain("--format text|json|sarif|html");
      const bad = await runIn(runAuditCommand, ["--format", "pdf"], {});
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--format must be one of text, json, sarif, html");
    } finally {
      await sim.close();
    }
  });
});
