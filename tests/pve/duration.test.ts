/**
 * The one duration formatter (src/pve/model/duration.ts) and its styles. The tools and
 * the audit had a formatter each; every style must still write exactly what its former
 * formatter wrote, so those formatters are kept here as references and compared over
 * every whole second of the first three days and a sample beyond.
 */
import { describe, expect, it } from "vitest";
import {
  formatDuration,
  PACKED_AGE,
  SECONDS_OR_MINUTES,
  SHORT_AGE,
  timeLeft,
  WHOLE_DAYS,
  WHOLE_HOURS,
} from "../../src/pve/model/duration.js";

const MIN = 60;
const H = 3600;
const D = 86_400;

/** The formatters the styles replaced, as they were. */
const BEFORE = {
  /** src/audit/shared.ts age */
  audit(seconds: number): string {
    if (seconds >= 2 * D) return `${Math.floor(seconds / D)} d`;
    if (seconds >= 2 * 3600) return `${Math.floor(seconds / 3600)} h`;
    return `${Math.max(0, Math.floor(seconds / 60))} min`;
  },
  /** src/time-left.ts timeLeft */
  timeLeft(seconds: number): string {
    if (seconds >= 2 * D - H / 2) {
      const hours = Math.round(seconds / H);
      const days = Math.floor(hours / 24);
      const rest = hours % 24;
      return rest ? `${days} d ${rest} h` : `${days} d`;
    }
    if (seconds >= 2 * H - MIN / 2) {
      const minutes = Math.round(seconds / MIN);
      const rest = minutes % 60;
      return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${minutes / 60} h`;
    }
    return `${Math.max(0, Math.round(seconds / MIN))} min`;
  },
  /** src/tools/tasks.ts age */
  tasks(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    if (s < 120) return `${s}s`;
    if (s < 7200) return `${Math.round(s / 60)}m`;
    if (s < 172800) return `${Math.round(s / 3600)}h`;
    return `${Math.round(s / 86400)}d`;
  },
  /** src/tools/backup.ts ago, without its " ago" */
  backup(seconds: number): string {
    const s = Math.max(0, seconds);
    if (s < 2 * 3600) return `${Math.round(s / 60)}min`;
    if (s < 2 * D) return `${Math.round(s / 3600)}h`;
    return `${Math.floor(s / D)}d`;
  },
  /** src/tools/access.ts ("EXPIRED 3d ago") and src/tools/core.ts (node uptime) */
  days: (seconds: number) => `${Math.floor(seconds / 86400)}d`,
  /** src/tools/core.ts (guest uptime) */
  hours: (seconds: number) => `${Math.floor(seconds / 3600)}h`,
  /** src/tools/cursor-paging.ts ageText, of whole seconds (it rounds milliseconds to those first) */
  snapshot(seconds: number): string {
    return seconds < 120 ? `${seconds} s` : `${Math.floor(seconds / 60)} min`;
  },
};

const SAMPLE = [
  ...Array.from({ length: 3 * D + 1 }, (_, s) => s),
  ...Array.from({ length: 2000 }, (_, i) => 3 * D + i * 4_517),
];

describe("formatDuration", () => {
  it.each([
    ["the audit's default", (s: number) => formatDuration(s), BEFORE.audit],
    ["TIME_LEFT", timeLeft, BEFORE.timeLeft],
    ["SHORT_AGE", (s: number) => formatDuration(s, SHORT_AGE), BEFORE.tasks],
    ["PACKED_AGE", (s: number) => formatDuration(s, PACKED_AGE), BEFORE.backup],
    ["WHOLE_DAYS", (s: number) => formatDuration(s, WHOLE_DAYS), BEFORE.days],
    ["WHOLE_HOURS", (s: number) => formatDuration(s, WHOLE_HOURS), BEFORE.hours],
    ["SECONDS_OR_MINUTES", (s: number) => formatDuration(s, SECONDS_OR_MINUTES), BEFORE.snapshot],
  ])("%s writes what its former formatter wrote", (_, now, before) => {
    const differing = SAMPLE.filter((s) => now(s) !== before(s)).slice(0, 5);
    expect(differing.map((s) => `${s}: ${now(s)} (was ${before(s)})`)).toEqual([]);
  });

  it.each([
    [0, "0 min"],
    [-30, "0 min"],
    [119 * MIN, "119 min"],
    [2 * H, "2 h"],
    [47 * H + 59 * MIN, "47 h"],
    [2 * D, "2 d"],
    [9 * D + 23 * H, "9 d"],
  ])("default: %i s -> %s (cut down: never older than it is)", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    [9 * D + 20 * H, "9 d 20 h"], // issue 11: shown as "8 d" before
    [9 * D + 5 * H + 10 * MIN, "9 d 5 h"],
    [12 * D - 3, "12 d"], // a certificate issued for 12 days, read a few seconds later
    [12 * D + 29 * MIN, "12 d"],
    [2 * D, "2 d"],
    [2 * D - 20 * MIN, "2 d"],
    [47 * H, "47 h"],
    [30 * H + 15 * MIN, "30 h 15 min"],
    [2 * H, "2 h"],
    [119 * MIN, "119 min"],
    [40 * MIN + 20, "40 min"],
    [10, "0 min"],
    [-5, "0 min"],
  ])("timeLeft: %i s -> %s", (seconds, text) => {
    expect(timeLeft(seconds)).toBe(text);
  });

  it.each([
    [45, SHORT_AGE, "45s"],
    [7 * MIN, SHORT_AGE, "7m"],
    [26 * H, SHORT_AGE, "26h"],
    [64 * D, SHORT_AGE, "64d"],
    [90 * MIN, PACKED_AGE, "90min"],
    [4 * D + 14 * H, PACKED_AGE, "4d"],
    [30 * H + 59 * MIN, WHOLE_HOURS, "30h"],
    [12 * D + 23 * H, WHOLE_DAYS, "12d"],
    [12, SECONDS_OR_MINUTES, "12 s"],
    [3 * H, SECONDS_OR_MINUTES, "180 min"],
  ])("%i s in a named style", (seconds, style, text) => {
    expect(formatDuration(seconds, style)).toBe(text);
  });
});
