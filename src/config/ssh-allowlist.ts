/**
 * The command allow-list of `execute_command` (PROXMOX_SSH_COMMAND_ALLOWLIST). It is
 * configuration, compiled when the configuration loads; the tool checks each command
 * against it before the SSH client (ssh/exec.ts) is called.
 *
 * Each pattern is a JavaScript regular expression that must match the WHOLE command:
 * it is compiled as `^(?:pattern)$` with no flags, so `.` never matches a line break
 * and `$` only matches at the very end (`uptime\nid` is not `uptime`). Note that
 * negated classes (`[^;]`) and `\s` DO match line breaks: write patterns that list
 * what they allow (`[a-z0-9-]+`), not what they forbid.
 */

/** Longest command accepted, in UTF-16 code units (also enforced by runSshCommand). */
export const MAX_COMMAND_LENGTH = 8192;

/**
 * Compiles PROXMOX_SSH_COMMAND_ALLOWLIST patterns; each must match the WHOLE command
 * (anchored `^(?:p)$`, no flags, so `.` never matches a newline). Throws an Error naming
 * the bad pattern's position (and the pattern: it is configuration, not a secret) if a
 * pattern is empty or does not compile.
 */
export function compileAllowlist(patterns: readonly string[]): RegExp[] {
  return patterns.map((pattern, index) => {
    const where = `PROXMOX_SSH_COMMAND_ALLOWLIST: pattern ${index + 1} of ${patterns.length}`;
    if (typeof pattern !== "string" || pattern.length === 0) {
      throw new Error(`${where} is empty; remove it or write the command it should allow (e.g. "uptime")`);
    }
    // Compile the pattern on its own first: only a pattern that is a complete regex by
    // itself stays inside the (?:...) group. "a)|(b" would otherwise become
    // ^(?:a)|(b)$, whose first alternative is anchored at the start only.
    try {
      new RegExp(pattern);
      return new RegExp(`^(?:${pattern})$`);
    } catch (error) {
      throw new Error(
        `${where} is not a valid regular expression (${regexReason(error)}): ${JSON.stringify(pattern)}`,
      );
    }
  });
}

/**
 * true when the list is empty (no allow-list configured) or one regex matches the whole
 * command. With a non-empty list, a command containing a NUL byte or longer than
 * MAX_COMMAND_LENGTH is never allowed (runSshCommand refuses those anyway, and the cap
 * bounds the work a badly written pattern can do).
 */
export function isCommandAllowed(command: string, allowlist: readonly RegExp[]): boolean {
  if (allowlist.length === 0) return true;
  if (typeof command !== "string" || command.length > MAX_COMMAND_LENGTH || command.includes("\0")) {
    return false;
  }
  return allowlist.some((regex) => matchesWhole(regex, command));
}

/**
 * A match counts only when it spans the whole command, whatever the regex: patterns from
 * compileAllowlist are anchored already; a RegExp built elsewhere (without anchors, or
 * with the g, y or m flag) is held to the same rule instead of matching a substring.
 */
function matchesWhole(regex: RegExp, command: string): boolean {
  const stateless = /[gy]/.test(regex.flags)
    ? new RegExp(regex.source, regex.flags.replace(/[gy]/g, ""))
    : regex;
  const match = stateless.exec(command);
  return match !== null && match.index === 0 && match[0].length === command.length;
}

function regexReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // V8: "Invalid regular expression: /a(/: Unterminated group" -> "Unterminated group"
  const cut = message.lastIndexOf(": ");
  return cut >= 0 ? message.slice(cut + 2) : message;
}
