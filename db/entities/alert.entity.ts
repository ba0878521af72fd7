import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';
import { User } from './user.entity';

/**
 * Seed 000's AlertRule: a brand's threshold on a metric over a time window, evaluated every minute by the
 * `system-evaluate-alerts` Schedule. Without a brand it is platform-wide (seed 002's failure-rate alert, admin routes):
 * it measures every brand's tasks, and only failure_rate_percent or queue_depth (a check constraint holds to that). `state` is what the last evaluation concluded; `last_triggered_at` is the last
 * notified firing, from which the cooldown runs (stored here, so it holds across restarts).
 */
export const AlertRule = defineEntity({
  name: 'AlertRule',
  tableName: 'alert_rules',
  indexes: [{ properties: ['brand', 'createdAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** Null: a platform-wide rule (every brand). */
    brand: () => p.manyToOne(Brand).nullable(),
    createdBy: () => p.manyToOne(User),
    name: p.string().length(200),
    description: p.text().default(''),
    /** execution_time_ms, memory_usage_mb, cpu_usage_percent, cost_usd, error_count, failure_rate_percent, queue_depth. */
    metricField: p.string().length(32),
    /** avg, max, p95, sum, count: how task_metrics rows of the window are combined (null for the task-based fields). */
    aggregation: p.string().length(8).nullable(),
    /** gt, gte, lt, lte, eq. */
    condition: p.string().length(4),
    threshold: p.double(),
    windowMinutes: p.double(),
    /** Fewer samples than this in the window: no verdict (the rule does not fire, a firing one resolves). */
    minSamples: p.integer().default(1),
    scopeTaskType: p.string().length(64).nullable(),
    scopePriority: p.string().length(16).nullable(),
    cooldownMinutes: p.double(),
    /** [{type: 'webhook', url, secret?} | {type: 'email', to: [...], subject?} | {type: 'slack', webhook_url}]. */
    channels: p.json<Record<string, unknown>[]>(),
    isActive: p.boolean().default(true),
    /** `ok` or `firing`. */
    state: p.string().length(8).default('ok'),
    lastValue: p.double().nullable(),
    lastSamples: p.integer().nullable(),
    lastEvaluatedAt: p.datetime().nullable(),
    /** When the current firing began and the value that crossed the threshold (null while ok). */
    firingSince: p.datetime().nullable(),
    firedValue: p.double().nullable(),
    /** The `fired` event of the current firing; null when the firing was silenced by the cooldown. */
    firingEventId: p.bigint('number').nullable(),
    lastTriggeredAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deletedAt: p.datetime().nullable(),
  },
});
export type IAlertRule = InferEntity<typeof AlertRule>;

/** Every firing, resolution and test of a rule, with the payload its channels were sent (history/). */
export const AlertEvent = defineEntity({
  name: 'AlertEvent',
  tableName: 'alert_events',
  indexes: [{ properties: ['brandId', 'occurredAt'] }, { properties: ['rule', 'occurredAt'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    rule: () => p.manyToOne(AlertRule),
    /** The rule's brand; null for a platform-wide rule (also indexed by (occurred_at desc, id desc) for the admin history). */
    brandId: p.integer().nullable(),
    /** `fired`, `resolved` or `test`. */
    kind: p.string().length(16),
    value: p.double().nullable(),
    threshold: p.double(),
    samples: p.integer().nullable(),
    payload: p.json<Record<string, unknown>>(),
    /** The Temporal workflow delivering it to the rule's channels (null when the rule had none). */
    deliveryWorkflowId: p.string().length(128).nullable(),
    occurredAt: p.datetime(),
  },
});
export type IAlertEvent = InferEntity<typeof AlertEvent>;

/** One delivery attempt of an event to one channel (Temporal retries the activity: each attempt is a row). */
export const AlertDelivery = defineEntity({
  name: 'AlertDelivery',
  tableName: 'alert_deliveries',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    event: () => p.manyToOne(AlertEvent).index(),
    /** `webhook`, `email` or `slack`; `channelIndex` is its position in the rule's channel list. */
    channel: p.string().length(16),
    channelIndex: p.integer(),
    /** Where it went, without secrets (URL origin and path, e-mail recipients). */
    target: p.text(),
    attempt: p.integer(),
    /** `pending` (in flight, or the worker died mid-attempt), `delivered` or `failed`. */
    status: p.string().length(16),
    responseStatus: p.integer().nullable(),
    error: p.text().nullable(),
    idempotencyKey: p.string().length(200),
    createdAt: p.datetime(),
    deliveredAt: p.datetime().nullable(),
  },
});
export type IAlertDelivery = InferEntity<typeof AlertDelivery>;
