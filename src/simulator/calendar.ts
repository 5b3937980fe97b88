/**
 * The subset of systemd-style calendar events that PVE job schedules use
 * (`sun 01:00`, `mon..fri 02:30`, `*-*-* 02:30`, `06,18:30`, `*:0/15`, `*\/15`, `daily`),
 * for the `next-run` and `next_sync` PVE reports. Nodes are taken to run in UTC.
 */

/** Month abbreviations as Perl's localtime and syslog print them. */
export const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const ALIASES: Record<string, string> = {
  minutely: "*:*",
  hourly: "*:00",
  daily: "00:00",
  weekly: "mon 00:00",
  monthly: "*-*-01 00:00",
  yearly: "*-01-01 00:00",
  annually: "*-01-01 00:00",
};

/** "*", "5", "1,3", "8..17", "*\/15", "0/15" -> the matching values in [min, max], ascending. */
function field(spec: string, min: number, max: number): number[] | undefined {
  const values = new Set<number>();
  for (const part of spec.split(",")) {
    const step = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!step) return undefined;
    const from = step[1] === "*" ? min : Number(step[1]);
    const to = step[2] !== undefined ? Number(step[2]) : step[1] === "*" || step[3] ? max : from;
    const by = step[3] ? Number(step[3]) : 1;
    if (by < 1 || from < min || to > max) return undefined;
    for (let v = from; v <= to; v += by) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function weekdays(spec: string): Set<number> | undefined {
  const days = new Set<number>();
  for (const part of spec.split(",")) {
    const [a = "", b] = part.split("..");
    const from = WEEKDAYS.indexOf(a.slice(0, 3));
    const to = b === undefined ? from : WEEKDAYS.indexOf(b.slice(0, 3));
    if (from < 0 || to < 0) return undefined;
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return days;
}

/**
 * `[HOURS:]MINUTES[:SECONDS]`, each sorted. Without hours the value means minutes of
 * every hour (proxmox-time's parse_time_spec: "*\/5" runs every five minutes).
 */
function timeOfDay(spec: string): { hours: number[]; minutes: number[]; seconds: number[] } | undefined {
  const parts = spec.split(":");
  if (parts.length > 3) return undefined;
  const [h = "", min = "", s = "0"] = parts.length === 1 ? ["*", ...parts] : parts;
  const hours = field(h, 0, 23);
  const minutes = field(min, 0, 59);
  const seconds = field(s, 0, 59);
  return hours && minutes && seconds ? { hours, minutes, seconds } : undefined;
}

/** Epoch seconds of the first run strictly after `after`; undefined when the schedule is not understood. */
export function nextRun(schedule: string, after: number): number | undefined {
  let text = schedule.trim().toLowerCase();
  text = ALIASES[text] ?? text;
  const tokens = text.split(/\s+/);
  let days: Set<number> | undefined;
  if (tokens[0] && /^[a-z]/.test(tokens[0])) {
    days = weekdays(tokens.shift() as string);
    if (!days) return undefined;
  }
  let months: number[] | undefined;
  let dates: number[] | undefined;
  if (tokens[0]?.includes("-")) {
    const [, m = "*", d = "*"] = (tokens.shift() as string).split("-");
    months = field(m, 1, 12);
    dates = field(d, 1, 31);
    if (!months || !dates) return undefined;
  }
  const time = timeOfDay(tokens.shift() ?? "00:00");
  if (!time || tokens.length > 0) return undefined;

  const startDay = Math.floor(after / 86400);
  for (let day = startDay; day < startDay + 400; day++) {
    const date = new Date(day * 86400_000);
    if (days && !days.has(date.getUTCDay())) continue;
    if (months && !months.includes(date.getUTCMonth() + 1)) continue;
    if (dates && !dates.includes(date.getUTCDate())) continue;
    for (const hour of time.hours) {
      for (const minute of time.minutes) {
        for (const second of time.seconds) {
          const at = day * 86400 + hour * 3600 + minute * 60 + second;
          if (at > after) return at;
        }
      }
    }
  }
  return undefined;
}
