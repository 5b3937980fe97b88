/**
 * Which GET endpoints the read-only raw tool (proxmox_api_get) may send: a curated list of
 * what a security or health audit reads, default-deny. PVE's schema has 327 GET endpoints,
 * and a GET is not harmless there: some answer with credentials a PVEAuditor token may read
 * (notification endpoints, realm and SDN plugin settings, the subscription key), some make
 * the node fetch a URL or connect to a host the caller names, some open consoles or read
 * any file of a guest. Every GET template that is not allowed sits in exactly one refused
 * group saying why; tests/tools/read-allowlist.test.ts holds the partition to API_PATHS.GET
 * and to Proxmox's schema, so an endpoint added by a new PVE version is refused until
 * someone classifies it. The dangerous proxmox_api tool keeps the whole schema.
 */
import { PveInputError } from "./errors.js";

/** GET templates the raw tool may send (below /api2/json, as in API_PATHS). */
export const READ_ALLOWED: readonly string[] = [
  // Access control: users, groups, roles, the ACL, API token settings (never a secret), effective
  // permissions and the realm list.
  "/access",
  "/access/acl",
  "/access/domains",
  "/access/groups",
  "/access/groups/{groupid}",
  "/access/permissions",
  "/access/roles",
  "/access/roles/{roleid}",
  "/access/users",
  "/access/users/{userid}",
  "/access/users/{userid}/token",
  "/access/users/{userid}/token/{tokenid}",
  // Cluster: backup jobs and coverage, Ceph, corosync, firewall, HA, jobs, log, hardware mappings,
  // metrics, notification matchers and targets, options, replication, resources, SDN, status, tasks.
  "/cluster",
  "/cluster/backup",
  "/cluster/backup-info",
  "/cluster/backup-info/not-backed-up",
  "/cluster/backup/{id}",
  "/cluster/backup/{id}/included_volumes",
  "/cluster/ceph",
  "/cluster/ceph/flags",
  "/cluster/ceph/flags/{flag}",
  "/cluster/ceph/metadata",
  "/cluster/ceph/status",
  "/cluster/config",
  "/cluster/config/nodes",
  "/cluster/config/qdevice",
  "/cluster/config/totem",
  "/cluster/firewall",
  "/cluster/firewall/aliases",
  "/cluster/firewall/aliases/{name}",
  "/cluster/firewall/groups",
  "/cluster/firewall/groups/{group}",
  "/cluster/firewall/groups/{group}/{pos}",
  "/cluster/firewall/ipset",
  "/cluster/firewall/ipset/{name}",
  "/cluster/firewall/ipset/{name}/{cidr}",
  "/cluster/firewall/macros",
  "/cluster/firewall/options",
  "/cluster/firewall/refs",
  "/cluster/firewall/rules",
  "/cluster/firewall/rules/{pos}",
  "/cluster/ha",
  "/cluster/ha/groups",
  "/cluster/ha/groups/{group}",
  "/cluster/ha/resources",
  "/cluster/ha/resources/{sid}",
  "/cluster/ha/rules",
  "/cluster/ha/rules/{rule}",
  "/cluster/ha/status",
  "/cluster/ha/status/current",
  "/cluster/ha/status/manager_status",
  "/cluster/jobs",
  "/cluster/jobs/realm-sync",
  "/cluster/jobs/realm-sync/{id}",
  "/cluster/log",
  "/cluster/mapping",
  "/cluster/mapping/dir",
  "/cluster/mapping/dir/{id}",
  "/cluster/mapping/pci",
  "/cluster/mapping/pci/{id}",
  "/cluster/mapping/usb",
  "/cluster/mapping/usb/{id}",
  "/cluster/metrics",
  "/cluster/metrics/export",
  "/cluster/metrics/server",
  "/cluster/notifications",
  "/cluster/notifications/matcher-field-values",
  "/cluster/notifications/matcher-fields",
  "/cluster/notifications/matchers",
  "/cluster/notifications/matchers/{name}",
  "/cluster/notifications/targets",
  "/cluster/options",
  "/cluster/replication",
  "/cluster/replication/{id}",
  "/cluster/resources",
  "/cluster/sdn",
  "/cluster/sdn/controllers",
  "/cluster/sdn/controllers/{controller}",
  "/cluster/sdn/fabrics",
  "/cluster/sdn/fabrics/all",
  "/cluster/sdn/fabrics/fabric",
  "/cluster/sdn/fabrics/fabric/{id}",
  "/cluster/sdn/fabrics/node",
  "/cluster/sdn/fabrics/node/{fabric_id}",
  "/cluster/sdn/fabrics/node/{fabric_id}/{node_id}",
  "/cluster/sdn/ipams/{ipam}/status",
  "/cluster/sdn/vnets",
  "/cluster/sdn/vnets/{vnet}",
  "/cluster/sdn/vnets/{vnet}/firewall",
  "/cluster/sdn/vnets/{vnet}/firewall/options",
  "/cluster/sdn/vnets/{vnet}/firewall/rules",
  "/cluster/sdn/vnets/{vnet}/firewall/rules/{pos}",
  "/cluster/sdn/vnets/{vnet}/subnets",
  "/cluster/sdn/vnets/{vnet}/subnets/{subnet}",
  "/cluster/sdn/zones",
  "/cluster/sdn/zones/{zone}",
  "/cluster/status",
  "/cluster/tasks",
  // Nodes: apt, capabilities, Ceph, certificates, configuration, disks, DNS and hosts, firewall,
  // hardware, logs, network, replication, SDN state, services, status, storage, tasks, time, versions.
  "/nodes",
  "/nodes/{node}",
  "/nodes/{node}/apt",
  "/nodes/{node}/apt/repositories",
  "/nodes/{node}/apt/update",
  "/nodes/{node}/apt/versions",
  "/nodes/{node}/capabilities",
  "/nodes/{node}/capabilities/qemu",
  "/nodes/{node}/capabilities/qemu/cpu",
  "/nodes/{node}/capabilities/qemu/cpu-flags",
  "/nodes/{node}/capabilities/qemu/machines",
  "/nodes/{node}/capabilities/qemu/migration",
  "/nodes/{node}/ceph",
  "/nodes/{node}/ceph/cfg",
  "/nodes/{node}/ceph/cfg/raw",
  "/nodes/{node}/ceph/crush",
  "/nodes/{node}/ceph/fs",
  "/nodes/{node}/ceph/log",
  "/nodes/{node}/ceph/mds",
  "/nodes/{node}/ceph/mgr",
  "/nodes/{node}/ceph/mon",
  "/nodes/{node}/ceph/osd",
  "/nodes/{node}/ceph/osd/{osdid}",
  "/nodes/{node}/ceph/osd/{osdid}/lv-info",
  "/nodes/{node}/ceph/osd/{osdid}/metadata",
  "/nodes/{node}/ceph/pool",
  "/nodes/{node}/ceph/pool/{name}",
  "/nodes/{node}/ceph/pool/{name}/status",
  "/nodes/{node}/ceph/rules",
  "/nodes/{node}/ceph/status",
  "/nodes/{node}/certificates",
  "/nodes/{node}/certificates/info",
  "/nodes/{node}/config",
  "/nodes/{node}/disks",
  "/nodes/{node}/disks/directory",
  "/nodes/{node}/disks/list",
  "/nodes/{node}/disks/lvm",
  "/nodes/{node}/disks/lvmthin",
  "/nodes/{node}/disks/smart",
  "/nodes/{node}/disks/zfs",
  "/nodes/{node}/disks/zfs/{name}",
  "/nodes/{node}/dns",
  "/nodes/{node}/firewall",
  "/nodes/{node}/firewall/log",
  "/nodes/{node}/firewall/options",
  "/nodes/{node}/firewall/rules",
  "/nodes/{node}/firewall/rules/{pos}",
  "/nodes/{node}/hardware",
  "/nodes/{node}/hardware/pci",
  "/nodes/{node}/hardware/pci/{pci-id-or-mapping}",
  "/nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev",
  "/nodes/{node}/hardware/usb",
  "/nodes/{node}/hosts",
  "/nodes/{node}/journal",
  "/nodes/{node}/netstat",
  "/nodes/{node}/network",
  "/nodes/{node}/network/{iface}",
  "/nodes/{node}/replication",
  "/nodes/{node}/replication/{id}",
  "/nodes/{node}/replication/{id}/log",
  "/nodes/{node}/replication/{id}/status",
  "/nodes/{node}/rrddata",
  "/nodes/{node}/sdn",
  "/nodes/{node}/sdn/fabrics/{fabric}",
  "/nodes/{node}/sdn/fabrics/{fabric}/interfaces",
  "/nodes/{node}/sdn/fabrics/{fabric}/neighbors",
  "/nodes/{node}/sdn/fabrics/{fabric}/routes",
  "/nodes/{node}/sdn/vnets/{vnet}",
  "/nodes/{node}/sdn/vnets/{vnet}/mac-vrf",
  "/nodes/{node}/sdn/zones",
  "/nodes/{node}/sdn/zones/{zone}",
  "/nodes/{node}/sdn/zones/{zone}/bridges",
  "/nodes/{node}/sdn/zones/{zone}/content",
  "/nodes/{node}/sdn/zones/{zone}/ip-vrf",
  "/nodes/{node}/services",
  "/nodes/{node}/services/{service}",
  "/nodes/{node}/services/{service}/state",
  "/nodes/{node}/status",
  "/nodes/{node}/storage",
  "/nodes/{node}/storage/{storage}",
  "/nodes/{node}/storage/{storage}/content",
  "/nodes/{node}/storage/{storage}/content/{volume}",
  "/nodes/{node}/storage/{storage}/prunebackups",
  "/nodes/{node}/storage/{storage}/rrddata",
  "/nodes/{node}/storage/{storage}/status",
  "/nodes/{node}/syslog",
  "/nodes/{node}/tasks",
  "/nodes/{node}/tasks/{upid}",
  "/nodes/{node}/tasks/{upid}/log",
  "/nodes/{node}/tasks/{upid}/status",
  "/nodes/{node}/time",
  "/nodes/{node}/version",
  "/nodes/{node}/vzdump/defaults",
  // Guests: configuration, pending changes, firewall, snapshots, status, interfaces and RRD data; for
  // VMs also the guest agent's read-only queries.
  "/nodes/{node}/lxc",
  "/nodes/{node}/lxc/{vmid}",
  "/nodes/{node}/lxc/{vmid}/config",
  "/nodes/{node}/lxc/{vmid}/firewall",
  "/nodes/{node}/lxc/{vmid}/firewall/aliases",
  "/nodes/{node}/lxc/{vmid}/firewall/aliases/{name}",
  "/nodes/{node}/lxc/{vmid}/firewall/ipset",
  "/nodes/{node}/lxc/{vmid}/firewall/ipset/{name}",
  "/nodes/{node}/lxc/{vmid}/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/lxc/{vmid}/firewall/log",
  "/nodes/{node}/lxc/{vmid}/firewall/options",
  "/nodes/{node}/lxc/{vmid}/firewall/refs",
  "/nodes/{node}/lxc/{vmid}/firewall/rules",
  "/nodes/{node}/lxc/{vmid}/firewall/rules/{pos}",
  "/nodes/{node}/lxc/{vmid}/interfaces",
  "/nodes/{node}/lxc/{vmid}/pending",
  "/nodes/{node}/lxc/{vmid}/rrddata",
  "/nodes/{node}/lxc/{vmid}/snapshot",
  "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
  "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config",
  "/nodes/{node}/lxc/{vmid}/status",
  "/nodes/{node}/lxc/{vmid}/status/current",
  "/nodes/{node}/qemu",
  "/nodes/{node}/qemu/{vmid}",
  "/nodes/{node}/qemu/{vmid}/agent",
  "/nodes/{node}/qemu/{vmid}/agent/get-fsinfo",
  "/nodes/{node}/qemu/{vmid}/agent/get-host-name",
  "/nodes/{node}/qemu/{vmid}/agent/get-memory-block-info",
  "/nodes/{node}/qemu/{vmid}/agent/get-memory-blocks",
  "/nodes/{node}/qemu/{vmid}/agent/get-osinfo",
  "/nodes/{node}/qemu/{vmid}/agent/get-time",
  "/nodes/{node}/qemu/{vmid}/agent/get-timezone",
  "/nodes/{node}/qemu/{vmid}/agent/get-users",
  "/nodes/{node}/qemu/{vmid}/agent/get-vcpus",
  "/nodes/{node}/qemu/{vmid}/agent/info",
  "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
  "/nodes/{node}/qemu/{vmid}/config",
  "/nodes/{node}/qemu/{vmid}/firewall",
  "/nodes/{node}/qemu/{vmid}/firewall/aliases",
  "/nodes/{node}/qemu/{vmid}/firewall/aliases/{name}",
  "/nodes/{node}/qemu/{vmid}/firewall/ipset",
  "/nodes/{node}/qemu/{vmid}/firewall/ipset/{name}",
  "/nodes/{node}/qemu/{vmid}/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/qemu/{vmid}/firewall/log",
  "/nodes/{node}/qemu/{vmid}/firewall/options",
  "/nodes/{node}/qemu/{vmid}/firewall/refs",
  "/nodes/{node}/qemu/{vmid}/firewall/rules",
  "/nodes/{node}/qemu/{vmid}/firewall/rules/{pos}",
  "/nodes/{node}/qemu/{vmid}/pending",
  "/nodes/{node}/qemu/{vmid}/rrddata",
  "/nodes/{node}/qemu/{vmid}/snapshot",
  "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
  "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config",
  "/nodes/{node}/qemu/{vmid}/status",
  "/nodes/{node}/qemu/{vmid}/status/current",
  // Pools, the storage configuration and the version.
  "/pools",
  "/pools/{poolid}",
  "/storage",
  "/storage/{storage}",
  "/version",
];

