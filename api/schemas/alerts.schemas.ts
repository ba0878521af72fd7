import { z } from 'zod';
import {
  ALERT_AGGREGATIONS,
  ALERT_CONDITIONS,
  ALERT_EVENT_KINDS,
  ALERT_METRIC_FIELDS,
  isTaskMetricField,
  type AlertAggregation,
  type AlertMetricField,
  type ChannelConfig,
} from '../../workflows/contracts/alerts';
import { TASK_PRIORITIES } from '../../workflows/contracts/task-types';
import { AppError, ErrorCode } from '../errors';
import { brandRef, drfPage, isoTimestamp, jsonObject, userRef } from './common-responses.schemas';
import { bool, choices, commaList, int, isoInstant, priority, taskType } from './tasks.schemas';
import { toFieldErrors } from './zod-errors';

/** Alert rules (task_monitoring, seed 000): bodies, filters and the validation codes the seed names. */

const MS_PER_WEEK = 7 * 24 * 3_600_000;
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;
export const MAX_CHANNELS = 10;

/**
 * Thresholds a field can meaningfully reach: percents 0..100 (CPU is a percent of one core, up to 64 cores), times up to
 * a week in ms, costs and counts non-negative. A `count` is a number of rows; a `sum` may reach a million rows' worth.
 */
export const THRESHOLD_RANGES: Record<AlertMetricField, readonly [number, number]> = {
  execution_time_ms: [0, MS_PER_WEEK],
  memory_usage_mb: [0, 1_048_576],
  cpu_usage_percent: [0, 6400],
  cost_usd: [0, 1_000_000],
  error_count: [0, 1_000_000],
  failure_rate_percent: [0, 100],
  queue_depth: [0, 10_000_000],
};

export function thresholdRange(field: AlertMetricField, aggregation: AlertAggregation | null): readonly [number, number] {
  if (aggregation === 'count') return [0, 1_000_000_000];
  const [min, max] = THRESHOLD_RANGES[field];
  return aggregation === 'sum' ? [min, max * 1_000_000] : [min, max];
}

/** Default `min_samples`: a failure rate over a handful of tasks says little, so it waits for five; others for one. */
export const defaultMinSamples = (field: AlertMetricField) => (field === 'failure_rate_percent' ? 5 : 1);

const isHttpUrl = (s: string) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
};
const httpUrl = z
  .string({ error: 'This field is required' })
  .max(2000, 'At most 2000 characters')
  .refine(isHttpUrl, 'Must be an http:// or https:// URL');

export const channelSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('webhook'),
        url: httpUrl,
        /** Signs each body: `X-Signature-SHA256: sha256=<hex HMAC-SHA256>`. Write-only (never shown again). */
        secret: z.string({ error: 'Must be a string' }).min(8, 'At least 8 characters').max(256, 'At most 256 characters').nullable().optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('email'),
        to: z.array(z.email({ error: 'Must be an e-mail address' }), { error: 'Must be a list of e-mail addresses' }).min(1, 'Give at least one address').max(20, 'At most 20 addresses'),
        subject: z.string({ error: 'Must be a string' }).max(200, 'At most 200 characters').nullable().optional(),
      })
      .strict(),
    z.object({ type: z.literal('slack'), webhook_url: httpUrl }).strict(),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? `Unknown channel type. Choices: webhook, email, slack` : 'Must be a channel object {type, ...}') },
);

const requiredString = (iss: { input: unknown }) => (iss.input === undefined ? 'This field is required' : 'Must be a string');

