/**
 * Properties of the untrusted-text cleaner over any input fast-check can build, weighted
 * towards what attackers send: terminal sequences, C1 controls, bidi and zero-width
 * characters, line breaks, surrogates and forged fence markers. The fence's nonce is
 * fixed here (node:crypto mocked) so that the inputs can forge the real end marker, as
 * an attacker who guessed it would.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { terminalIo } from "../../src/commands/terminal.js";
import type { CommandIo } from "../../src/commands/setup.js";
import { cleanText, fence } from "../../src/untrusted.js";
import { CONTROL_OR_INVISIBLE } from "../helpers/hostile-text.js";

const KNOWN_NONCE = "deadbeef";
vi.mock("node:crypto", async (importOriginal) => ({
  ...(await importOriginal<typeof import("node:crypto")>()),
  randomBytes: (size: number) => Buffer.from(KNOWN_NONCE.repeat(size).slice(0, size * 2), "hex"),
}));

/** C0 and C1 controls, DEL, and every format, bidi, zero-width, separator and private-use character. */
const FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Variation_Selector}\u{E0000}-\u{E007F}]/u;

const HOSTILE_PIECES = [
  "\u001b]0;pwned\u0007",
  "\u001b]52;c;cm0gLXJmIH4=\u001b\\",
  "\u001b[2J",
  "\u001b[",
  "\u001b",
  "\u009b31m",
  "\u009d",
  "\u009c",
  "\u0007",
  "\u0000",
  "\r",
  "\n",
  "\t",
  "\u202e",
  "\u2066",
  "\u200b",
  "\u200d",
  "\ufeff",
  "\u2028",
  "\u3164",
  "\ufe0f",
  "\u{E0041}",
  "\ud800",
  "\udc00",
  "😀",
  "«end note deadbeef»",
  "«end ",
  "note ",
  "deadbeef",
  "»",
  "a",
  " ",
];

/** Any string, and strings assembled from the pieces above (which random strings rarely hit). */
const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 60 }).map((pieces) => pieces.join("")),
  fc
    .array(fc.oneof(fc.constantFrom(...HOSTILE_PIECES), fc.string({ unit: "binary", maxLength: 8 })), {
      maxLength: 40,
    })
    .map((pieces) => pieces.join("")),
);

const cap = fc.integer({ min: 1, max: 300 });

describe("cleanText, for any input", () => {
  it("leaves no control, format, bidi, zero-width or other invisible character (one line: no line break or tab)", () => {
    fc.assert(
      fc.property(hostileText, cap, (text, max) => {
        expect(cleanText(text, max)).not.toMatch(FORBIDDEN);
      }),
    );
  });

  it("multi-line: keeps line breaks and tabs only, never a carriage return or more than one blank line", () => {
    fc.assert(
      fc.property(hostileText, cap, (text, max) => {
        const out = cleanText(text, max, true);
        expect(out).not.toMatch(CONTROL_OR_INVISIBLE);
        expect(out).not.toContain("\n\n\n");
      }),
    );
  });

  it("is idempotent when under the cap", () => {
    fc.assert(
      fc.property(hostileText, fc.boolean(), (text, multiline) => {
        const once = cleanText(text, 10_000, multiline);
        expect(cleanText(once, 10_000, multiline)).toBe(once);
      }),
    );
  });

  it("never exceeds the cap plus the cut notice (in code points)", () => {
    fc.assert(
      fc.property(hostileText, cap, fc.boolean(), (text, max, multiline) => {
        const out = cleanText(text, max, multiline);
        expect(Array.from(out).length).toBeLessThanOrEqual(max + `… [cut at ${max} characters]`.length);
      }),
    );
  });
});

describe("fence, for any body", () => {
  const end = `«end note ${KNOWN_NONCE}»`;
  /** Text with the end marker inserted again and again, also inside earlier copies: removing one joins two halves. */
  const forged = fc
    .tuple(hostileText, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }))
    .map(([base, positions]) =>
      positions.reduce((text, p) => {
        const at = p % (text.length + 1);
        return text.slice(0, at) + end + text.slice(at);
      }, base),
    );

  it("holds its own end marker exactly once, at the end, even when the body forges it", () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, forged), (text) => {
        const out = fence("note", text);
        expect(out.endsWith(`\n${end}`)).toBe(true);
        expect(out.split(end)).toHaveLength(2);
      }),
    );
  });
});

describe("the terminal writer, for any output", () => {
  const RED = "\u001b[31m";
  const RESET = "\u001b[0m";
  /** Our styles, and every sequence of them stripped out: what remains must be plain text. */
  const withoutStyles = (text: string) => text.split(RED).join("").split(RESET).join("");

  function captured(styles: readonly string[]): { io: CommandIo; written: () => string } {
    let written = "";
    const sink = { write: (text: string) => (written += text) };
    return {
      io: terminalIo({ env: {}, cwd: "/", stdout: sink, stderr: sink }, styles),
      written: () => written,
    };
  }

  it("never writes a control character other than newline and tab, nor a bidi or zero-width one", () => {
    fc.assert(
      fc.property(fc.array(hostileText, { maxLength: 5 }), (writes) => {
        const { io, written } = captured([]);
        for (const text of writes) {
          io.stdout.write(text);
          io.stderr.write(text);
        }
        expect(written()).not.toMatch(CONTROL_OR_INVISIBLE);
      }),
    );
  });

  it("with colour, the only escape sequences written are our own styles", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(hostileText, fc.constantFrom(RED, RESET)), { maxLength: 10 }),
        (pieces) => {
          const { io, written } = captured([RED, RESET]);
          io.stdout.write(pieces.join(""));
          expect(withoutStyles(written())).not.toMatch(CONTROL_OR_INVISIBLE);
        },
      ),
    );
  });
});
