/**
 * Where PVE's notification system sends an event, decided as proxmox-notify does it:
 * every enabled matcher whose rules match routes the event to its targets. A matcher
 * without rules matches everything (whatever invert-match says); with rules, `mode` (all
 * or any) combines each rule list and then the lists, and invert-match turns the result.
 * A disabled target, one that does not exist, or a mail target whose recipients resolve
 * to no address (mailto-user is looked up in user.cfg: a user without email adds none)
 * reaches nobody. Calendar rules depend on the hour of the failure, and a regex PVE
 * (Rust) accepts but JavaScript does not cannot be judged here: such a route is "limited".
 */
import { cleanText, LIMITS } from "../untrusted.js";
import { isOn, users } from "./shared.js";
import type { AuditContext } from "./types.js";

export interface NotificationEvent {
  severity: "info" | "notice" | "warning" | "error" | "unknown";
  fields: Record<string, string>;
}

interface Matcher {
  name: string;
  disable?: boolean | number;
  mode?: string;
  "invert-match"?: boolean | number;
  "match-severity"?: string[] | string;
  "match-field"?: string[] | string;
  "match-calendar"?: string[] | string;
  target?: string[] | string;
}

interface Target {
  name: string;
  type: string;
  disable?: boolean | number;
}

interface MailEndpoint {
  name: string;
  mailto?: string[] | string;
  "mailto-user"?: string[] | string;
}

export interface NotificationSystem {
  matchers: Matcher[];
  targets: Map<string, Target>;
  /** Mail targets' recipients; undefined when the token may not read them. */
  mail: Map<string, MailEndpoint> | undefined;
  /** A user's email: null when it has none (or does not exist), undefined when not visible. */
  email(userid: string): string | null | undefined;
}

/** Where an event goes: routes that surely reach someone, some that may, and why the others do not. */
export interface Routing {
  reached: string[];
  /** Reach someone only at some hours, or under a rule not judged here. */
  limited: string[];
  /** Targets whose recipients this token cannot see. */
  unknown: string[];
  blocked: string[];
  /** Users a mail route would reach but who have no email. */
  withoutEmail: string[];
}

const NEEDS = "Mapping.Audit on /mapping/notifications";

/** An API array (one value may come as a plain string); comma lists inside an entry stay whole. */
function entries(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  return typeof value === "string" && value ? [value] : [];
}

const clean = (text: string) => cleanText(text, LIMITS.name);

/**
 * The notification system as this token sees it; undefined (and a gap) when it may not
 * read the matchers or the targets.
 */
export async function notificationSystem(ctx: AuditContext): Promise<NotificationSystem | undefined> {
  const [matchers, targets] = await Promise.all([
    ctx.getOrGap<Matcher[]>(
      "/cluster/notifications/matchers",
      {},
      "notification matchers (who hears of a failed backup)",
      NEEDS,
    ),
    ctx.getOrGap<Target[]>("/cluster/notifications/targets", {}, "notification targets", NEEDS),
  ]);
  if (!matchers || !targets) return undefined;
  const what = "mail recipients of notification targets";
  const [sendmail, smtp] = await Promise.all([
    ctx.getOrGap<MailEndpoint[]>("/cluster/notifications/endpoints/sendmail", {}, what, NEEDS),
    ctx.getOrGap<MailEndpoint[]>("/cluster/notifications/endpoints/smtp", {}, what, NEEDS),
  ]);
  const mail = sendmail && smtp ? new Map([...sendmail, ...smtp].map((e) => [e.name, e])) : undefined;
  const byUser = new Map<string, string>();
  let allUsers = true;
  if ([...(mail?.values() ?? [])].some((e) => entries(e["mailto-user"]).length > 0)) {
    for (const u of await users(ctx)) {
      if (u.email) byUser.set(u.userid, u.email);
    }
    allUsers = await ctx.holds("/access/groups", ["Sys.Audit", "User.Modify"]);
  }
  return {
    matchers: [...matchers].sort((a, b) => (a.name < b.name ? -1 : 1)),
    targets: new Map(targets.map((t) => [t.name, t])),
    mail,
    email: (userid) => byUser.get(userid) ?? (allUsers ? null : undefined),
  };
}

type Verdict = boolean | "maybe";

function both(a: Verdict, b: Verdict): Verdict {
  if (a === false || b === false) return false;
  return a === true && b === true ? true : "maybe";
}

function either(a: Verdict, b: Verdict): Verdict {
  if (a === true || b === true) return true;
  return a === false && b === false ? false : "maybe";
}

function combined(any: boolean, verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((acc, v) => (any ? either(acc, v) : both(acc, v)), !any);
}

