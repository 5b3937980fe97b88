/**
 * PVE's value encodings, read the way pve-common reads them: booleans (parse_boolean),
 * lists (split_list, pve-vmid-list) and tags.
 */

/**
 * A PVE boolean as pve-common's parse_boolean reads it: 1, true, yes, on (any case) and
 * 0, false, no, off; undefined when unset or anything else.
 */
export function pveBoolean(value: unknown): boolean | undefined {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value !== "string") return undefined;
  if (/^(?:1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(?:0|false|no|off)$/i.test(value.trim())) return false;
  return undefined;
}

/** PVE's boolean fields: on as parse_boolean reads them (1, "1", true, "yes", "on"...). */
export function isOn(value: unknown): boolean {
  return pveBoolean(value) === true;
}

/** A flag whose default is on (a job's `enabled`, a user's `enable`): only an explicit off turns it off. */
export function isOnByDefault(value: unknown): boolean {
  return value === undefined || isOn(value);
}

/** Splits PVE's comma/semicolon/space lists ("100,103", "a;b"). */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  return typeof value === "string" ? value.split(/[,;\s]+/).filter(Boolean) : [];
}

/** PVE stores tags as one string separated by ";" (older versions: "," or spaces). */
export function tagsOf(raw: string | undefined): string[] {
  return (raw ?? "").split(/[;,\s]+/).filter(Boolean);
}
