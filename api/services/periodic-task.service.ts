import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ulid } from 'ulid';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { loadCalendarEvents, missingCalendarIds } from '../../db/repositories/calendar.repository';
import {
  findPeriodicByScheduleId,
  findPeriodicByBaseTask,
  findPeriodicTask,
  findPeriodicTasksByIds,
  scheduleIdWasUsed,
  insertPeriodicTask,
  listPeriodicTasks,
  PeriodicFilter,
  recordFiring,
  recordManualTrigger,
  runCounts,
  setNextRunAt,
  setPausedState,
  softDeletePeriodicTask,
  undeleteUnconfirmed,
  updatePeriodicTask,
  type PeriodicRunCounts,
  type PeriodicTaskRow,
  type PeriodicTaskWrite,
} from '../../db/repositories/periodic-task.repository';
import { insertTaskIfMissing } from '../../db/repositories/task-mirror.repository';
import { escapeLike, findTask, type TaskRow } from '../../db/repositories/task-query.repository';
import {
  nominalTimeFromWorkflowId,
  resolveScheduledInput,
  SCHEDULE_ID_PREFIX,
  type OverlapPolicyName,
} from '../../workflows/contracts/schedules';
import type { TaskPriority } from '../../workflows/contracts/task-types';
import { mirrorSeq, type TaskWorkflowInput } from '../../workflows/contracts/task-workflow';
import { availableTaskTypes, getTaskType } from '../../workflows/tasks/registry';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  PERIODIC_ORDERING,
  type ListCronJobsQuery,
  type ListPeriodicQuery,
  type PeriodicTaskBody,
  type PeriodicTaskPatch,
} from '../schemas/periodic-tasks.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { ScheduleDefinition, ScheduleGateway, ScheduleSnapshot } from '../temporal/schedules';
import { checkCron, normalizeCron, nextRuns, resolveTimezone, type NormalizedCron } from './cron.service';
import { skipSpecsFor } from './calendar-spec';
import { dstCompensation, temporalCronString } from './schedule-spec';
import type { Actor } from './task.service';

/** Everything a schedule is, resolved and validated: what the row stores and what the Schedule is built from. */
export interface ScheduleDraft {
  kind: PeriodicTaskRow['kind'];
  name: string;
  baseTaskId: number | null;
  taskType: string;
  priority: TaskPriority;
  description: string;
  contextData: Record<string, unknown>;
  maxRetries: number;
  timeoutMinutes: number | null;
  cronExpression: string;
  frequency: string | null;
  jobType: string | null;
  timezone: string;
  startAt: string | null;
  endAt: string | null;
  overlapPolicy: OverlapPolicyName;
  catchupWindowSeconds: number;
  jitterSeconds: number;
  calendarIds: number[];
  isActive: boolean;
  note: string | null;
  /** The base task's task_id (for the answer; the row stores its integer id). */
  baseTaskTaskId?: string | null;
  /** The next runs computed at validation (cron library, in the timezone): the row's next_run_at until Temporal's replaces it. */
  upcoming?: string[];
}

/** The detail view's live part, read from the Schedule itself. */
export interface ScheduleLive {
  snapshot: ScheduleSnapshot;
}

export interface PeriodicView {
  row: PeriodicTaskRow;
  counts: PeriodicRunCounts;
  live?: ScheduleSnapshot;
  /** Without `live` (a create answers without waiting for the new Schedule's first step): next runs from the cron library. */
  upcoming?: string[];
}

const NO_RUNS: PeriodicRunCounts = { total_runs: 0, success_count: 0, failure_count: 0, missed_count: 0, running_count: 0 };
/** How many next runs a write answers with (the cron library's; reads show Temporal's own). */
const UPCOMING_RUNS = 3;
/** How long execute-now waits for the Schedule to report the firing it started. */
const TRIGGER_WAIT_MS = 5_000;

/**
 * task_scheduling (seed 000): periodic tasks and cron jobs as Temporal Schedules. The only place that combines the
 * schedules mirror (PostgreSQL) and Temporal Schedules. Temporal first: a row exists only for a Schedule that exists
 * (a failed create removes its row; the reconciler rebuilds a row from a Schedule's memo and drops a row whose
 * Schedule is gone).
 */
export class PeriodicTaskService {
  constructor(
    private readonly deps: {
      orm: MikroORM;
      schedules: ScheduleGateway;
      config: AppConfig;
    },
  ) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  // ---- reads ----

