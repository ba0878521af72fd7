/** Tiny statistics helpers for the benchmarks. */

/** The p-th percentile (0..100) with linear interpolation between closest ranks; NaN for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The latency summary every bench prints and stores (ms). */
export function latencyStats(lat: readonly number[]) {
  return {
    p50: round(percentile(lat, 50), 2),
    p95: round(percentile(lat, 95), 2),
    p99: round(percentile(lat, 99), 2),
    mean: round(mean(lat), 2),
    min: round(Math.min(...lat), 2),
    max: round(Math.max(...lat), 2),
  };
}
