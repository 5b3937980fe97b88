/**
 * SSH public keys shown as type, fingerprint and comment: the fingerprints are the ones
 * `ssh-keygen -lf` printed for these keys (OpenSSH 9), and a key that is not well formed
 * is never shown verbatim.
 */
import { describe, expect, it } from "vitest";
import { describeSshPublicKeys, isPublicKeyField, UNPARSEABLE_KEY } from "../../src/ssh/public-keys.js";

/** Public keys and what `ssh-keygen -lf` printed for each. */
const KEYS = {
  ed25519: {
    line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoU67XiTuk1R+ZwTWJ5wm4/4V0hI/jSdNCNZ5aYEg/M admin@lab",
    shown: 'ssh-ed25519 SHA256:U38AT96aXtKZCex1Ugnen881CyWGSrcF7WfG7ybZeLE "admin@lab"',
  },
  rsa: {
    line: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDBkLy0G2F7oAsx3EdCMJM915NsYA1TELo/hLeIr3qsnj0G7VQNepVdB/ODexxqknx0eu0sgesZXbYoxyDPZLepqXLZBKrlfKfYEA6RqDX8VcKXt1Bs3cOyRgMjMggWfJUqKgZWkyqpRTJyNQe1qsQRVr9q0CqzhzAUmJ+YdhIsbQ==",
    shown: "ssh-rsa SHA256:pS2LTQ02GUvO94lRrccCrjmhQeb8nWRyFWKffs6uwoM",
  },
  ecdsa384: {
    line: "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBORn5dJZMICrRWMhLsRKl0GlCETAeLz1HLy7gdhcgu59PyDibGOFGGduZYtPsjefF2/VLFIRUo3j41Q/wFdjPtXGbkyCmNFZdzC+kRab2a+axtuk9mV56z9ohcC26KGYNQ== ops key",
    shown: 'ecdsa-sha2-nistp384 SHA256:Aiqkz3JHayisPC4+Xt4ijR1GgiOu90dZBbdXK12tXeA "ops key"',
  },
  securityKey: {
    line: "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHAAAABHNzaDo= yubi@lab",
    shown: 'sk-ssh-ed25519@openssh.com SHA256:BpyDHJ8Qm3F/3at6p0jNaRLMB2tszGHwTQIOkdqk9J4 "yubi@lab"',
  },
};

/** A key blob in SSH wire format: each field length-prefixed. */
function sshBlob(type: string, ...fields: Buffer[]): string {
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  return Buffer.concat([field(Buffer.from(type)), ...fields.map(field)]).toString("base64");
}

/** As PVE stores `sshkeys`: URL-encoded, keys separated by %0A. */
function asStored(...lines: string[]): string {
  return lines.map(encodeURIComponent).join("%0A");
}

