/**
 * Whether updates arrive from where they should and take effect: APT entries of an older
 * Debian release left behind by an upgrade, no Debian security repository, test
 * repositories, nodes of one cluster on different versions, and a newer kernel installed
 * but not booted. The repositories are GET /nodes/{node}/apt/repositories, the answer the
 * subscription check reads too (one request per node per run), with proxmox-apt's own
 * suite warnings in `infos`; the packages are GET /nodes/{node}/apt/versions. One read per
 * online node each; an offline node is skipped (node-offline reports it).
 */
import { REFERENCES } from "../references.js";
import { isOn, perNode } from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";
import { cleanText } from "../../untrusted.js";

interface AptRepository {
  Types?: string[];
  URIs?: string[];
  Suites?: string[];
  Components?: string[];
  Enabled?: boolean | number;
}

/** proxmox-apt's APTRepositoryInfo: `index` is a number in the answer, a string in PVE's schema. */
interface AptRepositoryInfo {
  path?: string;
  index?: number | string;
  property?: string;
  kind?: string;
  message?: string;
}

interface AptRepositories {
  files?: { path?: string; repositories?: AptRepository[] }[];
  infos?: AptRepositoryInfo[];
  "standard-repos"?: { handle?: string; status?: boolean | number; name?: string }[];
}

/** One entry of a repository file, with what proxmox-apt said about it. */
interface Entry {
  /** Cleaned: PVE reports it, the node's admin named the file. */
  path: string;
  repository: AptRepository;
  infos: AptRepositoryInfo[];
}

/** An entry of GET /nodes/{node}/apt/versions. */
interface PackageVersion {
  Package?: string;
  CurrentState?: string;
  RunningKernel?: string;
}

/** The Debian release of each PVE major version, and its security suite. */
const CODENAMES: Record<number, string> = {
  4: "jessie",
  5: "stretch",
  6: "buster",
  7: "bullseye",
  8: "bookworm",
  9: "trixie",
};

function securitySuite(codename: string): string {
  return ["jessie", "stretch", "buster"].includes(codename) ? `${codename}/updates` : `${codename}-security`;
}

/** proxmox-apt's check_suites messages; the suite names are [a-z] words, safe in a command. */
const OLD_SUITE = /^old suite '([a-z]+)' configured!$/;
const NOT_FOR_PRODUCTION = /^suite '([a-z]+)' should not be used in production!$/;
/** proxmox-apt requires file names of ASCII letters, digits, _ - and . : anything else is not put in a command. */
const PLAIN_PATH = /^\/etc\/apt\/[A-Za-z0-9_./-]+$/;

const TEST_HANDLE = /^(?:test|ceph-([a-z]+)-test)$/;
const TEST_COMPONENT = /^(?:pvetest|pve-test)$/;

/** A version compared numerically part by part: 6.8.12-10 is newer than 6.8.12-4, 9.1.10 than 9.1.9. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split(/[.-]/).map(Number), b.split(/[.-]/).map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const order = (x[i] ?? 0) - (y[i] ?? 0);
    if (order !== 0) return order;
  }
  return 0;
}

/** A kernel Proxmox built, "6.17.2-1-pve", and its series "6.17". */
const KERNEL_RELEASE = /^(\d+\.\d+)\.\d+-\d+-pve$/;
/** proxmox-kernel-6.17.2-1-pve-signed, pve-kernel-5.15.158-2-pve: a kernel, not a series' meta package. */
const KERNEL_PACKAGE = /^(?:pve|proxmox)-kernel-(\d+\.\d+\.\d+-\d+-pve)(?:-signed)?$/;
const PLAIN_VERSION = /^\d+(?:\.\d+)+$/;

function repositoryAnswers(ctx: AuditContext) {
  return perNode<AptRepositories>(
    ctx,
    "/nodes/{node}/apt/repositories",
    (nodes) => `the update repositories of ${nodes}`,
    "Sys.Audit",
  );
}

