/** Waivers on their own: a waiver holds through its expiry day (UTC), and matches code and object exactly. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AuditReport, Finding } from "../../src/audit/index.js";
import { applyWaivers, parseWaivers, WaiverFileError } from "../../src/audit/waivers.js";

const finding: Finding = {
  code: "PVE-ACC-003",
  check: "token-expiry",
  severity: "low",
  title: "Token ops@pve!ansible never expires",
  object: "ops@pve!ansible",
  evidence: "expire=0",
  remediation: "pveum user token modify ops@pve ansible --expire <epoch>",
};
const report: AuditReport = {
  generatedAt: "2027-03-31T12:00:00.000Z",
  cluster: "lab",
  checksRun: 1,
  findings: [finding],
  errors: [],
};
const waiver = {
  code: "PVE-ACC-003",
  object: "ops@pve!ansible",
  reason: "Vault rotates it",
  expires: "2027-03-31",
};

describe("waivers", () => {
  it("hold through their expiry day in UTC, then the finding is back and says so", () => {
    const lastMinute = applyWaivers(report, [waiver], new Date("2027-03-31T23:59:59Z"));
    expect(lastMinute.findings).toEqual([]);
    expect(lastMinute.waived).toEqual([
      { ...finding, waiver: { reason: "Vault rotates it", expires: "2027-03-31" } },
    ]);
    const nextDay = applyWaivers(report, [waiver], new Date("2027-04-01T00:00:00Z"));
    expect(nextDay.waived).toEqual([]);
    expect(nextDay.findings).toEqual([{ ...finding, evidence: "expire=0 (its waiver expired 2027-03-31)" }]);
    expect(nextDay.unusedWaivers).toEqual([]);
  });

  it("match the code and the object exactly", () => {
    const others = [
      { ...waiver, code: "PVE-ACC-001" },
      { ...waiver, object: "ops@pve!ansible2" },
      { ...waiver, object: "OPS@pve!ansible" },
    ];
    const applied = applyWaivers(report, others, new Date("2027-01-01T00:00:00Z"));
    expect(applied.findings).toEqual([finding]);
    expect(applied.unusedWaivers).toHaveLength(3);
  });

  it("with a severity, accept the finding only while it is no worse", () => {
    const upTo = (severity: "low" | "medium") => [{ ...waiver, severity }];
    const now = new Date("2027-01-01T00:00:00Z");
    expect(applyWaivers(report, upTo("low"), now).waived).toHaveLength(1);
    expect(applyWaivers(report, upTo("medium"), now).waived).toHaveLength(1);
    const worse = { ...report, findings: [{ ...finding, severity: "high" as const }] };
    const applied = applyWaivers(worse, upTo("medium"), now);
    expect(applied.waived).toEqual([]);
    expect(applied.findings).toEqual([
      { ...finding, severity: "high", evidence: "expire=0 (worse than its waiver accepts: medium at most)" },
    ]);
    // It matched, so it is not stale.
    expect(applied.unusedWaivers).toEqual([]);
    expect(() =>
      parseWaivers(JSON.stringify({ waivers: [{ ...waiver, severity: "severe" }] }), "w.json"),
    ).toThrow("w.json: waiver 1: severity must be one of critical, high, medium, low, info");
  });

  it("a file: comments allowed, dates checked as calendar dates", () => {
    const text = JSON.stringify({ _note: "x", waivers: [{ ...waiver, _why: "ticket 42" }] });
    expect(parseWaivers(text, "w.json")).toEqual([waiver]);
    for (const expires of ["2027-02-29", "2027-13-01", "31.03.2027", "2027-3-31"]) {
      expect(() => parseWaivers(JSON.stringify({ waivers: [{ ...waiver, expires }] }), "w.json")).toThrow(
        WaiverFileError,
      );
    }
    expect(() => parseWaivers(JSON.stringify([waiver]), "w.json")).toThrow(
      /must be an object with a "waivers" array/,
    );
    expect(() => parseWaivers(JSON.stringify({ waivers: ["PVE-ACC-003"] }), "w.json")).toThrow(
      "w.json: waiver 1: must be an object with code, object, reason and expires",
    );
  });

  it("the example file in proxmox-config/ is a valid waivers file", () => {
    const file = new URL("../../proxmox-config/audit-waivers.example.json", import.meta.url);
    expect(parseWaivers(readFileSync(file, "utf8"), "audit-waivers.example.json")).toHaveLength(2);
  });
});
