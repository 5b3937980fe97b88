/**
 * The nodes themselves: certificates, pending updates, release end of life,
 * subscription, disk health and failed logins. One read per online node each; an
 * offline node is skipped (node-offline reports it).
 */
import { REFERENCES } from "../references.js";
import { LOW_WEAROUT, wearoutOf } from "../../pve/model/disks.js";
import { endOfLife } from "../eol.js";
import { age, DAY, isOn, perNode } from "../shared.js";
import { defineCheck, type CheckFinding } from "../types.js";
import { timeLeft } from "../../pve/model/duration.js";
import { cleanText } from "../../untrusted.js";

const CERT_WARN_DAYS = 30;

interface CertificateInfo {
  filename?: string;
  notafter?: number;
  subject?: string;
}

function certificateFix(filename: string, node: string): string {
  if (filename === "pveproxy-ssl.pem") {
    return `renew it: pvenode acme cert renew on ${node} (ACME), or upload the new certificate in ${node} > System > Certificates`;
  }
  if (filename === "pve-root-ca.pem") {
    return "the cluster CA expires: create a new one and reissue node certificates (pvecm updatecerts --force on each node)";
  }
  return `reissue it from the cluster CA: pvecm updatecerts --force on ${node}`;
}

export const certExpiry = defineCheck({
  id: "cert-expiry",
  code: "PVE-NOD-001",
  references: [REFERENCES.certificates],
  severity: "medium",
  title: `Certificates expired or expiring within ${CERT_WARN_DAYS} days`,
  needs: "nothing (any token may read certificate info)",
  async run(ctx) {
    const answers = await perNode<CertificateInfo[]>(
      ctx,
      "/nodes/{node}/certificates/info",
      (nodes) => `certificates of ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const cert of data) {
        if (typeof cert.notafter !== "number") continue;
        const left = cert.notafter - ctx.nowSeconds;
        if (left > CERT_WARN_DAYS * DAY) continue;
        const filename = cleanText(cert.filename ?? "certificate", 80);
        const expired = left <= 0;
        const on = new Date(cert.notafter * 1000).toISOString().slice(0, 10);
        findings.push({
          check: "cert-expiry",
          severity: expired ? "high" : "medium",
          title: expired
            ? `Certificate ${filename} on ${node} expired ${age(-left)} ago`
            : `Certificate ${filename} on ${node} expires in ${timeLeft(left)}`,
          object: `${filename} on ${node}`,
          evidence: `notafter ${on}${cert.subject ? `, ${cleanText(cert.subject, 80)}` : ""}`,
          remediation: certificateFix(filename, node),
        });
      }
    }
    return findings;
  },
});

interface AptUpdate {
  Package?: string;
  Version?: string;
  OldVersion?: string;
}

/**
 * Packages whose updates are usually security fixes on a PVE host: TLS and SSH, the
 * C library, sudo and PAM, the kernel and microcode, QEMU and LXC, compression
 * libraries, systemd, curl. PVE's update list does not say which archive an update
 * comes from, so the package name is what there is to go by.
 */
const SECURITY_PACKAGE =
  /^(openssl|libssl|openssh|ssh$|sudo$|libc6|libc-bin|libpam|linux-image|pve-kernel|proxmox-kernel|intel-microcode|amd64-microcode|pve-qemu-kvm|qemu|lxc|libgnutls|libnss3|curl|libcurl|xz-utils|liblzma|zlib1g|systemd|libsystemd|bash$|ca-certificates|polkit|libpolkit|pve-manager|proxmox-ve$)/;

export const updatesPending = defineCheck({
  id: "updates-pending",
  code: "PVE-UPD-001",
  references: [REFERENCES.updates],
  severity: "high",
  title: "Pending package updates (security-relevant ones first)",
  needs: "Sys.Modify on /nodes/{node} (a write privilege: read-only tokens cannot see this)",
  async run(ctx) {
    const answers = await perNode<AptUpdate[]>(
      ctx,
      "/nodes/{node}/apt/update",
      (nodes) => `pending updates on ${nodes}`,
      "Sys.Modify",
      undefined,
      "Sys.Modify is a write privilege a read-only token lacks by design: check by hand with apt list --upgradable on each node (GUI: node > Updates)",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      if (data.length === 0) continue;
      const names = data.map((u) => cleanText(u.Package ?? "?", 64));
      const security = names.filter((n) => SECURITY_PACKAGE.test(n));
      const shown = (security.length > 0 ? security : names).slice(0, 5);
      const more = (security.length > 0 ? security : names).length - shown.length;
      findings.push({
        check: "updates-pending",
        severity: security.length > 0 ? "high" : "low",
        title:
          security.length > 0
            ? `${node} has ${data.length} pending updates, ${security.length} security-relevant`
            : `${node} has ${data.length} pending updates`,
        object: node,
        evidence: `${security.length > 0 ? "security-relevant: " : ""}${shown.join(", ")}${more > 0 ? ` (+${more} more)` : ""}`,
        remediation: `apt update && apt full-upgrade on ${node} (GUI: ${node} > Updates), reboot for a new kernel`,
      });
    }
    return findings;
  },
});

export const pveEol = defineCheck({
  id: "pve-eol",
  code: "PVE-UPD-002",
  references: [REFERENCES.lifecycle],
  severity: "high",
  title: "Proxmox VE release past (or near) its end of life",
  needs: "nothing (any token may read the version)",
  async run(ctx) {
    const answers = await perNode<{ version?: string; release?: string }>(
      ctx,
      "/nodes/{node}/version",
      (nodes) => `the PVE version of ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      const version = cleanText(String(data.version ?? data.release ?? ""), 32);
      const major = Number.parseInt(version, 10);
      if (!Number.isFinite(major)) continue;
      const eol = endOfLife(major);
      if (eol === null) continue;
      const left = eol === "past" ? -1 : Math.floor((eol.getTime() - ctx.now.getTime()) / 1000);
      if (left > 90 * DAY) continue;
      const date = eol === "past" ? "long ago" : eol.toISOString().slice(0, 10);
      findings.push({
        check: "pve-eol",
        severity: left <= 0 ? "high" : "medium",
        title:
          left <= 0
            ? `${node} runs Proxmox VE ${version}, past its end of life (${date})`
            : `${node} runs Proxmox VE ${version}, whose end of life is ${date} (in ${age(left)})`,
        object: node,
        evidence: `pve-manager ${version}; PVE ${major} ${left <= 0 ? "gets" : "will get"} no more security updates after ${date}`,
        remediation: `upgrade to PVE ${major + 1} (run pve${major}to${major + 1} on ${node}, then follow Proxmox's upgrade guide)`,
      });
    }
    return findings;
  },
});

