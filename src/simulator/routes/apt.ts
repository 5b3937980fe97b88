/**
 * GET /nodes/{node}/apt/repositories as pve-manager's API2/APT.pm answers it through
 * proxmox-apt's list_repositories: the parsed files of /etc/apt with their digests,
 * per file the suite warnings of check_suites and an "origin" info per repository,
 * and Proxmox's standard repositories with their status. The files are the ones a PVE
 * install has, written from the node's `aptRepositories`: deb822 `.sources` files on
 * trixie (PVE 9), one-line `.list` files on bookworm (PVE 8), each standard repository
 * in the file PVE's own "Add" puts it in (proxmox-apt repositories/standard.rs), plus
 * the node's `aptExtraRepositories`.
 *
 * GET /nodes/{node}/apt/versions as API2/APT.pm's `versions` lists the important
 * packages: proxmox-ve (with the running kernel), pve-manager (with the running
 * version), the installed kernels newest first, then the others by name.
 */
import { createHash } from "node:crypto";
import {
  APT_REPOSITORY_HANDLES,
  KERNEL_RELEASE,
  type AptRepositoryHandle,
  type NodeSpec,
} from "../scenario.js";
import { param, route, type Route, type RouteContext } from "./route.js";

type Suite = "trixie" | "bookworm";
type FileType = "list" | "sources";
type Configured = NonNullable<NodeSpec["aptRepositories"]>;

interface Repository {
  types: ("deb" | "deb-src")[];
  uris: string[];
  suites: string[];
  components: string[];
  options: { Key: string; Values: string[] }[];
  comment: string;
  enabled: boolean;
}

interface SourcesFile {
  path: string;
  fileType: FileType;
  repositories: Repository[];
}

const ENTERPRISE_URI = "https://enterprise.proxmox.com/debian";
const DOWNLOAD_URI = "http://download.proxmox.com/debian";
const PROXMOX_KEYRING = "/usr/share/keyrings/proxmox-archive-keyring.gpg";
const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
const CEPH_HANDLE = /^ceph-([a-z]+)-(enterprise|no-subscription|test)$/;
const CHANNEL_NAMES: Record<string, string> = {
  enterprise: "Enterprise",
  "no-subscription": "No-Subscription",
  test: "Test",
};
const PVE_DESCRIPTIONS: Record<string, string> = {
  enterprise:
    "This is the default, stable, and recommended repository, available for all Proxmox subscription users.",
  "no-subscription":
    "This is the recommended repository for testing and non-production use. Its packages are not as heavily tested and validated as the production ready enterprise repository. You don't need a subscription key to access this repository.",
  test: "This repository contains the latest packages and is primarily used for test labs and by developers to test new features.",
};

/** proxmox-apt offers Ceph Squid only on trixie; bookworm (PVE 8.4) also Quincy and Reef. */
const OFFERED: Record<Suite, readonly AptRepositoryHandle[]> = {
  trixie: APT_REPOSITORY_HANDLES.filter((h) => !/^ceph-(quincy|reef)-/.test(h)),
  bookworm: APT_REPOSITORY_HANDLES,
};

/** A fresh install: pve-manager ships pve-enterprise, the installer adds the Ceph enterprise repository. */
function stockRepositories(suite: Suite): Configured {
  return {
    enterprise: true,
    [suite === "trixie" ? "ceph-squid-enterprise" : "ceph-quincy-enterprise"]: true,
  };
}

function suiteOf(ctx: RouteContext, node: NodeSpec): Suite {
  return Number.parseInt(ctx.cluster.pveVersionOf(node).version, 10) >= 9 ? "trixie" : "bookworm";
}

/**
 * PVE 8 mode over a PVE 9 scenario answers a stock 8.4 node: what the scenario says of one
 * release's files and packages (the Debian security entry, extra repository lines,
 * installed kernels) is not that node's.
 */
