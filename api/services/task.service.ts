import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ulid } from 'ulid';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { jobCanResume } from '../../db/repositories/persistent-job-query.repository';
import { stableJson } from '../../db/repositories/persistent-job.repository';
import {
  escapeLike,
  findTask,
  listTasks,
  queueStats,
  SEARCH_EXPRESSION,
  softDeleteTask,
  TaskFilter,
  typeStats,
  updateEditableFields,
  type TaskRow,
} from '../../db/repositories/task-query.repository';
import { deleteUnstartedTask, insertTaskIfMissing, upsertTaskTransition } from '../../db/repositories/task-mirror.repository';
import {
  CANCELLABLE_STATUSES,
  EDITABLE_STATUSES,
  PRIORITY_LEVEL,
  RETRYABLE_STATUSES,
  TASK_PRIORITIES,
  TASK_STATUSES,
  TERMINAL_STATUSES,
  type TaskStatus,
} from '../../workflows/contracts/task-types';
import { mirrorSeq, runOf, runOfSeq, type TaskAmendment, type TaskWorkflowInput } from '../../workflows/contracts/task-workflow';
import { availableTaskTypes, getTaskType } from '../../workflows/tasks/registry';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  ORDERING_FIELDS,
  RANGE_FIELDS,
  RANGE_OPS,
  type CreateTaskBody,
  type ListTasksQuery,
  type RetryTaskBody,
  type TaskUpdateBody,
} from '../schemas/tasks.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { TaskWorkflowGateway } from '../temporal/task-workflows';

/** What the public API's task list filters and sorts by (see TaskService.search). */
export interface TaskSearch {
  statuses?: readonly string[];
  priorities?: readonly string[];
  workerId?: string;
  sort: 'created_at' | 'updated_at' | 'duration';
  order: 'asc' | 'desc';
  skip: number;
  limit: number;
}

export interface Actor {
  userId: number;
  username: string;
  brandId: number;
  brandName: string;
  requestId: string | null;
  /** The caller's role and address, for the audit trail (absent for system actors such as workflows). */
  role?: string;
  ip?: string | null;
}

/** How long `cancel/` waits for the workflow to acknowledge before answering (the cancel itself is durable). */
const CANCEL_WAIT_MS = 5_000;
/** A retry that finds the failed run not yet closed waits up to this many times 100 ms for the close. */
const RETRY_CLOSE_WAIT_STEPS = 30;
/** Tolerated clock skew between the client and us for `scheduled_for`. */
const SCHEDULE_SKEW_MS = 2_000;

/**
 * Business rules of task_core: the only place that combines the mirror (PostgreSQL) and Temporal.
 */