interface StandardRepository {
  handle?: string;
  status?: boolean | number;
  name?: string;
}

interface AptRepository {
  URIs?: string[];
  Components?: string[];
  Enabled?: boolean | number;
}

interface AptRepositories {
  files?: { path?: string; repositories?: AptRepository[] }[];
  "standard-repos"?: StandardRepository[];
}

/** proxmox-apt's handles of the enterprise repositories: "enterprise" (PVE), "ceph-squid-enterprise". */
const ENTERPRISE_HANDLE = /^(ceph-([a-z]+)-)?enterprise$/;
const PVE_HANDLES = ["enterprise", "no-subscription", "test"];
/** Components with PVE's packages: an enabled repository carrying one (a local mirror too) brings PVE updates. */
const PVE_COMPONENT = /^pve(-enterprise|-no-subscription|-test|test)$/;

type EnabledRepository = { path: string; repository: AptRepository };

/** The enabled file entry behind an enterprise handle, to name the file to change. */
function enterpriseEntry(enabled: EnabledRepository[], handle: string): EnabledRepository | undefined {
  const release = ENTERPRISE_HANDLE.exec(handle)?.[2];
  const uri = release
    ? new RegExp(`^https://enterprise\\.proxmox\\.com/debian/ceph-${release}/?$`)
    : /^https:\/\/enterprise\.proxmox\.com\/debian(\/pve)?\/?$/;
  const component = release ? "enterprise" : "pve-enterprise";
  return enabled.find(
    ({ repository: r }) => r.URIs?.some((u) => uri.test(u)) && r.Components?.includes(component),
  );
}