function isStock(ctx: RouteContext, node: NodeSpec): boolean {
  return ctx.cluster.pveVersionOf(node).version !== node.pveManager;
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function standardName(handle: AptRepositoryHandle): string {
  const ceph = CEPH_HANDLE.exec(handle);
  return ceph ? `Ceph ${capitalized(ceph[1]!)} ${CHANNEL_NAMES[ceph[2]!]}` : CHANNEL_NAMES[handle]!;
}

function standardDescription(handle: AptRepositoryHandle): string {
  const ceph = CEPH_HANDLE.exec(handle);
  if (!ceph) return PVE_DESCRIPTIONS[handle]!;
  const release = capitalized(ceph[1]!);
  if (ceph[2] === "enterprise")
    return `This repository holds the production-ready Proxmox Ceph ${release} packages.`;
  if (ceph[2] === "test") {
    return `This repository contains the Ceph ${release} packages before they are moved to the main repository.`;
  }
  const noSubscription = `This repository holds the Proxmox Ceph ${release} packages intended for non-production use.`;
  return release === "Quincy"
    ? `${noSubscription} The deprecated 'main' repository is an alias for this in Proxmox VE 8.`
    : noSubscription;
}

/** The repository a handle stands for, and the file PVE adds it to. */
function standardRepository(
  handle: AptRepositoryHandle,
  suite: Suite,
  enabled: boolean,
): { path: string; repository: Repository } {
  const sources = suite === "trixie";
  const extension = sources ? "sources" : "list";
  const ceph = CEPH_HANDLE.exec(handle);
  const channel = ceph ? ceph[2]! : handle;
  const base = channel === "enterprise" ? ENTERPRISE_URI : DOWNLOAD_URI;
  const [uri, component, path] = ceph
    ? [`${base}/ceph-${ceph[1]}`, channel, `/etc/apt/sources.list.d/ceph.${extension}`]
    : handle === "enterprise"
      ? [`${base}/pve`, "pve-enterprise", `/etc/apt/sources.list.d/pve-enterprise.${extension}`]
      : [
          `${base}/pve`,
          handle === "test" ? (sources ? "pve-test" : "pvetest") : "pve-no-subscription",
          sources ? "/etc/apt/sources.list.d/proxmox.sources" : "/etc/apt/sources.list",
        ];
  // Trixie entries carry Signed-By; disabling one in a deb822 file writes "Enabled: false".
  const options = sources ? [{ Key: "Signed-By", Values: [PROXMOX_KEYRING] }] : [];
  if (sources && !enabled) options.push({ Key: "Enabled", Values: ["false"] });
  return {
    path,
    repository: {
      types: ["deb"],
      uris: [uri],
      suites: [suite],
      components: [component],
      options,
      comment: "",
      enabled,
    },
  };
}

/** Debian's repositories as the PVE installer writes them, the security one as the node says. */
function debianFile(suite: Suite, security: NodeSpec["aptDebianSecurity"]): SourcesFile {
  const sources = suite === "trixie";
  const repository = (
    uri: string,
    suites: string[],
    components: string[],
    comment = "",
    enabled = true,
  ): Repository => {
    const options = sources ? [{ Key: "Signed-By", Values: [DEBIAN_KEYRING] }] : [];
    if (sources && !enabled) options.push({ Key: "Enabled", Values: ["false"] });
    return { types: ["deb"], uris: [uri], suites, components, options, comment, enabled };
  };
  const securityEnabled = security === "enabled";
  if (sources) {
    const components = ["main", "contrib", "non-free-firmware"];
    const repositories = [
      repository("http://deb.debian.org/debian/", ["trixie", "trixie-updates"], components),
    ];
    if (security !== "absent") {
      repositories.push(
        repository(
          "http://security.debian.org/debian-security/",
          ["trixie-security"],
          components,
          "",
          securityEnabled,
        ),
      );
    }
    return { path: "/etc/apt/sources.list.d/debian.sources", fileType: "sources", repositories };
  }
  const repositories = [
    repository("http://ftp.debian.org/debian", ["bookworm"], ["main", "contrib"]),
    repository("http://ftp.debian.org/debian", ["bookworm-updates"], ["main", "contrib"]),
  ];
  if (security !== "absent") {
    repositories.push(
      repository(
        "http://security.debian.org",
        ["bookworm-security"],
        ["main", "contrib"],
        " security updates\n",
        securityEnabled,
      ),
    );
  }
  return { path: "/etc/apt/sources.list", fileType: "list", repositories };
}

/** A scenario's extra entry as proxmox-apt parses it from its file. */
function extraRepository(extra: NodeSpec["aptExtraRepositories"][number]): Repository {
  const options =
    extra.path.endsWith(".sources") && !extra.enabled ? [{ Key: "Enabled", Values: ["false"] }] : [];
  return {
    types: extra.types,
    uris: extra.uris,
    suites: extra.suites,
    components: extra.components,
    options,
    comment: extra.comment ?? "",
    enabled: extra.enabled,
  };
}

function sourcesFiles(node: NodeSpec, configured: Configured, suite: Suite, stock: boolean): SourcesFile[] {
  const fileType: FileType = suite === "trixie" ? "sources" : "list";
  const files = [debianFile(suite, stock ? "enabled" : node.aptDebianSecurity)];
  const add = (path: string, type: FileType, repository: Repository) => {
    const file = files.find((f) => f.path === path);
    if (file) file.repositories.push(repository);
    // proxmox-apt reads /etc/apt/sources.list before the files of sources.list.d.
    else if (path === "/etc/apt/sources.list")
      files.unshift({ path, fileType: type, repositories: [repository] });
    else files.push({ path, fileType: type, repositories: [repository] });
  };
  for (const handle of APT_REPOSITORY_HANDLES) {
    const enabled = configured[handle];
    if (enabled === undefined) continue;
    const { path, repository } = standardRepository(handle, suite, enabled);
    add(path, fileType, repository);
  }
  for (const extra of stock ? [] : node.aptExtraRepositories) {
    add(extra.path, extra.path.endsWith(".sources") ? "sources" : "list", extraRepository(extra));
  }
  return files;
}

/** The file's text as proxmox-apt writes it (each entry followed by a blank line): its digest is over these bytes. */
function fileText(file: SourcesFile): string {
  return file.repositories
    .map((r) => {
      const comment = r.comment
        .split("\n")
        .filter(Boolean)
        .map((line) => `#${line}\n`)
        .join("");
      if (file.fileType === "list") {
        const line = [r.types[0], r.uris[0], r.suites[0], ...r.components].join(" ");
        return `${comment}${r.enabled ? "" : "# "}${line}\n\n`;
      }
      const fields: [string, string[]][] = [
        ["Types", r.types],
        ["URIs", r.uris],
        ["Suites", r.suites],
        ["Components", r.components],
        ...r.options.map((o): [string, string[]] => [o.Key, o.Values]),
      ];
      return `${comment}${fields.map(([key, values]) => `${key}: ${values.join(" ")}\n`).join("")}\n`;
    })
    .join("");
}

function sha256(data: string | Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

/** check_uris: an origin per repository (Debian or Proxmox here, by the URI's host). */
function originOf(uri: string): string {
  return /^https?:\/\/([^/]+\.)?proxmox\.com(\/|$)/.test(uri) ? "Proxmox" : "Debian";
}

/** proxmox-apt's DebianCodename, oldest first: "sid" and the aliases are no codenames. */
const DEBIAN_CODENAMES = [
  "lenny",
  "squeeze",
  "wheezy",
  "jessie",
  "stretch",
  "buster",
  "bullseye",
  "bookworm",
  "trixie",
  "forky",
];

interface Info {
  path: string;
  index: number;
  property?: string;
  kind: string;
  message: string;
}

/** security.debian.org, with or without its /debian-security directory. */
function isSecurityUri(uri: string): boolean {
  const host = uri
    .replace(/\/+$/, "")
    .replace(/debian-security$/, "")
    .replace(/\/+$/, "");
  return host === "http://security.debian.org" || host === "https://security.debian.org";
}

/**
 * check_suites of proxmox-apt's file.rs, for every entry with type deb, enabled or not:
 * suites older than the node's release, the next release (a warning PVE's GUI hides
 * during a major upgrade), later ones and the unstable aliases, "stable", and a security
 * repository without the release's -security suite.
 */
function suiteInfos(file: SourcesFile, current: Suite): Info[] {
  const infos: Info[] = [];
  const currentIndex = DEBIAN_CODENAMES.indexOf(current);
  file.repositories.forEach((repository, index) => {
    if (!repository.types.includes("deb")) return;
    const add = (kind: string, message: string) =>
      infos.push({ path: file.path, index, property: "Suites", kind, message });
    const requiredSuffix = repository.uris.some(isSecurityUri)
      ? currentIndex >= DEBIAN_CODENAMES.indexOf("bullseye")
        ? "-security"
        : "/updates"
      : undefined;
    for (const suite of repository.suites) {
      const split = suite.search(/[-/]/);
      const [base, suffix] = split < 0 ? [suite, ""] : [suite.slice(0, split), suite.slice(split)];
      if (base === "oldoldstable" || base === "oldstable") {
        add("warning", `old suite '${base}' configured!`);
      } else if (["testing", "unstable", "experimental", "sid"].includes(base)) {
        add("warning", `suite '${base}' should not be used in production!`);
      } else if (base === "stable") {
        add("warning", "use the name of the stable distribution instead of 'stable'!");
      }
      const n = DEBIAN_CODENAMES.indexOf(base);
      if (n < 0) continue;
      if (n < currentIndex) add("warning", `old suite '${base}' configured!`);
      if (n === currentIndex + 1) {
        add("ignore-pre-upgrade-warning", `suite '${base}' should not be used in production!`);
      } else if (n > currentIndex) {
        add("warning", `suite '${base}' should not be used in production!`);
      }
      if (requiredSuffix !== undefined && suffix !== requiredSuffix) {
        add("warning", `expected suite '${current}${requiredSuffix}'`);
      }
    }
  });
  return infos;
}

function repositories(ctx: RouteContext): unknown {
  const node = ctx.cluster.nodes.get(param.str(ctx, "node"))!;
  const suite = suiteOf(ctx, node);
  const configured = node.aptRepositories ?? stockRepositories(suite);
  const files = sourcesFiles(node, configured, suite, isStock(ctx, node));
  const digests = new Map(files.map((f) => [f.path, sha256(fileText(f))]));
  // The common digest hashes the file digests in path order.
  const common = sha256(Buffer.concat([...digests.keys()].sort().map((path) => digests.get(path)!)));
  return {
    errors: [],
    "standard-repos": OFFERED[suite].map((handle) => {
      const entry: Record<string, unknown> = { handle };
      if (configured[handle] !== undefined) entry["status"] = configured[handle];
      entry["name"] = standardName(handle);
      entry["description"] = standardDescription(handle);
      return entry;
    }),
    infos: files.flatMap((f) => [
      ...suiteInfos(f, suite),
      ...f.repositories.map((r, index) => ({
        path: f.path,
        index,
        kind: "origin",
        message: originOf(r.uris[0]!),
      })),
    ]),
    files: files.map((f) => ({
      path: f.path,
      "file-type": f.fileType,
      repositories: f.repositories.map((r) => {
        const entry: Record<string, unknown> = {
          Types: r.types,
          URIs: r.uris,
          Suites: r.suites,
          Components: r.components,
        };
        if (r.options.length > 0) entry["Options"] = r.options;
        if (r.comment) entry["Comment"] = r.comment;
        entry["FileType"] = f.fileType;
        entry["Enabled"] = r.enabled;
        return entry;
      }),
      digest: [...digests.get(f.path)!],
    })),
    digest: common.toString("hex"),
  };
}

/**
 * A package of the versions list: name, installed version on PVE 9.1 and on PVE 8.4 (null:
 * not there), section, architecture, title.
 */
type PackageRow = [string, string | null, string | null, string, "all" | "amd64", string];

/**
 * The packages API2/APT.pm lists after the kernels (its fixed list and the optional ones
 * a PVE install has), by name. On trixie, libknet1 and libqb0 are t64 packages under
 * other names, so PVE 9 finds and lists neither.
 */
const PACKAGES: PackageRow[] = [
  [
    "ceph-fuse",
    "19.2.3-pve2",
    "17.2.8-pve2",
    "admin",
    "amd64",
    "FUSE-based client for the Ceph distributed file system",
  ],
  ["corosync", "3.1.9-pve2", "3.1.9-pve1", "admin", "amd64", "cluster engine daemon and utilities"],
  [
    "ifupdown2",
    "3.3.0-1+pmx11",
    "3.2.0-1+pmx11",
    "admin",
    "all",
    "Network Interface Management tool similar to ifupdown",
  ],
  ["ksm-control-daemon", "1.5-1", "1.5-1", "admin", "all", "Kernel Samepage Merging (KSM) Tuning Daemon"],
  ["libjs-extjs", "7.0.0-5", "7.0.0-5", "web", "all", "cross-browser JavaScript library"],
  ["libknet1", null, "1.30-pve2", "libs", "amd64", "kronosnet core switching implementation"],
  ["libproxmox-acme-perl", "1.7.0", "1.6.0", "perl", "all", "ACME client library for perl"],
  [
    "libproxmox-backup-qemu0",
    "2.0.1",
    "1.5.1",
    "libs",
    "amd64",
    "Proxmox Backup Server client library for QEMU",
  ],
  [
    "libproxmox-rs-perl",
    "0.4.1",
    "0.3.5",
    "perl",
    "amd64",
    "PVE/PMG common perl parts for Rust perlmod bindings",
  ],
  ["libpve-access-control", "9.0.4", "8.2.2", "perl", "all", "Proxmox VE access control library"],
  ["libpve-apiclient-perl", "3.4.2", "3.3.2", "perl", "all", "Proxmox VE API client library"],
  [
    "libpve-cluster-api-perl",
    "9.0.7",
    "8.1.2",
    "perl",
    "all",
    "Proxmox Virtual Environment cluster Perl API modules.",
  ],
  [
    "libpve-cluster-perl",
    "9.0.7",
    "8.1.2",
    "perl",
    "all",
    "Proxmox Virtual Environment cluster Perl modules.",
  ],
  ["libpve-common-perl", "9.0.15", "8.3.4", "perl", "all", "Proxmox VE base library"],
  ["libpve-guest-common-perl", "6.0.2", "5.2.2", "perl", "all", "Proxmox VE common guest-related modules"],
  [
    "libpve-http-server-perl",
    "6.0.5",
    "5.2.2",
    "perl",
    "all",
    "Proxmox Asynchrounous HTTP Server Implementation",
  ],
  [
    "libpve-network-perl",
    "1.2.3",
    "0.11.2",
    "perl",
    "all",
    "Proxmox VE's SDN (Software Defined Network) stack",
  ],
  ["libpve-notify-perl", "9.0.7", "8.1.2", "perl", "all", "Notify helper module."],
  [
    "libpve-rs-perl",
    "0.11.3",
    "0.9.4",
    "perl",
    "amd64",
    "Components of Proxmox VE which have been ported to Rust",
  ],
  ["libpve-storage-perl", "9.1.0", "8.3.7", "perl", "all", "Proxmox VE storage management library"],
  ["libqb0", null, "1.0.5-1", "libs", "amd64", "high performance client server features library"],
  [
    "libspice-server1",
    "0.15.2-1+b1",
    "0.15.1-1",
    "libs",
    "amd64",
    "Implements the server side of the SPICE protocol",
  ],
  ["lvm2", "2.03.31-2+pmx1", "2.03.16-2", "admin", "amd64", "Linux Logical Volume Manager"],
  ["lxc-pve", "6.0.5-3", "6.0.0-1", "admin", "amd64", "Linux containers userspace tools"],
  ["lxcfs", "6.0.4-pve1", "6.0.0-pve2", "admin", "amd64", "FUSE based filesystem for LXC"],
  ["novnc-pve", "1.6.0-3", "1.6.0-2", "web", "all", "HTML5 VNC client"],
  ["proxmox-backup-client", "4.0.20-1", "3.4.7-1", "admin", "amd64", "Proxmox Backup Client tools"],
  [
    "proxmox-backup-file-restore",
    "4.0.20-1",
    "3.4.7-1",
    "admin",
    "amd64",
    "Proxmox Backup single file restore tools for pxar and block device backups",
  ],
  [
    "proxmox-backup-restore-image",
    "1.0.0",
    "0.7.0",
    "admin",
    "amd64",
    "Kernel/initramfs images for Proxmox Backup single-file restore.",
  ],
  [
    "proxmox-firewall",
    "1.2.1",
    "0.7.1",
    "admin",
    "amd64",
    "Proxmox's nftables-based firewall written in rust",
  ],
  [
    "proxmox-kernel-helper",
    "9.0.4",
    "8.1.4",
    "admin",
    "all",
    "Function for various kernel maintenance tasks.",
  ],
  ["proxmox-mail-forward", "1.0.2", "0.3.3", "admin", "amd64", "Proxmox mail forward helper"],
  ["proxmox-mini-journalreader", "1.6", "1.5", "admin", "amd64", "Minimal systemd Journal Reader"],
  [
    "proxmox-offline-mirror-helper",
    "0.7.3",
    "0.6.7",
    "admin",
    "amd64",
    "Proxmox offline repository mirror and subscription key manager (helper)",
  ],
  [
    "proxmox-widget-toolkit",
    "5.1.2",
    "4.3.13",
    "web",
    "all",
    "Core Widgets and ExtJS Helper Classes for Proxmox Web UIs",
  ],
  [
    "pve-cluster",
    "9.0.7",
    "8.1.2",
    "admin",
    "amd64",
    '"pmxcfs" distributed cluster filesystem for Proxmox Virtual Environment.',
  ],
  ["pve-container", "6.0.18", "5.3.3", "admin", "all", "Proxmox VE Container management tool"],
  ["pve-docs", "9.1.1", "8.4.1", "doc", "all", "Proxmox VE Documentation"],
  [
    "pve-edk2-firmware",
    "4.2025.05-2",
    "4.2025.02-4",
    "misc",
    "all",
    "edk2 based UEFI firmware modules for virtual machines",
  ],
  [
    "pve-esxi-import-tools",
    "1.0.1",
    "0.7.4",
    "admin",
    "amd64",
    "Tools to allow importing VMs from ESXi hosts",
  ],
  ["pve-firewall", "6.0.4", "5.1.2", "admin", "amd64", "Proxmox VE Firewall"],
  ["pve-firmware", "3.17-2", "3.16-3", "misc", "all", "Binary firmware code for the pve-kernel"],
  ["pve-ha-manager", "5.0.8", "4.0.7", "perl", "amd64", "Proxmox VE HA Manager"],
  ["pve-i18n", "3.6.2", "3.4.5", "perl", "all", "Internationalization support for Proxmox VE"],
  ["pve-qemu-kvm", "10.1.2-4", "9.2.0-7", "admin", "amd64", "Full virtualization on x86 hardware"],
  ["pve-xtermjs", "5.5.0-3", "5.5.0-2", "admin", "amd64", "HTML/JS Shell client for Proxmox projects"],
  ["qemu-server", "9.1.0", "8.4.4", "admin", "amd64", "Qemu Server Tools"],
  [
    "smartmontools",
    "7.4-pve1",
    "7.3-pve1",
    "utils",
    "amd64",
    "control and monitor storage systems using S.M.A.R.T.",
  ],
  ["spiceterm", "3.4.1", "3.3.1", "admin", "amd64", "SPICE Terminal Emulator"],
  ["swtpm", "0.8.0+pve3", "0.8.0+pve1", "misc", "amd64", "Libtpms-based TPM emulator"],
  ["vncterm", "1.9.1", "1.8.1", "x11", "amd64", "VNC Terminal Emulator"],
  [
    "zfsutils-linux",
    "2.3.4-pve1",
    "2.2.8-pve1",
    "admin",
    "amd64",
    "command-line tools to manage OpenZFS filesystems",
  ],
];

/** Debian version order for the versions in this list: numbers numerically, the rest by character. */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.match(/\d+|[^\d]+/g) ?? [];
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [p, q] = [x[i] ?? "", y[i] ?? ""];
    const numeric = /^\d/.test(p) && /^\d/.test(q);
    const order = numeric ? Number(p) - Number(q) : p < q ? -1 : p > q ? 1 : 0;
    if (order !== 0) return order;
  }
  return 0;
}

