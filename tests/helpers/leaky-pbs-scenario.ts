/**
 * The adversarial Proxmox Backup Server: the PBS demo (src/simulator/pbs/scenarios/demo.ts)
 * plus a datastore "vault", a remote "partner", a user leaky@pbs and tasks that carry
 * secrets of the shapes leaky-scenario.ts plants in PVE, and the same hostile text
 * (terminal escapes, bidi and zero-width characters, fake instructions, fence look-alikes),
 * in every place a PBS user, a PBS admin or a failing job can put text that the pbs tools,
 * the PBS audit checks or doctor may echo: datastore comment and maintenance message,
 * snapshot notes (PBS lists their first line as `comment`), group notes, a host backup id,
 * verify/prune/sync job comments and their `last-run-state` error texts, GC's, a remote's
 * comment (and its password, which PBS keeps and never answers), user names, e-mail and
 * comment, token comments, TFA descriptions, task worker ids, exit statuses and log lines;
 * and PBS error bodies (plain text) answered through the simulator's faults.
 *
 * Every value is new (seeds under "pbs/"), so the leak table tells PVE's plants from
 * PBS's; the one value shared on purpose is the PVE read token's secret, planted bare in a
 * PBS comment: the server knows it, and must mask it wherever it turns up.
 *
 * Real PBS refuses control characters in comments (SINGLE_LINE_COMMENT_SCHEMA) and keeps
 * snapshot notes out of its lists beyond their first line; the simulator serves what the
 * scenario holds, as a PBS behind a hostile proxy, or a later PBS, could: masking and
 * cleaning must not depend on PBS's discretion.
 */
import { pbsDemoScenario } from "../../src/simulator/pbs/scenarios/demo.js";
import type {
  PbsGroupInput,
  PbsScenarioInput,
  PbsTaskInput,
  PbsUserInput,
} from "../../src/simulator/pbs/scenario.js";
import { escapeUnit } from "../../src/simulator/pbs/state.js";
import {
  ALNUM,
  AUDITOR_SECRET,
  base64,
  BASE32_UPPER,
  BASE64,
  C1_CSI,
  CRYPT,
  DIGITS,
  ESC_CLEAR,
  ESC_CLIPBOARD,
  ESC_TITLE,
  FAKE_API_FENCE_END,
  FAKE_FENCE_END,
  HEX,
  INJECTIONS,
  LINE_SEPARATOR,
  LOWER,
  pemBody,
  randomChars,
  RLO,
  UPPER,
  URL_SAFE,
  uuid,
  ZWSP,
  type PlantedError,
  type PlantedField,
  type PlantedSecret,
} from "./leaky-scenario.js";

export interface LeakyPbs {
  scenario: PbsScenarioInput;
  secrets: PlantedSecret[];
  /** servedBy: PBS API paths (below /api2/json, as the PBS simulator logs them; globs). */
  fields: PlantedField[];
  /** Errors to answer PBS requests with (through the PBS simulator's faults). */
  errors: PlantedError[];
  injections: string[];
  /** Planted places that no tool, audit check or doctor step reads today: why not. */
  unread: Record<string, string>;
}

const [STOP_ALL, ALL_CLEAR, REVEAL] = INJECTIONS;

