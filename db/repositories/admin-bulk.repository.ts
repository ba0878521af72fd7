import type { EntityManager } from '@mikro-orm/postgresql';
import type { AdminBulkAction, AdminBulkCounts, AdminBulkItemResult, AdminBulkStatus } from '../../workflows/contracts/admin-bulk';
import type { AdminJobWhere } from './admin-jobs.repository';
import { SqlWhere } from './sql-where';

/** Skipped and failed items kept on the row (the first ones): enough to see what went wrong without a second table. */
export const ERRORS_SAMPLE_SIZE = 20;

export interface AdminBulkRow {
  id: number;
  bulk_id: string;
  action: AdminBulkAction;
  filter: Record<string, unknown>;
  new_priority: string | null;
  force: boolean;
  reason: string | null;
  max_task_id: number;
  total_at_dry_run: number;
  processed: number;
  succeeded: number;
  skipped: number;
  failed: number;
  last_task_id: number;
  status: AdminBulkStatus;
  created_by_id: number;
  created_by_username: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  last_error: string | null;
  errors: AdminBulkItemResult[];
}

const COLUMNS = `a.id, a.bulk_id, a.action, a.filter, a.new_priority, a.force, a.reason, a.max_task_id, a.total_at_dry_run,
  a.processed, a.succeeded, a.skipped, a.failed, a.last_task_id, a.status, a.created_by_id, u.username as created_by_username,
  a.created_at, a.updated_at, a.finished_at, a.last_error, a.errors`;
const FROM = 'admin_bulk_actions a left join users u on u.id = a.created_by_id';

export function countsOf(row: Pick<AdminBulkRow, 'processed' | 'succeeded' | 'skipped' | 'failed'>): AdminBulkCounts {
  return { processed: row.processed, succeeded: row.succeeded, skipped: row.skipped, failed: row.failed };
}

/** The dry run's figures: how many live jobs match, and the highest id among them (the snapshot a bulk never goes past). */
export async function measureTargets(em: EntityManager, where: AdminJobWhere): Promise<{ count: number; maxTaskId: number }> {
  const [row] = await em.execute<{ n: string; max_id: number | null }[]>(
    `select count(*) as n, max(t.id) as max_id from tasks t where ${where.sql}`,
    where.params,
  );
  return { count: Number(row?.n ?? 0), maxTaskId: row?.max_id ?? 0 };
}

/** The next page of targets: matching jobs after the cursor, up to the snapshot, in id order. */
export async function readTargetPage(
  em: EntityManager,
  where: AdminJobWhere,
  afterTaskId: number,
  maxTaskId: number,
  limit: number,
): Promise<{ id: number; task_id: string; brand_id: number }[]> {
  const w = new SqlWhere().add(where.sql, ...where.params).add('t.id > ?', afterTaskId).add('t.id <= ?', maxTaskId);
  return em.execute(`select t.id, t.task_id, t.brand_id from tasks t where ${w.sql} order by t.id limit ?`, [...w.params, limit]);
}

export interface MatchingJob {
  id: number;
  task_id: string;
  status: string;
  priority: string;
  brand_id: number;
  brand_name: string;
}

/** The job if it still matches the filter right now (null: it changed, or was deleted, since the page was read). */
export async function findTargetIfMatching(
  em: EntityManager,
  where: AdminJobWhere,
  id: number,
): Promise<MatchingJob | null> {
  const w = new SqlWhere().add('t.id = ?', id).add(where.sql, ...where.params);
  const [row] = await em.execute<MatchingJob[]>(
    `select t.id, t.task_id, t.status, t.priority, t.brand_id, b.name as brand_name from tasks t join brands b on b.id = t.brand_id where ${w.sql}`,
    w.params,
  );
  return row ?? null;
}

/** The user a bulk acts as, if it still exists (its role is checked at every page: a demoted admin's bulk stops). */
export async function findBulkActor(em: EntityManager, userId: number): Promise<{ username: string; role: string; is_active: boolean } | null> {
  const [row] = await em.execute<{ username: string; role: string; is_active: boolean }[]>(
    `select username, role, is_active from users where id = ?`,
    [userId],
  );
  return row ?? null;
}

export interface NewBulkAction {
  bulkId: string;
  action: AdminBulkAction;
  filter: Record<string, unknown>;
  newPriority: string | null;
  force: boolean;
  reason: string | null;
  maxTaskId: number;
  totalAtDryRun: number;
  createdById: number;
}