/** How to switch an entry off by hand: deb822 files take "Enabled: false", one-line files a "#". */
function disableStep(path: string): string {
  return path.endsWith(".sources")
    ? `add "Enabled: false" to its entry in ${path}`
    : `comment out its line in ${path}`;
}

export const subscription = defineCheck({
  id: "subscription",
  code: "PVE-UPD-003",
  references: [REFERENCES.repositories],
  severity: "high",
  title: "Updates that cannot arrive: an enterprise repository without a subscription, or no PVE repository",
  needs: "Sys.Audit on /nodes/{node} (the APT repositories; any token may read the subscription status)",
  async run(ctx) {
    const answers = await perNode<AptRepositories>(
      ctx,
      "/nodes/{node}/apt/repositories",
      (nodes) => `the update repositories of ${nodes}`,
      "Sys.Audit",
    );
    const byNode = new Map<string, CheckFinding[]>();
    await ctx.each(
      answers,
      ({ node }) => `node ${node}`,
      async ({ node, data }) => {
        const standard = data["standard-repos"];
        if (!Array.isArray(standard)) {
          ctx.fail(`node ${node}: PVE listed no standard repositories, so whether updates arrive is unknown`);
          return;
        }
        const on = standard.filter((r) => isOn(r.status));
        const isEnabled = (handle: string) => on.some((r) => r.handle === handle);
        const nameOf = (handle: string) =>
          cleanText(standard.find((r) => r.handle === handle)?.name ?? handle, 60);
        const enabledEntries = (data.files ?? []).flatMap((f) =>
          (f.repositories ?? [])
            .filter((r) => isOn(r.Enabled))
            .map((repository) => ({ path: cleanText(f.path ?? "?", 120), repository })),
        );
        const findings: CheckFinding[] = [];
        byNode.set(node, findings);

        const pveFromMirror = enabledEntries.some(({ repository }) =>
          repository.Components?.some((c) => PVE_COMPONENT.test(c)),
        );
        if (!PVE_HANDLES.some(isEnabled) && !pveFromMirror) {
          findings.push({
            check: "subscription",
            severity: "high",
            title: `No Proxmox VE repository is enabled on ${node}`,
            object: node,
            evidence:
              "none of the enterprise, no-subscription and test repositories is enabled: no Proxmox VE updates (kernel, QEMU, pve-manager) arrive",
            remediation: `${node} > Updates > Repositories > Add: Enterprise with a subscription, else No-Subscription`,
          });
        }

        const enterprise = on.map((r) => String(r.handle)).filter((h) => ENTERPRISE_HANDLE.test(h));
        if (enterprise.length === 0) return;
        const { status } = await ctx.get<{ status?: string }>("/nodes/{node}/subscription", { node });
        const state = cleanText(String(status ?? "unknown"), 20);
        if (state.toLowerCase() === "active") return;
        for (const handle of enterprise) {
          const family = handle.slice(0, -"enterprise".length);
          const ceph = family !== "";
          // Any Ceph release's free repository brings Ceph updates; PVE's own only PVE's.
          const fallback = ceph
            ? on.map((r) => String(r.handle)).find((h) => /^ceph-[a-z]+-(no-subscription|test)$/.test(h))
            : ["no-subscription", "test"].find(isEnabled);
          const name = nameOf(handle);
          const path = enterpriseEntry(enabledEntries, handle)?.path;
          const manual = path ? ` (or ${disableStep(path)})` : "";
          const consequence = fallback
            ? `every run reports that error (${ceph ? "Ceph" : "Proxmox VE"} updates still come from ${nameOf(fallback)})`
            : ceph
              ? "so if this node runs Ceph, no Ceph updates arrive (the installer enables it whether Ceph is used or not)"
              : "so no Proxmox VE updates arrive (kernel, QEMU, pve-manager)";
          findings.push({
            check: "subscription",
            // Without a fallback, PVE gets no updates at all: as bad as no repository.
            severity: fallback || ceph ? "low" : "high",
            title: `${name} repository enabled on ${node} without an active subscription`,
            object: `${cleanText(handle, 40)} repository on ${node}`,
            evidence: `subscription status ${state}; ${path ? `enabled in ${path}` : "enabled"}: apt update gets 401 Unauthorized from it, ${consequence}`,
            remediation: fallback
              ? `disable it in ${node} > Updates > Repositories${manual}, or add a subscription key`
              : ceph
                ? `disable it in ${node} > Updates > Repositories${manual}; if the node runs Ceph, Add > ${nameOf(`${family}no-subscription`)} too, or add a subscription key`
                : `in ${node} > Updates > Repositories disable it${manual} and Add > ${nameOf(`${family}no-subscription`)}, or add a subscription key`,
          });
        }
      },
    );
    return answers.flatMap(({ node }) => byNode.get(node) ?? []);
  },
});

