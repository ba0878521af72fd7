/**
 * Fixed log-scale buckets for task durations, shared by the rollup writer and the dashboards: bucket i holds durations
 * in [BOUNDS[i-1], BOUNDS[i]) ms. Percentiles read from a histogram are the upper bound of the bucket that reaches the
 * rank (at most ~26 % above the true value, the bucket ratio); exact enough for p50/p95 trends, and additive.
 */
const RATIO = 1.26;
export const DURATION_BOUNDS_MS: readonly number[] = (() => {
  const out: number[] = [];
  for (let b = 1; b < 8 * 24 * 3_600_000; b *= RATIO) out.push(Math.round(b * 100) / 100);
  return out;
})();
export const HISTOGRAM_SIZE = DURATION_BOUNDS_MS.length + 1;

export function durationBucket(ms: number): number {
  let lo = 0;
  let hi = DURATION_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms < DURATION_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_SIZE).fill(0);
}

export function addHistograms(into: number[], other: readonly number[]): number[] {
  for (let i = 0; i < HISTOGRAM_SIZE; i++) into[i] = (into[i] ?? 0) + (other[i] ?? 0);
  return into;
}

/** The q-quantile (0..1) of a histogram, as the upper bound of the bucket holding that rank; null when empty. */
export function histogramQuantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return i < DURATION_BOUNDS_MS.length ? DURATION_BOUNDS_MS[i]! : DURATION_BOUNDS_MS[DURATION_BOUNDS_MS.length - 1]!;
  }
  return null;
}
