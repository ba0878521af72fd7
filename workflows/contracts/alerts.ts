/**
 * Alert rules (task_monitoring): the names shared by the API, the evaluation activity and the delivery workflow.
 * Pure data and functions only: workflow code imports this file.
 */

/** Fields aggregated from `task_metrics` rows finished in the window. */
export const TASK_METRIC_FIELDS = ['execution_time_ms', 'memory_usage_mb', 'cpu_usage_percent', 'cost_usd', 'error_count'] as const;
/** Fields computed from the `tasks` mirror: failed / finished in the window, and pending tasks now. */
export const TASK_STATE_FIELDS = ['failure_rate_percent', 'queue_depth'] as const;
export const ALERT_METRIC_FIELDS = [...TASK_METRIC_FIELDS, ...TASK_STATE_FIELDS] as const;
export type AlertMetricField = (typeof ALERT_METRIC_FIELDS)[number];
export type TaskMetricField = (typeof TASK_METRIC_FIELDS)[number];

export const ALERT_AGGREGATIONS = ['avg', 'max', 'p95', 'sum', 'count'] as const;
export type AlertAggregation = (typeof ALERT_AGGREGATIONS)[number];

export const ALERT_CONDITIONS = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];

export const ALERT_EVENT_KINDS = ['fired', 'resolved', 'test'] as const;
export type AlertEventKind = (typeof ALERT_EVENT_KINDS)[number];

export const ALERT_CHANNEL_TYPES = ['webhook', 'email', 'slack'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

/** A notification target. Generic: the admin alerts (issue 8) send through the same `notify` activity. */
export type ChannelConfig =
  | { type: 'webhook'; url: string; secret?: string | null }
  | { type: 'email'; to: string[]; subject?: string | null }
  | { type: 'slack'; webhook_url: string };

export const isTaskMetricField = (f: string): f is TaskMetricField => (TASK_METRIC_FIELDS as readonly string[]).includes(f);

/** `value condition threshold`; `eq` tolerates float noise. */
export function breaches(value: number, condition: AlertCondition, threshold: number): boolean {
  switch (condition) {
    case 'gt':
      return value > threshold;
    case 'gte':
      return value >= threshold;
    case 'lt':
      return value < threshold;
    case 'lte':
      return value <= threshold;
    case 'eq':
      return Math.abs(value - threshold) <= 1e-9 * Math.max(1, Math.abs(threshold));
  }
}

export const CONDITION_SYMBOL: Record<AlertCondition, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤', eq: '=' };

/**
 * One event to deliver to its rule's channels by `deliverAlertWorkflow` (workflow id `workflowId`, started once). Only
 * channel positions and types travel through Temporal: each attempt reads the channel (URL, secret) from the database,
 * so no secret lands in a workflow history, and a URL fixed while a delivery is retrying is used by the next attempt.
 */
export interface AlertDispatch {
  eventId: number;
  workflowId: string;
  channels: { index: number; type: AlertChannelType }[];
}

/** The `Idempotency-Key` of one channel's delivery of one event: the same on every retry. */
export const alertIdempotencyKey = (workflowId: string, channelIndex: number): string => `${workflowId}:${channelIndex}`;

/** Started once per event: the id carries the event id and its time, so a database reset never reuses a closed id. */
export function alertDeliveryWorkflowId(eventId: number, occurredAt: Date | string): string {
  return `alert-event-${eventId}-${new Date(occurredAt).getTime().toString(36)}`;
}

export interface DeliveryOutcome {
  channel_index: number;
  channel: AlertChannelType;
  status: 'delivered' | 'failed';
  error?: string;
}
