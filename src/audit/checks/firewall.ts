/**
 * The PVE firewall at its three levels. PVE enforces node and guest rules only while
 * the cluster firewall is on (cluster option `enable`, default 0); a node's own switch
 * defaults to on, a guest's to off, and a guest is filtered only on NICs with
 * `firewall=1`. Unset input policies are DROP.
 */
import { REFERENCES } from "../references.js";
import {
  guestLabel,
  guestObject,
  inspectedGuests,
  isOn,
  perNode,
  reachableGuests,
  type Guest,
} from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";

type FirewallOptions = Record<string, string | number | undefined>;

interface FirewallRule {
  pos: number;
  type: string;
  action: string;
  enable?: number;
  macro?: string;
  proto?: string;
  dport?: string;
  source?: string;
}

/** The cluster firewall options, or undefined when the token may not read them (gap recorded). */
async function clusterOptions(ctx: AuditContext): Promise<FirewallOptions | undefined> {
  return ctx.getOrGap<FirewallOptions>(
    "/cluster/firewall/options",
    {},
    "the cluster firewall options",
    "Sys.Audit on /",
  );
}

export const firewallCluster = defineCheck({
  id: "firewall-cluster",
  code: "PVE-FWL-001",
  references: [REFERENCES.firewall],
  severity: "high",
  title: "Cluster firewall off, or input policy ACCEPT",
  needs: "Sys.Audit on /",
  async run(ctx) {
    const options = await clusterOptions(ctx);
    if (!options) return [];
    const findings: CheckFinding[] = [];
    const enabled = isOn(options["enable"]);
    const policy = String(options["policy_in"] ?? "DROP").toUpperCase();
    if (!enabled) {
      findings.push({
        check: "firewall-cluster",
        severity: "high",
        title: "Cluster firewall is disabled",
        object: "cluster",
        evidence: `enable=${options["enable"] ?? "0 (default)"}: no node or guest firewall rule is enforced`,
        remediation:
          "add ACCEPT rules for the GUI (8006) and SSH from your admin network, then: pvesh set /cluster/firewall/options --enable 1",
      });
    }
    if (policy === "ACCEPT") {
      findings.push({
        check: "firewall-cluster",
        severity: "medium",
        title: "Cluster firewall input policy is ACCEPT",
        object: "cluster",
        evidence: `policy_in=ACCEPT: traffic no rule drops is let in${enabled ? "" : " (once the firewall is enabled)"}`,
        remediation:
          "after adding the ACCEPT rules you need: pvesh set /cluster/firewall/options --policy_in DROP",
      });
    }
    return findings;
  },
});

export const firewallNode = defineCheck({
  id: "firewall-node",
  code: "PVE-FWL-002",
  references: [REFERENCES.firewall],
  severity: "medium",
  title: "Host firewall switched off on a node",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    const answers = await perNode<FirewallOptions>(
      ctx,
      "/nodes/{node}/firewall/options",
      (nodes) => `the host firewall options of ${nodes}`,
      "Sys.Audit",
    );
    return answers
      .filter(({ data }) => data["enable"] !== undefined && !isOn(data["enable"]))
      .map(({ node }) => ({
        check: "firewall-node",
        severity: "medium",
        title: `Host firewall of ${node} is disabled`,
        object: node,
        evidence: "node option enable=0: the cluster's host rules do not protect this node",
        remediation: `pvesh set /nodes/${node}/firewall/options --enable 1`,
      }));
  },
});

/** Ports that should never be open to the whole world: management, remote consoles, databases, file sharing. */
const SENSITIVE_PORTS: [number, number, string][] = [
  [22, 22, "SSH"],
  [8006, 8006, "PVE web UI/API"],
  [3128, 3128, "SPICE proxy"],
  [5900, 5999, "VNC"],
  [111, 111, "rpcbind"],
  [2049, 2049, "NFS"],
  [445, 445, "SMB"],
  [3389, 3389, "RDP"],
  [5405, 5412, "corosync"],
  [3306, 3306, "MySQL"],
  [5432, 5432, "PostgreSQL"],
  [6379, 6379, "Redis"],
  [27017, 27017, "MongoDB"],
];
const SENSITIVE_MACROS = new Set([
  "SSH",
  "VNC",
  "RDP",
  "SMB",
  "NFS",
  "MySQL",
  "PostgreSQL",
  "SPICEproxy",
  "Ceph",
]);

