/**
 * The PBS token's start-up check against the PBS simulator's permission engine, and the
 * server's promise around it: no PBS read before the check passed, a PBS token that can do
 * more than audit never reads anything, and PVE's tools never wait for PBS.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/auditlog.js";
import { Secret } from "../../src/config/secret.js";
import type { Config } from "../../src/config/types.js";
import { PbsReader } from "../../src/pbs/client.js";
import { PBS_AUDIT_PRIVILEGES } from "../../src/pbs/privileges.js";
import { PveReader } from "../../src/pve/client.js";
import { createMcpServer, recordPveRequest } from "../../src/server.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { startPbsSimulator, type PbsSimulator } from "../../src/simulator/pbs/index.js";
import {
  pbsReadOnlyTokenFix,
  PrivilegedTokenError,
  READ_TOKEN_RECHECK_MS,
  TokenCheck,
} from "../../src/token-check.js";
import { ALL_TOOLS, buildInventory } from "../../src/tools/inventory.js";
import { simConfig } from "../helpers/config.js";

let pve: Simulator;
let pbs: PbsSimulator;

beforeAll(async () => {
  [pve, pbs] = await Promise.all([
    startSimulator({ scenario: "demo" }),
    startPbsSimulator({ scenario: "demo" }),
  ]);
});

afterAll(async () => {
  await Promise.all([pve?.close(), pbs?.close()]);
});

function configWith(token: { id: string; secret: string }, fingerprint = pbs.fingerprint): Config {
  return simConfig(pve, {
    pbs: {
      host: pbs.host,
      port: pbs.port,
      tokenId: token.id,
      tokenSecret: new Secret(token.secret),
      tls: { mode: "fingerprint", fingerprint },
      timeoutMs: 5000,
    },
  });
}

/** The audit log of the last server withServer made. */
let auditPath = "";

/** A server as serve builds it, PBS included; closes everything afterwards. */
async function withServer<T>(
  config: Config,
  use: (client: Client, check: TokenCheck) => Promise<T>,
): Promise<T> {
  const tools = buildInventory(ALL_TOOLS, {
    dangerousEnabled: false,
    toolsets: undefined,
    pbsConfigured: true,
  });
  const reader = new PveReader({ ...config, onRequest: recordPveRequest });
  const pbsReader = new PbsReader({ ...config.pbs!, onRequest: recordPveRequest });
  const tokenCheck = new TokenCheck({ pve: reader, pbs: pbsReader, config, tools });
  auditPath = join(mkdtempSync(join(tmpdir(), "pbs-check-")), "audit.jsonl");
  const audit = new AuditLog(auditPath, []);
  const server = createMcpServer({ config, pve: reader, tokenCheck, tools, audit, version: "test" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "1" });
  await client.connect(clientSide);
  try {
    return await use(client, tokenCheck);
  } finally {
    await client.close();
    await reader.close();
    await pbsReader.close();
    audit.close();
  }
}

const textOf = (result: unknown) =>
  ((result as { content: { type: string; text?: string }[] }).content[0]?.text ?? "") as string;

