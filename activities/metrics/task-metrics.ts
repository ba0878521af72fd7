import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../api/config';
import { measuredTotals, writeTaskMetrics } from '../../db/repositories/task-metrics.repository';
import type { TaskWorkflowInput } from '../../workflows/contracts/task-workflow';

/** USD for `seconds` of measured activity time of a task type, from the configured price table. */
export function costOf(prices: Record<string, number>, taskType: string, seconds: number): number {
  const perSecond = prices[taskType] ?? prices.default ?? 0;
  return Math.round(perSecond * seconds * 1e6) / 1e6;
}

/**
 * Turns the activity attempts the worker measured for a task into its metrics row: execution time is the measured
 * activity time (not queue or timer waits), CPU usage the process CPU time over it, memory the peak RSS growth, errors the
 * failed attempts. A task that ran no activity has nothing measured and gets no row.
 */
export async function finalizeTaskMetrics(
  em: EntityManager,
  config: Pick<AppConfig, 'METRIC_PRICE_TABLE'>,
  input: TaskWorkflowInput,
  status: string,
  finishedAt: string,
): Promise<void> {
  const totals = await measuredTotals(em, input.taskId);
  if (!totals) return;
  await writeTaskMetrics(em, {
    taskId: input.taskId,
    brandId: input.brandId,
    taskType: input.taskType,
    priority: input.priority,
    status,
    executionTimeMs: round(totals.wall_ms),
    cpuTimeMs: round(totals.cpu_ms),
    cpuUsagePercent: totals.wall_ms > 0 ? round(Math.min(100 * 64, (totals.cpu_ms / totals.wall_ms) * 100)) : 0,
    memoryUsageMb: round(totals.peak_rss_mb),
    costUsd: costOf(config.METRIC_PRICE_TABLE, input.taskType, totals.wall_ms / 1000),
    errorCount: totals.errors,
    attempts: totals.attempts,
    activityCount: totals.activity_count,
    source: 'worker',
    details: { by_activity_type: totals.by_type },
    finishedAt,
  });
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
