import { describe, expect, it } from "vitest";
import { describeConfig } from "../../src/config/redact.js";
import { Secret } from "../../src/config/secret.js";
import type { Config } from "../../src/config/types.js";

const SECRET = "0b4f6a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";

const config: Config = {
  host: "pve.example.com",
  port: 8006,
  tokenId: "mcp@pve!readonly",
  tokenSecret: new Secret(SECRET),
  tls: { mode: "ca-file", caFile: "/etc/pve/pve-root-ca.pem", caPem: "-----BEGIN CERTIFICATE-----..." },
  timeoutMs: 15000,
  service: "PVE",
  logLevel: "info",
  toolsets: undefined,
  allowPrivilegedToken: false,
  auditLogPath: "/home/tester/.local/state/proxmox-mcp/audit.jsonl",
  sources: { PROXMOX_HOST: "env", PROXMOX_PORT: "default" },
};

describe("describeConfig", () => {
  it("shows every setting, the TLS mode and the sources, and only that the secret is set", () => {
    const described = describeConfig(config);
    expect(described).toEqual({
      host: "pve.example.com",
      port: 8006,
      tokenId: "mcp@pve!readonly",
      tokenSecret: "[set]",
      tls: "ca-file",
      caFile: "/etc/pve/pve-root-ca.pem",
      timeoutMs: 15000,
      service: "PVE",
      logLevel: "info",
      toolsets: "all",
      allowPrivilegedToken: false,
      auditLogPath: "/home/tester/.local/state/proxmox-mcp/audit.jsonl",
      dangerous: false,
      sources: ["PROXMOX_HOST: env", "PROXMOX_PORT: default"],
    });
    expect(JSON.stringify(described)).not.toContain(SECRET);
  });

  it("shows a pinned fingerprint and the chosen toolsets", () => {
    const described = describeConfig({
      ...config,
      tls: { mode: "fingerprint", fingerprint: "AA:BB" },
      toolsets: ["core"],
    });
    expect(described).toMatchObject({ tls: "fingerprint", tlsFingerprint: "AA:BB", toolsets: ["core"] });
    expect(described).not.toHaveProperty("caFile");
  });
});
