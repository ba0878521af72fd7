import type { EntityManager } from '@mikro-orm/postgresql';
import type { AdminJobFilter, AdminJobOrdering, JobKind } from '../../api/schemas/admin.schemas';
import { SqlWhere } from './sql-where';
import { escapeLike, SEARCH_EXPRESSION } from './task-query.repository';

/** What a job is, derived (never stored twice): a schedule's firing, a persistent job's task, or a plain task. */
export const KIND_EXPRESSION = `(case when t.schedule_id is not null then 'scheduled_run'
  when exists (select 1 from persistent_jobs pj where pj.task_id = t.task_id) then 'persistent_job' else 'task' end)`;
const KIND_CONDITION: Record<JobKind, string> = {
  scheduled_run: 't.schedule_id is not null',
  persistent_job: 't.schedule_id is null and exists (select 1 from persistent_jobs pj where pj.task_id = t.task_id)',
  task: 't.schedule_id is null and not exists (select 1 from persistent_jobs pj where pj.task_id = t.task_id)',
};
/** Seconds so far for a running job, completed - started for a finished one. */
const DURATION_MS = `coalesce(t.duration_ms, case when t.started_at is not null and t.completed_at is null
  then extract(epoch from (clock_timestamp() - t.started_at)) * 1000 end)`;

/**
 * The admin filter over every brand's live (not deleted) tasks, as a WHERE clause on `tasks t`.
 * Each condition is backed by an index: trigram for `search`, jsonb_path_ops GIN for `data`, btree for the rest.
 */
export class AdminJobWhere extends SqlWhere {
  constructor(f: AdminJobFilter) {
    super();
    this.add('t.deleted_at is null');
    if (f.search) this.add(`${SEARCH_EXPRESSION} ilike ? escape '\\'`, `%${escapeLike(f.search)}%`);
    if (f.data) this.add('t.context_data @> ?::jsonb', JSON.stringify(f.data));
    if (f.status) this.in('t.status', f.status);
    if (f.task_type) this.in('t.task_type', f.task_type);
    if (f.priority) this.in('t.priority', f.priority);
    if (f.brand_id) this.in('t.brand_id', f.brand_id);
    if (f.kind) this.add(`(${f.kind.map((k) => KIND_CONDITION[k]).join(' or ')})`);
    if (f.user) {
      if (/^\d{1,9}$/.test(f.user)) this.add('t.created_by_id = ?', Number(f.user));
      else this.add('t.created_by_id = (select u.id from users u where u.username = ?)', f.user);
    }
    if (f.created_after) this.add('t.created_at >= ?', f.created_after);
    if (f.created_before) this.add('t.created_at <= ?', f.created_before);
    if (f.duration_min !== undefined) this.add(`${DURATION_MS} >= ?`, f.duration_min * 1000);
    if (f.duration_max !== undefined) this.add(`${DURATION_MS} <= ?`, f.duration_max * 1000);
    if (f.error) this.add(`t.error_message ilike ? escape '\\'`, `%${escapeLike(f.error)}%`);
    if (f.schedule_id) this.add('t.schedule_id = ?', f.schedule_id);
  }
}

export interface AdminJobRow {
  id: number;
  task_id: string;
  kind: JobKind;
  task_type: string;
  status: string;
  priority: string;
  brand_id: number;
  brand_name: string | null;
  created_by_id: number;
  username: string | null;
  description: string;
  context_data: Record<string, unknown>;
  result_data: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  duration_ms: number | null;
  retry_count: number;
  max_retries: number;
  progress_percentage: number;
  error_message: string | null;
  error_details: Record<string, unknown> | null;
  schedule_id: string | null;
  run_id: string | null;
  /** The sort key as text (exact, microseconds kept) for the next cursor. */
  sort_key: string | null;
}

/** Sort expression of each ordering; every one has an index with `id` as tie-breaker (migration admin-jobs). */
const SORT_EXPRESSION: Record<string, { expr: string; cast: string }> = {
  created_at: { expr: 't.created_at', cast: 'timestamptz' },
  updated_at: { expr: 't.updated_at', cast: 'timestamptz' },
  duration: { expr: 'coalesce(t.duration_ms, -1)', cast: 'float8' },
  id: { expr: 't.id', cast: 'int' },
};

