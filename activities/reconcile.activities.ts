import type { EntityManager } from '@mikro-orm/postgresql';
import { isGrpcServiceError, WorkflowFailedError, WorkflowNotFoundError, type ScheduleSummary } from '@temporalio/client';
import { insertAudit } from '../db/repositories/audit.repository';
import { insertPeriodicTask, setPausedState, softDeletePeriodicTask, type PeriodicTaskWrite } from '../db/repositories/periodic-task.repository';
import {
  applyReconciledState,
  findExistingTaskIds,
  findStaleActiveTasks,
  markTaskReconciled,
  upsertTaskTransition,
} from '../db/repositories/task-mirror.repository';
import { periodicWrite, type ScheduleDraft } from '../api/services/periodic-task.service';
import { rootCauseMessage } from '../workflows/contracts/errors';
import { failureDetails, type FailureDetails } from '../workflows/contracts/failure-details';
import { resolveScheduledInput } from '../workflows/contracts/schedules';
import { mirrorSeq, runOf, runOfSeq } from '../workflows/contracts/task-workflow';
import type { ActivityDeps } from './deps';
import { observeReconcileReport } from './observability';

export interface ReconcileReport {
  checked: number;
  repaired: number;
  /** Executions found in Temporal visibility without any mirror row (a crash between start and the first write). */
  adopted: number;
  /** Each repaired row: what the mirror said and what Temporal says. Drift is a metric: it should stay near zero. */
  drift: { task_id: string; from: string; to: string }[];
  /** Schedules: rows removed because their Schedule is gone, rows rebuilt from a Schedule's memo, pause states fixed. */
  schedules?: { checked: number; removed: string[]; adopted: string[]; pause_fixed: string[] };
}



export function createReconcileActivities(deps: ActivityDeps) {
  return {
    /**
     * Repairs the mirror from Temporal: adopts recent executions that have no row yet, then compares unfinished
     * rows with Temporal and repairs the ones whose run closed without the workflow recording it (terminated from
     * the Web UI or CLI, timed out by the server, deleted).
     */
    async reconcileTaskMirror(input: { batchSize: number; staleAfterSeconds?: number; lookbackMinutes?: number }): Promise<ReconcileReport> {
      const em = deps.orm.em.fork();
      const report: ReconcileReport = { checked: 0, repaired: 0, adopted: 0, drift: [] };

      // 1. Executions Temporal knows and the mirror does not: create their rows from the start input.
      const since = new Date(Date.now() - (input.lookbackMinutes ?? 60) * 60_000);
      const seen = new Map<string, { runId: string; status: string; startTime: Date; scheduledStartTime: Date | null }>();
      for await (const wf of deps.tasks.recentTaskExecutions(since)) {
        if (!seen.has(wf.taskId)) seen.set(wf.taskId, wf); // newest run first
        if (seen.size >= input.batchSize) break;
      }
      const known = new Set(await findExistingTaskIds(em, [...seen.keys()]));
      for (const [taskId, wf] of seen) {
        if (known.has(taskId)) continue;
        const raw = await deps.tasks.startInput(taskId, wf.runId);
        if (!raw?.taskType) continue;
        // A Schedule's firing that never reached a worker: its identity comes from its execution, as in the workflow.
        const start = resolveScheduledInput(raw, { workflowId: taskId, startTime: wf.startTime, scheduledStartTime: wf.scheduledStartTime });
        const created = await upsertTaskTransition(em, {
          input: start,
          seq: mirrorSeq(runOf(start), 'pending'),
          status: 'pending',
          runId: wf.runId,
        });
        if (created) {
          report.adopted += 1;
          report.drift.push({ task_id: taskId, from: 'missing', to: 'pending' });
        }
      }

      // 2. Unfinished rows whose run closed without the workflow recording it.
      const stale = input.staleAfterSeconds ?? deps.config.RECONCILE_STALE_AFTER_SECONDS;
      const rows = await findStaleActiveTasks(em, stale, input.batchSize);
      report.checked = rows.length;
      for (const row of rows) {
        const repair = await inspect(deps, row.task_id, row.run_id);
        if (!repair) {
          await markTaskReconciled(em, row.task_id);
          continue;
        }
        const landed = await applyReconciledState(em, {
          taskId: row.task_id,
          seq: mirrorSeq(runOfSeq(row.seq), 'reconciled'),
          ...repair,
        });
        if (landed) {
          report.repaired += 1;
          report.drift.push({ task_id: row.task_id, from: row.status, to: repair.status });
        }
      }

      // 3. Schedules: the mirror never shows a Schedule Temporal does not have, and shows every one it has.
      report.schedules = await reconcileSchedules(deps, em);
      observeReconcileReport(report);
      return report;
    },
  };
}

