import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { TaskActivities } from '../activities';
import { ErrorCode, rootCauseMessage } from './contracts/errors';
import { failureDetails } from './contracts/failure-details';
import { amendTaskUpdate, taskProgressQuery } from './contracts/messages';
import { firingLateness, resolveScheduledInput } from './contracts/schedules';
import { TaskIdKey, TaskPriorityKey, TemporalScheduledStartTimeKey } from './contracts/search-attributes';
import { EDITABLE_STATUSES, TEMPORAL_PRIORITY_KEY, type TaskPriority, type TaskStatus } from './contracts/task-types';
import {
  mirrorSeq,
  runOf,
  type TaskAmendment,
  type TaskTransition,
  type TaskWorkflowInput,
  type TaskWorkflowResult,
} from './contracts/task-workflow';

/** What a task type's body receives: its validated context and a way to call activities at the task's current priority. */
export interface TaskRunContext<C> {
  input: TaskWorkflowInput;
  context: C;
  /**
   * Activities proxied with the task's current Temporal priority (a PATCH before start changes it). Typed as the
   * platform's activities; a type with activities registered elsewhere names their type: `activities<MyActivities>()`.
   */
  activities<A extends object = TaskActivities>(options?: Partial<ActivityOptions>): A;
}

export interface TaskTypeSpec<C> {
  type: string;
  contextSchema: z.ZodType<C>;
  run(ctx: TaskRunContext<C>): Promise<Record<string, unknown>>;
}

/** Heartbeats let a cancel reach a running activity and let a dead worker's activity move to a live one. */
const DEFAULT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '15 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};

const mirror = proxyLocalActivities<Pick<TaskActivities, 'recordTaskTransition' | 'isManualFiring'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * Wraps a task type's body in the lifecycle every task shares: optional delayed start, amendments while
 * pending, the `running` transition, a timeout of `timeout_minutes`, and the terminal transition written to
 * the mirror before the workflow closes (so Temporal and the mirror agree without waiting for the reconciler).
 */
export function defineTaskWorkflow<C>(spec: TaskTypeSpec<C>): (input: TaskWorkflowInput) => Promise<TaskWorkflowResult> {
  return async function taskWorkflow(startInput: TaskWorkflowInput): Promise<TaskWorkflowResult> {
    const input = resolveFiring(startInput);
    const state = {
      status: 'pending' as TaskStatus,
      priority: input.priority as TaskPriority,
      description: input.description,
      contextData: input.contextData,
      progressPercentage: 0,
    };
    const current = (): TaskWorkflowInput => ({
      ...input,
      priority: state.priority,
      description: state.description,
      contextData: state.contextData,
    });
    const record = (t: Omit<TaskTransition, 'input'>) =>
      CancellationScope.nonCancellable(() =>
        mirror.recordTaskTransition({ ...t, input: current(), runId: workflowInfo().runId }),
      );

    setHandler(taskProgressQuery, () => ({
      status: state.status,
      priority: state.priority,
      progressPercentage: state.progressPercentage,
    }));
    setHandler(
      amendTaskUpdate,
      (amendment) => {
        if (amendment.priority && amendment.priority !== state.priority) {
          state.priority = amendment.priority;
          upsertSearchAttributes([{ key: TaskPriorityKey, value: state.priority }]);
        }
        if (amendment.description !== undefined) state.description = amendment.description;
        if (amendment.contextData !== undefined) {
          const parsed = spec.contextSchema.safeParse(amendment.contextData);
          if (!parsed.success) {
            throw ApplicationFailure.nonRetryable('context_data is invalid for this task type', ErrorCode.INVALID_TASK_INPUT);
          }
          state.contextData = amendment.contextData;
        }
        return amendment;
      },
      {
        validator: (_amendment: TaskAmendment) => {
          if (!EDITABLE_STATUSES.includes(state.status)) {
            throw ApplicationFailure.nonRetryable(
              `Task is ${state.status}; only a pending task can be modified`,
              ErrorCode.INVALID_STATUS_TRANSITION,
              { current_status: state.status },
            );
          }
        },
      },
    );

    try {
      const lateSeconds = input.schedule && runOf(input) === 0 ? firingLateness(input, Date.now()) : 0;
      if (
        input.schedule &&
        lateSeconds > input.schedule.catchupWindowSeconds &&
        !(await mirror.isManualFiring({ scheduleId: input.schedule.scheduleId, scheduledFor: input.scheduledFor! }))
      ) {
        // Reached a worker too late (workers were down, or the queue was backed up): not run, recorded and reported
        // by ready-for-execution/. A retry/ of this task runs it (retries skip this check).
        throw new MissedFiringError(input, lateSeconds);
      }
      if (input.scheduledFor && !input.schedule) {
        const delayMs = Date.parse(input.scheduledFor) - Date.now();
        if (delayMs > 0) {
          await record({ seq: mirrorSeq(runOf(input), 'pending'), status: 'pending' });
          await sleep(delayMs);
        }
      }

      const parsed = spec.contextSchema.safeParse(state.contextData);
      if (!parsed.success) {
        // The API validated it already; this guards against input written by other clients or an older schema.
        throw ApplicationFailure.nonRetryable(
          `context_data is invalid for ${spec.type}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          ErrorCode.INVALID_TASK_INPUT,
        );
      }

      state.status = 'running';
      await record({ seq: mirrorSeq(runOf(input), 'running'), status: 'running', startedAt: new Date().toISOString() });

      const result = await runWithTimeout(input.timeoutMinutes, () =>
        spec.run({
          input: current(),
          context: parsed.data,
          activities: <A extends object = TaskActivities>(options?: Partial<ActivityOptions>) =>
            proxyActivities<A>({
              ...DEFAULT_ACTIVITY_OPTIONS,
              ...(input.heartbeatTimeoutSeconds ? { heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds` } : {}),
              ...options,
              priority: { priorityKey: TEMPORAL_PRIORITY_KEY[state.priority] },
            }) as A, // the proxy has exactly A's functions, made async (they already are)
        }),
      );

      state.status = 'completed';
      state.progressPercentage = 100;
      await record({
        seq: mirrorSeq(runOf(input), 'finished'),
        status: 'completed',
        completedAt: new Date().toISOString(),
        resultData: result,
        errorMessage: null,
        progressPercentage: 100,
      });
      return { status: 'completed', resultData: result };
    } catch (err) {
      const finishedAt = new Date().toISOString();
      if (isCancellation(err) && !(err instanceof TaskTimeoutError)) {
        state.status = 'cancelled';
        await record({ seq: mirrorSeq(runOf(input), 'finished'), status: 'cancelled', completedAt: finishedAt });
        throw err; // closes the execution as Canceled in Temporal, matching the mirror
      }
      state.status = 'failed';
      const message = describeFailure(err);
      // Created here, so its stack holds the workflow's frames; the caught error rides along as its cause, which keeps
      // the activity's failure (type, stack from the worker that ran it) in Temporal's history and in the mirror row.
      const failure = ApplicationFailure.create({
        message,
        type: err instanceof MissedFiringError ? ErrorCode.SCHEDULE_RUN_MISSED : err instanceof TaskTimeoutError ? ErrorCode.TASK_TIMED_OUT : ErrorCode.TASK_FAILED,
        nonRetryable: true,
        details: err instanceof MissedFiringError ? [err.details] : undefined,
        cause: err instanceof Error ? err : undefined,
      });
      await record({
        seq: mirrorSeq(runOf(input), 'finished'),
        status: 'failed',
        completedAt: finishedAt,
        errorMessage: message,
        errorDetails: failureDetails(failure),
        ...(err instanceof MissedFiringError ? { resultData: err.details } : {}),
      });
      throw failure;
    }
  };
}

