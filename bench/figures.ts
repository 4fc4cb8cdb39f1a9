/**
 * A benchmark figure (median/min/max over runs, with its target) and the table `npm run bench`
 * prints. Pure: formatting and pass/miss decisions are unit-tested.
 */
import type { Spread } from "./stats.js";

/** A target the issue sets: the median must be at least, or at most, `value`. */
export interface Target {
  comparison: "atLeast" | "atMost";
  value: number;
}

export interface Figure {
  /** Stable key in results.json, e.g. `signature.2kb.ratio`. */
  id: string;
  /** What it measures, as the table shows it. */
  name: string;
  /** `ratio`, `ms`, `req/s`, `MB`, `KB`, `$`... */
  unit: string;
  value: Spread;
  target?: Target;
  /** How it was measured, when the name alone does not say. */
  note?: string;
}

export type Verdict = "pass" | "miss" | "-";

/** Whether the figure's median meets its target; `-` for figures without one. */
export function verdict(figure: Pick<Figure, "value" | "target">): Verdict {
  const { target } = figure;
  if (!target) return "-";
  const median = figure.value.median;
  const met = target.comparison === "atLeast" ? median >= target.value : median <= target.value;
  return met ? "pass" : "miss";
}

/** A number with about three significant digits, grouped thousands, no exponent. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : magnitude >= 0.01 ? 3 : 5;
  return value.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/** `≥ 0.9 ratio`, `≤ 2 ms`. */
export function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return "";
  return `${target.comparison === "atLeast" ? "≥" : "≤"} ${formatNumber(target.value)} ${unit}`;
}

/** The figures as an aligned plain-text table: figure, value, min, max, unit, target, verdict. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ["figure", "median", "min", "max", "unit", "target", "result"];
  const rows = figures.map((figure) => [
    figure.name,
    formatNumber(figure.value.median),
    formatNumber(figure.value.min),
    formatNumber(figure.value.max),
    figure.unit,
    formatTarget(figure.target, figure.unit),
    verdict(figure),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  // Numbers right-aligned, words left-aligned.
  const numeric = new Set([1, 2, 3]);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The same table as GitHub Markdown, for the README's Performance section. */
export function formatMarkdownTable(figures: readonly Figure[]): string {
  const rows = figures.map(
    (figure) =>
      `| ${figure.name} | ${formatNumber(figure.value.median)} | ${formatNumber(figure.value.min)} | ` +
      `${formatNumber(figure.value.max)} | ${figure.unit} | ${formatTarget(figure.target, figure.unit)} | ${verdict(figure)} |`,
  );
  return [
    "| figure | median | min | max | unit | target | result |",
    "| --- | ---: | ---: | ---: | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
