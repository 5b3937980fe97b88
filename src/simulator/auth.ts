/**
 * Authentication as pveproxy does it (pve-reference §3.5): an API token in the
 * Authorization header, or a ticket in the PVEAuthCookie cookie (which wins) plus
 * a CSRFPreventionToken header on writes. Details of a failure never reach the
 * client: every failure is a bare 401 "Authentication failed!" (or "No ticket"; a
 * ticket write without a valid CSRF token is "Permission denied - invalid csrf token").
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { splitTokenId } from "./acl.js";
import type { Cluster } from "./cluster.js";

export type AuthResult =
  | { ok: true; kind: "token" | "ticket"; authid: string }
  | { ok: false; reason: "No ticket" | "Authentication failed!" };

const TICKET_LIFETIME = 2 * 3600;
const FAILED = { ok: false, reason: "Authentication failed!" } as const;

/** pve-http-server's extract_auth_value: `KEY=value` or `KEY value` up to `;`, URI-unescaped. */
function extractAuthValue(header: string | undefined, key: string): string | undefined {
  if (!header) return undefined;
  const m = new RegExp(`(?:^|\\s)${key}(?:=| )([^;]*)`).exec(header);
  if (!m?.[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/** Whether the request carries an API token header (checked even where authentication is skipped). */
export function hasTokenHeader(headers: IncomingHttpHeaders): boolean {
  return extractAuthValue(headers.authorization, "PVEAPIToken") !== undefined;
}

export function authenticate(headers: IncomingHttpHeaders, cluster: Cluster): AuthResult {
  const ticket =
    extractAuthValue(headers.cookie, "PVEAuthCookie") ??
    extractAuthValue(headers.authorization, "PVEAuthCookie");
  if (ticket) {
    const userid = verifyTicket(ticket, cluster);
    return userid ? { ok: true, kind: "ticket", authid: userid } : FAILED;
  }
  const token = extractAuthValue(headers.authorization, "PVEAPIToken");
  if (!token) return { ok: false, reason: "No ticket" };
  // Greedy split at the last "=", as pveproxy's /^(.*)=(.*)$/ does.
  const eq = token.lastIndexOf("=");
  if (eq <= 0) return FAILED;
  const tokenid = token.slice(0, eq);
  const secret = token.slice(eq + 1);
  return verifyToken(tokenid, secret, cluster) ? { ok: true, kind: "token", authid: tokenid } : FAILED;
}

/** PVE::AccessControl::check_user_enabled: the user exists, is enabled and has not expired. */
export function userActive(userid: string, cluster: Cluster): boolean {
  const user = cluster.scenario.users.find((u) => u.userid === userid);
  if (!user || user.enable !== 1) return false;
  const expire = cluster.time(user.expire);
  return expire === 0 || expire > cluster.now();
}

function verifyToken(tokenid: string, secret: string, cluster: Cluster): boolean {
  if (!tokenid.includes("!")) return false;
  const { userid, name } = splitTokenId(tokenid);
  if (!userActive(userid, cluster)) return false;
  const token = cluster.scenario.users
    .find((u) => u.userid === userid)
    ?.tokens.find((t) => t.tokenid === name);
  if (!token) return false;
  const expire = cluster.time(token.expire);
  if (expire !== 0 && expire <= cluster.now()) return false;
  return safeEqual(secret, token.secret);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sign(cluster: Cluster, text: string): string {
  return createHmac("sha256", cluster.ticketKey).update(text).digest("base64");
}

/** `PVE:<userid>:<8 hex epoch>::<signature>`, valid two hours. */
export function createTicket(userid: string, cluster: Cluster): string {
  const plain = `PVE:${userid}:${cluster.now().toString(16).toUpperCase().padStart(8, "0")}`;
  return `${plain}::${sign(cluster, plain)}`;
}

export function verifyTicket(ticket: string, cluster: Cluster): string | undefined {
  const m = /^(PVE:([^:\s]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
  if (!m || !safeEqual(m[4] as string, sign(cluster, m[1] as string))) return undefined;
  const age = cluster.now() - parseInt(m[3] as string, 16);
  if (age > TICKET_LIFETIME || age < -300) return undefined;
  const userid = m[2] as string;
  return userActive(userid, cluster) ? userid : undefined;
}

/** `<8 hex epoch>:<43 chars base64 HMAC>`. */
export function createCsrfToken(userid: string, cluster: Cluster): string {
  const stamp = cluster.now().toString(16).toUpperCase().padStart(8, "0");
  return `${stamp}:${sign(cluster, `${stamp}:${userid}`).replace(/=+$/, "")}`;
}

export function csrfTokenValid(headers: IncomingHttpHeaders, userid: string, cluster: Cluster): boolean {
  const value = headers["csrfpreventiontoken"];
  if (typeof value !== "string") return false;
  const m = /^([0-9A-F]{8}):(.+)$/.exec(value);
  if (!m) return false;
  const expected = sign(cluster, `${m[1]}:${userid}`).replace(/=+$/, "");
  const age = cluster.now() - parseInt(m[1] as string, 16);
  return safeEqual(m[2] as string, expected) && age <= TICKET_LIFETIME && age >= -300;
}

/** Password check of POST /access/ticket: the user's password, or a valid ticket of the same user (renewal). */
export function checkPassword(userid: string, password: string, cluster: Cluster): boolean {
  if (!userActive(userid, cluster)) return false;
  if (password.startsWith("PVE:")) return verifyTicket(password, cluster) === userid;
  const stored = cluster.scenario.users.find((u) => u.userid === userid)?.password;
  return stored !== undefined && safeEqual(password, stored);
}
