import type { MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ulid } from 'ulid';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { isCheckpointValid, newestValidCheckpoint, type CheckpointRow } from '../../db/repositories/persistent-job.repository';
import {
  deleteJobRow,
  findJob,
  findJobByTaskId,
  insertJob,
  jobCanResume,
  jobHasCheckpoints,
  markJobStarting,
  resetJobProgress,
  SELECT_JOB,
  updateJobFields,
  type JobRow,
} from '../../db/repositories/persistent-job-query.repository';
import { escapeLike, findTask, type TaskRow } from '../../db/repositories/task-query.repository';
import { insertTaskIfMissing } from '../../db/repositories/task-mirror.repository';
import { isJobType, JOB_TYPES, jobSettingsSchema, type JobSettings, type JobTypeName, type JobWorkflowInput } from '../../workflows/contracts/job-types';
import { ACTIVE_STATUSES, type TaskPriority, type TaskStatus } from '../../workflows/contracts/task-types';
import { mirrorSeq, runOfSeq, type TaskWorkflowInput } from '../../workflows/contracts/task-workflow';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { JOB_ORDERING, type CreateJobBody, type ListJobsQuery, type PatchJobBody } from '../schemas/persistent-jobs.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { JobWorkflowGateway } from '../temporal/job-workflows';
import type { Actor } from './task.service';

const WAIT_MS = 5_000;


/** A start that finds the base task's previous run still closing retries this many times 100 ms. */
const START_CLOSE_WAIT_STEPS = 30;
/** Who acts on a job: a user, or the system (userId null: the auto-resume schedule). */
export type JobActor = Omit<Actor, 'userId'> & { userId: number | null };
const FINISHED = ['completed', 'failed', 'cancelled'];

/**
 * task_persistence: a persistent job is bound one-to-one to its base task and runs as a new run of the task's
 * workflow id (so Temporal itself enforces one open execution per task). Its rows mirror what the workflow records.
 */
export class PersistentJobService {
  constructor(private readonly deps: { orm: MikroORM; jobs: JobWorkflowGateway; config: AppConfig }) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  async get(brandId: number, id: string): Promise<JobRow> {
    const job = /^\d{1,9}$/.test(id) ? await findJob(this.em(), brandId, Number(id)) : null;
    if (!job) throw new AppError(ErrorCode.NOT_FOUND, 404, 'Persistent job not found');
    return job;
  }

  async findForTask(brandId: number, taskId: string): Promise<JobRow | null> {
    return findJobByTaskId(this.em(), brandId, taskId);
  }

