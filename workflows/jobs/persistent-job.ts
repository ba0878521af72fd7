import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TaskActivities } from '../../activities';
import { ErrorCode, rootCauseMessage } from '../contracts/errors';
import { failureDetails } from '../contracts/failure-details';
import {
  jobProgressQuery,
  pauseJobSignal,
  resumeJobSignal,
  type JobBatchResult,
  type JobCarriedState,
  type JobProgressView,
  type JobWorkflowInput,
} from '../contracts/job-types';
import { TEMPORAL_PRIORITY_KEY } from '../contracts/task-types';
import { mirrorSeq, runOf } from '../contracts/task-workflow';

const local = proxyLocalActivities<Pick<TaskActivities, 'recordJobTransition'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * A persistent job: long work over many items, run as a new run of its base task's workflow id. The workflow only
 * steers (batches, pause/resume signals, continue-as-new); activities do the items and write checksummed checkpoints,
 * so a crash, a deploy, a pause or a cancel costs at most the items since the last checkpoint, never the job.
 */
export async function persistent_job(input: JobWorkflowInput): Promise<Record<string, unknown>> {
  const root = CancellationScope.current();
  const run = runOf(input.task);
  const carried: JobCarriedState = input.carried ?? {
    itemsDone: 0,
    itemsTotal: null,
    step: null,
    state: null,
    toggles: 0,
    runsSoFar: 0,
    startedAt: new Date().toISOString(),
  };
  const s = { ...carried, paused: false, status: 'running' as JobProgressView['status'] };
  let batchScope: CancellationScope | null = null;

  const { runJobBatch } = proxyActivities<Pick<TaskActivities, 'runJobBatch'>>({
    startToCloseTimeout: '2 hours',
    // A pause or cancel waits for the batch to stop at its item boundary and checkpoint there.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    heartbeatTimeout: `${input.task.heartbeatTimeoutSeconds ?? 15} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
    priority: { priorityKey: TEMPORAL_PRIORITY_KEY[input.task.priority] },
  });

  const record = (status: JobProgressView['status'], seq: number, extra: Record<string, unknown> = {}) =>
    CancellationScope.nonCancellable(() =>
      local.recordJobTransition({
        task: input.task,
        jobId: input.jobId,
        seq,
        status,
        runId: workflowInfo().runId,
        step: s.step,
        itemsDone: s.itemsDone,
        itemsTotal: s.itemsTotal,
        ...extra,
      }),
    );
  const toggle = (status: JobProgressView['status'], extra: Record<string, unknown> = {}) =>
    record(status, mirrorSeq(run, 'toggles', s.toggles++), extra);

  setHandler(pauseJobSignal, () => {
    if (s.status !== 'running') return;
    s.paused = true;
    batchScope?.cancel(); // the batch activity stops at its next item boundary and checkpoints there
  });
  setHandler(resumeJobSignal, () => {
    s.paused = false;
  });
  setHandler(jobProgressQuery, () => ({
    status: s.status,
    paused: s.paused,
    step: s.step,
    itemsDone: s.itemsDone,
    itemsTotal: s.itemsTotal,
    runsSoFar: s.runsSoFar,
    historyLength: workflowInfo().historyLength,
  }));

  try {
    if (input.carried) await toggle('running');
    else await record('running', mirrorSeq(run, 'running'), { startedAt: carried.startedAt });

    let batches = 0;
    let last: JobBatchResult | null = null;
    for (;;) {
      if (s.paused) {
        s.status = 'paused';
        await toggle('paused', { pausedAt: new Date().toISOString() });
        await condition(() => !s.paused);
        s.status = 'running';
        await toggle('running');
      }
      batchScope = new CancellationScope();
      let batch: JobBatchResult;
      try {
        batch = await batchScope.run(() =>
          runJobBatch({
            jobId: input.jobId,
            taskId: input.task.taskId,
            brandId: input.task.brandId,
            jobType: input.jobType,
            jobData: input.jobData,
            generation: input.generation,
            settings: input.settings,
            state: s.state,
            itemsDone: s.itemsDone,
          }),
        );
      } catch (err) {
        // A pause cancels the batch; the activity checkpointed at its item boundary, so resume from there.
        if (isCancellation(err) && s.paused && !root.consideredCancelled) {
          s.state = null;
          continue;
        }
        throw err;
      } finally {
        batchScope = null;
      }
      last = batch;
      s.itemsDone = batch.itemsDone;
      s.itemsTotal = batch.itemsTotal;
      s.step = batch.step;
      s.state = batch.state;
      if (batch.done) break;
      batches += 1;
      if (!s.paused && (batches >= input.settings.continue_as_new_after_batches || workflowInfo().continueAsNewSuggested)) {
        await continueAsNew<typeof persistent_job>({ ...input, carried: { ...s, runsSoFar: s.runsSoFar + 1 } });
      }
    }

    s.status = 'completed';
    const result = { ...(last?.result ?? {}), items_done: s.itemsDone, runs: s.runsSoFar + 1 };
    await record('completed', mirrorSeq(run, 'finished'), { completedAt: new Date().toISOString(), resultData: result });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err; // not a failure: the same execution goes on in a fresh run
    const finishedAt = new Date().toISOString();
    if (isCancellation(err)) {
      s.status = 'cancelled';
      await record('cancelled', mirrorSeq(run, 'finished'), { completedAt: finishedAt });
      throw err;
    }
    s.status = 'failed';
    const message = rootCauseMessage(err);
    // As in task-lifecycle.ts: made here for the workflow's frames, with the caught error (the batch activity's) as cause.
    const failure = ApplicationFailure.create({ message, type: ErrorCode.TASK_FAILED, nonRetryable: true, cause: err instanceof Error ? err : undefined });
    await record('failed', mirrorSeq(run, 'finished'), { completedAt: finishedAt, errorMessage: message, errorDetails: failureDetails(failure) });
    throw failure;
  }
}
