import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { AlertDispatch, DeliveryOutcome } from '../../workflows/contracts/alerts';

/** The API's door to alert delivery workflows (`test/` sends through the same workflow as a real firing). */
export class AlertWorkflowGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Starts the event's delivery; its id is started at most once (a second start is a no-op). */
  async startDelivery(dispatch: AlertDispatch): Promise<void> {
    try {
      await this.client.workflow.start('deliverAlertWorkflow', {
        taskQueue: this.taskQueue,
        workflowId: dispatch.workflowId,
        args: [dispatch],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /** The delivery's outcome if it finishes within `ms` (every channel delivered or given up), else null: still retrying. */
  async waitForDelivery(workflowId: string, ms: number): Promise<DeliveryOutcome[] | null> {
    const handle = this.client.workflow.getHandle(workflowId);
    const deadline = AbortSignal.timeout(ms);
    try {
      // The long poll is cancelled at the deadline, so nothing keeps waiting on a delivery that retries for hours.
      return (await this.client.withAbortSignal(deadline, () => handle.result())) as DeliveryOutcome[];
    } catch (err) {
      if (deadline.aborted) return null;
      throw err;
    }
  }
}
