/**
 * Certificates like a PVE cluster's: a cluster CA ("PVE Cluster Manager CA", as
 * pve-root-ca.pem) signs each node's pve-ssl.pem. X.509 is built here with a small
 * DER writer and node:crypto signatures: the maintained JS X.509 libraries either
 * need a global reflect-metadata polyfill or generate RSA keys in pure JS (seconds).
 */
import { promisify } from "node:util";
import { createHash, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";

// --- minimal DER writer -------------------------------------------------------
function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
function integer(b: Buffer): Buffer {
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const ATTRIBUTE_OIDS: Record<string, string> = { CN: "2.5.4.3", OU: "2.5.4.11", O: "2.5.4.10", C: "2.5.4.6" };
/** "/CN=x/OU=y/O=z" (OpenSSL's oneline form, as PVE prints it) -> DER Name. */
function name(oneline: string): Buffer {
  const rdns = oneline
    .split("/")
    .filter(Boolean)
    .map((part) => {
      const [key = "", ...value] = part.split("=");
      const attrOid = ATTRIBUTE_OIDS[key];
      if (!attrOid) throw new Error(`unsupported name attribute ${key}`);
      return set(seq(oid(attrOid), utf8(value.join("="))));
    });
  return seq(...rdns);
}
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from((g as string).padStart(4, "0"), "hex")));
}

export interface CertificateSpec {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  san?: string[];
  isCa?: boolean;
  publicKey: KeyObject;
  signingKey: KeyObject;
  /** Subject key id of the issuing CA (authority key identifier). */
  issuerKeyId?: Buffer;
}

function keyId(publicKey: KeyObject): Buffer {
  return createHash("sha1")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest();
}

export function issueCertificate(spec: CertificateSpec): string {
  const sha256WithRsa = seq(oid("1.2.840.113549.1.1.11"), tlv(0x05));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 1) & 0x7f || 1;
  const extensions = [
    extension("2.5.29.19", true, spec.isCa ? seq(bool(true)) : seq()),
    extension(
      "2.5.29.15",
      true,
      spec.isCa ? tlv(0x03, Buffer.from([1, 0x06])) : tlv(0x03, Buffer.from([5, 0xa0])),
    ),
    extension("2.5.29.14", false, octets(keyId(spec.publicKey))),
  ];
  if (spec.issuerKeyId) extensions.push(extension("2.5.29.35", false, seq(tlv(0x80, spec.issuerKeyId))));
  if (!spec.isCa) extensions.push(extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))));
  if (spec.san?.length) {
    const names = spec.san.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, "ascii"))));
    extensions.push(extension("2.5.29.17", false, seq(...names)));
  }
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    sha256WithRsa,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign("sha256", tbs, spec.signingKey);
  const der = seq(tbs, sha256WithRsa, bitString(signature));
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
}

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}
export interface ClusterKeys {
  ca: KeyPair;
  node: KeyPair;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const generateRsaKey = () => generateKeyPairAsync("rsa", { modulusLength: 2048 });
let nodeKey: Promise<KeyPair> | undefined;

/**
 * A fresh CA key for every simulated cluster, so no two clusters ever trust each
 * other's certificates; the node key (~100 ms to generate) is shared per process,
 * which is harmless because trust comes from the CA's signature.
 */
export async function newClusterKeys(): Promise<ClusterKeys> {
  nodeKey ??= generateRsaKey();
  const [ca, node] = await Promise.all([generateRsaKey(), nodeKey]);
  return { ca, node };
}

export interface ClusterPki {
  caPem: string;
  caSubject: string;
  caNotBefore: number;
  caNotAfter: number;
  nodeKeyPem: string;
  /** Issues a node certificate signed by the cluster CA. */
  issueNodeCertificate(opts: {
    nodeName: string;
    fqdn: string;
    ips: string[];
    notBefore: number;
    notAfter: number;
  }): string;
  /** Issues a certificate with an arbitrary issuer name (e.g. an ACME one) for display. */
  issueDisplayCertificate(opts: {
    subject: string;
    issuer: string;
    san: string[];
    notBefore: number;
    notAfter: number;
  }): string;
}

export const NODE_CERT_SUBJECT = (fqdn: string) =>
  `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${fqdn}`;

export function createClusterPki(clusterId: string, now: number, { ca, node }: ClusterKeys): ClusterPki {
  const caSubject = `/CN=Proxmox Virtual Environment/OU=${clusterId}/O=PVE Cluster Manager CA`;
  const caNotBefore = now - 400 * 86400;
  const caNotAfter = caNotBefore + 3650 * 86400;
  const caPem = issueCertificate({
    subject: caSubject,
    issuer: caSubject,
    notBefore: new Date(caNotBefore * 1000),
    notAfter: new Date(caNotAfter * 1000),
    isCa: true,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
  });
  const caKeyId = keyId(ca.publicKey);
  return {
    caPem,
    caSubject,
    caNotBefore,
    caNotAfter,
    nodeKeyPem: node.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    issueNodeCertificate: ({ nodeName, fqdn, ips, notBefore, notAfter }) =>
      issueCertificate({
        subject: NODE_CERT_SUBJECT(fqdn),
        issuer: caSubject,
        notBefore: new Date(notBefore * 1000),
        notAfter: new Date(notAfter * 1000),
        san: ["127.0.0.1", "::1", "localhost", nodeName, fqdn, ...ips],
        publicKey: node.publicKey,
        signingKey: ca.privateKey,
        issuerKeyId: caKeyId,
      }),
    issueDisplayCertificate: ({ subject, issuer, san, notBefore, notAfter }) =>
      issueCertificate({
        subject,
        issuer,
        notBefore: new Date(notBefore * 1000),
        notAfter: new Date(notAfter * 1000),
        san,
        publicKey: node.publicKey,
        signingKey: ca.privateKey,
      }),
  };
}

/** SHA-256 fingerprint as PVE and browsers print it: `AA:BB:...`. */
export function fingerprint256(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
