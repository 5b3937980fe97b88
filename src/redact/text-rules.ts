/**
 * Our rules for secrets that no vendor format describes: labelled values (in the
 * languages people write their notes in), credentials on command lines, private key
 * blocks (also with a wrapped BEGIN line), URL credentials and secret-bearing URLs
 * (webhooks, ntfy topics, token query parameters), base64 "user:password" blobs,
 * password hashes and cloud-init password lists.
 *
 * Every pattern is linear: prefixes and values are bounded or stop at a character class
 * the pattern cannot re-enter, and no pattern nests unbounded quantifiers.
 */
import { matchSpans, type Span, type SpanRule } from "./spans.js";

/** Labels of a password (the value may hold spaces: it runs to the end of the line). */
const PASSWORD_WORDS = [
  "password",
  "passwd",
  "passphrase",
  "passcode",
  "passwort",
  "kennwort",
  "contraseña",
  "contrasena",
  "contrasenya",
  "mot de passe",
  "mot-de-passe",
  "mdp",
  "senha",
  "palavra-passe",
  "wachtwoord",
  "lösenord",
  "losenord",
  "passord",
  "adgangskode",
  "kodeord",
  "salasana",
  "hasło",
  "haslo",
  "heslo",
  "jelszó",
  "jelszo",
  "parola",
  "parolă",
  "şifre",
  "şifresi",
  "sifre",
  "lozinka",
  "geslo",
  "пароль",
  "парола",
  "κωδικός",
  "סיסמה",
  "كلمة المرور",
  "mật khẩu",
  "รหัสผ่าน",
  "密码",
  "密碼",
  "口令",
  "パスワード",
  "비밀번호",
  "wpa-psk",
  "wpa-passphrase",
];
/** Short password labels: only as a word of their own or after "_"/"-" ("root pw", "DB_PASS"), never inside one ("bypass"). */
const SHORT_PASSWORD_WORDS = ["pass", "pwd", "pw", "psk", "mdp"];
/** Labels of other secrets (the value is one word). */
const SECRET_WORDS = [
  "secret",
  "token",
  "api[ _-]?key",
  "access[ _-]?key",
  "private[ _-]?key",
  "secret[ _-]?key",
  "auth[ _-]?key",
  "license[ _-]?key",
  "client[ _-]?secret",
  "credentials?",
  "api[ -]schlüssel",
  "clé(?: d'API| API)?",
];

const escapeWord = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ /g, "[ _-]?");
const LONG_PASSWORD_LABEL = PASSWORD_WORDS.map(escapeWord).join("|");
const SHORT_PASSWORD_LABEL = SHORT_PASSWORD_WORDS.join("|");
const PASSWORD_LABEL = `(?:${LONG_PASSWORD_LABEL}|${SHORT_PASSWORD_LABEL})`;
const SECRET_LABEL = `(?:${SECRET_WORDS.join("|")})`;
/**
 * A label: a word ending in a secret name ("dbpassword", "MONITORING_API_KEY", "root pw"),
 * its prefix bounded. ASCII boundaries only, so CJK labels need no space before them.
 */
const LABEL =
  "(?<![A-Za-z0-9_-])(" +
  `[\\w-]{0,40}?(?:${LONG_PASSWORD_LABEL}|${SECRET_LABEL})` +
  `|(?:[\\w-]{0,40}?[_-])?(?:${SHORT_PASSWORD_LABEL}|pin)` +
  ")(?![\\p{L}\\p{N}_-])";

/** Words after "password is" that make it prose ("the password is required"), not a disclosure. */
const PROSE_WORDS =
  "required|needed|missing|wrong|invalid|incorrect|not|set|unset|empty|blank|expired|stored|saved|changed|reset|hashed|encrypted|kept|in|on|at|of|for|from|to|the|a|an|too|now|also|only|still|never|always|being|sent|used|given|shown|asked|prompted|optional|mandatory|configured|created|shown|displayed|printed|issued|revoked|deleted|removed|copied|logged|visible|hidden|managed|rotated|valid|known|unknown|what|that|this|same|different|ignored|checked|verified|generated|case|and|or|with|without|via|by|field|prompt|file|length|policy|manager|protected|authentication|auth|login|expiry|expires|change|dialog|here|there|below|above|as|if|when|must|should|will|was|were|has|had|can|could|may|is|are|be";
