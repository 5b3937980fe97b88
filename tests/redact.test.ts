import { describe, expect, it } from "vitest";
import { REDACTED, redact, redactText } from "../src/redact.js";

describe("redact", () => {
  it("masks secret-named keys, keeps harmless ones", () => {
    expect(
      redact({
        cipassword: "**********",
        sshkeys: "ssh-ed25519%20AAAA",
        keyboard: "de",
        name: "web",
        db_password: "x",
      }),
    ).toEqual({
      cipassword: REDACTED,
      sshkeys: REDACTED,
      keyboard: "de",
      name: "web",
      db_password: REDACTED,
    });
  });

  it.each([
    ["root pw: Winter2026!", "root pw: [redacted]"],
    ["MONITORING_API_KEY=9f2c7e41b8d05a36e1f4c2b7a9d8e6f0", "MONITORING_API_KEY=[redacted]"],
    ["DB_PASSWORD = 's3cr3t!'", "DB_PASSWORD = '[redacted]'"],
    ["password=hunter2 and more", "password=[redacted] and more"],
    ["API key: sk-live-4f9a8b7c6d5e4f3a2b1c", "API key: [redacted]"],
    ["token ghp_abcdefghijklmnopqrstuvwxyz0123", "token [redacted]"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", REDACTED],
    ["key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxyzxyzxyzxyzxyz admin@lab", `key ${REDACTED} admin@lab`],
  ])("redacts %j", (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it("leaves ordinary text alone, also prose about tokens and passwords", () => {
    for (const text of [
      "web01 runs nginx; backup nightly at 01:00; see https://wiki.example/web",
      "Proxmox refused the token mcp@pve!readonly (401): the password is required",
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it("walks arrays and nested objects without changing the input", () => {
    const input = { guests: [{ description: "pw: abcdef" }] };
    expect(redact(input)).toEqual({ guests: [{ description: "pw: [redacted]" }] });
    expect(input.guests[0]!.description).toBe("pw: abcdef");
  });
});
