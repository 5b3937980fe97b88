import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuditLog, verifyAuditChain, type AuditRecord } from "../src/auditlog.js";

const call = (tool: string, args: unknown = {}): AuditRecord => ({
  tool,
  tier: "read",
  args,
  tokenId: "mcp@pve!readonly",
  outcome: "ok",
  durationMs: 3,
  pveRequests: [{ method: "GET", path: "/version", status: 200 }],
});

describe("AuditLog", () => {
  it("writes one chained JSON line per call to a 0600 file in a new 0700 directory", () => {
    const path = join(mkdtempSync(join(tmpdir(), "audit-")), "state", "audit.jsonl");
    const log = new AuditLog(path);
    log.write(call("get_version"));
    log.write(call("get_vms", { limit: 5 }));
    log.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    const text = readFileSync(path, "utf8");
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.tool)).toEqual(["get_version", "get_vms"]);
    expect(lines[0].prev).toBe("0".repeat(64));
    expect(verifyAuditChain(text)).toBe(0);
  });

  it("continues the chain after a restart, and a changed line breaks it", () => {
    const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
    for (const tool of ["a", "b"]) {
      const log = new AuditLog(path);
      log.write(call(tool));
      log.close();
    }
    const text = readFileSync(path, "utf8");
    expect(verifyAuditChain(text)).toBe(0);
    writeFileSync(path, text.replace('"tool":"a"', '"tool":"x"'));
    expect(verifyAuditChain(readFileSync(path, "utf8"))).toBe(2);
  });

  it("redacts secrets in arguments and tightens an existing file's mode", () => {
    const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
    writeFileSync(path, "", { mode: 0o644 });
    const log = new AuditLog(path);
    log.write(call("raw", { password: "hunter2", note: "api_key=abcdef123" }));
    log.close();
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("abcdef123");
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
