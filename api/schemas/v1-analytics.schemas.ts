import { z } from 'zod';
import type { TaskAnalyticsRow } from '../../db/repositories/task-analytics.repository';
import { TASK_STATUSES, type TaskPriority } from '../../workflows/contracts/task-types';
import { V1_TREND_METRICS } from '../services/metrics.service';
import { isoTimestamp } from './common-responses.schemas';
import { choices, commaList, int, isoInstant } from './tasks.schemas';
import { V1_PRIORITIES, V1_PRIORITY } from './v1-tasks.schemas';

/** Analytics of the public API v1 (seed 003), for the caller's brand. */

export const v1DashboardQuery = z.object({}).strict();

/** Exactly the seed's fields (see MetricsService.v1Summary for their definitions; workers are platform-wide). */
export const v1DashboardResponse = z
  .strictObject({
    total_tasks: z.number().int(),
    completed_tasks: z.number().int(),
    failed_tasks: z.number().int(),
    pending_tasks: z.number().int().describe('Waiting, running or paused'),
    completion_rate: z.number().min(0).max(1).describe('completed_tasks / total_tasks'),
    average_duration: z.number().min(0).describe('Seconds: mean measured execution time of finished tasks'),
    workers_active: z.number().int(),
    workers_total: z.number().int(),
  })
  .meta({ id: 'V1Dashboard' });

export const v1TrendsQuery = z
  .object({
    days: int.pipe(z.number().min(1, 'Must be 1 or more').max(365, 'At most 365')).default(7),
    metric: z.enum(V1_TREND_METRICS, { error: choices(V1_TREND_METRICS) }).default('completion_rate'),
  })
  .strict();

export const v1TrendsResponse = z
  .strictObject({
    metric: z.enum(V1_TREND_METRICS),
    days: z.number().int(),
    unit: z.enum(['ratio', 'seconds']),
    series: z.array(
      z.strictObject({
        date: z.iso.date().describe('UTC day'),
        value: z.number().nullable().describe('null: no task finished that day'),
        tasks: z.number().int().describe('Tasks that finished that day after running an activity'),
      }),
    ),
  })
  .meta({ id: 'V1Trends' });

/** GET /api/v1/analytics/export: which tasks (all of the brand's by default). */
export const v1ExportQuery = z
  .object({
    status: commaList(TASK_STATUSES).optional(),
    priority: commaList(V1_PRIORITIES).optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
  })
  .strict();

/** The columns of the export, in CSV order. */
export const V1_EXPORT_COLUMNS = [
  'task_id',
  'name',
  'type',
  'status',
  'priority',
  'worker_id',
  'retry_count',
  'max_retries',
  'created_at',
  'started_at',
  'completed_at',
  'duration',
  'execution_time',
  'cpu_usage_percent',
  'memory_usage_mb',
  'cost_usd',
  'error',
] as const;

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

/** One task of the export: `duration` (wall, completed − started) and `execution_time` (measured activity time) in seconds. */
export function v1ExportRecord(r: TaskAnalyticsRow): Record<(typeof V1_EXPORT_COLUMNS)[number], string | number | null> {
  return {
    task_id: r.task_id,
    name: r.name,
    type: r.task_type,
    status: r.status,
    priority: V1_PRIORITY[r.priority as TaskPriority] ?? 'medium',
    worker_id: r.worker_id,
    retry_count: r.retry_count,
    max_retries: r.max_retries,
    created_at: iso(r.created_at),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    duration: seconds(r.duration_ms),
    execution_time: seconds(r.execution_time_ms),
    cpu_usage_percent: r.cpu_usage_percent,
    memory_usage_mb: r.memory_usage_mb,
    cost_usd: r.cost_usd,
    error: r.error_message,
  };
}

export const v1ExportRecordResponse = z
  .strictObject({
    task_id: z.string(),
    name: z.string().nullable(),
    type: z.string(),
    status: z.enum(TASK_STATUSES),
    priority: z.enum(V1_PRIORITIES),
    worker_id: z.string().nullable(),
    retry_count: z.number().int(),
    max_retries: z.number().int(),
    created_at: isoTimestamp,
    started_at: isoTimestamp.nullable(),
    completed_at: isoTimestamp.nullable(),
    duration: z.number().nullable(),
    execution_time: z.number().nullable(),
    cpu_usage_percent: z.number().nullable(),
    memory_usage_mb: z.number().nullable(),
    cost_usd: z.number().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'V1ExportRecord' });
