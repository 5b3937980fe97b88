import { describe, expect, it } from "vitest";
import { timeLeft } from "../src/time-left.js";

const MIN = 60;
const H = 3600;
const D = 86_400;

describe("timeLeft", () => {
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
  ])("%i s -> %s", (seconds, text) => {
    expect(timeLeft(seconds)).toBe(text);
  });
});
