import { z } from 'zod';
import type { TaskRow } from '../../db/repositories/task-query.repository';
import { TASK_STATUSES, type TaskPriority } from '../../workflows/contracts/task-types';
import { isoTimestamp, jsonObject } from './common-responses.schemas';
import { choices, commaList, contextData, int, isoInstant, taskName, taskType } from './tasks.schemas';

/**
 * Tasks in the public API v1 (seed 003): the same tasks as /tasks/ (one TaskService), other field names.
 * Priorities: the seed has three, we store four; `critical` (set through /tasks/) shows as `high`.
 */
export const V1_PRIORITIES = ['low', 'medium', 'high'] as const;
export type V1Priority = (typeof V1_PRIORITIES)[number];

/** A v1 priority → the stored priorities it stands for (a filter on `high` finds critical tasks too). */
export const STORED_PRIORITIES: Readonly<Record<V1Priority, readonly TaskPriority[]>> = {
  low: ['low'],
  medium: ['normal'],
  high: ['high', 'critical'],
};
/** A v1 priority → the priority a new or updated task is stored with. */
export const STORED_PRIORITY: Readonly<Record<V1Priority, TaskPriority>> = { low: 'low', medium: 'normal', high: 'high' };
export const V1_PRIORITY: Readonly<Record<TaskPriority, V1Priority>> = { low: 'low', normal: 'medium', high: 'high', critical: 'high' };

export const V1_TASK_SORTS = ['created_at', 'updated_at', 'duration'] as const;
export const V1_PAGE_LIMIT_MAX = 100;
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

const v1Priority = z.enum(V1_PRIORITIES, { error: choices(V1_PRIORITIES) });

/** `skip` and `limit` of every v1 list: default 50, at most 100 (more is a 400, never silently cut). */
export const v1Window = {
  skip: int.pipe(z.number().min(0, 'Must be 0 or more').max(2_147_483_647, 'Too large')).default(0),
  limit: int.pipe(z.number().min(1, 'Must be 1 or more').max(V1_PAGE_LIMIT_MAX, `At most ${V1_PAGE_LIMIT_MAX}`)).default(50),
};

/** GET /api/v1/tasks. `status` and `priority` also take comma-separated lists. */
export const v1ListTasksQuery = z
  .object({
    ...v1Window,
    status: commaList(TASK_STATUSES).optional(),
    priority: commaList(V1_PRIORITIES).optional(),
    worker_id: z.string().trim().min(1, 'Must not be empty').max(200, 'At most 200 characters').optional(),
    sort: z.enum(V1_TASK_SORTS, { error: choices(V1_TASK_SORTS) }).default('created_at'),
    order: z.enum(['asc', 'desc'], { error: choices(['asc', 'desc']) }).default('desc'),
  })
  .strict();
export type V1ListTasksQuery = z.infer<typeof v1ListTasksQuery>;

/**
 * POST /api/v1/tasks. `retry_count` is the seed's name for how many times the task may be retried (`max_retries` in
 * the answer, where `retry_count` counts the retries made); `timeout` is in seconds; `payload` is the task type's input
 * (`context_data` on /tasks/). `type` (default V1_DEFAULT_TASK_TYPE, `generic`) and `scheduled_for` are ours.
 */
export const v1CreateTaskBody = z
  .object({
    name: taskName,
    description: z.string().max(2000, 'At most 2000 characters').default(''),
    priority: v1Priority.default('medium'),
    retry_count: z.number({ error: 'Must be an integer' }).int('Must be an integer').min(0, 'Must be 0 or more').max(100, 'At most 100').default(3),
    timeout: z
      .number({ error: 'Must be a number of seconds' })
      .int('Must be a whole number of seconds')
      .min(1, 'Must be 1 or more')
      .max(MAX_TIMEOUT_SECONDS, `At most ${MAX_TIMEOUT_SECONDS} (one week)`)
      .nullable()
      .optional(),
    payload: contextData.default({}),
    type: taskType.optional(),
    scheduled_for: isoInstant.nullable().optional(),
  })
  .strict();
export type V1CreateTaskBody = z.infer<typeof v1CreateTaskBody>;

/**
 * PUT /api/v1/tasks/{task_id}: `{"status": "cancelled"}` alone cancels; otherwise the given fields change a pending task.
 * No other status can be set (a task's status is what its workflow does).
 */
export const v1UpdateTaskBody = z
  .object({
    status: z.literal('cancelled', { error: 'Only "cancelled" can be set (PUT {"status": "cancelled"} cancels the task)' }).optional(),
    name: taskName.optional(),
    description: z.string().max(2000, 'At most 2000 characters').optional(),
    priority: v1Priority.optional(),
    payload: contextData.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const fields = Object.keys(b).filter((k) => b[k as keyof typeof b] !== undefined);
    if (fields.length === 0) ctx.addIssue({ code: 'custom', message: 'Provide status "cancelled", or any of name, description, priority, payload' });
    if (b.status !== undefined && fields.length > 1) ctx.addIssue({ code: 'custom', path: ['status'], message: 'Cancel alone: send {"status": "cancelled"} without other fields' });
  });
export type V1UpdateTaskBody = z.infer<typeof v1UpdateTaskBody>;

/** Field names of /tasks/ errors (raised by the shared service) → their v1 names. */
export const V1_TASK_FIELD_NAMES: Readonly<Record<string, string>> = {
  context_data: 'payload',
  max_retries: 'retry_count',
  timeout_minutes: 'timeout',
  task_type: 'type',
};

// Raw queries return timestamptz as text; normalise to ISO 8601 UTC.
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * A task as v1 shows it. `id` is the task_id (the Temporal workflow id; the integer id of /tasks/ is accepted in paths
 * too). `timeout` and `duration` are seconds (`duration`: completed_at − started_at, null until the task ends);
 * `progress` is 0..100; `worker_id` the worker that ran the latest activity (null before any).
 */
export function serializeV1Task(row: TaskRow) {
  return {
    id: row.task_id,
    name: row.name,
    description: row.description,
    status: row.status,
    priority: V1_PRIORITY[row.priority as TaskPriority] ?? 'medium',
    type: row.task_type,
    retry_count: row.retry_count,
    max_retries: row.max_retries,
    timeout: row.timeout_minutes === null ? null : Math.round(row.timeout_minutes * 60 * 1000) / 1000,
    payload: row.context_data,
    result: row.result_data,
    error: row.error_message,
    progress: row.progress_percentage,
    worker_id: row.worker_id,
    scheduled_for: iso(row.scheduled_for),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    duration: row.duration_ms === null ? null : seconds(row.duration_ms),
  };
}

export const v1TaskResponse = z
  .strictObject({
    id: z.string().describe('The task_id (Temporal workflow id)'),
    name: z.string().nullable(),
    description: z.string(),
    status: z.enum(TASK_STATUSES),
    priority: z.enum(V1_PRIORITIES),
    type: z.string(),
    retry_count: z.number().int().describe('Retries made so far'),
    max_retries: z.number().int().describe('Retries allowed (the `retry_count` of the creation request)'),
    timeout: z.number().nullable().describe('Seconds'),
    payload: jsonObject,
    result: jsonObject.nullable(),
    error: z.string().nullable(),
    progress: z.number().min(0).max(100),
    worker_id: z.string().nullable(),
    scheduled_for: isoTimestamp.nullable(),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
    started_at: isoTimestamp.nullable(),
    completed_at: isoTimestamp.nullable(),
    duration: z.number().nullable().describe('Seconds from started_at to completed_at'),
  })
  .meta({ id: 'V1Task' });