/** Inserts the bulk's row (status running); false when a row with this bulk id already exists (a replayed request). */
export async function insertBulkAction(em: EntityManager, b: NewBulkAction): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into admin_bulk_actions (bulk_id, action, filter, new_priority, force, reason, max_task_id, total_at_dry_run, status,
       created_by_id, created_at, updated_at)
     values (?, ?, ?::jsonb, ?, ?, ?, ?, ?, 'running', ?, clock_timestamp(), clock_timestamp())
     on conflict (bulk_id) do nothing returning id`,
    [b.bulkId, b.action, JSON.stringify(b.filter), b.newPriority, b.force, b.reason, b.maxTaskId, b.totalAtDryRun, b.createdById],
  );
  return rows.length > 0;
}

export async function findBulkAction(em: EntityManager, bulkId: string, forUpdate = false): Promise<AdminBulkRow | null> {
  const [row] = await em.execute<AdminBulkRow[]>(
    forUpdate
      ? `select ${COLUMNS} from ${FROM} where a.bulk_id = ? for update of a`
      : `select ${COLUMNS} from ${FROM} where a.bulk_id = ?`,
    [bulkId],
  );
  return row ?? null;
}

/** Newest first, keyset on id. */
export async function listBulkActions(
  em: EntityManager,
  opts: { limit: number; beforeId?: number; status?: AdminBulkStatus[]; action?: AdminBulkAction[] },
): Promise<{ rows: AdminBulkRow[]; more: boolean }> {
  const w = new SqlWhere();
  if (opts.beforeId !== undefined) w.add('a.id < ?', opts.beforeId);
  if (opts.status) w.in('a.status', opts.status);
  if (opts.action) w.in('a.action', opts.action);
  const rows = await em.execute<AdminBulkRow[]>(`select ${COLUMNS} from ${FROM} where ${w.sql} order by a.id desc limit ?`, [
    ...w.params,
    opts.limit + 1,
  ]);
  return { rows: rows.slice(0, opts.limit), more: rows.length > opts.limit };
}

/**
 * Moves the bulk to `status` if it is in one of `from` (the compare-and-set that makes cancel, resume and the
 * workflow's own end idempotent); returns the updated row, or null when it was in another status.
 */
export async function setBulkStatus(
  em: EntityManager,
  bulkId: string,
  from: readonly AdminBulkStatus[],
  status: AdminBulkStatus,
  error: string | null = null,
): Promise<AdminBulkRow | null> {
  const w = new SqlWhere().add('bulk_id = ?', bulkId).in('status', from);
  const rows = await em.execute<{ id: number }[]>(
    `update admin_bulk_actions set status = ?, updated_at = clock_timestamp(),
       finished_at = ${status === 'running' ? 'null' : 'clock_timestamp()'}, last_error = ?
     where ${w.sql} returning id`,
    [status, error, ...w.params],
  );
  return rows.length ? findBulkAction(em, bulkId) : null;
}

/**
 * Records items of a page with their counts and the cursor, atomically. Only items after the row's cursor count:
 * a retried activity (or one that recorded part of its page before a cancel) never counts an item twice.
 */
export async function recordBulkItems(em: EntityManager, bulkId: string, items: readonly AdminBulkItemResult[]): Promise<AdminBulkRow> {
  return em.transactional(async (tx) => {
    const row = await findBulkAction(tx, bulkId, true);
    if (!row) throw new Error(`Bulk action ${bulkId} not found`);
    const fresh = items.filter((i) => i.id > row.last_task_id);
    if (!fresh.length) return row;
    const count = (o: AdminBulkItemResult['outcome']) => fresh.filter((i) => i.outcome === o).length;
    const room = Math.max(0, ERRORS_SAMPLE_SIZE - row.errors.length);
    const errors = [...row.errors, ...fresh.filter((i) => i.outcome !== 'done').slice(0, room)];
    const lastTaskId = Math.max(...fresh.map((i) => i.id));
    await tx.execute(
      `update admin_bulk_actions set processed = processed + ?, succeeded = succeeded + ?, skipped = skipped + ?, failed = failed + ?,
         last_task_id = ?, errors = ?::jsonb, updated_at = clock_timestamp()
       where bulk_id = ?`,
      [fresh.length, count('done'), count('skipped'), count('failed'), lastTaskId, JSON.stringify(errors), bulkId],
    );
    return (await findBulkAction(tx, bulkId))!;
  });
}