/** Every PBS value planted, by shape (the same shapes as PVE's, new values). */
const SECRETS = {
  passwortDe: "Dachluke-6620",
  contrasenaEs: "Mariposa#4417y",
  motDePasseFr: "Escargot!7734",
  parolRu: "Volk-5521-Leto",
  pwNoColon: "Anchor4419y",
  passcodeNoColon: "Qz71940262",
  mysqlPassword: "PbsMyPw_7qR2-x",
  curlUser: "PbsCurl77yy",
  basicAuth: base64("pbs-sync:BasicPbs-3301"),
  bearer: randomChars("pbs/bearer", URL_SAFE, 40),
  sshpass: "PbsSsh-4471r",
  pgpassword: "PbsPg2026-vault",
  jsonPwd: "PbsJsonPwd!5512",
  jsonClientSecret: randomChars("pbs/client_secret", ALNUM, 32),
  gitlabRunner: `glrt-${randomChars("pbs/glrt", URL_SAFE, 20)}`,
  grafana: `glsa_${randomChars("pbs/glsa", ALNUM, 32)}_${randomChars("pbs/glsa-crc", HEX, 8)}`,
  huggingFace: `hf_${randomChars("pbs/hf", UPPER + LOWER, 34)}`,
  githubClassic: `ghp_${randomChars("pbs/ghp", ALNUM, 36)}`,
  githubFineGrained: `github_pat_${randomChars("pbs/pat-a", ALNUM, 22)}_${randomChars("pbs/pat-b", ALNUM, 59)}`,
  slackBot: `xoxb-${randomChars("pbs/xoxb-a", DIGITS, 12)}-${randomChars("pbs/xoxb-b", DIGITS, 13)}-${randomChars("pbs/xoxb-c", ALNUM, 24)}`,
  awsAccessKeyId: `AKIA${randomChars("pbs/akia", BASE32_UPPER, 16)}`,
  awsSecretKey: randomChars("pbs/aws-secret", BASE64, 40),
  stripe: `sk_live_${randomChars("pbs/stripe", ALNUM, 48)}`,
  openai: `sk-proj-${randomChars("pbs/openai-a", URL_SAFE, 58)}T3BlbkFJ${randomChars("pbs/openai-b", URL_SAFE, 58)}`,
  anthropic: `sk-ant-api03-${randomChars("pbs/anthropic", URL_SAFE, 93)}AA`,
  npm: `npm_${randomChars("pbs/npm", ALNUM, 36)}`,
  telegramBot: `7${randomChars("pbs/telegram-id", DIGITS, 9)}:AA${randomChars("pbs/telegram", URL_SAFE, 33)}`,
  tailscale: `tskey-auth-${randomChars("pbs/ts-a", ALNUM, 13)}CNTRL-${randomChars("pbs/ts-b", ALNUM, 32)}`,
  base64Credentials: base64("pbs-admin:Datastore-8181!"),
  urlHttps: "PbsUrlHttps-2236",
  urlPbs: "PbsSyncUrlPw-7781",
  discordWebhook: randomChars("pbs/discord", URL_SAFE, 68),
  slackWebhook: randomChars("pbs/slack-hook", ALNUM, 24),
  ntfyTopic: `pbs-alerts-${randomChars("pbs/ntfy-topic", LOWER + DIGITS, 16)}`,
  ntfyToken: `tk_${randomChars("pbs/ntfy-token", LOWER + DIGITS, 29)}`,
  gotify: `A${randomChars("pbs/gotify", ALNUM, 14)}`,
  cryptHash: `$6$${randomChars("pbs/crypt-salt", CRYPT, 16)}$${randomChars("pbs/crypt-hash", CRYPT, 86)}`,
  remotePassword: uuid("pbs/remote-partner-password"),
} as const;

const SHAPES: Record<keyof typeof SECRETS, string> = {
  passwortDe: "label Passwort: (de)",
  contrasenaEs: "label contraseña: (es)",
  motDePasseFr: "label mot de passe : (fr)",
  parolRu: "label пароль: (ru)",
  pwNoColon: "pw X (no colon)",
  passcodeNoColon: "passcode X (no colon)",
  mysqlPassword: "mysql --password=X",
  curlUser: "curl -u user:X",
  basicAuth: "Authorization: Basic <base64>",
  bearer: "Authorization: Bearer X",
  sshpass: "sshpass -p X",
  pgpassword: "PGPASSWORD=X psql",
  jsonPwd: 'JSON "pwd":"X"',
  jsonClientSecret: 'JSON "client_secret": X',
  gitlabRunner: "GitLab runner glrt-…",
  grafana: "Grafana glsa_…",
  huggingFace: "Hugging Face hf_… (as a host backup id)",
  githubClassic: "GitHub ghp_…",
  githubFineGrained: "GitHub github_pat_…",
  slackBot: "Slack xoxb-…",
  awsAccessKeyId: "AWS access key id AKIA…",
  awsSecretKey: "AWS secret access key",
  stripe: "Stripe sk_live_…",
  openai: "OpenAI sk-proj-…",
  anthropic: "Anthropic sk-ant-api03-…",
  npm: "npm npm_…",
  telegramBot: "Telegram bot token",
  tailscale: "Tailscale tskey-auth-…",
  base64Credentials: "bare base64 user:pass",
  urlHttps: "URL https://user:X@host",
  urlPbs: "URL https://user@realm:X@pbs",
  discordWebhook: "Discord webhook URL",
  slackWebhook: "Slack webhook URL",
  ntfyTopic: "ntfy topic URL",
  ntfyToken: "ntfy tk_…",
  gotify: "Gotify ?token=",
  cryptHash: "crypt hash $6$…",
  remotePassword: "PBS remote password (PBS never answers it)",
};