function packageAnswers(ctx: AuditContext) {
  return perNode<PackageVersion[]>(
    ctx,
    "/nodes/{node}/apt/versions",
    (nodes) => `the kernels of ${nodes}`,
    "Sys.Audit",
  );
}

/** The Debian codename of the node's PVE release (any token may read the version). */
async function codenameOf(ctx: AuditContext, node: string): Promise<string | undefined> {
  const { version } = await ctx.get<{ version?: string }>("/nodes/{node}/version", { node });
  return CODENAMES[Number.parseInt(String(version ?? ""), 10)];
}

function entriesOf(data: AptRepositories): Entry[] {
  const infos = data.infos ?? [];
  return (data.files ?? []).flatMap((file) =>
    (file.repositories ?? []).map((repository, index) => ({
      path: cleanText(file.path ?? "?", 120),
      repository,
      infos: infos.filter((i) => i.path === file.path && Number(i.index) === index),
    })),
  );
}

const isBinary = (r: AptRepository) => r.Types === undefined || r.Types.includes("deb");

/** What proxmox-apt says about the entry's suites, matched by `pattern`: the suite names. */
function suiteWarnings(entry: Entry, pattern: RegExp): string[] {
  return entry.infos
    .filter((i) => i.property === "Suites" && i.kind !== "origin")
    .flatMap((i) => pattern.exec(i.message ?? "")?.[1] ?? []);
}

/** "http://ftp.debian.org/debian bookworm main contrib": an entry as one line of evidence. */
function describe(r: AptRepository): string {
  return cleanText(
    [...(r.URIs ?? []).slice(0, 1), ...(r.Suites ?? []), ...(r.Components ?? [])].join(" "),
    160,
  );
}

function firstOf(items: string[], max: number, separator = "; "): string {
  return `${items.slice(0, max).join(separator)}${items.length > max ? ` (+${items.length - max} more)` : ""}`;
}

/** How to switch an entry off or on by hand: deb822 files take "Enabled: false", one-line files a "#". */
function disableStep(path: string): string {
  return path.endsWith(".sources")
    ? `add "Enabled: false" to its entry in ${path}`
    : `comment out its line in ${path}`;
}

function disableAllStep(path: string): string {
  return path.endsWith(".sources")
    ? `add "Enabled: false" to those entries in ${path}`
    : `comment out those lines in ${path}`;
}

function enableStep(path: string): string {
  return path.endsWith(".sources")
    ? `remove "Enabled: false" from its entry in ${path}`
    : `remove the "#" before its line in ${path}`;
}

/** Per node, in node order, whatever order the nodes were looked at in. */
async function perNodeFindings<T>(
  ctx: AuditContext,
  answers: { node: string; data: T }[],
  fn: (node: string, data: T) => Promise<CheckFinding[]>,
): Promise<CheckFinding[]> {
  const byNode = new Map<string, CheckFinding[]>();
  await ctx.each(
    answers,
    ({ node }) => `node ${node}`,
    async ({ node, data }) => {
      byNode.set(node, await fn(node, data));
    },
  );
  return answers.flatMap(({ node }) => byNode.get(node) ?? []);
}