export interface RefusedGroup {
  /** Short name, shown in the refusal. */
  readonly name: string;
  /** Why the group is refused, one line. */
  readonly reason: string;
  /** The read tool or allowed endpoint that answers the audit question instead, if any. */
  readonly instead?: string;
  readonly templates: readonly string[];
}

export const REFUSED_GROUPS: readonly RefusedGroup[] = [
  {
    name: "notification-secrets",
    reason:
      "notification endpoint settings hold credentials (Gotify tokens, SMTP passwords, webhook URLs, headers and secrets)",
    instead: "/cluster/notifications/targets (names and types, without settings)",
    templates: [
      "/cluster/notifications/endpoints",
      "/cluster/notifications/endpoints/gotify",
      "/cluster/notifications/endpoints/gotify/{name}",
      "/cluster/notifications/endpoints/sendmail",
      "/cluster/notifications/endpoints/sendmail/{name}",
      "/cluster/notifications/endpoints/smtp",
      "/cluster/notifications/endpoints/smtp/{name}",
      "/cluster/notifications/endpoints/webhook",
      "/cluster/notifications/endpoints/webhook/{name}",
    ],
  },
  {
    // PVE returns the realm's section of domains.cfg whole, to Sys.Audit.
    name: "realm-secrets",
    reason: "a realm's settings hold the OpenID client-key in plain text",
    instead: "/access/domains (realms, types and TFA, without settings)",
    templates: ["/access/domains/{realm}"],
  },
  {
    // pve-network returns each plugin's section whole, in the lists too, to SDN.Audit.
    name: "sdn-plugin-secrets",
    reason:
      "SDN DNS and IPAM plugin settings hold API credentials (PowerDNS key, NetBox and phpIPAM tokens), in the lists too",
    instead: "/cluster/sdn/zones (which DNS and IPAM each zone uses)",
    templates: [
      "/cluster/sdn/dns",
      "/cluster/sdn/dns/{dns}",
      "/cluster/sdn/ipams",
      "/cluster/sdn/ipams/{ipam}",
    ],
  },
  {
    name: "metric-server-secrets",
    reason: "a metric server's settings can hold HTTP headers with credentials (otel-headers)",
    instead: "/cluster/metrics/server (servers, ports and state, without settings)",
    templates: ["/cluster/metrics/server/{id}"],
  },
  {
    name: "subscription-key",
    reason: "the answer holds the node's subscription key",
    instead: "get_updates (subscription level, status and due date)",
    templates: ["/nodes/{node}/subscription"],
  },
  {
    name: "acme",
    reason:
      "ACME DNS plugins hold DNS provider API credentials; accounts, directories and schemas serve certificate ordering, not an audit",
    instead: "get_certificates (certificates and expiry) or /nodes/{node}/config (the node's ACME domains)",
    templates: [
      "/cluster/acme",
      "/cluster/acme/account",
      "/cluster/acme/account/{name}",
      "/cluster/acme/challenge-schema",
      "/cluster/acme/directories",
      "/cluster/acme/plugins",
      "/cluster/acme/plugins/{id}",
      "/nodes/{node}/certificates/acme",
    ],
  },
  {
    name: "second-factors",
    reason:
      "users' second-factor entries (TOTP, WebAuthn, Yubico, recovery keys): credential details an audit does not need",
    instead: "get_users (whether each user has TFA)",
    templates: [
      "/access/tfa",
      "/access/tfa/{userid}",
      "/access/tfa/{userid}/{id}",
      "/access/users/{userid}/tfa",
    ],
  },
  {
    name: "cloud-init",
    reason: "cloud-init values and the generated user-data carry the guest's password hash and SSH keys",
    instead: "get_vm_config (the configuration with them masked)",
    templates: ["/nodes/{node}/qemu/{vmid}/cloudinit", "/nodes/{node}/qemu/{vmid}/cloudinit/dump"],
  },
  {
    name: "guest-files",
    reason: "reads any file of the guest (/etc/shadow, private keys) or the output of commands run in it",
    templates: ["/nodes/{node}/qemu/{vmid}/agent/exec-status", "/nodes/{node}/qemu/{vmid}/agent/file-read"],
  },
  {
    name: "backup-contents",
    reason:
      "reads inside backup archives (guest files, configurations with cloud-init passwords); PBS file restore starts a restore VM",
    instead: "get_storage_content (backups and their age)",
    templates: [
      "/nodes/{node}/storage/{storage}/file-restore/download",
      "/nodes/{node}/storage/{storage}/file-restore/list",
      "/nodes/{node}/vzdump/extractconfig",
    ],
  },
  {
    name: "node-report",
    reason:
      "pvereport dumps the node's configuration files and command output, credentials included, and runs dozens of commands",
    instead: "get_node_status",
    templates: ["/nodes/{node}/report"],
  },
  {
    name: "ceph-config-db",
    reason: "the Ceph configuration database holds mgr module settings, credentials among them",
    instead: "/nodes/{node}/ceph/cfg/raw (ceph.conf) or /nodes/{node}/ceph/status",
    templates: ["/nodes/{node}/ceph/cfg/db", "/nodes/{node}/ceph/cfg/value"],
  },
  {
    name: "login-console",
    reason:
      "login, console (VNC) and migration-tunnel endpoints open sessions or take tickets; they are not data",
    templates: [
      "/access/openid",
      "/access/ticket",
      "/nodes/{node}/lxc/{vmid}/mtunnelwebsocket",
      "/nodes/{node}/lxc/{vmid}/vncwebsocket",
      "/nodes/{node}/qemu/{vmid}/mtunnelwebsocket",
      "/nodes/{node}/qemu/{vmid}/vncwebsocket",
      "/nodes/{node}/vncwebsocket",
    ],
  },
  {
    name: "remote-fetch",
    reason:
      "makes the node fetch from the network a URL, registry or package the caller names (server-side request forgery)",
    templates: [
      "/cluster/acme/meta",
      "/cluster/acme/tos",
      "/nodes/{node}/apt/changelog",
      "/nodes/{node}/query-oci-repo-tags",
      "/nodes/{node}/query-url-metadata",
    ],
  },
  {
    name: "storage-scan",
    reason:
      "storage-wizard scans: cifs, nfs, iscsi and pbs make the node connect to a host the caller names with credentials it passes; the local ones repeat the disk listings",
    instead: "get_disks, /nodes/{node}/disks/lvm, /nodes/{node}/disks/lvmthin or /nodes/{node}/disks/zfs",
    templates: [
      "/nodes/{node}/scan",
      "/nodes/{node}/scan/cifs",
      "/nodes/{node}/scan/iscsi",
      "/nodes/{node}/scan/lvm",
      "/nodes/{node}/scan/lvmthin",
      "/nodes/{node}/scan/nfs",
      "/nodes/{node}/scan/pbs",
      "/nodes/{node}/scan/zfs",
    ],
  },
  {
    name: "rrd-images",
    reason: "renders a PNG graph into a file on the node instead of answering with data",
    instead: "the rrddata endpoint beside it, e.g. /nodes/{node}/rrddata",
    templates: [
      "/nodes/{node}/lxc/{vmid}/rrd",
      "/nodes/{node}/qemu/{vmid}/rrd",
      "/nodes/{node}/rrd",
      "/nodes/{node}/storage/{storage}/rrd",
    ],
  },
  {
    name: "write-helpers",
    reason:
      "prepares a write action (create, join, migrate, import, bulk action, SDN apply, appliance download); no audit reads it",
    templates: [
      "/cluster/bulk-action",
      "/cluster/bulk-action/guest",
      "/cluster/config/apiversion",
      "/cluster/config/join",
      "/cluster/jobs/schedule-analyze",
      "/cluster/nextid",
      "/cluster/sdn/dry-run",
      "/nodes/{node}/aplinfo",
      "/nodes/{node}/ceph/cmd-safety",
      "/nodes/{node}/lxc/{vmid}/feature",
      "/nodes/{node}/lxc/{vmid}/migrate",
      "/nodes/{node}/qemu/{vmid}/feature",
      "/nodes/{node}/qemu/{vmid}/migrate",
      "/nodes/{node}/storage/{storage}/import-metadata",
    ],
  },
];