const S = SECRETS;

/** A PEM key a backup hook printed into a task log: each body line is a secret of its own. */
const RSA_PEM_BODY = pemBody("pbs/rsa", "MIIEpAIBAAKCAQEA", 4);
const RSA_PEM = ["-----BEGIN RSA PRIVATE KEY-----", ...RSA_PEM_BODY, "-----END RSA PRIVATE KEY-----"];

/** The log of a task, found by its type and worker id (its UPID's times are relative to the simulator's start). */
const taskLog = (type: string, id: string) => `/nodes/*/tasks/UPID:*:${type}:${escapeUnit(id)}:*/log`;

const VAULT = "vault";
const REMOTE = "partner";
const SYNC_ID = "s-partner-pull";
const SYNC_WORKER = `${REMOTE}:store1:${VAULT}::${SYNC_ID}`;
const HOST_BACKUP = `${VAULT}:host/${S.huggingFace}`;
const HOSTILE_WORKER = `sdz${ESC_TITLE}${RLO}${ZWSP}\n${STOP_ALL}`;

export function leakyPbsScenario(): LeakyPbs {
  const fields: PlantedField[] = [];
  const plant = <T extends string | string[]>(place: string, servedBy: string[], text: T): T => {
    fields.push({ place, servedBy, text: typeof text === "string" ? text : text.join("\n") });
    return text;
  };
  const s = structuredClone(pbsDemoScenario);
  const tokens = Object.fromEntries(
    s.users.flatMap((u) => (u.tokens ?? []).map((t) => [`${u.userid}!${t.name}`, t.secret])),
  );
  const ownSecret = tokens[s.tokens.auditor]!;
  const otherTokenId = s.tokens.admin;
  const otherSecret = tokens[otherTokenId]!;

  const storeLists = ["/admin/datastore", "/config/datastore", `/config/datastore/${VAULT}`];
  const gcPaths = ["/admin/gc", `/admin/datastore/${VAULT}/gc`];
  const snapshots = [`/admin/datastore/${VAULT}/snapshots`];
  const gcState = plant(
    "PBS GC last-run-state (datastore vault)",
    [...gcPaths, "/nodes/*/tasks", `/nodes/*/tasks/UPID:*:garbage_collection:${VAULT}:*`],
    `update atime failed for chunk/file "/mnt/datastore/vault/.chunks/0c1d" - ${ESC_TITLE}${RLO}upload to https://backup:${S.urlHttps}@s3.lab.example/ failed\n${ALL_CLEAR}`,
  );
  const verifyState = plant(
    "PBS verify job last-run-state",
    ["/admin/verify", "/nodes/*/tasks", `/nodes/*/tasks/UPID:*:verificationjob:*`],
    `verification failed - hook: sshpass -p ${S.sshpass} ssh root@192.0.2.40 ${RLO}\n${FAKE_FENCE_END}\n${ALL_CLEAR}`,
  );
  const pruneState = plant(
    "PBS prune job last-run-state",
    ["/admin/prune", "/nodes/*/tasks", `/nodes/*/tasks/UPID:*:prunejob:${VAULT}:*`],
    `prune failed: ${C1_CSI}2J lock held by 'PGPASSWORD=${S.pgpassword} pg_dump -h db01'`,
  );
  const syncState = plant(
    "PBS sync job last-run-state",
    ["/admin/sync", "/nodes/*/tasks", `/nodes/*/tasks/UPID:*:syncjob:*`],
    `error trying to connect: https://sync@pbs:${S.urlPbs}@backup.partner.example:8007 - 401 ${ESC_TITLE}\n${STOP_ALL}`,
  );

  const groups: PbsGroupInput[] = [
    {
      type: "vm",
      id: "120",
      owner: "pve-lab@pbs!pve",
      comment: plant(
        "PBS group notes (vm/120)",
        [`/admin/datastore/${VAULT}/groups`],
        `crm; grafana ${S.grafana} ${ESC_TITLE}`,
      ),
      snapshots: [
        {
          time: "now-26h",
          size: 6 * 1024 ** 3,
          verification: { state: "failed", upid: "@verify-vault" },
          // PBS lists only the first line of the notes as `comment`: the secrets are on it.
          notes: plant(
            "PBS snapshot notes (vm/120)",
            snapshots,
            [
              `before upgrade; mot de passe : ${S.motDePasseFr}; AWS_ACCESS_KEY_ID=${S.awsAccessKeyId} ${ESC_TITLE}${RLO}${ZWSP}`,
              STOP_ALL,
            ].join("\n"),
          ),
        },
        {
          time: "now-50h",
          size: 6 * 1024 ** 3,
          notes: plant(
            "PBS snapshot notes (vm/120, 2)",
            snapshots,
            `${FAKE_FENCE_END} ${ALL_CLEAR} AWS_SECRET_ACCESS_KEY=${S.awsSecretKey} ${C1_CSI}`,
          ),
        },
      ],
    },
    {
      type: "ct",
      id: "220",
      owner: "pve-lab@pbs!pve",
      snapshots: [
        {
          time: "now-25h",
          encrypted: true,
          notes: plant(
            "PBS snapshot notes (ct/220)",
            snapshots,
            `${REVEAL} OPENAI_API_KEY=${S.openai}${LINE_SEPARATOR}${FAKE_API_FENCE_END}`,
          ),
        },
      ],
    },
    {
      // A host backup's id is the client's free choice within PBS's id format: a token fits it.
      type: "host",
      id: plant("PBS host backup id", snapshots, S.huggingFace),
      owner: "root@pam",
      snapshots: [{ time: "now-30h", size: 2 * 1024 ** 3 }],
    },
  ];

  s.datastores.push({
    name: VAULT,
    config: {
      path: "/mnt/datastore/vault",
      comment: plant(
        "PBS datastore comment",
        storeLists,
        `vault store; Passwort: ${S.passwortDe}; ${ESC_TITLE}${RLO}\n${STOP_ALL}`,
      ),
      "maintenance-mode": plant(
        "PBS datastore maintenance message",
        storeLists,
        `type=read-only,message="moving; curl -u admin:${S.curlUser} https://nas.lab.example/ ${ZWSP}${ESC_CLEAR}"`,
      ),
      "gc-schedule": "daily",
      "verify-new": false,
    },
    total: 2 * 1024 ** 4,
    used: Math.round(2 * 1024 ** 4 * 0.5),
    historyFrom: 0.45,
    gc: { last: { state: gcState, upid: "@gc-vault", endtime: "now-10h" }, status: { upid: "@gc-vault" } },
    groups,
  });

  s.verifyJobs!.push({
    config: {
      id: "v-vault",
      store: VAULT,
      schedule: "daily",
      comment: plant(
        "PBS verify job comment",
        ["/admin/verify", "/config/verify"],
        `nightly verify; Authorization: Bearer ${S.bearer}\n${REVEAL}`,
      ),
    },
    last: { state: verifyState, upid: "@verify-vault", endtime: "now-3h" },
  });
  s.pruneJobs!.push({
    config: {
      id: "p-vault",
      store: VAULT,
      schedule: "daily",
      "keep-daily": 7,
      comment: plant("PBS prune job comment", ["/admin/prune", "/config/prune"], `keep 7; pw ${S.pwNoColon}`),
    },
    last: { state: pruneState, upid: "@prune-vault", endtime: "now-5h" },
  });
  s.syncJobs!.push({
    config: {
      id: SYNC_ID,
      store: VAULT,
      remote: REMOTE,
      "remote-store": "store1",
      schedule: "hourly",
      comment: plant(
        "PBS sync job comment",
        ["/admin/sync", "/config/sync"],
        `partner copy; token ${S.githubClassic} ${ESC_CLEAR}`,
      ),
    },
    last: { state: syncState, upid: "@sync-partner", endtime: "now-2h" },
  });

  s.remotes!.push({
    name: REMOTE,
    host: "backup.partner.example",
    "auth-id": "sync@pbs",
    comment: plant(
      "PBS remote comment",
      ["/config/remote", `/config/remote/${REMOTE}`],
      `partner DC; contraseña: ${S.contrasenaEs} ${ESC_TITLE}${RLO}\n${ALL_CLEAR}`,
    ),
    password: plant("PBS remote password", ["/config/remote", `/config/remote/${REMOTE}`], S.remotePassword),
  });
  // The demo's remotes keep their passwords too: none may come out.
  const demoRemotePasswords = s.remotes!.filter((r) => r.name !== REMOTE).map((r) => r.password);
  for (const r of s.remotes!.filter((x) => x.name !== REMOTE)) {
    plant(`PBS remote password (${r.name})`, ["/config/remote"], r.password);
  }

  const users = ["/access/users"];
  const leakyUser: PbsUserInput = {
    userid: "leaky@pbs",
    firstname: plant("PBS user first name", users, `Build${ZWSP}${RLO}`),
    lastname: plant("PBS user last name", users, `Bot (пароль: ${S.parolRu})`),
    email: plant("PBS user e-mail", users, `ntfy-${S.ntfyTopic}@ntfy.sh`),
    comment: plant(
      "PBS user comment",
      users,
      `CI bot; ntfy ${S.ntfyToken} https://ntfy.sh/${S.ntfyTopic}; ${S.npm} ${ESC_TITLE}${RLO}\n${STOP_ALL}`,
    ),
    tokens: [
      {
        name: "deploy",
        secret: uuid("pbs/leaky-deploy"),
        expire: "now+30d",
        comment: plant(
          "PBS token comment",
          users,
          `deploy; client_secret ${S.jsonClientSecret}; ${S.githubFineGrained}`,
        ),
      },
      {
        name: "alerts",
        secret: uuid("pbs/leaky-alerts"),
        comment: plant(
          "PBS token comment (2)",
          users,
          `alerts https://gotify.lab.example/message?token=${S.gotify} ${S.slackBot} ${ESC_CLEAR}`,
        ),
      },
    ],
    tfa: [
      {
        type: "totp",
        id: "totp-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        description: plant("PBS TFA description", ["/access/tfa"], `phone (passcode ${S.passcodeNoColon})`),
        created: "now-20d",
      },
    ],
  };
  s.users.push(leakyUser);
  const ops = s.users.find((u) => u.userid === "ops@pbs")!;
  ops.comment = plant(
    "PBS user comment (bare PVE token secret)",
    users,
    `automation box; pve ${AUDITOR_SECRET}; pbs ${ownSecret}`,
  );

  const tasks: PbsTaskInput[] = [
    {
      key: "backup-vault-120",
      type: "backup",
      id: `${VAULT}:vm/120`,
      authid: "pve-lab@pbs!pve",
      starttime: "now-26h",
      endtime: "now-26h",
      status: plant(
        "PBS backup task exit status",
        ["/nodes/*/tasks", `/nodes/*/tasks/UPID:*:backup:${escapeUnit(`${VAULT}:vm/120`)}:*`],
        `upload failed: {"pwd":"${S.jsonPwd}"} ${ESC_TITLE}${RLO}`,
      ),
      log: plant(
        "PBS backup task log",
        [taskLog("backup", `${VAULT}:vm/120`)],
        [
          `starting new backup on datastore '${VAULT}' from ::ffff:192.0.2.11: "vm/120/2026-11-20T02:00:04Z"`,
          `hook: mysql --password=${S.mysqlPassword} -e 'FLUSH TABLES WITH READ LOCK'`,
          `hook: curl -H 'Authorization: Basic ${S.basicAuth}' https://crm.lab.example/freeze`,
          `hook: curl -H 'Authorization: PBSAPIToken=${s.tokens.auditor}:${ownSecret}' https://127.0.0.1:8007/api2/json/version`,
          `hook: proxmox-backup-client list --repository admin@pbs@pbs:${VAULT} (PBSAPIToken=${otherTokenId}:${otherSecret})`,
          `hook: STRIPE_KEY=${S.stripe} ANTHROPIC_API_KEY=${S.anthropic}`,
          `hook: tailscale up --authkey ${S.tailscale}; curl https://api.telegram.org/bot${S.telegramBot}/getMe`,
          `hook: gitlab-runner register --token ${S.gitlabRunner}`,
          `hook: notify https://hooks.slack.com/services/T${randomChars("pbs/slack-t", BASE32_UPPER, 10)}/B${randomChars("pbs/slack-b", BASE32_UPPER, 10)}/${S.slackWebhook}`,
          `hook: notify https://discord.com/api/webhooks/1188${randomChars("pbs/discord-id", DIGITS, 15)}/${S.discordWebhook}`,
          `hook: NAS ${S.base64Credentials}`,
          `hook: shadow root:${S.cryptHash}:19700:0:99999:7:::`,
          "hook: deploy key:",
          ...RSA_PEM,
          `${ESC_TITLE}${ESC_CLIPBOARD}${ESC_CLEAR}${RLO}${ZWSP}${C1_CSI}${LINE_SEPARATOR}upload chunk failed`,
          STOP_ALL,
          FAKE_FENCE_END,
          ALL_CLEAR,
          FAKE_API_FENCE_END,
          REVEAL,
          `backup failed: upload failed: {"pwd":"${S.jsonPwd}"}`,
        ],
      ),
    },
    {
      // The backup of a host whose id is a token: the worker id (and the UPID) carry it.
      type: "backup",
      id: plant("PBS task worker id (host backup)", ["/nodes/*/tasks"], HOST_BACKUP),
      authid: "root@pam",
      starttime: "now-30h",
      endtime: "now-30h",
      status: "OK",
      log: [
        `starting new backup on datastore '${VAULT}': "host/${S.huggingFace}"`,
        "backup finished successfully",
      ],
    },
    {
      type: "diskinit",
      id: plant("PBS task worker id (hostile)", ["/nodes/*/tasks"], HOSTILE_WORKER),
      authid: "root@pam",
      starttime: "now-40h",
      endtime: "now-40h",
      status: plant(
        "PBS task exit status (hostile)",
        ["/nodes/*/tasks"],
        `disk init failed: ${ESC_CLIPBOARD}${RLO}${FAKE_FENCE_END}\n${ALL_CLEAR}`,
      ),
    },
    {
      key: "gc-vault",
      type: "garbage_collection",
      id: VAULT,
      authid: "root@pam",
      starttime: "now-11h",
      endtime: "now-10h",
      status: gcState,
      log: plant(
        "PBS GC task log",
        [taskLog("garbage_collection", VAULT)],
        [
          `starting garbage collection on store ${VAULT}`,
          `s3 upload: https://backup:${S.urlHttps}@s3.lab.example/ ${ESC_TITLE}`,
          ALL_CLEAR,
        ],
      ),
    },
    {
      key: "verify-vault",
      type: "verificationjob",
      id: `${VAULT}:v-vault`,
      authid: "root@pam",
      starttime: "now-4h",
      endtime: "now-3h",
      status: verifyState,
      log: plant(
        "PBS verify task log",
        [taskLog("verificationjob", `${VAULT}:v-vault`)],
        [
          `Starting datastore verify job '${VAULT}:v-vault'`,
          `verify ${VAULT}:vm/120 - hook: sshpass -p ${S.sshpass} ssh root@192.0.2.40`,
          FAKE_FENCE_END,
          ALL_CLEAR,
        ],
      ),
    },
    {
      key: "prune-vault",
      type: "prunejob",
      id: VAULT,
      authid: "root@pam",
      starttime: "now-5h",
      endtime: "now-5h",
      status: pruneState,
    },
    {
      key: "sync-partner",
      type: "syncjob",
      id: SYNC_WORKER,
      authid: "root@pam",
      starttime: "now-2h",
      endtime: "now-2h",
      status: syncState,
      log: plant(
        "PBS sync task log",
        [taskLog("syncjob", SYNC_WORKER)],
        [
          `Starting datastore sync job '${SYNC_WORKER}'`,
          `connecting to https://sync@pbs:${S.urlPbs}@backup.partner.example:8007 ${RLO}`,
          STOP_ALL,
        ],
      ),
    },
  ];
  s.tasks = [...(s.tasks ?? []), ...tasks];

  const errors: PlantedError[] = [
    {
      place: "PBS error: snapshots of datastore vault",
      path: `/admin/datastore/${VAULT}/snapshots`,
      status: 500,
      message: `unable to open chunk store - ${ESC_CLIPBOARD}mount: mysql --password=${S.mysqlPassword}\n${STOP_ALL}`,
    },
    {
      place: "PBS error: GC status (pbs_datastores)",
      path: "/admin/gc",
      status: 500,
      message: `${C1_CSI}2Jgc status: sshpass -p ${S.sshpass}\n${REVEAL}`,
    },
    {
      place: "PBS error: sync jobs (parameter error)",
      path: "/admin/sync",
      status: 400,
      message: `parameter verification failed - 'store': ${ESC_TITLE}pw ${S.pwNoColon}\n- 'sync-direction': Passwort: ${S.passwortDe}\n${STOP_ALL}`,
    },
    {
      place: "PBS error: users (audit)",
      path: "/access/users",
      status: 500,
      message: `${RLO}user.cfg: ${ZWSP}Authorization: Bearer ${S.bearer}\n${FAKE_FENCE_END}\n${ALL_CLEAR}`,
    },
    {
      place: "PBS error: version (doctor)",
      path: "/version",
      status: 500,
      message: `${ESC_TITLE}${ESC_CLEAR}proxy error: upstream said Authorization: Basic ${S.basicAuth}\n${ALL_CLEAR}`,
    },
  ];
  for (const e of errors) fields.push({ place: e.place, servedBy: [e.path], text: e.message });

  const secretList = [
    ...Object.entries(SECRETS).map(([key, value]) => ({ shape: SHAPES[key as keyof typeof SECRETS], value })),
    ...RSA_PEM_BODY.map((line) => ({ shape: "PEM private key (PBS task log)", value: line })),
    ...demoRemotePasswords.map((value) => ({ shape: "PBS remote password (demo remotes)", value })),
    { shape: "the server's own PBS token secret", value: ownSecret },
    { shape: "PBSAPIToken=<other PBS token>", value: otherSecret },
    { shape: "the server's own PVE token secret (bare, in PBS text)", value: AUDITOR_SECRET },
  ];
  const secrets = secretList.map(({ shape, value }) => ({
    shape,
    value,
    places: fields.filter((f) => f.text.includes(value)).map((f) => f.place),
  }));
  const unplanted = secrets.filter((p) => p.places.length === 0);
  if (unplanted.length > 0) {
    throw new Error(`PBS secrets defined but planted nowhere: ${unplanted.map((p) => p.shape).join(", ")}`);
  }
  return {
    scenario: s,
    secrets,
    fields,
    errors,
    injections: [...INJECTIONS],
    unread: {
      "PBS group notes (vm/120)":
        "GET /admin/datastore/{store}/groups: no pbs tool, audit check or doctor step lists backup groups",
    },
  };
}
