/**
 * The redaction corpus, measured: every planted secret must be caught, and at most 1 %
 * of the benign Proxmox texts may change. Both figures are printed.
 */
import { describe, expect, it } from "vitest";
import { redactText } from "../../src/redact.js";
import { benignTexts } from "./benign.js";
import { SHAPE_NAMES, secretSamples } from "./corpus.js";

/** A secret survives when it, or (for long ones) a 16-character middle slice of it, is still there. */
function survivors(output: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => {
    if (output.includes(secret)) return true;
    if (secret.length < 24) return false;
    const start = Math.floor((secret.length - 16) / 2);
    return output.includes(secret.slice(start, start + 16));
  });
}

describe("redaction corpus", () => {
  const samples = secretSamples();
  const benign = benignTexts();

  it("has at least 300 secret samples over at least 25 shapes, and 300 benign texts", () => {
    expect(samples.length).toBeGreaterThanOrEqual(300);
    expect(SHAPE_NAMES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(benign).size).toBeGreaterThanOrEqual(300);
  });

  it("catches every secret sample", () => {
    const missed = samples
      .map((sample) => ({ sample, left: survivors(redactText(sample.text), sample.secrets) }))
      .filter(({ left }) => left.length > 0);
    const caught = samples.length - missed.length;
    console.warn(
      `redaction corpus: ${caught}/${samples.length} secret samples caught (${SHAPE_NAMES.length} shapes)`,
    );
    for (const { sample, left } of missed.slice(0, 20)) {
      console.warn(
        `  missed [${sample.shape}] ${JSON.stringify(sample.text)} -> ${JSON.stringify(redactText(sample.text))} (left: ${left.join(", ")})`,
      );
    }
    expect(missed.map(({ sample }) => `${sample.shape}: ${sample.text}`)).toEqual([]);
  });

  it("alters at most 1 % of the benign texts", () => {
    const altered = benign.filter((text) => redactText(text) !== text);
    console.warn(
      `redaction corpus: ${altered.length}/${benign.length} benign texts altered (at most 1 % allowed)`,
    );
    for (const text of altered)
      console.warn(`  altered ${JSON.stringify(text)} -> ${JSON.stringify(redactText(text))}`);
    expect(altered.length).toBeLessThanOrEqual(Math.floor(benign.length / 100));
  });
});