export class TaskService {
  constructor(
    private readonly deps: {
      orm: MikroORM;
      tasks: TaskWorkflowGateway;
      config: AppConfig;
    },
  ) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  async list(brandId: number, query: ListTasksQuery): Promise<{ count: number; rows: TaskRow[]; page: number; pageSize: number }> {
    const filter = new TaskFilter(brandId);
    if (query.status) filter.in('t.status', query.status);
    if (query.priority) filter.in('t.priority', query.priority);
    if (query.task_type) filter.in('t.task_type', query.task_type);
    if (query.task_type__startswith) filter.add(`t.task_type like ? escape '\\'`, `${escapeLike(query.task_type__startswith)}%`);
    if (query.created_after) filter.add('t.created_at >= ?', query.created_after);
    if (query.created_before) filter.add('t.created_at <= ?', query.created_before);
    if (query.updated_after) filter.add('t.updated_at >= ?', query.updated_after);
    if (query.updated_before) filter.add('t.updated_at <= ?', query.updated_before);
    if (query.retry_count !== undefined) filter.add('t.retry_count = ?', query.retry_count);
    if (query.has_metrics !== undefined) {
      // Derived from the task's metrics row (written when it ends), never stored twice.
      filter.add(`${query.has_metrics ? '' : 'not '}exists (select 1 from task_metrics m where m.task_id = t.task_id)`);
    }
    if (query.schedule_id) filter.add('t.schedule_id = ?', query.schedule_id);
    if (query.parent_task_id) filter.add('t.parent_task_id = ?', query.parent_task_id);
    if (query.is_resumable !== undefined) {
      // Derived from the task's persistent job (the same rule as its can_resume), never stored twice.
      const resumable = `exists (select 1 from persistent_jobs pj where pj.task_id = t.task_id and pj.deleted_at is null and ${jobCanResume('pj')})`;
      filter.add(query.is_resumable ? resumable : `not ${resumable}`);
    }
    if (query.search?.trim()) filter.add(`${SEARCH_EXPRESSION} ilike ? escape '\\'`, `%${escapeLike(query.search.trim())}%`);
    for (const field of Object.keys(RANGE_FIELDS)) {
      for (const [op, sqlOp] of Object.entries(RANGE_OPS)) {
        const value = query[`${field}__${op}`];
        if (value !== undefined) filter.add(`t.${field} ${sqlOp} ?`, value);
      }
    }
    const ordering = query.ordering ?? ['-created_at'];
    const orderBy = ordering
      .map((f) => `t.${ORDERING_FIELDS[f.replace(/^-/, '') as keyof typeof ORDERING_FIELDS]} ${f.startsWith('-') ? 'desc' : 'asc'} nulls last`)
      .concat(ordering.some((f) => f.replace(/^-/, '') === 'id') ? [] : [`t.id ${ordering[0]!.startsWith('-') ? 'desc' : 'asc'}`])
      .join(', ');
    const pageSize = Math.min(query.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const { count, rows } = await listTasks(this.em(), filter, orderBy, pageSize, (query.page - 1) * pageSize);
    return { count, rows, page: query.page, pageSize };
  }

  /**
   * The public API v1 list (seed 003): offset window, statuses, stored priorities, the worker of the latest activity
   * (index tasks_brand_worker_idx), one sort key. created_at and updated_at are never null, so their order matches the
   * brand indexes; unfinished tasks (no duration) sort last either way.
   */
  async search(brandId: number, q: TaskSearch): Promise<{ count: number; rows: TaskRow[] }> {
    const filter = new TaskFilter(brandId);
    if (q.statuses) filter.in('t.status', q.statuses);
    if (q.priorities) filter.in('t.priority', q.priorities);
    if (q.workerId !== undefined) filter.add('t.worker_id = ?', q.workerId);
    const orderBy =
      q.sort === 'duration' ? `t.duration_ms ${q.order} nulls last, t.id ${q.order}` : `t.${q.sort} ${q.order}, t.id ${q.order}`;
    return listTasks(this.em(), filter, orderBy, q.limit, q.skip);
  }

  async get(brandId: number, idOrTaskId: string): Promise<TaskRow> {
    const row = await findTask(this.em(), brandId, idOrTaskId);
    if (!row) throw AppError.taskNotFound();
    return row;
  }

  async create(actor: Actor, body: CreateTaskBody, idempotencyKey?: string): Promise<{ task: TaskRow; replayed: boolean }> {
    const type = getTaskType(body.task_type);
    if (!type) {
      throw AppError.validation(
        { task_type: [`"${body.task_type}" is specified but not available yet. Available: ${availableTaskTypes().join(', ')}`] },
        `Task type ${body.task_type} is not available yet`,
        ErrorCode.TASK_TYPE_NOT_AVAILABLE,
      );
    }
    const missing = (type.requiredConfig ?? []).filter((key) => !this.deps.config[key]);
    if (missing.length) {
      throw new AppError(
        ErrorCode.TASK_TYPE_NOT_CONFIGURED,
        400,
        `Task type ${body.task_type} is not configured on this server: set ${missing.join(', ')}`,
        { missing_settings: missing },
      );
    }
    const contextData = parseOrThrow(type.contextSchema, body.context_data, 'context_data') as Record<string, unknown>;
    if (body.scheduled_for && Date.parse(body.scheduled_for) < Date.now() - SCHEDULE_SKEW_MS) {
      throw AppError.validation({ scheduled_for: ['Must be in the future'] }, 'scheduled_for is in the past', ErrorCode.SCHEDULE_IN_PAST);
    }

    let taskId = `task_${ulid().toLowerCase()}`;
    let replayed = false;
    const em = this.em();
    if (idempotencyKey !== undefined) {
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
        throw AppError.validation({ 'Idempotency-Key': ['Must be 1 to 255 visible ASCII characters'] });
      }
      // The workflow id is derived from the key: Temporal itself then guarantees a single workflow per key.
      const scopeHash = sha256(`${actor.brandId}:${actor.userId}:${idempotencyKey}`);
      const requestHash = sha256(stableJson(body));
      taskId = `task_k${scopeHash.slice(0, 32)}`;
      await em.execute(
        `insert into idempotency_keys (scope_hash, brand_id, user_id, key, request_hash, task_id, created_at)
         values (?, ?, ?, ?, ?, ?, clock_timestamp()) on conflict (scope_hash) do nothing`,
        [scopeHash, actor.brandId, actor.userId, idempotencyKey, requestHash, taskId],
      );
      const [stored] = await em.execute<{ request_hash: string }[]>(`select request_hash from idempotency_keys where scope_hash = ?`, [scopeHash]);
      if (stored && stored.request_hash !== requestHash) {
        throw new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, 422, 'This Idempotency-Key was already used with a different request body');
      }
      const existing = await findTask(em, actor.brandId, taskId);
      if (existing) return { task: existing, replayed: true };
      replayed = false;
    }

