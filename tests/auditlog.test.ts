import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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
    expect(() => new AuditLog(join(dir, "link.jsonl"))).toThrow(/PROXMOX_AUDIT_LOG .* is a symbolic link/);
    mkdirSync(join(dir, "state.jsonl"));
    expect(() => new AuditLog(join(dir, "state.jsonl"))).toThrow(/PROXMOX_AUDIT_LOG .* not a regular file/);
    expect(readFileSync(foreign, "utf8")).toBe("export PATH=/usr/bin\n");
  });

  it("caps long argument strings: a model can send megabytes", () => {
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

/** Secrets as the configuration holds them: the read and admin token secrets, the SSH key passphrase. */
const READ_SECRET = "5d2c7e1a-8b34-4f6e-9a01-c3b5d7e9f1a2";
const ADMIN_SECRET = "9f4912cb-dcc9-4e6a-968f-636f2a003454";
const PASSPHRASE = "correct horse battery staple";
const SECRETS = [READ_SECRET, ADMIN_SECRET, PASSPHRASE];

function logWith(records: AuditRecord[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
  const log = new AuditLog(path, SECRETS);
  for (const record of records) log.write(record);
  log.close();
  return readFileSync(path, "utf8");
}

function expectNoTrace(text: string): void {
  for (const secret of SECRETS) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(encodeURIComponent(secret));
    // Not even a recognisable part of one (a cap could cut a secret in two).
    expect(text).not.toContain(secret.slice(0, 12));
  }
}

describe("the configured secrets never reach the file", () => {
  it("a read call: masked in argument values and keys, the error, the PVE paths and the tool name", () => {
    const text = logWith([
      call("proxmox_api_get", { path: `/nodes/pve1/${READ_SECRET}/status` }),
      call("get_vm_config", { node: ADMIN_SECRET, vmid: 100, [READ_SECRET]: "x" }),
      call("get_vms", { note: `key passphrase is ${encodeURIComponent(PASSPHRASE)}` }),
      {
        ...call(`get_${READ_SECRET}`),
        outcome: "error",
        error: `Proxmox refused the token ${READ_SECRET}`,
        pveRequests: [{ method: "GET", path: `/access/${ADMIN_SECRET}`, status: 401 }],
      },
    ]);
    expectNoTrace(text);
    expect(text).toContain("/nodes/pve1/[redacted]/status");
    expect(verifyAuditChain(text)).toBe(0);
  });

  it("a secret that straddles the length cap leaves no prefix behind", () => {
    const text = logWith([call("get_vms", { name: `${"a".repeat(250)}${READ_SECRET}` })]);
    expectNoTrace(text);
    expect(text).toContain("more characters");
  });

  it("a dangerous call keeps its exact command, with the configured secrets and secret-named keys masked", () => {
    const command = `curl -sk -H 'Authorization: PVEAPIToken=root@pam!ops=${ADMIN_SECRET}' https://pve1:8006/api2/json/version; PW=1 ./run.sh`;
    const text = logWith([
      {
        ...call("execute_command", { command, password: "hunter2", vmid: READ_SECRET }),
        tier: "dangerous",
        outcome: "started",
      },
    ]);
    expectNoTrace(text);
    expect(text).not.toContain("hunter2");
    const [line] = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(line.args).toEqual({
      command: command.replace(ADMIN_SECRET, "[redacted]"),
      password: "[redacted]",
      vmid: "[redacted]",
    });
  });
});

describe("refuses a log other users could write or swap (as ssh does for its keys)", () => {
  const asRoot = process.getuid?.() === 0;
  const fresh = () => mkdtempSync(join(tmpdir(), "audit-"));
  /** One line naming the file, what is wrong and the command that fixes it. */
  const refusal = (path: string, fix: RegExp) => {
    let message = "";
    try {
      new AuditLog(path).close();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^PROXMOX_AUDIT_LOG /);
    expect(message).toMatch(fix);
    expect(message).not.toContain("\n");
    return message;
  };

  it.skipIf(!asRoot)("a file that belongs to another user (needs root to make one)", () => {
    const path = join(fresh(), "audit.jsonl");
    writeFileSync(path, "", { mode: 0o600 });
    chownSync(path, 65534, 65534);
    const message = refusal(path, /belongs to uid 65534.* fix: chown \d+ /);
    expect(message).toContain(path);
  });

  it("a file other users may write (its lines could be forged), left as it is", () => {
    for (const mode of [0o620, 0o602]) {
      const path = join(fresh(), "audit.jsonl");
      writeFileSync(path, "");
      chmodSync(path, mode);
      refusal(path, /other users can write to it .* fix: chmod 600 /);
      expect(statSync(path).mode & 0o777).toBe(mode);
    }
  });

  it("a directory other users may write (they could swap the file), sticky or not", () => {
    for (const mode of [0o777, 0o1777, 0o770]) {
      const dir = join(fresh(), "shared");
      mkdirSync(dir);
      chmodSync(dir, mode);
      const message = refusal(
        join(dir, "audit.jsonl"),
        /other users can write to its directory .* fix: use a directory of your own .* chmod go-w /,
      );
      expect(message).toContain(dir);
    }
  });

  it.skipIf(!asRoot)("a directory that belongs to another user (needs root to make one)", () => {
    const dir = join(fresh(), "theirs");
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, 65534, 65534);
    refusal(join(dir, "audit.jsonl"), /its directory .* belongs to uid 65534.* fix: chown \d+ /);
  });

  it("a symbolic link, even to a log of its own: refused, the target untouched", () => {
    const dir = fresh();
    const real = join(dir, "real.jsonl");
    new AuditLog(real).close();
    symlinkSync(real, join(dir, "audit.jsonl"));
    refusal(join(dir, "audit.jsonl"), /is a symbolic link.* fix: /);
    expect(readFileSync(real, "utf8")).toBe("");
  });

  it("accepts its own file in its own 0700 or 0755 directory", () => {
    for (const mode of [0o700, 0o755]) {
      const dir = join(fresh(), "mine");
      mkdirSync(dir);
      chmodSync(dir, mode);
      new AuditLog(join(dir, "audit.jsonl")).close();
    }
  });
});
