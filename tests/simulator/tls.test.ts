/**
 * HTTPS like PVE: a generated cluster CA signs the node certificate; clients verify
 * with the CA or pin the printed SHA-256 fingerprint; loopback only by default.
 */
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { api } from "../helpers/client.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

function peerCertificate(options: { ca?: string; rejectUnauthorized: boolean }) {
  return new Promise<{
    authorized: boolean;
    cert: ReturnType<import("node:tls").TLSSocket["getPeerCertificate"]>;
  }>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: sim.port, servername: "localhost", ...options }, () => {
      resolve({ authorized: socket.authorized, cert: socket.getPeerCertificate() });
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("certificates", () => {
  it("serves a node certificate signed by the cluster CA, valid for loopback names", async () => {
    const { authorized, cert } = await peerCertificate({ ca: sim.caPem, rejectUnauthorized: true });
    expect(authorized).toBe(true);
    expect(cert.subject.OU).toBe("PVE Cluster Node");
    expect(cert.issuer.O).toBe("PVE Cluster Manager CA");
    expect(cert.subjectaltname).toContain("IP Address:127.0.0.1");
    expect(cert.subjectaltname).toContain("DNS:localhost");
    const leaf = new X509Certificate(cert.raw);
    expect(leaf.verify(new X509Certificate(sim.caPem).publicKey)).toBe(true);
  });

  it("prints the SHA-256 fingerprint of the served certificate for pinning", async () => {
    const { cert } = await peerCertificate({ rejectUnauthorized: false });
    expect(cert.fingerprint256).toBe(sim.fingerprint);
    const info = await api(sim, { path: "/nodes/pve1/certificates/info", token: sim.tokens.auditor });
    const served = info.body.data.find((c: { filename: string }) => c.filename === "pve-ssl.pem");
    expect(served.fingerprint).toBe(sim.fingerprint);
  });

  it("is refused by a client that trusts only the system CAs", async () => {
    await expect(peerCertificate({ rejectUnauthorized: true })).rejects.toThrow(
      /self.signed|unable to (get|verify)/i,
    );
  });

  it("generates a new CA key for every simulator: trusting one cluster's CA does not trust another", async () => {
    const other = await startSimulator();
    try {
      expect(other.caPem).not.toBe(sim.caPem);
      expect(other.fingerprint).not.toBe(sim.fingerprint);
      const otherCa = new X509Certificate(other.caPem);
      expect(otherCa.subject).toBe(new X509Certificate(sim.caPem).subject);
      expect(otherCa.publicKey.equals(new X509Certificate(sim.caPem).publicKey)).toBe(false);
      await expect(peerCertificate({ ca: other.caPem, rejectUnauthorized: true })).rejects.toThrow();
    } finally {
      await other.close();
    }
  });
});

describe("listening", () => {
  it("binds to 127.0.0.1 by default and picks a free port", () => {
    expect(sim.host).toBe("127.0.0.1");
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.url).toBe(`https://127.0.0.1:${sim.port}`);
  });
});
