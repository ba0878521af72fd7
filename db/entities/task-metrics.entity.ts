import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One activity attempt of a task, measured by the worker's interceptor (wall time, process CPU time, RSS growth). Unique
 * per (task, activity, attempt), so a duplicate write is a no-op. The task's metrics row is aggregated from these.
 */
export const ActivityExecution = defineEntity({
  name: 'ActivityExecution',
  tableName: 'activity_executions',
  uniques: [{ properties: ['taskId', 'runId', 'activityId', 'attempt'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    taskId: p.string().length(64).index(),
    runId: p.string().length(64),
    activityId: p.string().length(64),
    activityType: p.string().length(128),
    attempt: p.integer(),
    startedAt: p.datetime(),
    wallMs: p.double(),
    cpuMs: p.double(),
    rssDeltaMb: p.double(),
    error: p.text().nullable(),
    /** The Temporal identity of the worker that ran this attempt. */
    workerId: p.string().length(200).nullable(),
  },
});
export type IActivityExecution = InferEntity<typeof ActivityExecution>;

/**
 * Seed 000's TaskMetrics: one row per task (`base_task`), measured by the worker (source `worker`) or imported through
 * the API (source `import`). `rolled` remembers what this row added to `metric_rollups`, so a re-measure or an edit
 * replaces its contribution instead of adding it twice.
 */
export const TaskMetrics = defineEntity({
  name: 'TaskMetrics',
  tableName: 'task_metrics',
  indexes: [{ properties: ['brandId', 'finishedAt'] }, { properties: ['taskType', 'finishedAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    taskId: p.string().length(64).unique(),
    brandId: p.integer(),
    taskType: p.string().length(64),
    priority: p.string().length(16),
    status: p.string().length(16).nullable(),
    executionTimeMs: p.double(),
    cpuTimeMs: p.double().default(0),
    cpuUsagePercent: p.double(),
    memoryUsageMb: p.double(),
    costUsd: p.double(),
    errorCount: p.integer().default(0),
    attempts: p.integer().default(0),
    activityCount: p.integer().default(0),
    source: p.string().length(16),
    details: p.json<Record<string, unknown>>().nullable(),
    finishedAt: p.datetime(),
    rolled: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type ITaskMetrics = InferEntity<typeof TaskMetrics>;

/** The columns of a rollup row, hourly or daily (the same contribution is written to both). */
const rollupProperties = () => ({
  bucket: p.datetime(),
  brandId: p.integer(),
  taskType: p.string().length(64),
  priority: p.string().length(16),
  tasks: p.integer().default(0),
  failed: p.integer().default(0),
  /** Cancelled once running: `tasks - failed - cancelled` completed. */
  cancelled: p.integer().default(0),
  withErrors: p.integer().default(0),
  errorCount: p.integer().default(0),
  execMsSum: p.double().default(0),
  execMsMax: p.double().default(0),
  cpuPctSum: p.double().default(0),
  memMbSum: p.double().default(0),
  memMbMax: p.double().default(0),
  costSum: p.double().default(0),
  durations: p.json<number[]>(),
});

/**
 * Hourly rollups of task metrics per brand, task type and priority, maintained incrementally as metrics rows are
 * written: dashboards read these, never the raw rows. `durations` is a histogram over fixed log-scale buckets
 * (see api/services/metric-buckets.ts) from which p50/p95 are read.
 */
export const MetricRollup = defineEntity({
  name: 'MetricRollup',
  tableName: 'metric_rollups',
  uniques: [{ properties: ['bucket', 'brandId', 'taskType', 'priority'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    ...rollupProperties(),
  },
});
export type IMetricRollup = InferEntity<typeof MetricRollup>;

/**
 * The same rollups per day (UTC): a 30-day dashboard adds up ~30 rows per type and priority instead of ~720. Written in the
 * same transaction as the hourly row; readers combine whole days from here with the hours of a partial first day.
 */
export const MetricRollupDaily = defineEntity({
  name: 'MetricRollupDaily',
  tableName: 'metric_rollups_daily',
  uniques: [{ properties: ['bucket', 'brandId', 'taskType', 'priority'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    ...rollupProperties(),
  },
});
export type IMetricRollupDaily = InferEntity<typeof MetricRollupDaily>;
