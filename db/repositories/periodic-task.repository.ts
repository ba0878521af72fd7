import type { EntityManager } from '@mikro-orm/postgresql';
import type { LastRunStatus } from '../../workflows/contracts/schedules';
import { AUDIT_INSERT_COLUMNS, auditParams, type AuditEntry } from './audit.repository';
import { SqlWhere } from './sql-where';

/**
 * The mirror of Temporal Schedules (periodic tasks and cron jobs), one function per data operation. Temporal holds the
 * truth; these rows serve filters, pagination and stats, and are rebuilt or removed by the reconciler when they drift.
 */

export interface PeriodicTaskRow {
  id: number;
  schedule_id: string;
  kind: 'periodic' | 'cron_job';
  brand_id: number;
  brand_name: string;
  created_by_id: number;
  created_by_username: string;
  name: string;
  base_task_id: number | null;
  base_task_task_id: string | null;
  task_type: string;
  priority: string;
  description: string;
  context_data: Record<string, unknown>;
  max_retries: number;
  timeout_minutes: number | null;
  cron_expression: string;
  frequency: string | null;
  job_type: string | null;
  timezone: string;
  start_at: Date | string | null;
  end_at: Date | string | null;
  overlap_policy: string;
  catchup_window_seconds: number;
  jitter_seconds: number;
  is_active: boolean;
  paused_note: string | null;
  next_run_at: Date | string | null;
  last_run_at: Date | string | null;
  last_run_status: LastRunStatus | null;
  last_task_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  calendar_ids: number[];
}

/** Run counts of a schedule's firings (from the tasks mirror). */
export interface PeriodicRunCounts {
  total_runs: number;
  success_count: number;
  failure_count: number;
  missed_count: number;
  running_count: number;
}

const SELECT_PERIODIC = `
  select p.id, p.schedule_id, p.kind, p.brand_id, b.name as brand_name, p.created_by_id, u.username as created_by_username,
         p.name, p.base_task_id, bt.task_id as base_task_task_id, p.task_type, p.priority, p.description, p.context_data,
         p.max_retries, p.timeout_minutes, p.cron_expression, p.frequency, p.job_type, p.timezone, p.start_at, p.end_at,
         p.overlap_policy, p.catchup_window_seconds, p.jitter_seconds, p.is_active, p.paused_note, p.next_run_at,
         p.last_run_at, p.last_run_status, p.last_task_id, p.created_at, p.updated_at,
         coalesce((select array_agg(c.calendar_id order by c.calendar_id) from periodic_task_calendars c
                    where c.periodic_task_id = p.id), '{}') as calendar_ids
    from periodic_tasks p
    join brands b on b.id = p.brand_id
    join users u on u.id = p.created_by_id
    left join tasks bt on bt.id = p.base_task_id`;

/** A WHERE clause under construction (brand-scoped, live rows of one kind). */
export class PeriodicFilter extends SqlWhere {
  constructor(brandId: number, kind: PeriodicTaskRow['kind']) {
    super();
    this.add('p.brand_id = ?', brandId).add('p.deleted_at is null').add('p.kind = ?', kind);
  }
}

const placeholders = (values: readonly unknown[]) => values.map(() => '?').join(', ');