const PROSE_AFTER_IS = `(?!(?:${PROSE_WORDS})\\b|[.,;:!?])`;

/**
 * "password: x", "Passwort = x", "mot de passe : x", "**Password:** x", "| password | x |",
 * `"token": "x"`, "password is x". Groups: 1 label, 2 separator, 3 quote, 4 quoted value, 5 bare value.
 */
const LABELLED = new RegExp(
  LABEL +
    `((?:["'\`]?[*_]{0,2}[ \\t\\u00a0]*(?:=>|[:=：]|\\|)[*_]{0,2}[ \\t\\u00a0]*)|[ \\t]+(?:is|ist|es|est|är|er|on|é)[ \\t]+${PROSE_AFTER_IS})` +
    // The bare value is only looked at, not consumed: a label later on the line still matches.
    "(?:([\"'`])((?:(?!\\3)[^\\r\\n]){1,500})\\3|(?=([^\\s|][^\\r\\n]*)))",
  "giud",
);

/**
 * Values that say something about a secret rather than being one: a boolean or "none"
 * ("lock_passwd: true"), a PVE user or token id ("token: mcp@pve!readonly"), or prose
 * ("passwd: password updated successfully", "password: required").
 */
const NOT_A_SECRET = new RegExp(
  "^(?:(?:true|false|yes|no|on|off|none|null|nil|undefined|\\*+)(?:[\\s,;.)]|$)" +
    "|[\\w.-]{1,64}@[\\w.-]{1,64}![\\w.-]{1,64}(?::[\\d:]*)?[ \\t]*$" +
    `|(?:${PROSE_WORDS}|password|passwords|passwd|token|tokens|secret|secrets|updated|successfully|changed|expired|reset|disabled|enabled|login|prompt)(?:\\s|$|[.,;:!?)]))`,
  "i",
);

/** Password labels whose bare value is the rest of the line; other labels take one word. */
const IS_PASSWORD_LABEL = new RegExp(`${PASSWORD_LABEL}$`, "iu");

const labelledValues: SpanRule = function* (text) {
  for (const m of text.matchAll(LABELLED)) {
    const [label, sep] = [m[1] ?? "", m[2] ?? ""];
    const quoted = m.indices?.[4];
    if (quoted) {
      yield quoted;
      continue;
    }
    const bare = m.indices?.[5];
    const value = m[5];
    if (!bare || value === undefined) continue;
    if (/pin$/i.test(label) && !/^\d{4,12}\b/.test(value)) continue;
    if (NOT_A_SECRET.test(value)) continue;
    const end = sep.includes("|")
      ? value.search(/\s*\|/)
      : IS_PASSWORD_LABEL.test(label)
        ? value.search(/\s*$/)
        : value.search(/[\s,;]|$/);
    yield [bare[0], bare[0] + (end < 0 ? value.length : end)];
  }
};

/**
 * "pw Winter2026!", "passcode 4821", "--password hunter2", "client_secret 9f2c...": a
 * label, a space, and a value that looks like a secret, never a word of prose. After a
 * password label any digit or symbol will do; after another label ("token") the value
 * must be long and mix letters and digits, and not be a token id ("token mcp@pve!ro").
 */
