/**
 * The redaction corpus: secrets in the shapes people really leave in Proxmox (notes,
 * comments, task logs, cloud-init, storage configs), each placed in several contexts
 * with fresh values, and benign Proxmox texts that must come through unchanged.
 * Values come from a seeded generator: the corpus is the same on every run.
 */

/** A secret placed in a text; `secrets` are the values that must not survive redaction. */
export interface SecretSample {
  shape: string;
  text: string;
  secrets: string[];
}

function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chars = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => pick([...alphabet])).join("");
  return { next, pick, chars };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";
const ALNUM = LOWER + UPPER + DIGITS;
const HEX = "0123456789abcdef";
const B64 = ALNUM + "+/";
const SYMBOLS = "!#%&*+-.?@^_~";

const g = generator(20261204);

/** A password a person would choose: a word, digits, a symbol; never a dictionary-only word. */
function password(): string {
  const words = [
    "Winter",
    "Falcon",
    "Orange",
    "Kestrel",
    "Harbor",
    "Tundra",
    "Marble",
    "Copper",
    "Saturn",
    "Meadow",
  ];
  return `${g.pick(words)}${g.chars(DIGITS, 2 + Math.floor(g.next() * 3))}${g.pick([...SYMBOLS])}${g.chars(ALNUM, 3)}`;
}
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Where a one-line secret can sit: a guest note, a task log line, a config comment, a markdown table... */
const CONTEXTS: ((line: string) => string)[] = [
  (line) => line,
  (line) => `# web01\nNginx reverse proxy for the lab.\n${line}\nBackups nightly to pbs01.`,
  (line) => `INFO: ${line}`,
  (line) => `- ${line}`,
  (line) => `Note (2026-11-02, alice): ${line}`,
  (line) => `**Access**\n\n${line}\n\nAsk bob before rebooting.`,
];

type Maker = () => { line: string; secrets: string[] };

const labelled =
  (labels: readonly string[], separators: readonly string[] = [": ", "=", " = "]): Maker =>
  () => {
    const value = password();
    return { line: `${g.pick(labels)}${g.pick(separators)}${value}`, secrets: [value] };
  };

