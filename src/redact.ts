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
import { createHash } from "node:crypto";
import { PVE_SECRET_FIELDS, SECRET_KEY_PATTERN } from "./redact/secret-keys.js";
import { maskSpans, mergeSpans, type Span, type SpanRule } from "./redact/spans.js";
import { PRIVATE_KEY_RULES, SHORT_TEXT_RULES, STRUCTURAL_RULES, TEXT_RULES } from "./redact/text-rules.js";
import { vendorTokens } from "./redact/vendor-tokens.js";
import { describeSshPublicKeys, isPublicKeyField } from "./ssh/public-keys.js";
import { stripInvisible } from "./untrusted.js";

export const REDACTED = "[redacted]";

const TEXT_AND_VENDOR_RULES: readonly SpanRule[] = [vendorTokens, ...TEXT_RULES];
/** Keys of a dangerous call's record: only the configured secrets, literally. */
const LITERALS_ONLY: readonly SpanRule[] = [];
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

/**
 * Most strings in PVE's answers are ids, names and states ("qemu/101", "running"): shorter
 * than any vendor token, hash or URL with credentials, with no separator a label needs
 * and no space. Only a base64 credential pair fits in them.
 */
const SHORT_PLAIN = /^[^\s:=|：]{0,11}$/;
/** Masking again until nothing changes: a mark can make a neighbour match ("KEY" + "Authorization"). */
const MAX_PASSES = 4;

/** The rules that apply to a short plain text, per rule list (a few fixed lists). */
const shortRuleLists = new WeakMap<readonly SpanRule[], readonly SpanRule[]>();

function spansOf(text: string, literals: readonly string[], rules: readonly SpanRule[]): Span[] {
  const spans: Span[] = [];
  for (const literal of literals) {
    for (let at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + literal.length)) {
      spans.push([at, at + literal.length]);
    }
  }
  let applicable = rules;
  if (SHORT_PLAIN.test(text)) {
    let short = shortRuleLists.get(rules);
    if (!short) shortRuleLists.set(rules, (short = rules.filter((rule) => SHORT_TEXT_RULES.includes(rule))));
    applicable = short;
  }
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
 * its node's name), and a tool's answer repeats what entered: each distinct short string
 * is masked once per walk, and one that no rule changes is remembered as clean across the
 * walks of the Redactors of the same secrets. Masking is a pure function of the string
 * and the fixed secrets, so the result is the same, in a fraction of the time. Only clean
 * strings outlive a walk.
 */
const MEMO_MAX_CHARS = 256;
/** Several times the distinct short strings of a 2,000-guest cluster's resources; emptied when full. */
const CLEAN_MAX_STRINGS = 50_000;

type Walk = {
  readonly literals: readonly string[];
  readonly clean: Set<string>;
  readonly masked: Map<string, string>;
  /** Each key of an object as masked (keys are text too), and which keys hold secrets. */
  readonly keys: Map<string, string>;
  readonly secretKeys: Set<string>;
};

const newWalk = (literals: readonly string[], clean = new Set<string>()): Walk => ({
  literals,
  clean,
  masked: new Map(),
  keys: new Map(),
  secretKeys: new Set(),
});

function maskString(text: string, walk: Walk): string {
  if (text.length > MEMO_MAX_CHARS) return maskVisible(text, walk.literals, TEXT_AND_VENDOR_RULES);
  if (walk.clean.has(text)) return text;
  let masked = walk.masked.get(text);
  if (masked === undefined) {
    masked = maskVisible(text, walk.literals, TEXT_AND_VENDOR_RULES);
    if (masked !== text) walk.masked.set(text, masked);
    else {
      if (walk.clean.size >= CLEAN_MAX_STRINGS) walk.clean.clear();
      walk.clean.add(text);
    }
  }
  return masked;
}

/** A key as masked, learnt once per walk: one lookup per field of the objects that repeat it. */
function keyIn(key: string, walk: Walk): string {
  let clean = walk.keys.get(key);
  if (clean === undefined) {
    if (isSecretKey(key)) walk.secretKeys.add(key);
    walk.keys.set(key, (clean = maskString(key, walk)));
  }
  return clean;
}

function isSecretKeyIn(key: string, walk: Walk): boolean {
  keyIn(key, walk);
  return walk.secretKeys.size > 0 && walk.secretKeys.has(key);
}

/**
 * A name/value pair whose name is secret ({name: "Authorization", value: ...}): its name is
 * the first of its name, key and header fields that is a string.
 */
