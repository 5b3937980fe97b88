/**
 * Pagination shared by every tool whose list can be long: limit/offset in, totals and a
 * truncation marker out, and one header line that tells the model how to get more.
 */
import { z } from "zod";

/** 100 guests are ~20k characters of structured content: well inside what a client takes in one answer. */
export const MAX_LIMIT = 100;

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

export interface Page<T> {
  items: T[];
  meta: { total: number; offset: number; returned: number; truncated: boolean; nextOffset?: number };
  /** "12 task(s) match; showing 1-10 (TRUNCATED: call again with offset=10)" */
  header: string;
}

/** One page of `all`; `noun` names the items in the header ("guest", "task"...). */
export function paginate<T>(all: readonly T[], limit: number, offset: number, noun: string): Page<T> {
  const items = all.slice(offset, offset + limit);
  const end = offset + items.length;
  const truncated = end < all.length;
  const header =
    all.length === 0
      ? `0 ${noun}(s) match`
      : items.length === 0
        ? `${all.length} ${noun}(s) match; none from offset ${offset} on (offsets run 0-${all.length - 1})`
        : `${all.length} ${noun}(s) match; showing ${offset + 1}-${end}` +
          (truncated ? ` (TRUNCATED: call again with offset=${end})` : "");
  return {
    items,
    meta: {
      total: all.length,
      offset,
      returned: items.length,
      truncated,
      ...(truncated ? { nextOffset: end } : {}),
    },
    header,
  };
}