export const aptOldSuite = defineCheck({
  id: "apt-old-suite",
  code: "PVE-UPD-004",
  references: [REFERENCES.repositories, REFERENCES.packageRepositoriesWiki],
  severity: "medium",
  title: "APT repositories of an older Debian release than the node's (left behind by an upgrade)",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    return perNodeFindings(ctx, await repositoryAnswers(ctx), async (node, data) => {
      const codename = await codenameOf(ctx, node);
      const byFile = new Map<string, { suites: Set<string>; lines: string[] }>();
      for (const entry of entriesOf(data)) {
        if (!isOn(entry.repository.Enabled)) continue;
        const old = suiteWarnings(entry, OLD_SUITE);
        if (old.length === 0) continue;
        const file = byFile.get(entry.path) ?? { suites: new Set<string>(), lines: [] };
        for (const suite of old) file.suites.add(suite);
        file.lines.push(describe(entry.repository));
        byFile.set(entry.path, file);
      }
      return [...byFile].map(([path, { suites, lines }]) => {
        const old = [...suites];
        const release = codename ? ` (the node runs ${codename})` : "";
        const pattern = old.length === 1 ? old[0] : `(${old.join("|")})`;
        const sed = `sed -i${old.length === 1 ? "" : " -E"} 's/\\b${pattern}\\b/${codename}/g' ${path}`;
        return {
          check: "apt-old-suite",
          severity: "medium",
          title: `${path} on ${node} has enabled entries for ${old.join(", ")}${release}`,
          object: `${path} on ${node}`,
          evidence: `${lines.length} enabled entr${lines.length === 1 ? "y" : "ies"} of an older release: ${firstOf(lines, 3)}; apt mixes two Debian releases' packages`,
          remediation:
            codename && PLAIN_PATH.test(path)
              ? `on ${node}: ${sed} (or delete those entries if ${codename} ones are configured elsewhere), then apt update`
              : `change those entries in ${path} on ${node} to the node's release (or delete them), then apt update`,
        } satisfies CheckFinding;
      });
    });
  },
});

/** The entry to add for Debian's security repository, in the form of the node's release. */
function addSecurityStep(node: string, codename: string | undefined): string {
  if (!codename) {
    return `add Debian's security repository for the node's release (http://security.debian.org/debian-security, suite <codename>-security) on ${node}, then apt update`;
  }
  const suite = securitySuite(codename);
  if (codename === "trixie") {
    return `on ${node}, add to /etc/apt/sources.list.d/debian.sources the entry "Types: deb", "URIs: http://security.debian.org/debian-security", "Suites: ${suite}", "Components: main contrib non-free-firmware", "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" (one field per line, a blank line before it), then apt update`;
  }
  const components = codename === "bookworm" ? "main contrib non-free-firmware" : "main contrib";
  return `on ${node}: echo 'deb http://security.debian.org/debian-security ${suite} ${components}' >> /etc/apt/sources.list && apt update`;
}

export const aptNoSecurity = defineCheck({
  id: "apt-no-security",
  code: "PVE-UPD-005",
  references: [REFERENCES.repositories, REFERENCES.packageRepositoriesWiki],
  severity: "high",
  title: "No Debian security repository enabled (Debian's security fixes never arrive)",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    return perNodeFindings(ctx, await repositoryAnswers(ctx), async (node, data) => {
      const codename = await codenameOf(ctx, node);
      const wanted = codename ? securitySuite(codename) : undefined;
      const anySecurity = (suite: string) => /^[a-z]+(?:-security|\/updates)$/.test(suite);
      // A mirror counts: what matters is the suite. Of an unknown release, any security
      // suite proxmox-apt does not call old.
      const current = (entry: Entry, suite: string) =>
        wanted ? suite === wanted : anySecurity(suite) && suiteWarnings(entry, OLD_SUITE).length === 0;
      const entries = entriesOf(data).filter((e) => isBinary(e.repository));
      const security = entries.filter((e) => e.repository.Suites?.some((s) => current(e, s)));
      if (security.some((e) => isOn(e.repository.Enabled))) return [];

      // Security suites of an older release: no fixes for the packages this release has.
      const stale = entries
        .filter((e) => isOn(e.repository.Enabled))
        .flatMap((e) => {
          const old = suiteWarnings(e, OLD_SUITE);
          return (e.repository.Suites ?? [])
            .filter((suite) => anySecurity(suite) && old.includes(suite.split(/[-/]/)[0]!))
            .map((suite) => ({ e, suite }));
        });
      const disabled = security[0];
      const suiteText = wanted ?? "the release's -security suite";
      const consequence =
        "Debian's security fixes (openssl, openssh, the C library...) never arrive on this node";
      let evidence: string;
      let remediation: string;
      if (disabled) {
        evidence = `the ${suiteText} entry in ${disabled.path} is disabled: ${consequence}`;
        remediation = `${node} > Updates > Repositories: select that entry of ${disabled.path} and Enable (or ${enableStep(disabled.path)}), then apt update`;
      } else if (stale[0] && wanted) {
        const { e, suite } = stale[0];
        const old = cleanText(suite, 40);
        evidence = `only ${old} (an older release's) is enabled, in ${e.path}; no ${wanted}: ${consequence}`;
        remediation = `change ${old} to ${wanted} in ${e.path} on ${node}, then apt update`;
      } else {
        evidence = `no enabled entry with suite ${suiteText} in /etc/apt: ${consequence}`;
        remediation = addSecurityStep(node, codename);
      }
      return [
        {
          check: "apt-no-security",
          severity: "high",
          title: `No Debian security repository is enabled on ${node}`,
          object: node,
          evidence,
          remediation,
        },
      ];
    });
  },
});

