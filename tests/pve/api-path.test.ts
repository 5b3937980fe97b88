/**
 * parseApiPath, the raw API tool's path check: hostile paths are refused with one
 * actionable line and nothing reaches the simulator; valid paths come back with their
 * template, parameters and a percent-encoded path; every endpoint of the generated list
 * routes to itself; and the generated list is Proxmox's own schema (skipped without ../shared).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { PveAdmin } from "../../src/pve/admin.js";
import {
  API_ENDPOINT_COUNTS,
  API_ENDPOINT_TOTAL,
  API_METHODS,
  parseApiPath,
  type CheckedApiPath,
} from "../../src/pve/api-path.js";
import { API_PATHS } from "../../src/pve/api-paths.js";
import type { ApiMethod } from "../../src/pve/api-path.js";
import { PveInputError } from "../../src/pve/errors.js";
import { RULES } from "../../src/pve/formats.js";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { HAVE_SHARED, readShared, SKIP_REASON } from "../helpers/shared.js";

const UPID = "UPID:pve1:0000A1B2:0001C3D4:6650F00D:qmstart:100:root@pam:";

function refusal(method: ApiMethod, input: string): PveInputError {
  try {
    parseApiPath(method, input);
  } catch (err) {
    expect(err).toBeInstanceOf(PveInputError);
    return err as PveInputError;
  }
  throw new Error(`expected ${method} ${JSON.stringify(input)} to be refused`);
}

describe("hostile paths", () => {
  let sim: Simulator;
  let admin: PveAdmin;
  beforeAll(async () => {
    sim = await startSimulator({ scenario: "demo" });
    admin = new PveAdmin({
      host: sim.host,
      port: sim.port,
      tokenId: sim.tokens.admin.id,
      tokenSecret: new Secret(sim.tokens.admin.secret),
      tls: { mode: "fingerprint", fingerprint: sim.fingerprint },
      timeoutMs: 5_000,
    });
  });
  afterAll(async () => {
    await admin?.close();
    await sim?.close();
  });

  const hostile: [string, ApiMethod, string, RegExp][] = [
    ["dot-dot segments", "GET", "/nodes/pve1/../../access/users", /'\.' or '\.\.' segments/],
    ["a dot segment", "GET", "/./version", /'\.' or '\.\.' segments/],
    [
      "dot-dot in a volume (which takes the rest of the path)",
      "DELETE",
      "/nodes/pve1/storage/local/content/local:iso/../../x",
      /'\.\.'/,
    ],
    ["an encoded slash", "GET", "/nodes/pve1%2F..", /'%' \(character 12\): write the path unencoded/],
    ["an encoded dot-dot", "GET", "/nodes/%2e%2e/status", /'%'/],
    ["a query", "GET", "/version?x=1", /'\?' \(character 9\): pass parameters in params/],
    ["a fragment", "GET", "/version#a", /'#'/],
    ["a backslash", "GET", "/nodes/pve1\\x", /backslash/],
    ["a space", "GET", "/nodes/ pve1/status", /whitespace \(character 8\)/],
    ["a tab", "GET", "/nodes/pve1/status\t", /whitespace/],
    ["a newline", "POST", "/nodes/pve1/qemu/100/status/start\n", /whitespace/],
    ["a NUL", "GET", "/version\u0000", /control characters/],
    ["DEL", "GET", "/vers\u007fion", /control characters/],
    ["a C1 control", "GET", "/version\u0085", /control characters|whitespace/],
    ["an escape sequence", "GET", "/nodes/\u001b[31mpve1/status", /control characters/],
    ["Cyrillic look-alikes", "GET", "/nodes/\u0440v\u04351/status", /plain ASCII \(character 8\)/],
    ["a fullwidth solidus", "GET", "/nodes/pve1\uff0fstatus", /plain ASCII/],
    ["a division slash", "GET", "/nodes/pve1\u2215status", /plain ASCII/],
    ["a zero-width space", "GET", "/version\u200b", /plain ASCII/],
    ["a fullwidth dot-dot", "GET", "/nodes/\uff0e\uff0e/status", /plain ASCII/],
    ["an empty segment", "GET", "//version", /empty segments/],
    ["an empty inner segment", "GET", "/nodes//status", /empty segments/],
    ["two trailing slashes", "GET", "/version//", /empty segments/],
    ["no leading slash", "GET", "version", /must start with \//],
    ["a full URL", "GET", "https://pve1:8006/api2/json/version", /must start with \//],
    ["an empty path", "GET", "", /must start with \//],
    ["2000 characters", "GET", `/nodes/${"p".repeat(1993)}`, /at most 1024 characters/],
    [
      "a leading zero in vmid",
      "GET",
      "/nodes/pve1/qemu/0100/status/current",
      /segment 4 \(\{vmid\}\) must be a VM ID/,
    ],
    ["a vmid below 100", "POST", "/nodes/pve1/qemu/99/status/start", /\{vmid\}/],
    ["a bad node name", "GET", "/nodes/-pve1/status", /segment 2 \(\{node\}\) must be a PVE node name/],
    ["a template instead of a value", "GET", "/nodes/{node}/status", /\{node\}\) must be a PVE node name/],
    ["a node with a port", "GET", "/nodes/pve1:8006/status", /\{node\}/],
    ["a bad UPID", "GET", "/nodes/pve1/tasks/UPID:pve1:nothex/status", /\{upid\}\) must be a task ID/],
    ["a bad storage id", "GET", "/nodes/pve1/storage/1local/status", /\{storage\}\) must be a storage ID/],
    [
      "a bad snapshot name",
      "DELETE",
      "/nodes/pve1/qemu/100/snapshot/x",
      /\{snapname\}\) must be a snapshot name/,
    ],
    ["a bad user id", "GET", "/access/users/root", /\{userid\}\) must be a user ID/],
    [
      "a shell character in a plain variable",
      "GET",
      "/cluster/sdn/zones/a$b",
      /segment 4 \(\{zone\}\) may only hold/,
    ],
    ["a quote in a plain variable", "GET", "/cluster/sdn/zones/a'b", /may only hold/],
    ["an unknown action", "POST", "/nodes/pve1/qemu/100/status/explode", /is not a Proxmox VE API endpoint/],
    ["a start with GET", "GET", "/nodes/pve1/qemu/100/status/start", /exists for POST only/],
    ["a status read with POST", "POST", "/nodes/pve1/qemu/100/status/current", /exists for GET only/],
    ["the wrong case", "GET", "/Version", /not a Proxmox VE API endpoint/],
    ["another API format", "GET", "/api2/extjs/version", /not a Proxmox VE API endpoint/],
    ["the API root", "GET", "/api2/json", /not a Proxmox VE API endpoint/],
    ["the root", "GET", "/", /not a Proxmox VE API endpoint/],
    ["a path below a leaf", "GET", "/version/x", /not a Proxmox VE API endpoint/],
    ["a path below a one-segment variable", "GET", "/cluster/sdn/zones/a/b", /not a Proxmox VE API endpoint/],
    [
      "a shell character after a CIDR",
      "DELETE",
      "/cluster/firewall/ipset/x/10.0.0.0/24;reboot",
      /segment 6 \(\{cidr\}\) may only hold/,
    ],
  ];

  it.each(hostile)("refuses %s and sends nothing", async (_label, method, input, message) => {
    const before = sim.requests().length;
    const err = refusal(method, input);
    expect(err.field).toBe("path");
    expect(err.message).toMatch(message);
    expect(err.message.split("\n")).toHaveLength(1);
    // What a tool would do with it: nothing reaches PVE.
    const send = async () => admin.requestPath(method, parseApiPath(method, input).path);
    await expect(send()).rejects.toThrow(PveInputError);
    expect(sim.requests().length).toBe(before);
  });

  it("never echoes a value that broke a format rule", () => {
    const err = refusal("GET", "/nodes/pve1/qemu/0100/status/current");
    expect(err.message).toBe(`path: segment 4 ({vmid}) ${RULES.vmid}`);
    expect(err.message).not.toContain("0100");
  });

  it("says exactly what is wrong when the endpoint does not exist", () => {
    expect(refusal("POST", "/nodes/pve1/qemu/100/status/explode").message).toBe(
      "path: POST /nodes/pve1/qemu/100/status/explode is not a Proxmox VE API endpoint " +
        "(see https://pve.proxmox.com/pve-docs/api-viewer/); check the path and method",
    );
    expect(refusal("GET", "/nodes/pve1/qemu/100/status/start").message).toBe(
      "path: GET /nodes/pve1/qemu/100/status/start is not a Proxmox VE API endpoint: that path exists for POST only",
    );
    expect(refusal("PUT", "/nodes/pve1/qemu/100/snapshot").message).toMatch(/exists for GET and POST only$/);
    expect(refusal("DELETE", "/nodes/pve1/qemu/100/config").message).toMatch(
      /exists for GET, POST and PUT only$/,
    );
  });

  it("counts segments as the input has them, /api2/json included", () => {
    expect(refusal("GET", "/api2/json/nodes/pve1/qemu/0100/status/current").message).toMatch(/segment 6/);
  });

  it("refuses an unknown method and a non-string path", () => {
    expect(() => parseApiPath("PATCH" as ApiMethod, "/version")).toThrow(
      /method: must be GET, POST, PUT or DELETE/,
    );
    expect(() => parseApiPath("GET", 42 as unknown as string)).toThrow(PveInputError);
  });
});

describe("valid paths", () => {
  const valid: [ApiMethod, string, string, Record<string, string>, string][] = [
    ["GET", "/version", "/version", {}, "/version"],
    ["GET", "/api2/json/version", "/version", {}, "/version"],
    ["GET", "/cluster/resources", "/cluster/resources", {}, "/cluster/resources"],
    ["GET", "/cluster/resources/", "/cluster/resources", {}, "/cluster/resources"],
    [
      "POST",
      "/nodes/pve1/qemu/100/status/start",
      "/nodes/{node}/qemu/{vmid}/status/start",
      { node: "pve1", vmid: "100" },
      "/nodes/pve1/qemu/100/status/start",
    ],
    [
      "GET",
      `/nodes/pve1/tasks/${UPID}/status`,
      "/nodes/{node}/tasks/{upid}/status",
      { node: "pve1", upid: UPID },
      `/nodes/pve1/tasks/${encodeURIComponent(UPID)}/status`,
    ],
    [
      "DELETE",
      "/nodes/pve1/lxc/200/snapshot/before_upgrade",
      "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
      { node: "pve1", vmid: "200", snapname: "before_upgrade" },
      "/nodes/pve1/lxc/200/snapshot/before_upgrade",
    ],
    [
      "DELETE",
      "/access/users/mcp@pve/token/readonly",
      "/access/users/{userid}/token/{tokenid}",
      { userid: "mcp@pve", tokenid: "readonly" },
      "/access/users/mcp%40pve/token/readonly",
    ],
    [
      "GET",
      "/nodes/pve1/storage/local/content/local:iso/debian-13.iso",
      "/nodes/{node}/storage/{storage}/content/{volume}",
      { node: "pve1", storage: "local", volume: "local:iso/debian-13.iso" },
      "/nodes/pve1/storage/local/content/local%3Aiso/debian-13.iso",
    ],
    [
      "DELETE",
      "/nodes/pve1/storage/pbs/content/pbs:backup/vm/100/2026-01-01T00:00:00Z",
      "/nodes/{node}/storage/{storage}/content/{volume}",
      { node: "pve1", storage: "pbs", volume: "pbs:backup/vm/100/2026-01-01T00:00:00Z" },
      "/nodes/pve1/storage/pbs/content/pbs%3Abackup/vm/100/2026-01-01T00%3A00%3A00Z",
    ],
    [
      "DELETE",
      "/cluster/firewall/ipset/blocklist/10.0.0.0/24",
      "/cluster/firewall/ipset/{name}/{cidr}",
      { name: "blocklist", cidr: "10.0.0.0/24" },
      "/cluster/firewall/ipset/blocklist/10.0.0.0/24",
    ],
    [
      "PUT",
      "/nodes/pve1/qemu/100/firewall/ipset/v6/fd00::/64",
      "/nodes/{node}/qemu/{vmid}/firewall/ipset/{name}/{cidr}",
      { node: "pve1", vmid: "100", name: "v6", cidr: "fd00::/64" },
      "/nodes/pve1/qemu/100/firewall/ipset/v6/fd00%3A%3A/64",
    ],
    [
      "PUT",
      "/cluster/sdn/zones/zone1",
      "/cluster/sdn/zones/{zone}",
      { zone: "zone1" },
      "/cluster/sdn/zones/zone1",
    ],
  ];

  it.each(valid)("%s %s", (method, input, template, params, path) => {
    const parsed = parseApiPath(method, input);
    expect(parsed).toEqual({ path, template, params });
  });

  it("routes every endpoint of the list to itself, with sample values", () => {
    const samples: Record<string, string> = {
      node: "pve1",
      vmid: "100",
      storage: "local",
      snapname: "snap1",
      upid: UPID,
      userid: "root@pam",
      volume: "local:iso/a.iso",
      cidr: "10.0.0.0/24",
    };
    let checked = 0;
    for (const method of API_METHODS) {
      for (const template of API_PATHS[method]) {
        const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) => samples[name] ?? "x1");
        const parsed = parseApiPath(method, path);
        expect(parsed.template, `${method} ${path}`).toBe(template);
        checked++;
      }
    }
    expect(checked).toBe(API_ENDPOINT_TOTAL);
  });

  it("returns a path that is only ever made by parseApiPath (type-level brand)", () => {
    const parsed = parseApiPath("GET", "/version");
    const ok: CheckedApiPath = parsed.path;
    // @ts-expect-error a plain string is not a CheckedApiPath
    const forged: CheckedApiPath = "/version";
    expect([ok, forged]).toEqual(["/version", "/version"]);
  });
});

describe("the generated endpoint list", () => {
  it("is sorted, without duplicates, and counted", () => {
    for (const method of API_METHODS) {
      const list = API_PATHS[method];
      expect([...list].sort()).toEqual(list);
      expect(new Set(list).size).toBe(list.length);
      expect(API_ENDPOINT_COUNTS[method]).toBe(list.length);
    }
    expect(API_ENDPOINT_TOTAL).toBe(API_METHODS.reduce((n, m) => n + API_PATHS[m].length, 0));
  });

  it.skipIf(!HAVE_SHARED)(
    `equals Proxmox's API schema (pve-api-flat.json)${HAVE_SHARED ? "" : ` (${SKIP_REASON})`}`,
    () => {
      const flat = readShared<Record<string, Record<string, unknown>>>("pve-api-flat.json");
      const expected: Record<string, string[]> = { GET: [], POST: [], PUT: [], DELETE: [] };
      for (const [path, methods] of Object.entries(flat)) {
        for (const method of Object.keys(methods)) expected[method]!.push(path);
      }
      for (const list of Object.values(expected)) list.sort();
      expect(Object.keys(expected).sort()).toEqual([...API_METHODS].sort());
      expect({ ...API_PATHS }).toEqual(expected);
    },
  );
});
