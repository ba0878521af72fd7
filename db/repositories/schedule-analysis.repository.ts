import type { EntityManager } from '@mikro-orm/postgresql';
import type { LastRunStatus } from '../../workflows/contracts/schedules';
import { SqlWhere } from './sql-where';

/**
 * Read-only SQL behind the schedule analysis routes (stats, performance analysis, optimisation): grouped queries over
 * the schedules mirror (periodic_tasks) and their firings (tasks.schedule_id, index tasks(schedule_id, scheduled_for)).
 * Never one query per schedule. Every function is brand-scoped and sees live rows only (deleted_at is null).
 */

export type ScheduleKindFilter = 'periodic' | 'cron_job' | undefined;

/** A WHERE clause on periodic_tasks p: brand, live rows, optional kind, plus whatever a caller adds. */
export class AnalysisFilter extends SqlWhere {
  constructor(brandId: number, kind: ScheduleKindFilter) {
    super();
    this.add('p.brand_id = ?', brandId).add('p.deleted_at is null');
    if (kind) this.add('p.kind = ?', kind);
  }
}

/** A firing that reached a worker after its catch-up window (whatever its status). */
const MISSED = `coalesce((t.result_data->>'missed')::boolean, false)`;

// ---- stats ----

export type CountDimension = 'total' | 'kind' | 'task_type' | 'timezone' | 'overlap_policy' | 'is_active';

/** Schedule counts overall and by kind, task type, timezone, overlap policy and active state, in one GROUPING SETS query. */
export async function scheduleCounts(em: EntityManager, filter: AnalysisFilter): Promise<{ dimension: CountDimension; key: string; count: number }[]> {
  const rows = await em.execute<{ kind: string | null; task_type: string | null; timezone: string | null; overlap_policy: string | null; is_active: boolean | null; g: number; n: number }[]>(
    `select p.kind, p.task_type, p.timezone, p.overlap_policy, p.is_active,
            grouping(p.kind, p.task_type, p.timezone, p.overlap_policy, p.is_active)::int as g, count(*)::int as n
       from periodic_tasks p
      where ${filter.sql}
      group by grouping sets ((), (p.kind), (p.task_type), (p.timezone), (p.overlap_policy), (p.is_active))`,
    filter.params,
  );
  // grouping(...) has one bit per argument, the first argument being the highest bit; 0 = grouped by that column.
  const dims: [CountDimension, number, (r: (typeof rows)[number]) => string][] = [
    ['kind', 0b01111, (r) => String(r.kind)],
    ['task_type', 0b10111, (r) => String(r.task_type)],
    ['timezone', 0b11011, (r) => String(r.timezone)],
    ['overlap_policy', 0b11101, (r) => String(r.overlap_policy)],
    ['is_active', 0b11110, (r) => String(r.is_active)],
  ];
  return rows.map((r) => {
    if (r.g === 0b11111) return { dimension: 'total' as const, key: 'total', count: r.n };
    const dim = dims.find(([, bits]) => bits === r.g)!;
    return { dimension: dim[0], key: dim[2](r), count: r.n };
  });
}

export interface RunWindowCounts {
  window: string;
  total: number;
  success: number;
  failed: number;
  missed: number;
  cancelled: number;
  running: number;
}

/**
 * Firings of the filtered schedules by nominal time (scheduled_for) in each window [since, now]: one query, the windows
 * as a VALUES list joined to the firings of the widest one.
 */
export async function runWindowCounts(em: EntityManager, filter: AnalysisFilter, windows: { name: string; since: Date }[]): Promise<RunWindowCounts[]> {
  const earliest = new Date(Math.min(...windows.map((w) => w.since.getTime())));
  return em.execute<RunWindowCounts[]>(
    `with runs as (
       select t.scheduled_for, t.status, ${MISSED} as missed
         from periodic_tasks p
         join tasks t on t.schedule_id = p.schedule_id
        where ${filter.sql} and t.deleted_at is null and t.scheduled_for >= ?
     )
     select w.name as window,
            count(r.status)::int as total,
            count(r.status) filter (where r.status = 'completed' and not r.missed)::int as success,
            count(r.status) filter (where r.status = 'failed' and not r.missed)::int as failed,
            count(r.status) filter (where r.missed)::int as missed,
            count(r.status) filter (where r.status = 'cancelled' and not r.missed)::int as cancelled,
            count(r.status) filter (where r.status in ('pending', 'running', 'paused') and not r.missed)::int as running
       from (values ${windows.map(() => '(?, ?::timestamptz)').join(', ')}) as w(name, since)
       left join runs r on r.scheduled_for >= w.since
      group by w.name`,
    [...filter.params, earliest.toISOString(), ...windows.flatMap((w) => [w.name, w.since.toISOString()])],
  );
}