/** The enabled entry behind a standard test handle, to name its file. */
function testEntry(entries: Entry[], handle: string): Entry | undefined {
  const ceph = TEST_HANDLE.exec(handle)?.[1];
  const uri = ceph
    ? new RegExp(`^https?://download\\.proxmox\\.com/debian/ceph-${ceph}/?$`)
    : /^https?:\/\/download\.proxmox\.com\/debian(?:\/pve)?\/?$/;
  return entries.find(
    ({ repository: r }) =>
      isOn(r.Enabled) &&
      r.URIs?.some((u) => uri.test(u)) &&
      r.Components?.some((c) => (ceph ? c === "test" : TEST_COMPONENT.test(c))),
  );
}

export const aptTestRepo = defineCheck({
  id: "apt-test-repo",
  code: "PVE-UPD-006",
  references: [REFERENCES.repositories, REFERENCES.packageRepositoriesWiki],
  severity: "medium",
  title: "Test repositories enabled (pvetest, Ceph test, Debian testing or the next release)",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    return perNodeFindings(ctx, await repositoryAnswers(ctx), async (node, data) => {
      const entries = entriesOf(data);
      const findings: CheckFinding[] = [];
      const standard = (data["standard-repos"] ?? []).filter(
        (r) => isOn(r.status) && TEST_HANDLE.test(String(r.handle)),
      );
      const handles = standard.map((r) => String(r.handle));
      // A mirror of pvetest is the test repository too, though PVE does not list it as one.
      const mirror = handles.includes("test")
        ? undefined
        : entries.find(
            (e) => isOn(e.repository.Enabled) && e.repository.Components?.some((c) => TEST_COMPONENT.test(c)),
          );
      const tests = [
        ...standard.map((r) => ({
          handle: String(r.handle),
          name: cleanText(r.name ?? String(r.handle), 60),
          entry: testEntry(entries, String(r.handle)),
        })),
        ...(mirror ? [{ handle: "test", name: "Test", entry: mirror }] : []),
      ];
      for (const { handle, name, entry } of tests) {
        const ceph = TEST_HANDLE.exec(handle)?.[1];
        const where = entry ? ` in ${entry.path} (${describe(entry.repository)})` : "";
        findings.push({
          check: "apt-test-repo",
          severity: "medium",
          title: `${name} repository enabled on ${node}`,
          object: `${cleanText(handle, 40)} repository on ${node}`,
          evidence: `enabled${where}: ${ceph ? "Ceph packages before they move to the main repository" : "Proxmox VE packages before they reach no-subscription or enterprise"}, not meant for production`,
          remediation: `disable it in ${node} > Updates > Repositories${entry ? ` (or ${disableStep(entry.path)})` : ""}, then apt update; what came from it stays installed until the regular repository has a newer version`,
        });
      }

      const codename = await codenameOf(ctx, node);
      const byFile = new Map<string, { suites: Set<string>; lines: string[] }>();
      for (const entry of entries) {
        if (!isOn(entry.repository.Enabled)) continue;
        const early = suiteWarnings(entry, NOT_FOR_PRODUCTION);
        if (early.length === 0) continue;
        const file = byFile.get(entry.path) ?? { suites: new Set<string>(), lines: [] };
        for (const suite of early) file.suites.add(suite);
        file.lines.push(describe(entry.repository));
        byFile.set(entry.path, file);
      }
      for (const [path, { suites, lines }] of byFile) {
        findings.push({
          check: "apt-test-repo",
          severity: "medium",
          title: `Unreleased suite ${[...suites].join(", ")} enabled in ${path} on ${node}`,
          object: `${path} on ${node}`,
          evidence: `${firstOf(lines, 3)}: packages of a Debian release${codename ? ` after ${codename}` : ""} still in testing, not meant for production`,
          remediation: `change those entries in ${path} on ${node} back to ${codename ?? "the node's release"} (or ${disableAllStep(path)}), then apt update`,
        });
      }
      return findings;
    });
  },
});

