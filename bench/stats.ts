// Percentiles for latency samples (nearest-rank, as most load tools report them).

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of `values` (need not be sorted); NaN for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** p50/p99/max in whole milliseconds; null when there is no sample. */
export function summarize(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const round = (v: number): number => Math.round(v);
  return { n: values.length, p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(Math.max(...values)) };
}
