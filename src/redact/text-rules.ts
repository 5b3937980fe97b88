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
import { matchSpans, type SpanRule } from "./spans.js";

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
  "clave",
  "community",
  "(?:pre)?shared[ _-]?key",
  "priv[ _-]?key",
  "user[ _-]?key",
  "app[ _-]?token",
  "recovery[ _-]?(?:keys?|codes?)",
  "product[ _-]?key",
  "pin[ _-]?code",
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
  "(?<![A-Za-z0-9_-])(?!nopasswd\\b)(" +
  `[\\w-]{0,40}?(?:${LONG_PASSWORD_LABEL}|${SECRET_LABEL})` +
  `|(?:[\\w-]{0,40}?[_-])?(?:${SHORT_PASSWORD_LABEL}|pin)` +
  ")\\d?(?![\\p{L}\\p{N}_-])";

/**
 * Words between a label and its colon: "passphrase for /dev/sdb:", "Password (root):",
 * "Passwort für root:". The colon must follow (not "::1", not a port).
 */
const QUALIFIER =
  "(?:[ \\t]+(?:for|of|de|du|des|für|do|da|del|di|van|för|pour|para|on|auf|in)[ \\t]+[^\\s:=|]{1,40}(?:[ \\t]+[^\\s:=|]{1,40}){0,2}|[ \\t]+dell'[^\\s:=|]{1,40}|[ \\t]*\\((?=[^()\\r\\n]*\\p{L})[^()\\r\\n]{1,40}\\))?(?=[ \\t]*(?::(?![:\\d])|=|：))";

/** Words after "password is" that make it prose ("the password is required"), not a disclosure. */
const PROSE_WORDS =
  "required|needed|missing|wrong|invalid|incorrect|not|set|unset|empty|blank|expired|stored|saved|changed|reset|hashed|encrypted|kept|in|on|at|of|for|from|to|the|a|an|too|now|also|only|still|never|always|being|sent|used|given|shown|asked|prompted|optional|mandatory|configured|created|shown|displayed|printed|issued|revoked|deleted|removed|copied|logged|visible|hidden|managed|rotated|valid|known|unknown|what|that|this|same|different|ignored|checked|verified|generated|case|needs|need|requires|and|or|with|without|via|by|field|prompt|file|length|policy|manager|protected|authentication|auth|login|expiry|expires|change|dialog|here|there|below|above|as|if|when|must|should|will|was|were|has|had|can|could|may|is|are|be";
const PROSE_AFTER_IS = `(?!(?:${PROSE_WORDS})\\b|[.,;:!?])`;

/**
 * "password: x", "Passwort = x", "mot de passe : x", "**Password:** x", "| password | x |",
 * `"token": "x"`, "password is x". Groups: 1 label, 2 separator, 3 quote, 4 quoted value, 5 bare value.
 */
const LABELLED = new RegExp(
  LABEL +
    `(?:${QUALIFIER})?` +
    `((?:["'\`]?[*_]{0,2}[ \\t\\u00a0]*(?:=>|[:=：]|\\|)[*_]{0,2}[ \\t\\u00a0]*)|[ \\t]+(?:is|ist|lautet|es|est|är|er|on|é)[ \\t]+${PROSE_AFTER_IS})` +
    // The bare value is only looked at, not consumed: a label later on the line still matches.
    "(?:([\"'`])((?:(?!\\3)[^\\r\\n\\0]){1,500})\\3|(?=([^\\s|][^\\r\\n\\0]{0,199})))",
  "giud",
);

/**
 * Values that say something about a secret rather than being one: a boolean or "none"
 * ("lock_passwd: true"), a PVE user or token id ("token: mcp@pve!readonly"), or prose
 * ("passwd: password updated successfully", "password: required").
 */
