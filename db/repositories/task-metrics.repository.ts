import type { EntityManager } from '@mikro-orm/postgresql';
import { durationBucket, emptyHistogram } from '../../activities/metrics/duration-histogram';
import { SqlWhere } from './sql-where';

/**
 * Task metrics (seed 000 TaskMetrics), the activity attempts they are measured from, and the hourly rollups dashboards
 * read. One function per data operation. A metrics row remembers what it added to its rollup (`rolled`), so writing it
 * again (a retry's new run, an import's PUT) or deleting it replaces or removes exactly that contribution.
 */

export interface ActivityExecutionWrite {
  taskId: string;
  runId: string;
  activityId: string;
  activityType: string;
  attempt: number;
  startedAt: string;
  wallMs: number;
  cpuMs: number;
  rssDeltaMb: number;
  error: string | null;
  /** The Temporal identity of the worker that ran the attempt. */
  workerId?: string | null;
}

/** Idempotent: the same (task, run, activity, attempt) is recorded once. */
export async function insertActivityExecution(em: EntityManager, a: ActivityExecutionWrite): Promise<void> {
  await em.execute(
    `insert into activity_executions (task_id, run_id, activity_id, activity_type, attempt, started_at, wall_ms, cpu_ms, rss_delta_mb, error, worker_id)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (task_id, run_id, activity_id, attempt) do nothing`,
    [a.taskId, a.runId, a.activityId, a.activityType, a.attempt, a.startedAt, a.wallMs, a.cpuMs, a.rssDeltaMb, a.error, a.workerId ?? null],
  );
}

export interface MeasuredTotals {
  attempts: number;
  activity_count: number;
  wall_ms: number;
  cpu_ms: number;
  peak_rss_mb: number;
  errors: number;
  by_type: Record<string, { attempts: number; wall_ms: number; cpu_ms: number; errors: number }>;
}

/** Everything the worker measured for a task, over all its runs. */
export async function measuredTotals(em: EntityManager, taskId: string): Promise<MeasuredTotals | null> {
  const rows = await em.execute<{ activity_type: string; attempts: number; activities: number; wall_ms: number; cpu_ms: number; peak: number; errors: number }[]>(
    `select activity_type, count(*)::int as attempts, count(distinct (run_id, activity_id))::int as activities,
            sum(wall_ms)::float8 as wall_ms, sum(cpu_ms)::float8 as cpu_ms, max(rss_delta_mb)::float8 as peak,
            count(*) filter (where error is not null)::int as errors
       from activity_executions where task_id = ? group by activity_type`,
    [taskId],
  );
  if (!rows.length) return null;
  const out: MeasuredTotals = { attempts: 0, activity_count: 0, wall_ms: 0, cpu_ms: 0, peak_rss_mb: 0, errors: 0, by_type: {} };
  for (const r of rows) {
    out.attempts += r.attempts;
    out.activity_count += r.activities;
    out.wall_ms += r.wall_ms;
    out.cpu_ms += r.cpu_ms;
    out.peak_rss_mb = Math.max(out.peak_rss_mb, r.peak);
    out.errors += r.errors;
    out.by_type[r.activity_type] = { attempts: r.attempts, wall_ms: round(r.wall_ms), cpu_ms: round(r.cpu_ms), errors: r.errors };
  }
  return out;
}

export const METRIC_VALUE_FIELDS = ['execution_time_ms', 'memory_usage_mb', 'cpu_usage_percent', 'cost_usd', 'error_count'] as const;
export type MetricValueField = (typeof METRIC_VALUE_FIELDS)[number];

export interface TaskMetricsWrite {
  taskId: string;
  brandId: number;
  taskType: string;
  priority: string;
  status: string | null;
  executionTimeMs: number;
  cpuTimeMs: number;
  cpuUsagePercent: number;
  memoryUsageMb: number;
  costUsd: number;
  errorCount: number;
  attempts: number;
  activityCount: number;
  source: 'worker' | 'import';
  details: Record<string, unknown> | null;
  finishedAt: string;
}

/** What a metrics row added to its rollup row. */
interface Contribution {
  bucket: string;
  brandId: number;
  taskType: string;
  priority: string;
  failed: number;
  cancelled: number;
  withErrors: number;
  errorCount: number;
  execMs: number;
  cpuPct: number;
  memMb: number;
  costUsd: number;
  durationBucket: number;
}

