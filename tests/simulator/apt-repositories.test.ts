/**
 * GET /nodes/{node}/apt/repositories: the answer has the shape of PVE's schema (plus
 * what proxmox-apt returns beyond it), files and standard repositories follow the
 * node's `aptRepositories` (a fresh install without them) and its extra entries, PVE 8
 * answers with bookworm's one-line files, the permission check comes before forwarding
 * (403 with PVE's text), and an offline node answers the proxy's 595.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { api } from "../helpers/client.js";
import { cleanScenario } from "../helpers/clean-scenario.js";
import { HAVE_SHARED, readShared, SKIP_REASON } from "../helpers/shared.js";
import { TEST_TOKENS, testScenario } from "../helpers/scenarios.js";

type Entry = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TRIXIE_HANDLES = [
  "enterprise",
  "no-subscription",
  "test",
  "ceph-squid-enterprise",
  "ceph-squid-no-subscription",
  "ceph-squid-test",
];

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ scenario: testScenario() });
});
afterAll(() => sim.close());

async function repositories(server: Simulator, node: string): Promise<Entry> {
  const res = await api(server, { path: `/nodes/${node}/apt/repositories`, token: server.tokens.auditor });
  expect(res.status, res.raw).toBe(200);
  return res.body.data;
}

/** handle -> status, for the configured standard repositories. */
function statuses(answer: Entry): Record<string, boolean> {
  return Object.fromEntries(
    answer["standard-repos"]
      .filter((r: Entry) => "status" in r)
      .map((r: Entry) => [r["handle"], r["status"]]),
  );
}

/** "path: URI component enabled" per repository, in file order. */
function entries(answer: Entry): string[] {
  return answer["files"].flatMap((f: Entry) =>
    f["repositories"].map(
      (r: Entry) => `${f["path"]}: ${r["URIs"].join(" ")} ${r["Components"].join(" ")} ${r["Enabled"]}`,
    ),
  );
}

