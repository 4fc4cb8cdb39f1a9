import { describe, expect, it } from "vitest";
import { percentile, percentileOfSorted, ratioSpread, spread } from "../../../bench/stats.js";

describe("percentile", () => {
  it("takes the nearest rank, so every reported latency is one that happened", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];

    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
  });

  it("gives the single value of a one-sample run for any percentile", () => {
    expect(percentile([42], 1)).toBe(42);
    expect(percentile([42], 99)).toBe(42);
  });

  it("picks the 99th of 100 sorted values for p99", () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);

    expect(percentileOfSorted(sorted, 99)).toBe(99);
  });

  it("is NaN for no values and refuses a percentile outside 0..100", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("spread", () => {
  it("reports the median, min and max of the runs and keeps them in run order", () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: [3, 1, 2] });
  });

  it("averages the two middle runs of an even count", () => {
    expect(spread([4, 1, 2, 3]).median).toBe(2.5);
  });

  it("refuses a figure without runs", () => {
    expect(() => spread([])).toThrow(RangeError);
  });
});

describe("ratioSpread", () => {
  it("pairs runs measured side by side before taking the median", () => {
    const ratios = ratioSpread([50, 90, 80], [100, 100, 200]);

    expect(ratios.runs).toEqual([0.5, 0.9, 0.4]);
    expect(ratios.median).toBe(0.5);
  });

  it("refuses runs that do not pair up", () => {
    expect(() => ratioSpread([1, 2], [1])).toThrow(RangeError);
  });
});