/** What an enabled inbound ACCEPT rule without a source opens to anyone, or undefined. */
function openToAnyone(rule: FirewallRule): string | undefined {
  if (rule.type !== "in" || rule.action !== "ACCEPT" || rule.enable === 0) return undefined;
  const source = (rule.source ?? "").trim();
  if (source && !["0.0.0.0/0", "::/0"].includes(source)) return undefined;
  if (rule.macro) return SENSITIVE_MACROS.has(rule.macro) ? `macro ${rule.macro}` : undefined;
  if (!rule.dport) return rule.proto ? `every ${rule.proto} port` : "every port";
  for (const part of rule.dport.split(",")) {
    const [low = NaN, high = low] = part.split(":").map((p) => Number(p.trim()));
    if (Number.isNaN(low) || Number.isNaN(high)) continue;
    const hit = SENSITIVE_PORTS.find(([from, to]) => low <= to && high >= from);
    if (hit) return `port ${part.trim()} (${hit[2]})`;
  }
  return undefined;
}

export const firewallOpenRule = defineCheck({
  id: "firewall-open-rule",
  code: "PVE-FWL-003",
  references: [REFERENCES.firewall],
  severity: "medium",
  title: "Cluster or host rules that open management ports to any source",
  needs: "Sys.Audit on / and on /nodes/{node}",
  async run(ctx) {
    const findings: CheckFinding[] = [];
    const report = (scope: string, rule: FirewallRule, where: string) => {
      const what = openToAnyone(rule);
      if (!what) return;
      findings.push({
        check: "firewall-open-rule",
        severity: "medium",
        title: `${scope === "cluster" ? "Cluster" : `Host ${scope}`} firewall rule ${rule.pos} accepts ${what} from any source`,
        object: `${scope} rule ${rule.pos}`,
        evidence: `in ACCEPT ${what}, no source${rule.proto ? `, proto ${rule.proto}` : ""}`,
        remediation: `restrict the source to your admin network: pvesh set ${where}/${rule.pos} --source <cidr or +ipset>`,
      });
    };
    const cluster = await ctx.getOrGap<FirewallRule[]>(
      "/cluster/firewall/rules",
      {},
      "the cluster firewall rules",
      "Sys.Audit on /",
    );
    for (const rule of cluster ?? []) report("cluster", rule, "/cluster/firewall/rules");
    const nodes = await perNode<FirewallRule[]>(
      ctx,
      "/nodes/{node}/firewall/rules",
      (list) => `the host firewall rules of ${list}`,
      "Sys.Audit",
    );
    for (const { node, data } of nodes) {
      for (const rule of data) report(node, rule, `/nodes/${node}/firewall/rules`);
    }
    return findings;
  },
});

/** A guest's config (memoised: guest-secrets reads the same). */
export function guestConfig(ctx: AuditContext, g: Guest): Promise<Record<string, unknown>> {
  return g.type === "lxc"
    ? ctx.get("/nodes/{node}/lxc/{vmid}/config", { node: g.node, vmid: g.vmid })
    : ctx.get("/nodes/{node}/qemu/{vmid}/config", { node: g.node, vmid: g.vmid });
}

function guestFirewallOptions(ctx: AuditContext, g: Guest): Promise<FirewallOptions> {
  const where = { node: g.node, vmid: g.vmid };
  return g.type === "lxc"
    ? ctx.get<FirewallOptions>("/nodes/{node}/lxc/{vmid}/firewall/options", where)
    : ctx.get<FirewallOptions>("/nodes/{node}/qemu/{vmid}/firewall/options", where);
}

/** The NIC keys (net0, net1...) of a config, and those with firewall=1. */
function nics(config: Record<string, unknown>): { all: string[]; filtered: string[] } {
  const all = Object.keys(config)
    .filter((k) => /^net\d+$/.test(k))
    .sort();
  const filtered = all.filter((k) => /(?:^|,)firewall=1(?:,|$)/.test(String(config[k])));
  return { all, filtered };
}

