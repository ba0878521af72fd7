import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  executeChild,
  isCancellation,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { TaskActivities } from '../../activities';
import { ErrorCode, rootCauseMessage } from '../contracts/errors';
import {
  checkStepGraph,
  resolveStepInput,
  stepTaskId,
  type PipelineStepSpec,
  type PipelineStepState,
} from '../contracts/pipeline';
import { BrandIdKey, TaskIdKey, TaskPriorityKey, TaskTypeKey } from '../contracts/search-attributes';
import { mirrorSeq, runOf, type TaskWorkflowInput, type TaskWorkflowResult } from '../contracts/task-workflow';
import { defineTaskWorkflow } from '../task-lifecycle';

// At most 20: a step's task id is `<pipeline task_id>-step-<id>` and task ids are at most 64 (an idempotent create's is 38).
const stepIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'Letters, digits, _ and -, at most 20');
const stepInputSchema = z.record(z.string(), z.unknown(), { error: 'Must be a JSON object' });

/**
 * `pipeline`: a DAG of steps, each a task of another type run as a child workflow (a task of its own, with its own
 * row). The graph is checked here (ids, dependencies, cycles, references); the step types and their inputs are checked
 * by the registry's refinement (workflows/tasks/registry.ts), which knows the other types.
 */
export const pipelineContextSchema = z
  .object({
    steps: z
      .array(
        z
          .object({
            id: stepIdSchema,
            task_type: z.string().min(1),
            input: stepInputSchema.default({}),
            depends_on: z.array(stepIdSchema).max(100).default([]),
            compensation: z.object({ task_type: z.string().min(1), input: stepInputSchema.default({}) }).strict().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100),
    max_parallel: z.number().int().min(1).max(50).default(5),
  })
  .strict()
  .superRefine((ctx, issues) => {
    for (const issue of checkStepGraph(ctx.steps)) issues.addIssue({ code: 'custom', path: ['steps', ...issue.path], message: issue.message });
  });
export type PipelineContext = z.infer<typeof pipelineContextSchema>;

/** A step as `result_data.steps` (and `GET /tasks/{id}/`) shows it. */
export interface PipelineStepView {
  id: string;
  task_type: string;
  depends_on: string[];
  state: PipelineStepState;
  task_id: string | null;
  error?: string;
  compensation?: { task_id: string; state: 'running' | 'completed' | 'failed' };
}

const mirror = proxyLocalActivities<Pick<TaskActivities, 'recordTaskTransition'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

export const pipeline = defineTaskWorkflow<PipelineContext>({
  type: 'pipeline',
  contextSchema: pipelineContextSchema,
  async run({ input, context }) {
    const steps = context.steps as PipelineStepSpec[];
    const views: PipelineStepView[] = steps.map((s) => ({ id: s.id, task_type: s.task_type, depends_on: s.depends_on, state: 'pending', task_id: null }));
    const view = (id: string) => views.find((v) => v.id === id)!;
    const results: Record<string, Record<string, unknown>> = {};
    const completed: string[] = []; // completion order: compensations run in its reverse
    let failure: unknown = null;
    let reported = 0;

    // Progress (done steps / total) and the step states, on the running row; nonCancellable so a cancel does not lose it.
    const report = () =>
      CancellationScope.nonCancellable(() =>
        mirror.recordTaskTransition({
          input,
          seq: mirrorSeq(runOf(input), 'toggles', ++reported),
          status: 'running',
          progressPercentage: Math.min(99, Math.floor((completed.length / steps.length) * 100)),
          resultData: { steps: views },
          runId: workflowInfo().runId,
        }),
      );

    const childInput = (taskId: string, taskType: string, contextData: Record<string, unknown>, label: string): TaskWorkflowInput => ({
      taskId,
      brandId: input.brandId,
      createdById: input.createdById,
      taskType,
      name: `${input.name ?? input.taskId} / ${label}`,
      priority: input.priority,
      description: `${label} of pipeline ${input.taskId}`,
      contextData,
      maxRetries: 0,
      retryCount: 0,
      // A retry of the pipeline starts its children again under the same ids: their writes must outrank the last run's.
      runNumber: runOf(input),
      timeoutMinutes: null,
      scheduledFor: null,
      createdAt: new Date().toISOString(),
      heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
      parentTaskId: input.taskId,
    });
    const runChild = (child: TaskWorkflowInput) =>
      executeChild(child.taskType, {
        workflowId: child.taskId,
        args: [child],
        // The child closes as Canceled (and writes its cancelled row) before the pipeline compensates.
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: TaskTypeKey, value: child.taskType },
          { key: TaskIdKey, value: child.taskId },
          { key: BrandIdKey, value: String(child.brandId) },
          { key: TaskPriorityKey, value: child.priority },
        ],
      }) as Promise<TaskWorkflowResult>;

    // Children run in their own scope: a failed step cancels its running siblings without cancelling the pipeline.
    const childrenScope = new CancellationScope();
    const runStep = async (step: PipelineStepSpec): Promise<void> => {
      const v = view(step.id);
      v.state = 'running';
      v.task_id = stepTaskId(input.taskId, step.id);
      try {
        const contextData = resolveStepInput(step.input, results);
        const out = await childrenScope.run(() => runChild(childInput(v.task_id!, step.task_type, contextData, `step ${step.id}`)));
        results[step.id] = out.resultData;
        completed.push(step.id);
        v.state = 'completed';
      } catch (err) {
        v.state = isCancellation(err) ? 'cancelled' : 'failed';
        v.error = rootCauseMessage(err);
        if (failure === null) {
          failure = err;
          childrenScope.cancel();
        }
      }
    };

    const running = new Map<string, Promise<void>>();
    for (;;) {
      if (failure === null) {
        const ready = steps.filter(
          (s) => view(s.id).state === 'pending' && s.depends_on.every((d) => view(d).state === 'completed'),
        );
        for (const s of ready.slice(0, Math.max(0, context.max_parallel - running.size))) {
          running.set(s.id, runStep(s).finally(() => running.delete(s.id)));
        }
      }
      await report();
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    for (const v of views) if (v.state === 'pending') v.state = 'skipped';

    if (failure === null) return { steps: views, results };

    // Undo what was done, newest first; this must finish even when the pipeline itself is being cancelled.
    await CancellationScope.nonCancellable(async () => {
      for (const id of [...completed].reverse()) {
        const step = steps.find((s) => s.id === id)!;
        if (!step.compensation) continue;
        const v = view(id);
        v.compensation = { task_id: stepTaskId(input.taskId, id, true), state: 'running' };
        await report();
        try {
          const contextData = resolveStepInput(step.compensation.input, results);
          await runChild(childInput(v.compensation.task_id, step.compensation.task_type, contextData, `compensation of step ${id}`));
          v.compensation.state = 'completed';
          v.state = 'compensated';
        } catch {
          v.compensation.state = 'failed'; // the others still run: one failed undo should not leave the rest undone
        }
      }
      await report();
    });
    if (isCancellation(failure) && !CancellationScope.current().consideredCancelled) {
      // A step was cancelled on its own (its task cancelled through the API): the pipeline did not finish, it failed.
      throw ApplicationFailure.nonRetryable(`Step ${views.find((v) => v.state === 'cancelled')?.id} was cancelled`, ErrorCode.TASK_FAILED);
    }
    throw failure;
  },
});
