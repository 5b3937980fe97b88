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

/** Replaces each merged span with `marker`. */
export function maskSpans(text: string, spans: Span[], marker: string): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let at = 0;
  let open: [number, number] | undefined;
  for (const [start, end] of spans) {
    if (end <= start) continue;
    if (open && start <= open[1]) {
      open[1] = Math.max(open[1], end);
      continue;
    }
    if (open) {
      out += text.slice(at, open[0]) + marker;
      at = open[1];
    }
    open = [start, end];
  }
  if (open) {
    out += text.slice(at, open[0]) + marker;
    at = open[1];
  }
  return out + text.slice(at);
}
