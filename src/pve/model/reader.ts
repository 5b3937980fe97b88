/**
 * One run's reader: a tool call and an audit read PVE through one of these. Every GET is
 * memoised for the run (the same template, params and query cost one request however many
 * readers ask), at most `concurrency` requests are in flight at once, and what the token
 * could not see is collected as gaps instead of being lost.
 */
import type { CheckedApiPath } from "../api-path.js";
import type { PveReader } from "../client.js";
import { PveApiError } from "../errors.js";
import {
  holds,
  readOrGap,
  type Gap,
  type ModelReader,
  type PathParams,
  type Permissions,
  type Query,
} from "./visibility.js";

/** What a run may ask of the Proxmox client: reads only (a PveReader is one; the audit needs only get). */
export type RunSource = Pick<PveReader, "get"> & Partial<Pick<PveReader, "getWithTotal" | "getPath">>;

export class RunReader implements ModelReader {
  readonly #gaps: Gap[] = [];
  readonly #source: RunSource;
  readonly #cache = new Map<string, Promise<unknown>>();
  readonly #concurrency: number;
  readonly #waiting: (() => void)[] = [];
  #active = 0;

  constructor(
    source: RunSource,
    readonly signal: AbortSignal | undefined,
    concurrency = Number.POSITIVE_INFINITY,
  ) {
    this.#source = source;
    this.#concurrency = concurrency;
  }

  /**
   * The client this run reads through, as an identity only: listings kept for cursor
   * paging belong to the token that read them.
   */
  get client(): object {
    return this.#source;
  }

  /** PVE's `data` for GET `template`. A failed read stays failed for the whole run. */
  get<T>(template: string, params: PathParams = {}, query?: Query): Promise<T> {
    return this.#memo(["get", template, params, query], () =>
      this.#source.get<T>(template, params, this.#options(query)),
    );
  }

  /** Like get, plus PVE's `total` for paged lists (tasks, task logs). */
  getWithTotal<T>(
    template: string,
    params: PathParams = {},
    query?: Query,
  ): Promise<{ data: T; total?: number }> {
    const source = this.#source;
    if (!source.getWithTotal) throw new Error("this run's client cannot read paged totals");
    return this.#memo(["total", template, params, query], () =>
      source.getWithTotal!<T>(template, params, this.#options(query)),
    );
  }

  /** For the raw GET tool: a path parseApiPath("GET", ...) returned (the client checks it again). */
  getPath<T>(path: CheckedApiPath, query?: Query): Promise<T> {
    const source = this.#source;
    if (!source.getPath) throw new Error("this run's client cannot read raw paths");
    return this.#memo(["path", path, {}, query], () => source.getPath!<T>(path, this.#options(query)));
  }

  /** A GET whose 403 becomes a gap of this run: PVE's data, or undefined when it refused. */
  readOrGap<T>(template: string, params: PathParams, what: string, needs: string, query?: Query) {
    return readOrGap<T>(this, template, params, what, needs, query);
  }

  /** The token's effective privileges (GET /access/permissions, any token may ask it). */
  permissions(): Promise<Permissions> {
    return this.get<Permissions>("/access/permissions");
  }

  /**
   * The token's privileges, or undefined when PVE would not say: callers then state
   * their gaps as possible rather than certain.
   */
  async permissionsIfKnown(): Promise<Permissions | undefined> {
    try {
      return await this.permissions();
    } catch (err) {
      if (err instanceof PveApiError) return undefined;
      throw err;
    }
  }

  async holds(path: string, privilege: string | readonly string[]): Promise<boolean> {
    return holds(await this.permissions(), normalizeAclPath(path), privilege);
  }

  gap(what: string, needs: string): void {
    if (!this.#gaps.some((g) => g.what === what && g.needs === needs)) this.#gaps.push({ what, needs });
  }

  /**
   * What this run could not see so far, each once, sorted: reads sent together record
   * their gaps in the order PVE answers, and an answer must not depend on that.
   */
  get gaps(): Gap[] {
    return [...this.#gaps].sort((a, b) => compare(a.what, b.what) || compare(a.needs, b.needs));
  }

  /** This reader as a client for code that takes one (the audit): its reads share this run's memo. */
  asSource(): RunSource {
    return { get: (template, params, options) => this.get(template, params, options?.query) };
  }

  /** Runs `fn` once fewer than `concurrency` limited calls are in flight. */
  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      this.signal?.throwIfAborted();
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so the count never dips and refills.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }

  #options(query: Query | undefined) {
    return query ? { query, signal: this.signal } : { signal: this.signal };
  }

  #memo<T>(key: [string, string, PathParams, Query | undefined], read: () => Promise<T>): Promise<T> {
    const [kind, template, params, query] = key;
    const id = JSON.stringify([kind, template, sortedEntries(params), sortedEntries(query ?? {})]);
    let answer = this.#cache.get(id);
    if (!answer) {
      answer = this.#limited(read);
      // Every caller awaits it; this keeps a rejection nobody awaited yet from being "unhandled".
      answer.catch(() => undefined);
      this.#cache.set(id, answer);
    }
    return answer as Promise<T>;
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedEntries(object: Record<string, unknown>): [string, unknown][] {
  return Object.entries(object)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => compare(a, b));
}

/** PVE's ACL path normalisation: no doubled or trailing slashes. */
function normalizeAclPath(path: string): string {
  return `/${path.split("/").filter(Boolean).join("/")}`;
}
