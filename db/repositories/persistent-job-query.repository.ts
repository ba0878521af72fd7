import type { EntityManager } from '@mikro-orm/postgresql';

/** Reads and writes of the persistent_jobs mirror used by the API (always brand-scoped). */

export interface JobRow {
  id: number;
  task_id: string;
  brand_id: number;
  job_type: string;
  job_data: Record<string, unknown>;
  settings: Record<string, unknown>;
  steps: string[];
  current_step: string | null;
  total_steps: number;
  items_total: number | null;
  items_done: number;
  progress_percentage: number;
  status: string;
  auto_resume: boolean;
  generation: number;
  throughput_per_second: number | null;
  estimated_completion: Date | string | null;
  error_message: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  paused_at: Date | string | null;
  completed_at: Date | string | null;
  checkpoints_count: number;
  can_resume: boolean;
  last_checkpoint_id: number | null;
  last_checkpoint_items: number | null;
}

/** A job has checkpoints of its current generation (older generations are history, never resumed from). */
export const jobHasCheckpoints = (j: string) =>
  `exists (select 1 from job_checkpoints c where c.job_id = ${j}.id and c.generation = ${j}.generation)`;

/** The one definition of "can resume now": paused, or failed/cancelled with a checkpoint to resume from. */
export const jobCanResume = (j: string) => `(${j}.status = 'paused' or (${j}.status in ('failed', 'cancelled') and ${jobHasCheckpoints(j)}))`;

export const SELECT_JOB = `
  select j.id, j.task_id, j.brand_id, j.job_type, j.job_data, j.settings, j.steps, j.current_step, j.total_steps, j.items_total,
         j.items_done, j.progress_percentage, j.status, j.auto_resume, j.generation, j.throughput_per_second,
         j.estimated_completion, j.error_message, j.created_at, j.updated_at, j.started_at, j.paused_at, j.completed_at,
         ${jobCanResume('j')} as can_resume,
         (select count(*)::int from job_checkpoints c where c.job_id = j.id and c.generation = j.generation) as checkpoints_count,
         (select c.id::float8 from job_checkpoints c where c.job_id = j.id and c.generation = j.generation order by c.sequence desc limit 1) as last_checkpoint_id,
         (select c.items_done from job_checkpoints c where c.job_id = j.id and c.generation = j.generation order by c.sequence desc limit 1) as last_checkpoint_items
    from persistent_jobs j`;

export async function findJob(em: EntityManager, brandId: number, id: number): Promise<JobRow | null> {
  const rows = await em.execute<JobRow[]>(`${SELECT_JOB} where j.brand_id = ? and j.id = ? and j.deleted_at is null`, [brandId, id]);
  return rows[0] ?? null;
}

export async function findJobByTaskId(em: EntityManager, brandId: number, taskId: string): Promise<JobRow | null> {
  const rows = await em.execute<JobRow[]>(`${SELECT_JOB} where j.brand_id = ? and j.task_id = ? and j.deleted_at is null`, [brandId, taskId]);
  return rows[0] ?? null;
}

export async function insertJob(
  em: EntityManager,
  j: { taskId: string; brandId: number; jobType: string; jobData: Record<string, unknown>; settings: Record<string, unknown>; steps: readonly string[]; autoResume: boolean },
): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into persistent_jobs (task_id, brand_id, job_type, job_data, settings, steps, total_steps, status, auto_resume, generation, created_at, updated_at, seq)
     values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, 'pending', ?, 0, clock_timestamp(), clock_timestamp(), 0) returning id`,
    [j.taskId, j.brandId, j.jobType, JSON.stringify(j.jobData), JSON.stringify(j.settings), JSON.stringify(j.steps), j.steps.length, j.autoResume],
  );
  return rows[0]!.id;
}

/** Marks a job as starting a new run (resume, restart): pending until the workflow records `running`. */
export async function markJobStarting(em: EntityManager, jobId: number, generation: number, minSeq: number): Promise<void> {
  await em.execute(
    `update persistent_jobs set status = 'pending', generation = ?, error_message = null, completed_at = null, paused_at = null,
            seq = greatest(seq, ?), updated_at = clock_timestamp()
      where id = ?`,
    [generation, minSeq, jobId],
  );
}

export async function resetJobProgress(em: EntityManager, jobId: number): Promise<void> {
  await em.execute(
    `update persistent_jobs set items_done = 0, progress_percentage = 0, current_step = null, estimated_completion = null, started_at = null where id = ?`,
    [jobId],
  );
}

export async function updateJobFields(em: EntityManager, jobId: number, fields: { jobData?: Record<string, unknown>; settings?: Record<string, unknown>; autoResume?: boolean }): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (fields.jobData !== undefined) {
    sets.push('job_data = ?::jsonb');
    params.push(JSON.stringify(fields.jobData));
  }
  if (fields.settings !== undefined) {
    sets.push('settings = ?::jsonb');
    params.push(JSON.stringify(fields.settings));
  }
  if (fields.autoResume !== undefined) {
    sets.push('auto_resume = ?');
    params.push(fields.autoResume);
  }
  if (!sets.length) return;
  await em.execute(`update persistent_jobs set ${sets.join(', ')}, updated_at = clock_timestamp() where id = ?`, [...params, jobId]);
}

export async function deleteJobRow(em: EntityManager, jobId: number): Promise<void> {
  await em.execute(`delete from persistent_jobs where id = ?`, [jobId]);
}

export async function softDeleteJob(em: EntityManager, jobId: number): Promise<void> {
  await em.execute(`update persistent_jobs set deleted_at = clock_timestamp() where id = ?`, [jobId]);
}