    const input: TaskWorkflowInput = {
      taskId,
      brandId: actor.brandId,
      createdById: actor.userId,
      taskType: body.task_type,
      ...(body.name ? { name: body.name } : {}),
      priority: body.priority,
      description: body.description,
      contextData,
      maxRetries: body.max_retries,
      retryCount: 0,
      timeoutMinutes: body.timeout_minutes ?? null,
      scheduledFor: body.scheduled_for ? new Date(body.scheduled_for).toISOString() : null,
      createdAt: new Date().toISOString(),
      heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    };
    // Start the workflow and write the pending row concurrently (read-your-writes without paying two round
    // trips in sequence). If the start fails, the optimistic row is removed; if we crash in between, the
    // reconciler marks the orphan row failed with an explanation instead of leaving it pending forever.
    const pending = { input, seq: mirrorSeq(0, 'pending'), status: 'pending' as const };
    const [startOutcome, insertOutcome] = await Promise.allSettled([
      this.deps.tasks.start(input, 'create', actor.requestId),
      insertTaskIfMissing(em, pending),
    ]);
    if (startOutcome.status === 'rejected') {
      if (insertOutcome.status === 'fulfilled' && insertOutcome.value !== null) await deleteUnstartedTask(em, taskId, pending.seq);
      throw startOutcome.reason;
    }
    if (insertOutcome.status === 'rejected') throw insertOutcome.reason;
    const started = startOutcome.value;
    if (insertOutcome.value !== null && !started.alreadyExisted) {
      // The common case: the row we just inserted is exactly what the input says; answer without re-reading it.
      return { task: pendingRow(insertOutcome.value, input, actor, started.runId), replayed };
    }
    const task = await findTask(em, actor.brandId, taskId);
    if (!task) throw AppError.taskNotFound(); // deleted meanwhile by another request with the same key
    return { task, replayed: replayed || started.alreadyExisted };
  }

  /** `name` is a label of the mirror only (the workflow never reads it), changed under the same pending-only rule. */
  async update(actor: Actor, idOrTaskId: string, body: TaskUpdateBody & { name?: string }): Promise<TaskRow> {
    const em = this.em();
    const task = await this.get(actor.brandId, idOrTaskId);
    const notEditable = (status: string) =>
      AppError.invalidTransition(`Cannot modify a ${status} task; only a pending task can be modified`, status, EDITABLE_STATUSES);
    if (!EDITABLE_STATUSES.includes(task.status as TaskStatus)) throw notEditable(task.status);

    let contextData: Record<string, unknown> | undefined;
    if (body.context_data !== undefined) {
      const type = getTaskType(task.task_type);
      contextData = (type ? parseOrThrow(type.contextSchema, body.context_data, 'context_data') : body.context_data) as Record<string, unknown>;
    }
    const amendment: TaskAmendment = { priority: body.priority, description: body.description, contextData };
    try {
      // An update, not a signal: the workflow accepts it only while it has not started running.
      await this.deps.tasks.amend(task.task_id, amendment);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError || isNotFound(err)) {
        const fresh = await findTask(em, actor.brandId, task.task_id);
        const status = fresh?.status === 'pending' ? 'running' : (fresh?.status ?? 'running');
        const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        if (cause instanceof ApplicationFailure && cause.type === ErrorCode.INVALID_TASK_INPUT) {
          throw AppError.validation({ context_data: [cause.message] });
        }
        throw notEditable(status);
      }
      throw err;
    }
    await updateEditableFields(em, task.task_id, {
      priority: body.priority,
      priorityLevel: body.priority ? PRIORITY_LEVEL[body.priority] : undefined,
      description: body.description,
      contextData,
      name: body.name,
    });
    return this.get(actor.brandId, task.task_id);
  }

  async remove(actor: Actor, idOrTaskId: string): Promise<void> {
    const task = await this.get(actor.brandId, idOrTaskId);
    if (!TERMINAL_STATUSES.includes(task.status as TaskStatus)) {
      throw AppError.invalidTransition(`Cannot delete a ${task.status} task; cancel it first`, task.status, TERMINAL_STATUSES);
    }
    // Temporal first (idempotent: an already deleted execution is fine), then the mirror and its audit row together.
    try {
      await this.deps.tasks.deleteExecution(task.task_id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) && !isNotFound(err)) throw err;
    }
    const deleted = await softDeleteTask(this.em(), {
      taskId: task.task_id,
      ...auditActor(actor),
      snapshot: { id: task.id, task_type: task.task_type, status: task.status, retry_count: task.retry_count, description: task.description },
    });
    if (!deleted) throw AppError.taskNotFound();
  }

  /**
   * `overrides` (admin retry): another input for the new run, validated by the task type, and the audit action name.
   */
  async retry(actor: Actor, idOrTaskId: string, body: RetryTaskBody, overrides: { contextData?: Record<string, unknown>; auditAction?: string; reason?: string } = {}) {
    const em = this.em();
    const task = await this.get(actor.brandId, idOrTaskId);
    if (task.status === 'completed') {
      throw AppError.invalidTransition('Cannot retry a completed task', task.status, RETRYABLE_STATUSES, ErrorCode.TASK_ALREADY_COMPLETED);
    }
    if (!RETRYABLE_STATUSES.includes(task.status as TaskStatus)) {
      throw AppError.invalidTransition(`Cannot retry a ${task.status} task`, task.status, RETRYABLE_STATUSES);
    }
    if (task.retry_count >= task.max_retries) {
      throw new AppError(ErrorCode.MAX_RETRIES_EXCEEDED, 409, `Task has already been retried ${task.retry_count} time(s) (max_retries=${task.max_retries})`, {
        current_status: task.status,
        retry_count: task.retry_count,
        max_retries: task.max_retries,
      });
    }
    const priority = body.new_priority ?? (task.priority as (typeof TASK_PRIORITIES)[number]);
    let contextData = task.context_data;
    if (overrides.contextData !== undefined) {
      const type = getTaskType(task.task_type);
      contextData = (type ? parseOrThrow(type.contextSchema, overrides.contextData, 'context_data') : overrides.contextData) as Record<string, unknown>;
    }
    const input: TaskWorkflowInput = {
      taskId: task.task_id,
      brandId: task.brand_id,
      createdById: task.created_by_id,
      taskType: task.task_type,
      ...(task.name ? { name: task.name } : {}),
      priority,
      description: task.description,
      contextData,
      maxRetries: task.max_retries,
      retryCount: task.retry_count + 1,
      runNumber: runOfSeq(task.seq) + 1,
      timeoutMinutes: task.timeout_minutes,
      scheduledFor: null,
      createdAt: new Date(task.created_at).toISOString(),
      heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    };
    let started;
    for (let waited = 0; ; waited++) {
      try {
        started = await this.deps.tasks.start(input, 'retry', actor.requestId);
        break;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        // The workflow writes its terminal row just before it closes: a retry in that instant waits for that run to
        // close. Another run open (a concurrent retry started it) or a run that stays open is refused.
        const open = await this.deps.tasks.describe(task.task_id);
        if (open.runId !== task.run_id || waited >= RETRY_CLOSE_WAIT_STEPS) {
          throw AppError.invalidTransition('The task is already running again (concurrent retry)', 'running', RETRYABLE_STATUSES);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await em.transactional(async (tx) => {
      await upsertTaskTransition(tx, {
        input,
        seq: mirrorSeq(runOf(input), 'pending'),
        status: 'pending',
        runId: started.runId,
        startedAt: null,
        completedAt: null,
        resultData: null,
        ...(body.clear_errors ? { errorMessage: null } : {}),
        ...(body.reset_progress ? { progressPercentage: 0 } : {}),
      });
      await insertAudit(tx, {
        ...auditActor(actor),
        action: overrides.auditAction ?? 'task.retry',
        targetType: 'task',
        targetId: task.task_id,
        details: {
          previous_status: task.status,
          retry_count: input.retryCount,
          run_id: started.runId,
          ...body,
          ...(overrides.contextData !== undefined ? { context_data_overridden: true } : {}),
          ...(overrides.reason ? { reason: overrides.reason } : {}),
        },
        before: { status: task.status, retry_count: task.retry_count, priority: task.priority },
        after: { status: 'pending', retry_count: input.retryCount, priority },
      });
    });
    return {
      message: 'Task queued for retry',
      task_id: task.task_id,
      new_status: 'pending',
      retry_count: input.retryCount,
      max_retries: task.max_retries,
      estimated_start: new Date().toISOString(),
    };
  }

  async cancel(actor: Actor, idOrTaskId: string, reason?: string) {
    const task = await this.get(actor.brandId, idOrTaskId);
    if (!CANCELLABLE_STATUSES.includes(task.status as TaskStatus)) {
      throw AppError.invalidTransition(`Cannot cancel a ${task.status} task`, task.status, CANCELLABLE_STATUSES);
    }
    try {
      await this.deps.tasks.cancel(task.task_id);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || isNotFound(err)) {
        const fresh = await this.get(actor.brandId, task.task_id);
        throw AppError.invalidTransition(`Cannot cancel a ${fresh.status} task`, fresh.status, CANCELLABLE_STATUSES);
      }
      throw err;
    }
    const cancelledAt = new Date().toISOString();
    await insertAudit(this.em(), {
      ...auditActor(actor),
      action: 'task.cancel',
      targetType: 'task',
      targetId: task.task_id,
      details: { previous_status: task.status, reason: reason ?? null },
      before: { status: task.status },
    });
    const status = await this.waitForTerminal(actor.brandId, task.task_id, CANCEL_WAIT_MS);
    return {
      message: status === 'cancelled' ? 'Task cancelled successfully' : 'Cancellation requested',
      task_id: task.task_id,
      previous_status: task.status,
      status: status ?? 'cancelling',
      cancelled_at: cancelledAt,
    };
  }

  /** Polls the mirror (written by the workflow itself) until the task is terminal or the wait ends. */
  private async waitForTerminal(brandId: number, taskId: string, waitMs: number): Promise<string | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const row = await findTask(this.em(), brandId, taskId);
      if (row && TERMINAL_STATUSES.includes(row.status as TaskStatus)) return row.status;
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async queueStats(brandId: number) {
    const rows = await queueStats(this.em(), brandId);
    const queues = Object.fromEntries(TASK_PRIORITIES.map((p) => [p, { pending: 0, running: 0, total_today: 0 }])) as Record<
      string,
      { pending: number; running: number; total_today: number }
    >;
    const statusDistribution = Object.fromEntries(TASK_STATUSES.filter((s) => s !== 'paused').map((s) => [s, 0])) as Record<string, number>;
    const avg = Object.fromEntries(TASK_PRIORITIES.map((p) => [p, null])) as Record<string, number | null>;
    let total = 0;
    for (const row of rows) {
      const n = Number(row.total);
      total += n;
      statusDistribution[row.status] = (statusDistribution[row.status] ?? 0) + n;
      const q = queues[row.priority];
      if (q) {
        if (row.status === 'pending') q.pending += n;
        if (row.status === 'running') q.running += n;
        q.total_today += Number(row.today);
      }
      if (row.status === 'completed' && row.avg_seconds !== null) avg[row.priority] = round(Number(row.avg_seconds) / 60, 2);
    }
    return { total_tasks: total, queues, status_distribution: statusDistribution, avg_processing_time_minutes: avg };
  }

  async typeStats(brandId: number) {
    const rows = await typeStats(this.em(), brandId);
    return {
      task_types: Object.fromEntries(
        rows.map((r) => {
          const total = Number(r.total);
          const completed = Number(r.completed);
          return [
            r.task_type,
            {
              total,
              completed,
              failed: Number(r.failed),
              cancelled: Number(r.cancelled),
              pending: Number(r.pending),
              running: Number(r.running),
              avg_duration_minutes: r.avg_seconds === null ? null : round(Number(r.avg_seconds) / 60, 2),
              success_rate: total ? round((completed / total) * 100, 1) : 0,
            },
          ];
        }),
      ),
    };
  }
}

/** The row `insertTaskIfMissing` just wrote, as a query would return it. */
export function pendingRow(id: number, input: TaskWorkflowInput, actor: Actor, runId: string): TaskRow {
  return {
    id,
    task_id: input.taskId,
    task_type: input.taskType,
    name: input.name ?? null,
    status: 'pending',
    priority: input.priority,
    description: input.description,
    progress_percentage: 0,
    brand_id: actor.brandId,
    brand_name: actor.brandName,
    created_by_id: actor.userId,
    created_by_username: actor.username,
    created_at: input.createdAt,
    updated_at: input.createdAt,
    started_at: null,
    completed_at: null,
    scheduled_for: input.scheduledFor,
    context_data: input.contextData,
    result_data: null,
    error_message: null,
    retry_count: 0,
    max_retries: input.maxRetries,
    timeout_minutes: input.timeoutMinutes,
    run_id: runId,
    seq: mirrorSeq(0, 'pending'),
    schedule_id: input.schedule?.scheduleId ?? null,
    worker_id: null,
    duration_ms: null,
    parent_task_id: input.parentTaskId ?? null,
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; cause?: { code?: number } } | null;
  return e?.code === 5 || e?.cause?.code === 5;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
