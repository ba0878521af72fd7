import { z } from 'zod';
import { LAST_RUN_STATUSES, OVERLAP_POLICIES } from '../../workflows/contracts/schedules';
import { bool, choices, commaList, contextData, int, isoInstant, priority, taskType } from './tasks.schemas';

/** A task by integer `id` or `task_id`, as `GET /tasks/{id}/` accepts. */
const taskRef = z.union([z.number().int().min(1).max(2_147_483_647), z.string().trim().min(1).max(64)]);
const overlap = z.enum(OVERLAP_POLICIES, { error: choices(OVERLAP_POLICIES) });

/**
 * The schedule part shared by periodic tasks and cron jobs. `timezone` and the cron expression are validated by the
 * service (TIMEZONE_INVALID, INVALID_CRON_EXPRESSION, FREQUENCY_NOT_SUPPORTED), not here, so they get their own codes.
 */
const scheduleFields = {
  name: z.string().trim().min(1).max(200),
  timezone: z.string().max(64),
  start_at: isoInstant.nullable(),
  end_at: isoInstant.nullable(),
  overlap_policy: overlap,
  /** How late a firing may still run (workers down, backlog); 0 = never catch up: a late firing is reported instead. */
  catchup_window_seconds: z.number().int().min(0).max(7 * 86_400),
  jitter_seconds: z.number().int().min(0).max(3_600),
  calendars: z.array(z.number().int().min(1).max(2_147_483_647)).max(20),
  is_active: z.boolean(),
  note: z.string().max(500),
};

/** The task every firing runs: copied from `base_task`, or given inline. */
const templateFields = {
  base_task: taskRef,
  task_type: taskType,
  priority,
  description: z.string().max(2000),
  context_data: contextData,
  max_retries: z.number().int().min(0).max(100),
  timeout_minutes: z.number().positive().max(7 * 24 * 60).nullable(),
};

/** POST /tasks/scheduled/periodic-tasks/ (example flow 3: `{base_task, cron_expression}`), and PUT (the whole definition). */
export const periodicTaskBody = z
  .object({
    cron_expression: z.string({ error: 'This field is required' }).max(200),
    ...partialOf(scheduleFields),
    ...partialOf(templateFields),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.base_task === undefined && b.task_type === undefined) {
      ctx.addIssue({ code: 'custom', path: ['base_task'], message: 'Give base_task (a task to repeat) or task_type (an inline task)' });
    }
  });
export type PeriodicTaskBody = z.infer<typeof periodicTaskBody>;

/** PATCH: any subset; the merged definition is validated as a whole. */
export const periodicTaskPatch = z
  .object({ cron_expression: z.string().max(200), ...scheduleFields, ...templateFields })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one field to change' });
export type PeriodicTaskPatch = z.infer<typeof periodicTaskPatch>;

export const toggleBody = z.object({ is_active: z.boolean().optional(), note: z.string().max(500).optional() }).strict();
export const executeNowBody = z.object({ overlap_policy: overlap.optional() }).strict();
export const executeReadyBody = z
  .object({ ids: z.array(z.number().int().min(1)).min(1).max(500).optional(), limit: z.number().int().min(1).max(500).default(100) })
  .strict();

// ---- cron jobs (seed 000 `cron-jobs/`) ----

export const CRON_JOB_FREQUENCIES = ['daily', 'weekly', 'monthly', 'cron'] as const;
export const CRON_JOB_TYPES = ['backup', 'report', 'cleanup'] as const;
export type CronJobType = (typeof CRON_JOB_TYPES)[number];

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Must be a time HH:MM (24 h)');
const cronJobFields = {
  name: z.string().trim().min(1).max(200),
  /** Validated by the service: anything else → FREQUENCY_NOT_SUPPORTED. */
  frequency: z.string().max(32),
  task_type: z.enum(CRON_JOB_TYPES, { error: choices(CRON_JOB_TYPES) }),
  cron_expression: z.string().max(200),
  time: hhmm,
  day_of_week: z.number().int().min(0).max(6),
  day_of_month: z.number().int().min(1).max(28),
  timezone: z.string().max(64),
  description: z.string().max(2000),
  priority,
  /** Options of the job's workflow type (cleanup: older_than_days, statuses; report: period; backup: format). */
  config: contextData,
  overlap_policy: overlap,
  catchup_window_seconds: z.number().int().min(0).max(7 * 86_400),
  jitter_seconds: z.number().int().min(0).max(3_600),
  calendars: z.array(z.number().int().min(1).max(2_147_483_647)).max(20),
  is_active: z.boolean(),
};
export const cronJobBody = z
  .object({ name: cronJobFields.name, frequency: cronJobFields.frequency, task_type: cronJobFields.task_type })
  .extend(partialOf(omit(cronJobFields, ['name', 'frequency', 'task_type'])))
  .strict();
export type CronJobBody = z.infer<typeof cronJobBody>;
export const cronJobPatch = z
  .object(cronJobFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one field to change' });
export type CronJobPatch = z.infer<typeof cronJobPatch>;

// ---- list queries (seed 000 task_scheduling filters + the global ones) ----

export const PERIODIC_ORDERING = {
  id: 'id',
  name: 'name',
  created_at: 'created_at',
  updated_at: 'updated_at',
  next_run_at: 'next_run_at',
  last_run_at: 'last_run_at',
  task_type: 'task_type',
} as const;

const ordering = z
  .string()
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().refine((f) => Object.hasOwn(PERIODIC_ORDERING, f.replace(/^-/, '')), {
          error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(PERIODIC_ORDERING).join(', ')}`,
        }),
      )
      .min(1)
      .max(4),
  );

const commonListFields = {
  is_active: bool.optional(),
  cron_expression: z.string().max(200).optional(),
  timezone: z.string().max(64).optional(),
  next_run_before: isoInstant.optional(),
  next_run_after: isoInstant.optional(),
  last_run_status: commaList(LAST_RUN_STATUSES).optional(),
  created_after: isoInstant.optional(),
  created_before: isoInstant.optional(),
  updated_after: isoInstant.optional(),
  search: z.string().max(200).optional(),
  brand: int.optional(),
  ordering: ordering.optional(),
  page: int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Must be at most 1000000')).default(1),
  page_size: int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional(),
};

export const listPeriodicQuery = z
  .object({
    ...commonListFields,
    task_type: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(z.array(z.string().max(64)).min(1))
      .optional(),
    base_task: z.string().trim().min(1).max(64).optional(),
  })
  .strict();
export type ListPeriodicQuery = z.infer<typeof listPeriodicQuery>;

export const listCronJobsQuery = z
  .object({
    ...commonListFields,
    frequency: commaList(CRON_JOB_FREQUENCIES).optional(),
    task_type: commaList(CRON_JOB_TYPES).optional(),
  })
  .strict();
export type ListCronJobsQuery = z.infer<typeof listCronJobsQuery>;

function partialOf<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> };
}

function omit<T extends Record<string, unknown>, K extends keyof T>(shape: T, keys: K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(shape).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;
}