const NOT_A_SECRET = new RegExp(
  "^(?:(?:true|false|yes|no|on|off|none|null|nil|undefined|n/?a|tb[ad]|todo|\\*+)(?:[\\s,;.)]|$)" +
    "|[\\w.-]{1,64}@[\\w.-]{1,64}![\\w.-]{1,64}(?::[\\d:]*)?(?:[\\s,;.)]|$)" +
    // a pointer to where it is kept: "see Bitwarden", "siehe KeePass", "ask Bob", "(in vault)"
    "|(?:see|siehe|voir|ver|vedi|zie|ask|frag|check|use|in|im|stored|kept)\\b|\\(" +
    // a placeholder: "!secret mqtt_password", "${DB_PASS}", "{{ vault_pw }}", "<from Authentik>", "*TOKEN*"
    "|PVE\\w*(?:Admin|Auditor|User|Operator|Manager)\\b|WPA\\d?(?:-\\w+)?(?:[\\s,;.)]|$)|[\\w-]*\\*(?:['\"\\s:]|$)" +
    "|!secret\\b|\\$\\{\\w+\\}|\\$[A-Z_][A-Z0-9_]*\\b|\\{\\{[^}]*\\}\\}|<[^<>\\r\\n]{1,60}>|\\*+\\w+\\*" +
    // a file: "/root/.smbcredentials", "~/.pgpass", "./secrets/db.txt"
    "|(?:~|\\.{1,2})?/(?:[\\w.$@-]+/)*[\\w.$@-]+/?(?:[\\s,;)]|$)" +
    // PAM's "pam_unix(passwd:chauthtok)"
    "|(?:chauthtok|auth|account|session)\\)" +
    `|(?:${PROSE_WORDS}|password|passwords|passwd|token|tokens|secret|secrets|updated|successfully|changed|expired|reset|disabled|enabled|login|prompt)(?:\\s|$|[.,;:!?)]))`,
  "i",
);

/** Password labels whose bare value is the rest of the line; other labels take one word. */
const IS_PASSWORD_LABEL = new RegExp(`${PASSWORD_LABEL}$`, "iu");

/** Where the line holding `at` ends (a newline or NUL: PVE joins OCI env variables with NUL). */
function lineEnds(text: string): (at: number) => number {
  const breaks = /[\r\n\0]/g;
  let end = -1;
  return (at) => {
    if (at > end) {
      breaks.lastIndex = at;
      end = breaks.exec(text)?.index ?? text.length;
    }
    return end;
  };
}

const labelledValues: SpanRule = function* (text) {
  const lineEnd = lineEnds(text);
  for (const m of text.matchAll(LABELLED)) {
    const [label, sep] = [m[1] ?? "", m[2] ?? ""];
    const quoted = m.indices?.[4];
    if (quoted) {
      if (!NOT_A_SECRET.test(m[4] ?? "")) yield quoted;
      continue;
    }
    const bare = m.indices?.[5];
    const value = m[5];
    if (!bare || value === undefined) continue;
    if (/pin$/i.test(label) && !/^\d{4,12}\b/.test(value)) continue;
    if (NOT_A_SECRET.test(value)) continue;
    if (sep.includes("|")) {
      const end = value.search(/\s*\|/);
      yield [bare[0], bare[0] + (end < 0 ? value.length : end)];
    } else if (IS_PASSWORD_LABEL.test(label)) {
      // The value may hold spaces: the rest of the line goes (trailing spaces stay).
      const end = lineEnd(bare[0]);
      yield [bare[0], bare[0] + text.slice(bare[0], end).trimEnd().length];
    } else {
      const end = value.search(/[\s,;]|$/);
      yield [bare[0], bare[0] + (end < 0 ? value.length : end)];
    }
  }
};

/**
 * "pw Winter2026!", "passcode 4821", "--password hunter2", "client_secret 9f2c...": a
 * label, a space, and a value that looks like a secret, never a word of prose. After a
 * password label any digit or symbol will do; after another label ("token") the value
 * must be long and mix letters and digits, and not be a token id ("token mcp@pve!ro").
 */
