/**
 * Vendor token formats: secretlint's recommended rule set (maintained by people who
 * track these formats: AWS, GCP, GitHub, GitLab, Slack, OpenAI, Anthropic, Hugging Face,
 * Grafana, npm, 1Password, Vault, database URLs, private keys, ...), run synchronously
 * through its documented rule API, plus the formats it does not know that homelabs
 * paste into notes (GitLab runner tokens, DigitalOcean, Tailscale, Telegram, Stripe, ...).
 *
 * Pinned to @secretlint/secretlint-rule-preset-recommend 12.0.0: the newest release
 * whose engines field still declares Node >= 20 (12.1 and later declare Node >= 22).
 */
import { rules as secretlintRules } from "@secretlint/secretlint-rule-preset-recommend";
import { matchSpans, type Span, type SpanRule } from "./spans.js";

/** The part of secretlint's rule API we call (SecretLintRuleCreator / SecretLintRuleContext). */
interface SecretlintRule {
  meta: { id: string; type: string };
  create(
    context: {
      sharedOptions: Record<string, never>;
      createTranslator(messages: unknown): (id: string, data?: unknown) => { message: string };
      report(descriptor: { range: readonly [number, number] }): void;
      ignore(): void;
    },
    options: Record<string, never>,
  ): { file?(source: unknown): unknown };
}

/**
 * Left out: the comment filter. It exists to honour "secretlint-disable" comments in
 * source files; here such a comment would be text a guest wrote, and must not switch
 * anything off.
 */
const SKIPPED_RULES = new Set(["@secretlint/secretlint-rule-filter-comments"]);

/** The rules' handlers, made once: each reports into `found`, which a scan swaps in. */
let found: Span[] = [];
let handlers: ((source: unknown) => unknown)[] | undefined;

function secretlintHandlers(): ((source: unknown) => unknown)[] {
  handlers ??= (secretlintRules as unknown as SecretlintRule[])
    .filter((rule) => rule.meta.type === "scanner" && !SKIPPED_RULES.has(rule.meta.id))
    .flatMap((rule) => {
      const handler = rule.create(
        {
          sharedOptions: {},
          createTranslator: () => (id) => ({ message: id }),
          report: ({ range }) => found.push([range[0], range[1]]),
          ignore: () => undefined,
        },
        {},
      );
      return handler.file ? [handler.file.bind(handler)] : [];
    });
  return handlers;
}

/** secretlint's findings; a rule that answers asynchronously would be a change of its API: fail loudly. */
function* secretlintSpans(content: string): Iterable<Span> {
  const source = {
    content,
    hasBOM: false,
    filePath: undefined,
    physicalFilePath: undefined,
    contentType: "text",
    ext: "",
  };
  found = [];
  for (const handler of secretlintHandlers()) {
    const result = handler(source);
    if (result instanceof Promise)
      throw new Error("a secretlint rule answered asynchronously; the redactor needs synchronous rules");
  }
  const spans = found;
  found = [];
  for (const span of spans) yield narrowToPassword(content, span);
}

/** URL credentials (basicauth, database URLs) lose the password only: the user and host say what it is. */
const URL_USERINFO = /^[a-z][a-z0-9+.-]{0,20}:\/\/[^\s:/]{0,256}:([^\s@/]{1,256})@/di;
function narrowToPassword(content: string, [start, end]: Span): Span {
  const password = URL_USERINFO.exec(content.slice(start, end))?.indices?.[1];
  return password ? [start + password[0], start + password[1]] : [start, end];
}

/**
 * Formats secretlint 12.0 does not cover, each anchored on its documented prefix; a format
 * whose literal comes later names it (`needs`): a text without it skips the format, which
 * would otherwise try its leading character class at every position.
 */