describe("describeSshPublicKeys", () => {
  it.each(Object.entries(KEYS))("shows a %s key as ssh-keygen -lf fingerprints it", (_, key) => {
    expect(describeSshPublicKeys(key.line)).toEqual([key.shown]);
  });

  it("reads PVE's URL-encoded sshkeys, several keys separated by %0A", () => {
    const stored = asStored(KEYS.ed25519.line, KEYS.ecdsa384.line);
    expect(stored).toMatch(/^ssh-ed25519%20AAAA.*%20admin%40lab%0Aecdsa/);
    expect(describeSshPublicKeys(stored)).toEqual([KEYS.ed25519.shown, KEYS.ecdsa384.shown]);
  });

  it("reads plain keys one per line (lxc ssh-public-keys), skipping blank and comment lines", () => {
    const text = `# team keys\r\n${KEYS.rsa.line}\n\n${KEYS.securityKey.line}\n`;
    expect(describeSshPublicKeys(text)).toEqual([KEYS.rsa.shown, KEYS.securityKey.shown]);
  });

  it("shows authorized_keys options before the key, as sshd reads them", () => {
    const line = `from="10.0.0.0/8",no-pty ${KEYS.ed25519.line}`;
    const shown = `options ${JSON.stringify('from="10.0.0.0/8",no-pty')} ${KEYS.ed25519.shown}`;
    expect(describeSshPublicKeys(line)).toEqual([shown]);
    expect(describeSshPublicKeys(encodeURIComponent(line))).toEqual([shown]);
  });

  it("shows the key sshd installs, not a key type quoted inside the options", () => {
    const decoy = `environment="X=1 ${KEYS.ed25519.line}"`;
    const [shown] = describeSshPublicKeys(`${decoy} ${KEYS.ecdsa384.line}`);
    expect(shown).toMatch(
      /ecdsa-sha2-nistp384 SHA256:Aiqkz3JHayisPC4\+Xt4ijR1GgiOu90dZBbdXK12tXeA "ops key"$/,
    );
    expect(shown).toMatch(/^options /);
  });

  it("quotes the comment, so it cannot imitate a second key", () => {
    const [shown] = describeSshPublicKeys(`${KEYS.ed25519.line} me; ssh-rsa SHA256:fake`);
    expect(shown).toBe(`${KEYS.ed25519.shown.replace('"admin@lab"', '"admin@lab me; ssh-rsa SHA256:fake"')}`);
  });

  it("keeps a literal % in a plain comment", () => {
    expect(describeSshPublicKeys(`${KEYS.ed25519.line} 100% ops`)).toEqual([
      KEYS.ed25519.shown.replace('"admin@lab"', '"admin@lab 100% ops"'),
    ]);
  });

  it("strips control and bidi characters from a comment and cuts a long one", () => {
    const hostile = `${KEYS.ed25519.line} admin\u001b]0;owned\u0007\u202e@lab`;
    const [shown] = describeSshPublicKeys(hostile);
    expect(shown).toMatch(/^ssh-ed25519 SHA256:U38AT96aXtKZCex1Ugnen881CyWGSrcF7WfG7ybZeLE "admin.*@lab"$/);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    const [long] = describeSshPublicKeys(`${KEYS.ed25519.line} ${"x".repeat(500)}`);
    expect(long).toContain("[cut at 100 characters]");
    expect(long!.length).toBeLessThan(250);
  });

  const ed25519Blob = KEYS.ed25519.line.split(" ")[1]!;
  it.each([
    ["an unknown type", `ssh-foo ${ed25519Blob} a@b`],
    ["a type that does not match the blob", `ssh-rsa ${ed25519Blob} a@b`],
    ["a blob cut short", `ssh-ed25519 ${ed25519Blob.slice(0, 40)} a@b`],
    [
      "a blob with a field too many",
      `ssh-ed25519 ${sshBlob("ssh-ed25519", Buffer.alloc(32, 1), Buffer.alloc(0))} a@b`,
    ],
    ["an ed25519 key of 31 bytes", `ssh-ed25519 ${sshBlob("ssh-ed25519", Buffer.alloc(31, 1))} a@b`],
    ["text that is not base64", "ssh-ed25519 not*base64*at*all a@b"],
    ["no blob", "ssh-ed25519"],
    ["a bare password", "hunter2-correct-horse"],
    ["broken URL encoding", "ssh-ed25519%20AAAA%ZZ%20a%40b"],
  ])("shows %s as [unparseable key], never verbatim", (_, line) => {
    expect(describeSshPublicKeys(line)).toEqual([UNPARSEABLE_KEY]);
  });

  it("accepts a hand-made blob of the right shape (the malformed cases above differ from it in one thing)", () => {
    expect(describeSshPublicKeys(`ssh-ed25519 ${sshBlob("ssh-ed25519", Buffer.alloc(32, 1))} a@b`)).toEqual([
      expect.stringMatching(/^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43} "a@b"$/),
    ]);
  });

  it("keeps the well-formed keys next to a malformed one", () => {
    expect(
      describeSshPublicKeys(asStored(KEYS.ed25519.line, "ssh-ed25519 AAAA garbage", KEYS.rsa.line)),
    ).toEqual([KEYS.ed25519.shown, UNPARSEABLE_KEY, KEYS.rsa.shown]);
  });

  it("reads a list of key texts, and shows any other value as one unparseable key", () => {
    expect(describeSshPublicKeys([KEYS.ed25519.line, asStored(KEYS.rsa.line)])).toEqual([
      KEYS.ed25519.shown,
      KEYS.rsa.shown,
    ]);
    for (const value of [42, true, null, { key: KEYS.ed25519.line }]) {
      expect(describeSshPublicKeys(value)).toEqual([UNPARSEABLE_KEY]);
    }
  });

  it("has no keys for an empty value (PVE's way of removing them)", () => {
    expect(describeSshPublicKeys("")).toEqual([]);
  });
});

describe("isPublicKeyField", () => {
  it("knows PVE's public-key parameters and nothing else", () => {
    expect(isPublicKeyField("sshkeys")).toBe(true);
    expect(isPublicKeyField("ssh-public-keys")).toBe(true);
    expect(isPublicKeyField("cipassword")).toBe(false);
    expect(isPublicKeyField("keys")).toBe(false);
  });
});
