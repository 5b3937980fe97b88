/**
 * The notification system (notifications.cfg), as pve-manager's
 * API2/Cluster/Notifications.pm answers it from proxmox-notify: PVE's built-in entries
 * are always there, an entry of the same name in the scenario replaces one, and
 * secrets (an SMTP password, a Gotify token) are never returned.
 */
import { isDeepStrictEqual } from "node:util";
import type { Scenario } from "../scenario.js";
import { route, type Route, type RouteContext } from "./route.js";

type Notifications = Scenario["notifications"];
type Origin = "builtin" | "modified-builtin" | "user-created";

/** proxmox-notify's PVE context: DEFAULT_CONFIG. */
const BUILTIN_SENDMAIL: Notifications["sendmail"][number] = {
  name: "mail-to-root",
  comment: "Send mails to root@pam's email address",
  "mailto-user": ["root@pam"],
};
const BUILTIN_MATCHER: Notifications["matchers"][number] = {
  name: "default-matcher",
  mode: "all",
  target: ["mail-to-root"],
  comment: "Route all notifications to mail-to-root",
};

/** The scenario's entries plus the built-in one where none of its name exists, each with its origin. */
function withBuiltin<T extends { name: string }>(
  entries: readonly T[],
  builtin: T | undefined,
): (T & { origin: Origin })[] {
  const out = entries.map((e) => ({
    ...e,
    origin: (e.name !== builtin?.name
      ? "user-created"
      : isDeepStrictEqual(e, builtin)
        ? "builtin"
        : "modified-builtin") as Origin,
  }));
  if (builtin && !entries.some((e) => e.name === builtin.name)) out.push({ ...builtin, origin: "builtin" });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function notifications(ctx: RouteContext): Notifications {
  return ctx.cluster.scenario.notifications;
}

function sendmailEndpoints(ctx: RouteContext) {
  return withBuiltin(notifications(ctx).sendmail, BUILTIN_SENDMAIL);
}

function smtpEndpoints(ctx: RouteContext) {
  return withBuiltin(notifications(ctx).smtp, undefined).map(({ password: _secret, ...entry }) => entry);
}

export const notificationRoutes: Route[] = [
  route("GET /cluster/notifications/matchers", (ctx) =>
    withBuiltin(notifications(ctx).matchers, BUILTIN_MATCHER),
  ),

  route("GET /cluster/notifications/targets", (ctx) => {
    const n = notifications(ctx);
    const typed = [
      ...sendmailEndpoints(ctx).map((e) => ({ ...e, type: "sendmail" })),
      ...smtpEndpoints(ctx).map((e) => ({ ...e, type: "smtp" })),
      ...withBuiltin(n.gotify, undefined).map((e) => ({ ...e, type: "gotify" })),
      ...withBuiltin(n.webhook, undefined).map((e) => ({ ...e, type: "webhook" })),
    ];
    return typed
      .map((e) => {
        const target: Record<string, unknown> = { name: e.name, type: e.type, origin: e.origin };
        if (e.comment !== undefined) target["comment"] = e.comment;
        if (e.disable !== undefined) target["disable"] = e.disable;
        return target;
      })
      .sort((a, b) => (String(a["name"]) < String(b["name"]) ? -1 : 1));
  }),

  route("GET /cluster/notifications/endpoints/sendmail", sendmailEndpoints),

  route("GET /cluster/notifications/endpoints/smtp", smtpEndpoints),
];
