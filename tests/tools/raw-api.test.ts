/**
 * proxmox_api with a stand-in admin client: credentials PVE shows once (a new token's
 * secret, a login ticket) never reach the model, a task id is kept for the audit log,
 * and SSH public keys (they decide who gets in) are confirmed as type, fingerprint and
 * comment, never "[redacted]" and never the key's text.
 */
import { describe, expect, it } from "vitest";
import type { Config, DangerousConfig } from "../../src/config/types.js";
import { Secret } from "../../src/config/secret.js";
import type { PveAdmin } from "../../src/pve/admin.js";
import type { DangerousContext, DangerousEffect } from "../../src/tools/define.js";
import { proxmoxApi } from "../../src/tools/dangerous/raw-api.js";

function context(answer: unknown = null) {
  const sent: string[] = [];
  const requests: { method: string; path: string; options: unknown }[] = [];
  const summaries: string[] = [];
  const effects: DangerousEffect[] = [];
  const admin = {
    requestPath(method: string, path: string, options: unknown) {
      sent.push(`${method} ${path}`);
      requests.push({ method, path, options });
      return Promise.resolve(answer);
    },
  } as unknown as PveAdmin;
  const dangerous: DangerousConfig = {
    adminTokenId: "automation@pve!mcp-admin",
    adminTokenSecret: new Secret("5e8a2d9c-3b7f-4a1e-9c6d-8f0b2e4a7d51"),
    confirm: "required",
  };
  const ctx: DangerousContext = {
    admin,
    config: {} as Config,
    dangerous,
    signal: new AbortController().signal,
    confirm: (summary) => {
      summaries.push(summary);
      return Promise.resolve();
    },
    recordEffect: (e) => effects.push(e),
  };
  return { ctx, sent, requests, summaries, effects };
}

describe("proxmox_api answers", () => {
  it("masks the secret of a token it just created", async () => {
    const secret = "0b4f6a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
    const { ctx, sent } = context({ "full-tokenid": "ops@pve!new", value: secret, info: { privsep: 1 } });
    const out = await proxmoxApi.handle(
      { method: "POST", path: "/access/users/ops@pve/token/new", dry_run: false },
      ctx,
    );
    expect(sent).toEqual(["POST /access/users/ops%40pve/token/new"]);
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(out.structured.data).toMatchObject({ "full-tokenid": "ops@pve!new", value: "[redacted]" });
  });

  it("masks a login ticket and its CSRF token", async () => {
    const { ctx } = context({
      username: "root@pam",
      ticket: "PVE:root@pam:ABC::sig",
      CSRFPreventionToken: "x:y",
    });
    const out = await proxmoxApi.handle({ method: "POST", path: "/access/ticket", dry_run: false }, ctx);
    expect(out.structured.data).toEqual({
      username: "root@pam",
      ticket: "[redacted]",
      CSRFPreventionToken: "[redacted]",
    });
  });

  it("records a task id answered by a write", async () => {
    const upid = "UPID:pve1:00001234:00ABCDEF:6720A1B2:qmstart:100:automation@pve!mcp-admin:";
    const { ctx, effects } = context(upid);
    await proxmoxApi.handle(
      { method: "POST", path: "/nodes/pve1/qemu/100/status/start", dry_run: false },
      ctx,
    );
    expect(effects).toEqual([{ upid }]);
  });
});

const ED25519 = {
  line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoU67XiTuk1R+ZwTWJ5wm4/4V0hI/jSdNCNZ5aYEg/M admin@lab",
  shown: 'ssh-ed25519 SHA256:U38AT96aXtKZCex1Ugnen881CyWGSrcF7WfG7ybZeLE "admin@lab"',
};
const ECDSA = {
  line: "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBORn5dJZMICrRWMhLsRKl0GlCETAeLz1HLy7gdhcgu59PyDibGOFGGduZYtPsjefF2/VLFIRUo3j41Q/wFdjPtXGbkyCmNFZdzC+kRab2a+axtuk9mV56z9ohcC26KGYNQ== ops key",
  shown: 'ecdsa-sha2-nistp384 SHA256:Aiqkz3JHayisPC4+Xt4ijR1GgiOu90dZBbdXK12tXeA "ops key"',
};
const blobOf = (line: string) => line.split(" ")[1]!;

describe("proxmox_api with SSH public keys", () => {
  it("confirms PVE's URL-encoded sshkeys as type, fingerprint and comment, and sends them unchanged", async () => {
    const sshkeys = [ED25519.line, ECDSA.line].map(encodeURIComponent).join("%0A");
    const { ctx, summaries, requests } = context();
    await proxmoxApi.handle(
      {
        method: "PUT",
        path: "/nodes/pve1/qemu/100/config",
        params: { sshkeys, cipassword: "Tr0ub4dor&3" },
        dry_run: false,
      },
      ctx,
    );
    expect(summaries).toHaveLength(1);
    const summary = summaries[0]!;
    expect(summary).toContain(`sshkeys=[${ED25519.shown}; ${ECDSA.shown}]`);
    expect(summary).toContain("cipassword=[redacted]");
    expect(summary).not.toContain(blobOf(ED25519.line));
    expect(summary).not.toContain("Tr0ub4dor");
    expect(requests).toEqual([
      {
        method: "PUT",
        path: "/nodes/pve1/qemu/100/config",
        options: expect.objectContaining({ body: { sshkeys, cipassword: "Tr0ub4dor&3" } }) as unknown,
      },
    ]);
  });

  it("shows lxc ssh-public-keys in a dry run the same way", async () => {
    const { ctx, requests } = context();
    const out = await proxmoxApi.handle(
      {
        method: "POST",
        path: "/nodes/pve1/lxc",
        params: { vmid: 300, "ssh-public-keys": `${ED25519.line}\n${ECDSA.line}` },
        dry_run: true,
      },
      ctx,
    );
    expect(out.text).toContain(`ssh-public-keys=[${ED25519.shown}; ${ECDSA.shown}]`);
    expect(out.text).not.toContain(blobOf(ECDSA.line));
    expect(requests).toEqual([]);
  });

  it("shows a malformed key as [unparseable key], never its text", async () => {
    const { ctx, summaries } = context();
    const notAKey = "ssh-ed25519 hunter2-is-not-a-key root@pve";
    await proxmoxApi.handle(
      {
        method: "PUT",
        path: "/nodes/pve1/qemu/100/config",
        params: { sshkeys: encodeURIComponent(notAKey) },
        dry_run: false,
      },
      ctx,
    );
    expect(summaries[0]).toContain("sshkeys=[[unparseable key]]");
    expect(summaries[0]).not.toContain("hunter2");
  });

  it("shows a list of keys and a value that cannot hold keys", async () => {
    const { ctx, summaries } = context();
    await proxmoxApi.handle(
      {
        method: "PUT",
        path: "/nodes/pve1/qemu/100/config",
        params: { sshkeys: [ED25519.line, "garbage"], "ssh-public-keys": 42 },
        dry_run: false,
      },
      ctx,
    );
    expect(summaries[0]).toContain(`sshkeys=[${ED25519.shown}; [unparseable key]]`);
    expect(summaries[0]).toContain("ssh-public-keys=[[unparseable key]]");
  });
});
