import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TaskActivities } from '../../activities';
import { ADMIN_BULK_FAILED, adminBulkProgressQuery, type AdminBulkProgress, type AdminBulkStatus, type AdminBulkWorkflowInput } from '../contracts/admin-bulk';
import { rootCauseMessage } from '../contracts/errors';

const { finishAdminBulk } = proxyActivities<Pick<TaskActivities, 'finishAdminBulk'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export interface AdminBulkResult extends Omit<AdminBulkProgress, 'pagesThisRun'> {
  status: 'completed';
}

/**
 * An admin bulk action by filter (started by `POST /admin/jobs/bulk` once its dry-run token is confirmed). The
 * workflow only steers: one activity call per page of jobs in id order after the cursor, each applying its jobs
 * through TaskService and recording counts and cursor in the bulk's row. A cancel stops at the next job boundary
 * (the page records what it did first); a resume is a new run of the same id from the row's cursor; the history
 * stays bounded by continuing as new every `pagesPerRun` pages.
 */
export async function adminBulkWorkflow(input: AdminBulkWorkflowInput): Promise<AdminBulkResult> {
  const s = { status: 'running' as AdminBulkStatus, cursor: input.cursor, counts: { ...input.counts }, pages: 0 };
  const { processAdminBulkPage } = proxyActivities<Pick<TaskActivities, 'processAdminBulkPage'>>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    // A cancel waits for the page to stop at a job boundary and record the jobs it did: a resume never redoes them.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const view = (): AdminBulkProgress => ({
    bulkId: input.bulkId,
    action: input.action,
    status: s.status,
    lastTaskId: s.cursor,
    maxTaskId: input.maxTaskId,
    counts: { ...s.counts },
    runsSoFar: input.runsSoFar,
    pagesThisRun: s.pages,
  });
  setHandler(adminBulkProgressQuery, view);
  const finish = (status: Exclude<AdminBulkStatus, 'running'>, error: string | null = null) =>
    CancellationScope.nonCancellable(() => finishAdminBulk({ bulkId: input.bulkId, actorId: input.actorId, status, error }));

  try {
    for (;;) {
      const page = await processAdminBulkPage({
        bulkId: input.bulkId,
        action: input.action,
        filter: input.filter,
        newPriority: input.newPriority,
        force: input.force,
        reason: input.reason,
        maxTaskId: input.maxTaskId,
        actorId: input.actorId,
        afterTaskId: s.cursor,
        pageSize: input.pageSize,
      });
      s.cursor = page.lastTaskId;
      s.counts = page.counts;
      s.pages += 1;
      if (page.done) break;
      if (s.pages >= input.pagesPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof adminBulkWorkflow>({ ...input, cursor: s.cursor, counts: s.counts, runsSoFar: input.runsSoFar + 1 });
      }
    }
    s.status = 'completed';
    await finish('completed');
    return { ...view(), status: 'completed' };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err; // the same bulk goes on in a fresh run
    if (isCancellation(err)) {
      s.status = 'cancelled';
      await finish('cancelled');
      throw err;
    }
    s.status = 'failed';
    const message = rootCauseMessage(err);
    await finish('failed', message);
    throw ApplicationFailure.nonRetryable(message, ADMIN_BULK_FAILED);
  }
}
