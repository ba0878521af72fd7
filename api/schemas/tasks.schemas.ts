import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES, TASK_TYPE_ALIASES } from '../../workflows/contracts/task-types';
import { availableTaskTypes, isKnownTaskType, plannedTaskTypes } from '../../workflows/tasks/registry';

export const choices = (values: readonly string[]) => `Invalid value. Choices: ${values.join(', ')}`;

export const priority = z.enum(TASK_PRIORITIES, { error: choices(TASK_PRIORITIES) });
/**
 * Task types come from the registry (plus the seed types not built yet, refused later with a clearer error);
 * the seeds' aliases (seo_audit, seo_analysis) are accepted and answered under the canonical name.
 */
const canonicalType = (name: string): string => TASK_TYPE_ALIASES[name] ?? name;
const aliasNote = Object.entries(TASK_TYPE_ALIASES).map(([alias, name]) => `${alias} → ${name}`).join(', ');
const typeChoices = () => `${choices([...availableTaskTypes(), ...plannedTaskTypes()])} (aliases: ${aliasNote})`;
const taskTypeName = z
  .string({ error: 'This field is required' })
  .trim()
  .transform(canonicalType)
  .refine(isKnownTaskType, { error: (iss) => `Unknown task type "${String(iss.input)}". ${typeChoices()}` });
export const taskType = taskTypeName;
export const contextData = z.record(z.string(), z.unknown(), { error: 'Must be a JSON object' });
export const isoInstant = z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date-time with a timezone, e.g. 2024-12-25T09:00:00Z' });

/** A task's label (the public API's `name`); optional on /tasks/ too. */
export const taskName = z.string().trim().min(1, 'Must not be empty').max(200, 'At most 200 characters');

/** POST /tasks/ (seed 001): unknown fields are refused, never silently dropped. */
export const createTaskBody = z
  .object({
    task_type: taskType,
    name: taskName.nullable().optional(),
    priority: priority.default('normal'),
    description: z.string().max(2000).default(''),
    context_data: contextData.default({}),
    scheduled_for: isoInstant.nullable().optional(),
    max_retries: z.number().int().min(0).max(100).default(3),
    /** Fractions are accepted so short bounds can be tested; at most one week. */
    timeout_minutes: z.number().positive().max(7 * 24 * 60).nullable().optional(),
  })
  .strict();
export type CreateTaskBody = z.infer<typeof createTaskBody>;

/** PATCH: any of the editable fields. */
export const patchTaskBody = z
  .object({
    priority: priority.optional(),
    description: z.string().max(2000).optional(),
    context_data: contextData.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one of priority, description, context_data' });

/** PUT: the whole editable part of the task. */
export const putTaskBody = z
  .object({ priority, description: z.string().max(2000), context_data: contextData })
  .strict();
export type TaskUpdateBody = z.infer<typeof patchTaskBody>;

export const retryTaskBody = z
  .object({
    reset_progress: z.boolean().default(true),
    clear_errors: z.boolean().default(true),
    new_priority: priority.optional(),
  })
  .strict();
export type RetryTaskBody = z.infer<typeof retryTaskBody>;

export const cancelTaskBody = z.object({ reason: z.string().max(500).optional() }).strict();

// ---- GET /tasks/ query ----

export const commaList = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values, { error: (iss) => `Unknown value "${String(iss.input)}". ${choices(values)}` })).min(1));

export const bool = z.enum(['true', 'false', '1', '0'], { error: 'Must be true or false' }).transform((v) => v === 'true' || v === '1');
const num = z.coerce.number({ error: 'Must be a number' }).refine(Number.isFinite, 'Must be a number');
export const int = z.coerce.number({ error: 'Must be an integer' }).int('Must be an integer');

export const ORDERING_FIELDS = {
  id: 'id',
  created_at: 'created_at',
  updated_at: 'updated_at',
  started_at: 'started_at',
  completed_at: 'completed_at',
  scheduled_for: 'scheduled_for',
  priority: 'priority_level',
  status: 'status',
  task_type: 'task_type',
  progress_percentage: 'progress_percentage',
  retry_count: 'retry_count',
} as const;
export type OrderingField = keyof typeof ORDERING_FIELDS;

const ordering = z
  .string()
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().refine((f) => Object.hasOwn(ORDERING_FIELDS, f.replace(/^-/, '')), {
          error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(ORDERING_FIELDS).join(', ')}`,
        }),
      )
      .min(1)
      .max(5),
  );

/** Range lookups of seed 000 (`__gte`, `__gt`, `__lte`, `__lt`) on these columns. */
export const RANGE_FIELDS = {
  created_at: 'date',
  updated_at: 'date',
  started_at: 'date',
  completed_at: 'date',
  scheduled_for: 'date',
  retry_count: 'int',
  max_retries: 'int',
  progress_percentage: 'number',
} as const;
export const RANGE_OPS = { gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;

const rangeShape: Record<string, z.ZodType> = {};
for (const [field, kind] of Object.entries(RANGE_FIELDS)) {
  for (const op of Object.keys(RANGE_OPS)) {
    rangeShape[`${field}__${op}`] = (kind === 'date' ? isoInstant : kind === 'int' ? int : num).optional();
  }
}

export const listTasksQuery = z
  .object({
    status: commaList(TASK_STATUSES).optional(),
    priority: commaList(TASK_PRIORITIES).optional(),
    task_type: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(z.array(taskTypeName).min(1))
      .transform((names) => [...new Set(names)])
      .optional(),
    task_type__startswith: z.string().min(1).max(64).optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
    updated_after: isoInstant.optional(),
    updated_before: isoInstant.optional(),
    search: z.string().max(200).optional(),
    has_metrics: bool.optional(),
    is_resumable: bool.optional(),
    /** Firings of one schedule (periodic task or cron job), by its schedule_id. */
    schedule_id: z.string().max(64).optional(),
    /** The steps of one pipeline, by the pipeline's task_id. */
    parent_task_id: z.string().max(64).optional(),
    retry_count: int.optional(),
    ordering: ordering.optional(),
    page: int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Must be at most 1000000')).default(1),
    page_size: int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional(),
    ...rangeShape,
  })
  .strict();
export type ListTasksQuery = z.infer<typeof listTasksQuery> & Record<string, unknown>;
