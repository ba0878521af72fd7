import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { JOB_WORKFLOW_TYPE, jobProgressQuery, pauseJobSignal, resumeJobSignal, type JobProgressView, type JobWorkflowInput } from '../../workflows/contracts/job-types';
import { BrandIdKey, TaskIdKey, TaskPriorityKey, TaskTypeKey } from '../../workflows/contracts/search-attributes';
import { TEMPORAL_PRIORITY_KEY } from '../../workflows/contracts/task-types';

/** The API's door to persistent job workflows: a job is a run of its base task's workflow id. */
export class JobWorkflowGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Starts a run; refused by Temporal (WorkflowExecutionAlreadyStartedError) while the task has an open run. */
  async start(input: JobWorkflowInput): Promise<{ runId: string }> {
    const handle = await this.client.workflow.start(JOB_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: input.task.taskId,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      priority: { priorityKey: TEMPORAL_PRIORITY_KEY[input.task.priority] },
      typedSearchAttributes: [
        { key: TaskTypeKey, value: input.task.taskType },
        { key: TaskIdKey, value: input.task.taskId },
        { key: BrandIdKey, value: String(input.task.brandId) },
        { key: TaskPriorityKey, value: input.task.priority },
      ],
      staticSummary: `persistent job #${input.jobId} (${input.jobType}, generation ${input.generation})`,
    });
    return { runId: handle.firstExecutionRunId };
  }

  async pause(taskId: string, reason?: string): Promise<void> {
    await this.client.workflow.getHandle(taskId).signal(pauseJobSignal, { reason });
  }

  async resume(taskId: string): Promise<void> {
    await this.client.workflow.getHandle(taskId).signal(resumeJobSignal);
  }

  async progress(taskId: string): Promise<JobProgressView> {
    return this.client.workflow.getHandle(taskId).query(jobProgressQuery);
  }
}
