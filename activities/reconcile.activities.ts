import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import {
  applyReconciledState,
  findExistingTaskIds,
  findStaleActiveTasks,
  markTaskReconciled,
  upsertTaskTransition,
} from '../db/repositories/task-mirror.repository';
import { rootCauseMessage } from '../workflows/contracts/errors';
import { mirrorSeq, runOf, runOfSeq } from '../workflows/contracts/task-workflow';
import type { ActivityDeps } from './deps';

export interface ReconcileReport {
  checked: number;
  repaired: number;
  /** Executions found in Temporal visibility without any mirror row (a crash between start and the first write). */
  adopted: number;
  /** Each repaired row: what the mirror said and what Temporal says. Drift is a metric: it should stay near zero. */
  drift: { task_id: string; from: string; to: string }[];
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
      const seen = new Map<string, { runId: string; status: string }>();
      for await (const wf of deps.tasks.recentTaskExecutions(since)) {
        if (!seen.has(wf.taskId)) seen.set(wf.taskId, wf); // newest run first
        if (seen.size >= input.batchSize) break;
      }
      const known = new Set(await findExistingTaskIds(em, [...seen.keys()]));
      for (const [taskId, wf] of seen) {
        if (known.has(taskId)) continue;
        const start = await deps.tasks.startInput(taskId, wf.runId);
        if (!start) continue;
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
      return report;
    },
  };
}

interface Repair {
  status: 'completed' | 'failed' | 'cancelled';
  errorMessage: string | null;
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
      return { status: 'failed', errorMessage: error ? rootCauseMessage(error) : 'Workflow failed', resultData: null, completedAt: closedAt };
    }
    case 'TIMED_OUT':
      return { status: 'failed', errorMessage: 'Workflow timed out in Temporal', resultData: null, completedAt: closedAt };
    case 'TERMINATED':
      return { status: 'cancelled', errorMessage: 'Terminated directly in Temporal', resultData: null, completedAt: closedAt };
    case 'CANCELLED':
      return { status: 'cancelled', errorMessage: null, resultData: null, completedAt: closedAt };
    default:
      return null;
  }
}