/** The one package of the list Debian builds; Proxmox builds the rest. */
const DEBIAN_PACKAGES = new Set(["libspice-server1"]);

interface VersionsEntry {
  Package: string;
  Title: string;
  Description: string;
  Section: string;
  Arch: "all" | "amd64";
}

function versions(ctx: RouteContext): unknown[] {
  const node = ctx.cluster.nodes.get(param.str(ctx, "node"))!;
  const pve = ctx.cluster.pveVersionOf(node);
  const stock = isStock(ctx, node);
  const pve9 = Number.parseInt(pve.version, 10) >= 9;
  const candidates = new Map(stock ? [] : node.aptUpdates.map((u) => [u.Package, u]));
  const entry = (p: VersionsEntry, installed: string): Record<string, unknown> => {
    const update = candidates.get(p.Package);
    return {
      Package: p.Package,
      Title: p.Title,
      Origin: update?.Origin ?? (DEBIAN_PACKAGES.has(p.Package) ? "Debian" : "Proxmox"),
      Description: p.Description,
      Section: p.Section,
      Arch: p.Arch,
      Priority: "optional",
      Version: update?.Version ?? installed,
      OldVersion: installed,
      CurrentState: "Installed",
    };
  };

  const [major, minor] = pve.version.split(".");
  const list: Record<string, unknown>[] = [
    {
      ...entry(
        {
          Package: "proxmox-ve",
          Title: "Proxmox Virtual Environment",
          Description:
            "The Proxmox Virtual Environment is an easy to use Open Source virtualization platform for running Virtual Appliances and Virtual Machines. This is a meta package which will install everything needed.",
          Section: "admin",
          Arch: "all",
        },
        `${major}.${minor}.0`,
      ),
      RunningKernel: pve.kernel,
    },
    {
      ...entry(
        {
          Package: "pve-manager",
          Title: "Proxmox Virtual Environment Management Tools",
          Description: "This package contains the Proxmox Virtual Environment management tools.",
          Section: "admin",
          Arch: "all",
        },
        pve.version,
      ),
      ManagerVersion: `${pve.version}/${pve.repoid}`,
    },
  ];

  // Every installed package named pve-kernel-* or proxmox-kernel-*, newest first: the kernels,
  // the series' meta packages and the helper (which the optional list names once more).
  const releases = [...new Set([pve.kernel, ...(stock ? [] : node.installedKernels)])];
  const kernels: [VersionsEntry, string][] = releases.map((release) => {
    const version = release.replace(/-pve$/, "");
    return [
      {
        Package: `proxmox-kernel-${release}-signed`,
        Title: "Proxmox Kernel Image (signed)",
        Description:
          "This package contains the Linux kernel (vmlinuz), modules and corresponding other files signed for use with secure boot.",
        Section: "kernel",
        Arch: "amd64",
      },
      version,
    ];
  });
  const series = new Map<string, string>();
  for (const release of releases) {
    const m = KERNEL_RELEASE.exec(release);
    if (!m) continue;
    const name = `${m[1]}.${m[2]}`;
    const version = release.replace(/-pve$/, "");
    if (!series.has(name) || compareVersions(version, series.get(name)!) > 0) series.set(name, version);
  }
  for (const [name, version] of series) {
    kernels.push([
      {
        Package: `proxmox-kernel-${name}`,
        Title: "Latest Proxmox Kernel Image",
        Description: `This is a meta package and will install the latest kernel from the ${name} series.`,
        Section: "admin",
        Arch: "all",
      },
      version,
    ]);
  }
  const installed = PACKAGES.flatMap((row): [VersionsEntry, string][] => {
    const version = pve9 ? row[1] : row[2];
    if (version === null) return [];
    const title = row[5];
    const description = `${title.charAt(0).toUpperCase()}${title.slice(1).replace(/\.$/, "")}.`;
    return [
      [{ Package: row[0], Title: title, Description: description, Section: row[3], Arch: row[4] }, version],
    ];
  });
  kernels.push(installed.find(([p]) => p.Package === "proxmox-kernel-helper")!);
  // A series' meta package sorts after its kernel of the same version, as PVE's answers show them.
  const meta = (p: VersionsEntry) => Number(p.Section !== "kernel");
  kernels.sort(([a, x], [b, y]) => compareVersions(y, x) || meta(a) - meta(b));
  list.push(...kernels.map(([p, version]) => entry(p, version)));
  list.push(...installed.map(([p, version]) => entry(p, version)));
  return list;
}

export const aptRoutes: Route[] = [
  route("GET /nodes/{node}/apt/repositories", repositories),
  route("GET /nodes/{node}/apt/versions", versions),
];
