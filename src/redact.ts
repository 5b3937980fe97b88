/**
 * Redaction: what reaches the model, the terminal or the audit log loses its secrets.
 * It runs once, on the data, where PVE's answers enter the server (PveReader) and on
 * whatever else a tool returns, before text or structured output is made from it:
 *
 * - Keys: a value under a secret-bearing key (from Proxmox's schema, plus common names)
 *   is masked whatever it holds, and so is the `value` of a name/value pair whose name
 *   is one (a webhook's "Authorization" header, a pending `cipassword` change).
 * - Free text (every other string): secretlint's maintained vendor-token rules, our
 *   rules for labelled values in many languages, command-line credentials, private
 *   keys, URL credentials and secret URLs, base64 credential pairs, password hashes
 *   and cloud-init password lists; and the configured secrets, literally.
 *
 * Unlabelled prose cannot be caught ("the wifi one is Tr0ub4dor"): README and
 * SECURITY.md say so. Redaction is idempotent: masking twice changes nothing more.
 */
import { PVE_SECRET_FIELDS, SECRET_KEY_PATTERN } from "./redact/secret-keys.js";
import { maskSpans, mergeSpans, type Span, type SpanRule } from "./redact/spans.js";
import { PRIVATE_KEY_RULES, SHORT_TEXT_RULES, STRUCTURAL_RULES, TEXT_RULES } from "./redact/text-rules.js";
import { vendorTokens } from "./redact/vendor-tokens.js";
import { describeSshPublicKeys, isPublicKeyField } from "./ssh/public-keys.js";
import { stripInvisible } from "./untrusted.js";

export const REDACTED = "[redacted]";

const TEXT_AND_VENDOR_RULES: readonly SpanRule[] = [vendorTokens, ...TEXT_RULES];
/** On rendered output (JSON, tables) a labelled value could swallow its neighbours: only shapes that stand alone. */
const RENDERED_RULES: readonly SpanRule[] = [vendorTokens, ...STRUCTURAL_RULES];

/** Names of a name/value pair whose value is a secret (HTTP headers, pending config keys). */
const SECRET_PAIR_NAME =
  /^(?:authorization|proxy-authorization|cookie)$|(?:^|[-_])(?:key|token|secret|auth|password)$/i;

export function isSecretKey(key: string): boolean {
  return Object.hasOwn(PVE_SECRET_FIELDS, key) || SECRET_KEY_PATTERN.test(key);
}

/** Literal secrets (e.g. the configured token secret), also in their URL-encoded form, longest first. */
function literalForms(extraSecrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of extraSecrets) {
    if (secret.length < 4) continue; // a 1-3 character "secret" would mask ordinary text
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function* literalSpans(text: string, literals: readonly string[]): Iterable<Span> {
  for (const literal of literals) {
    for (let at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + literal.length)) {
      yield [at, at + literal.length];
    }
  }
}

/**
 * Most strings in PVE's answers are ids, names and states ("qemu/101", "running"): shorter
 * than any vendor token, hash or URL with credentials, with no separator a label needs
 * and no space. Only a base64 credential pair fits in them.
 */
const SHORT_PLAIN = /^[^\s:=|：]{0,11}$/;
/** Masking again until nothing changes: a mark can make a neighbour match ("KEY" + "Authorization"). */
const MAX_PASSES = 4;

function spansOf(text: string, literals: readonly string[], rules: readonly SpanRule[]): Span[] {
  const spans: Span[] = [...literalSpans(text, literals)];
  const applicable = SHORT_PLAIN.test(text) ? rules.filter((rule) => SHORT_TEXT_RULES.includes(rule)) : rules;
  for (const rule of applicable) for (const span of rule(text)) spans.push(span);
  return spans;
}

/**
 * What the rules read is what a reader will see: escape sequences and invisible characters
 * go first ("\x1b[1mPassword\x1b[0m: x" and "Pass\u00adword: x" are labels once cleaned).
 */
function maskVisible(text: string, literals: readonly string[], rules: readonly SpanRule[]): string {
  return maskText(stripInvisible(text), literals, rules);
}

/** Masks until a pass changes nothing, so redacting redacted text is the identity. */
function maskText(text: string, literals: readonly string[], rules: readonly SpanRule[]): string {
  let out = text;
  for (let pass = 0; pass < MAX_PASSES && out.length >= 4; pass++) {
    const next = maskSpans(out, spansOf(out, literals, rules), REDACTED);
    if (next === out) break;
    out = next;
  }
  return out;
}

const isEmpty = (v: unknown) => v === null || v === undefined || v === "";

/** PVE's log answers (task logs, syslog): [{n: 1, t: "line"}, ...]. */
type LogLine = { n: number; t: string };
const isLogLine = (line: unknown): line is LogLine => {
  const l = line as Partial<LogLine> | null;
  return typeof l === "object" && l !== null && typeof l.t === "string" && typeof l.n === "number";
};

/**
 * A log is one text split into lines (task logs, syslog, the journal's list of strings):
 * a private key or a cloud-init list spans several. The spans are found on the joined
 * text and masked line by line, in one sweep, so every line stays and the work is linear.
 */
