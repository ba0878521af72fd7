import type { CheckStatus, PerformanceCheck } from '../../workflows/tasks/page-performance-audit';

/** At or under the threshold passes, up to 1.5× warns, beyond fails. */
export function grade(metric: string, value: number, threshold: number): PerformanceCheck {
  const status: CheckStatus = value <= threshold ? 'pass' : value <= threshold * 1.5 ? 'warn' : 'fail';
  return { metric, value, threshold, status };
}

/** A count that should be zero: any occurrence warns (an improvement to make, not a failure). */
export function shouldBeZero(metric: string, value: number): PerformanceCheck {
  return { metric, value, threshold: 0, status: value === 0 ? 'pass' : 'warn' };
}

/** 0..100: pass = 1, warn = 0.5, fail = 0, averaged. */
export function score(checks: PerformanceCheck[]): number {
  if (!checks.length) return 100;
  const points = checks.reduce((s, c) => s + (c.status === 'pass' ? 1 : c.status === 'warn' ? 0.5 : 0), 0);
  return Math.round((points / checks.length) * 100);
}

export const kb = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;
