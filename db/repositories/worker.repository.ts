import type { EntityManager } from '@mikro-orm/postgresql';
import { escapeLike } from './task-query.repository';
import { SqlWhere } from './sql-where';

/**
 * The worker registry (`workers`, platform-wide, soft-deleted). Rows are written by the workers themselves (register,
 * heartbeat, stop) and by the API (manual registration of external workers). Whether a worker is online is never
 * stored: every read computes it from the heartbeat age and what Temporal reports about pollers (see `Liveness`).
 */

export interface WorkerRow {
  id: number;
  worker_id: string;
  host: string;
  pid: number | null;
  task_queues: string[];
  queue_name: string;
  version: string | null;
  build_id: string | null;
  sdk: string;
  source: 'self' | 'manual';
  status: string;
  active_tasks: number;
  max_concurrency: number | null;
  load: number | null;
  memory_mb: number | null;
  cpu_percent: number | null;
  heartbeat_interval_seconds: number | null;
  metadata: Record<string, unknown>;
  started_at: Date | string;
  last_heartbeat_at: Date | string;
  stopped_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** A row with what the read computed: heartbeat freshness, Temporal polling, and the verdict. */
export interface WorkerLiveRow extends WorkerRow {
  offline_after_seconds: number;
  heartbeat_fresh: boolean;
  /** The worker's identity is among the live pollers of one of its task queues. */
  temporal_polling: boolean;
  /** Temporal answered for at least one of the worker's task queues (otherwise polling is unknown). */
  pollers_known: boolean;
  is_online: boolean;
}

/**
 * What decides `is_online` besides the row itself: WORKER_OFFLINE_AFTER_SECONDS (null: three heartbeat intervals of
 * each worker, `defaultIntervalSeconds` when the worker did not say), the identities Temporal lists as live pollers,
 * and the task queues Temporal answered for.
 */
export interface Liveness {
  offlineAfterSeconds: number | null;
  defaultIntervalSeconds: number;
  pollingIdentities: string[];
  describedQueues: string[];
}

/** The fields a worker reports (at registration, with every heartbeat, or through the API). */
export interface WorkerReport {
  status: string;
  active_tasks: number;
  max_concurrency: number | null;
  load: number | null;
  memory_mb: number | null;
  cpu_percent: number | null;
  metadata: Record<string, unknown>;
}

export interface WorkerRegistrationInput extends WorkerReport {
  worker_id: string;
  host: string;
  pid: number | null;
  task_queues: string[];
  queue_name: string;
  version: string | null;
  build_id: string | null;
  sdk: string;
  heartbeat_interval_seconds: number | null;
  started_at: Date | string | null;
}

const COLUMNS = `w.id, w.worker_id, w.host, w.pid, w.task_queues, w.queue_name, w.version, w.build_id, w.sdk, w.source, w.status,
  w.active_tasks, w.max_concurrency, w.load, w.memory_mb, w.cpu_percent, w.heartbeat_interval_seconds, w.metadata,
  w.started_at, w.last_heartbeat_at, w.stopped_at, w.created_at, w.updated_at`;

/**
 * Every live row with the computed columns; the outer query filters and orders on them. Bound parameters, in order:
 * offline-after (or null), default interval, polling identities (json), described queues (json).
 */
function liveRows(l: Liveness): { sql: string; params: unknown[] } {
  return {
    sql: `with l as (
      select ${COLUMNS},
             coalesce(?::float8, 3 * coalesce(w.heartbeat_interval_seconds, ?::float8)) as offline_after_seconds
        from workers w
       where w.deleted_at is null
    ), c as (
      select l.*,
             l.last_heartbeat_at >= clock_timestamp() - make_interval(secs => l.offline_after_seconds) as heartbeat_fresh,
             l.worker_id in (select jsonb_array_elements_text(?::jsonb)) as temporal_polling,
             exists (select 1 from jsonb_array_elements_text(l.task_queues) q(name)
                      where q.name in (select jsonb_array_elements_text(?::jsonb))) as pollers_known
        from l
    ), o as (
      select c.*,
             (c.stopped_at is null and c.heartbeat_fresh and (c.source <> 'self' or c.temporal_polling or not c.pollers_known)) as is_online
        from c
    )`,
    params: [l.offlineAfterSeconds, l.defaultIntervalSeconds, JSON.stringify(l.pollingIdentities), JSON.stringify(l.describedQueues)],
  };
}

/** A WHERE clause over the computed rows `o`; values bound. */
export class WorkerFilter extends SqlWhere {
  search(term: string): this {
    const like = `%${escapeLike(term)}%`;
    return this.add(`(o.worker_id ilike ? or o.host ilike ? or o.queue_name ilike ? or coalesce(o.version, '') ilike ? or coalesce(o.build_id, '') ilike ?)`, like, like, like, like, like);
  }

