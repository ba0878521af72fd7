import type { EntityManager } from '@mikro-orm/postgresql';
import { PRIORITY_LEVEL } from '../../workflows/contracts/task-types';
import type { FailureDetails } from '../../workflows/contracts/failure-details';
import type { TaskTransition } from '../../workflows/contracts/task-workflow';

/**
 * Writes of the task mirror, one function per data operation. Every status write is an upsert guarded by
 * `seq`: it lands only if newer than what the row holds, so retries, duplicates and late deliveries are harmless.
 */

const OPTIONAL_COLUMNS = {
  startedAt: 'started_at',
  completedAt: 'completed_at',
  resultData: 'result_data',
  errorMessage: 'error_message',
  errorDetails: 'error_details',
  progressPercentage: 'progress_percentage',
  runId: 'run_id',
} as const;

/**
 * Returns true when the write landed (false: the row already held a newer or equal state, or was deleted).
 * Update first, insert only when the row is missing: an `insert ... on conflict` would burn a serial id on every
 * transition and leave gaps in the user-visible `id`.
 */
export async function upsertTaskTransition(em: EntityManager, transition: TaskTransition): Promise<boolean> {
  // The details describe the message: clearing the message (a completed run, a retry with clear_errors) clears both.
  const t = transition.errorMessage === null && transition.errorDetails === undefined ? { ...transition, errorDetails: null } : transition;
  if (await updateTransition(em, t)) return true;
  if ((await insertTaskIfMissing(em, t)) !== null) return true;
  // Lost an insert race against a lower-seq write of the same task: apply ours on top of it.
  return updateTransition(em, t);
}

function optionalFields(t: TaskTransition) {
  return (Object.keys(OPTIONAL_COLUMNS) as (keyof typeof OPTIONAL_COLUMNS)[]).filter((k) => t[k] !== undefined);
}

async function updateTransition(em: EntityManager, t: TaskTransition): Promise<boolean> {
  const { input } = t;
  const optional = optionalFields(t);
  const sets = optional.map((k) => `"${OPTIONAL_COLUMNS[k]}" = ${isJsonb(k) ? '?::jsonb' : '?'}`);
  const rows = await em.execute<{ id: number }[]>(
    `update tasks set status = ?, seq = ?, priority = ?, priority_level = ?, description = ?, context_data = ?::jsonb,
            retry_count = ?, updated_at = clock_timestamp() ${sets.length ? ', ' + sets.join(', ') : ''}
      where task_id = ? and seq < ? and deleted_at is null
      returning id`,
    [
      t.status,
      t.seq,
      input.priority,
      PRIORITY_LEVEL[input.priority],
      input.description,
      JSON.stringify(input.contextData),
      input.retryCount,
      ...optional.map((k) => toSqlValue(k, t[k])),
      input.taskId,
      t.seq,
    ],
  );
  return rows.length > 0;
}

/** Inserts the row if the task has none yet; returns its new id, or null when a row already exists. */
export async function insertTaskIfMissing(em: EntityManager, t: TaskTransition): Promise<number | null> {
  const { input } = t;
  const optional = optionalFields(t);
  const rows = await em.execute<{ id: number }[]>(
    `insert into tasks (task_id, brand_id, created_by_id, task_type, status, priority, priority_level, description,
                        context_data, max_retries, retry_count, timeout_minutes, scheduled_for, created_at, updated_at, seq, schedule_id,
                        name, parent_task_id ${optional.map((k) => `, "${OPTIONAL_COLUMNS[k]}"`).join('')})
     select ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, clock_timestamp(), ?, ?, ?, ? ${optional.map((k) => (isJsonb(k) ? ', ?::jsonb' : ', ?')).join('')}
      where not exists (select 1 from tasks where task_id = ?)
     on conflict (task_id) do nothing
     returning id`,
    [
      input.taskId,
      input.brandId,
      input.createdById,
      input.taskType,
      t.status,
      input.priority,
      PRIORITY_LEVEL[input.priority],
      input.description,
      JSON.stringify(input.contextData),
      input.maxRetries,
      input.retryCount,
      input.timeoutMinutes,
      input.scheduledFor,
      input.createdAt,
      t.seq,
      input.schedule?.scheduleId ?? null,
      input.name ?? null,
      input.parentTaskId ?? null,
      ...optional.map((k) => toSqlValue(k, t[k])),
      input.taskId,
    ],
  );
  return rows[0]?.id ?? null;
}