interface DiskInfo {
  devpath?: string;
  type?: string;
  health?: string;
  model?: string;
  serial?: string;
  used?: string;
  wearout?: number | string;
}

const HEALTHY = new Set(["PASSED", "OK", "UNKNOWN", ""]);

export const diskSmart = defineCheck({
  id: "disk-smart",
  code: "PVE-NOD-002",
  references: [REFERENCES.diskHealth],
  severity: "high",
  title: "Disks failing their SMART health check",
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    const answers = await perNode<DiskInfo[]>(
      ctx,
      "/nodes/{node}/disks/list",
      (nodes) => `disk health on ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const disk of data) {
        const health = cleanText(String(disk.health ?? ""), 20);
        if (HEALTHY.has(health.toUpperCase())) continue;
        const dev = cleanText(disk.devpath ?? "?", 64);
        findings.push({
          check: "disk-smart",
          severity: "high",
          title: `Disk ${dev} on ${node} fails SMART (${health})`,
          object: `${dev} on ${node}`,
          evidence: `health ${health}; ${cleanText(disk.model ?? "?", 48)} serial ${cleanText(disk.serial ?? "?", 32)}${disk.used ? `, used by ${cleanText(disk.used, 24)}` : ""}`,
          remediation: `replace it soon (smartctl -a ${dev} on ${node}; in ZFS: zpool replace)`,
        });
      }
    }
    return findings;
  },
});

export const ssdWearout = defineCheck({
  id: "ssd-wearout",
  code: "PVE-NOD-004",
  references: [REFERENCES.diskHealth],
  severity: "high",
  title: `SSDs with ${LOW_WEAROUT} % or less of their rated life left`,
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    // The same answers as disk-smart's: one request per node for both.
    const answers = await perNode<DiskInfo[]>(
      ctx,
      "/nodes/{node}/disks/list",
      (nodes) => `disk wear on ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const disk of data) {
        const wearout = wearoutOf(disk.wearout);
        if (wearout === null || wearout > LOW_WEAROUT) continue;
        // NVMe reports 100 minus "percentage used", which passes 100 on a well-used disk.
        const left = Math.max(0, wearout);
        const dev = cleanText(disk.devpath ?? "?", 64);
        const serial = disk.serial ? cleanText(disk.serial, 32) : undefined;
        findings.push({
          check: "ssd-wearout",
          severity: "high",
          title: `SSD ${dev} on ${node} is worn out (${left} % of its rated life left)`,
          // By serial: /dev/sdX names move between boots, and a waiver must stay on its disk.
          object: serial ? `disk ${serial} on ${node}` : `${dev} on ${node}`,
          evidence: `wearout ${left} % left; ${dev}, ${cleanText(disk.model ?? "?", 48)}${disk.used ? `, used by ${cleanText(disk.used, 24)}` : ""}`,
          remediation: `plan its replacement before it turns read-only (smartctl -a ${dev} on ${node} shows the wear attributes)`,
        });
      }
    }
    return findings;
  },
});

