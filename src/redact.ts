/**
 * Redaction applied to every tool output and every audit-log line: secret-named keys
 * lose their values, and secret-looking substrings in any string are masked. Guest
 * configs carry cloud-init passwords, SSH keys and whatever people paste into notes.
 */
export const REDACTED = "[redacted]";

/** Config keys whose value is a secret whatever it looks like (PVE keys and common names). */
const SECRET_KEY =
  /^(cipassword|sshkeys|password|passwd|pass|pw|secret|token|apikey|api[_-]key|private[_-]?key|credentials?)$|(^|[_\-.])(password|passwd|secret|token|api[_-]?key|private[_-]?key|credentials?)$/i;

/** "password: x", "root pw = x", "MONITORING_API_KEY=x", "token: x": the label stays, the value goes. */
const LABELLED_SECRET =
  /\b([A-Za-z0-9_-]*?(?:pass(?:word)?|passwd|pwd|pw|secret|token|api[_-]?key|access[_-]?key))\b(\s*[:=]\s*)(["']?)([^\s"',;]{3,})\3/gi;

/** Substrings that are secrets wherever they appear (descriptions, notes, tags...). */
const SECRET_VALUES: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+)(%20|\s)+[A-Za-z0-9+/=%]{20,}/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWT
  /\b(?:ghp|gho|github_pat|glpat|xox[abp]|sk|pk|rk)[-_][A-Za-z0-9_-]{16,}\b/g, // vendor API keys
  /\bPVEAPIToken=[^\s"']+/g,
];

export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUES) out = out.replace(pattern, REDACTED);
  return out.replace(LABELLED_SECRET, `$1$2$3${REDACTED}$3`);
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret keys masked and secret-looking substrings removed. */
export function redact<T>(value: T): T {
  if (typeof value === "string") return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSecretKey(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redact(v);
    }
    return out as T;
  }
  return value;
}