function contributionOf(w: TaskMetricsWrite): Contribution {
  const bucket = new Date(w.finishedAt);
  bucket.setUTCMinutes(0, 0, 0);
  return {
    bucket: bucket.toISOString(),
    brandId: w.brandId,
    taskType: w.taskType,
    priority: w.priority,
    failed: w.status === 'failed' ? 1 : 0,
    cancelled: w.status === 'cancelled' ? 1 : 0,
    withErrors: w.errorCount > 0 ? 1 : 0,
    errorCount: w.errorCount,
    execMs: w.executionTimeMs,
    cpuPct: w.cpuUsagePercent,
    memMb: w.memoryUsageMb,
    costUsd: w.costUsd,
    durationBucket: durationBucket(w.executionTimeMs),
  };
}

/**
 * A contribution as stored in `rolled`. `cancelled` is absent from one written by code older than the rollups'
 * `cancelled` column. Migration20261126011000_rollup_cancelled counted every cancelled row stored before it and added
 * `cancelled: 1` to its `rolled`, so an absent key now only comes from an old binary still running after the migration
 * (during a deploy), which never added the row to `cancelled`: removing it must take 0 from `cancelled`, not what the
 * row's status says.
 */
type StoredContribution = Omit<Contribution, 'cancelled'> & { cancelled?: number };

/**
 * Adds (sign 1) or removes (sign -1) contributions to their hours and days; maxima only grow (an upper bound after
 * removals). All rows are touched in one order (table, bucket, brand, type, priority): concurrent writers lock them in
 * the same order and cannot deadlock.
 */
async function applyContributions(em: EntityManager, items: { c: StoredContribution; sign: 1 | -1 }[]): Promise<void> {
  const ops = items.flatMap(({ c, sign }) => [
    { table: 'metric_rollups' as const, bucket: c.bucket, c, sign },
    { table: 'metric_rollups_daily' as const, bucket: `${c.bucket.slice(0, 10)}T00:00:00.000Z`, c, sign },
  ]);
  const key = (o: (typeof ops)[number]) => `${o.table}|${o.bucket}|${String(o.c.brandId).padStart(10, '0')}|${o.c.taskType}|${o.c.priority}`;
  ops.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  for (const { table, bucket, c, sign } of ops) {
    const histogram = emptyHistogram();
    histogram[c.durationBucket] = sign;
    await em.execute(
      `insert into ${table} (bucket, brand_id, task_type, priority, tasks, failed, cancelled, with_errors, error_count, exec_ms_sum,
                             exec_ms_max, cpu_pct_sum, mem_mb_sum, mem_mb_max, cost_sum, durations)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
       on conflict (bucket, brand_id, task_type, priority) do update set
         tasks = ${table}.tasks + excluded.tasks,
         failed = ${table}.failed + excluded.failed,
         cancelled = ${table}.cancelled + excluded.cancelled,
         with_errors = ${table}.with_errors + excluded.with_errors,
         error_count = ${table}.error_count + excluded.error_count,
         exec_ms_sum = ${table}.exec_ms_sum + excluded.exec_ms_sum,
         exec_ms_max = greatest(${table}.exec_ms_max, excluded.exec_ms_max),
         cpu_pct_sum = ${table}.cpu_pct_sum + excluded.cpu_pct_sum,
         mem_mb_sum = ${table}.mem_mb_sum + excluded.mem_mb_sum,
         mem_mb_max = greatest(${table}.mem_mb_max, excluded.mem_mb_max),
         cost_sum = ${table}.cost_sum + excluded.cost_sum,
         durations = jsonb_set(${table}.durations, array[?::text],
                               to_jsonb(coalesce((${table}.durations->>(?::int))::int, 0) + ?::int))`,
      [
        bucket, c.brandId, c.taskType, c.priority, sign, sign * c.failed, sign * (c.cancelled ?? 0), sign * c.withErrors,
        sign * c.errorCount, sign * c.execMs, sign > 0 ? c.execMs : 0, sign * c.cpuPct, sign * c.memMb, sign > 0 ? c.memMb : 0,
        sign * c.costUsd, JSON.stringify(histogram), String(c.durationBucket), c.durationBucket, sign,
      ],
    );
  }
}

/**
 * Writes a task's metrics row (insert or replace) and moves its rollup contribution, in one transaction with the row
 * locked: concurrent writers of the same task serialize, and the rollups always equal the sum of the rows.
 */
