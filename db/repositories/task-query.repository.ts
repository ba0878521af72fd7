import { deleteMetricsOfTask } from './task-metrics.repository';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertAudit, type AuditEntry } from './audit.repository';
import { SqlWhere } from './sql-where';

/**
 * Reads of the task mirror, always brand-scoped and blind to soft-deleted rows. Raw SQL (through MikroORM's
 * connection) because lists and stats are hot paths: one indexed query each, no entity hydration.
 */

export interface TaskRow {
  id: number;
  task_id: string;
  task_type: string;
  /** The label given at creation, or null. */
  name: string | null;
  status: string;
  priority: string;
  description: string;
  progress_percentage: number;
  brand_id: number;
  brand_name: string;
  created_by_id: number;
  created_by_username: string;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  completed_at: Date | string | null;
  scheduled_for: Date | string | null;
  context_data: Record<string, unknown>;
  result_data: Record<string, unknown> | null;
  error_message: string | null;
  retry_count: number;
  max_retries: number;
  timeout_minutes: number | null;
  run_id: string | null;
  seq: number;
  /** The Schedule whose firing this task is (periodic task or cron job), or null. */
  schedule_id: string | null;
  /** The worker that ran the task's latest activity, or null. */
  worker_id: string | null;
  /** completed_at - started_at in milliseconds (generated column), or null. */
  duration_ms: number | null;
  /** The pipeline task (its task_id) that started this one as a step, or null. */
  parent_task_id: string | null;
}

const SELECT_TASK = `
  select t.id, t.task_id, t.task_type, t.name, t.status, t.priority, t.description, t.progress_percentage,
         t.brand_id, b.name as brand_name, t.created_by_id, u.username as created_by_username,
         t.created_at, t.updated_at, t.started_at, t.completed_at, t.scheduled_for, t.context_data, t.result_data,
         t.error_message, t.retry_count, t.max_retries, t.timeout_minutes, t.run_id, t.seq::float8 as seq, t.schedule_id,
         t.worker_id, t.duration_ms, t.parent_task_id
    from tasks t
    join brands b on b.id = t.brand_id
    join users u on u.id = t.created_by_id`;