/** "authentication failure; rhost=::ffff:198.51.100.23 user=root@pam" (pvedaemon/pveproxy). */
const PVE_AUTH_FAILURE = /authentication failure; rhost=(\S+) user=(\S+)/;
/** "Failed password for [invalid user ]root from 198.51.100.23 port 51122 ssh2" (sshd). */
const SSH_FAILURE = /Failed (?:password|publickey) for (?:invalid user )?(\S+) from (\S+) port/;
const IP = /^(?:::ffff:)?([0-9a-fA-F:.]{2,45})$/;
/** The user names in these lines come from whoever tried to log in: only plain ones are shown. */
const PLAIN_USER = /^[A-Za-z0-9._@!-]{1,64}$/;
const AUTH_FAILURE_THRESHOLD = 3;

function syslogSince(now: Date): string {
  return new Date(now.getTime() - DAY * 1000).toISOString().slice(0, 19).replace("T", " ");
}

export const authFailures = defineCheck({
  id: "auth-failures",
  code: "PVE-NOD-003",
  references: [REFERENCES.fail2ban],
  severity: "medium",
  title: `Repeated failed logins (${AUTH_FAILURE_THRESHOLD} or more from one source in 24 h)`,
  needs: "Sys.Syslog on /nodes/{node}",
  async run(ctx) {
    const answers = await perNode<{ n: number; t: string }[]>(
      ctx,
      "/nodes/{node}/syslog",
      (nodes) => `failed logins in the syslog of ${nodes}`,
      "Sys.Syslog",
      { since: syslogSince(ctx.now), limit: 5000 },
      "grant the read-only Sys.Syslog to the audit token (pveum role add SyslogReader --privs Sys.Syslog; pveum acl modify /nodes --tokens <token id> --roles SyslogReader)",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      const sources = new Map<string, { count: number; users: Set<string> }>();
      for (const { t: line } of data) {
        const pve = PVE_AUTH_FAILURE.exec(line);
        const ssh = pve ? undefined : SSH_FAILURE.exec(line);
        const [rawHost, rawUser] = pve ? [pve[1], pve[2]] : ssh ? [ssh[2], ssh[1]] : [];
        if (!rawHost) continue;
        const ip = IP.exec(rawHost)?.[1] ?? "(unparsed source)";
        const user = rawUser && PLAIN_USER.test(rawUser) ? rawUser : "(unusual name)";
        const entry = sources.get(ip) ?? { count: 0, users: new Set<string>() };
        entry.count++;
        entry.users.add(user);
        sources.set(ip, entry);
      }
      const repeated = [...sources.entries()]
        .filter(([, s]) => s.count >= AUTH_FAILURE_THRESHOLD)
        .sort((a, b) => b[1].count - a[1].count);
      if (repeated.length === 0) continue;
      const total = repeated.reduce((sum, [, s]) => sum + s.count, 0);
      const [topIp, top] = repeated[0]!;
      findings.push({
        check: "auth-failures",
        severity: total >= 20 ? "high" : "medium",
        title: `${total} failed logins on ${node} in 24 h, most from ${topIp}`,
        object: node,
        evidence: repeated
          .slice(0, 3)
          .map(([ip, s]) => `${ip}: ${s.count} (${[...s.users].slice(0, 3).join(", ")})`)
          .join("; "),
        remediation: `block the source (cluster firewall IPSet), keep 8006/22 off the internet, give ${[...top.users][0] ?? "the account"} TFA`,
      });
    }
    return findings;
  },
});