/**
 * A Schedule's action input is static: fill in the firing's own identity (task_id = workflow id, scheduled_for = the
 * nominal fire time Temporal records in TemporalScheduledStartTime) and tag the execution with its TaskId.
 */
function resolveFiring(startInput: TaskWorkflowInput): TaskWorkflowInput {
  if (!startInput.schedule || startInput.taskId) return startInput;
  const info = workflowInfo();
  const input = resolveScheduledInput(startInput, {
    workflowId: info.workflowId,
    startTime: info.startTime,
    scheduledStartTime: info.typedSearchAttributes.get(TemporalScheduledStartTimeKey) ?? null,
  });
  upsertSearchAttributes([{ key: TaskIdKey, value: input.taskId }]);
  return input;
}

class MissedFiringError extends Error {
  readonly details: Record<string, unknown>;
  constructor(input: TaskWorkflowInput, lateSeconds: number) {
    const window = input.schedule!.catchupWindowSeconds;
    super(
      `Missed: this scheduled run reached a worker ${Math.round(lateSeconds)} s after its time (${input.scheduledFor}), ` +
        `past the catch-up window of ${window} s, so it was not run. Retry the task to run it now.`,
    );
    this.name = 'MissedFiringError';
    this.details = { missed: true, scheduled_for: input.scheduledFor, late_by_seconds: Math.round(lateSeconds), catchup_window_seconds: window };
  }
}

class TaskTimeoutError extends Error {
  constructor(readonly minutes: number) {
    super(`Task timed out after ${minutes} minute(s)`);
    this.name = 'TaskTimeoutError';
  }
}

/**
 * Runs the body in its own cancellation scope and cancels it when `timeout_minutes` elapse. The workflow
 * records the timeout itself, which a Temporal run timeout would not allow (the run would just vanish).
 */
async function runWithTimeout<T>(timeoutMinutes: number | null, body: () => Promise<T>): Promise<T> {
  if (!timeoutMinutes) return body();
  const bodyScope = new CancellationScope();
  const timerScope = new CancellationScope();
  let timedOut = false;
  const timer = timerScope
    .run(() => sleep(timeoutMinutes * 60_000))
    .then(
      () => {
        timedOut = true;
        bodyScope.cancel();
      },
      () => undefined, // the timer was cancelled because the body finished or the task was cancelled
    );
  try {
    return await bodyScope.run(body);
  } catch (err) {
    if (timedOut && isCancellation(err)) throw new TaskTimeoutError(timeoutMinutes);
    throw err;
  } finally {
    timerScope.cancel();
    await timer;
  }
}

function describeFailure(err: unknown): string {
  return err instanceof TaskTimeoutError || err instanceof MissedFiringError ? err.message : rootCauseMessage(err);
}
