/**
 * Redaction rules report spans (start, end) of a text to mask; the spans of every rule
 * are merged and each merged span becomes one marker. A rule never sees another rule's
 * output, so the order of the rules cannot open a gap between them.
 */
export type Span = readonly [start: number, end: number];

/** Finds what to mask in a text; the span is the secret only (a label in front stays). */
export type SpanRule = (text: string) => Iterable<Span>;

/** The spans of every match of `pattern` (flags "gd"), or of its capture group `group`. */
export function* matchSpans(text: string, pattern: RegExp, group = 0): Iterable<Span> {
  for (const m of text.matchAll(pattern)) {
    const at = m.indices?.[group];
    if (at && at[1] > at[0]) yield at;
  }
}

/** The spans sorted, overlapping or touching ones joined, empty ones dropped. */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const merged: [number, number][] = [];
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else if (end > start) merged.push([start, end]);
  }
  return merged;
}

/** Replaces each merged span with `marker`. */
export function maskSpans(text: string, spans: readonly Span[], marker: string): string {
  if (spans.length === 0) return text;
  let out = "";
  let at = 0;
  for (const [start, end] of mergeSpans(spans)) {
    out += text.slice(at, start) + marker;
    at = end;
  }
  return out + text.slice(at);
}