/** `exact:<field>=<v1,v2>` or `regex:<field>=<regex>`; a field the event lacks never matches. */
function fieldRule(rule: string, fields: Record<string, string>): Verdict {
  const m = /^(exact|regex):([^=]+)=(.*)$/s.exec(rule);
  if (!m) return "maybe";
  const value = fields[m[2]!];
  if (value === undefined) return false;
  if (m[1] === "exact") return m[3]!.split(",").some((v) => v.trim() === value);
  try {
    return new RegExp(m[3]!, "u").test(value);
  } catch {
    return "maybe";
  }
}

function verdictOf(m: Matcher, event: NotificationEvent): Verdict {
  const any = m.mode === "any";
  const lists: Verdict[] = [];
  const severities = entries(m["match-severity"]);
  if (severities.length > 0) {
    lists.push(
      combined(
        any,
        severities.map((s) =>
          s
            .split(",")
            .map((x) => x.trim())
            .includes(event.severity),
        ),
      ),
    );
  }
  const fields = entries(m["match-field"]);
  if (fields.length > 0)
    lists.push(
      combined(
        any,
        fields.map((rule) => fieldRule(rule, event.fields)),
      ),
    );
  if (entries(m["match-calendar"]).length > 0) lists.push("maybe");
  if (lists.length === 0) return true;
  const verdict = combined(any, lists);
  if (!isOn(m["invert-match"])) return verdict;
  return verdict === "maybe" ? "maybe" : !verdict;
}

/** The matcher's rules in notifications.cfg's words, for evidence. */
function rulesOf(m: Matcher): string {
  const rules = [
    ...entries(m["match-severity"]).map((s) => `match-severity ${s}`),
    ...entries(m["match-field"]).map((f) => `match-field ${f}`),
    ...entries(m["match-calendar"]).map((c) => `match-calendar ${c}`),
  ];
  if (m.mode === "any" && rules.length > 1) rules.push("mode any");
  if (isOn(m["invert-match"])) rules.push("invert-match");
  return cleanText(rules.join(", "), 160);
}

type Reach = { kind: "ok" | "unknown" | "blocked"; text: string; withoutEmail?: string[] };

function reachOf(system: NotificationSystem, name: string): Reach {
  const target = system.targets.get(name);
  const label = clean(name);
  if (!target) return { kind: "blocked", text: `target ${label} does not exist` };
  if (isOn(target.disable)) return { kind: "blocked", text: `target ${label} is disabled` };
  if (target.type !== "sendmail" && target.type !== "smtp") {
    return { kind: "ok", text: `${label} (${clean(target.type)})` };
  }
  const endpoint = system.mail?.get(name);
  if (!endpoint) return { kind: "unknown", text: `${label}: its recipients are not visible` };
  const recipients = entries(endpoint["mailto-user"]);
  const emails = recipients.map((u) => system.email(u));
  if (entries(endpoint.mailto).length > 0 || emails.some((e) => typeof e === "string")) {
    return { kind: "ok", text: `${label} (${target.type})` };
  }
  if (emails.some((e) => e === undefined)) {
    return {
      kind: "unknown",
      text: `${label}: the email of ${recipients.map(clean).join(", ")} is not visible`,
    };
  }
  if (recipients.length === 0) return { kind: "blocked", text: `${label} has no recipient` };
  const who = recipients.map(clean);
  return {
    kind: "blocked",
    text: `${label} mails ${who.join(", ")}, who ha${who.length === 1 ? "s" : "ve"} no email`,
    withoutEmail: who,
  };
}

export function routesOf(system: NotificationSystem, event: NotificationEvent): Routing {
  const routing: Routing = { reached: [], limited: [], unknown: [], blocked: [], withoutEmail: [] };
  if (system.matchers.length === 0) routing.blocked.push("there is no matcher");
  for (const m of system.matchers) {
    const name = `matcher ${clean(m.name)}`;
    if (isOn(m.disable)) {
      routing.blocked.push(`${name} is disabled`);
      continue;
    }
    const verdict = verdictOf(m, event);
    if (verdict === false) {
      routing.blocked.push(`${name} does not match it (${rulesOf(m)})`);
      continue;
    }
    const targets = entries(m.target);
    if (targets.length === 0) routing.blocked.push(`${name} has no target`);
    for (const t of targets) {
      const reach = reachOf(system, t);
      const route = `${name}${verdict === "maybe" ? ` (${rulesOf(m)})` : ""} -> ${reach.text}`;
      if (reach.kind === "blocked") {
        routing.blocked.push(route);
        routing.withoutEmail.push(...(reach.withoutEmail ?? []));
      } else if (reach.kind === "unknown") routing.unknown.push(route);
      else (verdict === true ? routing.reached : routing.limited).push(route);
    }
  }
  return routing;
}
