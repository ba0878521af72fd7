import type { EntityManager } from '@mikro-orm/postgresql';
import { SqlWhere } from './sql-where';
import type { RollupRow } from './task-metrics.repository';

/**
 * Jobs waiting or running right now, across brands: a count over the partial index of active tasks
 * (tasks_active_updated_idx), small whatever the size of the history. Also the brands' names for the stats.
 */
export async function liveStatusCounts(
  em: EntityManager,
  scope: { brandId?: number; taskType?: string },
): Promise<{ counts: { pending: number; running: number; paused: number }; brands: { id: number; name: string }[] }> {
  const where = new SqlWhere().add(`t.status in ('pending', 'running', 'paused')`).add('t.deleted_at is null');
  if (scope.brandId !== undefined) where.add('t.brand_id = ?', scope.brandId);
  if (scope.taskType) where.add('t.task_type = ?', scope.taskType);
  const [rows, brands] = await Promise.all([
    em.execute<{ status: string; n: string }[]>(`select t.status, count(*) as n from tasks t where ${where.sql} group by t.status`, where.params),
    em.fork().execute<{ id: number; name: string }[]>(`select id, name from brands`),
  ]);
  const counts = { pending: 0, running: 0, paused: 0 };
  for (const r of rows) counts[r.status as keyof typeof counts] = Number(r.n);
  return { counts, brands };
}

/** The latest audit rows about one target (a job's detail page). */
export async function recentAuditOf(em: EntityManager, targetId: string, limit: number): Promise<Record<string, unknown>[]> {
  return em.execute<Record<string, unknown>[]>(
    `select a.*, u.username as actor_username from audit_log a left join users u on u.id = a.actor_id
      where a.target_id = ? order by a.id desc limit ?`,
    [targetId, limit],
  );
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const ROLLUP_SUMS = `sum(tasks)::int as tasks, sum(failed)::int as failed, sum(cancelled)::int as cancelled, sum(with_errors)::int as with_errors,
  sum(error_count)::int as error_count, sum(exec_ms_sum)::float8 as exec_ms_sum, max(exec_ms_max)::float8 as exec_ms_max,
  sum(cpu_pct_sum)::float8 as cpu_pct_sum, sum(mem_mb_sum)::float8 as mem_mb_sum, max(mem_mb_max)::float8 as mem_mb_max,
  sum(cost_sum)::float8 as cost_sum, jsonb_agg(durations) as durations`;

/** The UTC hour `t` falls in. */
export function hourOf(t: Date | string | number): Date {
  return new Date(Math.floor(new Date(t).getTime() / HOUR_MS) * HOUR_MS);
}

/**
 * Rollups of every brand (or one brand, or one type) per `task_type|brand_id` over the hours [from, until) — `until`
 * null: up to now. The whole UTC days inside the range come from the daily table, the hours around them from the
 * hourly one. Histograms come back per rollup row and are added up by the caller.
 */
export async function sumRollupsByTypeAndBrand(
  em: EntityManager,
  scope: { brandId?: number; taskType?: string },
  from: Date,
  until: Date | null,
): Promise<RollupRow[]> {
  const start = hourOf(from).getTime();
  const end = until === null ? null : hourOf(until).getTime();
  const firstDay = Math.ceil(start / DAY_MS) * DAY_MS;
  const lastDay = end === null ? null : Math.floor(end / DAY_MS) * DAY_MS;
  const ranges: { table: 'metric_rollups' | 'metric_rollups_daily'; from: number; until: number | null }[] =
    end !== null && lastDay !== null && firstDay < lastDay
      ? [
          { table: 'metric_rollups', from: start, until: firstDay },
          { table: 'metric_rollups_daily', from: firstDay, until: lastDay },
          { table: 'metric_rollups', from: lastDay, until: end },
        ]
      : [{ table: 'metric_rollups', from: start, until: end }];
  const selects: string[] = [];
  const params: unknown[] = [];
  for (const r of ranges) {
    if (r.until !== null && r.until <= r.from) continue;
    const where = new SqlWhere().add('bucket >= ?', new Date(r.from).toISOString());
    if (r.until !== null) where.add('bucket < ?', new Date(r.until).toISOString());
    if (scope.brandId !== undefined) where.add('brand_id = ?', scope.brandId);
    if (scope.taskType) where.add('task_type = ?', scope.taskType);
    selects.push(`select brand_id, task_type, tasks, failed, cancelled, with_errors, error_count, exec_ms_sum, exec_ms_max, cpu_pct_sum,
                         mem_mb_sum, mem_mb_max, cost_sum, durations from ${r.table} where ${where.sql}`);
    params.push(...where.params);
  }
  if (!selects.length) return [];
  return em.execute<RollupRow[]>(
    `select task_type || '|' || brand_id as key, ${ROLLUP_SUMS} from (${selects.join(' union all ')}) r group by 1 order by 1`,
    params,
  );
}
