/**
 * End of life of each Proxmox VE major release: the last day it gets security updates.
 *
 * Source: Proxmox VE FAQ, "How long will my Proxmox VE version be supported?"
 * (https://pve.proxmox.com/wiki/FAQ), which lists each release with its Debian base and
 * its end of life: PVE 4 (Debian 8) 2018-06, PVE 5 (Debian 9) 2020-07, PVE 6 (Debian 10)
 * 2022-07, PVE 7 (Debian 11) 2024-07, PVE 8 (Debian 12) 2026-08; PVE 9 (Debian 13) has no
 * announced date yet. The table gives the month's last day. Update it here, and only
 * here, when Proxmox announces a date.
 */
export const PVE_END_OF_LIFE: Readonly<Record<number, string | null>> = {
  4: "2018-06-30",
  5: "2020-07-31",
  6: "2022-07-31",
  7: "2024-07-31",
  8: "2026-08-31",
  9: null,
};

/** The oldest major release in the table: anything older is long past its end of life. */
const OLDEST = 4;

/**
 * The end of life of a major release (end of that UTC day), null when none is announced
 * (a current or unknown newer release), or "past" for releases older than the table.
 */
export function endOfLife(major: number): Date | null | "past" {
  if (major < OLDEST) return "past";
  const day = PVE_END_OF_LIFE[major];
  return day ? new Date(`${day}T23:59:59Z`) : null;
}
