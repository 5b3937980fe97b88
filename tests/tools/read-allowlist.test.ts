/**
 * The raw GET tool's allow-list (src/pve/read-allowlist.ts): every GET endpoint of PVE's
 * schema is either allowed or in exactly one refused group with a reason; nothing is
 * classified that does not exist; the endpoints the issue names are refused; no allowed
 * endpoint takes a parameter that names a URL, host, file or credential; every "instead"
 * points at a read tool or an allowed endpoint; README and the tool say how many there are.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_PATHS } from "../../src/pve/api-paths.js";
import { PveInputError } from "../../src/pve/errors.js";
import {
  assertReadAllowed,
  READ_ALLOWED,
  readVerdict,
  REFUSED_GROUPS,
  REFUSED_PARAMS,
} from "../../src/pve/read-allowlist.js";
import { proxmoxApiGet } from "../../src/tools/api.js";
import { ALL_TOOLS } from "../../src/tools/inventory.js";
import { HAVE_SHARED, readShared, SKIP_REASON } from "../helpers/shared.js";

const refusedTemplates = REFUSED_GROUPS.flatMap((g) => g.templates);

function refusal(template: string, params: string[] = []): PveInputError {
  try {
    assertReadAllowed(template, params);
  } catch (err) {
    expect(err).toBeInstanceOf(PveInputError);
    return err as PveInputError;
  }
  throw new Error(`expected GET ${template} to be refused`);
}

describe("the partition of PVE's GET endpoints", () => {
  it("puts every GET template in the allow-list or in exactly one refused group", () => {
    const classified = [...READ_ALLOWED, ...refusedTemplates];
    expect(new Set(classified).size).toBe(classified.length);
    expect([...classified].sort()).toEqual([...API_PATHS.GET]);
  });

  it("is default-deny: a template on neither list is refused", () => {
    const verdict = readVerdict("/nodes/{node}/some-future-endpoint");
    expect(verdict.allowed).toBe(false);
    expect(refusal("/nodes/{node}/some-future-endpoint").message).toBe(
      "path: GET /nodes/{node}/some-future-endpoint is refused by this read-only tool (unlisted): not on the curated list of audit endpoints",
    );
  });

  it("gives every group a unique name and a one-line reason", () => {
    const names = REFUSED_GROUPS.map((g) => g.name);
    expect(new Set(names).size).toBe(names.length);
    for (const group of REFUSED_GROUPS) {
      expect(group.name).toMatch(/^[a-z][a-z-]+$/);
      expect(group.templates.length, group.name).toBeGreaterThan(0);
      for (const text of [group.reason, group.instead ?? ""]) expect(text).not.toMatch(/[\n\r]/);
    }
  });

  it("refuses what the security review found, each in the group that says why", () => {
    const groupOf = (template: string) => {
      const verdict = readVerdict(template);
      return verdict.allowed ? "allowed" : verdict.group.name;
    };
    const notification = API_PATHS.GET.filter((t) => t.startsWith("/cluster/notifications/endpoints"));
    expect(notification.length).toBe(9);
    for (const t of notification) expect(groupOf(t), t).toBe("notification-secrets");
    expect(groupOf("/nodes/{node}/qemu/{vmid}/cloudinit/dump")).toBe("cloud-init");
    expect(groupOf("/nodes/{node}/report")).toBe("node-report");
    for (const t of ["/cluster/acme/tos", "/cluster/acme/meta", "/nodes/{node}/query-url-metadata"])
      expect(groupOf(t), t).toBe("remote-fetch");
    for (const t of API_PATHS.GET.filter((t) => t.startsWith("/nodes/{node}/scan")))
      expect(groupOf(t), t).toBe("storage-scan");
    // Sessions, not data, wherever they sit in the tree.
    for (const t of API_PATHS.GET.filter((t) => /vnc|spice|termproxy|websocket|ticket|openid/.test(t)))
      expect(groupOf(t), t).toBe("login-console");
  });

  it("keeps what an audit reads", () => {
    for (const template of [
      "/version",
      "/cluster/resources",
      "/cluster/status",
      "/cluster/options",
      "/nodes/{node}/status",
      "/nodes/{node}/qemu/{vmid}/config",
      "/nodes/{node}/lxc/{vmid}/config",
      "/storage",
      "/storage/{storage}",
      "/access/acl",
      "/access/users",
      "/access/groups",
      "/access/roles",
      "/access/permissions",
      "/access/domains",
      "/cluster/backup",
      "/cluster/backup-info/not-backed-up",
      "/cluster/replication",
      "/cluster/ha/status/current",
      "/cluster/firewall/rules",
      "/nodes/{node}/firewall/options",
      "/nodes/{node}/tasks/{upid}/log",
      "/nodes/{node}/apt/repositories",
      "/nodes/{node}/apt/versions",
      "/nodes/{node}/certificates/info",
      "/cluster/ceph/status",
      "/cluster/sdn/zones",
      "/pools",
      "/nodes/{node}/hardware/pci",
      "/nodes/{node}/disks/list",
    ]) {
      expect(readVerdict(template), template).toEqual({ allowed: true });
      expect(() => assertReadAllowed(template, [])).not.toThrow();
    }
  });
});

describe("refused parameters", () => {
  it("apply only to allowed endpoints (a refused endpoint never gets that far)", () => {
    for (const template of Object.keys(REFUSED_PARAMS)) expect(READ_ALLOWED).toContain(template);
  });

  it("refuse with one line naming the parameter, the endpoint and the reason", () => {
    for (const [template, params] of Object.entries(REFUSED_PARAMS)) {
      for (const [name, reason] of Object.entries(params)) {
        expect(refusal(template, ["limit", name]).message).toBe(
          `params: ${name} is refused for GET ${template}: ${reason}`,
        );
      }
    }
  });

  it("leave the other parameters alone", () => {
    expect(() => assertReadAllowed("/nodes/{node}/tasks/{upid}/log", ["start", "limit"])).not.toThrow();
    // A name that only an inherited property of a plain object has.
    expect(() => assertReadAllowed("/nodes/{node}/tasks/{upid}/log", ["constructor"])).not.toThrow();
  });
});

describe("what to use instead", () => {
  const readTools = new Set(ALL_TOOLS.filter((t) => t.tier === "read").map((t) => t.name));

  it("names read tools that exist and endpoints that are allowed", () => {
    let named = 0;
    for (const group of REFUSED_GROUPS) {
      if (!group.instead) continue;
      const tools = group.instead.match(/\b(?:get|security)_[a-z_]+/g) ?? [];
      const endpoints = group.instead.match(/\/[A-Za-z0-9{}/_.-]+/g) ?? [];
      expect(tools.length + endpoints.length, group.name).toBeGreaterThan(0);
      for (const tool of tools) expect(readTools, `${group.name}: ${tool}`).toContain(tool);
      for (const endpoint of endpoints)
        expect(READ_ALLOWED, `${group.name}: ${endpoint}`).toContain(endpoint);
      named += tools.length + endpoints.length;
    }
    expect(named).toBeGreaterThan(0);
  });
});

describe("the count, where people read it", () => {
  const count = `${READ_ALLOWED.length} curated audit endpoints`;

  it("is in the tool's description", () => {
    expect(proxmoxApiGet.description).toContain(count);
  });

  it("is in README's row of proxmox_api_get", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const rows = readme.split("\n").filter((line) => line.startsWith("| `proxmox_api_get"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(count);
  });
});

describe.skipIf(!HAVE_SHARED)(
  `against Proxmox's API schema (pve-api-flat.json)${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`,
  () => {
    interface Param {
      type?: string;
      format?: unknown;
      description?: string;
    }
    type Flat = Record<string, { GET?: { parameters?: { properties?: Record<string, Param> } } }>;
    const flat = HAVE_SHARED ? readShared<Flat>("pve-api-flat.json") : {};
    const schemaGets = Object.keys(flat)
      .filter((path) => flat[path]?.GET)
      .sort();

    it("classifies every GET endpoint, and nothing else", () => {
      expect([...READ_ALLOWED, ...refusedTemplates].sort()).toEqual(schemaGets);
    });

    it("allows no endpoint taking a parameter that names a URL, host, file or credential, unless refused", () => {
      const risky = /url|uri|server|host|portal|directory|reference|password|secret|token|key|file|download/i;
      // Parameters whose name or description matched, read one by one: why each is harmless.
      const reviewed: Record<string, string> = {
        "/access/permissions userid": "a user or token ID whose permissions to show",
        "/access/users full": "adds groups and token settings, never a token secret",
        "/cluster/firewall/refs type": "alias or ipset",
        "/nodes/{node}/lxc/{vmid}/firewall/refs type": "alias or ipset",
        "/nodes/{node}/qemu/{vmid}/firewall/refs type": "alias or ipset",
        "/cluster/mapping/dir check-node": "a node name: the mapping is checked there",
        "/nodes/{node}/capabilities/qemu/cpu arch": "x86_64 or aarch64",
        "/nodes/{node}/capabilities/qemu/cpu-flags arch": "x86_64 or aarch64",
        "/nodes/{node}/capabilities/qemu/machines arch": "x86_64 or aarch64",
      };
      const matched: string[] = [];
      for (const template of READ_ALLOWED) {
        const properties = flat[template]?.GET?.parameters?.properties ?? {};
        for (const [name, param] of Object.entries(properties)) {
          if (template.includes(`{${name}}`)) continue;
          if (!risky.test(`${name} ${param.description ?? ""}`)) continue;
          const key = `${template} ${name}`;
          matched.push(key);
          const refused = REFUSED_PARAMS[template]?.[name];
          expect(
            refused ?? reviewed[key],
            `${key}: refuse it, or say in \`reviewed\` why it is harmless`,
          ).toBeDefined();
        }
      }
      expect(matched).toContain("/nodes/{node}/tasks/{upid}/log download");
      for (const key of Object.keys(reviewed)) expect(matched, `stale review: ${key}`).toContain(key);
    });

    it("refuses only parameters the endpoint has", () => {
      for (const [template, params] of Object.entries(REFUSED_PARAMS)) {
        const properties = flat[template]?.GET?.parameters?.properties ?? {};
        for (const name of Object.keys(params))
          expect(properties, `${template} ${name}`).toHaveProperty(name);
      }
    });
  },
);
