import { CancelledFailure, Context } from '@temporalio/activity';
import {
  applyJobTransition,
  insertCheckpoint,
  newestValidCheckpoint,
  updateJobProgress,
} from '../db/repositories/persistent-job.repository';
import { upsertTaskTransition } from '../db/repositories/task-mirror.repository';
import type { FailureDetails } from '../workflows/contracts/failure-details';
import type { JobBatchInput, JobBatchResult, JobTypeName } from '../workflows/contracts/job-types';
import type { TaskStatus } from '../workflows/contracts/task-types';
import type { TaskWorkflowInput } from '../workflows/contracts/task-workflow';
import type { ActivityDeps } from './deps';
import { crawlJob } from './jobs/crawl.job';
import { exportJob } from './jobs/export.job';
import { itemJob, RequestedItemFailure } from './jobs/item.job';
import type { JobRunContext, JobRunner } from './jobs/job-runner';

const RUNNERS: Record<JobTypeName, JobRunner> = { noop: itemJob, data_export: exportJob, sitemap_generation: crawlJob };

/** State handed back to the workflow inline up to this size; larger states travel only through checkpoints. */
const INLINE_STATE_MAX_BYTES = 16 * 1024;

export interface JobTransition {
  task: TaskWorkflowInput;
  jobId: number;
  seq: number;
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  runId: string;
  step: string | null;
  itemsDone: number;
  itemsTotal: number | null;
  startedAt?: string;
  pausedAt?: string;
  completedAt?: string;
  errorMessage?: string | null;
  errorDetails?: FailureDetails;
  resultData?: Record<string, unknown>;
}

export function createJobActivities(deps: ActivityDeps) {
  return {
    /** Local activity of the job workflow: the task row and the job row move together, guarded by the same seq. */
    async recordJobTransition(t: JobTransition): Promise<boolean> {
      return deps.orm.em.fork().transactional(async (em) => {
        const taskLanded = await upsertTaskTransition(em, {
          input: t.task,
          seq: t.seq,
          status: t.status as TaskStatus,
          runId: t.runId,
          ...(t.startedAt ? { startedAt: t.startedAt } : {}),
          ...(t.completedAt ? { completedAt: t.completedAt } : {}),
          ...(t.resultData ? { resultData: t.resultData } : {}),
          ...(t.errorMessage !== undefined ? { errorMessage: t.errorMessage } : {}),
          ...(t.errorDetails ? { errorDetails: t.errorDetails } : {}),
          ...(t.status === 'completed' ? { progressPercentage: 100 } : {}),
        });
        const jobLanded = await applyJobTransition(em, {
          jobId: t.jobId,
          seq: t.seq,
          status: t.status,
          step: t.step,
          itemsDone: t.itemsDone,
          itemsTotal: t.itemsTotal,
          startedAt: t.startedAt,
          pausedAt: t.pausedAt,
          completedAt: t.completedAt,
          errorMessage: t.errorMessage,
        });
        return taskLanded || jobLanded;
      });
    },

    /**
     * Processes up to `batch_size` items from the given state (or, on a retry or a resume, from the newest checkpoint
     * that verifies), heartbeating per item and checkpointing every N items / T seconds, at step boundaries, at the
     * end, and at the item boundary where a pause or cancel stops it.
     */
    async runJobBatch(input: JobBatchInput): Promise<JobBatchResult> {
      const activity = Context.current();
      const em = deps.orm.em.fork();
      const runner = RUNNERS[input.jobType];
      const ctx: JobRunContext = { deps, em, input, activity, firstInAttempt: true };

      let state = input.state;
      let itemsDone = input.itemsDone;
      if (!state || activity.info.attempt > 1) {
        const { valid } = await newestValidCheckpoint(em, input.jobId, input.generation);
        if (valid?.state && (!state || valid.items_done >= itemsDone)) {
          state = valid.state;
          itemsDone = valid.items_done;
        }
      }
      let checkpoints = 0;
      let sinceCheckpoint = 0;
      let lastCheckpointAt = Date.now();
      const started = performance.now();
      let processedHere = 0;
      const progress = async (s: Record<string, unknown>, done: boolean) => {
        const seconds = (performance.now() - started) / 1000;
        const throughput = processedHere > 0 && seconds > 0 ? Math.round((processedHere / seconds) * 100) / 100 : null;
        const total = runner.total(s);
        const eta = !done && throughput && total ? new Date(Date.now() + ((total - itemsDone) / throughput) * 1000).toISOString() : null;
        await updateJobProgress(em, input.jobId, { step: runner.step(s), itemsDone, itemsTotal: total, throughput, estimatedCompletion: eta });
        return throughput;
      };
      // Each checkpoint also refreshes the job's visible progress (items, step, throughput, ETA).
      const checkpoint = async (s: Record<string, unknown>, milestone: boolean) => {
        await insertCheckpoint(em, {
          jobId: input.jobId,
          brandId: input.brandId,
          generation: input.generation,
          step: runner.step(s),
          itemsDone,
          state: s,
          isMilestone: milestone,
        });
        checkpoints += 1;
        sinceCheckpoint = 0;
        lastCheckpointAt = Date.now();
        await progress(s, false);
      };
      if (!state) {
        state = await runner.init(ctx);
        itemsDone = 0;
        await checkpoint(state, true);
      }

      let done = false;
      for (let units = 0; units < input.settings.batch_size && !done; ) {
        if (activity.cancellationSignal.aborted) {
          await checkpoint(state, false);
          throw new CancelledFailure('stopped at an item boundary (paused or cancelled)');
        }
        const before = runner.step(state);
        let r;
        try {
          r = await runner.processNext(state, ctx);
        } catch (err) {
          if (err instanceof RequestedItemFailure) {
            await checkpoint(err.stateAfter, false);
            throw err.toFailure();
          }
          if (activity.cancellationSignal.aborted) {
            await checkpoint(state, false); // the interrupted item is redone on resume
            throw new CancelledFailure('stopped at an item boundary (paused or cancelled)');
          }
          throw err;
        }
        ctx.firstInAttempt = false;
        state = r.state;
        itemsDone += r.processed;
        processedHere += r.processed;
        sinceCheckpoint += r.processed;
        units += Math.max(1, r.processed);
        done = r.done;
        activity.heartbeat({ itemsDone });
        const everyItems = input.settings.checkpoint_every_items;
        const everySeconds = input.settings.checkpoint_every_seconds;
        if (done || runner.step(state) !== before) await checkpoint(state, true);
        else if ((everyItems > 0 && sinceCheckpoint >= everyItems) || (everySeconds > 0 && Date.now() - lastCheckpointAt >= everySeconds * 1000)) {
          await checkpoint(state, false);
        }
      }

      const throughput = await progress(state, done);
      const total = runner.total(state);

      let handoff: Record<string, unknown> | null = state;
      if (Buffer.byteLength(JSON.stringify(state)) > INLINE_STATE_MAX_BYTES) {
        if (sinceCheckpoint > 0) await checkpoint(state, false);
        handoff = null;
      }
      return {
        done,
        step: runner.step(state),
        itemsDone,
        itemsTotal: total,
        throughput,
        state: handoff,
        checkpointsWritten: checkpoints,
        result: done ? runner.result?.(state) : undefined,
      };
    },
  };
}