export const firewallGuest = defineCheck({
  id: "firewall-guest",
  code: "PVE-FWL-004",
  references: [REFERENCES.firewall],
  severity: "low",
  title: "Guests whose firewall does not filter (off, no NIC with firewall=1, or policy ACCEPT)",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    const { guests: list, note } = inspectedGuests("firewall-guest", await reachableGuests(ctx));
    const findings: CheckFinding[] = [...note];
    await ctx.each(list, guestObject, async (g) => {
      const [config, options] = await Promise.all([guestConfig(ctx, g), guestFirewallOptions(ctx, g)]);
      const { all, filtered } = nics(config);
      if (all.length === 0) return;
      const problems: string[] = [];
      const off = !isOn(options["enable"]);
      if (off) problems.push("firewall off");
      const unfiltered = all.filter((k) => !filtered.includes(k));
      if (unfiltered.length > 0) problems.push(`${unfiltered.join(", ")} without firewall=1`);
      const policyAccept = String(options["policy_in"] ?? "DROP").toUpperCase() === "ACCEPT";
      if (problems.length === 0 && !policyAccept) return;
      findings.push(
        problems.length > 0
          ? {
              check: "firewall-guest",
              severity: "low",
              title: `Firewall of ${guestLabel(g)} does not filter its traffic`,
              object: guestObject(g),
              evidence: problems.join("; "),
              remediation: [
                off ? "add rules and enable it (guest > Firewall > Options)" : "",
                unfiltered.length > 0 ? `set firewall=1 on ${unfiltered.join(", ")} (guest > Hardware)` : "",
              ]
                .filter(Boolean)
                .join("; "),
            }
          : {
              check: "firewall-guest",
              severity: "low",
              title: `Firewall input policy of ${guestLabel(g)} is ACCEPT`,
              object: guestObject(g),
              evidence: "policy_in=ACCEPT: traffic no rule drops reaches the guest",
              remediation: `pvesh set /nodes/${g.node}/${g.type}/${g.vmid}/firewall/options --policy_in DROP`,
            },
      );
    });
    return findings;
  },
});

/**
 * Where a guest's firewall does filter (on, every NIC with firewall=1), whether it also
 * stops the guest from sending as another address. IP filtering is on with ipfilter=1
 * or, per NIC, with an ipset ipfilter-netX (pve-firewall switches it on for that NIC);
 * macfilter is on by default.
 */
export const firewallGuestSpoofing = defineCheck({
  id: "firewall-guest-spoofing",
  code: "PVE-FWL-005",
  references: [REFERENCES.firewall],
  severity: "low",
  title: "Guest firewalls that do not stop address spoofing (no IP filter, or macfilter off)",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    const { guests: list, note } = inspectedGuests("firewall-guest-spoofing", await reachableGuests(ctx));
    const findings: CheckFinding[] = [...note];
    await ctx.each(list, guestObject, async (g) => {
      const [config, options] = await Promise.all([guestConfig(ctx, g), guestFirewallOptions(ctx, g)]);
      const { all, filtered } = nics(config);
      // Guests whose firewall does not filter at all are firewall-guest's findings.
      if (all.length === 0 || filtered.length < all.length || !isOn(options["enable"])) return;
      const macOff = options["macfilter"] !== undefined && !isOn(options["macfilter"]);
      let ipUnfiltered: string[] = [];
      if (!isOn(options["ipfilter"])) {
        const sets = await ctx.get<{ name: string }[]>(`/nodes/{node}/${g.type}/{vmid}/firewall/ipset`, {
          node: g.node,
          vmid: g.vmid,
        });
        const withSet = new Set(sets.map((set) => set.name));
        ipUnfiltered = all.filter((nic) => !withSet.has(`ipfilter-${nic}`));
      }
      if (ipUnfiltered.length === 0 && !macOff) return;
      const api = `/nodes/${g.node}/${g.type}/${g.vmid}/firewall`;
      // A VM's ipset must list its addresses first; a container's static ip= ones are implied.
      const needSets = ipUnfiltered.filter(
        (nic) => g.type === "qemu" || !/(?:^|,)ip6?=(?!dhcp|auto|manual)[^,]/.test(String(config[nic])),
      );
      const steps = [
        ...(needSets.length > 0
          ? [
              `list the addresses each NIC sends from first, else IP filtering drops its traffic: ${needSets
                .map(
                  (nic) =>
                    `pvesh create ${api}/ipset --name ipfilter-${nic}; pvesh create ${api}/ipset/ipfilter-${nic} --cidr <ip>`,
                )
                .join("; ")}`,
            ]
          : []),
        `pvesh set ${api}/options${ipUnfiltered.length > 0 ? " --ipfilter 1" : ""}${macOff ? " --macfilter 1" : ""}`,
      ];
      findings.push({
        check: "firewall-guest-spoofing",
        severity: "low",
        title: `Firewall of ${guestLabel(g)} lets it send as other addresses`,
        object: guestObject(g),
        evidence: [
          ...(ipUnfiltered.length > 0
            ? [`no IP filter on ${ipUnfiltered.join(", ")} (ipfilter off, no ipfilter-<nic> ipset)`]
            : []),
          ...(macOff ? ["macfilter off"] : []),
        ].join("; "),
        remediation: steps.join("; then "),
      });
    });
    return findings;
  },
});

export const firewallChecks = [
  firewallCluster,
  firewallNode,
  firewallOpenRule,
  firewallGuest,
  firewallGuestSpoofing,
] as const;
