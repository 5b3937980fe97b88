/**
 * Paging from one snapshot: a listing's first call reads PVE once and holds the answer
 * (already redacted: the reader redacts where data enters) for a while behind an opaque
 * cursor, and the next pages come from it without a request. 2,000 guests in pages of
 * 100 cost one /cluster/resources request instead of 20, and the pages cannot skip or
 * repeat a guest that moved between two reads.
 *
 * A cursor is 55 bytes in base64url: version, issuing process, snapshot id, when the
 * snapshot was taken, position, fingerprints of the tool and of its filter arguments,
 * and an HMAC-SHA256 (first 16 bytes) under a random key of this process. It is checked
 * whole before anything is sent: an altered or foreign-tool cursor costs no request.
 *
 * A cursor whose snapshot this process dropped for room is served by reading again and
 * continuing at its position, and the answer says totals may have shifted; so is one read
 * through another Proxmox client (a second token in the same process), which must never
 * see the first one's data. A cursor of another server process (two processes behind a
 * load balancer, or before a restart) cannot be verified, as no key is shared, and is
 * refused like any altered one: nothing is sent for it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { formatDuration, SECONDS_OR_MINUTES } from "../pve/model/duration.js";

/** Older than this, a page from the snapshot says so, and how to get fresh data. */
export const SNAPSHOT_TTL_MS = 30_000;
/** Older than this, a cursor is refused: room for a model that thinks between pages, not for a stale view. */
export const CURSOR_MAX_AGE_MS = 10 * 60_000;
/** Snapshots held at once, oldest dropped first: 8 answers of 2,000 guests are a few MB. */
export const MAX_SNAPSHOTS = 8;
/** How far another process's clock may run ahead of ours before its cursor's time is not believed. */
const CLOCK_SKEW_MS = 60_000;

const VERSION = 1;
/** Byte offsets in a cursor. */
const AT = { instance: 1, snapshot: 9, takenAt: 17, position: 23, tool: 27, filters: 31, mac: 39, end: 55 };
export const CURSOR_LENGTH = Math.ceil((AT.end * 4) / 3);
const CURSOR_SHAPE = new RegExp(`^[A-Za-z0-9_-]{${CURSOR_LENGTH}}$`);

/** A listing's filter arguments: a cursor is good only with the same ones. */
export type Filters = Record<string, string | number | boolean | undefined>;

interface Snapshot<T> {
  takenAt: number;
  data: T;
  /** The Proxmox client (and so the token) that read it: only its own calls page through it. */
  reader: object;
}

/** What one page is cut from: the data, where the page starts, and how old the data is. */
export interface Listing<T> {
  data: T;
  /** The cursor's position; undefined on a call without cursor. */
  position: number | undefined;
  takenAt: number;
  ageMs: number;
  /** The cursor's snapshot was not held here (dropped, or another process's): read again. */
  reread: boolean;
  /** A cursor to `position` in this snapshot; from then on the snapshot is held. */
  cursorAt(position: number): string;
}

interface Cursor {
  snapshot: string;
  position: number;
}

const fingerprint = (text: string, bytes: number) =>
  createHash("sha256").update(text).digest().subarray(0, bytes);

function filtersFingerprint(filters: Filters): Buffer {
  const given = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return fingerprint(JSON.stringify(given), AT.mac - AT.filters);
}

/** Cursor errors start so: the model knows which argument to fix. */
const refused = (rule: string, tool: string) =>
  new Error(`cursor refused: ${rule}; pass nextCursor exactly as returned, or call ${tool} without cursor.`);

export class ListingSnapshots<T> {
  readonly #key = randomBytes(32);
  readonly #instance = randomBytes(AT.snapshot - AT.instance);
  /** By snapshot id, oldest first. */
  readonly #held = new Map<string, Snapshot<T>>();