interface Repair {
  status: 'completed' | 'failed' | 'cancelled';
  errorMessage: string | null;
  errorDetails?: FailureDetails | null;
  resultData: Record<string, unknown> | null;
  completedAt: string | null;
}

async function inspect(deps: ActivityDeps, taskId: string, runId: string | null): Promise<Repair | null> {
  let desc;
  try {
    desc = await deps.tasks.describe(taskId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) {
      return { status: 'failed', errorMessage: 'The workflow execution no longer exists in Temporal', resultData: null, completedAt: new Date().toISOString() };
    }
    throw err;
  }
  // A newer run than the row knows about (a retry whose API call died mid-way) is left to that run's own writes.
  if (runId && desc.runId !== runId) return null;
  const closedAt = desc.closeTime?.toISOString() ?? new Date().toISOString();
  switch (desc.status.name) {
    case 'RUNNING':
    case 'CONTINUED_AS_NEW':
      return null;
    case 'COMPLETED': {
      const { result } = await deps.tasks.outcome(taskId, desc.runId);
      const resultData = (result as { resultData?: Record<string, unknown> } | undefined)?.resultData ?? null;
      return { status: 'completed', errorMessage: null, resultData, completedAt: closedAt };
    }
    case 'FAILED': {
      const { error } = await deps.tasks.outcome(taskId, desc.runId);
      return {
        status: 'failed',
        errorMessage: error ? rootCauseMessage(error) : 'Workflow failed',
        errorDetails: closingFailureDetails(error),
        resultData: null,
        completedAt: closedAt,
      };
    }
    case 'TIMED_OUT': {
      const { error } = await deps.tasks.outcome(taskId, desc.runId);
      return {
        status: 'failed',
        errorMessage: 'Workflow timed out in Temporal',
        errorDetails: closingFailureDetails(error),
        resultData: null,
        completedAt: closedAt,
      };
    }
    case 'TERMINATED': {
      // The terminate reason (and who sent it, in the failure's message) is what an operator wants to see later.
      const { error } = await deps.tasks.outcome(taskId, desc.runId);
      return {
        status: 'cancelled',
        errorMessage: 'Terminated directly in Temporal',
        errorDetails: closingFailureDetails(error),
        resultData: null,
        completedAt: closedAt,
      };
    }
    case 'CANCELLED':
      return { status: 'cancelled', errorMessage: null, resultData: null, completedAt: closedAt };
    default:
      return null;
  }
}

/**
 * The failure Temporal closed the run with. The client's WorkflowFailedError only wraps it, with the reconciler's own
 * frames; its cause carries the workflow's (and, down the chain, the activity's) stack.
 */
function closingFailureDetails(error: Error | undefined): FailureDetails | null {
  if (!error) return null;
  return failureDetails(error instanceof WorkflowFailedError && error.cause ? error.cause : error);
}

