/**
 * The secret-bearing keys follow Proxmox's own schema: every property that
 * pve-api-flat.json documents as a password, secret, key, token value or ticket is
 * masked by name, or reviewed here as harmless with the reason.
 */
import { describe, expect, it } from "vitest";
import { isSecretKey, redact, REDACTED } from "../../src/redact.js";
import { HAVE_SHARED, readShared } from "../helpers/shared.js";

/** Documented near a secret, but not one; each with why. */
const REVIEWED_NOT_SECRET: Record<string, string> = {
  ciuser: "the cloud-init user name",
  crypted: "a flag: the password given is already hashed",
  "generate-password": "a deprecated flag",
  http_proxy: "a proxy URL; credentials in it are masked by the URL rule",
  "master-pubkey": "a public key",
  path: "the ACL path a ticket is checked for",
  privs: "privilege names a ticket is checked for",
  port: "the VNC port of a ticket",
  user: "the user a console ticket was made for",
  username: "a user name",
  webauthn: "WebAuthn relying-party settings",
  value:
    "generic (pending config, header values): a new token's secret is masked by proxmox_api, header pairs by their name",
  key: "generic (pending config keys): a certificate's private key is masked by the private-key rule",
};

const DOCUMENTED_SECRET =
  /password|secret|private key|keyring|encryption[ -]key|token value|access token|api key|hmac|client key|credential|\bticket\b/i;

type Schema = Record<string, Record<string, unknown>>;

/** Every property name the schema documents as secret-ish, with one endpoint that has it. */
function documentedSecrets(schema: Schema): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (node: unknown, endpoint: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, endpoint));
    if (!node || typeof node !== "object") return;
    const properties = (node as { properties?: unknown }).properties;
    if (properties && typeof properties === "object") {
      for (const [name, spec] of Object.entries(properties as Record<string, Record<string, unknown>>)) {
        const text = ["description", "format", "typetext"]
          .map((k) => JSON.stringify(spec?.[k] ?? ""))
          .join(" ");
        if (DOCUMENTED_SECRET.test(text) && !found.has(name)) found.set(name, endpoint);
      }
    }
    for (const child of Object.values(node)) walk(child, endpoint);
  };
  for (const [path, methods] of Object.entries(schema)) {
    for (const [method, spec] of Object.entries(methods)) walk(spec, `${method} ${path}`);
  }
  return found;
}

describe.skipIf(!HAVE_SHARED)("secret keys against Proxmox's schema", () => {
  it("masks every property the schema documents as secret, unless reviewed as harmless", () => {
    const found = documentedSecrets(readShared<Schema>("pve-api-flat.json"));
    expect(found.size).toBeGreaterThan(10);
    const unclassified = [...found]
      .filter(([name]) => !isSecretKey(name) && !Object.hasOwn(REVIEWED_NOT_SECRET, name))
      .map(([name, endpoint]) => `${name} (${endpoint})`);
    expect(unclassified).toEqual([]);
    const stale = Object.keys(REVIEWED_NOT_SECRET).filter((name) => !found.has(name));
    expect(stale).toEqual([]);
  });
});

describe("secret keys", () => {
  it("masks the PVE fields by name whatever they hold, and keeps their presence", () => {
    const storage = {
      storage: "pbs01",
      type: "pbs",
      "encryption-key": '{"kdf":null}',
      keyring: "[client.admin]",
    };
    expect(redact(storage)).toEqual({ ...storage, "encryption-key": REDACTED, keyring: REDACTED });
    expect(redact({ cipassword: "**********", sshkeys: "ssh-ed25519%20AAAA", ciuser: "debian" })).toEqual({
      cipassword: REDACTED,
      sshkeys: REDACTED,
      ciuser: "debian",
    });
  });

  it("masks the value of a name/value pair whose name is a secret (headers, pending changes)", () => {
    expect(
      redact({
        header: [
          { name: "Authorization", value: "QmVhcmVyIHh5eg==" },
          { name: "Content-Type", value: "application/json" },
        ],
        pending: [
          { key: "cipassword", value: "**********", pending: "n3w-Pa55" },
          { key: "memory", value: 2048, pending: 4096 },
        ],
      }),
    ).toEqual({
      header: [
        { name: "Authorization", value: REDACTED },
        { name: "Content-Type", value: "application/json" },
      ],
      pending: [
        { key: "cipassword", value: REDACTED, pending: REDACTED },
        { key: "memory", value: 2048, pending: 4096 },
      ],
    });
  });
});