const UNSEPARATED = new RegExp(
  `(?<![\\p{L}\\p{N}_])(?:--?)?(?!passwd\\b)((?:[\\w-]{0,40}?)(?:${PASSWORD_LABEL}|${SECRET_LABEL}))\\d?[ \\t]+(?!(?:${PROSE_WORDS})\\b)` +
    // Looked at, not consumed: "token secret 3b7e..." is "secret" then its value.
    `(?=(["'])((?:(?!\\2)[^\\r\\n]){1,200})\\2|([^\\s"'<>-][^\\s"'<>]{3,199}))`,
  "giud",
);
const unseparatedValues: SpanRule = function* (text) {
  for (const m of text.matchAll(UNSEPARATED)) {
    const label = m[1] ?? "";
    const quoted = m.indices?.[3];
    const value = m[3] ?? m[4] ?? "";
    // "password: x" and "password=x" are the labelled rule's; "pw (see vault)" is prose;
    // "proxy_pass https://..." names a place.
    if (/^[:=(]/.test(value) || NOT_A_SECRET.test(value) || /^[a-z][\w+.-]*:\/\//i.test(value)) continue;
    const looksSecret = IS_PASSWORD_LABEL.test(label)
      ? quoted !== undefined || /[\d\W_]/u.test(value)
      : value.length >= 12 && /\d/.test(value) && /\p{L}/u.test(value);
    const at = quoted ?? m.indices?.[4];
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
  /(?:^|[ \t])(?:-u[ \t]*|--(?:proxy-)?user[ \t=]+)["']?(?!\d+:\d+\b)[^\s:"']{1,128}:([^\s"']+)/dgi,
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
  // Authorization: a known scheme and its value, or a bare value that looks like one
  /Authorization["']?[ \t]*[:=][ \t]*["']?((?:Basic|Bearer|Token|Digest|Negotiate|NTLM|ApiKey|Api-Key|PVEAPIToken|PBSAPIToken|SSWS|Key)[ \t=]+[^\s"',;]{4,}|(?=[^\s"',;]*\d)[^\s"',;]{16,})/dgi,
  /\bBearer[ \t]+((?=[A-Za-z0-9._~+/-]*[\d._~+/-])[A-Za-z0-9._~+/-]{20,}=*)/dg,
  // racadm/mosquitto/ssh-keygen/influx/snmp flags that take a password, key or community
  /\bracadm\b[^\r\n]{0,200}?[ \t]-p[ \t]+["']?([^\s"']+)/dgi,
  /\bmosquitto_(?:pub|sub)\b[^\r\n]{0,200}?[ \t]-P[ \t]+["']?([^\s"']+)/dg,
  /\bssh-keygen\b[^\r\n]{0,200}?[ \t]-[NP][ \t]+["']([^"'\r\n]+)/dg,
  /\binflux\b[^\r\n]{0,200}?[ \t](?:-t|--token)[ \t=]+["']?([^\s"']+)/dgi,
  /\bsnmp(?:walk|get|bulkwalk|bulkget|set|table|trap)\b[^\r\n]{0,200}?[ \t]-c[ \t]+["']?([^\s"']+)/dgi,
  /\b(?:ro|rw)community6?[ \t]+(\S+)/dgi,
  /\bcreateUser[ \t]+\S+[ \t]+(?:MD5|SHA\S*)[ \t]+["']?([^\s"']+)/dg,
  /\bcreateUser[ \t]+\S+[ \t]+(?:MD5|SHA\S*)[ \t]+\S+[ \t]+(?:DES|AES\S*)[ \t]+["']?([^\s"']+)/dg,
  /\bMONITOR[ \t]+\S+[ \t]+\d+[ \t]+\S+[ \t]+(\S+)[ \t]+(?:primary|secondary|master|slave)\b/dg,
  // here-strings and passwords piped into a password tool
  /<<<[ \t]*["']([^"'\r\n]+)["']/dg,
  /\b(?:echo|printf)(?:[ \t]+-[a-z]+)*[ \t]+["']([^"'\r\n]+)["'][ \t]*\|[ \t]*(?:sudo[ \t]+)?(?:chpasswd|passwd|smbpasswd|pveum[ \t]+passwd|proxmox-backup-manager)\b/dgi,
  /\bopenssl[ \t]+passwd(?:[ \t]+-\S+)*[ \t]+["']?([^\s"'-][^\s"')]*)/dg,
  // QEMU secrets: -object secret,id=x,data=SECRET
  /-object[ \t]+secret,[^\s]*?\bdata=([^,\s]+)/dg,
  // SQL and PHP: IDENTIFIED BY 'x', WITH PASSWORD 'x', define('DB_PASSWORD', 'x')
  /\bIDENTIFIED[ \t]+(?:WITH[ \t]+\S+[ \t]+)?BY[ \t]+(?:PASSWORD[ \t]+)?'([^'\r\n]+)'/dgi,
  /\bWITH[ \t]+(?:ENCRYPTED[ \t]+)?PASSWORD[ \t]+'([^'\r\n]+)'/dgi,
  /\bdefine\([ \t]*['"]\w*(?:PASSWORD|SECRET|KEY|SALT|TOKEN)\w*['"][ \t]*,[ \t]*['"]([^'"\r\n]+)/dgi,
  // notifications.cfg written out: header name=Authorization,value=...
  /\bname=(?:Authorization|[\w-]*(?:key|token|secret|auth|password))[ \t]*,[ \t]*value=([^,\s]+)/dgi,
  // a PVE login ticket (PVEAuthCookie)
  /\bPVE(?:AuthCookie=)?:[\w.@!-]+:[0-9A-F]{8}::([A-Za-z0-9+/=]{40,})/dg,
  // user:password@host without a scheme (ssh, rsync)
  /(?<![\w.:/-])(?<!mailto:)[\w.-]{1,64}:([^\s@:/"']{3,128})@[\w-]+(?:\.[\w-]+)+/dg,
  // k3s/rke2 join token, Uptime Kuma push URL, htpasswd SHA, Traefik's doubled-$ bcrypt
  /\b(K10[0-9a-f]{40,}::\w+:[0-9a-f]{32})\b/dg,
  // a new API token's secret near its id (pveum's table, a pasted answer)
  /(?:full-tokenid|[\w.-]{1,64}@[\w.-]{1,64}![\w.-]{1,64})[\s\S]{0,300}?\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/dg,
  // a kubeconfig's client-key-data: base64 of a PEM private key
  /\b(LS0tLS1CRUdJTi[A-Za-z0-9+/]{0,40}(?:UFJJVkFURSBLRVk|BSSVZBVEUgS0VZ|QUklWQVRFIEtFW)[A-Za-z0-9+/=]*)/dg,
  /\/api\/push\/([A-Za-z0-9]{8,})/dg,
  /\{S?SHA\}([A-Za-z0-9+/=]{27,})/dg,
  /(\$\$(?:2[aby]|apr1)\$\$[^\s"']+)/dg,
  // a Windows product key
  /\b([A-Z0-9]{5}(?:-[A-Z0-9]{5}){4})\b/dg,
  // a PBS key file: {"kdf": ..., "data": "..."}
  /"kdf"[ \t]*:[\s\S]{0,400}?"data"[ \t]*:[ \t]*"([^"\r\n]+)"/dg,
  // ansible-vault: the hex lines after the header
  /\$ANSIBLE_VAULT;[^\r\n]*\r?\n((?:[0-9a-f]{20,}\r?\n?)+)/dg,
  // a .pgpass line: host:port:database:user:password
  /^[^:\s]+:(?:\d+|\*):[^:\s]+:[^:\s]+:((?:[^\s:\\]|\\.)+)$/dgm,
];
const commandLines: SpanRule = function* (text) {
  for (const pattern of COMMAND_LINE) yield* matchSpans(text, pattern, 1);
};

/** VAR=secret, also lowercase and glued to its prefix: SSHPASS=, PAPERLESS_DBPASS=, bindpw=, key=. */
const ASSIGNMENT =
  /(?<![\w-])(?:[A-Za-z][A-Za-z0-9_]{0,60}?)?(?:PASS|PASSWD|PWD|PW|SECRET|TOKEN|KEY|PSK)\d*=["']?([^\s"',;]{4,})/dgi;
const assignments: SpanRule = function* (text) {
  for (const m of text.matchAll(ASSIGNMENT)) {
    const at = m.indices?.[1];
    if (at && !NOT_A_SECRET.test(m[1] ?? "")) yield at;
  }
};

/** Quoted JSON keys inside text: {"auth": "x"}, "pwd":"x", "client_secret": "x". */
const JSON_SECRET = new RegExp(
  `"((?:[\\w-]{0,40}?[_-])?(?:auth|${PASSWORD_LABEL}|${SECRET_LABEL}))"[ \\t]*:[ \\t]*"((?:[^"\\\\\\r\\n]|\\\\.){1,2000})"`,
  "giud",
);
const jsonValues: SpanRule = function* (text) {
  for (const m of text.matchAll(JSON_SECRET)) {
    const [label, value] = [m[1] ?? "", m[2] ?? ""];
    if (NOT_A_SECRET.test(value) || (/auth$/i.test(label) && value.length < 12)) continue;
    const at = m.indices?.[2];
    if (at) yield at;
  }
};

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
/** In rendered output (JSON) a block must end where it began: a BEGIN whose END is missing was masked in the data. */
const COMPLETE_PEM = new RegExp(`${PEM_EDGE("BEGIN")}[^"\\\\]*?${PEM_EDGE("END")}`, "dgi");
const completePrivateKeys: SpanRule = (text) => matchSpans(text, COMPLETE_PEM);

/** SSH public keys, also URL-encoded as PVE stores sshkeys: who may log in is not for the model. */
const SSH_PUBLIC_KEY =
  /(?:sk-)?(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d{3})(?:@openssh\.com)?(?:%20|[ \t])+(?:[A-Za-z0-9+/=]|%(?!0[AaDd]|20)[0-9A-Fa-f]{2}){20,}/dg;
const sshPublicKeys: SpanRule = (text) => matchSpans(text, SSH_PUBLIC_KEY);

/** URL userinfo ("https://admin:S3cret@nas.lab" keeps the user) and secret-bearing URLs: each needs "://". */
const URLS: [RegExp, number][] = [
  // The user may hold "@" itself ("backup@pbs:secret@pbs.lab"): the password is what precedes the last "@".
  [/[a-z][a-z0-9+.-]{0,20}:\/\/[^\s:/"'<>\\]{0,256}:([^\s@/"'<>\\]{1,256})@/dgi, 1],
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
  [
    /\bhttps?:\/\/(?:ntfy\.sh|ntfy\.[\w.-]+|[\w.-]+\/ntfy)\/(?!(?:docs|app|static|login|signup|account|v1)\b)([^\s?#"'<>\\]+)/dgi,
    1,
  ],
];
/** Secret shapes of URLs without their scheme ("?token=...") and ntfy's e-mail addresses. */
const URL_FREE_SHAPES: [RegExp, number][] = [
  // ntfy's e-mail publishing: the topic is the key ("ntfy-<topic>@ntfy.sh").
  [/\bntfy-([\w-]+)@ntfy\.[\w.-]+/dgi, 1],
  // Query parameters that carry a credential, in any URL.
  [
    /[?&;](?:access_token|auth_token|id_token|refresh_token|private_token|api[_-]?key|apikey|key|token|secret|client_secret|password|passwd|pass|pwd|auth|sig|signature|code|X-Amz-Signature|X-Amz-Credential)=([^\s&#"'<>\\]+)/dgi,
    1,
  ],
];
const secretUrls: SpanRule = function* (text) {
  // A text without "://" has no URL: most skip the scheme shapes at once.
  if (text.includes("://")) for (const [pattern, group] of URLS) yield* matchSpans(text, pattern, group);
  for (const [pattern, group] of URL_FREE_SHAPES) yield* matchSpans(text, pattern, group);
};

/** Password hashes (crypt(3)): $1$, $2b$, $5$, $6$, $y$ (yescrypt), $7$ (scrypt). */
const CRYPT_HASH =
  /\$(?:1|2[abxy]?|5|6|y|gy|7|sha1|md5|apr1)\$[^\s$:"'\\]{1,64}(?:\$[^\s$:"'\\]{1,64}){0,2}\$[./A-Za-z0-9]{8,}/dg;
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

/**
 * "root@pam / Proxmox!Node1", "ADMIN / Sup3rM1cro!", "admin/Syn0logy!DS920", "root => Webm1n":
 * a login people write before its password. The value must look like one: letters and
 * digits, and a symbol where the slash has no spaces around it ("admin/Documents2024" is a path).
 */
const LOGIN_THEN_PASSWORD =
  /(?<![\w/.-])(?:admin|administrator|root|ubnt|pi|[\w.-]{1,64}@(?:pam|pve|pbs))([ \t]*(?:\/|=>|->)[ \t]*)([^\s/"'<>]{6,64})/dgi;
const loginPasswords: SpanRule = function* (text) {
  for (const m of text.matchAll(LOGIN_THEN_PASSWORD)) {
    const [sep, value] = [m[1] ?? "", m[2] ?? ""];
    const looksSecret =
      /\d/.test(value) &&
      /\p{L}/u.test(value) &&
      (/[^\p{L}\p{N}]/u.test(value) || (sep.includes(" ") && value.length >= 8));
    const at = m.indices?.[2];
    if (looksSecret && at && !NOT_A_SECRET.test(value)) yield at;
  }
};

/** <Password>x</Password>, <ApiKey>x</ApiKey> (the *arr apps' config.xml, many others). */
const XML_SECRET = new RegExp(
  `<([\\w:-]{0,40}?(?:${PASSWORD_LABEL}|${SECRET_LABEL}))>([^<\\r\\n]{1,500})</\\1>`,
  "giud",
);
const xmlValues: SpanRule = (text) => matchSpans(text, XML_SECRET, 2);

/** A header cell that names a secret column: "| Login | Password |" masks that column's cells below. */
const SECRET_HEADER = new RegExp(`^[ \\t*_]*(?:${PASSWORD_LABEL}|${SECRET_LABEL})[ \\t*_]*$`, "iu");
const tableColumns: SpanRule = function* (text) {
  let secretColumns: number[] = [];
  let offset = 0;
  for (const line of text.split("\n")) {
    const row = /^[ \t]*[|│]/.test(line);
    if (!row) secretColumns = [];
    else {
      const cells: [number, number][] = [];
      const bar = /[|│]/g;
      let last: number | undefined;
      for (let m = bar.exec(line); m; m = bar.exec(line)) {
        if (last !== undefined) cells.push([last + 1, m.index]);
        last = m.index;
      }
      const headers = cells.map(([a, b]) => SECRET_HEADER.test(line.slice(a, b)));
      if (headers.some(Boolean)) secretColumns = headers.flatMap((secret, i) => (secret ? [i] : []));
      else if (!/^[\s|│:=╞╡═─-]*$/.test(line)) {
        for (const i of secretColumns) {
          const cell = cells[i];
          const value = cell ? line.slice(cell[0], cell[1]) : "";
          const start = cell ? cell[0] + value.length - value.trimStart().length : 0;
          const trimmed = value.trim();
          if (cell && trimmed && !NOT_A_SECRET.test(trimmed))
            yield [offset + start, offset + start + trimmed.length];
        }
      }
    }
    offset += line.length + 1;
  }
};

/** chpasswd <<EOF ... EOF: every "user:password" line of the here-document. */
const CHPASSWD_HEREDOC = /\bchpasswd\b[^\r\n]*<<-?[ \t]*["']?(\w+)["']?\r?\n([\s\S]*?)^\1\b/dgm;
const chpasswdHeredocs: SpanRule = function* (text) {
  for (const m of text.matchAll(CHPASSWD_HEREDOC)) {
    let at = m.indices?.[2]?.[0] ?? 0;
    for (const line of (m[2] ?? "").split("\n")) {
      const pair = LIST_ENTRY.exec(line)?.indices?.[1];
      if (pair) yield [at + pair[0], at + pair[1]];
      at += line.length + 1;
    }
  }
};

export const TEXT_RULES: readonly SpanRule[] = [
  assignments,
  loginPasswords,
  xmlValues,
  tableColumns,
  chpasswdHeredocs,
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
export const STRUCTURAL_RULES: readonly SpanRule[] = [
  completePrivateKeys,
  sshPublicKeys,
  secretUrls,
  cryptHashes,
];