/**
 * Schedules `ready-for-execution/` would list, counted by reason. The same rule as PeriodicTaskService.readyForExecution:
 * the latest firing was missed, or the next run time passed (beyond the grace) without any firing starting.
 */
export async function overdueCounts(
  em: EntityManager,
  filter: AnalysisFilter,
  graceSeconds: number,
): Promise<{ missed_run: number; overdue_while_paused: number; not_started: number }> {
  const rows = await em.execute<{ missed_run: number; overdue_while_paused: number; not_started: number }[]>(
    `select count(*) filter (where p.last_run_status = 'missed')::int as missed_run,
            count(*) filter (where p.last_run_status is distinct from 'missed' and not p.is_active)::int as overdue_while_paused,
            count(*) filter (where p.last_run_status is distinct from 'missed' and p.is_active)::int as not_started
       from periodic_tasks p
      where ${filter.sql}
        and (p.end_at is null or p.end_at > coalesce(p.next_run_at, p.last_run_at))
        and (p.last_run_status = 'missed'
             or (p.next_run_at < clock_timestamp() - make_interval(secs => ?)
                 and (p.last_run_at is null or p.last_run_at < p.next_run_at)
                 and p.last_run_status is distinct from 'running'))`,
    [...filter.params, graceSeconds],
  );
  return rows[0] ?? { missed_run: 0, overdue_while_paused: 0, not_started: 0 };
}

export interface MissedScheduleRow {
  id: number;
  kind: 'periodic' | 'cron_job';
  name: string;
  last_run_at: Date | string | null;
  last_task_id: string | null;
  is_active: boolean;
}

/** Schedules whose latest firing was missed (newest first, at most `limit`), with their total count. */
export async function missedLastRun(em: EntityManager, filter: AnalysisFilter, limit: number): Promise<{ count: number; rows: MissedScheduleRow[] }> {
  const rows = await em.execute<(MissedScheduleRow & { total: number })[]>(
    `select p.id, p.kind, p.name, p.last_run_at, p.last_task_id, p.is_active, count(*) over ()::int as total
       from periodic_tasks p
      where ${filter.sql} and p.last_run_status = 'missed'
      order by p.last_run_at desc nulls last, p.id asc
      limit ?`,
    [...filter.params, limit],
  );
  return { count: rows[0]?.total ?? 0, rows: rows.map(({ total: _total, ...r }) => r) };
}

/** What cron expansion needs of a schedule (stats' upcoming runs, the optimiser). */
export interface ExpansionRow {
  id: number;
  schedule_id: string;
  kind: 'periodic' | 'cron_job';
  name: string;
  cron_expression: string;
  timezone: string;
  start_at: Date | string | null;
  end_at: Date | string | null;
  jitter_seconds: number;
  is_active: boolean;
  next_run_at: Date | string | null;
}

export async function expansionRows(em: EntityManager, filter: AnalysisFilter): Promise<ExpansionRow[]> {
  return em.execute<ExpansionRow[]>(
    `select p.id, p.schedule_id, p.kind, p.name, p.cron_expression, p.timezone, p.start_at, p.end_at, p.jitter_seconds,
            p.is_active, p.next_run_at
       from periodic_tasks p
      where ${filter.sql}
      order by p.id asc`,
    filter.params,
  );
}

// ---- performance analysis ----

export interface PerformanceRow {
  id: number;
  schedule_id: string;
  kind: 'periodic' | 'cron_job';
  name: string;
  task_type: string;
  cron_expression: string;
  timezone: string;
  overlap_policy: string;
  catchup_window_seconds: number;
  jitter_seconds: number;
  is_active: boolean;
  last_run_at: Date | string | null;
  last_run_status: LastRunStatus | null;
  created_at: Date | string;
  runs: number;
  success_count: number;
  failure_count: number;
  missed_count: number;
  cancelled_count: number;
  running_count: number;
  failure_rate: number | null;
  avg_duration_ms: number | null;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  max_duration_ms: number | null;
  drift_avg_ms: number | null;
  drift_p95_ms: number | null;
  drift_max_ms: number | null;
}

