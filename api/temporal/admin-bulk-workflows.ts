import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { ADMIN_BULK_WORKFLOW_TYPE, adminBulkProgressQuery, type AdminBulkProgress, type AdminBulkWorkflowInput } from '../../workflows/contracts/admin-bulk';

/**
 * The API's door to admin bulk workflows. Workflow id = bulk id. The first start of an id is idempotent (a second one
 * finds the first); a resume is a new run of the same id once the previous run has closed.
 */
export class AdminBulkWorkflowGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /**
   * `first`: starts the bulk unless its id was ever started (then `alreadyExisted`, nothing new runs). `resume`: a new
   * run of a closed id; WorkflowExecutionAlreadyStartedError while a run is still open.
   */
  async start(input: AdminBulkWorkflowInput, mode: 'first' | 'resume', requestId?: string | null): Promise<{ alreadyExisted: boolean }> {
    try {
      await this.client.workflow.start(ADMIN_BULK_WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId: input.bulkId,
        args: [input],
        workflowIdReusePolicy: mode === 'first' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        workflowIdConflictPolicy: mode === 'first' ? WorkflowIdConflictPolicy.USE_EXISTING : WorkflowIdConflictPolicy.FAIL,
        staticSummary: `admin bulk ${input.action} (jobs up to #${input.maxTaskId})`,
        memo: requestId ? { request_id: requestId } : undefined,
      });
      return { alreadyExisted: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && mode === 'first') return { alreadyExisted: true };
      throw err;
    }
  }

  /** Requests cancellation of the open run; false when the id has no execution at all. */
  async cancel(bulkId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(bulkId).cancel();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The latest run's status (RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, …), or null: never started. */
  async status(bulkId: string): Promise<string | null> {
    try {
      return (await this.client.workflow.getHandle(bulkId).describe()).status.name;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async progress(bulkId: string): Promise<AdminBulkProgress> {
    return this.client.workflow.getHandle(bulkId).query(adminBulkProgressQuery);
  }
}

function isNotFound(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const e = err as { code?: number; cause?: { code?: number } } | null;
  return e?.code === 5 || e?.cause?.code === 5;
}
