import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { AppError } from '../api/errors';
import { TaskService, type Actor } from '../api/services/task.service';
import { findBulkActor } from '../db/repositories/task-bulk.repository';
import { countCleanupCandidates, findCleanupCandidates, isCleanupCandidate } from '../db/repositories/task-cleanup.repository';
import {
  CLEANUP_MAX_ERRORS,
  type CleanupBatchInput,
  type CleanupBatchResult,
  type CleanupPlan,
  type CleanupStatus,
} from '../workflows/tasks/cleanup-old-tasks';
import type { ActivityDeps } from './deps';
import { createProgressReporter, startHeartbeat } from './progress';

/** While one deletion waits on Temporal, keep heartbeating at this pace. */
const KEEPALIVE_MS = 500;
const MAX_REASON = 500;
const DAY_MS = 86_400_000;

export function createCleanupOldTasksActivities(deps: ActivityDeps) {
  return {
    /** The cutoff (now − older_than_days, at run time), the number of candidates, and the actor (the task's creator). */
    async prepareTaskCleanup(input: {
      brandId: number;
      createdById: number;
      selfTaskId: string;
      olderThanDays: number;
      statuses: CleanupStatus[];
      taskTypes: string[] | null;
    }): Promise<CleanupPlan> {
      const em = deps.orm.em.fork();
      const who = await findBulkActor(em, input.createdById, input.brandId);
      if (!who) throw ApplicationFailure.nonRetryable(`User ${input.createdById} or brand ${input.brandId} no longer exists`, 'CLEANUP_ACTOR_MISSING');
      const cutoff = new Date(Date.now() - input.olderThanDays * DAY_MS).toISOString();
      const candidates = await countCleanupCandidates(em, { ...input, cutoff });
      return {
        cutoff,
        candidates,
        actor: { userId: input.createdById, username: who.username, brandId: input.brandId, brandName: who.brand_name },
      };
    },

    /**
     * One batch: the next `limit` candidates after `afterId`, each re-checked and then deleted through TaskService
     * (the rules of DELETE /tasks/{id}/, the cleanup task's creator as actor), with a heartbeat carrying the batch's
     * state after each one, so a retried attempt resumes after the last task it handled.
     */
    async cleanupTaskBatch(input: CleanupBatchInput): Promise<CleanupBatchResult> {
      const ctx = Context.current();
      const report = createProgressReporter(deps);
      const em = deps.orm.em.fork();
      const service = new TaskService({ orm: deps.orm, tasks: deps.tasks, config: deps.config });
      // The audit rows' request_id names the cleanup task, as an HTTP request's id names the request of a DELETE.
      const actor: Actor = { ...input.actor, requestId: input.criteria.selfTaskId.slice(0, 64) };
      const state: CleanupBatchResult = (ctx.info.heartbeatDetails as CleanupBatchResult | undefined) ?? {
        lastId: input.afterId,
        matched: 0,
        deleted: 0,
        skipped: 0,
        failed: 0,
        byStatus: { completed: 0, failed: 0, cancelled: 0 },
        errors: [],
      };
      const progress = () => Math.min(99, ((input.offset + state.matched) / Math.max(1, input.total)) * 100);
      const addError = (e: CleanupBatchResult['errors'][number]) => {
        if (state.errors.length < CLEANUP_MAX_ERRORS) state.errors.push(e);
      };

      const candidates = await findCleanupCandidates(em, input.criteria, state.lastId, Math.max(0, input.limit - state.matched));
      for (const task of candidates) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('Cleanup cancelled');
        const status = task.status as CleanupStatus;
        const stopBeat = startHeartbeat(KEEPALIVE_MS, () => state);
        try {
          if (input.dryRun) {
            state.byStatus[status] += 1;
          } else if (!(await isCleanupCandidate(em, input.criteria, task.id))) {
            state.skipped += 1;
            addError({ id: task.id, task_id: task.task_id, reason: 'No longer a candidate (changed since it was selected)' });
          } else {
            await service.remove(actor, task.task_id);
            state.deleted += 1;
            state.byStatus[status] += 1;
          }
        } catch (err) {
          if (err instanceof AppError) {
            state.skipped += 1;
            addError({ id: task.id, task_id: task.task_id, error_code: err.code, reason: `${err.code}: ${err.detail}`.slice(0, MAX_REASON) });
          } else {
            state.failed += 1;
            addError({ id: task.id, task_id: task.task_id, reason: (err instanceof Error ? err.message : String(err)).slice(0, MAX_REASON) });
          }
        } finally {
          stopBeat();
        }
        state.matched += 1;
        state.lastId = task.id;
        await report(progress(), state);
      }
      return state;
    },
  };
}