/**
 * Query parameters refused on an allowed endpoint, with the reason. No allowed endpoint
 * takes a URL, host or credential (the test checks the schema); this one changes the answer
 * from JSON lines to a file.
 */
export const REFUSED_PARAMS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "/nodes/{node}/tasks/{upid}/log": {
    download:
      "it returns the whole log as a file instead of JSON lines; page with start and limit, or use get_task_log",
  },
};

/** What a template on neither list gets: new endpoints stay refused until classified. */
const UNLISTED: RefusedGroup = {
  name: "unlisted",
  reason: "not on the curated list of audit endpoints",
  templates: [],
};

const ALLOWED = new Set(READ_ALLOWED);
const GROUP_OF = new Map(REFUSED_GROUPS.flatMap((group) => group.templates.map((t) => [t, group] as const)));

export type ReadVerdict =
  { readonly allowed: true } | { readonly allowed: false; readonly group: RefusedGroup };

/** Whether the raw GET tool may send an endpoint: a function of its template alone. */
export function readVerdict(template: string): ReadVerdict {
  if (ALLOWED.has(template)) return { allowed: true };
  return { allowed: false, group: GROUP_OF.get(template) ?? UNLISTED };
}

/**
 * Throws PveInputError with one line (the group and its reason, or the parameter and its
 * reason) when the raw GET tool may not send `template` with these parameter names.
 */
export function assertReadAllowed(template: string, paramNames: readonly string[]): void {
  const verdict = readVerdict(template);
  if (!verdict.allowed) {
    const { name, reason, instead } = verdict.group;
    throw new PveInputError(
      "path",
      `GET ${template} is refused by this read-only tool (${name}): ${reason}${instead ? `; instead: ${instead}` : ""}`,
    );
  }
  const refused = REFUSED_PARAMS[template];
  if (!refused) return;
  for (const name of paramNames) {
    if (Object.hasOwn(refused, name)) {
      throw new PveInputError("params", `${name} is refused for GET ${template}: ${refused[name]}`);
    }
  }
}
