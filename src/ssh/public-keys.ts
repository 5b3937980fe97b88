/**
 * SSH public keys as a person checks them: type, SHA256 fingerprint (as `ssh-keygen -lf`
 * prints it) and comment. A public key decides who may log in, so hiding it helps no one
 * and showing its whole base64 helps no one either; the fingerprint is what people compare.
 */
import { createHash } from "node:crypto";
import { cleanText } from "../untrusted.js";

/** What a key that is not a well-formed OpenSSH public key is shown as: never its text. */
export const UNPARSEABLE_KEY = "[unparseable key]";

/** PVE parameters whose value is a list of SSH public keys (qemu cloud-init, lxc create). */
const PUBLIC_KEY_FIELDS = new Set(["sshkeys", "ssh-public-keys"]);

/**
 * Key types OpenSSH accepts in authorized_keys, with the number of length-prefixed
 * fields of their blob (the type name included), per RFC 4253, 5656, 8709 and PROTOCOL.u2f.
 */
const BLOB_FIELDS: Readonly<Record<string, number>> = {
  "ssh-ed25519": 2,
  "ssh-rsa": 3,
  "ssh-dss": 5,
  "ecdsa-sha2-nistp256": 3,
  "ecdsa-sha2-nistp384": 3,
  "ecdsa-sha2-nistp521": 3,
  "sk-ssh-ed25519@openssh.com": 3,
  "sk-ecdsa-sha2-nistp256@openssh.com": 4,
};

const ED25519_KEY_BYTES = 32;

/** A comment is free text the key's owner chose: shown without control characters, and short. */
const MAX_COMMENT_CHARS = 100;

export function isPublicKeyField(name: string): boolean {
  return PUBLIC_KEY_FIELDS.has(name);
}

/**
 * One description per key of `value`: one key per line, in plain text (lxc
 * `ssh-public-keys`) or URL-encoded as PVE stores `sshkeys` (`ssh-ed25519%20AAAA...%20admin%40lab`,
 * keys separated by `%0A`), or a list of such strings. E.g. `ssh-ed25519 SHA256:U38AT96a... admin@lab`.
 * Anything else a caller sent under a public-key name is one unparseable key.
 */
export function describeSshPublicKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(describeSshPublicKeys);
  if (typeof value !== "string") return [UNPARSEABLE_KEY];
  return value
    .split(/%0[AaDd]|[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map(describeSshPublicKey);
}

function describeSshPublicKey(line: string): string {
  const text = urlDecoded(line);
  if (text === undefined) return UNPARSEABLE_KEY;
  // As sshd reads it: an options field may come first (from="...",no-pty; quotes with
  // backslash escapes may hold spaces, and a key type inside them is not the key), then
  // the type, the blob and the comment.
  const parsed = AUTHORIZED_KEY.exec(text);
  if (!parsed) return UNPARSEABLE_KEY;
  const [, options, type = "", base64 = "", rest = ""] = parsed;
  if (!Object.hasOwn(BLOB_FIELDS, type)) return UNPARSEABLE_KEY;
  const blob = keyBlob(type, base64);
  if (!blob) return UNPARSEABLE_KEY;
  const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
  const comment = cleanText(rest.trim(), MAX_COMMENT_CHARS);
  return [
    ...(options ? [`options ${JSON.stringify(cleanText(options, MAX_COMMENT_CHARS))}`] : []),
    type,
    fingerprint,
    // Quoted: a comment could otherwise imitate a second key after "; ".
    ...(comment ? [JSON.stringify(comment)] : []),
  ].join(" ");
}

/** [options] type blob [comment]; options start with none of the key types. */
const AUTHORIZED_KEY =
  /^(?:((?!(?:ssh-|ecdsa-|sk-))(?:[^\s"\\]|\\.|"(?:[^"\\]|\\.)*")+)[ \t]+)?(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/;

/** A line with a space is plain text (a comment may hold a literal "%"); one without is URL-encoded. */
function urlDecoded(line: string): string | undefined {
  if (/[ \t]/.test(line) || !line.includes("%")) return line;
  try {
    return decodeURIComponent(line);
  } catch {
    return undefined;
  }
}

/** The decoded blob when `base64` is exactly a well-formed key of `type`, else undefined. */
function keyBlob(type: string, base64: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return undefined;
  const blob = Buffer.from(base64, "base64");
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    const end = at + 4 + length;
    if (end > blob.length) return undefined;
    fields.push(blob.subarray(at + 4, end));
    at = end;
  }
  const wellFormed =
    fields.length === BLOB_FIELDS[type] &&
    fields[0]!.toString("latin1") === type &&
    (!type.includes("ed25519") || fields[1]!.length === ED25519_KEY_BYTES);
  return wellFormed ? blob : undefined;
}