function redactLines(lines: readonly string[], literals: readonly string[]): string[] {
  let current = lines.map(stripInvisible);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const text = current.join("\n");
    const spans = mergeSpans(spansOf(text, literals, TEXT_AND_VENDOR_RULES));
    if (spans.length === 0) break;
    let next = 0;
    let start = 0;
    const masked = current.map((line) => {
      const end = start + line.length;
      while (next < spans.length && spans[next]![1] <= start) next++;
      const own: Span[] = [];
      for (let i = next; i < spans.length && spans[i]![0] < end; i++) {
        own.push([Math.max(spans[i]![0], start) - start, Math.min(spans[i]![1], end) - start]);
      }
      start = end + 1;
      return maskSpans(line, own, REDACTED);
    });
    if (masked.every((line, i) => line === current[i])) break;
    current = masked;
  }
  return current;
}

/**
 * A PVE answer repeats the same strings many times (each guest's keys, "running", "qemu",
 * its node's name): each distinct short string is masked once per answer. Masking is a
 * pure function of the string, so the result is the same, in a fraction of the time.
 */
const MEMO_MAX_CHARS = 256;

function redactValueWith<T>(value: T, literals: readonly string[], memo = new Map<string, string>()): T {
  const mask = (text: string): string => {
    if (text.length > MEMO_MAX_CHARS) return maskVisible(text, literals, TEXT_AND_VENDOR_RULES);
    let masked = memo.get(text);
    if (masked === undefined) {
      masked = maskVisible(text, literals, TEXT_AND_VENDOR_RULES);
      memo.set(text, masked);
    }
    return masked;
  };
  if (typeof value === "string") return mask(value) as T;
  if (Array.isArray(value)) {
    if (value.length > 1 && value.every(isLogLine)) {
      const texts = redactLines(
        value.map((line) => line.t),
        literals,
      );
      return value.map((line, i) => ({ ...line, t: texts[i] })) as T;
    }
    if (value.length > 1 && value.every((item) => typeof item === "string"))
      return redactLines(value, literals) as T;
    return value.map((v) => redactValueWith(v, literals, memo)) as T;
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const pairName = [record["name"], record["key"], record["header"]].find((n) => typeof n === "string");
    const secretPair =
      typeof pairName === "string" && (isSecretKey(pairName) || SECRET_PAIR_NAME.test(pairName));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      const masked = isSecretKey(k) || (secretPair && (k === "value" || k === "pending"));
      // Keys are text too where a guest writes them (guest-agent answers).
      out[mask(k)] = masked && !isEmpty(v) ? REDACTED : redactValueWith(v, literals, memo);
    }
    return out as T;
  }
  return value;
}

/** Masks secret-looking substrings; `extraSecrets` are masked wherever they appear literally. */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  return maskVisible(text, literalForms(extraSecrets), TEXT_AND_VENDOR_RULES);
}

/** Deep copy with secret keys masked and secret-looking substrings (and `extraSecrets`) removed. */
export function redact<T>(value: T, extraSecrets: readonly string[] = []): T {
  return redactValueWith(value, literalForms(extraSecrets));
}

/**
 * Deep copy with only secret-named keys, private key blocks and `extraSecrets` masked: for
 * records that must keep the exact text of what was run (a dangerous call's command),
 * where pattern redaction could hide part of it ("PW=1; curl ... | sh" would lose
 * everything after "PW="). SSH public keys being set are shown as type, fingerprint and
 * comment: who may log in.
 */
export function redactSecretKeys<T>(value: T, extraSecrets: readonly string[] = []): T {
  return secretKeysWith(value, literalForms(extraSecrets));
}

function secretKeysWith<T>(value: T, literals: readonly string[]): T {
  if (typeof value === "string") return maskText(value, literals, PRIVATE_KEY_RULES) as T;
  if (Array.isArray(value)) return value.map((v) => secretKeysWith(v, literals)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        maskText(k, literals, []),
        isEmpty(v)
          ? v
          : isPublicKeyField(k)
            ? describeSshPublicKeys(v).map((key) => maskText(key, literals, TEXT_AND_VENDOR_RULES))
            : isSecretKey(k)
              ? REDACTED
              : secretKeysWith(v, literals),
      ]),
    ) as T;
  }
  return value;
}

/**
 * The same rules bound to a fixed set of exact secrets (the configured token secrets):
 * `value` and `text` for data, `rendered` for text already made from redacted data.
 */
export class Redactor {
  private readonly literals: readonly string[];

  constructor(extraSecrets: readonly string[] = []) {
    this.literals = literalForms(extraSecrets);
  }

  /** A free-text string: every rule. */
  text(text: string): string {
    return maskVisible(text, this.literals, TEXT_AND_VENDOR_RULES);
  }

  /** Data: secret keys by name, every string by every rule. */
  value<T>(value: T): T {
    return redactValueWith(value, this.literals);
  }

  /**
   * Output rendered from data this redactor already cleaned (a tool's text answer, JSON):
   * the literal secrets and the shapes that stand alone, never a label's "rest of the
   * line", so the text cannot lose more than its structured twin.
   */
  rendered(text: string): string {
    return maskText(text, this.literals, RENDERED_RULES);
  }
}
