import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { ErrorCode } from '../api/errors';
import { adminJobFilter } from '../api/schemas/admin.schemas';
import { AdminJobService } from '../api/services/admin-jobs.service';
import { TaskService, type Actor } from '../api/services/task.service';
import {
  countsOf,
  findBulkActor,
  findTargetIfMatching,
  readTargetPage,
  recordBulkItems,
  setBulkStatus,
} from '../db/repositories/admin-bulk.repository';
import { AdminJobWhere } from '../db/repositories/admin-jobs.repository';
import { auditActor, insertAudit } from '../db/repositories/audit.repository';
import {
  NO_LONGER_MATCHES,
  type AdminBulkItemResult,
  type AdminBulkPageInput,
  type AdminBulkPageResult,
  type AdminBulkStatus,
} from '../workflows/contracts/admin-bulk';
import { TERMINAL_STATUSES, type TaskStatus } from '../workflows/contracts/task-types';
import { applyTaskOperation, outcomeOf } from './bulk.activities';
import type { ActivityDeps } from './deps';
import { startHeartbeat } from './progress';

/** Heartbeat details of a page: its targets and the results so far, so a retried attempt redoes nothing. */
interface PageCheckpoint {
  targets: PageTarget[];
  results: AdminBulkItemResult[];
}

interface PageTarget {
  id: number;
  task_id: string;
  brand_id: number;
}

/** While one job takes long (a cancel waits up to 5 s for the job to stop), keep heartbeating at this pace. */
const KEEPALIVE_MS = 500;

export function createAdminBulkActivities(deps: ActivityDeps) {
  const taskService = new TaskService({ orm: deps.orm, tasks: deps.tasks, config: deps.config });
  const adminJobs = new AdminJobService({ orm: deps.orm, tasks: deps.tasks, taskService, config: deps.config });

  return {
    /**
     * One page of an admin bulk: the next jobs after the cursor (up to the dry run's snapshot) that match the filter,
     * each re-checked against the filter just before it is applied (a job that changed meanwhile is skipped with a
     * reason), applied through TaskService as the administrator in the job's brand. Heartbeats the results after
     * each job; records counts and cursor in the bulk's row once, at the end of the page or at a cancel.
     */
    async processAdminBulkPage(input: AdminBulkPageInput): Promise<AdminBulkPageResult> {
      const ctx = Context.current();
      const em = deps.orm.em.fork();
      const parsed = adminJobFilter.safeParse(input.filter);
      if (!parsed.success) throw ApplicationFailure.nonRetryable(`Invalid bulk filter: ${parsed.error.message}`, ErrorCode.VALIDATION_ERROR);
      const where = new AdminJobWhere(parsed.data);
      // The administrator's role is checked at every page: a bulk whose author lost the role stops (resumable by an admin).
      const who = await findBulkActor(em, input.actorId);
      if (!who || who.role !== 'admin' || !who.is_active) {
        throw ApplicationFailure.nonRetryable(`User ${input.actorId}, who confirmed this bulk, is no longer an active admin`, ErrorCode.PERMISSION_DENIED);
      }

      const saved = ctx.info.heartbeatDetails as PageCheckpoint | undefined;
      const targets = saved?.targets ?? (await readTargetPage(em, where, input.afterTaskId, input.maxTaskId, input.pageSize));
      const results = [...(saved?.results ?? [])];
      const checkpoint = (): PageCheckpoint => ({ targets, results });
      ctx.heartbeat(checkpoint());

      let cancelled = false;
      for (const target of targets.slice(results.length)) {
        if (ctx.cancellationSignal.aborted) {
          cancelled = true;
          break;
        }
        const stopBeat = startHeartbeat(KEEPALIVE_MS, checkpoint);
        try {
          results.push(await applyToJob(target));
        } finally {
          stopBeat();
        }
        ctx.heartbeat(checkpoint());
      }
      const row = await recordBulkItems(em, input.bulkId, results);
      if (cancelled) throw new CancelledFailure('Bulk action cancelled');
      return { lastTaskId: row.last_task_id, counts: countsOf(row), done: targets.length < input.pageSize };

      async function applyToJob(target: PageTarget): Promise<AdminBulkItemResult> {
        const job = await findTargetIfMatching(deps.orm.em.fork(), where, target.id);
        if (!job) {
          return {
            ...target,
            outcome: 'skipped',
            error_code: NO_LONGER_MATCHES,
            reason: `${NO_LONGER_MATCHES}: the job changed or was deleted since the page was read and no longer matches the filter`,
          };
        }
        const actor: Actor = {
          userId: input.actorId,
          username: who!.username,
          brandId: job.brand_id,
          brandName: job.brand_name,
          // Every audit row an item writes carries the bulk id: the bulk's trail is one query.
          requestId: input.bulkId,
          role: who!.role,
          ip: null,
        };
        const outcome = await outcomeOf(async () => {
          switch (input.action) {
            case 'delete':
              if (input.force && !TERMINAL_STATUSES.includes(job.status as TaskStatus)) {
                // The admin delete's own force path: terminate the run in Temporal, then delete (audited admin.job.delete).
                await adminJobs.remove(
                  { userId: actor.userId, username: actor.username, role: who!.role, requestId: input.bulkId, ip: null },
                  job.task_id,
                  { confirm: job.task_id, force: true, reason: input.reason ?? `admin bulk ${input.bulkId}` },
                );
              } else {
                await taskService.remove(actor, job.task_id);
              }
              break;
            case 'reprioritize':
              await applyTaskOperation(taskService, actor, job.task_id, { operation: 'reprioritize', reason: input.reason, newPriority: input.newPriority });
              // TaskService.update writes no audit row of its own.
              await insertAudit(deps.orm.em.fork(), {
                ...auditActor(actor),
                action: 'admin.bulk.reprioritize',
                targetType: 'task',
                targetId: job.task_id,
                details: { bulk_id: input.bulkId, reason: input.reason },
                before: { priority: job.priority },
                after: { priority: input.newPriority },
              });
              break;
            default:
              await applyTaskOperation(taskService, actor, job.task_id, { operation: input.action, reason: input.reason, newPriority: null });
          }
        });
        return { ...target, brand_id: job.brand_id, ...outcome };
      }
    },

    /**
     * The end of a bulk run: the row's status (only from running, so a retried call changes nothing twice) and, on
     * completion or failure, an audit row with the final counts in the same transaction (a cancel was audited by
     * whoever asked for it).
     */
    async finishAdminBulk(input: { bulkId: string; actorId: number; status: Exclude<AdminBulkStatus, 'running'>; error: string | null }): Promise<void> {
      await deps.orm.em.fork().transactional(async (tx) => {
        const row = await setBulkStatus(tx, input.bulkId, ['running'], input.status, input.error);
        if (!row || input.status === 'cancelled') return;
        const who = await findBulkActor(tx, input.actorId);
        await insertAudit(tx, {
          ...auditActor({ userId: input.actorId, username: who?.username ?? `user ${input.actorId}`, brandId: null, requestId: input.bulkId, role: who?.role }),
          action: input.status === 'completed' ? 'admin.bulk.complete' : 'admin.bulk.fail',
          targetType: 'admin_bulk',
          targetId: input.bulkId,
          details: { action: row.action, status: input.status, total_at_dry_run: row.total_at_dry_run, ...countsOf(row), last_task_id: row.last_task_id, error: input.error },
        });
      });
    },
  };
}