function isSecretPair(keys: readonly string[], items: readonly unknown[], walk: Walk): boolean {
  for (const field of ["name", "key", "header"]) {
    const name = items[keys.indexOf(field)];
    if (typeof name === "string") return isSecretKeyIn(name, walk) || SECRET_PAIR_NAME.test(name);
  }
  return false;
}

/**
 * Plain data (JSON's arrays and objects) can be shared; anything that could serialize
 * itself some other way (a toJSON, own or inherited; an array or object of another
 * prototype) is always rebuilt from its own enumerable fields.
 */
function isPlainData(value: object): boolean {
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value)
    ? prototype === Array.prototype
    : prototype === Object.prototype || prototype === null;
}

/**
 * Copy on write: plain data in which nothing changes is returned as it is, so a clean
 * answer costs a walk and no copy. Each field is read once (a getter cannot answer the
 * check one thing and the copy another), and an own "__proto__" field (JSON.parse makes
 * one) is dropped: copied, it would set the copy's prototype.
 */
function redactValueWith<T>(value: T, walk: Walk): T {
  if (typeof value === "string") return maskString(value, walk) as T;
  if (Array.isArray(value)) {
    if (value.length > 1 && value.every(isLogLine)) {
      const texts = redactLines(
        value.map((line) => line.t),
        walk.literals,
      );
      return value.map((line, i) => ({ ...line, t: texts[i] })) as T;
    }
    if (value.length > 1 && value.every((item) => typeof item === "string"))
      return redactLines(value, walk.literals) as T;
    let changed = !isPlainData(value);
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const clean = redactValueWith(item, walk);
      changed ||= clean !== item;
      out.push(clean);
    }
    return (changed ? out : value) as T;
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const items = Object.values(record);
    // Asked only of objects with a value or pending field: most have neither.
    let secretPair: boolean | undefined;
    let out: Record<string, unknown> | undefined = isPlainData(record) ? undefined : {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = items[i];
      // Keys are text too where a guest writes them (guest-agent answers).
      const cleanKey = keyIn(key, walk);
      const hidden =
        (walk.secretKeys.size > 0 && walk.secretKeys.has(key)) ||
        ((key === "value" || key === "pending") && (secretPair ??= isSecretPair(keys, items, walk)));
      const clean = hidden && !isEmpty(item) ? REDACTED : redactValueWith(item, walk);
      if (out === undefined && (clean !== item || cleanKey !== key || key === "__proto__")) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = items[j];
      }
      if (out !== undefined && key !== "__proto__") out[cleanKey] = clean;
    }
    return (out ?? record) as T;
  }
  return value;
}

/** Masks secret-looking substrings; `extraSecrets` are masked wherever they appear literally. */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  return maskVisible(text, literalForms(extraSecrets), TEXT_AND_VENDOR_RULES);
}

/**
 * Secret keys masked and secret-looking substrings (and `extraSecrets`) removed; what
 * changes is copied, what is clean is shared with `value` (see redactValueWith).
 */
export function redact<T>(value: T, extraSecrets: readonly string[] = []): T {
  return redactValueWith(value, newWalk(literalForms(extraSecrets)));
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
        maskText(k, literals, LITERALS_ONLY),
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
 * Redactors of the same secrets share their clean strings (the server's and the audit
 * log's: a cursor the answer carried is clean when the next call's arguments bring it
 * back). Keyed by a hash, so no secret sits in a table; a few sets per process.
 */
const cleanStringsBySecrets = new Map<string, Set<string>>();
const MAX_SECRET_SETS = 16;

function cleanStringsFor(literals: readonly string[]): Set<string> {
  const key = createHash("sha256").update(JSON.stringify(literals)).digest("base64");
  let clean = cleanStringsBySecrets.get(key);
  if (!clean) {
    if (cleanStringsBySecrets.size >= MAX_SECRET_SETS) cleanStringsBySecrets.clear();
    cleanStringsBySecrets.set(key, (clean = new Set()));
  }
  return clean;
}

/**
 * The same rules bound to a fixed set of exact secrets (the configured token secrets):
 * `value` and `text` for data, `rendered` for text already made from redacted data.
 */
export class Redactor {
  private readonly literals: readonly string[];
  private readonly clean: Set<string>;

  constructor(extraSecrets: readonly string[] = []) {
    this.literals = literalForms(extraSecrets);
    this.clean = cleanStringsFor(this.literals);
  }

  /** A free-text string: every rule. */
  text(text: string): string {
    return maskVisible(text, this.literals, TEXT_AND_VENDOR_RULES);
  }

  /** Data: secret keys by name, every string by every rule. */
  value<T>(value: T): T {
    return redactValueWith(value, newWalk(this.literals, this.clean));
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
