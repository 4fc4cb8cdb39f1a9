/**
 * The benchmark's arithmetic: percentiles of one run's samples, and the median/min/max a figure
 * reports over several runs. Pure, so it is unit-tested apart from anything that measures.
 */

/** Median, lowest and highest of a figure's per-run values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** The per-run values, in run order. */
  runs: number[];
}

/**
 * Nearest-rank percentile (`p` in 0..100) of `values`, which need not be sorted. Nearest rank and
 * not interpolation: every reported latency is one that really happened. NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, not ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

/** `percentile` for values already in ascending order (no copy: for large sample arrays). */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * The median (mean of the two middle values for an even count: for per-run figures, where a
 * handful of runs would otherwise always report the higher one), min and max of `runs`.
 */
export function spread(runs: readonly number[]): Spread {
  if (runs.length === 0) throw new RangeError("a figure needs at least one run");
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: [...runs] };
}

/** `spread` of `numerator[i] / denominator[i]`: ratios pair runs measured side by side. */
export function ratioSpread(numerator: readonly number[], denominator: readonly number[]): Spread {
  if (numerator.length !== denominator.length) {
    throw new RangeError(`ratio of ${numerator.length} runs to ${denominator.length} runs`);
  }
  return spread(numerator.map((value, index) => value / (denominator[index] as number)));
}
