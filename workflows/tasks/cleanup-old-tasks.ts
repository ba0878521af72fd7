import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `cleanup_old_tasks`: deletes the brand's tasks that finished (completed_at) more than `older_than_days` ago, with
 * exactly the rules of `DELETE /tasks/{id}/` (the activity calls TaskService as the cleanup task's creator: Temporal
 * execution deleted, mirror row soft-deleted, audit row written). The cutoff is computed when the task runs, so a
 * schedule with a static context cleans relative to each firing. Never deleted: unfinished tasks, the cleanup task
 * itself, other brands' tasks, and the base task of a live periodic task or cron job (a schedule's template).
 *
 * One activity computes the cutoff and counts the candidates; then each batch of `batch_size` is one activity call
 * that selects the next candidates (keyset on id) and deletes them one by one, heartbeating after each: a worker
 * crash costs at most the batch in flight, and the workflow history stays small whatever `max_tasks` is.
 */
export const CLEANUP_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type CleanupStatus = (typeof CLEANUP_STATUSES)[number];
/** Bound on the batches of one run (each is one activity call: about 3 history events). */
export const CLEANUP_MAX_BATCHES = 2000;
/** `errors` of the result keeps the first ones only. */
export const CLEANUP_MAX_ERRORS = 20;

export const cleanupOldTasksContextSchema = z
  .object({
    older_than_days: z.number().int().min(1).max(3650).default(30),
    statuses: z
      .array(z.enum(CLEANUP_STATUSES))
      .min(1)
      .refine((s) => new Set(s).size === s.length, 'Each status at most once')
      .default([...CLEANUP_STATUSES]),
    task_types: z.array(z.string().trim().min(1).max(64)).min(1).max(100).optional(),
    max_tasks: z.number().int().min(1).max(100_000).default(10_000),
    batch_size: z.number().int().min(1).max(500).default(100),
    dry_run: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Math.ceil(c.max_tasks / c.batch_size) > CLEANUP_MAX_BATCHES) {
      ctx.addIssue({
        code: 'custom',
        path: ['batch_size'],
        message: `At most ${CLEANUP_MAX_BATCHES} batches per run: batch_size must be at least ${Math.ceil(c.max_tasks / CLEANUP_MAX_BATCHES)} for max_tasks=${c.max_tasks}`,
      });
    }
  });
export type CleanupOldTasksContext = z.infer<typeof cleanupOldTasksContextSchema>;

/** What makes a task a candidate; re-checked for each task just before it is deleted. */
export interface CleanupCriteria {
  brandId: number;
  /** The cleanup task itself: never a candidate. */
  selfTaskId: string;
  /** ISO instant: tasks with completed_at strictly before it. */
  cutoff: string;
  statuses: CleanupStatus[];
  taskTypes: string[] | null;
}

export interface CleanupActor {
  userId: number;
  username: string;
  brandId: number;
  brandName: string;
}

export interface CleanupPlan {
  cutoff: string;
  /** Candidates when the run started (all of them, not bounded by max_tasks). */
  candidates: number;
  actor: CleanupActor;
}

export interface CleanupError {
  id: number;
  task_id: string;
  /** The API's error_code when it refused, absent for an unexpected error. */
  error_code?: string;
  reason: string;
}

export type CleanupByStatus = Record<CleanupStatus, number>;

export interface CleanupBatchInput {
  criteria: CleanupCriteria;
  actor: CleanupActor;
  dryRun: boolean;
  /** Candidates with a greater id only (keyset). */
  afterId: number;
  limit: number;
  /** Candidates processed before this batch, and the run's expected total: for progress. */
  offset: number;
  total: number;
}

export interface CleanupBatchResult {
  /** The greatest id examined (the next batch starts after it). */
  lastId: number;
  /** Candidates examined by this batch. */
  matched: number;
  deleted: number;
  /** Refused by the API's rules or no longer a candidate (e.g. retried since, or now a schedule's template). */
  skipped: number;
  /** Unexpected errors (e.g. Temporal unreachable). */
  failed: number;
  /** Deleted per status (dry run: would be deleted). */
  byStatus: CleanupByStatus;
  /** The batch's first CLEANUP_MAX_ERRORS skipped or failed tasks. */
  errors: CleanupError[];
}

/** `result_data` of a completed `cleanup_old_tasks` task. */
export interface CleanupOldTasksResult {
  cutoff: string;
  matched: number;
  deleted: number;
  skipped: number;
  failed: number;
  errors: CleanupError[];
  dry_run: boolean;
  by_status: Partial<CleanupByStatus>;
  /** More candidates than max_tasks when the run started: the next run continues. */
  truncated: boolean;
}

export const cleanup_old_tasks = defineTaskWorkflow<CleanupOldTasksContext>({
  type: 'cleanup_old_tasks',
  contextSchema: cleanupOldTasksContextSchema,
  async run({ input, context, activities }) {
    const { prepareTaskCleanup } = activities({ startToCloseTimeout: '5 minutes', retry: { maximumAttempts: 5 } });
    const { cleanupTaskBatch } = activities({ startToCloseTimeout: '2 hours', retry: { maximumAttempts: 5 } });
    const statuses = CLEANUP_STATUSES.filter((s) => context.statuses.includes(s));
    const plan = await prepareTaskCleanup({
      brandId: input.brandId,
      createdById: input.createdById,
      selfTaskId: input.taskId,
      olderThanDays: context.older_than_days,
      statuses,
      taskTypes: context.task_types ?? null,
    });
    const criteria: CleanupCriteria = {
      brandId: input.brandId,
      selfTaskId: input.taskId,
      cutoff: plan.cutoff,
      statuses,
      taskTypes: context.task_types ?? null,
    };
    const total = Math.min(plan.candidates, context.max_tasks);
    const result: CleanupOldTasksResult = {
      cutoff: plan.cutoff,
      matched: 0,
      deleted: 0,
      skipped: 0,
      failed: 0,
      errors: [],
      dry_run: context.dry_run,
      by_status: Object.fromEntries(statuses.map((s) => [s, 0])),
      truncated: plan.candidates > context.max_tasks,
    };
    let afterId = 0;
    while (result.matched < context.max_tasks) {
      const limit = Math.min(context.batch_size, context.max_tasks - result.matched);
      const batch = await cleanupTaskBatch({ criteria, actor: plan.actor, dryRun: context.dry_run, afterId, limit, offset: result.matched, total });
      result.matched += batch.matched;
      result.deleted += batch.deleted;
      result.skipped += batch.skipped;
      result.failed += batch.failed;
      for (const s of statuses) result.by_status[s] = (result.by_status[s] ?? 0) + batch.byStatus[s];
      result.errors.push(...batch.errors.slice(0, CLEANUP_MAX_ERRORS - result.errors.length));
      afterId = batch.lastId;
      if (batch.matched < limit) break; // no candidate left after afterId
    }
    return { ...result };
  },
});
