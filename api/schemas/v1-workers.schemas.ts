import { z } from 'zod';
import { offlineReason, type WorkerRegistryService, type WorkerView } from '../services/worker-registry.service';
import { isoTimestamp } from './common-responses.schemas';
import { choices } from './tasks.schemas';
import { v1Window } from './v1-tasks.schemas';
import { WORKER_SDKS, WORKER_STATUSES } from './workers.schemas';

/**
 * Workers in the public API v1 (seed 003): the worker registry of /tasks/monitoring/workers/ (one service), seen as
 * `active` (online: fresh heartbeat and, for self-registered workers, polling Temporal) or `inactive`.
 */
export const V1_WORKER_STATUSES = ['active', 'inactive'] as const;

/** A heartbeat's v1 status → the reported lifecycle stored in the registry (`inactive`: the worker is out of service). */
export const STORED_WORKER_STATUS: Readonly<Record<(typeof V1_WORKER_STATUSES)[number], (typeof WORKER_STATUSES)[number]>> = {
  active: 'running',
  inactive: 'stopped',
};

const v1WorkerStatus = z.enum(V1_WORKER_STATUSES, { error: choices(V1_WORKER_STATUSES) });

export const v1ListWorkersQuery = z.object({ ...v1Window, status: v1WorkerStatus.optional() }).strict();

const count = (what: string) => z.number({ error: `Must be an integer (${what})` }).int('Must be an integer').min(0, 'Must be 0 or more').max(1_000_000, 'At most 1000000');

/** POST /api/v1/workers/heartbeat: the seed's four fields, nothing else. */
export const v1HeartbeatBody = z
  .object({
    worker_id: z
      .string({ error: 'This field is required' })
      .trim()
      .min(1, 'Must not be empty')
      .max(200, 'At most 200 characters')
      .regex(/^[A-Za-z0-9._:@+-]+$/, 'Letters, digits and . _ : @ + - only'),
    status: v1WorkerStatus,
    current_load: count('tasks in progress'),
    max_capacity: count('tasks it can run at once').min(1, 'Must be 1 or more'),
  })
  .strict()
  .refine((b) => b.current_load <= b.max_capacity, { path: ['current_load'], error: 'Must not exceed max_capacity' });

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/**
 * A worker as v1 shows it: `id` is the worker_id (the Temporal identity of a TypeScript worker, a `task.worker_id`),
 * `status` active or inactive, `state` what the worker last reported (starting, running, draining, stopped),
 * `current_load` the tasks in progress and `max_capacity` how many it runs at once (`load` = their ratio).
 */
export function serializeV1Worker(v: WorkerView) {
  const r = v.row;
  return {
    id: r.worker_id,
    status: r.is_online ? ('active' as const) : ('inactive' as const),
    state: r.status,
    offline_reason: offlineReason(r),
    current_load: r.active_tasks,
    max_capacity: r.max_concurrency,
    load: r.load,
    host: r.host,
    sdk: r.sdk,
    source: r.source,
    version: r.version,
    task_queues: r.task_queues,
    memory_mb: r.memory_mb,
    cpu_percent: r.cpu_percent,
    last_heartbeat: iso(r.last_heartbeat_at),
    last_poll_at: v.lastPollAt,
    started_at: iso(r.started_at),
    stopped_at: iso(r.stopped_at),
  };
}

export const v1WorkerResponse = z
  .strictObject({
    id: z.string().describe('The worker_id'),
    status: z.enum(V1_WORKER_STATUSES),
    state: z.string().describe('Last reported lifecycle: starting, running, draining, stopped'),
    offline_reason: z.enum(['stopped', 'heartbeat_timeout', 'not_polling']).nullable(),
    current_load: z.number().int(),
    max_capacity: z.number().int().nullable(),
    load: z.number().nullable(),
    host: z.string(),
    sdk: z.enum(WORKER_SDKS),
    source: z.enum(['self', 'manual']),
    version: z.string().nullable(),
    task_queues: z.array(z.string()),
    memory_mb: z.number().nullable(),
    cpu_percent: z.number().nullable(),
    last_heartbeat: isoTimestamp,
    last_poll_at: isoTimestamp.nullable(),
    started_at: isoTimestamp,
    stopped_at: isoTimestamp.nullable(),
  })
  .meta({ id: 'V1Worker' });

/** GET /workers/status and /api/v1/workers/status. */
export const v1WorkersStatusResponse = z
  .strictObject({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    workers_total: z.number().int(),
    workers_active: z.number().int(),
    workers_inactive: z.number().int(),
    workers_stale: z.number().int().describe('Inactive without a clean stop (killed, crashed or unreachable)'),
    current_load: z.number().int(),
    max_capacity: z.number().int(),
    load: z.number().nullable(),
    task_queues: z.array(
      z.strictObject({
        name: z.string(),
        workers: z.number().int(),
        workers_active: z.number().int(),
        current_load: z.number().int(),
        max_capacity: z.number().int(),
        live_pollers: z.number().int().nullable().describe('Identities polling it in Temporal (null: Temporal not asked or unavailable)'),
        backlog: z.number().int().nullable().describe('Approximate tasks waiting (workflow + activity), when Temporal reports it'),
      }),
    ),
    temporal_available: z.boolean(),
    generated_at: isoTimestamp,
  })
  .meta({ id: 'V1WorkersStatus' });

type WorkersOverview = Awaited<ReturnType<WorkerRegistryService['overview']>>;

/**
 * The health summary: `unhealthy` when no worker is active, `degraded` when some registration went quiet without a clean
 * stop or Temporal could not be asked, else `healthy`.
 */
export function serializeV1WorkersStatus(o: WorkersOverview): z.infer<typeof v1WorkersStatusResponse> {
  const t = o.totals;
  const status = t.online === 0 ? 'unhealthy' : t.stale > 0 || !o.temporal.available ? 'degraded' : 'healthy';
  return {
    status,
    workers_total: t.workers,
    workers_active: t.online,
    workers_inactive: t.offline,
    workers_stale: t.stale,
    current_load: t.active_tasks,
    max_capacity: t.capacity,
    load: t.load,
    task_queues: o.by_queue.map((q) => {
      const known = q.temporal && !q.temporal.error ? q.temporal : null;
      const counts = known ? [known.backlog.workflow, known.backlog.activity].filter((b) => b !== null) : [];
      return {
        name: q.queue_name,
        workers: q.workers,
        workers_active: q.online,
        current_load: q.active_tasks,
        max_capacity: q.capacity,
        live_pollers: known ? known.live_pollers : null,
        backlog: counts.length ? counts.reduce((sum, b) => sum + b.approximate_count, 0) : null,
      };
    }),
    temporal_available: o.temporal.available,
    generated_at: o.generated_at,
  };
}
