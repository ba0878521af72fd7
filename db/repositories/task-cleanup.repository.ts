import type { EntityManager } from '@mikro-orm/postgresql';
import { TaskFilter } from './task-query.repository';

/**
 * Candidates of `cleanup_old_tasks`: the brand's undeleted tasks of the given (finished) statuses whose completed_at is
 * before the cutoff, except the cleanup task itself and the base task of any live periodic task or cron job.
 */
export interface TaskCleanupCriteria {
  brandId: number;
  selfTaskId: string;
  cutoff: string;
  statuses: readonly string[];
  taskTypes: readonly string[] | null;
}

export interface TaskCleanupCandidate {
  id: number;
  task_id: string;
  status: string;
}

function candidateFilter(c: TaskCleanupCriteria): TaskFilter {
  const filter = new TaskFilter(c.brandId)
    .add('t.task_id <> ?', c.selfTaskId)
    .add('t.completed_at < ?', c.cutoff)
    .add('not exists (select 1 from periodic_tasks p where p.base_task_id = t.id and p.deleted_at is null)');
  filter.in('t.status', c.statuses.length ? c.statuses : ['completed']);
  if (c.taskTypes?.length) filter.in('t.task_type', c.taskTypes);
  return filter;
}

export async function countCleanupCandidates(em: EntityManager, c: TaskCleanupCriteria): Promise<number> {
  const filter = candidateFilter(c);
  const [row] = await em.execute<{ n: number }[]>(`select count(*)::int as n from tasks t where ${filter.sql}`, filter.params);
  return row?.n ?? 0;
}

/** The next `limit` candidates with an id greater than `afterId`, in id order. */
export async function findCleanupCandidates(em: EntityManager, c: TaskCleanupCriteria, afterId: number, limit: number): Promise<TaskCleanupCandidate[]> {
  const filter = candidateFilter(c).add('t.id > ?', afterId);
  return em.execute(`select t.id, t.task_id, t.status from tasks t where ${filter.sql} order by t.id limit ?`, [...filter.params, limit]);
}

/** Whether the task is still a candidate (checked just before deleting it: it may have been retried or become a template). */
export async function isCleanupCandidate(em: EntityManager, c: TaskCleanupCriteria, id: number): Promise<boolean> {
  const filter = candidateFilter(c).add('t.id = ?', id);
  const rows = await em.execute<{ id: number }[]>(`select t.id from tasks t where ${filter.sql}`, filter.params);
  return rows.length > 0;
}