interface Kernel {
  /** "6.17.2-1-pve" */
  release: string;
  /** "6.17" */
  series: string;
}

function kernelOf(release: string): Kernel | undefined {
  const series = KERNEL_RELEASE.exec(release)?.[1];
  return series ? { release, series } : undefined;
}

const versionOf = (k: Kernel) => k.release.replace(/-pve$/, "");

/** The running kernel and the installed ones (newest first) of an apt/versions answer. */
function kernelsOf(data: PackageVersion[]): { running?: string; installed: Kernel[] } {
  const running = data.find((p) => p.Package === "proxmox-ve")?.RunningKernel;
  const installed = data
    .filter((p) => p.CurrentState === "Installed")
    .flatMap((p) => {
      const release = KERNEL_PACKAGE.exec(p.Package ?? "")?.[1];
      const kernel = release ? kernelOf(release) : undefined;
      return kernel ? [kernel] : [];
    })
    .sort((a, b) => compareVersions(versionOf(b), versionOf(a)));
  return { running: running === undefined ? undefined : cleanText(String(running), 64), installed };
}

export const kernelReboot = defineCheck({
  id: "kernel-reboot",
  code: "PVE-UPD-008",
  references: [REFERENCES.updates, REFERENCES.kernelPin],
  severity: "medium",
  title: "A newer kernel installed than the one running (a reboot is pending)",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const { node, data } of await packageAnswers(ctx)) {
      const { running, installed } = kernelsOf(data);
      if (running === undefined) {
        ctx.fail(
          `node ${node}: PVE named no running kernel (no proxmox-ve package), so a pending reboot is unknown`,
        );
        continue;
      }
      const current = kernelOf(running);
      const newest = installed[0];
      // A kernel Proxmox did not build cannot be compared with theirs.
      if (!current || !newest || compareVersions(versionOf(newest), versionOf(current)) <= 0) continue;
      findings.push({
        check: "kernel-reboot",
        severity: "medium",
        title: `${node} runs kernel ${running}, but ${newest.release} is installed: a reboot is pending`,
        object: node,
        evidence: `running ${running}; installed ${firstOf(
          installed.map((k) => k.release),
          4,
          ", ",
        )}: the newer kernel's fixes take effect only after a reboot`,
        remediation: `migrate or shut down the guests on ${node}, then reboot it (if an older kernel is pinned on purpose, proxmox-boot-tool kernel list shows it: waive this)`,
      });
    }
    return findings;
  },
});

/** "pve1=9.1.9, pve2=9.0.10": the node itself always among the first shown. */
function listing(values: Map<string, string>, node: string, max = 8): string {
  const others = [...values.keys()].filter((n) => n !== node);
  const shown = [node, ...others.slice(0, max - 1)].sort();
  const more = values.size - shown.length;
  return `${shown.map((n) => `${n}=${values.get(n)}`).join(", ")}${more > 0 ? ` (+${more} more)` : ""}`;
}

