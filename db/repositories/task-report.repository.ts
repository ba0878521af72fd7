import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Aggregates of the task mirror for `report_generation`: always one brand, rows created in [from, to),
 * soft-deleted rows excluded, every number computed by PostgreSQL.
 */

const PERIOD = `brand_id = ? and deleted_at is null and created_at >= ? and created_at < ?`;
/** Run time of a completed task, in seconds. */
const DURATION = `extract(epoch from completed_at - started_at)::float8`;
const HAS_DURATION = `status = 'completed' and started_at is not null and completed_at is not null`;
const COUNTS = `count(*)::int as total,
    count(*) filter (where status = 'completed')::int as completed,
    count(*) filter (where status = 'failed')::int as failed,
    count(*) filter (where status = 'cancelled')::int as cancelled,
    count(*) filter (where status = 'pending')::int as pending,
    count(*) filter (where status = 'running')::int as running,
    count(*) filter (where status = 'paused')::int as paused,
    round(100.0 * count(*) filter (where status = 'completed')
          / nullif(count(*) filter (where status in ('completed', 'failed', 'cancelled')), 0), 1)::float8 as success_rate`;

export interface ReportScope {
  brandId: number;
  from: string;
  to: string;
}

export interface StatusCounts {
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  pending: number;
  running: number;
  paused: number;
  success_rate: number | null;
}

export interface TypeCounts extends StatusCounts {
  task_type: string;
  avg_seconds: number | null;
}

export interface PriorityCounts extends StatusCounts {
  priority: string;
}

export interface DurationStats {
  /** null for the row over all types. */
  task_type: string | null;
  count: number;
  avg_seconds: number | null;
  p50_seconds: number | null;
  p95_seconds: number | null;
  min_seconds: number | null;
  max_seconds: number | null;
}

export interface FailureRow {
  id: number;
  task_id: string;
  task_type: string;
  priority: string;
  description: string;
  error_message: string | null;
  retry_count: number;
  created_at: Date | string;
  completed_at: Date | string | null;
}

export interface RecentResultRow {
  id: number;
  task_id: string;
  task_type: string;
  description: string;
  completed_at: Date | string | null;
  duration_seconds: number | null;
  /** The first characters of result_data as JSON. */
  result_preview: string | null;
}

const params = (s: ReportScope) => [s.brandId, s.from, s.to];

export async function brandName(em: EntityManager, brandId: number): Promise<string | null> {
  const [row] = await em.execute<{ name: string }[]>(`select name from brands where id = ?`, [brandId]);
  return row?.name ?? null;
}

export async function reportTotals(em: EntityManager, scope: ReportScope): Promise<StatusCounts> {
  const [row] = await em.execute<StatusCounts[]>(`select ${COUNTS} from tasks where ${PERIOD}`, params(scope));
  return row!;
}

export async function reportByStatus(em: EntityManager, scope: ReportScope): Promise<{ status: string; total: number }[]> {
  return em.execute(
    `select status, count(*)::int as total from tasks where ${PERIOD} group by status order by total desc, status`,
    params(scope),
  );
}

export async function reportByType(em: EntityManager, scope: ReportScope): Promise<TypeCounts[]> {
  return em.execute(
    `select task_type, ${COUNTS}, avg(${DURATION}) filter (where ${HAS_DURATION}) as avg_seconds
       from tasks where ${PERIOD} group by task_type order by total desc, task_type`,
    params(scope),
  );
}

export async function reportByPriority(em: EntityManager, scope: ReportScope): Promise<PriorityCounts[]> {
  return em.execute(
    `select priority, ${COUNTS} from tasks where ${PERIOD} group by priority, priority_level order by priority_level desc`,
    params(scope),
  );
}

/** Duration statistics of completed tasks, over all types (task_type null, first) and per type. */
export async function reportDurations(em: EntityManager, scope: ReportScope): Promise<DurationStats[]> {
  return em.execute(
    `select task_type, count(*)::int as count, avg(d) as avg_seconds,
            percentile_cont(0.5) within group (order by d) as p50_seconds,
            percentile_cont(0.95) within group (order by d) as p95_seconds,
            min(d) as min_seconds, max(d) as max_seconds
       from (select task_type, ${DURATION} as d from tasks where ${PERIOD} and ${HAS_DURATION}) x
      group by grouping sets ((), (task_type))
      order by task_type nulls first`,
    params(scope),
  );
}

export async function reportFailures(em: EntityManager, scope: ReportScope, limit: number): Promise<FailureRow[]> {
  return em.execute(
    `select id, task_id, task_type, priority, description, error_message, retry_count, created_at, completed_at
       from tasks where ${PERIOD} and status = 'failed'
      order by completed_at desc nulls last, id desc limit ?`,
    [...params(scope), limit],
  );
}

export async function reportRecentResults(em: EntityManager, scope: ReportScope, limit: number): Promise<RecentResultRow[]> {
  return em.execute(
    `select id, task_id, task_type, description, completed_at,
            case when started_at is not null and completed_at is not null then ${DURATION} end as duration_seconds,
            left(result_data::text, 300) as result_preview
       from tasks where ${PERIOD} and status = 'completed'
      order by completed_at desc nulls last, id desc limit ?`,
    [...params(scope), limit],
  );
}
