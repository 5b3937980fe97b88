/**
 * The toolsets, declared once: every tool names one of these ids, PROXMOX_TOOLSETS picks
 * among them, and doctor and the README's tool tables take their titles from here.
 * tests/tools/toolsets.test.ts keeps tools and declarations in agreement (ids and tiers).
 */
/** Read tools get the read token only; dangerous ones the admin token, behind ENABLE_DANGEROUS_COMMANDS. */
export type Tier = "read" | "dangerous";

export interface ToolsetDeclaration {
  /** What PROXMOX_TOOLSETS lists: lower-case letters, digits and _ (the config's rule). */
  id: string;
  /** A few words, without a colon (doctor's step name ends at the first one). */
  title: string;
  /** One line for the README. */
  description: string;
  /** The tier of every tool in it; a dangerous toolset needs ENABLE_DANGEROUS_COMMANDS on top. */
  tier: Tier;
  /** On when PROXMOX_TOOLSETS is unset; naming it there turns it on either way. */
  defaultOn: boolean;
}

export const TOOLSETS = [
  {
    id: "core",
    title: "Cluster, nodes and guests",
    description:
      "The entry tools: version and access, cluster status, nodes, guests and their configuration, storages.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "storage",
    title: "Storage contents",
    description: "What a storage holds: backups, ISOs, templates, disks.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "tasks",
    title: "Tasks",
    description: "Recent tasks of the cluster and their logs.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "backup",
    title: "Backups and snapshots",
    description: "Backup jobs, the guests no enabled job covers, and snapshots.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "access",
    title: "Users and permissions",
    description: "Users, API tokens, ACLs, and what this server's read token may do.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "security",
    title: "Security",
    description: "Firewall, certificates, pending updates, and the whole security audit in one call.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "health",
    title: "Health",
    description: "HA, replication, disks with their SMART health, and node networks.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "api",
    title: "Read-only API",
    description: "A GET of curated audit endpoints of the PVE API, for what the other tools do not answer.",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "pbs",
    title: "Proxmox Backup Server",
    description:
      "PBS datastores, snapshots with verification and encryption, jobs and tasks (with PBS_HOST set).",
    tier: "read",
    defaultOn: true,
  },
  {
    id: "dangerous",
    title: "Dangerous actions",
    description:
      "Power actions, commands in guests and on the host, and any API request, all with the admin token.",
    tier: "dangerous",
    defaultOn: true,
  },
] as const satisfies readonly ToolsetDeclaration[];

export type ToolsetId = (typeof TOOLSETS)[number]["id"];

/**
 * Whether a toolset's tools are offered, their tier allowed: named in PROXMOX_TOOLSETS,
 * or on by default while it is unset.
 */
export function isToolsetOn(
  toolset: ToolsetDeclaration | ToolsetId,
  selected: readonly string[] | undefined,
): boolean {
  const declared: ToolsetDeclaration =
    typeof toolset === "string" ? TOOLSETS.find((t) => t.id === toolset)! : toolset;
  return selected ? selected.includes(declared.id) : declared.defaultOn;
}
