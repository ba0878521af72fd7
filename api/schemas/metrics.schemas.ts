import { z } from 'zod';
import { AppError, ErrorCode } from '../errors';
import { METRIC_VALUE_FIELDS } from '../../db/repositories/task-metrics.repository';
import { int, isoInstant } from './tasks.schemas';

/** Upper bounds of each metric (beyond them a value is an input error, not a measurement). */
export const METRIC_LIMITS: Record<(typeof METRIC_VALUE_FIELDS)[number], { min: number; max: number; int?: boolean }> = {
  execution_time_ms: { min: 0, max: 7 * 24 * 3_600_000 },
  memory_usage_mb: { min: 0, max: 1_048_576 },
  cpu_usage_percent: { min: 0, max: 6400 },
  cost_usd: { min: 0, max: 1_000_000 },
  error_count: { min: 0, max: 1_000_000, int: true },
};

const metricValue = (field: keyof typeof METRIC_LIMITS) => {
  const { min, max, int: isInt } = METRIC_LIMITS[field];
  const base = z.number({ error: 'Must be a number' }).min(min, `Must be ${min} or more`).max(max, `Must be at most ${max}`);
  return isInt ? base.int('Must be an integer') : base;
};

const taskRef = z.union([z.number().int().min(1).max(2_147_483_647), z.string().trim().min(1).max(64)]);

const metricShape = {
  base_task: taskRef,
  execution_time_ms: metricValue('execution_time_ms'),
  memory_usage_mb: metricValue('memory_usage_mb'),
  cpu_usage_percent: metricValue('cpu_usage_percent'),
  cost_usd: metricValue('cost_usd'),
  error_count: metricValue('error_count'),
  attempts: z.number().int().min(0).max(1_000_000),
  details: z.record(z.string(), z.unknown()),
};
const KNOWN_FIELDS = new Set(Object.keys(metricShape));

/** Unknown fields are METRIC_FIELD_INVALID (seed 000), not a generic validation error. */
function rejectUnknownFields(body: unknown): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  const unknown = Object.keys(body).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) {
    throw new AppError(ErrorCode.METRIC_FIELD_INVALID, 400, `Unknown metric field(s): ${unknown.join(', ')}`, {
      field_errors: Object.fromEntries(unknown.map((k) => [k, [`Unknown metric field. Fields: ${[...KNOWN_FIELDS].join(', ')}`]])),
    });
  }
}

/** POST (import external metrics for a task) and PUT (all of them). */
export const metricsBody = z
  .object({
    base_task: metricShape.base_task,
    execution_time_ms: metricShape.execution_time_ms,
    memory_usage_mb: metricShape.memory_usage_mb.default(0),
    cpu_usage_percent: metricShape.cpu_usage_percent.default(0),
    cost_usd: metricShape.cost_usd.default(0),
    error_count: metricShape.error_count.default(0),
    attempts: metricShape.attempts.default(1),
    details: metricShape.details.nullable().default(null),
  })
  .strict();
export type MetricsBody = z.infer<typeof metricsBody>;

export const metricsPatch = z
  .object({ ...metricShape })
  .partial()
  .omit({ base_task: true })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one metric field' });
export type MetricsPatch = z.infer<typeof metricsPatch>;

export function parseMetricsBody<T>(schema: z.ZodType<T>, body: unknown, parse: (s: z.ZodType<T>, b: unknown) => T): T {
  rejectUnknownFields(body);
  return parse(schema, body);
}

export const RANGE_OPS = { gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;
export const METRICS_ORDERING = {
  id: 'm.id',
  finished_at: 'm.finished_at',
  created_at: 'm.created_at',
  execution_time_ms: 'm.execution_time_ms',
  memory_usage_mb: 'm.memory_usage_mb',
  cpu_usage_percent: 'm.cpu_usage_percent',
  cost_usd: 'm.cost_usd',
  error_count: 'm.error_count',
} as const;

const num = z.coerce.number({ error: 'Must be a number' }).refine(Number.isFinite, 'Must be a number');
const rangeShape: Record<string, z.ZodType> = {};
const count = z.coerce.number({ error: 'Must be an integer' }).int('Must be an integer').min(0).max(2_147_483_647);
for (const field of METRIC_VALUE_FIELDS) {
  const value = field === 'error_count' ? count : num;
  rangeShape[field] = value.optional();
  for (const op of Object.keys(RANGE_OPS)) rangeShape[`${field}__${op}`] = value.optional();
}

const listShape = z
  .object({
    base_task: z.string().trim().min(1).max(64).optional(),
    task_type: z.string().max(500).optional(),
    priority: z.string().max(100).optional(),
    source: z.enum(['worker', 'import']).optional(),
    finished_after: isoInstant.optional(),
    finished_before: isoInstant.optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
    ordering: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(
        z
          .array(
            z.string().refine((f) => Object.hasOwn(METRICS_ORDERING, f.replace(/^-/, '')), {
              error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(METRICS_ORDERING).join(', ')}`,
            }),
          )
          .min(1)
          .max(4),
      )
      .optional(),
    page: int.pipe(z.number().min(1).max(1_000_000)).default(1),
    page_size: int.pipe(z.number().min(1).max(10_000)).optional(),
    ...rangeShape,
  })
  .strict();
export type ListMetricsQuery = z.infer<typeof listShape> & Record<string, unknown>;
/** The list's query schema, for the API document (the route parses through parseListMetricsQuery). */
export const listMetricsQuery = listShape;

/** `?foo__gte=1` on a field that is not a metric is METRIC_FIELD_INVALID; other unknown parameters are VALIDATION_ERROR. */
export function parseListMetricsQuery(query: Record<string, unknown>, parse: (s: typeof listShape, q: unknown) => ListMetricsQuery): ListMetricsQuery {
  const badFields = Object.keys(query)
    .map((k) => /^(.+)__(gte|gt|lte|lt)$/.exec(k)?.[1])
    .filter((f): f is string => f !== undefined && !(METRIC_VALUE_FIELDS as readonly string[]).includes(f));
  if (badFields.length) {
    throw new AppError(ErrorCode.METRIC_FIELD_INVALID, 400, `Not a metric field: ${[...new Set(badFields)].join(', ')}`, {
      field_errors: Object.fromEntries(badFields.map((f) => [f, [`Metric fields: ${METRIC_VALUE_FIELDS.join(', ')}`]])),
    });
  }
  return parse(listShape, query);
}

export const DASHBOARD_PERIODS = { last_24_hours: 24, last_7_days: 7 * 24, last_30_days: 30 * 24 } as const;
export const dashboardQuery = z
  .object({
    period: z.enum(Object.keys(DASHBOARD_PERIODS) as [keyof typeof DASHBOARD_PERIODS], { error: `Choices: ${Object.keys(DASHBOARD_PERIODS).join(', ')}` }).default('last_7_days'),
    task_type: z.string().max(64).optional(),
    interval: z.enum(['hour', 'day']).optional(),
  })
  .strict()
  .refine((q) => !(q.interval === 'hour' && q.period === 'last_30_days'), {
    path: ['interval'],
    message: 'Hourly buckets go up to last_7_days; use interval=day for last_30_days',
  });
export type DashboardQuery = z.infer<typeof dashboardQuery>;
