import { z } from 'zod';
import { drfPage, isoTimestamp, jsonObject } from './common-responses.schemas';
import { bool, choices, int, isoInstant } from './tasks.schemas';

/**
 * Worker registry (task_monitoring `workers/`). POST registers an external worker (another language, its own task
 * queues) or, with the worker_id of an existing manual registration, re-registers it; PUT replaces a manual
 * registration, PATCH updates part of it. Every write of a report counts as a heartbeat.
 */

export const WORKER_SDKS = ['typescript', 'go', 'java', 'python', 'dotnet', 'php', 'ruby', 'other'] as const;
export const WORKER_STATUSES = ['starting', 'running', 'draining', 'stopped'] as const;

const required = (what: string) => (iss: { input: unknown }) => (iss.input === undefined ? 'This field is required' : what);
const MAX_METADATA_CHARS = 10_000;

const workerId = z
  .string({ error: required('Must be a string') })
  .trim()
  .min(1, 'Must not be empty')
  .max(200, 'At most 200 characters')
  .regex(/^[A-Za-z0-9._:@+-]+$/, 'Letters, digits and . _ : @ + - only');
const queueName = z.string({ error: 'Must be a task queue name' }).trim().min(1, 'Must not be empty').max(200, 'At most 200 characters');
const nonNegativeInt = z.number({ error: 'Must be an integer' }).int('Must be an integer').min(0, 'Must be 0 or more');

const shape = {
  worker_id: workerId,
  host: z.string({ error: required('Must be a string') }).trim().min(1, 'Must not be empty').max(255, 'At most 255 characters'),
  pid: nonNegativeInt.max(2_147_483_647, 'Too large').nullable(),
  task_queues: z
    .array(queueName, { error: required('Must be a list of task queue names') })
    .min(1, 'Give at least one task queue')
    .max(50, 'At most 50 task queues')
    .refine((qs) => new Set(qs).size === qs.length, { error: 'Task queues must not repeat' }),
  queue_name: queueName,
  version: z.string({ error: 'Must be a string' }).max(64, 'At most 64 characters').nullable(),
  build_id: z.string({ error: 'Must be a string' }).max(128, 'At most 128 characters').nullable(),
  sdk: z.enum(WORKER_SDKS, { error: required(choices(WORKER_SDKS)) }),
  status: z.enum(WORKER_STATUSES, { error: choices(WORKER_STATUSES) }),
  active_tasks: nonNegativeInt.max(1_000_000, 'At most 1000000'),
  max_concurrency: z.number({ error: 'Must be an integer' }).int('Must be an integer').min(1, 'Must be 1 or more').max(1_000_000, 'At most 1000000').nullable(),
  load: z.number({ error: 'Must be a number between 0 and 1' }).min(0, 'Must be between 0 and 1').max(1, 'Must be between 0 and 1').nullable(),
  memory_mb: z.number({ error: 'Must be a number' }).min(0, 'Must be 0 or more').max(10_000_000, 'Too large').nullable(),
  cpu_percent: z.number({ error: 'Must be a number' }).min(0, 'Must be 0 or more').max(100_000, 'Too large').nullable(),
  heartbeat_interval_seconds: z.number({ error: 'Must be a number of seconds' }).positive('Must be more than 0').max(3600, 'At most 3600').nullable(),
  started_at: isoInstant.nullable(),
  metadata: z
    .record(z.string(), z.unknown(), { error: 'Must be an object' })
    .refine((m) => JSON.stringify(m).length <= MAX_METADATA_CHARS, { error: `At most ${MAX_METADATA_CHARS} characters of JSON` }),
};

type Fields = { [K in keyof typeof shape]?: z.infer<(typeof shape)[K]> | undefined };

/** Rules across fields, each reported on its own field (PATCH checks them on the merged registration). */
export function checkWorkerFields(w: Fields, ctx: z.RefinementCtx): void {
  const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  if (w.queue_name !== undefined && w.task_queues && !w.task_queues.includes(w.queue_name)) issue('queue_name', 'Must be one of task_queues');
  if (w.active_tasks !== undefined && w.max_concurrency !== undefined && w.max_concurrency !== null && w.active_tasks > w.max_concurrency) {
    issue('active_tasks', 'Must not exceed max_concurrency');
  }
  if (w.started_at && Date.parse(w.started_at) > Date.now() + 60_000) issue('started_at', 'Must not be in the future');
}