export async function listPeriodicTasks(
  em: EntityManager,
  filter: PeriodicFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: PeriodicTaskRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<PeriodicTaskRow[]>(`${SELECT_PERIODIC} where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...filter.params, limit, offset]),
    em.execute<{ count: string }[]>(`select count(*) as count from periodic_tasks p where ${filter.sql}`, filter.params),
  ]);
  return { count: Number(countRows[0]?.count ?? 0), rows };
}

/** By integer `id` or by `schedule_id`, in the brand; null when missing, deleted or of another kind. */
export async function findPeriodicTask(
  em: EntityManager,
  brandId: number,
  idOrScheduleId: string,
  kind: PeriodicTaskRow['kind'],
): Promise<PeriodicTaskRow | null> {
  const byId = /^\d+$/.test(idOrScheduleId);
  if (byId && Number(idOrScheduleId) > 2_147_483_647) return null;
  const rows = await em.execute<PeriodicTaskRow[]>(
    `${SELECT_PERIODIC} where p.brand_id = ? and p.deleted_at is null and p.kind = ? and ${byId ? 'p.id = ?' : 'p.schedule_id = ?'}`,
    [brandId, kind, byId ? Number(idOrScheduleId) : idOrScheduleId],
  );
  return rows[0] ?? null;
}

export async function findPeriodicByScheduleId(em: EntityManager, scheduleId: string): Promise<PeriodicTaskRow | null> {
  const rows = await em.execute<PeriodicTaskRow[]>(`${SELECT_PERIODIC} where p.schedule_id = ? and p.deleted_at is null`, [scheduleId]);
  return rows[0] ?? null;
}

/** Run counts per schedule, for a page of rows (one grouped query on the tasks(schedule_id, …) index). */
export async function runCounts(em: EntityManager, scheduleIds: string[]): Promise<Map<string, PeriodicRunCounts>> {
  const out = new Map<string, PeriodicRunCounts>();
  if (!scheduleIds.length) return out;
  const rows = await em.execute<(PeriodicRunCounts & { schedule_id: string })[]>(
    `select schedule_id,
            count(*)::int as total_runs,
            count(*) filter (where status = 'completed')::int as success_count,
            count(*) filter (where status = 'failed' and coalesce((result_data->>'missed')::boolean, false) = false)::int as failure_count,
            count(*) filter (where coalesce((result_data->>'missed')::boolean, false))::int as missed_count,
            count(*) filter (where status in ('pending', 'running'))::int as running_count
       from tasks where schedule_id in (${placeholders(scheduleIds)}) and deleted_at is null
      group by schedule_id`,
    scheduleIds,
  );
  for (const r of rows) out.set(r.schedule_id, r);
  return out;
}

export interface PeriodicTaskWrite {
  scheduleId: string;
  kind: PeriodicTaskRow['kind'];
  brandId: number;
  createdById: number;
  name: string;
  baseTaskId: number | null;
  taskType: string;
  priority: string;
  description: string;
  contextData: Record<string, unknown>;
  maxRetries: number;
  timeoutMinutes: number | null;
  cronExpression: string;
  frequency: string | null;
  jobType: string | null;
  timezone: string;
  startAt: string | null;
  endAt: string | null;
  overlapPolicy: string;
  catchupWindowSeconds: number;
  jitterSeconds: number;
  isActive: boolean;
  pausedNote: string | null;
  nextRunAt: string | null;
  calendarIds: number[];
}

/**
 * Inserts the row, its calendar links and its audit row unless the schedule id already has a row; returns the id, or
 * null. One statement when there are no calendars (creating schedules is the hot path of bulk provisioning): the
 * audit row is written by the same statement, so it exists exactly when the row was inserted.
 */
export async function insertPeriodicTask(em: EntityManager, w: PeriodicTaskWrite, audit?: AuditEntry): Promise<number | null> {
  const insert = async (tx: EntityManager) => {
    const auditCte = audit
      ? `, aud as (insert into audit_log (${AUDIT_INSERT_COLUMNS})
                  select clock_timestamp(), ?, ?, ?, ?, ?, ?, ?, ?::jsonb || jsonb_build_object('id', ins.id), ?::jsonb, ?::jsonb, ?, ? from ins)`
      : '';
    const rows = await tx.execute<{ id: number }[]>(
      `with ins as (
         insert into periodic_tasks (schedule_id, kind, brand_id, created_by_id, name, base_task_id, task_type, priority, description,
                                     context_data, max_retries, timeout_minutes, cron_expression, frequency, job_type, timezone,
                                     start_at, end_at, overlap_policy, catchup_window_seconds, jitter_seconds, is_active,
                                     paused_note, next_run_at, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, clock_timestamp(), clock_timestamp())
         on conflict (schedule_id) do nothing
         returning id)${auditCte}
       select id from ins`,
      [
        w.scheduleId, w.kind, w.brandId, w.createdById, w.name, w.baseTaskId, w.taskType, w.priority, w.description,
        JSON.stringify(w.contextData), w.maxRetries, w.timeoutMinutes, w.cronExpression, w.frequency, w.jobType, w.timezone,
        w.startAt, w.endAt, w.overlapPolicy, w.catchupWindowSeconds, w.jitterSeconds, w.isActive, w.pausedNote, w.nextRunAt,
        ...(audit ? auditParams(audit) : []),
      ],
    );
    const id = rows[0]?.id ?? null;
    if (id !== null && w.calendarIds.length) await insertCalendarLinks(tx, id, w.calendarIds);
    return id;
  };
  return w.calendarIds.length ? em.transactional(insert) : insert(em);
}

export async function updatePeriodicTask(em: EntityManager, id: number, w: Omit<PeriodicTaskWrite, 'scheduleId' | 'kind' | 'brandId' | 'createdById'>): Promise<void> {
  await em.transactional(async (tx) => {
    await tx.execute(
      `update periodic_tasks set name = ?, base_task_id = ?, task_type = ?, priority = ?, description = ?, context_data = ?::jsonb,
              max_retries = ?, timeout_minutes = ?, cron_expression = ?, frequency = ?, job_type = ?, timezone = ?, start_at = ?,
              end_at = ?, overlap_policy = ?, catchup_window_seconds = ?, jitter_seconds = ?, is_active = ?, paused_note = ?,
              next_run_at = ?, updated_at = clock_timestamp()
        where id = ?`,
      [
        w.name, w.baseTaskId, w.taskType, w.priority, w.description, JSON.stringify(w.contextData), w.maxRetries, w.timeoutMinutes,
        w.cronExpression, w.frequency, w.jobType, w.timezone, w.startAt, w.endAt, w.overlapPolicy, w.catchupWindowSeconds,
        w.jitterSeconds, w.isActive, w.pausedNote, w.nextRunAt, id,
      ],
    );
    await setCalendars(tx, id, w.calendarIds);
  });
}

async function setCalendars(em: EntityManager, id: number, calendarIds: number[]): Promise<void> {
  await em.execute(
    `delete from periodic_task_calendars where periodic_task_id = ?${calendarIds.length ? ` and calendar_id not in (${placeholders(calendarIds)})` : ''}`,
    [id, ...calendarIds],
  );
  if (calendarIds.length) await insertCalendarLinks(em, id, calendarIds);
}

async function insertCalendarLinks(em: EntityManager, id: number, calendarIds: number[]): Promise<void> {
  await em.execute(
    `insert into periodic_task_calendars (periodic_task_id, calendar_id) values ${calendarIds.map(() => '(?, ?)').join(', ')} on conflict do nothing`,
    calendarIds.flatMap((c) => [id, c]),
  );
}

export async function setPausedState(em: EntityManager, id: number, isActive: boolean, note: string | null, nextRunAt: string | null): Promise<void> {
  await em.execute(
    `update periodic_tasks set is_active = ?, paused_note = ?, next_run_at = coalesce(?, next_run_at), updated_at = clock_timestamp() where id = ?`,
    [isActive, note, nextRunAt, id],
  );
}

export async function setNextRunAt(em: EntityManager, scheduleId: string, nextRunAt: string | null): Promise<void> {
  await em.execute(`update periodic_tasks set next_run_at = ? where schedule_id = ? and deleted_at is null`, [nextRunAt, scheduleId]);
}

/**
 * Records a firing's state as the schedule's last run, only if it is the newest firing (by nominal time): a late write
 * of an older firing never replaces a newer one.
 */
export async function recordFiring(
  em: EntityManager,
  f: { scheduleId: string; scheduledFor: string; taskId: string; status: LastRunStatus; onlyIfNewer?: boolean },
): Promise<void> {
  // onlyIfNewer: the API's optimistic "running" must not replace the outcome the firing may already have written.
  await em.execute(
    `update periodic_tasks set last_run_at = ?, last_run_status = ?, last_task_id = ?
      where schedule_id = ? and deleted_at is null and (last_run_at is null or last_run_at ${f.onlyIfNewer ? '<' : '<='} ?)`,
    [f.scheduledFor, f.status, f.taskId, f.scheduleId, f.scheduledFor],
  );
}

/** The periodic tasks built from a task (`GET /tasks/{id}/` shows them): one query, no count. */
export async function findPeriodicByBaseTask(em: EntityManager, brandId: number, baseTaskId: number): Promise<PeriodicTaskRow[]> {
  return em.execute<PeriodicTaskRow[]>(
    `${SELECT_PERIODIC} where p.brand_id = ? and p.deleted_at is null and p.kind = 'periodic' and p.base_task_id = ? order by p.id desc limit 5`,
    [brandId, baseTaskId],
  );
}

/** Live rows by id in the brand (any kind), in one query. */
export async function findPeriodicTasksByIds(em: EntityManager, brandId: number, ids: number[]): Promise<Map<number, PeriodicTaskRow>> {
  if (!ids.length) return new Map();
  const rows = await em.execute<PeriodicTaskRow[]>(
    `${SELECT_PERIODIC} where p.brand_id = ? and p.deleted_at is null and p.id in (${placeholders(ids)})`,
    [brandId, ...ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Whether a schedule id ever had a row (deleted ones included): an idempotency key is not reused for a new schedule. */
export async function scheduleIdWasUsed(em: EntityManager, scheduleId: string): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(`select id from periodic_tasks where schedule_id = ?`, [scheduleId]);
  return rows.length > 0;
}

/** Soft delete; returns false when the row was already gone. */
export async function softDeletePeriodicTask(em: EntityManager, id: number): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(
    `update periodic_tasks set deleted_at = clock_timestamp(), is_active = false, next_run_at = null where id = ? and deleted_at is null returning id`,
    [id],
  );
  return rows.length > 0;
}

export async function undeleteUnconfirmed(em: EntityManager, scheduleId: string): Promise<void> {
  await em.execute(`delete from periodic_tasks where schedule_id = ?`, [scheduleId]);
}

/** Schedules (live rows) that use a calendar, for a calendar change. */
export async function liveScheduleIds(em: EntityManager): Promise<{ id: number; schedule_id: string; created_at: string }[]> {
  return em.execute(`select id, schedule_id, created_at from periodic_tasks where deleted_at is null`);
}

/** Records a run asked for through the API, just before the Schedule is triggered (and forgets those older than a day). */
export async function recordManualTrigger(em: EntityManager, scheduleId: string): Promise<void> {
  await em.execute(
    `with gone as (delete from schedule_manual_triggers where requested_at < clock_timestamp() - interval '1 day')
     insert into schedule_manual_triggers (schedule_id, requested_at) values (?, clock_timestamp())`,
    [scheduleId],
  );
}

/**
 * Whether a firing with this nominal time is one the API triggered: Temporal stamps a triggered firing with the
 * trigger's instant truncated to the second, a moment after the API recorded the request.
 */
export async function wasTriggeredManually(em: EntityManager, scheduleId: string, nominal: string): Promise<boolean> {
  const rows = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from schedule_manual_triggers
      where schedule_id = ? and requested_at between ?::timestamptz - interval '10 seconds' and ?::timestamptz + interval '1 second'`,
    [scheduleId, nominal, nominal],
  );
  return (rows[0]?.n ?? 0) > 0;
}
