// Order statistics over measured times: the one definition of p50 / p99, of a median, and of the
// figures (throughput and latency) every bench prints.

/**
 * The value at percentile `p` of ascending `sorted`: the element at index ⌊p/100 · n⌋, capped at
 * the last one (nearest rank, no interpolation), so p50 of an even count is the upper middle value.
 *
 * @param sorted - values in ascending order (not checked)
 * @param p - the percentile, 0 to 100
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The median of `values` (any order; not modified): percentile 50, the upper middle value of an even count. */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** What a run of calls measured: throughput over wall time, and latency percentiles per call. */
export interface Measurement {
  /** Calls measured. */
  ops: number;
  /** Wall time the calls took, in milliseconds. */
  ms: number;
  /** `ops` per second of `ms`. */
  opsPerSec: number;
  /** Median latency of one call, in milliseconds; `NaN` when calls were not timed one by one. */
  p50: number;
  /** 99th-percentile latency of one call, in milliseconds; `NaN` when calls were not timed one by one. */
  p99: number;
}

/**
 * Figures of `ops` calls that took `wallMs` in all, from their latencies (any order; not modified).
 * Without latencies (calls timed only together), p50 and p99 are `NaN`.
 */
export function summarize(latenciesMs: readonly number[], wallMs: number, ops = latenciesMs.length): Measurement {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    ops,
    ms: wallMs,
    opsPerSec: (ops / wallMs) * 1000,
    p50: sorted.length === 0 ? Number.NaN : percentile(sorted, 50),
    p99: sorted.length === 0 ? Number.NaN : percentile(sorted, 99),
  };
}