async function reconcileSchedules(deps: ActivityDeps, em: EntityManager): Promise<NonNullable<ReconcileReport['schedules']>> {
  const out = { checked: 0, removed: [] as string[], adopted: [] as string[], pause_fixed: [] as string[] };
  const live = new Map<string, ScheduleSummary>();
  for await (const s of deps.schedules.list()) live.set(s.scheduleId, s);
  const rows = await em.execute<{ id: number; schedule_id: string; brand_id: number; kind: string; is_active: boolean; age_seconds: number }[]>(
    `select id, schedule_id, brand_id, kind, is_active, extract(epoch from clock_timestamp() - created_at)::float8 as age_seconds
       from periodic_tasks where deleted_at is null`,
  );
  out.checked = rows.length;
  const known = new Set(rows.map((r) => r.schedule_id));
  for (const row of rows) {
    const schedule = live.get(row.schedule_id);
    if (!schedule) {
      // A row younger than that may belong to a Schedule whose create is still in flight.
      if (row.age_seconds < deps.config.RECONCILE_STALE_AFTER_SECONDS) continue;
      // Listed as missing: confirm with a strongly consistent describe before removing anything.
      if (await deps.schedules.describe(row.schedule_id)) continue;
      await em.transactional(async (tx) => {
        if (!(await softDeletePeriodicTask(tx, row.id))) return;
        await insertAudit(tx, {
          actorId: null,
          brandId: row.brand_id,
          action: `${row.kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.reconciled_delete`,
          targetType: 'schedule',
          targetId: row.schedule_id,
          details: { id: row.id, reason: 'The Schedule no longer exists in Temporal (deleted outside the API)' },
          requestId: null,
        });
      });
      out.removed.push(row.schedule_id);
    } else if (schedule.state.paused === row.is_active) {
      // The list is eventually consistent: confirm with a describe before changing anything.
      const live = await deps.schedules.describe(row.schedule_id);
      if (live && live.paused === row.is_active) {
        await setPausedState(em, row.id, !live.paused, live.note, null);
        out.pause_fixed.push(row.schedule_id);
      }
    }
  }
  for (const [scheduleId, schedule] of live) {
    if (known.has(scheduleId)) continue;
    const memo = schedule.memo?.periodic as (Record<string, unknown> & { brandId?: number; createdById?: number }) | undefined;
    if (!memo?.brandId || !memo.createdById) continue;
    // The API writes the row while it creates the Schedule: leave a young Schedule to it.
    if (typeof memo.writtenAt === 'string' && Date.now() - Date.parse(memo.writtenAt) < Math.max(10, deps.config.RECONCILE_STALE_AFTER_SECONDS) * 1000) continue;
    const deletedRow = await em.execute<{ id: number }[]>(`select id from periodic_tasks where schedule_id = ?`, [scheduleId]);
    if (deletedRow.length) {
      // Its row was deleted (through the API, or by this reconciler while the create was still in flight): a Schedule
      // without a live row must not keep firing.
      await deps.schedules.delete(scheduleId);
      out.removed.push(scheduleId);
      continue;
    }
    try {
      const id = await insertPeriodicTask(em, writeFromMemo(scheduleId, memo, schedule));
      if (id !== null) out.adopted.push(scheduleId);
    } catch (err) {
      // A memo naming a brand or user this database does not have (another deployment sharing the namespace): not ours.
      if ((err as { code?: string }).code !== '23503') throw err;
    }
  }
  return out;
}

/** A row rebuilt from the definition the API stored in the Schedule's memo at creation, with the Schedule's live state. */
function writeFromMemo(scheduleId: string, memo: Record<string, unknown>, schedule: ScheduleSummary): PeriodicTaskWrite {
  const draft = memo as unknown as ScheduleDraft & { brandId: number; createdById: number };
  const write = periodicWrite(scheduleId, draft, { ...draft, upcoming: undefined });
  return {
    ...write,
    isActive: !schedule.state.paused,
    pausedNote: schedule.state.paused ? (schedule.state.note ?? null) : null,
    nextRunAt: schedule.info?.nextActionTimes?.[0]?.toISOString() ?? null,
  };
}