const ruleShape = {
  name: z.string({ error: requiredString }).trim().min(1, 'Must not be empty').max(200, 'At most 200 characters'),
  description: z.string({ error: 'Must be a string' }).max(2000, 'At most 2000 characters'),
  metric_field: z.enum(ALERT_METRIC_FIELDS, {
    error: (iss) =>
      iss.input === undefined ? 'This field is required' : `Unknown metric field "${String(iss.input)}". ${choices(ALERT_METRIC_FIELDS)}`,
  }),
  aggregation: z.enum(ALERT_AGGREGATIONS, { error: choices(ALERT_AGGREGATIONS) }).nullable(),
  condition: z.enum(ALERT_CONDITIONS, { error: (iss) => (iss.input === undefined ? 'This field is required' : choices(ALERT_CONDITIONS)) }),
  threshold: z.number({ error: (iss) => (iss.input === undefined ? 'This field is required' : 'Must be a number') }),
  window_minutes: z
    .number({ error: 'Must be a number of minutes' })
    .positive('Must be more than 0')
    .max(MAX_WINDOW_MINUTES, `At most ${MAX_WINDOW_MINUTES} (7 days)`),
  min_samples: z.number({ error: 'Must be an integer' }).int('Must be an integer').min(1, 'Must be 1 or more').max(1_000_000, 'At most 1000000'),
  scope_task_type: taskType.nullable(),
  scope_priority: priority.nullable(),
  cooldown_minutes: z
    .number({ error: 'Must be a number of minutes' })
    .min(0, 'Must be 0 or more')
    .max(MAX_WINDOW_MINUTES, `At most ${MAX_WINDOW_MINUTES} (7 days)`),
  channels: z.array(channelSchema, { error: 'Must be a list of channels' }).max(MAX_CHANNELS, `At most ${MAX_CHANNELS} channels`),
  is_active: z.boolean({ error: 'Must be true or false' }),
};

/** A rule's definition, every field settled. */
export interface AlertRuleDefinition {
  name: string;
  description: string;
  metric_field: AlertMetricField;
  aggregation: AlertAggregation | null;
  condition: (typeof ALERT_CONDITIONS)[number];
  threshold: number;
  window_minutes: number;
  min_samples: number;
  scope_task_type: string | null;
  scope_priority: string | null;
  cooldown_minutes: number;
  channels: ChannelConfig[];
  is_active: boolean;
}

const THRESHOLD_RANGE_ISSUE = 'threshold_out_of_range';

/**
 * POST and PUT (and a PATCH once merged onto the stored rule): name, metric_field, condition and threshold are required.
 * `channels` omitted on PUT keeps the stored ones (webhook secrets are write-only and could not be sent back).
 */
export function alertRuleBody(opts: { smtpConfigured: boolean }) {
  return z
    .object({
      ...ruleShape,
      description: ruleShape.description.default(''),
      aggregation: ruleShape.aggregation.optional(),
      window_minutes: ruleShape.window_minutes.default(5),
      min_samples: ruleShape.min_samples.optional(),
      scope_task_type: ruleShape.scope_task_type.optional(),
      scope_priority: ruleShape.scope_priority.optional(),
      cooldown_minutes: ruleShape.cooldown_minutes.default(15),
      channels: ruleShape.channels.optional(),
      is_active: ruleShape.is_active.default(true),
    })
    .strict()
    .superRefine((b, ctx) => {
      // Zod may run this with fields that failed their own checks: those are left to their own errors.
      if (!(ALERT_METRIC_FIELDS as readonly string[]).includes(b.metric_field)) return;
      const taskMetric = isTaskMetricField(b.metric_field);
      if (!taskMetric && b.aggregation) {
        ctx.addIssue({ code: 'custom', path: ['aggregation'], message: `Not used with ${b.metric_field} (leave it out or null)` });
      }
      const aggregation = taskMetric ? (b.aggregation ?? 'avg') : null;
      if (aggregation && !(ALERT_AGGREGATIONS as readonly string[]).includes(aggregation)) return;
      const [min, max] = thresholdRange(b.metric_field, aggregation);
      if (typeof b.threshold === 'number' && Number.isFinite(b.threshold) && (b.threshold < min || b.threshold > max)) {
        ctx.addIssue({
          code: 'custom',
          path: ['threshold'],
          message: `Must be between ${min} and ${max} for ${b.metric_field}${aggregation && aggregation !== 'avg' ? ` (${aggregation})` : ''}`,
          params: { kind: THRESHOLD_RANGE_ISSUE, min, max },
        });
      }
      if (Array.isArray(b.channels)) {
        b.channels.forEach((c, i) => {
          if (c && typeof c === 'object' && c.type === 'email' && !opts.smtpConfigured) {
            ctx.addIssue({
              code: 'custom',
              path: ['channels', i, 'type'],
              message: 'E-mail channels need SMTP_URL to be configured on the server (ask an operator), or use a webhook or Slack channel',
            });
          }
        });
      }
    })
    .transform(
      (b): Omit<AlertRuleDefinition, 'channels'> & { channels?: ChannelConfig[] } => ({
        ...b,
        aggregation: isTaskMetricField(b.metric_field) ? (b.aggregation ?? 'avg') : null,
        min_samples: b.min_samples ?? defaultMinSamples(b.metric_field),
        scope_task_type: b.scope_task_type ?? null,
        scope_priority: b.scope_priority ?? null,
        channels: b.channels as ChannelConfig[] | undefined,
      }),
    );
}

