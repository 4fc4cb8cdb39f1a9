import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type BenchResults,
  performanceReport,
  REPORT_BEGIN,
  REPORT_END,
  replaceReport,
  reportIn,
} from "../../../bench/report.js";

const recorded = JSON.parse(
  readFileSync(new URL("../../../bench/results.json", import.meta.url), "utf8"),
) as BenchResults;
const baseline = JSON.parse(
  readFileSync(new URL("../../../bench/baseline.json", import.meta.url), "utf8"),
) as BenchResults;
const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

/** The recorded run with the given figures' medians (and spreads) set. */
function withMedians(medians: Record<string, number>): BenchResults {
  return {
    ...recorded,
    figures: recorded.figures.map((figure) => {
      const median = medians[figure.id];
      return median === undefined ? figure : { ...figure, median, min: median, max: median, runs: [median] };
    }),
  };
}

/** The goals table's row whose goal starts with `goal`. */
function goalRow(report: string, goal: string): string {
  const row = report.split("\n").find((line) => line.startsWith(`| ${goal}`));
  if (!row) throw new Error(`no goal row for ${goal}`);
  return row;
}

describe("the README's performance report", () => {
  it("is the one the recorded run of `npm run bench` produces, not edited by hand", () => {
    expect(reportIn(readme)).toBe(performanceReport(recorded, baseline));
  });

  it("marks a goal passed, without a cause, only when each of its figures meets its target", () => {
    const cpuGoal = "Front door CPU per request";
    const bothMet = performanceReport(
      withMedians({ "frontDoor.batch.cpuVsFloor": 1.4, "frontDoor.one.cpuVsFloor": 1.2 }),
    );
    const oneMissed = performanceReport(
      withMedians({ "frontDoor.batch.cpuVsFloor": 1.6, "frontDoor.one.cpuVsFloor": 1.2 }),
    );

    expect(goalRow(bothMet, cpuGoal)).toMatch(/\| pass \| +\|$/);
    expect(goalRow(oneMissed, cpuGoal)).toContain("| **miss** |");
    expect(goalRow(oneMissed, cpuGoal)).toContain("above the floor");
  });

  it("gives a missed goal the cause this run measured", () => {
    const report = performanceReport(
      withMedians({ "relay.delivered": 200, "relay.halfGoalDeliveredP99": 9000 }),
    );

    expect(goalRow(report, "Local relay, durable, 5 backends")).toContain("| **miss** |");
    expect(goalRow(report, "Local relay, durable, 5 backends")).toContain("ms of CPU per notification");
    expect(goalRow(report, "Accept → delivered p99")).toContain(
      "more than this relay delivers (200/s above)",
    );
  });

  it("names the bundles over the floor, worst first", () => {
    const report = performanceReport(withMedians({ "coldStart.deliver-email.sizeVsFloor": 2.5 }));

    expect(goalRow(report, "Lambda bundles within 1.1 × the SQS-only floor in bytes")).toMatch(
      /over: deliver-email 2\.5,/,
    );
  });
});

describe("the before-and-after table", () => {
  it("sets each followed figure of the baseline run beside this run's", () => {
    const report = performanceReport(withMedians({ "relay.delivered": 1234 }), baseline);
    const row = report
      .split("\n")
      .find((line) => line.startsWith("| Local relay, durable, 5 backends: notifications delivered"));
    const before = baseline.figures.find((figure) => figure.id === "relay.delivered");

    expect(row).toBeDefined();
    expect(row).toContain("| 1,234 |");
    expect(before).toBeDefined();
  });
});

describe("replaceReport", () => {
  it("replaces only the block between the markers", () => {
    const before = `# Title\n\n${REPORT_BEGIN}\nold\n${REPORT_END}\n\nafter\n`;

    expect(replaceReport(before, `${REPORT_BEGIN}\nnew\n${REPORT_END}`)).toBe(
      `# Title\n\n${REPORT_BEGIN}\nnew\n${REPORT_END}\n\nafter\n`,
    );
  });

  it("refuses a README without the block rather than losing the report", () => {
    expect(() => replaceReport("# Title\n", "report")).toThrow(/no .* block/);
  });
});
