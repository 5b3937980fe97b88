/**
 * GET /nodes/{node}/apt/versions as API2/APT.pm's `versions` answers it: proxmox-ve with
 * the running kernel, pve-manager with the running version, the installed kernels newest
 * first (the helper, each kernel before its series' meta package), then the other packages
 * by name; candidates from the node's pending updates; PVE's returns schema; Sys.Audit on
 * the node. And proxmox-apt's suite warnings in GET /nodes/{node}/apt/repositories for
 * the node's extra entries, as its check_suites words them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import type { ScenarioInput } from "../../src/simulator/scenario.js";
import { api } from "../helpers/client.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { HAVE_SHARED, readShared, SKIP_REASON } from "../helpers/shared.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";

type Entry = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

async function get(server: Simulator, path: string): Promise<Entry> {
  const res = await api(server, { path, token: server.tokens.auditor });
  expect(res.status, res.raw).toBe(200);
  return res.body.data;
}

const versions = (server: Simulator, node: string) => get(server, `/nodes/${node}/apt/versions`);
const line = (p: Entry) =>
  `${p["Package"]} ${p["OldVersion"]}${p["Version"] === p["OldVersion"] ? "" : ` -> ${p["Version"]}`}`;

describe("apt/versions of the demo's nodes", () => {
  it("pve1: proxmox-ve names the running 6.14 kernel, 6.17 installed; candidates from the pending updates", async () => {
    const list = await versions(sim, "pve1");
    expect(list.slice(0, 7).map(line)).toEqual([
      "proxmox-ve 9.1.0",
      "pve-manager 9.1.9 -> 9.1.10",
      "proxmox-kernel-helper 9.0.4",
      "proxmox-kernel-6.17.2-1-pve-signed 6.17.2-1",
      "proxmox-kernel-6.17 6.17.2-1 -> 6.17.4-1",
      "proxmox-kernel-6.14.11-4-pve-signed 6.14.11-4",
      "proxmox-kernel-6.14 6.14.11-4",
    ]);
    expect(list[0]).toMatchObject({ RunningKernel: "6.14.11-4-pve", CurrentState: "Installed" });
    expect(list[0]).not.toHaveProperty("ManagerVersion");
    expect(list[1]).toMatchObject({ ManagerVersion: expect.stringMatching(/^9\.1\.9\/[0-9a-f]+$/) });
    expect(list[1]).not.toHaveProperty("RunningKernel");
    // After the kernels, the rest by name; the helper is in both lists, as PVE lists it.
    const rest = list.slice(7).map((p: Entry) => p["Package"]);
    expect(rest).toEqual([...rest].sort());
    expect(rest).toContain("proxmox-kernel-helper");
    expect(rest).toEqual(
      expect.arrayContaining(["pve-qemu-kvm", "qemu-server", "corosync", "zfsutils-linux"]),
    );
    // Trixie has libknet1 and libqb0 under t64 names only: PVE 9 lists neither.
    expect(rest).not.toContain("libknet1");
  });

  it("pve2: runs its newest kernel, an older one installed beside it", async () => {
    const list = await versions(sim, "pve2");
    expect(list[0]["RunningKernel"]).toBe("6.17.2-1-pve");
    expect(list.slice(2, 7).map(line)).toEqual([
      "proxmox-kernel-helper 9.0.4",
      "proxmox-kernel-6.17.2-1-pve-signed 6.17.2-1",
      "proxmox-kernel-6.17 6.17.2-1 -> 6.17.4-1",
      "proxmox-kernel-6.14.11-4-pve-signed 6.14.11-4",
      "proxmox-kernel-6.14 6.14.11-4",
    ]);
  });

  it("needs Sys.Audit on the node (403 before forwarding); an offline node answers 595", async () => {
    const refused = await api(sim, { path: "/nodes/pve1/apt/versions", token: TEST_TOKENS.empty });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe("Permission check failed (/nodes/pve1, Sys.Audit)\n");
    const offline = await api(sim, { path: "/nodes/pve3/apt/versions", token: sim.tokens.auditor });
    expect(offline.status).toBe(595);
  });

  it("a fresh install: the running kernel is the only one", async () => {
    const clean = await startSimulator({ scenario: cleanScenario() });
    try {
      const kernels = (await versions(clean, "pve1"))
        .map((p: Entry) => p["Package"])
        .filter((name: string) => /^proxmox-kernel-\d/.test(name));
      expect(kernels).toEqual(["proxmox-kernel-6.17.2-1-pve-signed", "proxmox-kernel-6.17"]);
    } finally {
      await clean.close();
    }
  });

  it("PVE 8 mode: a stock 8.4 node (kernel 6.8.12-15, 8.4 packages; the scenario's 9.x kernels are not its own)", async () => {
    const pve8 = await startSimulator({ scenario: testScenario(), pve: 8 });
    try {
      const list = await versions(pve8, "pve1");
      expect(list.slice(0, 5).map(line)).toEqual([
        "proxmox-ve 8.4.0",
        "pve-manager 8.4.14",
        "proxmox-kernel-helper 8.1.4",
        "proxmox-kernel-6.8.12-15-pve-signed 6.8.12-15",
        "proxmox-kernel-6.8 6.8.12-15",
      ]);
      expect(list[0]["RunningKernel"]).toBe("6.8.12-15-pve");
      expect(list.map((p: Entry) => p["Package"])).toContain("libknet1");
    } finally {
      await pve8.close();
    }
  });
});

interface ReturnSchema {
  type?: string;
  optional?: number;
  enum?: string[];
  properties?: Record<string, ReturnSchema>;
  items?: ReturnSchema;
}

describe.skipIf(!HAVE_SHARED)(
  `apt/versions follows PVE's returns schema${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`,
  () => {
    it("every key declared, every required key present, strings where strings, enums kept", async () => {
      const returns =
        readShared<Record<string, { GET: { returns: ReturnSchema } }>>("pve-api-flat.json")[
          "/nodes/{node}/apt/versions"
        ]!.GET.returns;
      expect(returns.type).toBe("array");
      const properties = returns.items!.properties!;
      const pve8 = await startSimulator({ scenario: testScenario(), pve: 8 });
      try {
        const answers = [
          await versions(sim, "pve1"),
          await versions(sim, "pve2"),
          await versions(pve8, "pve2"),
        ];
        const problems = answers.flat().flatMap((entry: Entry) => [
          ...Object.keys(entry)
            .filter((k) => !(k in properties))
            .map((k) => `${entry["Package"]}.${k}: not in the schema`),
          ...Object.entries(properties).flatMap(([k, p]) => {
            if (!(k in entry)) return p.optional ? [] : [`${entry["Package"]}.${k}: missing`];
            if (typeof entry[k] !== "string") return [`${entry["Package"]}.${k}: not a string`];
            return p.enum && !p.enum.includes(entry[k]) ? [`${entry["Package"]}.${k}: ${entry[k]}`] : [];
          }),
        ]);
        expect(problems).toEqual([]);
      } finally {
        await pve8.close();
      }
    });
  },
);

describe("apt/repositories: proxmox-apt's suite warnings for extra entries", () => {
  let extra: Simulator;
  beforeAll(async () => {
    const scenario: ScenarioInput = cleanScenario();
    const entry = (uri: string, suite: string, more: Entry = {}) => ({
      path: "/etc/apt/sources.list.d/extra.list",
      uris: [uri],
      suites: [suite],
      components: ["main"],
      ...more,
    });
    scenario.nodes[0]!.aptExtraRepositories = [
      entry("http://deb.debian.org/debian", "sid"),
      entry("http://deb.debian.org/debian", "bookworm-backports", { enabled: false }),
      entry("http://deb.debian.org/debian", "stable"),
      entry("http://deb.debian.org/debian", "forky"),
      entry("http://deb.debian.org/debian", "testing"),
      entry("http://security.debian.org/debian-security", "trixie/updates"),
      entry("http://deb.debian.org/debian", "bullseye", { types: ["deb-src"] }),
      {
        path: "/etc/apt/sources.list.d/extra.sources",
        uris: ["https://security.debian.org/debian-security/"],
        suites: ["trixie-security", "bookworm-security"],
        components: ["main"],
      },
    ];
    extra = await startSimulator({ scenario });
  });
  afterAll(() => extra.close());

  it("old, next, later and alias suites, 'stable', a security repository's suffix; deb-src entries and origins apart", async () => {
    const answer = await get(extra, "/nodes/pve1/apt/repositories");
    const warnings = answer["infos"]
      .filter((i: Entry) => i["kind"] !== "origin")
      .map(
        (i: Entry) =>
          `${i["path"].replace(/^.*\//, "")}#${i["index"]} ${i["property"]} ${i["kind"]}: ${i["message"]}`,
      );
    expect(warnings).toEqual([
      "extra.list#0 Suites warning: suite 'sid' should not be used in production!",
      "extra.list#1 Suites warning: old suite 'bookworm' configured!",
      "extra.list#2 Suites warning: use the name of the stable distribution instead of 'stable'!",
      "extra.list#3 Suites ignore-pre-upgrade-warning: suite 'forky' should not be used in production!",
      "extra.list#4 Suites warning: suite 'testing' should not be used in production!",
      "extra.list#5 Suites warning: expected suite 'trixie-security'",
      "extra.sources#0 Suites warning: old suite 'bookworm' configured!",
    ]);
    // Each file's suite warnings come before its origins; every entry has an origin.
    const kinds = answer["infos"]
      .filter((i: Entry) => i["path"].endsWith("extra.list"))
      .map((i: Entry) => i["kind"]);
    expect(kinds.indexOf("origin")).toBe(6);
    expect(kinds.filter((k: string) => k === "origin")).toHaveLength(7);
    // A deb822 file keeps several suites in one entry; a disabled one says so in its options.
    const sources = answer["files"].find((f: Entry) => f["path"].endsWith("extra.sources"));
    expect(sources["repositories"][0]).toMatchObject({
      Suites: ["trixie-security", "bookworm-security"],
      FileType: "sources",
      Enabled: true,
    });
    const list = answer["files"].find((f: Entry) => f["path"].endsWith("extra.list"));
    expect(list["repositories"][1]).toMatchObject({ Enabled: false, FileType: "list" });
  });

  it("the Debian security entry: disabled (Enabled: false in debian.sources) or absent", async () => {
    const scenario = cleanScenario();
    scenario.nodes[0]!.aptDebianSecurity = "disabled";
    scenario.nodes[1]!.aptDebianSecurity = "absent";
    const server = await startSimulator({ scenario });
    try {
      const [disabled, absent] = [
        await get(server, "/nodes/pve1/apt/repositories"),
        await get(server, "/nodes/pve2/apt/repositories"),
      ];
      expect(disabled["files"][0]["repositories"][1]).toMatchObject({
        URIs: ["http://security.debian.org/debian-security/"],
        Suites: ["trixie-security"],
        Enabled: false,
        Options: [
          { Key: "Signed-By", Values: ["/usr/share/keyrings/debian-archive-keyring.gpg"] },
          { Key: "Enabled", Values: ["false"] },
        ],
      });
      expect(absent["files"][0]["repositories"]).toHaveLength(1);
      expect(absent["files"][0]["repositories"][0]["Suites"]).toEqual(["trixie", "trixie-updates"]);
    } finally {
      await server.close();
    }
  });

  it("a scenario's .list entry holds one URI and one suite", async () => {
    const scenario = cleanScenario();
    scenario.nodes[0]!.aptExtraRepositories = [
      {
        path: "/etc/apt/sources.list",
        uris: ["http://deb.debian.org/debian"],
        suites: ["trixie", "trixie-updates"],
      },
    ];
    await expect(startSimulator({ scenario })).rejects.toThrow(/one URI and one suite/);
  });
});
