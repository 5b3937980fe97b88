/**
 * Pagination shared by every tool whose list can be long: limit/offset in, totals and a
 * truncation marker out, and one header line that tells the model how to get more.
 * Listings cut from /cluster/resources page with a cursor instead (cursor-paging.ts).
 */
import { z } from "zod";
import { ageText, CURSOR_LENGTH, CURSOR_MAX_AGE_MS, SNAPSHOT_TTL_MS, type Listing } from "./cursor-paging.js";

/** 100 guests are ~20k characters of structured content: well inside what a client takes in one answer. */
export const MAX_LIMIT = 100;
/**
 * What a paged tool declares as its largest answer (text and structured content): a full
 * page of the widest rows stays below it, where Claude Code's default would save anything
 * over 50,000 characters to a file.
 */
export const PAGED_RESULT_CHARS = 100_000;

export const pagingInput = (defaultLimit = 50) => ({
  limit: z.number().int().min(1).max(MAX_LIMIT).default(defaultLimit),
  offset: z.number().int().min(0).default(0),
});

export const pagingOutput = {
  total: z.number().int(),
  offset: z.number().int(),
  returned: z.number().int(),
  truncated: z.boolean(),
  nextOffset: z.number().int().optional(),
};

/**
 * For listings paged from a snapshot: `offset` has no default, so that a call giving it
 * together with `cursor` can be told apart and refused (a cursor carries its position).
 */
export const cursorPagingInput = (defaultLimit = 50) => ({
  limit: z.number().int().min(1).max(MAX_LIMIT).default(defaultLimit),
  offset: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("where a fresh listing starts (default 0); for the next page pass cursor instead"),
  cursor: z
    .string()
    .max(4 * CURSOR_LENGTH)
    .optional()
    .describe(
      `the previous page's nextCursor (same filters): the next page of the same snapshot; lasts ${ageText(CURSOR_MAX_AGE_MS)}`,
    ),
});

export const cursorPagingOutput = {
  ...pagingOutput,
  nextCursor: z.string().optional(),
  snapshot: z.object({
    /** Unix seconds. */
    takenAt: z.number().int(),
    ageSeconds: z.number().int(),
    /** Older than SNAPSHOT_TTL_MS: the cluster may have changed since. */
    stale: z.boolean(),
    /** The cursor's snapshot was no longer held: read again, totals may have shifted. */
    reread: z.boolean(),
  }),
};

/** What every paged answer's structured content starts with. */
export interface PageMeta {
  total: number;
  offset: number;
  returned: number;
  truncated: boolean;
  nextOffset?: number;
  nextCursor?: string;
}

export interface Page<T> {
  items: T[];
  meta: PageMeta;
  /** "12 task(s) match; showing 1-10 (TRUNCATED: call again with offset=10)" */
  header: string;
}

/**
 * One page of `all`; `noun` names the items in the header ("guest", "task"...). With
 * `cursorAt`, a truncated page points to the next one by cursor (nextOffset stays, for
 * clients written before cursors).
 */
export function paginate<T>(
  all: readonly T[],
  limit: number,
  offset: number,
  noun: string,
  cursorAt?: (position: number) => string,
): Page<T> {
  const items = all.slice(offset, offset + limit);
  const end = offset + items.length;
  const truncated = end < all.length;
  const nextCursor = truncated ? cursorAt?.(end) : undefined;
  const header =
    all.length === 0
      ? `0 ${noun}(s) match`
      : items.length === 0
        ? `${all.length} ${noun}(s) match; none from offset ${offset} on (offsets run 0-${all.length - 1})`
        : `${all.length} ${noun}(s) match; showing ${offset + 1}-${end}` +
          (truncated
            ? ` (TRUNCATED: call again with ${nextCursor ? "cursor" : "offset"}=${nextCursor ?? end})`
            : "");
  return {
    items,
    meta: {
      total: all.length,
      offset,
      returned: items.length,
      truncated,
      ...(truncated ? { nextOffset: end } : {}),
      ...(nextCursor ? { nextCursor } : {}),
    },
    header,
  };
}

/**
 * The snapshot a page was cut from, for structured output, and a line for the text
 * when paging is at play (a cursor was given, or there are more pages).
 */
export function snapshotOf<T>(listing: Listing<T>, source: string, tool: string, paging: boolean) {
  const snapshot = {
    takenAt: Math.floor(listing.takenAt / 1000),
    ageSeconds: Math.round(listing.ageMs / 1000),
    stale: listing.ageMs > SNAPSHOT_TTL_MS,
    reread: listing.reread,
  };
  const age = `snapshot of ${source} taken ${ageText(listing.ageMs)} ago`;
  const line = listing.reread
    ? `the cursor's snapshot is no longer held (dropped for newer ones): ${source} was read again and the listing continues at position ${listing.position}; totals and order may have shifted since the earlier pages`
    : snapshot.stale
      ? `${age}, OLDER than ${ageText(SNAPSHOT_TTL_MS)}: the cluster may have changed since; for fresh data call ${tool} again without cursor`
      : `${age}; cursor pages come from it without new requests`;
  return { snapshot, line: paging ? `\n${line}` : "" };
}