/** The fields of GET /nodes/{node}/certificates/info that say how strong a certificate is. */
interface CertificateStrength extends CertificateInfo {
  issuer?: string;
  pem?: string;
  "public-key-type"?: string;
  "public-key-bits"?: number;
}

/** Signature algorithms over SHA-1 or MD5, by the DER content of their OID (hex). */
const WEAK_SIGNATURES: Record<string, string> = {
  "2a864886f70d010105": "SHA-1", // sha1WithRSAEncryption
  "2b0e03021d": "SHA-1", // sha1WithRSA (OIW)
  "2a8648ce3d0401": "SHA-1", // ecdsa-with-SHA1
  "2a8648ce380403": "SHA-1", // dsa-with-sha1
  "2a864886f70d010104": "MD5", // md5WithRSAEncryption
};

/** One DER header at `at` with tag `tag`: where its content starts and ends (undefined when it is not there). */
function derContent(der: Buffer, at: number, tag: number): { start: number; end: number } | undefined {
  if (der[at] !== tag || at + 1 >= der.length) return undefined;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  return start + length <= der.length ? { start, end: start + length } : undefined;
}

/**
 * "SHA-1" or "MD5" when the certificate is signed with it. PVE does not list the
 * signature algorithm, but it sends the PEM: Certificate ::= SEQUENCE { tbsCertificate
 * SEQUENCE, signatureAlgorithm SEQUENCE { OID, ... }, ... }.
 */
export function weakSignature(pem: string | undefined): string | undefined {
  const body = pem
    ? /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem)?.[1]
    : "";
  if (!body) return undefined;
  const der = Buffer.from(body.replace(/\s+/g, ""), "base64");
  const certificate = derContent(der, 0, 0x30);
  const tbs = certificate && derContent(der, certificate.start, 0x30);
  const algorithm = tbs && derContent(der, tbs.end, 0x30);
  const oid = algorithm && derContent(der, algorithm.start, 0x06);
  return oid ? WEAK_SIGNATURES[der.subarray(oid.start, oid.end).toString("hex")] : undefined;
}

function weakKey(cert: CertificateStrength): string | undefined {
  const type = cleanText(String(cert["public-key-type"] ?? ""), 32);
  const bits = cert["public-key-bits"];
  if (typeof bits !== "number") return undefined;
  if (/rsa/i.test(type) && bits < 2048) return `RSA key of ${bits} bits (minimum 2048)`;
  if (/^(id-ecPublicKey|ec)/i.test(type) && bits < 256) return `EC key of ${bits} bits (minimum 256)`;
  return undefined;
}

function strongerCertificate(filename: string, node: string): string {
  if (filename === "pve-ssl.pem") {
    return `on ${node}: rm /etc/pve/nodes/${node}/pve-ssl.key /etc/pve/nodes/${node}/pve-ssl.pem && pvecm updatecerts --force && systemctl restart pveproxy (a new 2048-bit key, signed by the cluster CA)`;
  }
  if (filename === "pve-root-ca.pem") {
    return "renew the cluster CA: rm /etc/pve/pve-root-ca.pem /etc/pve/priv/pve-root-ca.key, then pvecm updatecerts --force and systemctl restart pveproxy on every node";
  }
  if (filename === "pveproxy-ssl.pem") {
    return `replace it with an RSA 2048 or EC P-256 certificate: pvenode acme cert order --force on ${node} (ACME), or upload one in ${node} > System > Certificates`;
  }
  return `replace ${filename} on ${node} with an RSA 2048 or EC P-256 certificate signed with SHA-256`;
}