  async list(brandId: number, q: ListJobsQuery): Promise<{ count: number; rows: JobRow[]; page: number; pageSize: number }> {
    const where = ['j.brand_id = ?', 'j.deleted_at is null'];
    const params: unknown[] = [brandId];
    const add = (cond: string, ...p: unknown[]) => {
      where.push(cond);
      params.push(...p);
    };
    const inList = (col: string, values?: string[]) => values && add(`${col} in (${values.map(() => '?').join(', ')})`, ...values);
    inList('j.status', q.status);
    inList('j.job_type', q.job_type);
    inList('j.current_step', q.current_step);
    if (q.progress_gte !== undefined) add('j.progress_percentage >= ?', q.progress_gte);
    if (q.progress_lte !== undefined) add('j.progress_percentage <= ?', q.progress_lte);
    if (q.auto_resume !== undefined) add('j.auto_resume = ?', q.auto_resume);
    if (q.created_after) add('j.created_at >= ?', q.created_after);
    if (q.created_before) add('j.created_at <= ?', q.created_before);
    if (q.updated_after) add('j.updated_at >= ?', q.updated_after);
    if (q.search) add(`(j.task_id || ' ' || j.job_type) ilike ? escape '\\'`, `%${escapeLike(q.search)}%`);
    if (q.has_checkpoints !== undefined) add(q.has_checkpoints ? jobHasCheckpoints('j') : `not ${jobHasCheckpoints('j')}`);
    if (q.can_resume !== undefined) add(q.can_resume ? jobCanResume('j') : `not ${jobCanResume('j')}`);
    const ordering = q.ordering ?? ['-created_at'];
    const orderBy = ordering.map((f) => `${JOB_ORDERING[f.replace(/^-/, '') as keyof typeof JOB_ORDERING]} ${f.startsWith('-') ? 'desc' : 'asc'}`).concat('j.id desc').join(', ');
    const pageSize = Math.min(q.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const em = this.em();
    const [rows, count] = await Promise.all([
      em.execute<JobRow[]>(`${SELECT_JOB} where ${where.join(' and ')} order by ${orderBy} limit ? offset ?`, [...params, pageSize, (q.page - 1) * pageSize]),
      em.execute<{ n: number }[]>(`select count(*)::int as n from persistent_jobs j where ${where.join(' and ')}`, params),
    ]);
    return { count: count[0]?.n ?? 0, rows, page: q.page, pageSize };
  }

  /** Validates `job_data` (and settings) for a job type without creating anything. */
  validateConfig(jobType: string, jobData: Record<string, unknown>, settings: Record<string, unknown> = {}) {
    if (!isJobType(jobType)) {
      throw AppError.validation({ job_type: [`"${jobType}" cannot run as a persistent job. Job types: ${Object.keys(JOB_TYPES).join(', ')}`] });
    }
    const normalized = parseOrThrow(JOB_TYPES[jobType].dataSchema, jobData, 'job_data') as Record<string, unknown>;
    const normalizedSettings = parseOrThrow(jobSettingsSchema, settings, 'settings');
    return { job_type: jobType, steps: JOB_TYPES[jobType].steps, job_data: normalized, settings: normalizedSettings };
  }

  async create(actor: Actor, body: CreateJobBody): Promise<JobRow> {
    const em = this.em();
    let task: TaskRow;
    if (typeof body.base_task === 'object') {
      const jobType = body.base_task.task_type;
      const cfg = this.validateConfig(jobType, body.job_data ?? body.base_task.context_data, body.settings);
      const input = this.taskInput(actor, {
        taskId: `task_${ulid().toLowerCase()}`,
        taskType: jobType,
        priority: body.base_task.priority,
        description: body.base_task.description,
        contextData: body.base_task.context_data,
      });
      await insertTaskIfMissing(em, { input, seq: mirrorSeq(0, 'pending'), status: 'pending' });
      task = (await findTask(em, actor.brandId, input.taskId))!;
      return this.startNew(actor, task, cfg.job_data, cfg.settings, body.auto_resume);
    }
    const found = await findTask(em, actor.brandId, String(body.base_task));
    if (!found) throw AppError.taskNotFound();
    task = found;
    const cfg = this.validateConfig(task.task_type, body.job_data ?? task.context_data, body.settings);
    const existing = await findJobByTaskId(em, actor.brandId, task.task_id);
    if (existing) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `Task ${task.id} already has persistent job ${existing.id}`, { job_id: existing.id });
    }
    if (ACTIVE_STATUSES.includes(task.status as TaskStatus)) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `The base task is ${task.status}: one execution per task at a time (cancel it or wait)`, {
        current_status: task.status,
        allowed_statuses: FINISHED,
      });
    }
    return this.startNew(actor, task, cfg.job_data, cfg.settings, body.auto_resume);
  }

  private async startNew(actor: Actor, task: TaskRow, jobData: Record<string, unknown>, settings: JobSettings, autoResume: boolean): Promise<JobRow> {
    const em = this.em();
    const jobType = task.task_type as JobTypeName;
    const jobId = await insertJob(em, { taskId: task.task_id, brandId: actor.brandId, jobType, jobData, settings, steps: JOB_TYPES[jobType].steps, autoResume });
    try {
      await this.startRun(task, jobId, jobType, jobData, settings, 0);
    } catch (err) {
      await deleteJobRow(em, jobId); // nothing started: leave no half-created job behind
      throw err;
    }
    await insertAudit(em, { ...auditActor(actor), action: 'job.create', targetType: 'persistent_job', targetId: String(jobId), details: { task_id: task.task_id, job_type: jobType } });
    return this.get(actor.brandId, String(jobId));
  }

  private taskInput(actor: Actor, t: { taskId: string; taskType: string; priority: TaskPriority; description: string; contextData: Record<string, unknown> }): TaskWorkflowInput {
    return {
      taskId: t.taskId,
      brandId: actor.brandId,
      createdById: actor.userId,
      taskType: t.taskType,
      priority: t.priority,
      description: t.description,
      contextData: t.contextData,
      maxRetries: 3,
      retryCount: 0,
      timeoutMinutes: null,
      scheduledFor: null,
      createdAt: new Date().toISOString(),
      heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
      runNumber: 0,
    };
  }

  /** A new run of the task's workflow id in the next seq block; Temporal refuses it while another run is open. */
  private async startRun(task: TaskRow, jobId: number, jobType: JobTypeName, jobData: Record<string, unknown>, settings: JobSettings, generation: number) {
    const runNumber = runOfSeq(task.seq) + 1;
    const input: JobWorkflowInput = {
      task: {
        taskId: task.task_id,
        brandId: task.brand_id,
        createdById: task.created_by_id,
        taskType: task.task_type,
        priority: task.priority as TaskPriority,
        description: task.description,
        contextData: task.context_data,
        maxRetries: task.max_retries,
        retryCount: task.retry_count,
        timeoutMinutes: null,
        scheduledFor: null,
        createdAt: new Date(task.created_at).toISOString(),
        heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
        runNumber,
      },
      jobId,
      jobType,
      jobData,
      generation,
      settings: jobSettingsSchema.parse(settings),
    };
    await markJobStarting(this.em(), jobId, generation, mirrorSeq(runNumber - 1, 'reconciled'));
    // The base task's workflow writes its terminal row just before it closes: a start in that instant waits for the
    // close (up to 3 s, as a task retry does); a run that stays open is another execution and is refused.
    for (let waited = 0; ; waited++) {
      try {
        return await this.deps.jobs.start(input);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        if (waited >= START_CLOSE_WAIT_STEPS) {
          throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'The base task already has an open execution', { current_status: task.status });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async update(actor: Actor, id: string, body: PatchJobBody): Promise<JobRow> {
    const job = await this.get(actor.brandId, id);
    // auto_resume is always safe; job_data only before any item ran; settings whenever no batch is running.
    if (body.job_data !== undefined && !(job.status === 'pending' && job.items_done === 0 && job.checkpoints_count === 0)) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'job_data can only change before the job has processed anything; restart/ with new data instead', {
        current_status: job.status,
        allowed_statuses: ['pending'],
      });
    }
    if (body.settings !== undefined && job.status === 'running') {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'settings cannot change while the job runs; pause it first', { current_status: job.status, allowed_statuses: ['pending', 'paused', 'completed', 'failed', 'cancelled'] });
    }
    const jobData = body.job_data !== undefined ? this.validateConfig(job.job_type, body.job_data).job_data : undefined;
    const settings = body.settings !== undefined ? jobSettingsSchema.parse({ ...job.settings, ...body.settings }) : undefined;
    await updateJobFields(this.em(), job.id, { jobData, settings, autoResume: body.auto_resume });
    return this.get(actor.brandId, id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const job = await this.get(actor.brandId, id);
    if (!FINISHED.includes(job.status)) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `Cannot delete a ${job.status} job; cancel its task first`, { current_status: job.status, allowed_statuses: FINISHED });
    }
    await this.em().transactional(async (tx) => {
      await deleteJobRow(tx, job.id);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: 'job.delete',
        targetType: 'persistent_job',
        targetId: String(job.id),
        details: { task_id: job.task_id, job_type: job.job_type, status: job.status, items_done: job.items_done, checkpoints: job.checkpoints_count },
        before: { status: job.status, items_done: job.items_done },
      });
    });
  }

  async pause(actor: Actor, id: string, reason?: string) {
    const job = await this.get(actor.brandId, id);
    if (job.status === 'paused') throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'The job is already paused', { current_status: job.status, allowed_statuses: ['running'] });
    if (job.status !== 'running' && job.status !== 'pending') {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `Cannot pause a ${job.status} job`, { current_status: job.status, allowed_statuses: ['running'] });
    }
    await this.signal(() => this.deps.jobs.pause(job.task_id, reason), job);
    await this.audit(actor, 'job.pause', job, { reason: reason ?? null });
    const after = await this.waitFor(actor.brandId, job.id, (j) => j.status !== 'running' && j.status !== 'pending');
    return { message: after.status === 'paused' ? 'Job paused' : 'Pause requested', job: after };
  }

  /** `auditDetails` are added to the `job.resume` audit row (e.g. `{by: 'auto-resume schedule'}`). */
  async resume(actor: JobActor, id: string, auditDetails: Record<string, unknown> = {}) {
    const job = await this.get(actor.brandId, id);
    if (job.status === 'running' || job.status === 'pending') {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'The job is already running', { current_status: job.status, allowed_statuses: ['paused', 'failed', 'cancelled'] });
    }
    if (job.status === 'paused') {
      await this.signal(() => this.deps.jobs.resume(job.task_id), job);
      await this.audit(actor, 'job.resume', job, { from: 'paused', ...auditDetails });
      const after = await this.waitFor(actor.brandId, job.id, (j) => j.status !== 'paused');
      return { message: 'Job resumed', resumed_from: 'pause', job: after };
    }
    if (job.status === 'completed') {
      throw new AppError(ErrorCode.JOB_NOT_RESUMABLE, 409, 'A completed job cannot be resumed; restart/ runs it again from zero', { current_status: job.status, allowed_statuses: ['paused', 'failed', 'cancelled'] });
    }
    const { valid, corrupted } = await newestValidCheckpoint(this.em(), job.id, job.generation);
    if (!valid) {
      throw new AppError(ErrorCode.JOB_NOT_RESUMABLE, 409, 'The job has no valid checkpoint to resume from; restart/ runs it from zero', {
        current_status: job.status,
        corrupted_checkpoints: corrupted.map((c) => c.id),
      });
    }
    const task = (await findTask(this.em(), actor.brandId, job.task_id))!;
    await this.startRun(task, job.id, job.job_type as JobTypeName, job.job_data, job.settings as JobSettings, job.generation);
    await this.audit(actor, 'job.resume', job, { from: job.status, checkpoint_id: valid.id, items_done: valid.items_done, ...auditDetails });
    return {
      message: 'Job resumed from its last valid checkpoint',
      resumed_from: { checkpoint_id: valid.id, sequence: valid.sequence, items_done: valid.items_done, step: valid.step },
      corrupted_checkpoints: corrupted.map((c) => ({ id: c.id, error_code: ErrorCode.CHECKPOINT_CORRUPTED })),
      job: await this.get(actor.brandId, id),
    };
  }

  async restart(actor: Actor, id: string) {
    const job = await this.get(actor.brandId, id);
    if (!FINISHED.includes(job.status)) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `Cannot restart a ${job.status} job; cancel its task first`, { current_status: job.status, allowed_statuses: FINISHED });
    }
    const task = (await findTask(this.em(), actor.brandId, job.task_id))!;
    await resetJobProgress(this.em(), job.id);
    await this.startRun(task, job.id, job.job_type as JobTypeName, job.job_data, job.settings as JobSettings, job.generation + 1);
    await this.audit(actor, 'job.restart', job, { previous_generation: job.generation, generation: job.generation + 1 });
    return { message: 'Job restarted from zero (earlier checkpoints kept as history)', job: await this.get(actor.brandId, id) };
  }

  async resumable(brandId: number) {
    return this.list(brandId, { can_resume: true, page: 1, page_size: this.deps.config.PAGE_SIZE_MAX });
  }

  async stats(brandId: number) {
    const em = this.em();
    const [byStatus, totals] = await Promise.all([
      em.execute<{ status: string; n: number }[]>(`select status, count(*)::int as n from persistent_jobs where brand_id = ? and deleted_at is null group by status`, [brandId]),
      em.execute<{ jobs: number; avg_progress: number | null; avg_throughput: number | null; checkpoints: number; checkpoint_bytes: string | null; items_done: string | null }[]>(
        `select count(*)::int as jobs, avg(progress_percentage)::float8 as avg_progress, avg(throughput_per_second)::float8 as avg_throughput,
                (select count(*)::int from job_checkpoints c where c.brand_id = ?) as checkpoints,
                (select sum(size_bytes) from job_checkpoints c where c.brand_id = ? and not c.compacted) as checkpoint_bytes,
                sum(items_done) as items_done
           from persistent_jobs where brand_id = ? and deleted_at is null`,
        [brandId, brandId, brandId],
      ),
    ]);
    const t = totals[0]!;
    return {
      total_jobs: t.jobs,
      by_status: Object.fromEntries(['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'].map((s) => [s, byStatus.find((r) => r.status === s)?.n ?? 0])),
      items_processed: Number(t.items_done ?? 0),
      average_progress_percentage: t.avg_progress === null ? null : Math.round(t.avg_progress * 10) / 10,
      average_throughput_per_second: t.avg_throughput === null ? null : Math.round(t.avg_throughput * 100) / 100,
      checkpoints: { count: t.checkpoints, bytes: Number(t.checkpoint_bytes ?? 0) },
    };
  }

  private async signal(send: () => Promise<void>, job: JobRow) {
    try {
      await send();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, 'The job has no open execution', { current_status: job.status });
      }
      throw err;
    }
  }

  private async waitFor(brandId: number, jobId: number, done: (j: JobRow) => boolean): Promise<JobRow> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const j = await this.get(brandId, String(jobId));
      if (done(j) || Date.now() > deadline) return j;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private audit(actor: JobActor, action: string, job: JobRow, details: Record<string, unknown>) {
    return insertAudit(this.em(), {
      ...auditActor(actor),
      action,
      targetType: 'persistent_job',
      targetId: String(job.id),
      details: { task_id: job.task_id, ...details },
      before: { status: job.status },
    });
  }
}

export function checkpointView(cp: CheckpointRow) {
  const valid = isCheckpointValid(cp);
  return {
    id: Number(cp.id),
    job: cp.job_id,
    generation: cp.generation,
    sequence: cp.sequence,
    step: cp.step,
    items_done: cp.items_done,
    checksum: cp.checksum,
    size_bytes: cp.size_bytes,
    is_milestone: cp.is_milestone,
    source: cp.source,
    compacted: cp.compacted,
    valid,
    ...(valid || cp.compacted ? {} : { error_code: ErrorCode.CHECKPOINT_CORRUPTED, detail: 'The state does not match its sha256 checksum; resumes skip this checkpoint' }),
    created_at: new Date(cp.created_at).toISOString(),
  };
}