describe("the demo's nodes", () => {
  it("pve2: enterprise disabled in place (Enabled: false), no-subscription added in proxmox.sources", async () => {
    const answer = await repositories(sim, "pve2");
    // The bookworm sources.list left by the upgrade comes first, as proxmox-apt reads it first.
    expect(entries(answer)).toEqual([
      "/etc/apt/sources.list: http://ftp.debian.org/debian main contrib true",
      "/etc/apt/sources.list: http://ftp.debian.org/debian main contrib true",
      "/etc/apt/sources.list: http://security.debian.org main contrib true",
      "/etc/apt/sources.list.d/debian.sources: http://deb.debian.org/debian/ main contrib non-free-firmware true",
      "/etc/apt/sources.list.d/pve-enterprise.sources: https://enterprise.proxmox.com/debian/pve pve-enterprise false",
      "/etc/apt/sources.list.d/proxmox.sources: http://download.proxmox.com/debian/pve pve-no-subscription true",
      "/etc/apt/sources.list.d/proxmox.sources: http://download.proxmox.com/debian/pve pve-test false",
    ]);
    const enterprise = answer["files"][2]["repositories"][0];
    expect(enterprise).toEqual({
      Types: ["deb"],
      URIs: ["https://enterprise.proxmox.com/debian/pve"],
      Suites: ["trixie"],
      Components: ["pve-enterprise"],
      Options: [
        { Key: "Signed-By", Values: ["/usr/share/keyrings/proxmox-archive-keyring.gpg"] },
        { Key: "Enabled", Values: ["false"] },
      ],
      FileType: "sources",
      Enabled: false,
    });
    expect(answer["standard-repos"].map((r: Entry) => r["handle"])).toEqual(TRIXIE_HANDLES);
    expect(statuses(answer)).toEqual({ enterprise: false, "no-subscription": true, test: false });
    expect(answer["standard-repos"][3]).toEqual({
      handle: "ceph-squid-enterprise",
      name: "Ceph Squid Enterprise",
      description: "This repository holds the production-ready Proxmox Ceph Squid packages.",
    });
    expect(answer["errors"]).toEqual([]);
  });

  it("pve1: enterprise and test enabled; per file the suite warnings (of disabled entries too), then an origin per repository", async () => {
    const answer = await repositories(sim, "pve1");
    expect(statuses(answer)).toEqual({ enterprise: true, test: true });
    const old = (index: number) => ({
      path: "/etc/apt/sources.list",
      index,
      property: "Suites",
      kind: "warning",
      message: "old suite 'bookworm' configured!",
    });
    const origin = (path: string, message: string) => ({ path, index: 0, kind: "origin", message });
    expect(answer["infos"]).toEqual([
      old(0),
      old(1),
      origin("/etc/apt/sources.list", "Debian"),
      { ...origin("/etc/apt/sources.list", "Debian"), index: 1 },
      origin("/etc/apt/sources.list.d/debian.sources", "Debian"),
      origin("/etc/apt/sources.list.d/pve-enterprise.sources", "Proxmox"),
      origin("/etc/apt/sources.list.d/proxmox.sources", "Proxmox"),
      origin("/etc/apt/sources.list.d/security-mirror.sources", "Debian"),
    ]);
  });

  it("digests: SHA-256 bytes per file, the common one in hex over them in path order; they follow the content", async () => {
    const [pve1, pve2] = [await repositories(sim, "pve1"), await repositories(sim, "pve2")];
    for (const answer of [pve1, pve2]) {
      for (const file of answer["files"]) {
        expect(file["digest"]).toHaveLength(32);
        expect(file["digest"].every((b: number) => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true);
      }
      const byPath = [...answer["files"]].sort((a: Entry, b: Entry) => (a["path"] < b["path"] ? -1 : 1));
      const common = createHash("sha256")
        .update(Buffer.concat(byPath.map((f: Entry) => Buffer.from(f["digest"]))))
        .digest("hex");
      expect(answer["digest"]).toBe(common);
    }
    // The same debian.sources, a different sources.list.
    expect(pve1["files"][1]["digest"]).toEqual(pve2["files"][1]["digest"]);
    expect(pve1["files"][0]["digest"]).not.toEqual(pve2["files"][0]["digest"]);
    expect((await repositories(sim, "pve2"))["digest"]).toBe(pve2["digest"]);
  });

  it("needs Sys.Audit on the node: 403 with PVE's text, before the node is forwarded to (pve3 offline)", async () => {
    for (const node of ["pve1", "pve3"]) {
      const res = await api(sim, { path: `/nodes/${node}/apt/repositories`, token: TEST_TOKENS.empty });
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(`Permission check failed (/nodes/${node}, Sys.Audit)\n`);
    }
    const oneNode = await api(sim, { path: "/nodes/pve2/apt/repositories", token: TEST_TOKENS.oneNode });
    expect(oneNode.status).toBe(200);
  });

  it("an offline node: the proxy's 595, empty body", async () => {
    const res = await api(sim, { path: "/nodes/pve3/apt/repositories", token: sim.tokens.auditor });
    expect(res.status).toBe(595);
    expect(res.raw).toBe("");
  });
});

describe("a node without aptRepositories is a fresh install", () => {
  let clean: Simulator;
  beforeAll(async () => {
    clean = await startSimulator({ scenario: cleanScenario() });
  });
  afterAll(() => clean.close());

  it("PVE 9: pve-enterprise.sources and ceph.sources (Ceph Squid) enabled beside debian.sources", async () => {
    const answer = await repositories(clean, "pve1");
    expect(entries(answer)).toEqual([
      "/etc/apt/sources.list.d/debian.sources: http://deb.debian.org/debian/ main contrib non-free-firmware true",
      "/etc/apt/sources.list.d/debian.sources: http://security.debian.org/debian-security/ main contrib non-free-firmware true",
      "/etc/apt/sources.list.d/pve-enterprise.sources: https://enterprise.proxmox.com/debian/pve pve-enterprise true",
      "/etc/apt/sources.list.d/ceph.sources: https://enterprise.proxmox.com/debian/ceph-squid enterprise true",
    ]);
    expect(statuses(answer)).toEqual({ enterprise: true, "ceph-squid-enterprise": true });
    expect(answer["files"][2]["repositories"][0]["Options"]).toEqual([
      { Key: "Signed-By", Values: ["/usr/share/keyrings/proxmox-archive-keyring.gpg"] },
    ]);
  });
});

describe("PVE 8: bookworm's one-line .list files", () => {
  let pve8: Simulator;
  beforeAll(async () => {
    const scenario = testScenario();
    scenario.nodes[0]!.aptRepositories = { enterprise: true, test: true };
    pve8 = await startSimulator({ scenario, pve: 8 });
  });
  afterAll(() => pve8.close());

  it("Debian and added PVE repositories in sources.list, enterprise commented out in pve-enterprise.list", async () => {
    // A stock 8.4 node: the scenario's PVE 9 leftovers and missing security entry are not its own.
    const answer = await repositories(pve8, "pve2");
    expect(entries(answer)).toEqual([
      "/etc/apt/sources.list: http://ftp.debian.org/debian main contrib true",
      "/etc/apt/sources.list: http://ftp.debian.org/debian main contrib true",
      "/etc/apt/sources.list: http://security.debian.org main contrib true",
      "/etc/apt/sources.list: http://download.proxmox.com/debian/pve pve-no-subscription true",
      "/etc/apt/sources.list: http://download.proxmox.com/debian/pve pvetest false",
      "/etc/apt/sources.list.d/pve-enterprise.list: https://enterprise.proxmox.com/debian/pve pve-enterprise false",
    ]);
    const [, , security, , , enterprise] = answer["files"].flatMap((f: Entry) => f["repositories"]);
    expect(security).toEqual({
      Types: ["deb"],
      URIs: ["http://security.debian.org"],
      Suites: ["bookworm-security"],
      Components: ["main", "contrib"],
      Comment: " security updates\n",
      FileType: "list",
      Enabled: true,
    });
    expect(enterprise).not.toHaveProperty("Options");
    expect(enterprise["Components"]).toEqual(["pve-enterprise"]);
    // Current suites only: proxmox-apt has nothing to say but the origins.
    expect(answer["infos"].filter((i: Entry) => i["kind"] !== "origin")).toEqual([]);
    expect(answer["standard-repos"]).toHaveLength(12);
    expect(answer["standard-repos"][4]).toEqual({
      handle: "ceph-quincy-no-subscription",
      name: "Ceph Quincy No-Subscription",
      description:
        "This repository holds the Proxmox Ceph Quincy packages intended for non-production use. The deprecated 'main' repository is an alias for this in Proxmox VE 8.",
    });
  });

  it("the test repository is pvetest, and a fresh PVE 8 has Ceph Quincy enterprise in ceph.list", async () => {
    expect(entries(await repositories(pve8, "pve1")).slice(3)).toEqual([
      "/etc/apt/sources.list: http://download.proxmox.com/debian/pve pvetest true",
      "/etc/apt/sources.list.d/pve-enterprise.list: https://enterprise.proxmox.com/debian/pve pve-enterprise true",
    ]);
    const fresh = await startSimulator({ scenario: cleanScenario(), pve: 8 });
    try {
      expect(statuses(await repositories(fresh, "pve1"))).toEqual({
        enterprise: true,
        "ceph-quincy-enterprise": true,
      });
    } finally {
      await fresh.close();
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

/**
 * Where `value` departs from PVE's `returns` schema. PVE does not verify its answers against
 * it, and proxmox-apt returns two things the schema does not say: `description` on each
 * standard repository, and `index` as an integer (a Rust usize) where the schema says string.
 */
function schemaProblems(schema: ReturnSchema, value: unknown, path: string): string[] {
  const leniency: Record<string, string> = {
    "standard-repos[].description": "string",
    "infos[].index": "integer",
  };
  const key = path.replace(/^data\./, "");
  const type = leniency[key] ?? schema.type;
  if (type === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      return [`${path}: not an object`];
    const properties = schema.properties ?? {};
    const object = value as Record<string, unknown>;
    return [
      ...Object.keys(object)
        .filter((k) => !(k in properties) && !(`${key}.${k}` in leniency))
        .map((k) => `${path}.${k}: not in the schema`),
      ...Object.entries(object).flatMap(([k, v]) => schemaProblems(properties[k] ?? {}, v, `${path}.${k}`)),
      ...Object.entries(properties)
        .filter(([k, p]) => !(k in object) && !p.optional)
        .map(([k]) => `${path}.${k}: missing`),
    ];
  }
  if (type === "array") {
    if (!Array.isArray(value)) return [`${path}: not an array`];
    return value.flatMap((item) => schemaProblems(schema.items ?? {}, item, `${path}[]`));
  }
  if (type === "string") {
    if (typeof value !== "string") return [`${path}: not a string`];
    return schema.enum && !schema.enum.includes(value) ? [`${path}: ${value} not in ${schema.enum}`] : [];
  }
  if (type === "boolean") return typeof value === "boolean" ? [] : [`${path}: not a boolean`];
  if (type === "integer") return Number.isInteger(value) ? [] : [`${path}: not an integer`];
  return [];
}

describe.skipIf(!HAVE_SHARED)(
  `the answer follows PVE's returns schema${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`,
  () => {
    const returns = HAVE_SHARED
      ? readShared<Record<string, { GET: { returns: ReturnSchema } }>>("pve-api-flat.json")[
          "/nodes/{node}/apt/repositories"
        ]!.GET.returns
      : {};

    it("PVE 9 (pve1, pve2) and PVE 8 (pve2): every key declared, every required key present, types right", async () => {
      const pve8 = await startSimulator({ scenario: testScenario(), pve: 8 });
      try {
        for (const answer of [
          await repositories(sim, "pve1"),
          await repositories(sim, "pve2"),
          await repositories(pve8, "pve2"),
        ]) {
          expect(schemaProblems(returns, answer, "data")).toEqual([]);
        }
      } finally {
        await pve8.close();
      }
    });

    it("the comparison can fail: a wrong type, an unknown key and a missing key are caught", async () => {
      const answer = await repositories(sim, "pve2");
      answer["files"][0]["file-type"] = "ini";
      answer["files"][0]["repositories"][0]["Enabled"] = 1;
      answer["infos"][0]["extra"] = "x";
      delete answer["digest"];
      expect(schemaProblems(returns, answer, "data")).toEqual([
        "data.infos[].extra: not in the schema",
        "data.files[].file-type: ini not in list,sources",
        "data.files[].repositories[].Enabled: not a boolean",
        "data.digest: missing",
      ]);
    });
  },
);