export const certWeak = defineCheck({
  id: "cert-weak",
  code: "PVE-NOD-005",
  references: [REFERENCES.certificates],
  severity: "medium",
  title: "Certificates with weak keys or signatures, and nodes serving only the self-signed default",
  needs: "nothing (any token may read certificate info)",
  async run(ctx) {
    // The same answers as cert-expiry's: one request per node for both.
    const answers = await perNode<CertificateStrength[]>(
      ctx,
      "/nodes/{node}/certificates/info",
      (nodes) => `certificates of ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      for (const cert of data) {
        // A self-signed certificate's own signature is never checked by anyone: only its key counts.
        const selfSigned = cert.issuer !== undefined && cert.issuer === cert.subject;
        const signature = selfSigned ? undefined : weakSignature(cert.pem);
        const key = weakKey(cert);
        const weak = [key, signature && `signed with ${signature}`].filter((w) => w !== undefined);
        if (weak.length === 0) continue;
        const filename = cleanText(cert.filename ?? "certificate", 80);
        findings.push({
          check: "cert-weak",
          severity: "medium",
          title: `Certificate ${filename} on ${node} has a ${key ? "weak key" : `${signature} signature`}`,
          object: `${filename} on ${node}`,
          evidence: `${weak.join(", ")}; subject ${cleanText(cert.subject ?? "?", 80)}`,
          remediation: strongerCertificate(filename, node),
        });
      }
      const ca = data.find((c) => c.filename === "pve-root-ca.pem");
      const nodeCert = data.find((c) => c.filename === "pve-ssl.pem");
      const issuer = nodeCert?.issuer ?? "";
      const fromClusterCa = issuer === ca?.subject || /PVE Cluster Manager CA/.test(issuer);
      if (!nodeCert || !fromClusterCa || data.some((c) => c.filename === "pveproxy-ssl.pem")) continue;
      findings.push({
        check: "cert-weak",
        severity: "low",
        title: `${node} serves only the self-signed certificate of the cluster CA`,
        object: `pveproxy on ${node}`,
        evidence: `pve-ssl.pem issued by ${cleanText(issuer, 100)}, no pveproxy-ssl.pem: browsers and API clients cannot verify ${node}, and users learn to click through the warning`,
        remediation: `on ${node}, ACME: pvenode acme account register default <mail>; pvenode config set --acme domains=<its FQDN>; pvenode acme cert order. Or upload a CA-signed certificate in ${node} > System > Certificates`,
      });
    }
    return findings;
  },
});

const ROOTFS_WARN = 0.85;
const ROOTFS_HIGH = 0.95;

export const rootfsUsage = defineCheck({
  id: "rootfs-usage",
  code: "PVE-NOD-006",
  references: [REFERENCES.updates],
  severity: "medium",
  title: `Node root filesystems more than ${ROOTFS_WARN * 100} % full`,
  needs: "Sys.Audit on /nodes/{node}",
  async run(ctx) {
    const answers = await perNode<{ rootfs?: { total?: number; used?: number; avail?: number } }>(
      ctx,
      "/nodes/{node}/status",
      (nodes) => `the root filesystem of ${nodes}`,
      "Sys.Audit",
    );
    const findings: CheckFinding[] = [];
    for (const { node, data } of answers) {
      const { total, used, avail } = data.rootfs ?? {};
      if (!total || used === undefined) continue;
      const fill = used / total;
      if (fill <= ROOTFS_WARN) continue;
      const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
      findings.push({
        check: "rootfs-usage",
        severity: fill > ROOTFS_HIGH ? "high" : "medium",
        title: `Root filesystem of ${node} is ${Math.round(fill * 100)} % full`,
        object: node,
        evidence: `${gib(used)} of ${gib(total)} GiB used${avail !== undefined ? `, ${gib(avail)} GiB available` : ""}: a full / stops pmxcfs (/etc/pve), logging, backups to local storage and guest starts`,
        remediation: `free space on / of ${node}: apt clean; journalctl --vacuum-size=500M; apt autoremove --purge (old kernels); ISOs, templates and backups in /var/lib/vz (pvesm list local); ncdu -x / for the rest`,
      });
    }
    return findings;
  },
});

export const nodeChecks = [
  certExpiry,
  certWeak,
  updatesPending,
  pveEol,
  subscription,
  diskSmart,
  ssdWearout,
  authFailures,
  rootfsUsage,
] as const;
