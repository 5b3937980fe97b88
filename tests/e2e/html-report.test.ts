/**
 * The HTML report (`proxmox-mcp audit --format html`) of the demo cluster, as the
 * auditor token sees it, opened in Debian's headless Chromium: it renders (headings,
 * charts of non-zero size, as many findings on the page as in the report, the backup
 * table), the page logs no error, and it requests nothing but its own file. The
 * full-page screenshot goes to ci-output/audit-report.png, and with UPDATE_DOCS=1 to
 * docs/audit-report.png (the README shows it).
 *
 * Chromium comes from Debian's package (`apt-get install chromium`); .ci/run installs it
 * and sets PROXMOX_MCP_TEST_REQUIRE_CHROMIUM=1, so in CI a missing browser fails here
 * instead of skipping. The clock is pinned to the demo's "today" as in tests/audit/demo.test.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cleanReport } from "../../src/audit/format.js";
import { renderHtmlReport } from "../../src/audit/html.js";
import { isGapFinding, runAudit } from "../../src/audit/index.js";
import { applyWaivers, type WaivedReport } from "../../src/audit/waivers.js";
import { startSimulator } from "../../src/simulator/index.js";
import { readerFor } from "../audit/reader.js";
import { Chromium, chromiumInstalled, CHROMIUM } from "./chromium.js";

const REQUIRED = process.env["PROXMOX_MCP_TEST_REQUIRE_CHROMIUM"] === "1";
const INSTALLED = chromiumInstalled();
if (!INSTALLED && !REQUIRED) {
  console.warn(`HTML report browser test skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

describe.skipIf(!INSTALLED && !REQUIRED)("the HTML report in headless Chromium", () => {
  let report: WaivedReport;
  let dir: string;
  let url: string;
  let browser: Chromium;

  beforeAll(async () => {
    if (!INSTALLED) {
      throw new Error(
        `${CHROMIUM} is missing, and PROXMOX_MCP_TEST_REQUIRE_CHROMIUM=1 asks for this test: apt-get install chromium`,
      );
    }
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-21T10:00:00Z") });
    const sim = await startSimulator();
    const reader = readerFor(sim, sim.tokens.auditor);
    try {
      const audited = await runAudit(reader, { inventory: true });
      // One accepted finding, so the waived section shows what it looks like.
      report = applyWaivers(
        cleanReport(audited),
        [
          {
            code: "PVE-GST-001",
            object: "VM 101",
            reason: "db01's pre-upgrade snapshot is kept until the PostgreSQL 17 migration",
            expires: "2027-01-31",
          },
        ],
        new Date(audited.generatedAt),
      );
    } finally {
      await reader.close();
      await sim.close();
      vi.useRealTimers();
    }
    dir = mkdtempSync(join(tmpdir(), "proxmox-mcp-html-"));
    const file = join(dir, "audit-report.html");
    writeFileSync(file, renderHtmlReport(report, { version: VERSION }));
    url = pathToFileURL(file).href;
    browser = await Chromium.launch();
    await browser.open(url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the cluster, the sections and the charts", async () => {
    expect(await browser.evaluate("document.querySelector('h1').textContent")).toBe("Cluster lab");
    expect(
      await browser.evaluate(
        "[...document.querySelectorAll('h2')].map((h) => h.firstChild.textContent.trim())",
      ),
    ).toEqual([
      "Summary",
      "Storage usage",
      "Backup coverage",
      "Findings",
      "Waived",
      "Not visible to this token",
      "Checks that failed",
    ]);
    const charts = await browser.evaluate<{ label: string; width: number; height: number; marks: number }[]>(
      `[...document.querySelectorAll("svg.chart")].map((svg) => {
        const box = svg.getBoundingClientRect();
        return { label: svg.getAttribute("aria-label"), width: box.width, height: box.height,
                 marks: svg.querySelectorAll("rect[class^='fill-']").length };
      })`,
    );
    expect(charts.map((c) => c.label)).toEqual([
      "Findings by severity",
      "Findings by area and severity",
      "Storage usage",
    ]);
    for (const chart of charts) {
      expect(chart.width, chart.label).toBeGreaterThan(200);
      expect(chart.height, chart.label).toBeGreaterThan(100);
      expect(chart.marks, chart.label).toBeGreaterThan(0);
    }
  });

  it("has every finding of the report, the gaps and the waived one apart, and the backup table", async () => {
    const gaps = report.findings.filter(isGapFinding).length;
    expect(gaps).toBeGreaterThan(0);
    const counted = await browser.evaluate<{ findings: number; gaps: number; waived: number; rows: number }>(
      `({ findings: document.querySelectorAll("article.finding").length,
          gaps: document.querySelectorAll("article.gap").length,
          waived: document.querySelectorAll("tr.waived").length,
          rows: document.querySelectorAll("table.coverage tbody tr").length })`,
    );
    expect(counted).toEqual({
      findings: report.findings.length - gaps,
      gaps,
      waived: 1,
      rows: report.inventory!.guests.length,
    });
    expect(counted.findings + counted.gaps).toBe(report.findings.length);
    expect(await browser.evaluate("document.querySelector('#findings h2 .count').textContent")).toBe(
      String(report.findings.length - gaps),
    );
  });

  it("logs no error and requests nothing but its own file", () => {
    expect(browser.record.problems).toEqual([]);
    expect(browser.record.requests.length).toBeGreaterThan(0);
    for (const request of browser.record.requests) expect(request).toMatch(/^(?:file|data):/);
    expect(browser.record.requests.filter((r) => r.startsWith("file:"))).toEqual([url]);
  });

  it("fits a phone's width: nothing but the table scrolls sideways", async () => {
    await browser.send("Emulation.setDeviceMetricsOverride", {
      width: 390,
      height: 844,
      deviceScaleFactor: 1,
      mobile: true,
    });
    expect(await browser.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
  });

  it("takes a full-page screenshot (ci-output/audit-report.png)", async () => {
    const png = await browser.screenshot(1280);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const out = join(ROOT, "ci-output");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "audit-report.png"), png);
    if (process.env["UPDATE_DOCS"] === "1")
      copyFileSync(join(out, "audit-report.png"), join(ROOT, "docs", "audit-report.png"));
    expect(browser.record.problems).toEqual([]);
  }, 60_000);
});