/** PATCH: any subset of the fields (validated again as a whole once merged onto the stored rule). */
export const alertRulePatch = z
  .object(ruleShape)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: `Provide at least one of ${Object.keys(ruleShape).join(', ')}` });
export type AlertRulePatch = z.infer<typeof alertRulePatch>;

/**
 * Parses with the seed's codes: a bad `metric_field` is METRIC_FIELD_INVALID, a threshold outside its field's range
 * THRESHOLD_OUT_OF_RANGE (with `min`/`max`), anything else VALIDATION_ERROR. All field errors are listed either way.
 */
export function parseAlertInput<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const fieldErrors = toFieldErrors(result.error);
  if (Object.keys(fieldErrors).some((k) => k === 'metric_field' || k.startsWith('metric_field.'))) {
    throw AppError.validation(fieldErrors, 'Invalid metric field', ErrorCode.METRIC_FIELD_INVALID);
  }
  const range = result.error.issues.find(
    (i): i is z.core.$ZodIssueCustom => i.code === 'custom' && (i.params as { kind?: string } | undefined)?.kind === THRESHOLD_RANGE_ISSUE,
  );
  if (range) {
    const { min, max } = range.params as { min: number; max: number };
    const err = AppError.validation(fieldErrors, `Threshold out of range: ${range.message}`, ErrorCode.THRESHOLD_OUT_OF_RANGE);
    throw new AppError(err.code, err.status, err.detail, { ...err.extra, min, max });
  }
  throw AppError.validation(fieldErrors);
}

export const ALERT_ORDERING = {
  id: 'r.id',
  name: 'r.name',
  created_at: 'r.created_at',
  updated_at: 'r.updated_at',
  last_triggered_at: 'r.last_triggered_at',
  threshold: 'r.threshold',
  metric_field: 'r.metric_field',
} as const;

const page = int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Must be at most 1000000')).default(1);
const pageSize = int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional();

