/**
 * Durations for people, one implementation for every answer and finding: ages, uptimes,
 * how long a certificate has left. A style picks the units, how they are rounded and
 * written; each style keeps the wording its answers had, so no text changed when the
 * formatters of the tools and the audit became this one.
 */
const MINUTE = 60;
const HOUR = 3600;
export const DAY = 86_400;

export type DurationUnit = "s" | "min" | "h" | "d";

/** Largest first. */
const UNITS: readonly { unit: DurationUnit; seconds: number }[] = [
  { unit: "d", seconds: DAY },
  { unit: "h", seconds: HOUR },
  { unit: "min", seconds: MINUTE },
  { unit: "s", seconds: 1 },
];

type UnitNames = "spaced" | "packed" | "short";

const NAMES: Record<UnitNames, Record<DurationUnit, string>> = {
  spaced: { s: " s", min: " min", h: " h", d: " d" },
  packed: { s: "s", min: "min", h: "h", d: "d" },
  short: { s: "s", min: "m", h: "h", d: "d" },
};

export interface DurationStyle {
  /** The smallest unit (default "min"). A value stays in a unit until it is two of the next one up. */
  smallest?: DurationUnit;
  /** The largest unit (default "d"). */
  largest?: DurationUnit;
  /** Units rounded to the nearest whole; the others are cut down, so an age never reads older than it is. */
  nearest?: readonly DurationUnit[];
  /** Two units, rounded to the nearest of the smaller one: "9 d 5 h", "5 h 20 min". */
  twoUnits?: boolean;
  /** "12 d" (default), "12d" (packed), "7m" (short: packed, minutes as "m"). */
  names?: UnitNames;
}

/** "9 d 20 h", "30 h 15 min", "40 min": a certificate due in 9 d 20 h must not read "9 d". */
export const TIME_LEFT: DurationStyle = { twoUnits: true };
/** "45s", "7m", "26h", "64d": task durations and ages in dense lines. */
export const SHORT_AGE: DurationStyle = { smallest: "s", nearest: ["s", "min", "h", "d"], names: "short" };
/** "90min", "26h", "4d": how long ago a backup ran (whole days cut down: 4.6 days is "4d"). */
export const PACKED_AGE: DurationStyle = { nearest: ["min", "h"], names: "packed" };
/** "12d": whole days, cut down (uptimes, how long ago an account expired). */
export const WHOLE_DAYS: DurationStyle = { smallest: "d", names: "packed" };
/** "30h": whole hours, however many (a guest's uptime). */
export const WHOLE_HOURS: DurationStyle = { smallest: "h", largest: "h", names: "packed" };
/** "12 s", "11 min": how old a listing snapshot or a cursor is. */
export const SECONDS_OR_MINUTES: DurationStyle = { smallest: "s", largest: "min" };

/** `seconds` as a person reads it; the default style gives "12 d", "5 h", "40 min". Negative counts as 0. */
export function formatDuration(seconds: number, style: DurationStyle = {}): string {
  const from = UNITS.findIndex((u) => u.unit === (style.largest ?? "d"));
  const to = UNITS.findIndex((u) => u.unit === (style.smallest ?? "min"));
  const units = UNITS.slice(from, to + 1);
  const names = NAMES[style.names ?? "spaced"];
  const whole = (value: number, unit: DurationUnit) =>
    style.twoUnits || style.nearest?.includes(unit) ? Math.round(value) : Math.floor(value);
  const value = Math.max(0, seconds);
  for (const [i, { unit, seconds: size }] of units.entries()) {
    const smaller = units[i + 1];
    if (!smaller) break;
    if (style.twoUnits) {
      const count = Math.round(value / smaller.seconds);
      const per = size / smaller.seconds;
      if (count < 2 * per) continue;
      const rest = count % per;
      return `${Math.floor(count / per)}${names[unit]}${rest ? ` ${rest}${names[smaller.unit]}` : ""}`;
    }
    if (value >= 2 * size) return `${whole(value / size, unit)}${names[unit]}`;
  }
  const last = units[units.length - 1]!;
  return `${whole(value / last.seconds, last.unit)}${names[last.unit]}`;
}

/** How long until a deadline (a certificate's expiry): "12 d", "9 d 5 h", "30 h", "5 h 20 min", "40 min". */
export function timeLeft(seconds: number): string {
  return formatDuration(seconds, TIME_LEFT);
}
