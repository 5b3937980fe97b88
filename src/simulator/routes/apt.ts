/**
 * GET /nodes/{node}/apt/repositories as pve-manager's API2/APT.pm answers it through
 * proxmox-apt's list_repositories: the parsed files of /etc/apt with their digests,
 * an "origin" info per repository, and Proxmox's standard repositories with their
 * status. The files are the ones a PVE install has, written from the node's
 * `aptRepositories`: deb822 `.sources` files on trixie (PVE 9), one-line `.list`
 * files on bookworm (PVE 8), each standard repository in the file PVE's own
 * "Add" puts it in (proxmox-apt repositories/standard.rs).
 */
import { createHash } from "node:crypto";
import { APT_REPOSITORY_HANDLES, type AptRepositoryHandle, type NodeSpec } from "../scenario.js";
import { param, route, type Route, type RouteContext } from "./route.js";

type Suite = "trixie" | "bookworm";
type FileType = "list" | "sources";
type Configured = NonNullable<NodeSpec["aptRepositories"]>;

interface Repository {
  types: string[];
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

/** Debian's repositories as the PVE installer writes them. */
function debianFile(suite: Suite): SourcesFile {
  const repository = (uri: string, suites: string[], components: string[], comment = ""): Repository => ({
    types: ["deb"],
    uris: [uri],
    suites,
    components,
    options: suite === "trixie" ? [{ Key: "Signed-By", Values: [DEBIAN_KEYRING] }] : [],
    comment,
    enabled: true,
  });
  if (suite === "trixie") {
    const components = ["main", "contrib", "non-free-firmware"];
    return {
      path: "/etc/apt/sources.list.d/debian.sources",
      fileType: "sources",
      repositories: [
        repository("http://deb.debian.org/debian/", ["trixie", "trixie-updates"], components),
        repository("http://security.debian.org/debian-security/", ["trixie-security"], components),
      ],
    };
  }
  return {
    path: "/etc/apt/sources.list",
    fileType: "list",
    repositories: [
      repository("http://ftp.debian.org/debian", ["bookworm"], ["main", "contrib"]),
      repository("http://ftp.debian.org/debian", ["bookworm-updates"], ["main", "contrib"]),
      repository(
        "http://security.debian.org",
        ["bookworm-security"],
        ["main", "contrib"],
        " security updates\n",
      ),
    ],
  };
}

function sourcesFiles(configured: Configured, suite: Suite): SourcesFile[] {
  const fileType: FileType = suite === "trixie" ? "sources" : "list";
  const files = [debianFile(suite)];
  for (const handle of APT_REPOSITORY_HANDLES) {
    const enabled = configured[handle];
    if (enabled === undefined) continue;
    const { path, repository } = standardRepository(handle, suite, enabled);
    const file = files.find((f) => f.path === path);
    if (file) file.repositories.push(repository);
    else files.push({ path, fileType, repositories: [repository] });
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
        return `${comment}${r.enabled ? "" : "# "}${r.types[0]} ${r.uris[0]} ${r.suites[0]} ${r.components.join(" ")}\n\n`;
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

function repositories(ctx: RouteContext): unknown {
  const node = ctx.cluster.nodes.get(param.str(ctx, "node"))!;
  const suite = suiteOf(ctx, node);
  const configured = node.aptRepositories ?? stockRepositories(suite);
  const files = sourcesFiles(configured, suite);
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
    infos: files.flatMap((f) =>
      f.repositories.map((r, index) => ({
        path: f.path,
        index,
        kind: "origin",
        message: originOf(r.uris[0]!),
      })),
    ),
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

export const aptRoutes: Route[] = [route("GET /nodes/{node}/apt/repositories", repositories)];
