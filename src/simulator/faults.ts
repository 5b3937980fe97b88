/**
 * Faults on demand, per path pattern: added latency, a hang before the headers,
 * a stall in the middle of the body, a connection reset, truncated JSON, a body
 * gzipped unasked (as a proxy in front of PVE might), or any status code. Rules match the API path below /api2/json (after decoding).
 */
export interface FaultRule {
  kind: "latency" | "hang" | "stall" | "reset" | "truncate" | "gzip" | "status";
  /** Glob (`*` matches anything, also `/`) or a RegExp over the API path, e.g. "/nodes/*\/qemu". */
  path: string | RegExp;
  method?: string;
  /** For latency: milliseconds to add. */
  ms?: number;
  /** For status: the status code and message to answer with. */
  status?: number;
  message?: string;
  /** Apply to this many matching requests, then remove itself (default: until removed). */
  times?: number;
}

interface ActiveRule extends FaultRule {
  id: number;
  regex: RegExp;
  remaining: number;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** Adds a rule; returns its id for `remove`. */
  add(rule: FaultRule): number {
    const regex =
      typeof rule.path === "string"
        ? new RegExp(`^${rule.path.split("*").map(escapeRegex).join(".*")}$`)
        : rule.path;
    const id = this.nextId++;
    this.rules.push({ ...rule, id, regex, remaining: rule.times ?? Infinity });
    return id;
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map(({ id: _id, regex: _r, remaining: _n, ...rule }) => rule);
  }

  /** The rules that apply to this request (each use counts against `times`). */
  match(method: string, path: string): FaultRule[] {
    const hits = this.rules.filter(
      (r) => (!r.method || r.method.toUpperCase() === method) && r.regex.test(path) && r.remaining > 0,
    );
    for (const r of hits) r.remaining--;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return hits;
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
