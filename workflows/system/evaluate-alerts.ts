import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { EvaluateAlertsInput } from '../../activities/alerts.activities';
import type { TaskActivities } from '../../activities';
import { alertIdempotencyKey, type AlertDispatch, type DeliveryOutcome } from '../contracts/alerts';
import { rootCauseMessage } from '../contracts/errors';

const { evaluateAlertRules } = proxyActivities<Pick<TaskActivities, 'evaluateAlertRules'>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

/**
 * One channel's delivery: retried with backoff (2 s, 4 s, 8 s … capped at a minute) for up to a day, so an endpoint
 * that is down for a while still receives the alert once it is back. Each attempt is a row in alert_deliveries.
 */
const { deliverAlert } = proxyActivities<Pick<TaskActivities, 'deliverAlert'>>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['ALERT_DELIVERY_REJECTED'] },
});

export interface EvaluateAlertsResult {
  evaluated: number;
  fired: number[];
  resolved: number[];
  silenced: number[];
  /** Delivery workflows started by this run (one per event with channels). */
  deliveries: string[];
}

/**
 * Started by the `system-evaluate-alerts` schedule (api/temporal/system-schedules.ts): evaluates every active rule, then
 * starts one `deliverAlertWorkflow` per new event. Its id is derived from the event, so an event is delivered by one
 * workflow only, however many evaluation runs (or retries) see it; the child is abandoned, not awaited, so a delivery
 * retrying for hours never holds the next evaluation back.
 */
export async function evaluateAlertsWorkflow(input: EvaluateAlertsInput = {}): Promise<EvaluateAlertsResult> {
  const report = await evaluateAlertRules(input);
  const started: string[] = [];
  for (const dispatch of report.dispatch) {
    try {
      await startChild(deliverAlertWorkflow, {
        workflowId: dispatch.workflowId,
        args: [dispatch],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      started.push(dispatch.workflowId);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return { evaluated: report.evaluated, fired: report.fired, resolved: report.resolved, silenced: report.silenced, deliveries: started };
}

/** Delivers one alert event to each of its rule's channels, in parallel; one channel failing for good spares the others. */
export async function deliverAlertWorkflow(dispatch: AlertDispatch): Promise<DeliveryOutcome[]> {
  return Promise.all(
    dispatch.channels.map(async (c): Promise<DeliveryOutcome> => {
      try {
        await deliverAlert({
          eventId: dispatch.eventId,
          channelIndex: c.index,
          channelType: c.type,
          idempotencyKey: alertIdempotencyKey(dispatch.workflowId, c.index),
        });
        return { channel_index: c.index, channel: c.type, status: 'delivered' };
      } catch (err) {
        return { channel_index: c.index, channel: c.type, status: 'failed', error: rootCauseMessage(err) };
      }
    }),
  );
}
