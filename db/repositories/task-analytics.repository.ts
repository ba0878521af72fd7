import type { EntityManager } from '@mikro-orm/postgresql';
import { TaskFilter } from './task-query.repository';

/**
 * Reads of the public API v1 analytics (seed 003): live status counts of a brand and the export stream. Rates and
 * durations over time come from the metric rollups (task-metrics.repository.ts sumRollups).
 */

/** A brand's tasks per status, now (an index-only count over tasks_brand_status_created_idx). */
export async function taskStatusCounts(em: EntityManager, brandId: number): Promise<Record<string, number>> {
  const rows = await em.execute<{ status: string; n: string }[]>(
    `select status, count(*) as n from tasks where brand_id = ? and deleted_at is null group by status`,
    [brandId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export interface TaskAnalyticsFilter {
  statuses?: readonly string[];
  priorities?: readonly string[];
  createdAfter?: string;
  createdBefore?: string;
}

/** One exported task: its row and what the worker measured (null when it ran no activity). */
export interface TaskAnalyticsRow {
  id: number;
  task_id: string;
  name: string | null;
  task_type: string;
  status: string;
  priority: string;
  worker_id: string | null;
  retry_count: number;
  max_retries: number;
  created_at: string | Date;
  /** created_at as the database prints it (microseconds kept): the keyset position of the next batch. */
  created_key: string;
  started_at: string | Date | null;
  completed_at: string | Date | null;
  duration_ms: number | null;
  error_message: string | null;
  execution_time_ms: number | null;
  cpu_usage_percent: number | null;
  memory_usage_mb: number | null;
  cost_usd: number | null;
}

/**
 * A brand's tasks newest first, read in keyset batches of `batchSize` along tasks_brand_created_idx ((brand_id,
 * created_at desc, id desc)): each batch is one short query, so a million rows stream without being held in memory or
 * holding a transaction open.
 */
export async function* streamTaskAnalytics(em: EntityManager, brandId: number, f: TaskAnalyticsFilter, batchSize: number): AsyncGenerator<TaskAnalyticsRow> {
  let after: { createdAt: string; id: number } | null = null;
  for (;;) {
    const filter = new TaskFilter(brandId);
    if (f.statuses) filter.in('t.status', f.statuses);
    if (f.priorities) filter.in('t.priority', f.priorities);
    if (f.createdAfter) filter.add('t.created_at >= ?', f.createdAfter);
    if (f.createdBefore) filter.add('t.created_at <= ?', f.createdBefore);
    if (after) filter.add('(t.created_at, t.id) < (?::timestamptz, ?)', after.createdAt, after.id);
    const rows: TaskAnalyticsRow[] = await em.execute<TaskAnalyticsRow[]>(
      `select t.id, t.task_id, t.name, t.task_type, t.status, t.priority, t.worker_id, t.retry_count, t.max_retries,
              t.created_at, t.created_at::text as created_key, t.started_at, t.completed_at, t.duration_ms, t.error_message,
              m.execution_time_ms, m.cpu_usage_percent, m.memory_usage_mb, m.cost_usd
         from tasks t left join task_metrics m on m.task_id = t.task_id
        where ${filter.sql}
        order by t.created_at desc, t.id desc
        limit ?`,
      [...filter.params, batchSize],
    );
    for (const row of rows) yield row;
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) return;
    after = { createdAt: last.created_key, id: last.id };
  }
}
