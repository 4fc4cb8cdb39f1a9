import { describe, expect, it } from "vitest";
import {
  type Figure,
  formatMarkdownTable,
  formatNumber,
  formatTable,
  verdict,
} from "../../../bench/figures.js";
import { spread } from "../../../bench/stats.js";

const ratio: Figure = {
  id: "signature.2kb.ratio",
  name: "Signature check",
  unit: "ratio",
  value: spread([0.95, 0.92, 0.97]),
  target: { comparison: "atLeast", value: 0.9 },
};

describe("verdict", () => {
  it("passes a median at least the target when more is better", () => {
    expect(verdict(ratio)).toBe("pass");
    expect(verdict({ ...ratio, value: spread([0.9]) })).toBe("pass");
    expect(verdict({ ...ratio, value: spread([0.89]) })).toBe("miss");
  });

  it("passes a median at most the target when less is better", () => {
    const latency = { value: spread([1.5, 3, 1]), target: { comparison: "atMost", value: 2 } } as const;

    expect(verdict(latency)).toBe("pass");
    expect(verdict({ ...latency, value: spread([2.1]) })).toBe("miss");
  });

  it("gives no verdict to a figure without a target", () => {
    expect(verdict({ value: spread([1]) })).toBe("-");
  });
});

describe("formatNumber", () => {
  it("keeps about three significant digits and groups thousands", () => {
    expect(formatNumber(12345.678)).toBe("12,346");
    expect(formatNumber(46.62)).toBe("46.6");
    expect(formatNumber(0.1234)).toBe("0.123");
  });
});

describe("formatTable", () => {
  it("prints one aligned line per figure with its target and verdict", () => {
    const lines = formatTable([ratio]).split("\n");

    expect(lines[0]).toMatch(/^figure\s+median\s+min\s+max\s+unit\s+target\s+result$/);
    expect(lines[2]).toMatch(/^Signature check\s+0\.95\s+0\.92\s+0\.97\s+ratio\s+≥ 0\.9 ratio\s+pass$/);
  });

  it("prints the same rows as a Markdown table", () => {
    expect(formatMarkdownTable([ratio])).toContain(
      "| Signature check | 0.95 | 0.92 | 0.97 | ratio | ≥ 0.9 ratio | pass |",
    );
  });
});