  async list(
    brandId: number,
    kind: PeriodicTaskRow['kind'],
    query: ListPeriodicQuery | ListCronJobsQuery,
  ): Promise<{ count: number; views: PeriodicView[]; page: number; pageSize: number }> {
    const filter = new PeriodicFilter(brandId, kind);
    if (query.brand !== undefined && query.brand !== brandId) filter.add('false');
    if (query.is_active !== undefined) filter.add('p.is_active = ?', query.is_active);
    if (query.cron_expression) filter.add('p.cron_expression = ?', query.cron_expression.trim().replace(/\s+/g, ' '));
    if (query.timezone) filter.add('lower(p.timezone) = lower(?)', query.timezone);
    if (query.next_run_before) filter.add('p.next_run_at < ?', query.next_run_before);
    if (query.next_run_after) filter.add('p.next_run_at > ?', query.next_run_after);
    if (query.last_run_status) filter.in('p.last_run_status', query.last_run_status);
    if (query.created_after) filter.add('p.created_at >= ?', query.created_after);
    if (query.created_before) filter.add('p.created_at <= ?', query.created_before);
    if (query.updated_after) filter.add('p.updated_at >= ?', query.updated_after);
    if (query.search?.trim()) {
      const like = `%${escapeLike(query.search.trim())}%`;
      filter.add(`(p.name ilike ? escape '\\' or p.description ilike ? escape '\\' or p.task_type ilike ? escape '\\')`, like, like, like);
    }
    if ('frequency' in query && query.frequency) filter.in('p.frequency', query.frequency);
    if (kind === 'cron_job' && query.task_type) filter.in('p.job_type', query.task_type);
    if (kind === 'periodic' && query.task_type) filter.in('p.task_type', query.task_type);
    if ('base_task' in query && query.base_task) {
      const ref = query.base_task;
      if (/^\d+$/.test(ref)) filter.add(Number(ref) > 2_147_483_647 ? 'false' : 'p.base_task_id = ?', ...(Number(ref) > 2_147_483_647 ? [] : [Number(ref)]));
      else filter.add('p.base_task_id = (select id from tasks where task_id = ?)', ref);
    }
    const ordering = query.ordering ?? ['-created_at'];
    const orderBy = ordering
      .map((f) => `p.${PERIODIC_ORDERING[f.replace(/^-/, '') as keyof typeof PERIODIC_ORDERING]} ${f.startsWith('-') ? 'desc' : 'asc'} nulls last`)
      .concat([`p.id ${ordering[0]!.startsWith('-') ? 'desc' : 'asc'}`])
      .join(', ');
    const pageSize = Math.min(query.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const em = this.em();
    const { count, rows } = await listPeriodicTasks(em, filter, orderBy, pageSize, (query.page - 1) * pageSize);
    const counts = await runCounts(em, rows.map((r) => r.schedule_id));
    return { count, views: rows.map((row) => ({ row, counts: counts.get(row.schedule_id) ?? NO_RUNS })), page: query.page, pageSize };
  }

  async find(brandId: number, id: string, kind: PeriodicTaskRow['kind']): Promise<PeriodicTaskRow> {
    const row = await findPeriodicTask(this.em(), brandId, id, kind);
    if (!row) throw notFound(kind);
    return row;
  }

  /**
   * Detail: the row plus the Schedule's own view (next action times, counters, running firings). A row whose
   * Schedule no longer exists in Temporal (deleted from the Web UI) is removed on the spot and answered 404.
   */
  async get(brandId: number, id: string, kind: PeriodicTaskRow['kind']): Promise<PeriodicView> {
    const em = this.em();
    const row = await this.find(brandId, id, kind);
    const live = await this.deps.schedules.describe(row.schedule_id);
    if (!live) {
      await this.dropOrphanRow(row, 'schedule_missing');
      throw notFound(kind);
    }
    const next = live.paused ? (row.next_run_at ? new Date(row.next_run_at).toISOString() : null) : (live.nextActionTimes[0]?.toISOString() ?? null);
    if (!live.paused && next !== (row.next_run_at ? new Date(row.next_run_at).toISOString() : null)) {
      await setNextRunAt(em, row.schedule_id, next);
      row.next_run_at = next;
    }
    if (live.paused === row.is_active) {
      // Paused or unpaused from the Web UI or CLI: Temporal is the truth.
      await setPausedState(em, row.id, !live.paused, live.note, null);
      row.is_active = !live.paused;
      row.paused_note = live.note;
    }
    const counts = (await runCounts(em, [row.schedule_id])).get(row.schedule_id) ?? NO_RUNS;
    return { row, counts, live };
  }

  /** The `periodic` extension of `GET /tasks/{id}/`: the schedule a firing belongs to, or the schedules built from this task. */
  async forTask(task: TaskRow): Promise<Record<string, unknown> | null> {
    const em = this.em();
    if (task.schedule_id) {
      const row = await findPeriodicByScheduleId(em, task.schedule_id);
      return {
        role: 'run',
        id: row?.id ?? null,
        kind: row?.kind ?? null,
        name: row?.name ?? null,
        schedule_id: task.schedule_id,
        scheduled_at: task.scheduled_for ? new Date(task.scheduled_for).toISOString() : null,
        cron_expression: row?.cron_expression ?? null,
        timezone: row?.timezone ?? null,
        is_active: row?.is_active ?? false,
      };
    }
    const rows = await findPeriodicByBaseTask(em, task.brand_id, task.id);
    if (!rows.length) return null;
    const first = rows[0]!;
    return {
      role: 'template',
      id: first.id,
      name: first.name,
      schedule_id: first.schedule_id,
      cron_expression: first.cron_expression,
      timezone: first.timezone,
      is_active: first.is_active,
      next_run_at: first.next_run_at ? new Date(first.next_run_at).toISOString() : null,
      last_run_at: first.last_run_at ? new Date(first.last_run_at).toISOString() : null,
      last_run_status: first.last_run_status,
      periodic_task_ids: rows.map((r) => r.id),
    };
  }

  // ---- writes ----

  async create(actor: Actor, body: PeriodicTaskBody, idempotencyKey?: string): Promise<{ view: PeriodicView; replayed: boolean }> {
    const draft = await this.draftFromBody(actor, body, null);
    return this.createFromDraft(actor, draft, idempotencyKey);
  }

  /**
   * Shared by periodic tasks and cron jobs: the Schedule and its row, written concurrently; the row goes if Temporal
   * refuses. The answer is built from what was written: describing a Schedule in the same instant it was created waits
   * for its scheduler's first step (measured: ~40 ms of a ~48 ms create), so the next runs come from the cron library
   * here and from Temporal on every later read.
   */
  async createFromDraft(actor: Actor, draft: ScheduleDraft, idempotencyKey?: string): Promise<{ view: PeriodicView; replayed: boolean }> {
    let scheduleId = `${SCHEDULE_ID_PREFIX}${ulid().toLowerCase()}`;
    const em = this.em();
    if (idempotencyKey !== undefined) {
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) throw AppError.validation({ 'Idempotency-Key': ['Must be 1 to 255 visible ASCII characters'] });
      // As for tasks: the Schedule id is derived from the key, so Temporal itself refuses a second Schedule.
      scheduleId = `${SCHEDULE_ID_PREFIX}k${sha256(`${draft.kind}:${actor.brandId}:${actor.userId}:${idempotencyKey}`).slice(0, 32)}`;
      const existing = await findPeriodicByScheduleId(em, scheduleId);
      if (existing) return { view: await this.viewOf(existing), replayed: true };
      if (await scheduleIdWasUsed(em, scheduleId)) {
        throw new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, 422, 'This Idempotency-Key created a schedule that has since been deleted; use a new key');
      }
    }
    const definition = await this.definitionOf(em, actor.brandId, actor.userId, scheduleId, draft);
    const write = periodicWrite(scheduleId, { brandId: actor.brandId, createdById: actor.userId }, draft);
    const action = draft.kind === 'cron_job' ? 'cron_job' : 'periodic_task';
    const audit = {
      ...auditActor(actor),
      action: `${action}.create`,
      targetType: 'schedule',
      targetId: scheduleId,
      details: { name: draft.name, cron_expression: draft.cronExpression, timezone: draft.timezone, task_type: draft.taskType },
      after: { name: draft.name, cron_expression: draft.cronExpression, timezone: draft.timezone, is_active: draft.isActive },
    };
    const [created, inserted] = await Promise.allSettled([this.deps.schedules.create(definition), insertPeriodicTask(em, write, audit)]);
    if (created.status === 'rejected') {
      if (inserted.status === 'fulfilled' && inserted.value !== null) {
        // The row (and its create audit row, append-only) went in with the attempt: remove the row, record the outcome.
        await undeleteUnconfirmed(em, scheduleId);
        await insertAudit(em, { ...audit, action: `${action}.create_failed`, details: { ...audit.details, reason: String((created.reason as Error)?.message ?? created.reason) } });
      }
      throw refusedByTemporal(created.reason);
    }
    if (inserted.status === 'rejected') {
      if (!created.value.alreadyExisted) await this.deps.schedules.delete(scheduleId);
      throw inserted.reason;
    }
    if (created.value.alreadyExisted || inserted.value === null) {
      // A replay (same Idempotency-Key racing itself) or a row the reconciler rebuilt meanwhile: answer what is stored.
      const row = await findPeriodicByScheduleId(em, scheduleId);
      if (!row) {
        // The id's row was deleted meanwhile: a Schedule created now must not fire without a row.
        if (!created.value.alreadyExisted) await this.deps.schedules.delete(scheduleId);
        throw notFound(draft.kind);
      }
      return { view: await this.viewOf(row), replayed: created.value.alreadyExisted };
    }
    const now = new Date().toISOString();
    const row: PeriodicTaskRow = {
      id: inserted.value,
      schedule_id: scheduleId,
      kind: draft.kind,
      brand_id: actor.brandId,
      brand_name: actor.brandName,
      created_by_id: actor.userId,
      created_by_username: actor.username,
      name: write.name,
      base_task_id: write.baseTaskId,
      base_task_task_id: draft.baseTaskTaskId ?? null,
      task_type: write.taskType,
      priority: write.priority,
      description: write.description,
      context_data: write.contextData,
      max_retries: write.maxRetries,
      timeout_minutes: write.timeoutMinutes,
      cron_expression: write.cronExpression,
      frequency: write.frequency,
      job_type: write.jobType,
      timezone: write.timezone,
      start_at: write.startAt,
      end_at: write.endAt,
      overlap_policy: write.overlapPolicy,
      catchup_window_seconds: write.catchupWindowSeconds,
      jitter_seconds: write.jitterSeconds,
      is_active: write.isActive,
      paused_note: write.pausedNote,
      next_run_at: write.nextRunAt,
      last_run_at: null,
      last_run_status: null,
      last_task_id: null,
      created_at: now,
      updated_at: now,
      calendar_ids: write.calendarIds,
    };
    return { view: { row, counts: NO_RUNS, upcoming: draft.upcoming }, replayed: false };
  }

  async update(actor: Actor, id: string, body: PeriodicTaskBody | PeriodicTaskPatch, mode: 'put' | 'patch'): Promise<PeriodicView> {
    const row = await this.get(actor.brandId, id, 'periodic').then((v) => v.row); // fresh pause state from Temporal
    const merged: PeriodicTaskBody =
      mode === 'put' ? (body as PeriodicTaskBody) : ({ ...bodyOf(row), ...(body as PeriodicTaskPatch) } as PeriodicTaskBody);
    const draft = await this.draftFromBody(actor, merged, row);
    // A PATCH that does not name base_task keeps the link to the task the schedule was created from.
    if (mode === 'patch' && body.base_task === undefined && row.base_task_id !== null) draft.baseTaskId = row.base_task_id;
    return this.updateFromDraft(actor, row, draft);
  }

  async updateFromDraft(actor: Actor, row: PeriodicTaskRow, draft: ScheduleDraft): Promise<PeriodicView> {
    const em = this.em();
    const definition = await this.definitionOf(em, actor.brandId, row.created_by_id, row.schedule_id, draft);
    try {
      await this.deps.schedules.update({ ...definition, paused: draft.isActive === row.is_active ? undefined : !draft.isActive });
    } catch (err) {
      if (isScheduleNotFound(err)) {
        await this.dropOrphanRow(row, 'schedule_missing');
        throw notFound(row.kind);
      }
      throw refusedByTemporal(err);
    }
    const write = periodicWrite(row.schedule_id, { brandId: actor.brandId, createdById: actor.userId }, draft);
    await em.transactional(async (tx) => {
      await updatePeriodicTask(tx, row.id, write);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: `${row.kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.update`,
        targetType: 'schedule',
        targetId: row.schedule_id,
        details: { id: row.id, before: bodyOf(row), after: { cron_expression: draft.cronExpression, timezone: draft.timezone, is_active: draft.isActive } },
        before: { name: row.name, cron_expression: row.cron_expression, timezone: row.timezone, is_active: row.is_active },
        after: { name: draft.name, cron_expression: draft.cronExpression, timezone: draft.timezone, is_active: draft.isActive },
      });
    });
    return this.get(actor.brandId, String(row.id), row.kind);
  }

  /** Deletes the Schedule (Temporal first, idempotent), then the row; past firings stay in /tasks/. */
  async remove(actor: Actor, id: string, kind: PeriodicTaskRow['kind']): Promise<void> {
    const row = await this.find(actor.brandId, id, kind);
    await this.deps.schedules.delete(row.schedule_id);
    const em = this.em();
    await em.transactional(async (tx) => {
      if (!(await softDeletePeriodicTask(tx, row.id))) throw notFound(kind);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: `${kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.delete`,
        targetType: 'schedule',
        targetId: row.schedule_id,
        details: { id: row.id, name: row.name, cron_expression: row.cron_expression },
        before: { name: row.name, cron_expression: row.cron_expression, is_active: row.is_active },
      });
    });
  }

  /** Pause or unpause the Schedule (flips when `is_active` is not given), with a note shown in the Web UI too. */
  async toggle(actor: Actor, id: string, body: { is_active?: boolean; note?: string }, kind: PeriodicTaskRow['kind'] = 'periodic') {
    const row = await this.find(actor.brandId, id, kind);
    const activate = body.is_active ?? !row.is_active;
    const note = body.note ?? `${activate ? 'Resumed' : 'Paused'} by ${actor.username} through the API`;
    try {
      if (activate) await this.deps.schedules.unpause(row.schedule_id, note);
      else await this.deps.schedules.pause(row.schedule_id, note);
    } catch (err) {
      if (isScheduleNotFound(err)) {
        await this.dropOrphanRow(row, 'schedule_missing');
        throw notFound(kind);
      }
      throw err;
    }
    // While paused, next_run_at keeps the time that will be missed (ready-for-execution reports it once it passes).
    const live = activate ? await this.deps.schedules.describe(row.schedule_id) : null;
    const em = this.em();
    await em.transactional(async (tx) => {
      await setPausedState(tx, row.id, activate, activate ? null : note, live?.nextActionTimes[0]?.toISOString() ?? null);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: `${kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.${activate ? 'resume' : 'pause'}`,
        targetType: 'schedule',
        targetId: row.schedule_id,
        details: { id: row.id, note, was_active: row.is_active },
        before: { is_active: row.is_active },
        after: { is_active: activate },
      });
    });
    return this.get(actor.brandId, String(row.id), kind);
  }

  /**
   * Fires the Schedule now (Temporal trigger: the schedule's overlap policy applies unless overridden) and answers with
   * the firing's task. The pending row is written here for read-your-writes; the firing's own writes follow.
   */
  async executeNow(
    actor: Actor,
    id: string,
    body: { overlap_policy?: OverlapPolicyName },
    kind: PeriodicTaskRow['kind'] = 'periodic',
  ): Promise<{ task: TaskRow; row: PeriodicTaskRow }> {
    const row = await this.find(actor.brandId, id, kind);
    const fired = await this.fire(row, body.overlap_policy);
    await insertAudit(this.em(), {
      ...auditActor(actor),
      action: `${kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.execute_now`,
      targetType: 'schedule',
      targetId: row.schedule_id,
      details: { id: row.id, task_id: fired.task_id, overlap_policy: body.overlap_policy ?? row.overlap_policy },
    });
    return { task: fired, row };
  }

  private async fire(row: PeriodicTaskRow, overlap?: OverlapPolicyName): Promise<TaskRow> {
    const before = await this.deps.schedules.describe(row.schedule_id);
    if (!before) {
      await this.dropOrphanRow(row, 'schedule_missing');
      throw notFound(row.kind);
    }
    const known = new Set(before.recentActions.map((a) => a.workflowId));
    await recordManualTrigger(this.em(), row.schedule_id);
    await this.deps.schedules.trigger(row.schedule_id, overlap);
    const deadline = Date.now() + TRIGGER_WAIT_MS;
    for (;;) {
      const now = await this.deps.schedules.describe(row.schedule_id);
      const action = now?.recentActions.find((a) => !known.has(a.workflowId));
      if (action) return this.pendingFiringRow(row, action.workflowId);
      if (Date.now() > deadline) {
        if ((now?.numActionsSkippedOverlap ?? 0) <= before.numActionsSkippedOverlap) {
          throw new AppError(ErrorCode.SCHEDULE_RUN_QUEUED, 409, 'The run is queued behind the one in progress (overlap policy ' +
            `${overlap ?? row.overlap_policy}); it will start when that one finishes and appear in /tasks/?schedule_id=${row.schedule_id}`, {
            running: now?.runningWorkflowIds ?? [],
            overlap_policy: overlap ?? row.overlap_policy,
          });
        }
        throw new AppError(
          ErrorCode.SCHEDULE_OVERLAP_SKIPPED,
          409,
          `The schedule did not start a run: its overlap policy (${overlap ?? row.overlap_policy}) skipped it while another run is in progress. ` +
            'Pass {"overlap_policy": "allow_all"} to run it anyway.',
          { running: now?.runningWorkflowIds ?? [], overlap_policy: overlap ?? row.overlap_policy },
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async pendingFiringRow(row: PeriodicTaskRow, workflowId: string): Promise<TaskRow> {
    const em = this.em();
    const input = resolveScheduledInput(this.firingInput(row.schedule_id, row.created_by_id, row.brand_id, draftOf(row)), {
      workflowId,
      startTime: new Date(),
      scheduledStartTime: null,
    });
    await insertTaskIfMissing(em, { input, seq: mirrorSeq(0, 'pending'), status: 'pending' });
    const scheduledFor = nominalTimeFromWorkflowId(workflowId);
    if (scheduledFor) await recordFiring(em, { scheduleId: row.schedule_id, scheduledFor, taskId: workflowId, status: 'running', onlyIfNewer: true });
    const task = await findTask(em, row.brand_id, workflowId);
    if (!task) throw AppError.taskNotFound();
    return task;
  }

  /**
   * Schedules that are due now or overdue without a run: the latest firing was missed (reached a worker after its
   * catch-up window), or the next run time passed without any firing starting (paused, workers down, scheduler late).
   * A schedule whose firing is still running is not listed (its overlap policy decides).
   */
  async readyForExecution(brandId: number, limit = 500): Promise<ReadyItem[]> {
    const grace = this.deps.config.SCHEDULE_LATE_GRACE_SECONDS;
    const rows = await this.em().execute<{ id: number; reason: string; due_at: string; overdue_seconds: number }[]>(
      `select p.id,
              case when p.last_run_status = 'missed' then 'missed_run'
                   when not p.is_active then 'overdue_while_paused'
                   else 'not_started' end as reason,
              case when p.last_run_status = 'missed' then p.last_run_at else p.next_run_at end as due_at,
              extract(epoch from (clock_timestamp() - case when p.last_run_status = 'missed' then p.last_run_at else p.next_run_at end))::float8
                as overdue_seconds
         from periodic_tasks p
        where p.brand_id = ? and p.deleted_at is null
          and (p.end_at is null or p.end_at > coalesce(p.next_run_at, p.last_run_at))
          and (p.last_run_status = 'missed'
               or (p.next_run_at < clock_timestamp() - make_interval(secs => ? + p.jitter_seconds)
                   and (p.last_run_at is null or p.last_run_at < p.next_run_at)
                   and p.last_run_status is distinct from 'running'))
        order by due_at asc, p.id asc
        limit ?`,
      [brandId, grace, limit],
    );
    const em = this.em();
    const byId = await findPeriodicTasksByIds(em, brandId, rows.map((r) => r.id));
    const out: ReadyItem[] = [];
    for (const r of rows) {
      const row = byId.get(r.id);
      if (row) out.push({ row, counts: NO_RUNS, reason: r.reason as ReadyItem['reason'], dueAt: new Date(r.due_at).toISOString(), overdueSeconds: Math.round(r.overdue_seconds) });
    }
    const counts = await runCounts(em, out.map((i) => i.row.schedule_id));
    for (const item of out) item.counts = counts.get(item.row.schedule_id) ?? NO_RUNS;
    return out;
  }

  /** Fires every ready schedule (or the listed ones among them), reporting each; one failure does not stop the rest. */
  async executeReady(actor: Actor, body: { ids?: number[]; limit: number }) {
    const ready = (await this.readyForExecution(actor.brandId, body.ids ? 500 : body.limit)).filter((r) => !body.ids || body.ids.includes(r.row.id));
    const results: Record<string, unknown>[] = [];
    for (const item of ready) {
      try {
        const task = await this.fire(item.row);
        results.push({ id: item.row.id, name: item.row.name, reason: item.reason, due_at: item.dueAt, executed: true, task_id: task.task_id, task: task.id });
      } catch (err) {
        const e = err as AppError;
        results.push({ id: item.row.id, name: item.row.name, reason: item.reason, due_at: item.dueAt, executed: false, error_code: e.code ?? ErrorCode.INTERNAL_ERROR, detail: e.message });
      }
    }
    const executed = results.filter((r) => r.executed).length;
    await insertAudit(this.em(), {
      ...auditActor(actor),
      action: 'periodic_task.execute_ready',
      targetType: 'brand',
      targetId: String(actor.brandId),
      details: { found: ready.length, executed, results: results.map((r) => ({ id: r.id, executed: r.executed, task_id: r.task_id ?? null })) },
    });
    return { found: ready.length, executed, failed: ready.length - executed, results };
  }

  /** Rebuilds the skip specs of every schedule of the brand that uses the calendar (after a calendar change). */
  async resyncCalendar(actor: Actor, calendarId: number): Promise<{ updated: number }> {
    const em = this.em();
    const rows = await em.execute<{ id: number; kind: PeriodicTaskRow['kind'] }[]>(
      `select p.id, p.kind from periodic_tasks p join periodic_task_calendars c on c.periodic_task_id = p.id
        where c.calendar_id = ? and p.brand_id = ? and p.deleted_at is null`,
      [calendarId, actor.brandId],
    );
    let updated = 0;
    for (const r of rows) {
      const row = await findPeriodicTask(em, actor.brandId, String(r.id), r.kind);
      if (!row) continue;
      const definition = await this.definitionOf(em, actor.brandId, row.created_by_id, row.schedule_id, draftOf(row));
      try {
        await this.deps.schedules.update({ ...definition, paused: undefined }); // a calendar change never pauses or resumes
        updated += 1;
      } catch (err) {
        if (isScheduleNotFound(err)) await this.dropOrphanRow(row, 'schedule_missing');
        else throw err;
      }
    }
    return { updated };
  }

  // ---- building blocks ----

  /** Validates a body against the rules that need the database or the cron library, and resolves the template. */
  private async draftFromBody(actor: Actor, body: PeriodicTaskBody, current: PeriodicTaskRow | null): Promise<ScheduleDraft> {
    const cron = normalizeCronStrict(body.cron_expression);
    const timezone = resolveTimezone(body.timezone ?? current?.timezone ?? 'UTC');
    let template: Pick<ScheduleDraft, 'baseTaskId' | 'baseTaskTaskId' | 'taskType' | 'priority' | 'description' | 'contextData' | 'maxRetries' | 'timeoutMinutes'>;
    if (body.base_task !== undefined) {
      const base = await findTask(this.em(), actor.brandId, String(body.base_task));
      if (!base) throw AppError.validation({ base_task: [`Task ${body.base_task} not found in this brand`] }, 'base_task not found');
      template = {
        baseTaskId: base.id,
        baseTaskTaskId: base.task_id,
        taskType: body.task_type ?? base.task_type,
        priority: (body.priority ?? base.priority) as TaskPriority,
        description: body.description ?? base.description,
        contextData: body.context_data ?? base.context_data,
        maxRetries: body.max_retries ?? base.max_retries,
        timeoutMinutes: body.timeout_minutes !== undefined ? body.timeout_minutes : base.timeout_minutes,
      };
    } else {
      template = {
        baseTaskId: null,
        taskType: body.task_type!,
        priority: body.priority ?? 'normal',
        description: body.description ?? '',
        contextData: body.context_data ?? {},
        maxRetries: body.max_retries ?? 3,
        timeoutMinutes: body.timeout_minutes ?? null,
      };
    }
    const contextData = this.validateTemplate(template.taskType, template.contextData, 'context_data');
    return this.finishDraft(actor, {
      kind: 'periodic',
      name: body.name ?? current?.name ?? defaultName(template.taskType, body.cron_expression),
      ...template,
      contextData,
      cronExpression: body.cron_expression.trim().replace(/\s+/g, ' '),
      frequency: null,
      jobType: null,
      timezone,
      startAt: body.start_at ?? null,
      endAt: body.end_at ?? null,
      overlapPolicy: body.overlap_policy ?? 'skip',
      catchupWindowSeconds: body.catchup_window_seconds ?? this.deps.config.SCHEDULE_DEFAULT_CATCHUP_SECONDS,
      jitterSeconds: body.jitter_seconds ?? 0,
      calendarIds: [...new Set(body.calendars ?? [])],
      isActive: body.is_active ?? current?.is_active ?? true,
      note: body.note ?? null,
    }, cron);
  }

  /** Checks shared by periodic tasks and cron jobs: task type available and configured, dates, calendars. */
  async finishDraft(actor: Actor, draft: ScheduleDraft, cron: NormalizedCron): Promise<ScheduleDraft> {
    const now = Date.now();
    if (draft.endAt && Date.parse(draft.endAt) <= now) {
      throw AppError.validation({ end_at: ['Must be in the future'] }, 'end_at is in the past: this schedule would never run', ErrorCode.SCHEDULE_IN_PAST);
    }
    if (draft.startAt && draft.endAt && Date.parse(draft.endAt) <= Date.parse(draft.startAt)) {
      throw AppError.validation({ end_at: ['Must be after start_at'] });
    }
    const from = new Date(Math.max(now, draft.startAt ? Date.parse(draft.startAt) - 1 : 0));
    const upcoming = nextRuns(cron.normalized, draft.timezone, UPCOMING_RUNS, from).filter((at) => !draft.endAt || Date.parse(at) <= Date.parse(draft.endAt));
    const next = upcoming[0];
    if (!next) {
      throw AppError.validation(
        { cron_expression: ['Never matches between start_at and end_at'] },
        'This schedule has no run in its window',
        ErrorCode.SCHEDULE_IN_PAST,
      );
    }
    const missing = draft.calendarIds.length ? await missingCalendarIds(this.em(), actor.brandId, draft.calendarIds) : [];
    if (missing.length) {
      throw new AppError(ErrorCode.CALENDAR_NOT_FOUND, 400, `Calendar(s) ${missing.join(', ')} not found in this brand`, {
        field_errors: { calendars: [`Unknown calendar id(s): ${missing.join(', ')}`] },
      });
    }
    return { ...draft, upcoming: upcoming.map((at) => new Date(at).toISOString()) };
  }

  validateTemplate(taskType: string, contextData: Record<string, unknown>, field: string): Record<string, unknown> {
    const type = getTaskType(taskType);
    if (!type) {
      throw AppError.validation(
        { task_type: [`"${taskType}" is not available. Available: ${availableTaskTypes().join(', ')}`] },
        `Task type ${taskType} is not available`,
        ErrorCode.TASK_TYPE_NOT_AVAILABLE,
      );
    }
    const missing = (type.requiredConfig ?? []).filter((key) => !this.deps.config[key]);
    if (missing.length) {
      throw new AppError(ErrorCode.TASK_TYPE_NOT_CONFIGURED, 400, `Task type ${taskType} is not configured on this server: set ${missing.join(', ')}`, {
        missing_settings: missing,
      });
    }
    return parseOrThrow(type.contextSchema, contextData, field) as Record<string, unknown>;
  }

  private firingInput(scheduleId: string, createdById: number, brandId: number, draft: ScheduleDraft): TaskWorkflowInput {
    return {
      taskId: '',
      brandId,
      createdById,
      taskType: draft.taskType,
      priority: draft.priority,
      description: draft.description,
      contextData: draft.contextData,
      maxRetries: draft.maxRetries,
      retryCount: 0,
      timeoutMinutes: draft.timeoutMinutes,
      scheduledFor: null,
      createdAt: '',
      heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
      schedule: {
        scheduleId,
        catchupWindowSeconds: draft.catchupWindowSeconds,
        jitterSeconds: draft.jitterSeconds,
        lateGraceSeconds: this.deps.config.SCHEDULE_LATE_GRACE_SECONDS,
      },
    };
  }

  private async definitionOf(
    em: ReturnType<MikroORM['em']['fork']>,
    brandId: number,
    createdById: number,
    scheduleId: string,
    draft: ScheduleDraft,
  ): Promise<ScheduleDefinition> {
    const cron = normalizeCron(draft.cronExpression);
    const events = draft.calendarIds.length ? await loadCalendarEvents(em, brandId, draft.calendarIds) : [];
    return {
      scheduleId,
      cronStrings: [temporalCronString(cron)],
      calendars: dstCompensation(cron, draft.timezone, new Date()),
      skip: skipSpecsFor(events),
      timezone: draft.timezone,
      startAt: draft.startAt ? new Date(draft.startAt) : null,
      endAt: draft.endAt ? new Date(draft.endAt) : null,
      jitterSeconds: draft.jitterSeconds,
      overlap: draft.overlapPolicy,
      catchupWindowSeconds: draft.catchupWindowSeconds,
      paused: !draft.isActive,
      note: draft.note,
      input: this.firingInput(scheduleId, createdById, brandId, draft),
      memo: { ...memoOf(draft), brandId, createdById, writtenAt: new Date().toISOString() },
    };
  }

  private async viewOf(row: PeriodicTaskRow): Promise<PeriodicView> {
    const counts = (await runCounts(this.em(), [row.schedule_id])).get(row.schedule_id) ?? NO_RUNS;
    return { row, counts };
  }

  /** A row whose Schedule is gone from Temporal leaves the mirror (audited as a system action). */
  private async dropOrphanRow(row: PeriodicTaskRow, reason: string): Promise<void> {
    const em = this.em();
    await em.transactional(async (tx) => {
      if (!(await softDeletePeriodicTask(tx, row.id))) return;
      await insertAudit(tx, {
        actorId: null,
        brandId: row.brand_id,
        action: `${row.kind === 'cron_job' ? 'cron_job' : 'periodic_task'}.reconciled_delete`,
        targetType: 'schedule',
        targetId: row.schedule_id,
        details: { id: row.id, reason },
        requestId: null,
      });
    });
  }
}

export interface ReadyItem {
  row: PeriodicTaskRow;
  counts: PeriodicRunCounts;
  reason: 'missed_run' | 'overdue_while_paused' | 'not_started';
  dueAt: string;
  overdueSeconds: number;
}

/** The row a draft is stored as (also how the reconciler rebuilds a row from the draft kept in a Schedule's memo). */
export function periodicWrite(scheduleId: string, owner: { brandId: number; createdById: number }, draft: ScheduleDraft): PeriodicTaskWrite {
  const next = draft.upcoming?.[0] ?? null;
  return {
    scheduleId,
    kind: draft.kind,
    brandId: owner.brandId,
    createdById: owner.createdById,
    name: draft.name,
    baseTaskId: draft.baseTaskId,
    taskType: draft.taskType,
    priority: draft.priority,
    description: draft.description,
    contextData: draft.contextData,
    maxRetries: draft.maxRetries,
    timeoutMinutes: draft.timeoutMinutes,
    cronExpression: draft.cronExpression,
    frequency: draft.frequency,
    jobType: draft.jobType,
    timezone: draft.timezone,
    startAt: draft.startAt,
    endAt: draft.endAt,
    overlapPolicy: draft.overlapPolicy,
    catchupWindowSeconds: draft.catchupWindowSeconds,
    jitterSeconds: draft.jitterSeconds,
    isActive: draft.isActive,
    pausedNote: draft.isActive ? null : draft.note,
    // Computed locally at write time (the Schedule's own next time replaces it on the first read or firing).
    nextRunAt: next,
    calendarIds: draft.calendarIds,
  };
}

/** The definition kept in the Schedule's memo (what the reconciler needs to rebuild a row), without derived values. */
function memoOf(draft: ScheduleDraft): Omit<ScheduleDraft, 'upcoming' | 'baseTaskTaskId'> {
  const { upcoming: _upcoming, baseTaskTaskId: _baseTaskTaskId, ...definition } = draft;
  return definition;
}

/** The stored row as a draft (for resyncs and execute-now). */
export function draftOf(row: PeriodicTaskRow): ScheduleDraft {
  return {
    kind: row.kind,
    name: row.name,
    baseTaskId: row.base_task_id,
    taskType: row.task_type,
    priority: row.priority as TaskPriority,
    description: row.description,
    contextData: row.context_data,
    maxRetries: row.max_retries,
    timeoutMinutes: row.timeout_minutes,
    cronExpression: row.cron_expression,
    frequency: row.frequency,
    jobType: row.job_type,
    timezone: row.timezone,
    startAt: row.start_at ? new Date(row.start_at).toISOString() : null,
    endAt: row.end_at ? new Date(row.end_at).toISOString() : null,
    overlapPolicy: row.overlap_policy as OverlapPolicyName,
    catchupWindowSeconds: row.catchup_window_seconds,
    jitterSeconds: row.jitter_seconds,
    calendarIds: row.calendar_ids,
    isActive: row.is_active,
    note: row.paused_note,
  };
}

/** The stored row as a request body (PATCH merges the change into it). */
function bodyOf(row: PeriodicTaskRow): PeriodicTaskBody {
  return {
    name: row.name,
    cron_expression: row.cron_expression,
    timezone: row.timezone,
    start_at: row.start_at ? new Date(row.start_at).toISOString() : null,
    end_at: row.end_at ? new Date(row.end_at).toISOString() : null,
    overlap_policy: row.overlap_policy as OverlapPolicyName,
    catchup_window_seconds: row.catchup_window_seconds,
    jitter_seconds: row.jitter_seconds,
    calendars: row.calendar_ids,
    is_active: row.is_active,
    task_type: row.task_type,
    priority: row.priority as TaskPriority,
    description: row.description,
    context_data: row.context_data,
    max_retries: row.max_retries,
    timeout_minutes: row.timeout_minutes,
    ...(row.paused_note ? { note: row.paused_note } : {}),
  };
}

/** normalizeCron, plus a syntax check by the cron library (position and reason of the error). */
export function normalizeCronStrict(expression: string): NormalizedCron {
  // validate-cron's rules: INVALID_CRON_EXPRESSION with the field at fault, FREQUENCY_NOT_SUPPORTED for what Temporal cannot run.
  return checkCron(expression);
}

function defaultName(taskType: string, cron: string): string {
  return `${taskType} (${cron.trim()})`.slice(0, 200);
}

function notFound(kind: PeriodicTaskRow['kind']): AppError {
  return new AppError(ErrorCode.SCHEDULE_NOT_FOUND, 404, kind === 'cron_job' ? 'Cron job not found' : 'Periodic task not found');
}

/** Temporal's own validation of the spec (INVALID_ARGUMENT) is an input error, never a 500. */
function refusedByTemporal(err: unknown): unknown {
  // The SDK turns "3 INVALID_ARGUMENT: Invalid schedule spec: …" into a TypeError and wraps other gRPC errors in a
  // ServiceError whose cause carries the code.
  const e = err as { code?: number; details?: string; message?: string; cause?: { code?: number; details?: string; message?: string } };
  const invalid = err instanceof TypeError || e?.code === 3 || e?.cause?.code === 3;
  if (!invalid) return err;
  const reason = e.cause?.details ?? e.details ?? e.message ?? 'refused by the scheduler';
  return new AppError(ErrorCode.FREQUENCY_NOT_SUPPORTED, 400, `The scheduler cannot run this schedule: ${reason}`, {
    field_errors: { cron_expression: [reason] },
    reason,
  });
}

function isScheduleNotFound(err: unknown): boolean {
  return (err as Error)?.name === 'ScheduleNotFoundError' || (err as { code?: number })?.code === 5;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