function holders(values: Map<string, string>, value: string): string {
  const nodes = [...values].filter(([, v]) => v === value).map(([n]) => n);
  return `${nodes.slice(0, 3).join(", ")}${nodes.length > 3 ? ", ..." : ""}`;
}

export const versionSkew = defineCheck({
  id: "version-skew",
  code: "PVE-UPD-007",
  references: [REFERENCES.updates, REFERENCES.cluster],
  severity: "medium",
  title: "Cluster nodes on different pve-manager versions or kernel series",
  needs:
    "nothing for the pve-manager versions (any token may read them); Sys.Audit on /nodes/{node} for the running kernels",
  async run(ctx) {
    const [versions, packages] = await Promise.all([
      perNode<{ version?: string }>(
        ctx,
        "/nodes/{node}/version",
        (nodes) => `the PVE version of ${nodes}`,
        "Sys.Audit",
      ),
      packageAnswers(ctx),
    ]);
    const managers = new Map<string, string>();
    for (const { node, data } of versions) {
      const version = String(data.version ?? "");
      if (PLAIN_VERSION.test(version)) managers.set(node, version);
    }
    const kernels = new Map<string, Kernel>();
    const installed = new Map<string, Kernel[]>();
    for (const { node, data } of packages) {
      const { running, installed: list } = kernelsOf(data);
      const kernel = running === undefined ? undefined : kernelOf(running);
      if (kernel) kernels.set(node, kernel);
      installed.set(node, list);
    }
    const newestManager = [...managers.values()].sort(compareVersions).pop();
    const newestSeries = [...kernels.values()]
      .map((k) => k.series)
      .sort(compareVersions)
      .pop();
    const releases = new Map([...kernels].map(([n, k]) => [n, k.release]));
    const series = new Map([...kernels].map(([n, k]) => [n, k.series]));

    const findings: CheckFinding[] = [];
    const nodes = [...new Set([...managers.keys(), ...kernels.keys()])].sort();
    for (const node of nodes) {
      const manager = managers.get(node);
      const kernel = kernels.get(node);
      const managerBehind =
        manager !== undefined && newestManager !== undefined && compareVersions(manager, newestManager) < 0;
      const kernelBehind =
        kernel !== undefined &&
        newestSeries !== undefined &&
        compareVersions(kernel.series, newestSeries) < 0;
      if (!managerBehind && !kernelBehind) continue;
      // Only what differs: a version every node shares says nothing.
      const parts: string[] = [];
      if (new Set(managers.values()).size > 1) parts.push(`pve-manager ${listing(managers, node)}`);
      if (new Set(releases.values()).size > 1) parts.push(`kernel ${listing(releases, node)}`);
      const booted = (installed.get(node) ?? []).some((k) => k.series === newestSeries);
      const title = managerBehind
        ? `${node} runs pve-manager ${manager}, behind ${newestManager} on ${holders(managers, newestManager)}${kernelBehind ? `, and kernel series ${kernel.series}` : ""}`
        : `${node} runs kernel series ${kernel!.series}, behind ${newestSeries} on ${holders(series, newestSeries!)}`;
      findings.push({
        check: "version-skew",
        severity: "medium",
        title,
        object: node,
        evidence: `${parts.join("; ")}: migrating guests from a newer node to an older one is not supported, and the nodes behave differently`,
        remediation: managerBehind
          ? `apt update && apt full-upgrade on ${node} (one node at a time, its guests migrated away first), then reboot it if a new kernel came`
          : booted
            ? `reboot ${node} into its installed ${newestSeries} kernel (migrate its guests away first)`
            : `install the ${newestSeries} kernel on ${node} (apt update && apt full-upgrade, or apt install proxmox-kernel-${newestSeries} if it is an opt-in kernel), then reboot it with its guests migrated away`,
      });
    }
    return findings;
  },
});

export const repositoryChecks = [aptOldSuite, aptNoSecurity, aptTestRepo, versionSkew, kernelReboot] as const;
