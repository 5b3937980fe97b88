/**
 * Firewall options and rules of the cluster, the nodes and the guests, as
 * pve-firewall's API2/Firewall/{Cluster,Host,VM,Rules}.pm answer them. The
 * digests are PVE's: sha1 over the sorted "key:value\n" lines of the object or
 * of every rule in turn (copy_opject_with_digest / copy_list_with_digest).
 */
import { sha1 } from "../cluster.js";
import type { FirewallSpec } from "../scenario.js";
import { param, route, type Route, type RouteContext } from "./route.js";

const EMPTY_FIREWALL: FirewallSpec = { options: {}, rules: [], ipsets: [] };

type FirewallValue = string | number;

function digestLines(object: Record<string, FirewallValue>): string {
  return Object.keys(object)
    .sort()
    .map((k) => `${k}:${object[k]}\n`)
    .join("");
}

function optionsWithDigest(firewall: FirewallSpec): Record<string, FirewallValue> {
  return { ...firewall.options, digest: sha1(digestLines(firewall.options)) };
}

/** verify_rule() derives the IP version from literal source/dest addresses. */
function ipVersion(addresses: string | undefined): number | undefined {
  if (!addresses) return undefined;
  if (/^[0-9a-fA-F:.,/-]+$/.test(addresses) && addresses.includes(":")) return 6;
  if (/^[0-9.,/-]+$/.test(addresses)) return 4;
  return undefined;
}

/** A rule as parse_fw_rule() stores it: `enable` is always set, absent fields stay absent. */
function storedRule(rule: FirewallSpec["rules"][number]): Record<string, FirewallValue> {
  const { pos: _pos, ...fields } = rule;
  const stored: Record<string, FirewallValue> = { ...fields, enable: rule.enable ?? 1 };
  const version = ipVersion(rule.source) ?? ipVersion(rule.dest);
  if (version !== undefined) stored["ipversion"] = version;
  return stored;
}

function rulesWithDigest(firewall: FirewallSpec): Record<string, FirewallValue>[] {
  const rules = firewall.rules.map(storedRule);
  const digest = sha1(rules.map(digestLines).join(""));
  return rules.map((rule, pos) => ({ ...rule, pos, digest }));
}

/** API2/Firewall/IPSet.pm's list: name, comment, and the digest of the whole firewall file's sets. */
function ipsetList(firewall: FirewallSpec): Record<string, FirewallValue>[] {
  const digest = sha1(firewall.ipsets.map((set) => `${set.name}:${set.cidrs.join(",")}\n`).join(""));
  return firewall.ipsets.map((set) => ({
    name: set.name,
    ...(set.comment ? { comment: set.comment } : {}),
    digest,
  }));
}

function nodeFirewall(ctx: RouteContext): FirewallSpec {
  return ctx.cluster.nodes.get(param.str(ctx, "node"))?.firewall ?? EMPTY_FIREWALL;
}

/**
 * load_vmfw_conf() reads /etc/pve/firewall/<vmid>.fw, which is cluster-wide and
 * not tied to a guest: any vmid (even one that does not exist) answers, a guest
 * without that file has an empty configuration.
 */
function guestFirewall(ctx: RouteContext): FirewallSpec {
  return ctx.cluster.guests.get(param.int(ctx, "vmid"))?.firewall ?? EMPTY_FIREWALL;
}

export const firewallRoutes: Route[] = [
  route("GET /cluster/firewall/options", (ctx) => optionsWithDigest(ctx.cluster.scenario.clusterFirewall)),
  route("GET /cluster/firewall/rules", (ctx) => rulesWithDigest(ctx.cluster.scenario.clusterFirewall)),
  route("GET /nodes/{node}/firewall/options", (ctx) => optionsWithDigest(nodeFirewall(ctx))),
  route("GET /nodes/{node}/firewall/rules", (ctx) => rulesWithDigest(nodeFirewall(ctx))),
  route("GET /nodes/{node}/qemu/{vmid}/firewall/options", (ctx) => optionsWithDigest(guestFirewall(ctx))),
  route("GET /nodes/{node}/qemu/{vmid}/firewall/rules", (ctx) => rulesWithDigest(guestFirewall(ctx))),
  route("GET /nodes/{node}/lxc/{vmid}/firewall/options", (ctx) => optionsWithDigest(guestFirewall(ctx))),
  route("GET /nodes/{node}/lxc/{vmid}/firewall/rules", (ctx) => rulesWithDigest(guestFirewall(ctx))),
  route("GET /nodes/{node}/qemu/{vmid}/firewall/ipset", (ctx) => ipsetList(guestFirewall(ctx))),
  route("GET /nodes/{node}/lxc/{vmid}/firewall/ipset", (ctx) => ipsetList(guestFirewall(ctx))),
];
