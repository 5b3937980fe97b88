/**
 * Properties of the redactor over generated input (fast-check): masking twice changes
 * nothing more; a secret from the corpus is caught whatever text surrounds it; and the
 * rendered form of redacted data loses nothing more than the data did, so a tool's text
 * and its structured content agree.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redact, redactText, Redactor } from "../../src/redact.js";
import { benignTexts } from "./benign.js";
import { secretSamples } from "./corpus.js";

const samples = secretSamples(4);
const benign = benignTexts();

/**
 * Text made of benign lines, secret samples, arbitrary unicode and separators, one space
 * between parts (glued char to char, "KEY" + "Authorization" is one word and no header).
 */
const mixedText = fc
  .array(
    fc.oneof(
      fc.constantFrom(...benign),
      fc.constantFrom(...samples.map((s) => s.text)),
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.constantFrom(" ", "\n", ": ", "=", '"', "|", "\t"),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(" "));

describe("redaction properties", () => {
  it("is idempotent: redacting redacted text changes nothing", () => {
    fc.assert(
      fc.property(mixedText, (text) => {
        const once = redactText(text);
        expect(redactText(once)).toBe(once);
      }),
      { numRuns: 1500 },
    );
  });

  it("is idempotent on data, and never changes the shape of it", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), mixedText, (value, note) => {
        const data = { value, note, config: { description: note, cipassword: note } };
        const once = redact(data);
        expect(redact(once)).toEqual(once);
        expect(Object.keys(once)).toEqual(Object.keys(data));
      }),
      { numRuns: 500 },
    );
  });

  it("catches a corpus secret whatever benign text stands around it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.constantFrom(...benign),
        fc.constantFrom(...benign),
        fc.constantFrom("\n", "\n\n", " \n"),
        (sample, before, after, sep) => {
          const out = redactText(`${before}${sep}${sample.text}${sep}${after}`);
          for (const secret of sample.secrets) expect(out).not.toContain(secret);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("answers the same from a long-lived Redactor as from a fresh redaction, and never changes its input", () => {
    // A Redactor remembers clean strings across calls; a secret seen after them, or a clean
    // string seen after a secret, must come out as a first redaction would make it.
    const secret = "0b7f3c2e-9d41-4a6b-8e5f-1c2d3e4f5a6b";
    const redactor = new Redactor([secret]);
    const part = fc.oneof(mixedText, fc.constantFrom(secret, `id-${secret}`, "running", "qemu/101"));
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        part,
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(
          fc.oneof(fc.constantFrom("name", "value", "password", "key", "t", "n"), part),
          tie("node"),
          {
            maxKeys: 4,
          },
        ),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), (values) => {
        for (const input of values) {
          const before = structuredClone(input);
          expect(redactor.value(input)).toEqual(redact(input, [secret]));
          expect(input).toEqual(before);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("renders redacted data without masking anything more: text and structured output agree", () => {
    const redactor = new Redactor(["0b7f3c2e-9d41-4a6b-8e5f-1c2d3e4f5a6b"]);
    fc.assert(
      fc.property(fc.array(mixedText, { maxLength: 6 }), (notes) => {
        const structured = redactor.value({ notes });
        const text = JSON.stringify(structured);
        expect(redactor.rendered(text)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});