const SHAPES: Record<string, Maker> = {
  "labelled (English)": labelled([
    "password",
    "Password",
    "root password",
    "DB_PASSWORD",
    "admin pw",
    "passphrase",
  ]),
  "labelled (German)": labelled(["Passwort", "Kennwort", "root-Passwort", "WLAN-Passwort"]),
  "labelled (Spanish)": labelled(["contraseña", "Contraseña", "contrasena"]),
  "labelled (French)": labelled(["mot de passe", "Mot de passe", "mdp"], [" : ", ": ", "="]),
  "labelled (Dutch, Nordic)": labelled(["wachtwoord", "lösenord", "passord", "salasana", "adgangskode"]),
  "labelled (Slavic, Turkish, Italian)": labelled(["пароль", "hasło", "heslo", "lozinka", "şifre", "parola"]),
  "labelled (CJK)": labelled(["パスワード", "密码", "비밀번호"], ["：", ": ", "="]),
  "labelled secret/token/api key": () => {
    const value = g.chars(ALNUM, 24 + Math.floor(g.next() * 16));
    const label = g.pick([
      "API key",
      "api_key",
      "MONITORING_API_KEY",
      "secret",
      "client_secret",
      "access key",
      "token",
    ]);
    return { line: `${label}${g.pick([": ", "=", " "])}${value}`, secrets: [value] };
  },
  "no separator (pw X, passcode X)": () => {
    const value = g.pick([password(), g.chars(DIGITS, 6), `${g.chars(ALNUM, 6)}!`]);
    return {
      line: `${g.pick(["root pw", "pw", "passcode", "password", "Passwort"])} ${value}`,
      secrets: [value],
    };
  },
  "mysql -p": () => {
    const value = password().replace(/[!#&*?^~]/g, "9");
    const tool = g.pick(["mysqldump", "mysql", "mysqladmin", "mariadb-dump"]);
    return { line: `${tool} -uroot -p${value} --all-databases > /backup/all.sql`, secrets: [value] };
  },
  "curl -u user:pass": () => {
    const value = password().replace(/[!#&*?^~]/g, "7");
    return {
      line: `curl -fsS ${g.pick(["-u", "--user"])} admin:${value} https://nas.lab.example/api/status`,
      secrets: [value],
    };
  },
  "Authorization: Basic": () => {
    const value = password();
    const blob = b64(`svc-backup:${value}`);
    return { line: `curl -H "Authorization: Basic ${blob}" https://pbs01:8007/`, secrets: [blob, value] };
  },
  "Authorization: Bearer": () => {
    const value = g.chars(ALNUM + "._-", 40);
    return { line: `Authorization: Bearer ${value}`, secrets: [value] };
  },
  "sshpass -p": () => {
    const value = password().replace(/[!#&*?^~]/g, "3");
    return {
      line: `sshpass -p ${value} ssh root@10.0.0.${Math.floor(g.next() * 200)} uptime`,
      secrets: [value],
    };
  },
  "environment variable": () => {
    const value = password();
    const name = g.pick([
      "PGPASSWORD",
      "MYSQL_ROOT_PASSWORD",
      "REDIS_PASSWORD",
      "SMTP_PASS",
      "GF_SECURITY_ADMIN_PASSWORD",
    ]);
    return { line: `${name}=${value} ./deploy.sh`, secrets: [value] };
  },
  "JSON in text": () => {
    const value = g.chars(ALNUM, 20);
    const key = g.pick(["auth", "pwd", "password", "client_secret", "apiKey", "token", "passwd"]);
    return { line: `config.json: {"user": "svc", "${key}": "${value}", "port": 8443}`, secrets: [value] };
  },
  "vendor token (secretlint rules)": () => {
    const token = g.pick([
      () => `ghp_${g.chars(ALNUM, 36)}`,
      () => `github_pat_${g.chars(ALNUM, 22)}_${g.chars(ALNUM, 59)}`,
      () => `glpat-${g.chars(ALNUM + "_-", 20)}`,
      () => `xoxb-${g.chars(DIGITS, 12)}-${g.chars(DIGITS, 13)}-${g.chars(ALNUM, 24)}`,
      () => `glsa_${g.chars(ALNUM, 32)}_${g.chars(HEX, 8)}`,
      () => `hf_${g.chars(ALNUM, 34)}`,
      () => `npm_${g.chars(ALNUM, 36)}`,
      () => `sk-ant-api03-${g.chars(ALNUM + "_-", 93)}AA`,
      () => `sk-proj-${g.chars(ALNUM + "_-", 48)}T3BlbkFJ${g.chars(ALNUM + "_-", 48)}`,
      () => `SG.${g.chars(ALNUM + "_-", 22)}.${g.chars(ALNUM + "_-", 43)}`,
      () => `hvs.${g.chars(ALNUM + "_-", 90)}`,
      () => `shpat_${g.chars(HEX, 32)}`,
      () => `lin_api_${g.chars(ALNUM, 40)}`,
      () => `gsk_${g.chars(ALNUM, 52)}`,
      () => `dapi${g.chars(HEX, 32)}`,
      () => `figd_${g.chars(ALNUM + "_-", 40)}`,
    ])();
    return { line: `${g.pick(["token", "use", "CI var", "export GH"])} ${token}`, secrets: [token] };
  },
  "vendor token (our formats)": () => {
    const token = g.pick([
      () => `GR1348941${g.chars(ALNUM + "_-", 20)}`,
      () => `glrt-${g.chars(ALNUM + "_-", 24)}`,
      () => `dop_v1_${g.chars(HEX, 64)}`,
      () => `tskey-auth-${g.chars(ALNUM, 12)}-${g.chars(ALNUM, 30)}`,
      () => `${g.chars(DIGITS, 10)}:AA${g.chars(ALNUM + "_-", 33)}`,
      () => `sk_live_${g.chars(ALNUM, 24)}`,
      () => `AKIA${g.chars(UPPER + DIGITS, 16)}`,
      () => `AIza${g.chars(ALNUM + "_-", 35)}`,
      () => `eyJ${g.chars(ALNUM, 20)}.eyJ${g.chars(ALNUM, 40)}.${g.chars(ALNUM + "_-", 43)}`,
      () => `pypi-AgEIcHlwaS5vcmc${g.chars(ALNUM + "_-", 60)}`,
      () => `AQ${g.chars(B64, 36)}==`,
      () => `tk_${g.chars(LOWER + DIGITS, 29)}`,
      () => `AGE-SECRET-KEY-1${g.chars(UPPER + DIGITS, 58)}`,
    ])();
    return {
      line: `${g.pick(["key", "runner token", "TOKEN", "bot"])} ${token} (do not share)`,
      secrets: [token],
    };
  },
  "PEM private key": () => {
    const body = Array.from({ length: 4 }, () => g.chars(B64, 64)).join("\n");
    const kind = g.pick([
      "RSA PRIVATE KEY",
      "PRIVATE KEY",
      "EC PRIVATE KEY",
      "OPENSSH PRIVATE KEY",
      "ENCRYPTED PRIVATE KEY",
    ]);
    return { line: `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----`, secrets: body.split("\n") };
  },
  "PEM private key, BEGIN line split": () => {
    const body = Array.from({ length: 3 }, () => g.chars(B64, 64)).join("\n");
    const header = g.pick([
      "-----BEGIN RSA PRIVATE\nKEY-----",
      "-----BEGIN OPENSSH\nPRIVATE KEY-----",
      "-----BEGIN\nPRIVATE KEY-----",
      "-----BEGIN RSA PRIV\nATE KEY-----",
    ]);
    return { line: `${header}\n${body}\n-----END PRIVATE KEY`, secrets: body.split("\n") };
  },
  "private key body without BEGIN": () => {
    const body = `${g.pick(["b3BlbnNzaC1rZXktdjEAAAAA", "MIIEpAIBAAKCAQEA", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"])}${g.chars(B64, 40)}`;
    const more = g.chars(B64, 64);
    return { line: `key:\n${body}\n${more}`, secrets: [body, more] };
  },
  "base64 user:pass blob": () => {
    const value = password();
    const blob = b64(`${g.pick(["admin", "root", "backup", "svc-ci"])}:${value}`);
    return { line: `${g.pick(["docker auth", "creds", "basic", "registry"])} ${blob}`, secrets: [blob] };
  },
  "URL credentials": () => {
    const value = password().replace(/[#?@/]/g, "x");
    const scheme = g.pick(["https", "smb", "ftp", "postgres", "mysql", "mongodb", "redis", "sftp"]);
    const user = g.pick(["backup", "backup@pbs", "root@pam!sync"]);
    return { line: `mount ${scheme}://${user}:${value}@nas.lab.example/share`, secrets: [value] };
  },
  "Discord webhook": () => {
    const token = g.chars(ALNUM + "_-", 68);
    return {
      line: `alerts -> https://discord.com/api/webhooks/${g.chars(DIGITS, 19)}/${token}`,
      secrets: [token],
    };
  },
  "Slack webhook": () => {
    const path = `T${g.chars(UPPER + DIGITS, 10)}/B${g.chars(UPPER + DIGITS, 10)}/${g.chars(ALNUM, 24)}`;
    return { line: `notify https://hooks.slack.com/services/${path}`, secrets: [path.split("/")[2]!] };
  },
  "ntfy topic or token": () => {
    const topic = `homelab-${g.chars(LOWER + DIGITS, 16)}`;
    const token = `tk_${g.chars(LOWER + DIGITS, 29)}`;
    return g.pick([
      { line: `push to https://ntfy.sh/${topic}`, secrets: [topic] },
      { line: `ntfy token ${token}`, secrets: [token] },
      { line: `alerts by mail to ntfy-${topic}@ntfy.sh`, secrets: [topic] },
    ]);
  },
  "Teams / Telegram / Gotify URL": () => {
    const secret = g.chars(ALNUM, 32);
    const line = g.pick([
      `https://contoso.webhook.office.com/webhookb2/${secret}@${g.chars(HEX, 8)}/IncomingWebhook/${g.chars(HEX, 32)}`,
      `https://api.telegram.org/bot${g.chars(DIGITS, 10)}:${secret}/sendMessage`,
      `https://gotify.lab.example/message?token=${secret}`,
      `https://hc-ping.com/${secret}`,
    ]);
    return { line: `notify: ${line}`, secrets: [secret] };
  },
  "Wi-Fi PSK": () => {
    const value = password();
    return {
      line: g.pick([`wpa-psk ${value}`, `psk=${value}`, `wpa_passphrase=${value}`, `psk="${value}"`]),
      secrets: [value],
    };
  },
  "cloud-init chpasswd list": () => {
    const [a, b] = [password(), password()];
    return {
      line: g.pick([
        `#cloud-config\nchpasswd:\n  list: |\n    root:${a}\n    ubuntu:${b}\n  expire: false`,
        `chpasswd:\n  expire: false\n  users:\n    - {name: root, password: ${a}, type: text}\n    - name: ubuntu\n      password: ${b}`,
        `#cloud-config\nchpasswd: { list: [ "root:${a}", "ubuntu:${b}" ] }`,
        `users:\n  - name: admin\n    plain_text_passwd: ${a}\n  - name: ops\n    passwd: ${b}`,
      ]),
      secrets: [a, b],
    };
  },
  "password hash": () => {
    const hash = g.pick([
      `$6$${g.chars(ALNUM, 16)}$${g.chars(ALNUM + "./", 86)}`,
      `$y$j9T$${g.chars(ALNUM + "./", 22)}$${g.chars(ALNUM + "./", 43)}`,
      `$2b$12$${g.chars(ALNUM + "./", 53)}`,
    ]);
    return { line: `root:${hash}:19700:0:99999:7:::`, secrets: [hash.slice(-30)] };
  },
  "other command lines": () => {
    const value = password().replace(/[!#&*?^~%]/g, "5");
    return {
      line: g.pick([
        `redis-cli -h 10.0.0.9 -a ${value} ping`,
        `openssl enc -aes-256-cbc -pass pass:${value} -in db.sql`,
        `smbclient //nas/backup -U backup%${value}`,
        `ipmitool -I lanplus -H 10.0.0.250 -U ADMIN -P ${value} power status`,
        `echo 'root:${value}' | chpasswd`,
        `docker login -u ci -p ${value} registry.lab.example`,
        `xfreerdp /v:win11 /u:admin /p:${value}`,
      ]),
      secrets: [value],
    };
  },
  "secret query parameter": () => {
    const value = g.chars(ALNUM, 28);
    const name = g.pick(["api_key", "access_token", "token", "key", "apikey", "password"]);
    return {
      line: `GET https://monitor.lab.example/api/v1/push?${name}=${value}&status=up`,
      secrets: [value],
    };
  },
};

export const SHAPE_NAMES = Object.keys(SHAPES);

/** `perShape` samples of each shape, spread over the contexts. */
export function secretSamples(perShape = 12): SecretSample[] {
  const out: SecretSample[] = [];
  for (const [shape, make] of Object.entries(SHAPES)) {
    for (let i = 0; i < perShape; i++) {
      const { line, secrets } = make();
      out.push({ shape, text: CONTEXTS[i % CONTEXTS.length]!(line), secrets });
    }
  }
  return out;
}