export const JOB_COLUMNS = `t.id, t.task_id, ${KIND_EXPRESSION} as kind, t.task_type, t.status, t.priority, t.brand_id, b.name as brand_name,
  t.created_by_id, u.username, t.description, t.context_data, t.result_data, t.created_at, t.updated_at, t.started_at, t.completed_at,
  ${DURATION_MS} as duration_ms, t.retry_count, t.max_retries, t.progress_percentage, t.error_message, t.error_details,
  t.schedule_id, t.run_id`;
const JOINS = 'left join brands b on b.id = t.brand_id left join users u on u.id = t.created_by_id';

/** A position in an ordering: the sort key (as text) and the id of the row it was read from. */
export interface KeysetPosition {
  key: string | null;
  id: number;
}

/**
 * One page in keyset order: the rows after (`direction` next) or before (previous) `from`, in display order.
 * Reads `limit + 1` rows to know whether there is more in that direction.
 */
export async function listAdminJobs(
  em: EntityManager,
  where: AdminJobWhere,
  ordering: AdminJobOrdering,
  limit: number,
  from: KeysetPosition | null,
  direction: 'next' | 'previous',
): Promise<{ rows: AdminJobRow[]; more: boolean }> {
  const field = ordering.replace(/^-/, '');
  const { expr, cast } = SORT_EXPRESSION[field]!;
  const descending = ordering.startsWith('-');
  // Reading backwards (previous page) flips the order, then the rows are reversed for display.
  const scanDescending = direction === 'next' ? descending : !descending;
  const conditions = new SqlWhere().add(where.sql, ...where.params);
  if (from) {
    const op = scanDescending ? '<' : '>';
    conditions.add(`(${expr}, t.id) ${op} (?::${cast}, ?)`, from.key, from.id);
  }
  const dir = scanDescending ? 'desc' : 'asc';
  const rows = await em.execute<AdminJobRow[]>(
    `select ${JOB_COLUMNS}, (${expr})::text as sort_key
       from tasks t ${JOINS}
      where ${conditions.sql}
      order by ${expr} ${dir}, t.id ${dir}
      limit ?`,
    [...conditions.params, limit + 1],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return { rows: direction === 'next' ? page : page.reverse(), more };
}

export async function countAdminJobs(em: EntityManager, where: AdminJobWhere): Promise<number> {
  const [row] = await em.execute<{ n: string }[]>(`select count(*) as n from tasks t where ${where.sql}`, where.params);
  return Number(row?.n ?? 0);
}

/** One job of any brand, by integer id or task_id (deleted ones excluded). */
export async function findAdminJob(em: EntityManager, ref: string): Promise<AdminJobRow | null> {
  const numeric = /^\d{1,9}$/.test(ref);
  const [row] = await em.execute<AdminJobRow[]>(
    `select ${JOB_COLUMNS}, null as sort_key from tasks t ${JOINS}
      where t.deleted_at is null and ${numeric ? 't.id = ?' : 't.task_id = ?'}`,
    [numeric ? Number(ref) : ref],
  );
  return row ?? null;
}

/** Rows for an export, in keyset batches (never the whole result in memory). */
export async function* streamAdminJobs(
  em: EntityManager,
  where: AdminJobWhere,
  ordering: AdminJobOrdering,
  batchSize: number,
  limit?: number,
): AsyncGenerator<AdminJobRow> {
  let from: KeysetPosition | null = null;
  let sent = 0;
  for (;;) {
    const want = limit === undefined ? batchSize : Math.min(batchSize, limit - sent);
    if (want <= 0) return;
    const { rows, more } = await listAdminJobs(em, where, ordering, want, from, 'next');
    for (const row of rows) yield row;
    sent += rows.length;
    const last = rows.at(-1);
    if (!more || !last) return;
    from = { key: last.sort_key, id: last.id };
  }
}
