import { z } from 'zod';
import type { TaskRow } from '../../db/repositories/task-query.repository';
import { TASK_PRIORITIES, TASK_STATUSES } from '../../workflows/contracts/task-types';
import { brandRef, drfPage, isoTimestamp, jsonObject, userRef } from './common-responses.schemas';

// Raw queries return timestamptz as text (MikroORM leaves pg's date parsing off); normalise to ISO 8601 UTC.
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** The task JSON of seed 001, in its field order, plus the optional fields we accept at creation. */
export function serializeTask(row: TaskRow) {
  return {
    id: row.id,
    task_id: row.task_id,
    task_type: row.task_type,
    name: row.name,
    status: row.status,
    priority: row.priority,
    description: row.description,
    progress_percentage: row.progress_percentage,
    brand: { id: row.brand_id, name: row.brand_name },
    created_by: { id: row.created_by_id, username: row.created_by_username },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    scheduled_for: iso(row.scheduled_for),
    context_data: row.context_data,
    result_data: row.result_data,
    error_message: row.error_message,
    retry_count: row.retry_count,
    max_retries: row.max_retries,
    timeout_minutes: row.timeout_minutes,
  };
}

/**
 * Detail view: the one-to-one extensions of seed 001 (null until their features exist for this task) and where
 * to watch the execution in the Temporal Web UI.
 */
export function serializeTaskDetail(row: TaskRow, temporal: { uiUrl: string; namespace: string }) {
  return {
    ...serializeTask(row),
    metrics: null,
    persistent_job: null,
    periodic: null,
    parent_task_id: row.parent_task_id ?? null,
    pipeline: row.task_type === 'pipeline' ? pipelineView(row) : null,
    temporal: {
      namespace: temporal.namespace,
      workflow_id: row.task_id,
      run_id: row.run_id,
      workflow_type: row.task_type,
      ui_url: `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(row.task_id)}${
        row.run_id ? `/${encodeURIComponent(row.run_id)}` : ''
      }/history`,
    },
  };
}

/**
 * A pipeline's step graph: the states its workflow last recorded (result_data.steps, written at every step change), or,
 * before it ran, its steps as declared, all pending.
 */
function pipelineView(row: TaskRow): { steps: Record<string, unknown>[] } {
  const recorded = row.result_data?.steps;
  if (Array.isArray(recorded)) return { steps: recorded as Record<string, unknown>[] };
  const declared = Array.isArray(row.context_data.steps) ? (row.context_data.steps as { id: string; task_type: string; depends_on?: string[] }[]) : [];
  return { steps: declared.map((s) => ({ id: s.id, task_type: s.task_type, depends_on: s.depends_on ?? [], state: 'pending', task_id: null })) };
}

// ---- response schemas (documented in /openapi.json; every test-suite response is checked against them) ----

/** What `serializeTask` returns. */
export const taskResponse = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  task_type: z.string(),
  name: z.string().nullable(),
  status: z.enum(TASK_STATUSES),
  priority: z.enum(TASK_PRIORITIES),
  description: z.string(),
  progress_percentage: z.number(),
  brand: brandRef,
  created_by: userRef,
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
  started_at: isoTimestamp.nullable(),
  completed_at: isoTimestamp.nullable(),
  scheduled_for: isoTimestamp.nullable(),
  context_data: jsonObject,
  result_data: jsonObject.nullable(),
  error_message: z.string().nullable(),
  retry_count: z.number().int(),
  max_retries: z.number().int(),
  timeout_minutes: z.number().nullable(),
}).meta({ id: 'Task' });

/** GET /tasks/: a DRF page of tasks. */
export const taskPageResponse = drfPage(taskResponse);

/** Where the task's workflow is in Temporal (and its page in the Web UI). */
export const taskTemporalResponse = z.strictObject({
  namespace: z.string(),
  workflow_id: z.string(),
  run_id: z.string().nullable(),
  workflow_type: z.string(),
  ui_url: z.string(),
});

/**
 * What `serializeTaskDetail` returns (POST, PUT, PATCH, and inside execute-now answers). GET /tasks/{id}/ fills the
 * three one-to-one extensions; they are null here.
 */
export const taskDetailResponse = taskResponse.extend({
  metrics: jsonObject.nullable(),
  persistent_job: jsonObject.nullable(),
  periodic: jsonObject.nullable(),
  /** The pipeline task that started this one as a step, or null. */
  parent_task_id: z.string().nullable(),
  /** `pipeline` tasks: their steps, each with its state and its own task's task_id; null for other types. */
  pipeline: z.strictObject({ steps: z.array(jsonObject) }).nullable(),
  temporal: taskTemporalResponse,
}).meta({ id: 'TaskDetail' });

/** POST /tasks/{id}/retry/. */
export const taskRetryResponse = z.strictObject({
  message: z.string(),
  task_id: z.string(),
  new_status: z.literal('pending'),
  retry_count: z.number().int(),
  max_retries: z.number().int(),
  estimated_start: isoTimestamp,
});

/** POST /tasks/{id}/cancel/: `status` is the terminal status reached within the wait, else `cancelling`. */
export const taskCancelResponse = z.strictObject({
  message: z.string(),
  task_id: z.string(),
  previous_status: z.enum(TASK_STATUSES),
  status: z.union([z.enum(TASK_STATUSES), z.literal('cancelling')]),
  cancelled_at: isoTimestamp,
});

/** GET /tasks/queue-stats/. */
export const queueStatsResponse = z.strictObject({
  total_tasks: z.number().int(),
  queues: z.record(z.enum(TASK_PRIORITIES), z.strictObject({ pending: z.number().int(), running: z.number().int(), total_today: z.number().int() })),
  status_distribution: z.record(z.string(), z.number().int()),
  avg_processing_time_minutes: z.record(z.enum(TASK_PRIORITIES), z.number().nullable()),
});

/** GET /tasks/type-stats/. */
export const typeStatsResponse = z.strictObject({
  task_types: z.record(
    z.string(),
    z.strictObject({
      total: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
      cancelled: z.number().int(),
      pending: z.number().int(),
      running: z.number().int(),
      avg_duration_minutes: z.number().nullable(),
      success_rate: z.number(),
    }),
  ),
});
