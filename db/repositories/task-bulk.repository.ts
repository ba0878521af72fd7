import type { EntityManager } from '@mikro-orm/postgresql';
import { TaskFilter } from './task-query.repository';

/** Target resolution for `bulk_operations`: always one brand, soft-deleted rows excluded. */

export interface BulkTargetFilter {
  status?: string[];
  task_type?: string[];
  priority?: string[];
  created_after?: string;
  created_before?: string;
}

const MAX_INT = 2_147_483_647;

/** The creator's username and the brand's name, to act as the bulk task's creator through TaskService. */
export async function findBulkActor(
  em: EntityManager,
  userId: number,
  brandId: number,
): Promise<{ username: string; brand_name: string } | null> {
  const [row] = await em.execute<{ username: string; brand_name: string }[]>(
    `select u.username, b.name as brand_name from users u cross join brands b where u.id = ? and b.id = ?`,
    [userId, brandId],
  );
  return row ?? null;
}

/** The brand's tasks among `refs` (integer ids as digit strings, or task_ids). */
export async function findTasksByRefs(em: EntityManager, brandId: number, refs: readonly string[]): Promise<{ id: number; task_id: string }[]> {
  const ids = refs.filter((r) => /^\d+$/.test(r) && Number(r) <= MAX_INT).map(Number);
  const taskIds = refs.filter((r) => !/^\d+$/.test(r));
  if (!ids.length && !taskIds.length) return [];
  const filter = new TaskFilter(brandId);
  const alternatives: string[] = [];
  const values: unknown[] = [];
  if (ids.length) {
    alternatives.push(`t.id in (${ids.map(() => '?').join(', ')})`);
    values.push(...ids);
  }
  if (taskIds.length) {
    alternatives.push(`t.task_id in (${taskIds.map(() => '?').join(', ')})`);
    values.push(...taskIds);
  }
  filter.add(`(${alternatives.join(' or ')})`, ...values);
  return em.execute(`select t.id, t.task_id from tasks t where ${filter.sql}`, filter.params);
}

/** The brand's tasks matching `f`, except `excludeTaskId`, in id order, at most `limit`. */
export async function findTasksByFilter(
  em: EntityManager,
  brandId: number,
  f: BulkTargetFilter,
  excludeTaskId: string,
  limit: number,
): Promise<{ id: number; task_id: string }[]> {
  const filter = new TaskFilter(brandId).add('t.task_id <> ?', excludeTaskId);
  if (f.status?.length) filter.in('t.status', f.status);
  if (f.task_type?.length) filter.in('t.task_type', f.task_type);
  if (f.priority?.length) filter.in('t.priority', f.priority);
  if (f.created_after) filter.add('t.created_at >= ?', f.created_after);
  if (f.created_before) filter.add('t.created_at <= ?', f.created_before);
  return em.execute(`select t.id, t.task_id from tasks t where ${filter.sql} order by t.id limit ?`, [...filter.params, limit]);
}