/** SQL for each `ordering` key (output columns of schedulePerformance's select). */
export const PERFORMANCE_ORDER_COLUMNS = {
  failure_rate: 'failure_rate',
  avg_duration_ms: 'avg_duration_ms',
  p95_duration_ms: 'p95_duration_ms',
  drift_p95_ms: 'drift_p95_ms',
  runs: 'runs',
  name: 'name',
} as const;

/**
 * One page of schedules with their firings' figures since `since` (nominal time): counts, failure rate, durations
 * (completed_at − started_at) and start drift (started_at − scheduled_for) with percentile_cont. Missed firings are
 * counted but left out of durations and drift (they never ran the work). Ordered by any output column.
 */
export async function schedulePerformance(
  em: EntityManager,
  filter: AnalysisFilter,
  since: Date,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: PerformanceRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<PerformanceRow[]>(
      `with s as (
         select p.id, p.schedule_id, p.kind, p.name, p.task_type, p.cron_expression, p.timezone, p.overlap_policy,
                p.catchup_window_seconds, p.jitter_seconds, p.is_active, p.last_run_at, p.last_run_status, p.created_at
           from periodic_tasks p
          where ${filter.sql}
       ),
       f as (
         select t.schedule_id, t.status, ${MISSED} as missed,
                case when not ${MISSED} then extract(epoch from (t.completed_at - t.started_at))::float8 * 1000 end as duration_ms,
                case when not ${MISSED} then extract(epoch from (t.started_at - t.scheduled_for))::float8 * 1000 end as drift_ms
           from s join tasks t on t.schedule_id = s.schedule_id
          where t.deleted_at is null and t.scheduled_for >= ?
       ),
       r as (
         select f.schedule_id,
                count(*)::int as runs,
                count(*) filter (where f.status = 'completed' and not f.missed)::int as success_count,
                count(*) filter (where f.status = 'failed' and not f.missed)::int as failure_count,
                count(*) filter (where f.missed)::int as missed_count,
                count(*) filter (where f.status = 'cancelled' and not f.missed)::int as cancelled_count,
                count(*) filter (where f.status in ('pending', 'running', 'paused') and not f.missed)::int as running_count,
                avg(f.duration_ms) as avg_duration_ms,
                percentile_cont(0.5) within group (order by f.duration_ms) as p50_duration_ms,
                percentile_cont(0.95) within group (order by f.duration_ms) as p95_duration_ms,
                max(f.duration_ms) as max_duration_ms,
                avg(f.drift_ms) as drift_avg_ms,
                percentile_cont(0.95) within group (order by f.drift_ms) as drift_p95_ms,
                max(f.drift_ms) as drift_max_ms
           from f
          group by f.schedule_id
       )
       select s.id, s.schedule_id, s.kind, s.name, s.task_type, s.cron_expression, s.timezone, s.overlap_policy,
              s.catchup_window_seconds, s.jitter_seconds, s.is_active, s.last_run_at, s.last_run_status, s.created_at,
              coalesce(r.runs, 0) as runs, coalesce(r.success_count, 0) as success_count,
              coalesce(r.failure_count, 0) as failure_count, coalesce(r.missed_count, 0) as missed_count,
              coalesce(r.cancelled_count, 0) as cancelled_count, coalesce(r.running_count, 0) as running_count,
              case when coalesce(r.runs, 0) > coalesce(r.running_count, 0)
                   then round(100.0 * (r.failure_count + r.missed_count) / (r.runs - r.running_count), 1)::float8 end as failure_rate,
              r.avg_duration_ms, r.p50_duration_ms, r.p95_duration_ms, r.max_duration_ms,
              r.drift_avg_ms, r.drift_p95_ms, r.drift_max_ms
         from s left join r on r.schedule_id = s.schedule_id
        order by ${orderBy}
        limit ? offset ?`,
      [...filter.params, since.toISOString(), limit, offset],
    ),
    em.execute<{ count: number }[]>(`select count(*)::int as count from periodic_tasks p where ${filter.sql}`, filter.params),
  ]);
  return { count: countRows[0]?.count ?? 0, rows };
}