  queueNames(names: string[]): this {
    return this.add(`o.queue_name in (select jsonb_array_elements_text(?::jsonb))`, JSON.stringify(names));
  }
}

export async function listWorkers(
  em: EntityManager,
  l: Liveness,
  filter: WorkerFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: WorkerLiveRow[] }> {
  const live = liveRows(l);
  const [rows, countRows] = await Promise.all([
    em.execute<WorkerLiveRow[]>(`${live.sql} select o.* from o where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...live.params, ...filter.params, limit, offset]),
    em.execute<{ count: string }[]>(`${live.sql} select count(*) as count from o where ${filter.sql}`, [...live.params, ...filter.params]),
  ]);
  return { count: Number(countRows[0]?.count ?? 0), rows };
}

/** A live row by its integer id or its worker_id. */
export async function findWorker(em: EntityManager, l: Liveness, idOrWorkerId: string): Promise<WorkerLiveRow | null> {
  const live = liveRows(l);
  const byId = /^\d{1,10}$/.test(idOrWorkerId) && Number(idOrWorkerId) <= 2_147_483_647;
  const rows = await em.execute<WorkerLiveRow[]>(
    `${live.sql} select o.* from o where ${byId ? 'o.id = ? or o.worker_id = ?' : 'o.worker_id = ?'} order by (o.worker_id = ?) limit 1`,
    // A numeric key is an id first (`false` sorts before `true`), a worker_id only when no row has that id.
    [...live.params, ...(byId ? [Number(idOrWorkerId), idOrWorkerId] : [idOrWorkerId]), idOrWorkerId],
  );
  return rows[0] ?? null;
}

/**
 * The registration of an id or worker_id (as `findWorker` reads it; `exact`: by worker_id only), deleted or not, locked for
 * the rest of the transaction (serialises concurrent writes to one registration).
 */
export async function lockWorker(
  em: EntityManager,
  key: string,
  exact = false,
): Promise<{ id: number; worker_id: string; source: string; deleted: boolean } | null> {
  const byId = !exact && /^\d{1,10}$/.test(key) && Number(key) <= 2_147_483_647;
  const rows = await em.execute<{ id: number; worker_id: string; source: string; deleted: boolean }[]>(
    `select id, worker_id, source, deleted_at is not null as deleted from workers
      where ${byId ? '(id = ? or worker_id = ?)' : 'worker_id = ?'}
      order by deleted_at is not null, (worker_id = ?) limit 1 for update`,
    [...(byId ? [Number(key), key] : [key]), key],
  );
  return rows[0] ?? null;
}

/** The task queues of live registrations, those of the most recently heard-from workers first, `max` at most. */
export async function workerTaskQueues(em: EntityManager, max: number): Promise<string[]> {
  const rows = await em.execute<{ name: string }[]>(
    `select q.name
       from workers w cross join lateral jsonb_array_elements_text(w.task_queues) q(name)
      where w.deleted_at is null
      group by q.name
      order by max(w.last_heartbeat_at) desc, q.name
      limit ?`,
    [max],
  );
  return rows.map((r) => r.name);
}

/** Which of `identities` (Temporal poller identities) are the worker_id of a live registration. */
export async function registeredWorkerIds(em: EntityManager, identities: string[]): Promise<Set<string>> {
  if (identities.length === 0) return new Set();
  const rows = await em.execute<{ worker_id: string }[]>(
    `select worker_id from workers where deleted_at is null and worker_id in (select jsonb_array_elements_text(?::jsonb))`,
    [JSON.stringify(identities)],
  );
  return new Set(rows.map((r) => r.worker_id));
}

const REPORT_SETS = `status = ?, active_tasks = ?, max_concurrency = ?, load = ?, memory_mb = ?, cpu_percent = ?, metadata = ?::jsonb,
  stopped_at = case when ? = 'stopped' then coalesce(stopped_at, clock_timestamp()) else null end,
  last_heartbeat_at = clock_timestamp(), updated_at = clock_timestamp()`;
const reportParams = (r: WorkerReport) => [r.status, r.active_tasks, r.max_concurrency, r.load, r.memory_mb, r.cpu_percent, JSON.stringify(r.metadata), r.status];

/**
 * Registers a worker (a new row, or the row of the same worker_id rewritten: a deleted registration comes back).
 * Returns the id and whether a live row of that worker_id existed before.
 */
export async function upsertWorker(em: EntityManager, source: 'self' | 'manual', w: WorkerRegistrationInput): Promise<{ id: number; existed: boolean }> {
  const rows = await em.execute<{ id: number; existed: boolean }[]>(
    `with prev as (select id from workers where worker_id = ? and deleted_at is null)
     insert into workers (worker_id, host, pid, task_queues, queue_name, version, build_id, sdk, source, status, active_tasks,
                          max_concurrency, load, memory_mb, cpu_percent, heartbeat_interval_seconds, metadata, started_at,
                          last_heartbeat_at, stopped_at, created_at, updated_at, deleted_at)
     values (?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, coalesce(?::timestamptz, clock_timestamp()),
             clock_timestamp(), case when ? = 'stopped' then clock_timestamp() end, clock_timestamp(), clock_timestamp(), null)
     on conflict (worker_id) do update set
       host = excluded.host, pid = excluded.pid, task_queues = excluded.task_queues, queue_name = excluded.queue_name,
       version = excluded.version, build_id = excluded.build_id, sdk = excluded.sdk, source = excluded.source,
       status = excluded.status, active_tasks = excluded.active_tasks, max_concurrency = excluded.max_concurrency,
       load = excluded.load, memory_mb = excluded.memory_mb, cpu_percent = excluded.cpu_percent,
       heartbeat_interval_seconds = excluded.heartbeat_interval_seconds, metadata = excluded.metadata,
       started_at = case when ?::timestamptz is null and workers.deleted_at is null and workers.stopped_at is null and excluded.status <> 'stopped'
                         then workers.started_at else excluded.started_at end,
       last_heartbeat_at = excluded.last_heartbeat_at,
       stopped_at = case when excluded.status = 'stopped' then coalesce(workers.stopped_at, excluded.stopped_at) end,
       updated_at = excluded.updated_at, deleted_at = null
     returning id, exists (select 1 from prev) as existed`,
    [
      w.worker_id,
      w.worker_id, w.host, w.pid, JSON.stringify(w.task_queues), w.queue_name, w.version, w.build_id, w.sdk, source, w.status,
      w.active_tasks, w.max_concurrency, w.load, w.memory_mb, w.cpu_percent, w.heartbeat_interval_seconds, JSON.stringify(w.metadata),
      w.started_at, w.status, w.started_at,
    ],
  );
  return rows[0]!;
}

/** A heartbeat of a live registration: its id, or null when there is none (deleted meanwhile: the caller registers again). */
export async function heartbeatWorker(em: EntityManager, workerId: string, r: WorkerReport): Promise<number | null> {
  const rows = await em.execute<{ id: number }[]>(
    `update workers set ${REPORT_SETS} where worker_id = ? and deleted_at is null returning id`,
    [...reportParams(r), workerId],
  );
  return rows[0]?.id ?? null;
}

/** PUT/PATCH of a manual registration: the given descriptive fields, and the report as a heartbeat. */
export async function updateWorker(
  em: EntityManager,
  id: number,
  fields: Partial<Pick<WorkerRegistrationInput, 'host' | 'pid' | 'task_queues' | 'queue_name' | 'version' | 'build_id' | 'sdk' | 'heartbeat_interval_seconds' | 'started_at'>>,
  r: WorkerReport,
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    sets.push(column === 'task_queues' ? `${column} = ?::jsonb` : column === 'started_at' ? `${column} = ?::timestamptz` : `${column} = ?`);
    params.push(column === 'task_queues' ? JSON.stringify(value) : value);
  }
  await em.execute(`update workers set ${[...sets, REPORT_SETS].join(', ')} where id = ?`, [...params, ...reportParams(r), id]);
}

/** A heartbeat that reports status and load only (public API v1): the rest of the registration is kept as it is. */
export async function heartbeatWorkerLoad(
  em: EntityManager,
  id: number,
  b: Pick<WorkerReport, 'status' | 'active_tasks' | 'max_concurrency' | 'load'>,
): Promise<void> {
  await em.execute(
    `update workers set status = ?, active_tasks = ?, max_concurrency = ?, load = ?,
            stopped_at = case when ? = 'stopped' then coalesce(stopped_at, clock_timestamp()) else null end,
            last_heartbeat_at = clock_timestamp(), updated_at = clock_timestamp()
      where id = ?`,
    [b.status, b.active_tasks, b.max_concurrency, b.load, b.status, id],
  );
}

export async function softDeleteWorker(em: EntityManager, id: number): Promise<void> {
  await em.execute(`update workers set deleted_at = clock_timestamp(), updated_at = clock_timestamp() where id = ? and deleted_at is null`, [id]);
}

export interface WorkerQueueFigures {
  queue_name: string;
  workers: number;
  online: number;
  offline: number;
  active_tasks: number;
  capacity: number;
}

export interface WorkerTotals {
  workers: number;
  online: number;
  offline: number;
  stopped: number;
  stale: number;
  active_tasks: number;
  capacity: number;
}

/**
 * Overview figures in one statement: totals, per primary queue (active tasks and capacity of online workers), per
 * version/build, and the stale registrations (offline without a clean stop: killed, crashed or lost).
 */
export async function workerOverview(
  em: EntityManager,
  l: Liveness,
  staleLimit: number,
): Promise<{ totals: WorkerTotals; queues: WorkerQueueFigures[]; builds: { version: string | null; build_id: string | null; sdk: string; online: number; workers: number }[]; stale: WorkerLiveRow[] }> {
  const live = liveRows(l);
  const rows = await em.execute<{ totals: WorkerTotals; queues: WorkerQueueFigures[] | null; builds: { version: string | null; build_id: string | null; sdk: string; online: number; workers: number }[] | null }[]>(
    `${live.sql}
     select
       (select json_build_object(
          'workers', count(*)::int,
          'online', count(*) filter (where is_online)::int,
          'offline', count(*) filter (where not is_online)::int,
          'stopped', count(*) filter (where stopped_at is not null)::int,
          'stale', count(*) filter (where not is_online and stopped_at is null)::int,
          'active_tasks', coalesce(sum(active_tasks) filter (where is_online), 0)::int,
          'capacity', coalesce(sum(max_concurrency) filter (where is_online), 0)::int) from o) as totals,
       (select json_agg(q order by q.queue_name) from (
          select queue_name, count(*)::int as workers, count(*) filter (where is_online)::int as online,
                 count(*) filter (where not is_online)::int as offline,
                 coalesce(sum(active_tasks) filter (where is_online), 0)::int as active_tasks,
                 coalesce(sum(max_concurrency) filter (where is_online), 0)::int as capacity
            from o group by queue_name) q) as queues,
       (select json_agg(b order by b.online desc, b.workers desc) from (
          select version, build_id, sdk, count(*) filter (where is_online)::int as online, count(*)::int as workers
            from o group by version, build_id, sdk) b) as builds`,
    live.params,
  );
  const stale = await em.execute<WorkerLiveRow[]>(
    `${live.sql} select o.* from o where not o.is_online and o.stopped_at is null order by o.last_heartbeat_at desc, o.id desc limit ?`,
    [...live.params, staleLimit],
  );
  const r = rows[0]!;
  return { totals: r.totals, queues: r.queues ?? [], builds: r.builds ?? [], stale };
}
