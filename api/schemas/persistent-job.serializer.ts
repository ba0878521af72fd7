import type { JobRow } from '../../db/repositories/persistent-job-query.repository';

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