/** Undoes the API's optimistic pending row when starting its workflow failed (only if nothing newer was written). */
export async function deleteUnstartedTask(em: EntityManager, taskId: string, seq: number): Promise<void> {
  await em.execute(`delete from tasks where task_id = ? and seq <= ?`, [taskId, seq]);
}

function isJsonb(key: keyof typeof OPTIONAL_COLUMNS): boolean {
  return key === 'resultData' || key === 'errorDetails';
}

function toSqlValue(key: keyof typeof OPTIONAL_COLUMNS, value: unknown): unknown {
  if (isJsonb(key)) return value === null ? null : JSON.stringify(value);
  return value;
}

/**
 * The worker now running one of the task's activities (public API `worker_id`). Not a state transition: no seq, no
 * updated_at; and no write at all while the same worker keeps running the task's activities.
 */
export async function assignTaskWorker(em: EntityManager, taskId: string, workerId: string): Promise<void> {
  await em.execute(`update tasks set worker_id = ? where task_id = ? and worker_id is distinct from ?`, [workerId, taskId, workerId]);
}

/** Progress written by heartbeating activities; only while the same run is still running. */
export async function updateTaskProgress(
  em: EntityManager,
  taskId: string,
  runId: string,
  progressPercentage: number,
): Promise<void> {
  await em.execute(
    `update tasks set progress_percentage = ?, updated_at = clock_timestamp()
      where task_id = ? and run_id = ? and status = 'running' and progress_percentage <> ?`,
    [progressPercentage, taskId, runId, progressPercentage],
  );
}

export interface ReconcileCandidate {
  task_id: string;
  status: string;
  retry_count: number;
  run_id: string | null;
  seq: number;
}

/** Unfinished rows not touched for a while: the ones whose workflow may have closed without telling the mirror. */
export async function findStaleActiveTasks(
  em: EntityManager,
  staleAfterSeconds: number,
  limit: number,
): Promise<ReconcileCandidate[]> {
  return em.execute<ReconcileCandidate[]>(
    `select task_id, status, retry_count, run_id, seq::float8 as seq from tasks
      where status in ('pending', 'running', 'paused') and deleted_at is null
        and coalesce(reconciled_at, updated_at) < clock_timestamp() - make_interval(secs => ?)
      order by coalesce(reconciled_at, updated_at) limit ?`,
    [staleAfterSeconds, limit],
  );
}

/** The reconciler's repair: the state Temporal reports, with a seq that beats the run's own writes but not a newer run's. */
export async function applyReconciledState(
  em: EntityManager,
  repair: {
    taskId: string;
    seq: number;
    status: string;
    errorMessage: string | null;
    /** What Temporal's failure tells about the run (kept when null: the run may have recorded better ones itself). */
    errorDetails?: FailureDetails | null;
    resultData: Record<string, unknown> | null;
    completedAt: string | null;
  },
): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(
    `update tasks set status = ?, seq = ?, error_message = coalesce(?, error_message),
            error_details = coalesce(?::jsonb, error_details),
            result_data = coalesce(?::jsonb, result_data), completed_at = coalesce(?::timestamptz, completed_at),
            progress_percentage = case when ? = 'completed' then 100 else progress_percentage end,
            updated_at = clock_timestamp()
      where task_id = ? and seq < ? and deleted_at is null
      returning id`,
    [
      repair.status,
      repair.seq,
      repair.errorMessage,
      repair.errorDetails ? JSON.stringify(repair.errorDetails) : null,
      repair.resultData ? JSON.stringify(repair.resultData) : null,
      repair.completedAt,
      repair.status,
      repair.taskId,
      repair.seq,
    ],
  );
  return rows.length > 0;
}

/** Marks a row the reconciler checked and found consistent, so the next pass looks at other rows first. */
export async function markTaskReconciled(em: EntityManager, taskId: string): Promise<void> {
  await em.execute(`update tasks set reconciled_at = clock_timestamp() where task_id = ?`, [taskId]);
}

/** Which of these task ids have a row (deleted ones included: a deleted task is never re-adopted). */
export async function findExistingTaskIds(em: EntityManager, taskIds: string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await em.execute<{ task_id: string }[]>(
    `select task_id from tasks where task_id in (${taskIds.map(() => '?').join(', ')})`,
    taskIds,
  );
  return rows.map((r) => r.task_id);
}