export const listAlertRulesQuery = z
  .object({
    is_active: bool.optional(),
    metric_field: commaList(ALERT_METRIC_FIELDS).optional(),
    condition: commaList(ALERT_CONDITIONS).optional(),
    state: commaList(['ok', 'firing'] as const).optional(),
    aggregation: commaList(ALERT_AGGREGATIONS).optional(),
    scope_task_type: z.string().max(64).optional(),
    scope_priority: commaList(TASK_PRIORITIES).optional(),
    last_triggered_after: isoInstant.optional(),
    last_triggered_before: isoInstant.optional(),
    search: z.string().max(200).optional(),
    ordering: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(
        z
          .array(
            z.string().refine((f) => Object.hasOwn(ALERT_ORDERING, f.replace(/^-/, '')), {
              error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(ALERT_ORDERING).join(', ')}`,
            }),
          )
          .min(1)
          .max(4),
      )
      .optional(),
    page,
    page_size: pageSize,
  })
  .strict();
export type ListAlertRulesQuery = z.infer<typeof listAlertRulesQuery>;

export const listActiveAlertsQuery = z
  .object({ metric_field: commaList(ALERT_METRIC_FIELDS).optional(), page, page_size: pageSize })
  .strict();
export type ListActiveAlertsQuery = z.infer<typeof listActiveAlertsQuery>;

export const alertHistoryQuery = z
  .object({
    /** One rule's events (its id); `rule_id` is accepted too. */
    rule: int.pipe(z.number().min(1, 'Must be 1 or more').max(2_147_483_647, 'Too large')).optional(),
    rule_id: int.pipe(z.number().min(1, 'Must be 1 or more').max(2_147_483_647, 'Too large')).optional(),
    kind: commaList(ALERT_EVENT_KINDS).optional(),
    occurred_after: isoInstant.optional(),
    occurred_before: isoInstant.optional(),
    page,
    page_size: pageSize,
  })
  .strict();
export type AlertHistoryQuery = z.infer<typeof alertHistoryQuery>;

export const testAlertBody = z.object({ force: z.boolean({ error: 'Must be true or false' }).optional() }).strict();

// ---- response schemas ----

/** A channel as answered: secrets never leave the server (a webhook says whether it has one, Slack shows its origin). */
export const publicChannelResponse = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), url: z.string(), has_secret: z.boolean() }),
  z.strictObject({ type: z.literal('email'), to: z.array(z.string()), subject: z.string().nullable() }),
  z.strictObject({ type: z.literal('slack'), webhook_url: z.string() }),
]);

/** What `serializeAlertRule` returns (brand null: a platform-wide rule). */
export const alertRuleResponse = z.strictObject({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  brand: brandRef.nullable(),
  created_by: userRef,
  metric_field: z.enum(ALERT_METRIC_FIELDS),
  aggregation: z.enum(ALERT_AGGREGATIONS).nullable(),
  condition: z.enum(ALERT_CONDITIONS),
  threshold: z.number(),
  window_minutes: z.number().int(),
  min_samples: z.number().int(),
  scope_task_type: z.string().nullable(),
  scope_priority: z.enum(TASK_PRIORITIES).nullable(),
  cooldown_minutes: z.number().int(),
  channels: z.array(publicChannelResponse),
  is_active: z.boolean(),
  state: z.enum(['ok', 'firing']),
  last_value: z.number().nullable(),
  last_samples: z.number().int().nullable(),
  last_evaluated_at: isoTimestamp.nullable(),
  firing_since: isoTimestamp.nullable(),
  last_triggered_at: isoTimestamp.nullable(),
  cooldown_until: isoTimestamp.nullable(),
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
}).meta({ id: 'AlertRule' });
export const alertRulePageResponse = drfPage(alertRuleResponse);

/** active/: the rule, the value that fired, since when, and whether its channels were notified. */
export const activeAlertResponse = alertRuleResponse.extend({
  fired_value: z.number().nullable(),
  since: isoTimestamp.nullable(),
  notified: z.boolean(),
  event_id: z.number().int().nullable(),
}).meta({ id: 'ActiveAlert' });
export const activeAlertPageResponse = drfPage(activeAlertResponse);

const deliveryStatus = z.enum(['pending', 'delivered', 'failed']);

/** What `serializeAlertEvent` returns: a firing, resolution or test, with its deliveries. */
export const alertEventResponse = z.strictObject({
  id: z.number().int(),
  rule: z.strictObject({ id: z.number().int(), name: z.string() }),
  kind: z.enum(ALERT_EVENT_KINDS),
  value: z.number().nullable(),
  threshold: z.number(),
  samples: z.number().int().nullable(),
  occurred_at: isoTimestamp,
  payload: jsonObject,
  delivery_workflow_id: z.string().nullable(),
  delivery_summary: z.array(
    z.strictObject({
      channel_index: z.number().int(),
      channel: z.string(),
      target: z.string(),
      attempts: z.number().int(),
      status: deliveryStatus,
      delivered_at: isoTimestamp.nullable(),
    }),
  ),
  deliveries: z.array(
    z.strictObject({
      id: z.number().int(),
      channel: z.string(),
      channel_index: z.number().int(),
      target: z.string(),
      attempt: z.number().int(),
      status: deliveryStatus,
      response_status: z.number().int().nullable(),
      error: z.string().nullable(),
      idempotency_key: z.string(),
      created_at: isoTimestamp,
      delivered_at: isoTimestamp.nullable(),
    }),
  ),
}).meta({ id: 'AlertEvent' });
export const alertEventPageResponse = drfPage(alertEventResponse);

/** `{id}/test/`: the test event and, once every channel has one, the outcome. */
export const alertTestResponse = z.strictObject({ event: alertEventResponse, outcome: z.unknown() });
