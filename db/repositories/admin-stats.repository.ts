import type { EntityManager } from '@mikro-orm/postgresql';
import { SqlWhere } from './sql-where';

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