  /** `source` names the PVE path in messages; `now` is the clock (tests move it). */
  constructor(
    readonly source: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** How many snapshots are held now (old ones dropped first). */
  get size(): number {
    this.#expire();
    return this.#held.size;
  }

  /**
   * Checks a cursor for `tool` and `filters` and sends nothing: shape, signature (when
   * this process issued it), tool, filters, age. Throws one line naming the rule broken,
   * never quoting the cursor.
   */
  check(tool: string, filters: Filters, cursor: string): Cursor {
    if (!CURSOR_SHAPE.test(cursor)) {
      throw refused(
        `a cursor is exactly ${CURSOR_LENGTH} characters of A-Z, a-z, 0-9, "-" and "_", this one has ${cursor.length} characters${cursor.length === CURSOR_LENGTH ? " and others" : ""}`,
        tool,
      );
    }
    const bytes = Buffer.from(cursor, "base64url");
    // Base64 has several spellings of one value: only the one we write is accepted.
    if (bytes.length !== AT.end || bytes.toString("base64url") !== cursor || bytes[0] !== VERSION) {
      throw refused("it is not a cursor this server writes (unknown version or encoding)", tool);
    }
    if (!bytes.subarray(AT.instance, AT.snapshot).equals(this.#instance)) {
      throw refused(
        "it was not issued by this server process (another process, or one before a restart: its signature cannot be checked here)",
        tool,
      );
    }
    if (!timingSafeEqual(this.#mac(bytes.subarray(0, AT.mac)), bytes.subarray(AT.mac, AT.end))) {
      throw refused("it was altered (its signature does not match what this server issued)", tool);
    }
    if (!bytes.subarray(AT.tool, AT.filters).equals(fingerprint(tool, AT.filters - AT.tool))) {
      throw refused(`it belongs to another tool's listing, not ${tool}'s`, tool);
    }
    if (!bytes.subarray(AT.filters, AT.mac).equals(filtersFingerprint(filters))) {
      throw new Error(
        `cursor refused: it was issued for other filter arguments (${Object.keys(filters).join(", ")} must be those of the first page); repeat them unchanged with cursor, or call ${tool} without cursor for the new filters.`,
      );
    }
    const takenAt = bytes.readUIntBE(AT.takenAt, AT.position - AT.takenAt);
    const age = this.now() - takenAt;
    if (age < -CLOCK_SKEW_MS) {
      throw refused("its snapshot time lies in the future (altered, or another server's clock is off)", tool);
    }
    if (age > CURSOR_MAX_AGE_MS) {
      throw new Error(
        `cursor expired: its snapshot of ${this.source} was taken ${ageText(age)} ago and cursors last ${ageText(CURSOR_MAX_AGE_MS)}; call ${tool} again without cursor for a fresh listing.`,
      );
    }
    return {
      snapshot: bytes.subarray(AT.snapshot, AT.takenAt).toString("hex"),
      position: bytes.readUInt32BE(AT.position),
    };
  }

  /**
   * The data to cut a page from: without cursor, read fresh through `reader`; with one,
   * the held snapshot (no request) when `reader` read it, else one fresh read.
   */
  async list(
    tool: string,
    filters: Filters,
    cursor: string | undefined,
    reader: object,
    read: () => Promise<T>,
  ): Promise<Listing<T>> {
    const from = cursor === undefined ? undefined : this.check(tool, filters, cursor);
    this.#expire();
    const found = from ? this.#held.get(from.snapshot) : undefined;
    const held = found?.reader === reader ? found : undefined;
    const id = held && from ? from.snapshot : randomBytes(AT.takenAt - AT.snapshot).toString("hex");
    // A fresh snapshot dates from when its answer arrived.
    const snapshot = held ?? { data: await read(), takenAt: this.now(), reader };
    const takenAt = snapshot.takenAt;
    return {
      data: snapshot.data,
      position: from?.position,
      takenAt,
      ageMs: Math.max(0, this.now() - takenAt),
      reread: from !== undefined && !held,
      cursorAt: (position) => {
        if (!this.#held.has(id)) this.#hold(id, snapshot);
        return this.#seal(tool, filters, id, takenAt, position);
      },
    };
  }

  #seal(tool: string, filters: Filters, id: string, takenAt: number, position: number): string {
    const bytes = Buffer.alloc(AT.end);
    bytes[0] = VERSION;
    this.#instance.copy(bytes, AT.instance);
    Buffer.from(id, "hex").copy(bytes, AT.snapshot);
    bytes.writeUIntBE(takenAt, AT.takenAt, AT.position - AT.takenAt);
    bytes.writeUInt32BE(position, AT.position);
    fingerprint(tool, AT.filters - AT.tool).copy(bytes, AT.tool);
    filtersFingerprint(filters).copy(bytes, AT.filters);
    this.#mac(bytes.subarray(0, AT.mac)).copy(bytes, AT.mac);
    return bytes.toString("base64url");
  }

  #mac(signed: Buffer): Buffer {
    return createHmac("sha256", this.#key)
      .update(signed)
      .digest()
      .subarray(0, AT.end - AT.mac);
  }

  #hold(id: string, snapshot: Snapshot<T>): void {
    this.#expire();
    for (const oldest of this.#held.keys()) {
      if (this.#held.size < MAX_SNAPSHOTS) break;
      this.#held.delete(oldest);
    }
    this.#held.set(id, snapshot);
  }

  /** Lazy expiry on every access: no timer keeps the process alive or wakes it. */
  #expire(): void {
    const now = this.now();
    for (const [id, s] of this.#held) if (now - s.takenAt > CURSOR_MAX_AGE_MS) this.#held.delete(id);
  }
}

/** "12 s", "11 min": an age in milliseconds as a person reads it. */
export function ageText(ms: number): string {
  return formatDuration(Math.round(ms / 1000), SECONDS_OR_MINUTES);
}