export async function writeTaskMetrics(em: EntityManager, w: TaskMetricsWrite): Promise<number> {
  return em.transactional(async (tx) => {
    const [old] = await tx.execute<{ id: number; rolled: StoredContribution | null }[]>(
      `select id, rolled from task_metrics where task_id = ? for update`,
      [w.taskId],
    );
    const next = contributionOf(w);
    // Rollup rows are locked in one global order (old and new contributions together), so two writers never deadlock.
    await applyContributions(tx, [...(old?.rolled ? [{ c: old.rolled, sign: -1 as const }] : []), { c: next, sign: 1 as const }]);
    const values = [
      w.brandId, w.taskType, w.priority, w.status, w.executionTimeMs, w.cpuTimeMs, w.cpuUsagePercent, w.memoryUsageMb, w.costUsd,
      w.errorCount, w.attempts, w.activityCount, w.source, w.details === null ? null : JSON.stringify(w.details), w.finishedAt,
      JSON.stringify(next),
    ];
    let id: number;
    if (old) {
      await tx.execute(
        `update task_metrics set brand_id = ?, task_type = ?, priority = ?, status = ?, execution_time_ms = ?, cpu_time_ms = ?,
                cpu_usage_percent = ?, memory_usage_mb = ?, cost_usd = ?, error_count = ?, attempts = ?, activity_count = ?,
                source = ?, details = ?::jsonb, finished_at = ?, rolled = ?::jsonb, updated_at = clock_timestamp()
          where id = ?`,
        [...values, old.id],
      );
      id = old.id;
    } else {
      const rows = await tx.execute<{ id: number }[]>(
        `insert into task_metrics (task_id, brand_id, task_type, priority, status, execution_time_ms, cpu_time_ms, cpu_usage_percent,
                                   memory_usage_mb, cost_usd, error_count, attempts, activity_count, source, details, finished_at,
                                   rolled, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?::jsonb, clock_timestamp(), clock_timestamp())
         returning id`,
        [w.taskId, ...values],
      );
      id = rows[0]!.id;
    }
    return id;
  });
}

/** The metrics row of a task being deleted leaves the rollups with it (dashboards and the lists must agree). */
export async function deleteMetricsOfTask(em: EntityManager, taskId: string): Promise<void> {
  const [row] = await em.execute<{ id: number }[]>(`select id from task_metrics where task_id = ?`, [taskId]);
  if (row) await deleteTaskMetrics(em, row.id);
}

/** Deletes a metrics row and its rollup contribution; false when it was already gone. */
export async function deleteTaskMetrics(em: EntityManager, id: number): Promise<boolean> {
  return em.transactional(async (tx) => {
    const [old] = await tx.execute<{ task_id: string; rolled: StoredContribution | null }[]>(
      `delete from task_metrics where id = ? returning task_id, rolled`,
      [id],
    );
    if (!old) return false;
    if (old.rolled) await applyContributions(tx, [{ c: old.rolled, sign: -1 }]);
    return true;
  });
}

export interface TaskMetricsRow {
  id: number;
  task_id: string;
  base_task_id: number;
  brand_id: number;
  task_type: string;
  priority: string;
  status: string | null;
  execution_time_ms: number;
  cpu_time_ms: number;
  cpu_usage_percent: number;
  memory_usage_mb: number;
  cost_usd: number;
  error_count: number;
  attempts: number;
  activity_count: number;
  source: string;
  details: Record<string, unknown> | null;
  finished_at: string | Date;
  created_at: string | Date;
  updated_at: string | Date;
}

const SELECT_METRICS = `
  select m.id, m.task_id, t.id as base_task_id, m.brand_id, m.task_type, m.priority, m.status, m.execution_time_ms, m.cpu_time_ms,
         m.cpu_usage_percent, m.memory_usage_mb, m.cost_usd, m.error_count, m.attempts, m.activity_count, m.source, m.details,
         m.finished_at, m.created_at, m.updated_at
    from task_metrics m
    join tasks t on t.task_id = m.task_id and t.deleted_at is null`;

export class MetricsFilter extends SqlWhere {
  constructor(brandId: number) {
    super();
    this.add('m.brand_id = ?', brandId);
  }
}

