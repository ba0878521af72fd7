import {
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { amendTaskUpdate, taskProgressQuery } from '../../workflows/contracts/messages';
import { SCHEDULE_ID_PREFIX } from '../../workflows/contracts/schedules';
import { BrandIdKey, TaskIdKey, TaskPriorityKey, TaskTypeKey, TemporalScheduledStartTimeKey } from '../../workflows/contracts/search-attributes';
import { TEMPORAL_PRIORITY_KEY } from '../../workflows/contracts/task-types';
import type { TaskAmendment, TaskProgressView, TaskWorkflowInput } from '../../workflows/contracts/task-workflow';
import { tasksStarted } from '../observability/metrics';
import { summarizeHistory, type HistorySummary } from './history-summary';

export interface StartResult {
  runId: string;
  /** True when a workflow with this id already existed (idempotent create): nothing new was started. */
  alreadyExisted: boolean;
}

/**
 * The API's only door to task workflows in Temporal. Workflow id = task_id; workflow type = task_type.
 */
export class TaskWorkflowGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly namespace: string,
  ) {}

  /**
   * `create`: a workflow id is started at most once, ever (a second create with the same id, e.g. an
   * idempotent replay, returns the existing run). `retry`: a new run of a closed workflow id. `requestId` (the HTTP
   * call's X-Request-ID) goes into the run's memo as `request_id`, shown by the Web UI and `describe()`.
   */
  async start(input: TaskWorkflowInput, mode: 'create' | 'retry', requestId?: string | null): Promise<StartResult> {
    try {
      const handle = await this.client.workflow.start(input.taskType, {
        taskQueue: this.taskQueue,
        workflowId: input.taskId,
        args: [input],
        workflowIdReusePolicy: mode === 'create' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        workflowIdConflictPolicy: mode === 'create' ? WorkflowIdConflictPolicy.USE_EXISTING : WorkflowIdConflictPolicy.FAIL,
        priority: { priorityKey: TEMPORAL_PRIORITY_KEY[input.priority] },
        typedSearchAttributes: [
          { key: TaskTypeKey, value: input.taskType },
          { key: TaskIdKey, value: input.taskId },
          { key: BrandIdKey, value: String(input.brandId) },
          { key: TaskPriorityKey, value: input.priority },
        ],
        staticSummary: input.description ? input.description.slice(0, 200) : undefined,
        memo: requestId ? { request_id: requestId } : undefined,
      });
      tasksStarted.inc({ task_type: input.taskType });
      return { runId: handle.firstExecutionRunId, alreadyExisted: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && mode === 'create') {
        const desc = await this.describe(input.taskId);
        return { runId: desc.runId, alreadyExisted: true };
      }
      throw err;
    }
  }

  async amend(taskId: string, amendment: TaskAmendment): Promise<TaskAmendment> {
    return this.client.workflow.getHandle(taskId).executeUpdate(amendTaskUpdate, { args: [amendment] });
  }

  async progress(taskId: string): Promise<TaskProgressView> {
    return this.client.workflow.getHandle(taskId).query(taskProgressQuery);
  }

  async cancel(taskId: string): Promise<void> {
    await this.client.workflow.getHandle(taskId).cancel();
  }

  async terminate(taskId: string, reason: string): Promise<void> {
    await this.client.workflow.getHandle(taskId).terminate(reason);
  }

  async describe(taskId: string, runId?: string): Promise<WorkflowExecutionDescription> {
    return this.client.workflow.getHandle(taskId, runId).describe();
  }

  /**
   * The execution history summary of one run (the latest when `runId` is omitted): status, activities with their
   * attempts and last failure, the closing failure, the first and last events. Null when Temporal no longer has it.
   */
  async historySummary(taskId: string, runId?: string | null): Promise<HistorySummary | null> {
    const handle = this.client.workflow.getHandle(taskId, runId ?? undefined);
    try {
      // Described first: without a runId, the history fetched next is then the same (latest) run's.
      const desc = await handle.describe();
      const history = await this.client.workflow.getHandle(taskId, desc.runId).fetchHistory();
      return summarizeHistory(desc, history, this.client.options.loadedDataConverter);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) return null;
      throw err;
    }
  }

  /** The result or failure of a closed run, for the reconciler. */
  async outcome(taskId: string, runId: string): Promise<{ result?: unknown; error?: Error }> {
    try {
      return { result: await this.client.workflow.getHandle(taskId, runId).result() };
    } catch (err) {
      return { error: err as Error };
    }
  }

  /**
   * Task workflows started since `since` (visibility query on our search attributes), for the reconciler. A Schedule's
   * firing tags itself with TaskId when it first runs, so firings that never reached a worker are found by the
   * TemporalScheduledById that Temporal sets on them.
   */
  async *recentTaskExecutions(
    since: Date,
  ): AsyncGenerator<{ taskId: string; runId: string; status: string; startTime: Date; scheduledStartTime: Date | null }> {
    const query = `(TaskId IS NOT NULL OR TemporalScheduledById STARTS_WITH '${SCHEDULE_ID_PREFIX}') AND StartTime > '${since.toISOString()}'`;
    for await (const wf of this.client.workflow.list({ query })) {
      yield {
        taskId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        startTime: wf.startTime,
        scheduledStartTime: wf.typedSearchAttributes.get(TemporalScheduledStartTimeKey) ?? null,
      };
    }
  }

  /** The input a run was started with, read from its first history event. */
  async startInput(taskId: string, runId: string): Promise<TaskWorkflowInput | null> {
    const history = await this.client.workflow.getHandle(taskId, runId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return payload ? (this.client.options.loadedDataConverter.payloadConverter.fromPayload(payload) as TaskWorkflowInput) : null;
  }

  /** Deletes every run of the workflow id from Temporal (history and visibility). */
  async deleteExecution(taskId: string): Promise<void> {
    await this.client.workflowService.deleteWorkflowExecution({
      namespace: this.namespace,
      workflowExecution: { workflowId: taskId },
    });
  }
}
