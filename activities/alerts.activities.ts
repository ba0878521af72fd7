import { ApplicationFailure, Context } from '@temporalio/activity';
import { evaluateAlerts, type EvaluationReport } from '../api/services/alert-evaluation';
import { finishDeliveryAttempt, insertDeliveryAttempt, loadEventForDelivery, type EvaluationScope } from '../db/repositories/alert.repository';
import type { AlertChannelType, ChannelConfig } from '../workflows/contracts/alerts';
import type { ActivityDeps } from './deps';
import { channelTarget, DeliveryError, sendToChannel, type SendResult } from './notify/channels';
import { alertDeliveries } from './observability';

export type EvaluateAlertsInput = EvaluationScope;

/** Failure types of a delivery attempt, as seen in the Temporal Web UI. */
export const DELIVERY_FAILED = 'ALERT_DELIVERY_FAILED';
export const DELIVERY_REJECTED = 'ALERT_DELIVERY_REJECTED';

export function createAlertActivities(deps: ActivityDeps) {
  const sendOptions = (idempotencyKey: string) => ({
    idempotencyKey,
    smtpUrl: deps.config.SMTP_URL,
    emailFrom: deps.config.ALERT_EMAIL_FROM,
    timeoutMs: deps.config.ALERT_DELIVERY_TIMEOUT_SECONDS * 1000,
    signal: Context.current().cancellationSignal,
  });
  const asFailure = (err: unknown): ApplicationFailure => {
    const message = err instanceof Error ? err.message : String(err);
    return err instanceof DeliveryError && !err.retryable
      ? ApplicationFailure.nonRetryable(message, DELIVERY_REJECTED, { response_status: err.responseStatus })
      : ApplicationFailure.retryable(message, DELIVERY_FAILED, { response_status: err instanceof DeliveryError ? err.responseStatus : null });
  };

  return {
    /**
     * The `system-evaluate-alerts` schedule's pass (see api/services/alert-evaluation.ts): measures every active rule,
     * records the transitions, returns the events to deliver. A retry after a crash finds the transitions already made.
     */
    async evaluateAlertRules(input: EvaluateAlertsInput): Promise<EvaluationReport> {
      return evaluateAlerts(deps.orm.em.fork(), { brandIds: input.brandIds, ruleIds: input.ruleIds });
    },

    /**
     * One attempt to deliver an alert event to one channel of its rule, recorded in alert_deliveries (pending, then
     * delivered or failed). Throws on failure so Temporal retries with backoff; a refusal that a retry cannot fix
     * (4xx, permanent SMTP error, channel gone) is non-retryable.
     */
    async deliverAlert(input: {
      eventId: number;
      channelIndex: number;
      channelType: AlertChannelType;
      idempotencyKey: string;
    }): Promise<{ target: string; response_status: number | null }> {
      const em = deps.orm.em.fork();
      const event = await loadEventForDelivery(em, input.eventId);
      if (!event) throw ApplicationFailure.nonRetryable(`Alert event ${input.eventId} does not exist`, DELIVERY_REJECTED);
      const channel = event.channels[input.channelIndex];
      const attempt = Context.current().info.attempt;
      if (!channel || channel.type !== input.channelType) {
        // The rule's channels were edited after the event: this one is gone (recorded, not retried).
        const error = `Channel #${input.channelIndex} (${input.channelType}) is no longer on the rule`;
        const id = await insertDeliveryAttempt(em, { ...input, channel: input.channelType, target: '(removed)', attempt });
        await finishDeliveryAttempt(em, id, { status: 'failed', responseStatus: null, error });
        throw ApplicationFailure.nonRetryable(error, DELIVERY_REJECTED);
      }
      const attemptId = await insertDeliveryAttempt(em, {
        eventId: input.eventId,
        channel: channel.type,
        channelIndex: input.channelIndex,
        target: channelTarget(channel),
        attempt,
        idempotencyKey: input.idempotencyKey,
      });
      let sent: SendResult;
      try {
        sent = await sendToChannel(channel, event.payload, sendOptions(input.idempotencyKey));
      } catch (err) {
        await finishDeliveryAttempt(em, attemptId, {
          status: 'failed',
          responseStatus: err instanceof DeliveryError ? err.responseStatus : null,
          error: (err instanceof Error ? err.message : String(err)).slice(0, 2000),
        });
        alertDeliveries.inc({ channel: channel.type, outcome: 'failed' });
        throw asFailure(err);
      }
      await finishDeliveryAttempt(em, attemptId, { status: 'delivered', responseStatus: sent.responseStatus, error: null });
      alertDeliveries.inc({ channel: channel.type, outcome: 'delivered' });
      return { target: sent.target, response_status: sent.responseStatus };
    },

    /**
     * Generic notification (no database): sends `payload` to one channel. For callers other than alert rules (e.g.
     * admin alerts); pass the same `idempotencyKey` on every retry.
     */
    async notify(input: { channel: ChannelConfig; payload: Record<string, unknown>; idempotencyKey: string }): Promise<{ target: string; response_status: number | null }> {
      try {
        const sent = await sendToChannel(input.channel, input.payload, sendOptions(input.idempotencyKey));
        alertDeliveries.inc({ channel: input.channel.type, outcome: 'delivered' });
        return { target: sent.target, response_status: sent.responseStatus };
      } catch (err) {
        alertDeliveries.inc({ channel: input.channel.type, outcome: 'failed' });
        throw asFailure(err);
      }
    },
  };
}
