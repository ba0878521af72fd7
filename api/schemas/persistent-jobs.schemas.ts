import { z } from 'zod';
import { jobSettingsSchema } from '../../workflows/contracts/job-types';
import { TASK_PRIORITIES } from '../../workflows/contracts/task-types';

const isoInstant = z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date-time with a timezone, e.g. 2024-12-25T09:00:00Z' });
const jsonObject = z.record(z.string(), z.unknown(), { error: 'Must be a JSON object' });

/** `base_task`: an existing task (integer id or task_id) of the brand, or an inline task to create with the job. */
const baseTask = z.union(
  [
    z.number().int().positive(),
    z.string().min(1).max(64),
    z
      .object({
        task_type: z.string().min(1).max(64),
        description: z.string().max(2000).default(''),
        priority: z.enum(TASK_PRIORITIES).default('normal'),
        context_data: jsonObject.default({}),
      })
      .strict(),
  ],
  { error: 'Must be a task id, a task_id, or an inline task {task_type, description, priority, context_data}' },
);

export const createJobBody = z
  .object({
    base_task: baseTask,
    /** The job's data for its job type; when omitted, the base task's context_data. */
    job_data: jsonObject.optional(),
    auto_resume: z.boolean().default(false),
    settings: jobSettingsSchema.partial().default({}),
  })
  .strict();
export type CreateJobBody = z.infer<typeof createJobBody>;

export const patchJobBody = z
  .object({ job_data: jsonObject.optional(), auto_resume: z.boolean().optional(), settings: jobSettingsSchema.partial().optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one of job_data, auto_resume, settings' });
export type PatchJobBody = z.infer<typeof patchJobBody>;

export const putJobBody = z.object({ job_data: jsonObject, auto_resume: z.boolean(), settings: jobSettingsSchema.partial() }).strict();

export const pauseJobBody = z.object({ reason: z.string().max(500).optional() }).strict();
export const validateConfigBody = z
  .object({ job_type: z.string().min(1).max(64).optional(), base_task: z.union([z.number().int().positive(), z.string().min(1).max(64)]).optional(), job_data: jsonObject, settings: jobSettingsSchema.partial().optional() })
  .strict()
  .refine((b) => (b.job_type === undefined) !== (b.base_task === undefined), { message: 'Give exactly one of job_type or base_task' });

const bool = z.enum(['true', 'false', '1', '0'], { error: 'Must be true or false' }).transform((v) => v === 'true' || v === '1');
const list = z.string().transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean));
const JOB_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export const JOB_ORDERING = { id: 'j.id', created_at: 'j.created_at', updated_at: 'j.updated_at', progress_percentage: 'j.progress_percentage', status: 'j.status', items_done: 'j.items_done' } as const;

export const listJobsQuery = z
  .object({
    status: list.pipe(z.array(z.enum(JOB_STATUSES)).min(1)).optional(),
    job_type: list.pipe(z.array(z.string().max(64)).min(1)).optional(),
    can_resume: bool.optional(),
    current_step: list.pipe(z.array(z.string().max(64)).min(1)).optional(),
    progress_gte: z.coerce.number().min(0).max(100).optional(),
    progress_lte: z.coerce.number().min(0).max(100).optional(),
    has_checkpoints: bool.optional(),
    auto_resume: bool.optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
    updated_after: isoInstant.optional(),
    search: z.string().max(200).optional(),
    ordering: list
      .pipe(z.array(z.string().refine((f) => Object.hasOwn(JOB_ORDERING, f.replace(/^-/, '')), { error: `Choices: ${Object.keys(JOB_ORDERING).join(', ')}` })).min(1).max(3))
      .optional(),
    page: z.coerce.number().int().min(1).max(1_000_000).default(1),
    page_size: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type ListJobsQuery = z.infer<typeof listJobsQuery>;

// ---- maintenance (auto-resume, cleanup-old, optimize-storage) and checkpoint CRUD ----

/** A persistent job id, as a JSON number or a numeric string. */
const jobRef = z.union([z.number().int().positive().max(999_999_999), z.string().regex(/^\d{1,9}$/).transform(Number)], { error: 'Must be a persistent job id' });

export const autoResumeBody = z.object({ dry_run: z.boolean().default(false) }).strict();

export const cleanupOldBody = z
  .object({ older_than_days: z.number().int().min(1).max(3650).default(30), dry_run: z.boolean().default(true) })
  .strict();
export type CleanupOldBody = z.infer<typeof cleanupOldBody>;

export const optimizeStorageBody = z
  .object({ keep_last: z.number().int().min(1).max(100).default(3), job: jobRef.optional(), dry_run: z.boolean().default(false) })
  .strict();
export type OptimizeStorageBody = z.infer<typeof optimizeStorageBody>;

const checkpointFields = {
  step: z.string().min(1).max(64),
  items_done: z.number().int().min(0).max(10_000_000),
  /** The job type's resumable state; validated against the job type's state schema by the service. */
  state: jsonObject,
  is_milestone: z.boolean(),
};
export const createCheckpointBody = z
  .object({ job: jobRef, ...checkpointFields, is_milestone: checkpointFields.is_milestone.default(false) })
  .strict();
export type CreateCheckpointBody = z.infer<typeof createCheckpointBody>;
export const putCheckpointBody = z.object({ ...checkpointFields, is_milestone: checkpointFields.is_milestone.optional() }).strict();
export const patchCheckpointBody = z
  .object(checkpointFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one of step, items_done, state, is_milestone' });
export type PatchCheckpointBody = z.infer<typeof patchCheckpointBody>;

/** GET checkpoints/: the brand's checkpoints, of one job or one step; DRF pages (page_size above 500 reads as 500). */
export const listCheckpointsQuery = z
  .object({
    job: z.string().regex(/^\d{1,9}$/, 'Must be a job id').transform(Number).optional(),
    step: z.string().min(1).max(64).optional(),
    page: z.coerce.number().int().min(1).max(1_000_000).default(1),
    page_size: z.coerce.number().int().min(1).max(10_000).default(25),
  })
  .strict();
