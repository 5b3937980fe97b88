/** next-run of PVE job schedules (systemd calendar event subset), in UTC. */
import { describe, expect, it } from "vitest";
import { nextRun } from "../../src/simulator/calendar.js";

// Saturday 2026-11-21 07:19:00 UTC
const NOW = Date.UTC(2026, 10, 21, 7, 19) / 1000;
const at = (iso: string) => Date.parse(iso) / 1000;

describe("nextRun", () => {
  it.each([
    ["01:00", "2026-11-22T01:00:00Z"],
    ["21:00", "2026-11-21T21:00:00Z"],
    ["sun 01:00", "2026-11-22T01:00:00Z"],
    ["mon..fri 02:30", "2026-11-23T02:30:00Z"],
    ["sat 07:19", "2026-11-28T07:19:00Z"],
    ["*-*-* 02:30", "2026-11-22T02:30:00Z"],
    ["06,18:30", "2026-11-21T18:30:00Z"],
    ["*:0/15", "2026-11-21T07:30:00Z"],
    ["*/2:00", "2026-11-21T08:00:00Z"],
    ["daily", "2026-11-22T00:00:00Z"],
    ["weekly", "2026-11-23T00:00:00Z"],
    ["monthly", "2026-12-01T00:00:00Z"],
    ["*-12-24 18:00", "2026-12-24T18:00:00Z"],
    // Without ":" the value is minutes of every hour.
    ["*/5", "2026-11-21T07:20:00Z"],
    ["*/15", "2026-11-21T07:30:00Z"],
    ["*/30", "2026-11-21T07:30:00Z"],
    ["45", "2026-11-21T07:45:00Z"],
    ["sat *-*-* 7:19:30", "2026-11-21T07:19:30Z"],
  ])("%s -> %s", (schedule, expected) => {
    expect(nextRun(schedule, NOW)).toBe(at(expected));
  });

  it.each(["fooday 01:00", "25:00", "1:2:3:4 x", "1:2:3:4", "60"])("does not understand %j", (schedule) => {
    expect(nextRun(schedule, NOW)).toBeUndefined();
  });
});