describe("the PBS token's start-up check", () => {
  it("passes the auditor (Audit on /, RemoteAudit on /remote): audit privileges only", async () => {
    const config = configWith(pbs.tokens.auditor);
    const reader = new PbsReader(config.pbs!);
    try {
      const check = new TokenCheck({ pve: new PveReader(config), pbs: reader, config, tools: [] });
      await expect(check.ensurePbs()).resolves.toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it("refuses a token that can do more than audit, with the proxmox-backup-manager lines to fix it", async () => {
    const config = configWith(pbs.tokens.admin);
    const reader = new PbsReader(config.pbs!);
    try {
      const check = new TokenCheck({ pve: new PveReader(config), pbs: reader, config, tools: [] });
      const refusal = await check.ensurePbs().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(PrivilegedTokenError);
      const message = (refusal as Error).message;
      expect(message).toContain(`the PBS token ${pbs.tokens.admin.id} can do more than audit`);
      expect(message).toMatch(/Datastore\.Modify|Sys\.Modify|Permissions\.Modify/);
      expect(message).toContain(pbsReadOnlyTokenFix(pbs.tokens.admin.id));
      expect(message).not.toContain(pbs.tokens.admin.secret);
      // Refused once, refused for good: no second question to PBS.
      pbs.clearRequests();
      await expect(check.ensurePbs()).rejects.toBeInstanceOf(PrivilegedTokenError);
      expect(pbs.requests()).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it("counts only the four audit privileges as read-only (Datastore.Read reads backup contents)", () => {
    expect([...PBS_AUDIT_PRIVILEGES].sort()).toEqual([
      "Datastore.Audit",
      "Remote.Audit",
      "Sys.Audit",
      "Tape.Audit",
    ]);
    expect(pbsReadOnlyTokenFix("mcp@pbs!readonly")).toContain("mcp-audit@pbs");
    expect(pbsReadOnlyTokenFix("ops@pbs!x")).toContain(
      "proxmox-backup-manager acl update / Audit --auth-id 'mcp@pbs!readonly'",
    );
  });
});

describe("while serving", () => {
  it("asks PBS again after READ_TOKEN_RECHECK_MS: a grant beyond audit refuses PBS reads until it is gone", async () => {
    const config = configWith(pbs.tokens.auditor);
    const reader = new PbsReader(config.pbs!);
    let clock = 0;
    const logged: string[] = [];
    const grant = [
      { path: "/", ugid: "mcp@pbs", roleid: "DatastoreAdmin", propagate: true },
      { path: "/", ugid: pbs.tokens.auditor.id, roleid: "DatastoreAdmin", propagate: true },
    ];
    const entries = pbs.state.acl.entries;
    try {
      const check = new TokenCheck({
        pve: new PveReader(config),
        pbs: reader,
        config,
        tools: [],
        now: () => clock,
        log: (line) => logged.push(line),
      });
      await check.ensurePbs();
      entries.push(...grant);
      pbs.clearRequests();
      // Within the interval nothing is asked: the grant is not seen yet.
      clock = READ_TOKEN_RECHECK_MS - 1;
      await check.ensurePbs();
      expect(pbs.requests()).toEqual([]);
      clock = READ_TOKEN_RECHECK_MS;
      await expect(check.ensurePbs()).rejects.toThrow(/gained privileges beyond audit since start/);
      // Refused reads stay refused, and every call asks again until the grant is gone.
      await expect(check.ensurePbs()).rejects.toBeInstanceOf(PrivilegedTokenError);
      entries.splice(entries.length - grant.length, grant.length);
      await expect(check.ensurePbs()).resolves.toBeUndefined();
      expect(logged).toEqual([
        expect.stringContaining(`the PBS token ${pbs.tokens.auditor.id} gained privileges`),
        `the PBS token ${pbs.tokens.auditor.id} may only audit again; PBS reads resume`,
      ]);
    } finally {
      for (const entry of grant) {
        const at = entries.indexOf(entry);
        if (at >= 0) entries.splice(at, 1);
      }
      await reader.close();
    }
  });
});

describe("a server with PBS configured", () => {
  it("lists the pbs tools and answers them with the audit token", async () => {
    await withServer(configWith(pbs.tokens.auditor), async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["pbs_datastores", "pbs_snapshots", "get_nodes"]));
      const result = await client.callTool({ name: "pbs_datastores", arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain("archive");
      // The audit log tells PBS's requests from PVE's (both have /version, /access/permissions...).
      const lines = readFileSync(auditPath, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { tool: string; pveRequests: { path: string; service?: string }[] });
      const requests = lines.find((l) => l.tool === "pbs_datastores")?.pveRequests ?? [];
      const pbsOnly = requests.filter((r) => /^\/(admin|status|config)\//.test(r.path));
      expect(pbsOnly.length).toBeGreaterThan(0);
      expect(pbsOnly.filter((r) => r.service !== "PBS")).toEqual([]);
      // The first call also ran PVE's token check: PVE's own request carries no service.
      const asked = requests.filter((r) => r.path === "/access/permissions").map((r) => r.service ?? "PVE");
      expect(new Set(asked)).toEqual(new Set(["PBS", "PVE"]));
    });
  });

  it("with a PBS token that can write, no PBS read is ever sent, and PVE's tools still answer", async () => {
    await withServer(configWith(pbs.tokens.admin), async (client) => {
      pbs.clearRequests();
      const refused = await client.callTool({ name: "pbs_datastores", arguments: {} });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain("can do more than audit");
      const audit = await client.callTool({ name: "security_audit", arguments: {} });
      // The audit of PVE still runs; each PBS check says why it could not.
      expect(textOf(audit)).toMatch(/^Security audit of cluster lab/);
      expect(textOf(audit)).toContain(
        `ERROR pbs-gc: the PBS token ${pbs.tokens.admin.id} can do more than audit`,
      );
      // The one question PBS was asked: what may this token do.
      expect(pbs.requests().map((r) => r.path)).toEqual(["/access/permissions"]);
      const nodes = await client.callTool({ name: "get_nodes", arguments: {} });
      expect(nodes.isError).toBeFalsy();
    });
  });

  it("a PBS behind the wrong certificate delays nothing of PVE and sends PBS nothing", async () => {
    const wrong = pbs.fingerprint.replace(/^../, pbs.fingerprint.startsWith("00") ? "11" : "00");
    await withServer(configWith(pbs.tokens.auditor, wrong), async (client) => {
      pbs.clearRequests();
      const nodes = await client.callTool({ name: "get_nodes", arguments: {} });
      expect(nodes.isError).toBeFalsy();
      const refused = await client.callTool({ name: "pbs_datastores", arguments: {} });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain("PBS_TLS_FINGERPRINT");
      expect(pbs.requests()).toEqual([]);
    });
  });
});
