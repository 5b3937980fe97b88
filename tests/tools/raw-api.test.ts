/**
 * proxmox_api with a stand-in admin client: credentials PVE shows once (a new token's
 * secret, a login ticket) never reach the model, and a task id is kept for the audit log.
 */
import { describe, expect, it } from "vitest";
import type { Config, DangerousConfig } from "../../src/config/types.js";
import { Secret } from "../../src/config/secret.js";
import type { PveAdmin } from "../../src/pve/admin.js";
import type { DangerousContext, DangerousEffect } from "../../src/tools/define.js";
import { proxmoxApi } from "../../src/tools/dangerous/raw-api.js";

function context(answer: unknown): { ctx: DangerousContext; sent: string[]; effects: DangerousEffect[] } {
  const sent: string[] = [];
  const effects: DangerousEffect[] = [];
  const admin = {
    requestPath(method: string, path: string) {
      sent.push(`${method} ${path}`);
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
    confirm: () => Promise.resolve(),
    recordEffect: (e) => effects.push(e),
  };
  return { ctx, sent, effects };
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
