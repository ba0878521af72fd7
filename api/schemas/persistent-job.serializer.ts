import { z } from 'zod';
import type { JobRow } from '../../db/repositories/persistent-job-query.repository';
import { TASK_STATUSES } from '../../workflows/contracts/task-types';
import { drfPage, isoTimestamp, jsonObject } from './common-responses.schemas';
import { taskResponse } from './task.serializer';

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** The persistent job response of seed 000 (`job_data`, `current_step`, `total_steps`, …), plus what operators need. */
export function serializeJob(job: JobRow, baseTask?: Record<string, unknown>) {
  return {
    id: job.id,
    base_task: baseTask ?? { id: null, task_id: job.task_id },
    job_type: job.job_type,
    job_data: job.job_data,
    status: job.status,
    current_step: job.current_step,
    steps: job.steps,
    total_steps: job.total_steps,
    progress_percentage: job.progress_percentage,
    items_done: job.items_done,
    items_total: job.items_total,
    can_resume: job.can_resume,
    checkpoints_count: job.checkpoints_count,
    last_checkpoint: job.last_checkpoint_id === null ? null : { id: Number(job.last_checkpoint_id), items_done: job.last_checkpoint_items },
    estimated_completion: iso(job.estimated_completion),
    throughput_per_second: job.throughput_per_second,
    auto_resume: job.auto_resume,
    generation: job.generation,
    settings: job.settings,
    error_message: job.error_message,
    created_at: iso(job.created_at),
    updated_at: iso(job.updated_at),
    started_at: iso(job.started_at),
    paused_at: iso(job.paused_at),
    completed_at: iso(job.completed_at),
  };
}

/** The `persistent_job` key of `GET /tasks/{id}/` (seed 001's one-to-one extension). */
export function jobSummary(job: JobRow) {
  return {
    id: job.id,
    status: job.status,
    current_step: job.current_step,
    progress_percentage: job.progress_percentage,
    can_resume: job.can_resume,
    checkpoints_count: job.checkpoints_count,
    estimated_completion: iso(job.estimated_completion),
  };
}

// ---- response schemas ----

/** What `serializeJob` returns: `base_task` is the task JSON, or `{id: null, task_id}` when the task is gone. */
export const persistentJobResponse = z.strictObject({
  id: z.number().int(),
  base_task: z.union([taskResponse, z.strictObject({ id: z.null(), task_id: z.string() })]),
  job_type: z.string(),
  job_data: jsonObject,
  status: z.enum(TASK_STATUSES),
  current_step: z.string().nullable(),
  steps: z.array(z.string()),
  total_steps: z.number().int(),
  progress_percentage: z.number(),
  items_done: z.number().int(),
  items_total: z.number().int().nullable(),
  can_resume: z.boolean(),
  checkpoints_count: z.number().int(),
  last_checkpoint: z.strictObject({ id: z.number().int(), items_done: z.number().int().nullable() }).nullable(),
  estimated_completion: isoTimestamp.nullable(),
  throughput_per_second: z.number().nullable(),
  auto_resume: z.boolean(),
  generation: z.number().int(),
  settings: jsonObject,
  error_message: z.string().nullable(),
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
  started_at: isoTimestamp.nullable(),
  paused_at: isoTimestamp.nullable(),
  completed_at: isoTimestamp.nullable(),
}).meta({ id: 'PersistentJob' });

export const persistentJobPageResponse = drfPage(persistentJobResponse);