const UNSEPARATED = new RegExp(
  `(?<![\\p{L}\\p{N}_])(?:--?)?(?!passwd\\b)((?:[\\w-]{0,40}?)(?:${PASSWORD_LABEL}|${SECRET_LABEL}))[ \\t]+(?!(?:${PROSE_WORDS})\\b)([^\\s"'<>]{4,200})`,
  "giud",
);
const unseparatedValues: SpanRule = function* (text) {
  for (const m of text.matchAll(UNSEPARATED)) {
    const [label, value] = [m[1] ?? "", m[2] ?? ""];
    // "password: x" and "password=x" are the labelled rule's; "pw (see vault)" is prose.
    if (/^[:=(]/.test(value) || NOT_A_SECRET.test(value)) continue;
    const looksSecret = IS_PASSWORD_LABEL.test(label)
      ? /[\d\W_]/u.test(value)
      : value.length >= 12 && /\d/.test(value) && /\p{L}/u.test(value) && !/^[a-z][\w+.-]*:\/\//i.test(value);
    const at = m.indices?.[2];
    if (looksSecret && at) yield at;
  }
};

/** Credentials on command lines, each with the span of the secret only. */
const COMMAND_LINE: RegExp[] = [
  // mysql -uroot -pSECRET (attached; a detached "-p x" prompts and x is the database)
  /\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlpump|mariadb(?:-dump|-admin)?)\b[^\r\n]{0,300}?[ \t]-p(?![ \t])["']?([^\s"']+)/dgi,
  // sshpass -p SECRET / -pSECRET
  /\bsshpass\b[^\r\n]{0,100}?[ \t]-p[ \t]*["']?([^\s"']+)/dgi,
  // curl -u user:SECRET, --user user:SECRET, -uuser:SECRET, --proxy-user
  /(?:^|[ \t])(?:-u[ \t]*|--(?:proxy-)?user[ \t=]+)["']?[^\s:"']{1,128}:([^\s"']+)/dgi,
  // redis-cli -a SECRET, ipmitool -P SECRET, docker login -p SECRET
  /\bredis-cli\b[^\r\n]{0,200}?[ \t]-a[ \t]+["']?([^\s"']+)/dgi,
  /\bipmitool\b[^\r\n]{0,200}?[ \t]-P[ \t]+["']?([^\s"']+)/dg,
  /\b(?:docker|podman|helm|nerdctl)\b[^\r\n]{0,40}?\blogin\b[^\r\n]{0,200}?[ \t]-p[ \t]+["']?([^\s"']+)/dgi,
  // openssl -pass pass:SECRET, -passin pass:SECRET
  /-pass(?:in|out)?[ \t]+["']?pass:([^\s"']+)/dgi,
  // smbclient -U user%SECRET, mount.cifs user=x%SECRET
  /(?:-U[ \t]*|user(?:name)?=)["']?[^\s%"']{1,128}%([^\s,"']+)/dgi,
  // xfreerdp /p:SECRET
  /(?:^|[ \t])\/p:["']?([^\s"']+)/dgi,
  // echo 'user:SECRET' | chpasswd
  /["']?[\w.-]{1,32}:([^\s:"']{1,200})["']?[ \t]*\|[ \t]*(?:sudo[ \t]+)?chpasswd\b/dgi,
  // Authorization: Basic/Bearer/Token X (any scheme, or a bare value)
  /\bAuthorization["']?[ \t]*[:=][ \t]*["']?((?:[A-Za-z-]+[ \t]+)?[^\s"',;]{4,})/dgi,
  /\bBearer[ \t]+([A-Za-z0-9._~+/-]{12,}=*)/dg,
  /\bBasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})/dg,
];
const commandLines: SpanRule = function* (text) {
  for (const pattern of COMMAND_LINE) yield* matchSpans(text, pattern, 1);
};

/** Quoted JSON keys inside text: {"auth": "x"}, "pwd":"x", "client_secret": "x". */
const JSON_SECRET = new RegExp(
  `"((?:[\\w-]{0,40}?[_-])?(?:auth|${PASSWORD_LABEL}|${SECRET_LABEL}))"[ \\t]*:[ \\t]*"((?:[^"\\\\\\r\\n]|\\\\.){1,2000})"`,
  "giud",
);
const jsonValues: SpanRule = (text) => matchSpans(text, JSON_SECRET, 2);

/**
 * Private key blocks, also when notes wrapped the BEGIN line ("-----BEGIN OPENSSH\nPRIVATE
 * KEY-----"): from BEGIN to the END line, or to the end of the text when it is missing;
 * PuTTY's private lines; and a bare OpenSSH key body (its base64 starts with "openssh-key-v1").
 */
const PRIVATE = "P\\s?R\\s?I\\s?V\\s?A\\s?T\\s?E\\s{1,3}K\\s?E\\s?Y(?:\\s{1,3}BLOCK)?";
const PEM_EDGE = (word: string) =>
  `-{2,5}\\s?-{0,3}[ \\t]*${word}[\\s-]{1,5}(?:[A-Z0-9]{1,20}\\s{1,3}){0,4}${PRIVATE}[ \\t]*-{0,5}`;
const PRIVATE_KEYS: RegExp[] = [
  new RegExp(`${PEM_EDGE("BEGIN")}[\\s\\S]*?(?:${PEM_EDGE("END")}|$)`, "dgi"),
  /\bPrivate-Lines:[ \t]*\d+[\s\S]*?(?:Private-MAC:[ \t]*[0-9a-f]+|$)/dg,
  /\bPuTTY-User-Key-File-\d:[^\r\n]*/dg,
  // Key bodies without their BEGIN line: OpenSSH ("openssh-key-v1"), PKCS#1 RSA, PKCS#8, SEC1 EC.
  /(?:b3BlbnNzaC1rZXktdjE|\bMII[A-Za-z0-9+/]{1,3}(?:IBAAK|gIBAAK|wIBAAK|QIBADAN|IBADAN)|\bMHcCAQEEI|\bMIGHAgEAMBMG|\bMC4CAQAwBQYDK2Vw)[A-Za-z0-9+/=\s]*/dg,
];
const privateKeys: SpanRule = function* (text) {
  for (const pattern of PRIVATE_KEYS) yield* matchSpans(text, pattern);
};

/** SSH public keys, also URL-encoded as PVE stores sshkeys: who may log in is not for the model. */
const SSH_PUBLIC_KEY =
  /(?:sk-)?(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d{3})(?:@openssh\.com)?(?:%20|[ \t])+(?:[A-Za-z0-9+/=]|%(?!0[AaDd]|20)[0-9A-Fa-f]{2}){20,}/dg;
const sshPublicKeys: SpanRule = (text) => matchSpans(text, SSH_PUBLIC_KEY);

/** URL userinfo ("https://admin:S3cret@nas.lab" keeps the user) and secret-bearing URLs. */
const URLS: [RegExp, number][] = [
  // The user may hold "@" itself ("backup@pbs:secret@pbs.lab"): the password is what precedes the last "@".
  [/[a-z][a-z0-9+.-]{0,20}:\/\/[^\s:/"'<>\\]{0,256}:([^\s@/"'<>\\]{1,256})@/dgi, 1],
  // ntfy's e-mail publishing: the topic is the key ("ntfy-<topic>@ntfy.sh").
  [/\bntfy-([\w-]+)@ntfy\.[\w.-]+/dgi, 1],
  // Discord, Slack, Teams/Office, Mattermost-style and Google Chat webhooks: the path is the key.
  [/\bhttps?:\/\/(?:[\w-]+\.)*discord(?:app)?\.com\/api\/webhooks\/\d+\/([\w-]+)/dgi, 1],
  [/\bhttps?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/([\w/-]+)/dgi, 1],
  [
    /\bhttps?:\/\/[\w.-]*(?:webhook\.office|outlook\.office)\.com\/[\w/.@-]*?(?:webhookb2|webhook|IncomingWebhook)\/([^\s"'<>\\]+)/dgi,
    1,
  ],
  [/\bhttps?:\/\/[^\s/"'<>]+\/hooks\/([A-Za-z0-9]{16,})/dgi, 1],
  [/\bhttps?:\/\/api\.telegram\.org\/bot([^\s/"'<>\\]+)/dgi, 1],
  [/\bhttps?:\/\/(?:hc-ping\.com|[\w.-]*healthchecks\.io\/ping)\/([\w-]{8,})/dgi, 1],
  // ntfy: whoever knows the topic reads and writes it.
  [/\bhttps?:\/\/(?:ntfy\.sh|ntfy\.[\w.-]+|[\w.-]+\/ntfy)\/([^\s?#"'<>\\]+)/dgi, 1],
  // Query parameters that carry a credential, in any URL.
  [
    /[?&;](?:access_token|auth_token|id_token|refresh_token|private_token|api[_-]?key|apikey|key|token|secret|client_secret|password|passwd|pass|pwd|auth|sig|signature|code|X-Amz-Signature|X-Amz-Credential)=([^\s&#"'<>\\]+)/dgi,
    1,
  ],
];
const secretUrls: SpanRule = function* (text) {
  for (const [pattern, group] of URLS) yield* matchSpans(text, pattern, group);
};

/** Password hashes (crypt(3)): $1$, $2b$, $5$, $6$, $y$ (yescrypt), $7$ (scrypt). */
const CRYPT_HASH =
  /\$(?:1|2[abxy]?|5|6|y|gy|7|sha1|md5)\$[^\s$:"']{1,64}(?:\$[^\s$:"']{1,64}){0,2}\$[./A-Za-z0-9]{8,}/dg;
const cryptHashes: SpanRule = (text) => matchSpans(text, CRYPT_HASH);

/** Base64 of "user:password", the form Basic auth and docker's "auth" use, anywhere in text. */
const BASE64_WORD = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{8,400}={0,2}(?![A-Za-z0-9+/=_-])/dg;
const CREDENTIAL_PAIR = /^[\w.@+-]{1,64}:[\x21-\x7e]{3,200}$/;
const base64Credentials: SpanRule = function* (text) {
  for (const m of text.matchAll(BASE64_WORD)) {
    const word = m[0];
    const decoded = Buffer.from(
      word,
      word.includes("-") || word.includes("_") ? "base64url" : "base64",
    ).toString("latin1");
    if (CREDENTIAL_PAIR.test(decoded)) yield [m.index, m.index + word.length];
  }
};

/**
 * cloud-init's chpasswd list: "user:password" lines below a "chpasswd:" key (indented
 * deeper, or in its "list:" block), up to the next line indented no deeper.
 */
/** A line of the list: "root:secret", "- root:secret", "  - 'root:secret'". */
const LIST_ENTRY = /^\s*(?:-\s*)?["']?[\w.-]{1,32}:([^\s"':]{1,200})["']?\s*$/d;
/** In the flow form only quoted pairs are list entries: the rest of that line is other YAML. */
const QUOTED_PASSWORD_PAIR = /["'][\w.-]{1,32}:([^\s"':]{1,200})["']/dg;
const chpasswdLists: SpanRule = function* (text) {
  const lines = text.split("\n");
  let offset = 0;
  let blockIndent = -1;
  for (const line of lines) {
    const indent = line.search(/\S/);
    if (blockIndent >= 0 && indent >= 0 && indent <= blockIndent && !/^\s*list\s*:/.test(line))
      blockIndent = -1;
    const pair = blockIndent >= 0 ? LIST_ENTRY.exec(line)?.indices?.[1] : undefined;
    if (pair) yield [offset + pair[0], offset + pair[1]];
    const head = /\bchpasswd\s*:/.exec(line);
    if (head) {
      blockIndent = indent;
      // The flow form on the same line: chpasswd: { list: [ "root:secret" ] }.
      const rest = line.slice(head.index + head[0].length);
      for (const m of rest.matchAll(QUOTED_PASSWORD_PAIR)) {
        const at = m.indices?.[1];
        const base = offset + head.index + head[0].length;
        if (at) yield [base + at[0], base + at[1]];
      }
    }
    offset += line.length + 1;
  }
};

export const TEXT_RULES: readonly SpanRule[] = [
  labelledValues,
  unseparatedValues,
  commandLines,
  jsonValues,
  privateKeys,
  sshPublicKeys,
  secretUrls,
  cryptHashes,
  base64Credentials,
  chpasswdLists,
];

/** Key material: masked even where the exact text of a command must stay (redactSecretKeys). */
export const PRIVATE_KEY_RULES: readonly SpanRule[] = [privateKeys];

/** What can hide in 15 characters without a space or a separator (see redact.ts). */
export const SHORT_TEXT_RULES: readonly SpanRule[] = [base64Credentials];

/** The rules that cannot swallow their surroundings: safe on rendered text (JSON, tables). */
export const STRUCTURAL_RULES: readonly SpanRule[] = [privateKeys, sshPublicKeys, secretUrls, cryptHashes];

export type { Span };
