/**
 * Visibility gaps in a tool's answer: PVE answers a token that may not see something
 * with a 403, or by silently leaving it out. A tool never turns either into "none": it
 * says what it could not see and which privilege would show it. What a gap is, and how
 * a refused read becomes one, is the read model's (src/pve/model/visibility.ts); a call
 * collects its gaps on its reader (ctx.read.gap, ctx.read.readOrGap, ctx.read.gaps).
 */
import { z } from "zod";
import type { Gap } from "../pve/model/visibility.js";

export const gapSchema = z.object({ what: z.string(), needs: z.string() });
/** The output-schema field every tool with gaps carries. */
export const gapsField = z.array(gapSchema);

/** One line per gap, for the text answer ("" when there is none). */
export function gapText(gaps: readonly Gap[]): string {
  return gaps.map((g) => `NOT VISIBLE: ${g.what} (needs ${g.needs})`).join("\n");
}
