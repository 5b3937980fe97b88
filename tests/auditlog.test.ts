import { mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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

  it("chains each process's lines on their own, so processes sharing a log do not break each other", () => {
    const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
    const first = new AuditLog(path);
    const second = new AuditLog(path);
    first.write(call("a"));
    second.write(call("b"));
    first.write(call("c"));
    second.write(call("d"));
    first.close();
    second.close();
    const text = readFileSync(path, "utf8");
    expect(
      new Set(
        text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).session),
      ).size,
    ).toBe(2);
    expect(verifyAuditChain(text)).toBe(0);
    writeFileSync(path, text.replace('"tool":"a"', '"tool":"x"'));
    expect(verifyAuditChain(readFileSync(path, "utf8"))).toBe(3);
    expect(verifyAuditChain("not json\n")).toBe(1);
  });

  it("refuses a path that is not its own log: a symlink, a directory, another file", () => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    const foreign = join(dir, "bashrc");
    writeFileSync(foreign, "export PATH=/usr/bin\n");
    expect(() => new AuditLog(foreign)).toThrow(/PROXMOX_AUDIT_LOG .* last line is not an audit record/);
    symlinkSync(foreign, join(dir, "link.jsonl"));
    expect(() => new AuditLog(join(dir, "link.jsonl"))).toThrow(/PROXMOX_AUDIT_LOG .* not a regular file/);
    expect(() => new AuditLog(dir)).toThrow(/PROXMOX_AUDIT_LOG/);
    expect(readFileSync(foreign, "utf8")).toBe("export PATH=/usr/bin\n");
  });

  it("caps long argument strings before redacting them", () => {
    const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
    const log = new AuditLog(path);
    log.write(call("get_vms", { name: "a-".repeat(100_000) }));
    log.close();
    const line = readFileSync(path, "utf8");
    expect(line.length).toBeLessThan(2000);
    expect(line).toContain("more characters");
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