const EXTRA_FORMATS: (RegExp | { needs: string; pattern: RegExp })[] = [
  /\bGR1348941[A-Za-z0-9_-]{20,}/dg, // GitLab runner registration token
  /\bgl(?:rt|ptt|dt|ft|imt|agent|oas|cbt|soat|ffct)-[A-Za-z0-9_-]{20,}/dg, // GitLab runner/trigger/deploy/feed/agent tokens
  /\bdo[por]_v1_[a-f0-9]{64}\b/dg, // DigitalOcean personal/OAuth/refresh tokens
  /\btskey-[A-Za-z0-9_-]{8,}/dg, // Tailscale auth and API keys
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/dg, // Stripe
  /\bwhsec_[A-Za-z0-9+/]{24,}/dg, // Stripe/Svix webhook signing secret
  /\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b/dg, // Telegram bot token
  /\b(?:ghp|gho|ghs|ghu|ghr|github_pat)_[A-Za-z0-9_]{20,}/dg, // GitHub (also shorter test tokens)
  /\bxox[abeprs]-[A-Za-z0-9-]{10,}/dg, // Slack
  /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}/dg, // OpenAI-style sk-..., also sk-proj-/sk-ant-
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b/dg, // AWS key ids, examples included
  /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/dg, // Google API key
  /\bya29\.[0-9A-Za-z_-]{20,}/dg, // Google OAuth access token
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/dg, // JWT
  /\bpypi-AgE[A-Za-z0-9_-]{50,}/dg, // PyPI upload token
  /\bATATT3[A-Za-z0-9_=-]{40,}/dg, // Atlassian API token
  /\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b/dg, // Postman
  /\bNRAK-[A-Z0-9]{27}\b/dg, // New Relic user key
  /\bdt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b/dg, // Dynatrace
  /\bsntry[su]_[A-Za-z0-9+/=_-]{40,}/dg, // Sentry auth tokens
  /\bdp\.(?:st|sa|ct|scim|audit)\.[A-Za-z0-9._-]{40,}/dg, // Doppler
  /\bpul-[a-f0-9]{40}\b/dg, // Pulumi
  /\bnfp_[A-Za-z0-9]{36}\b/dg, // Netlify
  /\bsbp_[a-f0-9]{40}\b/dg, // Supabase
  /\bfo1_[A-Za-z0-9_-]{43}\b/dg, // Fly.io
  /\bFlyV1 fm\d_[A-Za-z0-9+/=_,-]{40,}/dg, // Fly.io macaroon
  /\brnd_[A-Za-z0-9]{32,}\b/dg, // Render
  /\bbkua_[a-f0-9]{40}\b/dg, // Buildkite
  /\bCCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}\b/dg, // CircleCI
  { needs: ".atlasv1.", pattern: /\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}/dg }, // Terraform Cloud
  /\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}/dg, // Square
  /\bSK[0-9a-f]{32}\b/dg, // Twilio API key
  /\bkey-[0-9a-f]{32}\b/dg, // Mailgun
  { needs: "-us", pattern: /\b[0-9a-f]{32}-us\d{1,2}\b/dg }, // Mailchimp
  /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/dg, // SendGrid
  /\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b/dg, // age secret key
  /\bhv[sbr]\.[A-Za-z0-9_-]{24,}/dg, // HashiCorp Vault tokens
  /\bops_eyJ[A-Za-z0-9+/=_-]{40,}/dg, // 1Password service account
  /\btk_[a-z0-9]{29}\b/dg, // ntfy access token
  /\bcfut_[A-Za-z0-9_-]{30,}|\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b/dg, // Cloudflare user/origin CA keys
  /\bK00[0-9][A-Za-z0-9+/]{27,}\b/dg, // Backblaze B2 application key
  /\bglc_[A-Za-z0-9+/=]{32,}/dg, // Grafana Cloud
  /\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b/dg, // Shopify
  /\b(?:PVE|PBS)APIToken=[^\s"']+/dg, // Proxmox token headers
  /\b(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/=]{20,}/dg, // Azure storage / service bus
  /\b(?:hf|api_org)_[A-Za-z0-9]{30,}/dg, // Hugging Face user and organisation tokens
  /\bAQ[A-Za-z0-9+/]{36}==/dg, // Ceph auth key: 28 bytes, 40 characters (keyring "key = AQ...==")
  /\b[MN][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b/dg, // Discord bot token
];

export const vendorTokens: SpanRule = function* (text) {
  yield* secretlintSpans(text);
  for (const format of EXTRA_FORMATS) {
    if (format instanceof RegExp) yield* matchSpans(text, format);
    else if (text.includes(format.needs)) yield* matchSpans(text, format.pattern);
  }
};