/** POST and PUT: a whole registration; absent optional fields take their defaults (queue_name: the first queue). */
export const workerBody = z
  .object({
    worker_id: shape.worker_id,
    host: shape.host,
    pid: shape.pid.optional(),
    task_queues: shape.task_queues,
    queue_name: shape.queue_name.optional(),
    version: shape.version.optional(),
    build_id: shape.build_id.optional(),
    sdk: shape.sdk,
    status: shape.status.optional(),
    active_tasks: shape.active_tasks.optional(),
    max_concurrency: shape.max_concurrency.optional(),
    load: shape.load.optional(),
    memory_mb: shape.memory_mb.optional(),
    cpu_percent: shape.cpu_percent.optional(),
    heartbeat_interval_seconds: shape.heartbeat_interval_seconds.optional(),
    started_at: shape.started_at.optional(),
    metadata: shape.metadata.optional(),
  })
  .strict()
  .superRefine(checkWorkerFields)
  .transform((b) => ({
    worker_id: b.worker_id,
    host: b.host,
    pid: b.pid ?? null,
    task_queues: b.task_queues,
    queue_name: b.queue_name ?? b.task_queues[0]!,
    version: b.version ?? null,
    build_id: b.build_id ?? null,
    sdk: b.sdk,
    status: b.status ?? 'running',
    active_tasks: b.active_tasks ?? 0,
    max_concurrency: b.max_concurrency ?? null,
    load: b.load ?? null,
    memory_mb: b.memory_mb ?? null,
    cpu_percent: b.cpu_percent ?? null,
    heartbeat_interval_seconds: b.heartbeat_interval_seconds ?? null,
    started_at: b.started_at ?? null,
    metadata: b.metadata ?? {},
  }));
export type WorkerBody = z.infer<typeof workerBody>;

/** PATCH (an external worker's heartbeat, or an edit): any subset; worker_id cannot change. */
export const workerPatch = z
  .object({
    host: shape.host,
    pid: shape.pid,
    task_queues: shape.task_queues,
    queue_name: shape.queue_name,
    version: shape.version,
    build_id: shape.build_id,
    sdk: shape.sdk,
    status: shape.status,
    active_tasks: shape.active_tasks,
    max_concurrency: shape.max_concurrency,
    load: shape.load,
    memory_mb: shape.memory_mb,
    cpu_percent: shape.cpu_percent,
    heartbeat_interval_seconds: shape.heartbeat_interval_seconds,
    metadata: shape.metadata,
  })
  .partial()
  .strict();
export type WorkerPatch = z.infer<typeof workerPatch>;

export const WORKER_ORDERING = {
  id: 'o.id',
  worker_id: 'o.worker_id',
  host: 'o.host',
  queue_name: 'o.queue_name',
  active_tasks: 'o.active_tasks',
  load: 'o.load',
  is_online: 'o.is_online',
  last_heartbeat_at: 'o.last_heartbeat_at',
  started_at: 'o.started_at',
  created_at: 'o.created_at',
} as const;

const commaList = (max: number) =>
  z
    .string()
    .transform((s) => [...new Set(s.split(',').map((v) => v.trim()).filter(Boolean))])
    .pipe(z.array(z.string().max(200, 'At most 200 characters')).min(1, 'Give at least one value').max(max, `At most ${max} values`));

export const listWorkersQuery = z
  .object({
    is_online: bool.optional(),
    queue_name: commaList(50).optional(),
    active_tasks__gte: int.pipe(z.number().min(0, 'Must be 0 or more').max(2_147_483_647, 'Too large')).optional(),
    source: z.enum(['self', 'manual'], { error: choices(['self', 'manual']) }).optional(),
    sdk: z.enum(WORKER_SDKS, { error: choices(WORKER_SDKS) }).optional(),
    status: z.enum(WORKER_STATUSES, { error: choices(WORKER_STATUSES) }).optional(),
    search: z.string().max(200, 'At most 200 characters').optional(),
    ordering: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(
        z
          .array(
            z.string().refine((f) => Object.hasOwn(WORKER_ORDERING, f.replace(/^-/, '')), {
              error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(WORKER_ORDERING).join(', ')}`,
            }),
          )
          .min(1)
          .max(4),
      )
      .optional(),
    page: int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Too large')).default(1),
    page_size: int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional(),
  })
  .strict();
export type ListWorkersQuery = z.infer<typeof listWorkersQuery>;

export const workersOverviewQuery = z.object({ stale_limit: int.pipe(z.number().min(0).max(200)).optional() }).strict();

// ---- response schemas ----

/** What `serializeWorker` returns. */
export const workerResponse = z.strictObject({
  id: z.number().int(),
  worker_id: z.string(),
  host: z.string(),
  pid: z.number().int().nullable(),
  sdk: z.string(),
  source: z.enum(['self', 'manual']),
  version: z.string().nullable(),
  build_id: z.string().nullable(),
  task_queues: z.array(z.string()),
  queue_name: z.string(),
  status: z.string(),
  is_online: z.boolean(),
  offline_reason: z.enum(['stopped', 'heartbeat_timeout', 'not_polling']).nullable(),
  active_tasks: z.number().int(),
  max_concurrency: z.number().int().nullable(),
  load: z.number().nullable(),
  memory_mb: z.number().nullable(),
  cpu_percent: z.number().nullable(),
  heartbeat_interval_seconds: z.number().nullable(),
  offline_after_seconds: z.number(),
  last_heartbeat_at: isoTimestamp,
  seconds_since_heartbeat: z.number().min(0),
  temporal: z.strictObject({
    /** null: Temporal could not be asked about this worker's task queues. */
    polling: z.boolean().nullable(),
    last_poll_at: z.string().nullable(),
  }),
  started_at: isoTimestamp,
  stopped_at: isoTimestamp.nullable(),
  metadata: jsonObject,
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
}).meta({ id: 'Worker' });
export const workerPageResponse = drfPage(workerResponse);
