/** Physical disks as GET /nodes/{node}/disks/list lists them (SMART health, SSD wear). */

export interface PveDisk {
  devpath: string;
  type?: string;
  size?: number;
  model?: string;
  serial?: string;
  vendor?: string;
  wwn?: string;
  health?: string;
  wearout?: number | string;
  used?: string;
  rpm?: number;
  osdid?: number;
  by_id_link?: string;
}

/** PVE's `wearout` is the rated life left, in % (the GUI shows 100 minus it as "Wearout"). */
export const LOW_WEAROUT = 10;

/** A disk's wearout as a number; null where PVE has none ("N/A" for spinning disks). */
export function wearoutOf(value: number | string | undefined): number | null {
  if (typeof value === "number") return value;
  return value !== undefined && value !== "" && Number.isFinite(Number(value)) ? Number(value) : null;
}