export async function listTaskMetrics(
  em: EntityManager,
  filter: MetricsFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: TaskMetricsRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<TaskMetricsRow[]>(`${SELECT_METRICS} where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...filter.params, limit, offset]),
    em.execute<{ count: string }[]>(
      `select count(*) as count from task_metrics m join tasks t on t.task_id = m.task_id and t.deleted_at is null where ${filter.sql}`,
      filter.params,
    ),
  ]);
  return { count: Number(countRows[0]?.count ?? 0), rows };
}

export async function findTaskMetrics(em: EntityManager, brandId: number, id: number): Promise<TaskMetricsRow | null> {
  if (id > 2_147_483_647) return null;
  const rows = await em.execute<TaskMetricsRow[]>(`${SELECT_METRICS} where m.brand_id = ? and m.id = ?`, [brandId, id]);
  return rows[0] ?? null;
}

export async function findMetricsOfTask(em: EntityManager, taskId: string): Promise<TaskMetricsRow | null> {
  const rows = await em.execute<TaskMetricsRow[]>(`${SELECT_METRICS} where m.task_id = ?`, [taskId]);
  return rows[0] ?? null;
}

export interface RollupRow {
  key: string;
  /** Every finished task measured (completed, failed or cancelled). */
  tasks: number;
  failed: number;
  /** Cancelled once running (a task cancelled before its first activity has no metrics row). */
  cancelled: number;
  with_errors: number;
  error_count: number;
  exec_ms_sum: number;
  exec_ms_max: number;
  cpu_pct_sum: number;
  mem_mb_sum: number;
  mem_mb_max: number;
  cost_sum: number;
  durations: number[][];
}

/**
 * Rollups of a brand (or of every brand: `brandId` null, for the admin API) since an instant, grouped by `groupBy` (a SQL
 * expression over the rollup columns: `bucket`, `brand_id`, `task_type`, `priority`). Whole days come from the daily table
 * and the hours of a partial first day from the hourly one, so a 30-day period adds up ~30 rows per type and priority, not
 * ~720; `hourly` forces hours (24-hour trends). Histograms come back per row and are added up by the caller.
 */
export async function sumRollups(
  em: EntityManager,
  brandId: number | null,
  since: string,
  groupBy: string,
  extra: { taskType?: string; hourly?: boolean } = {},
): Promise<RollupRow[]> {
  const scope = new SqlWhere();
  if (brandId !== null) scope.add('brand_id = ?', brandId);
  if (extra.taskType) scope.add('task_type = ?', extra.taskType);
  const columns = `bucket, brand_id, task_type, priority, tasks, failed, cancelled, with_errors, error_count, exec_ms_sum, exec_ms_max, cpu_pct_sum,
                   mem_mb_sum, mem_mb_max, cost_sum, durations`;
  // First whole day: the day after `since`'s own day (or that day, when `since` is exactly midnight UTC).
  const firstDay = `date_trunc('day', ?::timestamptz + interval '1 day' - interval '1 microsecond', 'UTC')`;
  const source = extra.hourly
    ? `select ${columns} from metric_rollups where ${scope.sql} and bucket >= date_trunc('hour', ?::timestamptz)`
    : `select ${columns} from metric_rollups_daily where ${scope.sql} and bucket >= ${firstDay}
       union all
       select ${columns} from metric_rollups
        where ${scope.sql} and bucket >= date_trunc('hour', ?::timestamptz) and bucket < ${firstDay}`;
  const params = extra.hourly ? [...scope.params, since] : [...scope.params, since, ...scope.params, since, since];
  return em.execute<RollupRow[]>(
    `select ${groupBy} as key, sum(tasks)::int as tasks, sum(failed)::int as failed, sum(cancelled)::int as cancelled,
            sum(with_errors)::int as with_errors,
            sum(error_count)::int as error_count, sum(exec_ms_sum)::float8 as exec_ms_sum, max(exec_ms_max)::float8 as exec_ms_max,
            sum(cpu_pct_sum)::float8 as cpu_pct_sum, sum(mem_mb_sum)::float8 as mem_mb_sum, max(mem_mb_max)::float8 as mem_mb_max,
            sum(cost_sum)::float8 as cost_sum, jsonb_agg(durations) as durations
       from (${source}) r
      group by 1 order by 1`,
    params,
  );
}

/** The period's most expensive tasks (index on brand and cost; bounded by the period). */
export async function topExpensive(em: EntityManager, brandId: number, since: string, limit: number): Promise<TaskMetricsRow[]> {
  return em.execute<TaskMetricsRow[]>(
    `${SELECT_METRICS} where m.brand_id = ? and m.finished_at >= ? order by m.cost_usd desc, m.id desc limit ?`,
    [brandId, since, limit],
  );
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
