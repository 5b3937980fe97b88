/**
 * `audit` and `doctor` print what the cluster says to a terminal. A hostile cluster
 * plants terminal sequences (window title, clipboard OSC 52, clear screen, C1 CSI), a
 * right-to-left override and a zero-width space in a guest name, a backup failure in
 * a task log, the exit status of a task, PVE's error messages and the names in its TLS
 * certificate: none of it may reach
 * the terminal as a control character, with or without colour, and `audit --json` stays
 * valid JSON whose strings are cleaned.
 */
import { generateKeyPairSync } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { REPORT_STYLES } from "../../src/audit/format.js";
import type { AuditReport } from "../../src/audit/index.js";
import { runAuditCommand } from "../../src/commands/audit.js";
import { DOCTOR_STYLES, runDoctorCommand } from "../../src/commands/doctor.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { issueCertificate } from "../../src/simulator/tls.js";
import { simEnv } from "../e2e/harness.js";
import {
  CONTROL_OR_INVISIBLE,
  HOSTILE_CLEANED,
  HOSTILE_LINE,
  HOSTILE_REMAINDERS,
  HOSTILE_TEXT,
  hostileTextScenario,
} from "../helpers/hostile-text.js";
import { runIn, type Ran } from "./io.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: hostileTextScenario() });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.faults.clear();
  // A check's error, as audit reports it: PVE's message on a node's disks.
  sim.faults.add({ kind: "status", path: "/nodes/pve2/disks/list", status: 500, message: HOSTILE_TEXT });
});

/** Asserts that nothing but `styles` (the command's own colours) is a control sequence or character. */
function expectSafe({ stdout, stderr }: Ran, styles: readonly string[] = []): void {
  for (const written of [stdout, stderr]) {
    const shown = styles.reduce((text, style) => text.split(style).join(""), written);
    expect(shown).not.toMatch(CONTROL_OR_INVISIBLE);
    for (const remainder of HOSTILE_REMAINDERS) expect(shown).not.toContain(remainder);
  }
}

describe("audit on a hostile cluster", () => {
  it("the report for people: the planted text is shown as text, without a control character", async () => {
    const ran = await runIn(runAuditCommand, [], simEnv(sim));
    expectSafe(ran);
    // The planted text did reach the report: cleaned and quoted, not dropped.
    expect(ran.stdout).toContain(`"${HOSTILE_CLEANED}"`);
    expect(ran.stdout).toContain("node pve2: PVE answered 500");
  });

  it("in colour on a terminal: the only escape sequences are the report's own colours", async () => {
    const ran = await runIn(runAuditCommand, [], simEnv(sim), { tty: true });
    expect(ran.stdout).toContain("\x1b[");
    expectSafe(ran, REPORT_STYLES);
  });

  it("--json: valid JSON, every string in it cleaned", async () => {
    const ran = await runIn(runAuditCommand, ["--json"], simEnv(sim));
    expectSafe(ran);
    const report = JSON.parse(ran.stdout) as AuditReport;
    const strings: string[] = [];
    JSON.stringify(report, (_key, value: unknown) => {
      if (typeof value === "string") strings.push(value);
      return value;
    });
    for (const text of strings) {
      expect(text).not.toMatch(CONTROL_OR_INVISIBLE);
      for (const remainder of HOSTILE_REMAINDERS) expect(text).not.toContain(remainder);
    }
    expect(report.findings.find((f) => f.check === "backup-failed")?.evidence).toContain(
      `"${HOSTILE_CLEANED}"`,
    );
  });

  it("a PVE error that stops the audit reaches stderr cleaned", async () => {
    sim.faults.add({ kind: "status", path: "/access/permissions", status: 500, message: HOSTILE_TEXT });
    const ran = await runIn(runAuditCommand, [], simEnv(sim));
    expect(ran.code).toBe(2);
    expectSafe(ran);
    expect(ran.stderr).toContain(`PVE said "${HOSTILE_CLEANED}"`);
  });
});

describe("doctor on a hostile cluster", () => {
  it("a certificate whose names carry terminal sequences is described as text", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const hostileName = `pve1${HOSTILE_LINE}`;
    const cert = issueCertificate({
      subject: `/CN=${hostileName}`,
      issuer: `/CN=${hostileName}`,
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey,
      signingKey: privateKey,
    });
    const server = createTlsServer({ key: privateKey.export({ type: "pkcs8", format: "pem" }), cert });
    server.on("secureConnection", (socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const env = {
        ...simEnv(sim),
        PROXMOX_PORT: String((server.address() as AddressInfo).port),
        // Not this certificate's: the TLS step fails and describes the certificate it saw.
        PROXMOX_TLS_FINGERPRINT: sim.fingerprint,
      };
      const ran = await runIn(runDoctorCommand, [], env);
      expect(ran.code).toBe(1);
      expectSafe(ran);
      expect(ran.stdout).toContain("certificate: CN=pve1");
      expect(ran.stdout).toContain(HOSTILE_CLEANED);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("PVE's error in a failed step is shown quoted, without a control character, in colour or not", async () => {
    sim.faults.add({ kind: "status", path: "/version", status: 500, message: HOSTILE_TEXT });
    for (const tty of [false, true]) {
      const ran = await runIn(runDoctorCommand, [], simEnv(sim), { tty });
      expect(ran.code).toBe(1);
      expectSafe(ran, tty ? DOCTOR_STYLES : []);
      expect(ran.stdout).toContain(`PVE said "${HOSTILE_CLEANED}"`);
    }
  });
});
