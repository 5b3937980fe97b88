/**
 * Redaction applied to every tool output and every audit-log line: secret-named keys
 * lose their values, and secret-looking substrings in any string are masked. Guest
 * configs carry cloud-init passwords, SSH keys and whatever people paste into notes.
 *
 * Every pattern here is linear: label prefixes and userinfo parts are bounded, and
 * no pattern has nested or adjacent unbounded quantifiers that can rescan the input.
 */
export const REDACTED = "[redacted]";

/** Config keys whose value is a secret whatever it looks like (PVE keys and common names). */
const SECRET_KEY =
  /^(cipassword|sshkeys|password|passwd|passphrase|pass|pw|secret|token|apikey|api[_-]key|private[_-]?key|credentials?)$|(^|[_\-.])(password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|credentials?)$/i;

/** Labels whose value can hold spaces ("root pw: Winter 2026 rocks"): it runs to the end of the line. */
const PASSWORD_LABEL = /(?:pass(?:word|wd|phrase)?|pwd|pw)$/i;

/** Words after "password is" that make it prose ("the password is required"), not a disclosure. */
const PROSE_AFTER_IS =
  "(?!(?:required|needed|missing|wrong|invalid|incorrect|not|set|unset|empty|blank|expired|stored|saved|changed|reset|hashed|encrypted|kept|in|on|at|of|for|from|to|the|a|an|too|now|also|only|still|never|always|being|sent|used|given|shown|asked|prompted|optional|mandatory|configured|managed|rotated|valid|known|unknown|what|that|this|same|different|ignored|checked|verified|generated|case)\\b|[.,;:!?])";

/**
 * "password: x", "root pw = x", "MONITORING_API_KEY=x", `"token": "x"`, "**Password:** x",
 * "| password | x |", "API key: x", "password is x": the label stays, the value goes.
 * Groups: 1 label, 2 separator, then either 3/4 a quoted value or 5 an unquoted one.
 */
const LABELLED_SECRET = new RegExp(
  // The label: a word ending in a secret name, its prefix bounded (no quadratic rescans).
  "(?<![\\w-])((?:[\\w-]{0,40}?)(?:password|passwd|passphrase|secret|token|api[ _-]?key|access[ _-]?key|private[ _-]?key)" +
    "|(?:[\\w-]{0,40}?[_-])?(?:pass|pwd|pw))(?![\\w-])" +
    // The separator: optional closing quote or Markdown emphasis, then ":", "=", a table bar, or " is ".
    `((?:["'\`]?[*_]{0,2}[ \\t]*(?:[:=]|\\|)[*_]{0,2}[ \\t]*)|[ \\t]+is[ \\t]+${PROSE_AFTER_IS})` +
    // The value: quoted (any length, spaces allowed), or unquoted (at least one character).
    "(?:([\"'`])((?:(?!\\3)[^\\r\\n]){1,500})\\3|([^\\s|][^\\r\\n]*))",
  "gi",
);

/** Substrings that are secrets wherever they appear (descriptions, notes, tags...). */
const SECRET_VALUES: RegExp[] = [
  /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g,
  // SSH public keys, also URL-encoded as PVE stores sshkeys; a blob stops at an encoded newline or space.
  /(?:sk-)?(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d{3})(?:@openssh\.com)?(?:%20|[ \t])+(?:[A-Za-z0-9+/=]|%(?!0[AaDd]|20)[0-9A-Fa-f]{2}){20,}/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWT
  /\b(?:ghp|gho|ghs|ghu|github_pat|glpat|xox[abpr]|sk|pk|rk)[-_][A-Za-z0-9_-]{16,}\b/g, // vendor API keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key id
  /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, // Google API key
  /\btskey-[A-Za-z0-9_-]{8,}/g, // Tailscale auth/API key
  /\bPVEAPIToken=[^\s"']+/g,
  /\bBearer[ \t]+[A-Za-z0-9._~+/-]{12,}=*/g,
];

/** URL userinfo: "https://admin:S3cret@nas.lab" keeps the user, loses the password. */
const URL_PASSWORD = /(:\/\/[^\s:@/]{1,256}:)[^\s@/]{1,256}@/g;

/** Literal secrets (e.g. the configured token secret), also in their URL-encoded form. */
function literalForms(extraSecrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of extraSecrets) {
    if (secret.length < 4) continue; // a 1-3 character "secret" would mask ordinary text
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so a secret containing another one is masked whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

function maskLabelled(
  _match: string,
  label: string,
  sep: string,
  quote: string | undefined,
  _quoted: string | undefined,
  bare: string | undefined,
): string {
  if (quote !== undefined) return `${label}${sep}${quote}${REDACTED}${quote}`;
  const value = bare ?? "";
  // A table cell ends at the next bar; other labelled values end at whitespace, except
  // password-like labels, whose value may hold spaces and commas: the rest of the line goes.
  const end = sep.includes("|")
    ? value.search(/\s*\|/)
    : PASSWORD_LABEL.test(label)
      ? value.search(/\s*$/)
      : value.search(/\s|$/);
  return `${label}${sep}${REDACTED}${end < 0 ? "" : value.slice(end)}`;
}

function redactWith(text: string, literals: readonly string[]): string {
  let out = text;
  for (const literal of literals) out = out.split(literal).join(REDACTED);
  for (const pattern of SECRET_VALUES) out = out.replace(pattern, REDACTED);
  out = out.replace(URL_PASSWORD, `$1${REDACTED}@`);
  return out.replace(LABELLED_SECRET, maskLabelled);
}

function redactValueWith<T>(value: T, literals: readonly string[]): T {
  if (typeof value === "string") return redactWith(value, literals) as T;
  if (Array.isArray(value)) return value.map((v) => redactValueWith(v, literals)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] =
        isSecretKey(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redactValueWith(v, literals);
    }
    return out as T;
  }
  return value;
}

/**
 * Masks secret-looking substrings; `extraSecrets` (e.g. the configured token secret)
 * are masked wherever they appear literally.
 */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  return redactWith(text, literalForms(extraSecrets));
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret keys masked and secret-looking substrings (and `extraSecrets`) removed. */
export function redact<T>(value: T, extraSecrets: readonly string[] = []): T {
  return redactValueWith(value, literalForms(extraSecrets));
}

/**
 * Deep copy with only secret-named keys masked: for records that must keep the exact
 * text of what was run (a dangerous call's command), where pattern redaction could
 * hide part of it ("PW=1; curl ... | sh" would lose everything after "PW=").
 */
export function redactSecretKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecretKeys) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        isSecretKey(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redactSecretKeys(v),
      ]),
    ) as T;
  }
  return value;
}

/**
 * The same rules bound to a fixed set of exact secrets, for the server:
 * `const redactor = new Redactor([config.tokenSecret]); redactor.text(s); redactor.value(v)`.
 */
export class Redactor {
  private readonly literals: readonly string[];

  constructor(extraSecrets: readonly string[] = []) {
    this.literals = literalForms(extraSecrets);
  }

  text(text: string): string {
    return redactWith(text, this.literals);
  }

  value<T>(value: T): T {
    return redactValueWith(value, this.literals);
  }
}