/** A WHERE clause under construction: conditions are ANDed, values always bound as parameters. */
export class TaskFilter extends SqlWhere {
  constructor(brandId: number) {
    super();
    this.add('t.brand_id = ?', brandId).add('t.deleted_at is null');
  }
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The expression the trigram index `tasks_search_trgm_idx` is built on. */
export const SEARCH_EXPRESSION = `(t.task_id || ' ' || t.task_type || ' ' || t.description)`;

export async function listTasks(
  em: EntityManager,
  filter: TaskFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: TaskRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<TaskRow[]>(`${SELECT_TASK} where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...filter.params, limit, offset]),
    em.execute<{ count: string }[]>(`select count(*) as count from tasks t where ${filter.sql}`, filter.params),
  ]);
  return { count: Number(countRows[0]?.count ?? 0), rows };
}

/** By integer `id` or by `task_id` (the workflow id). */
export async function findTask(em: EntityManager, brandId: number, idOrTaskId: string): Promise<TaskRow | null> {
  const byId = /^\d+$/.test(idOrTaskId);
  if (byId && Number(idOrTaskId) > 2_147_483_647) return null;
  const rows = await em.execute<TaskRow[]>(
    `${SELECT_TASK} where t.brand_id = ? and t.deleted_at is null and ${byId ? 't.id = ?' : 't.task_id = ?'}`,
    [brandId, byId ? Number(idOrTaskId) : idOrTaskId],
  );
  return rows[0] ?? null;
}

/** Several tasks of a brand by task_id, in one query (e.g. the base tasks of a page of persistent jobs). */
export async function findTasksByTaskIds(em: EntityManager, brandId: number, taskIds: string[]): Promise<Map<string, TaskRow>> {
  if (taskIds.length === 0) return new Map();
  const rows = await em.execute<TaskRow[]>(
    `${SELECT_TASK} where t.brand_id = ? and t.deleted_at is null and t.task_id in (${taskIds.map(() => '?').join(', ')})`,
    [brandId, ...taskIds],
  );
  return new Map(rows.map((r) => [r.task_id, r]));
}

export async function findTaskByTaskId(em: EntityManager, taskId: string): Promise<TaskRow | null> {
  const rows = await em.execute<TaskRow[]>(`${SELECT_TASK} where t.task_id = ?`, [taskId]);
  return rows[0] ?? null;
}

export interface QueueStatsRow {
  priority: string;
  status: string;
  total: string;
  today: string;
  avg_seconds: number | null;
}

export async function queueStats(em: EntityManager, brandId: number): Promise<QueueStatsRow[]> {
  return em.execute<QueueStatsRow[]>(
    `select priority, status, count(*) as total,
            count(*) filter (where created_at >= date_trunc('day', now())) as today,
            avg(extract(epoch from completed_at - started_at)) filter (where status = 'completed' and started_at is not null) as avg_seconds
       from tasks where brand_id = ? and deleted_at is null
      group by priority, status`,
    [brandId],
  );
}

export interface TypeStatsRow {
  task_type: string;
  total: string;
  completed: string;
  failed: string;
  cancelled: string;
  pending: string;
  running: string;
  avg_seconds: number | null;
}

export async function typeStats(em: EntityManager, brandId: number): Promise<TypeStatsRow[]> {
  return em.execute<TypeStatsRow[]>(
    `select task_type, count(*) as total,
            count(*) filter (where status = 'completed') as completed,
            count(*) filter (where status = 'failed') as failed,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'pending') as pending,
            count(*) filter (where status = 'running') as running,
            avg(extract(epoch from completed_at - started_at)) filter (where status = 'completed' and started_at is not null) as avg_seconds
       from tasks where brand_id = ? and deleted_at is null
      group by task_type order by task_type`,
    [brandId],
  );
}

/** Soft delete plus its audit row, in one transaction: the row leaves every list, the trail keeps a snapshot. */
export async function softDeleteTask(
  em: EntityManager,
  args: {
    taskId: string;
    actorId: number;
    brandId: number;
    requestId: string | null;
    snapshot: Record<string, unknown>;
    /** Default `task.delete`. */
    action?: string;
    /** A forced delete (admin): the run was just terminated, its row may not say so yet. */
    anyStatus?: boolean;
  } & Partial<Pick<AuditEntry, 'actorName' | 'actorRole' | 'ip'>>,
): Promise<boolean> {
  return em.transactional(async (tx) => {
    const rows = await tx.execute<{ id: number }[]>(
      `update tasks set deleted_at = clock_timestamp() where task_id = ? and deleted_at is null
          ${args.anyStatus ? '' : `and status in ('completed', 'failed', 'cancelled')`} returning id`,
      [args.taskId],
    );
    if (rows.length === 0) return false;
    await deleteMetricsOfTask(tx, args.taskId);
    await insertAudit(tx, {
      actorId: args.actorId,
      brandId: args.brandId,
      action: args.action ?? 'task.delete',
      targetType: 'task',
      targetId: args.taskId,
      details: args.snapshot,
      requestId: args.requestId,
      actorName: args.actorName,
      actorRole: args.actorRole,
      ip: args.ip,
      before: { status: args.snapshot.status ?? null },
      after: { deleted: true },
    });
    return true;
  });
}

export async function updateEditableFields(
  em: EntityManager,
  taskId: string,
  fields: { priority?: string; priorityLevel?: number; description?: string; contextData?: Record<string, unknown>; name?: string },
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (fields.name !== undefined) {
    sets.push('name = ?');
    params.push(fields.name);
  }
  if (fields.priority !== undefined) {
    sets.push('priority = ?', 'priority_level = ?');
    params.push(fields.priority, fields.priorityLevel);
  }
  if (fields.description !== undefined) {
    sets.push('description = ?');
    params.push(fields.description);
  }
  if (fields.contextData !== undefined) {
    sets.push('context_data = ?::jsonb');
    params.push(JSON.stringify(fields.contextData));
  }
  if (!sets.length) return;
  await em.execute(`update tasks set ${sets.join(', ')}, updated_at = clock_timestamp() where task_id = ?`, [...params, taskId]);
}
