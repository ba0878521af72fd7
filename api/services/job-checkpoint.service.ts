import type { MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { crawlJob, crawlJobStateSchema } from '../../activities/jobs/crawl.job';
import { exportJob, exportJobPaths, exportJobStateSchema } from '../../activities/jobs/export.job';
import { itemJob, itemJobStateSchema } from '../../activities/jobs/item.job';
import type { JobRunner } from '../../activities/jobs/job-runner';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { checksumOf, insertCheckpoint, type CheckpointRow } from '../../db/repositories/persistent-job.repository';
import type { JobRow } from '../../db/repositories/persistent-job-query.repository';
import { dataExportContextSchema } from '../../workflows/tasks/data-export';
import { itemJobDataSchema, JOB_TYPES, type JobTypeName } from '../../workflows/contracts/job-types';
import type { AppConfig } from '../config';
import { AppError, ErrorCode, type FieldErrors } from '../errors';
import type { CreateCheckpointBody, PatchCheckpointBody } from '../schemas/persistent-jobs.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { PersistentJobService } from './persistent-job.service';
import type { Actor } from './task.service';

/**
 * Each job type's resumable state schema and runner (the runner names the step a state is at). A job type without
 * an entry refuses manual checkpoints (400).
 */
const STATE: Partial<Record<JobTypeName, { schema: z.ZodType<Record<string, unknown>>; runner: JobRunner }>> = {
  noop: { schema: itemJobStateSchema, runner: itemJob },
  data_export: { schema: exportJobStateSchema, runner: exportJob },
  sitemap_generation: { schema: crawlJobStateSchema, runner: crawlJob },
};

const ACTIVE = ['running', 'pending'];

/**
 * Checkpoint CRUD (seed 000 JobCheckpoint). Manual checkpoints import or repair a job's position: the server
 * validates the state against the job type, computes the checksum, and a later resume uses the newest that verifies.
 */
export class JobCheckpointService {
  constructor(private readonly deps: { orm: MikroORM; jobs: PersistentJobService; config: AppConfig }) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  async get(brandId: number, id: string): Promise<CheckpointRow> {
    const rows = /^\d{1,15}$/.test(id)
      ? await this.em().execute<CheckpointRow[]>(`select * from job_checkpoints where id = ? and brand_id = ?`, [Number(id), brandId])
      : [];
    if (!rows[0]) throw new AppError(ErrorCode.NOT_FOUND, 404, 'Checkpoint not found');
    return { ...rows[0], id: Number(rows[0].id) };
  }

  async create(actor: Actor, body: CreateCheckpointBody): Promise<CheckpointRow> {
    const job = await this.deps.jobs.get(actor.brandId, String(body.job));
    this.assertStopped(job, 'A manual checkpoint');
    const state = this.validate(job, job.generation, body);
    const id = await this.em().transactional(async (tx) => {
      const cp = await insertCheckpoint(tx, {
        jobId: job.id,
        brandId: actor.brandId,
        generation: job.generation,
        step: body.step,
        itemsDone: body.items_done,
        state,
        isMilestone: body.is_milestone,
        source: 'manual',
      });
      await this.audit(tx, actor, 'checkpoint.create', cp.id, job, { sequence: cp.sequence, step: body.step, items_done: body.items_done });
      return cp.id;
    });
    return this.get(actor.brandId, String(id));
  }

  /** PUT (full) and PATCH (partial): manual checkpoints only; the checksum and size are recomputed. */
  async update(actor: Actor, id: string, body: PatchCheckpointBody): Promise<CheckpointRow> {
    const cp = await this.get(actor.brandId, id);
    if (cp.source !== 'manual') {
      throw new AppError(ErrorCode.INVALID_OPERATION, 409, 'Only manual checkpoints can be modified; checkpoints written by the job are immutable', { source: cp.source });
    }
    const job = await this.deps.jobs.get(actor.brandId, String(cp.job_id));
    this.assertStopped(job, 'A checkpoint');
    const merged = {
      step: body.step ?? cp.step,
      items_done: body.items_done ?? cp.items_done,
      state: body.state ?? cp.state ?? {},
      is_milestone: body.is_milestone ?? cp.is_milestone,
    };
    const state = this.validate(job, cp.generation, merged);
    const json = JSON.stringify(state);
    await this.em().transactional(async (tx) => {
      await tx.execute(
        `update job_checkpoints set step = ?, items_done = ?, state = ?::jsonb, checksum = ?, size_bytes = ?, is_milestone = ?, compacted = false where id = ?`,
        [merged.step, merged.items_done, json, checksumOf(state), Buffer.byteLength(json), merged.is_milestone, cp.id],
      );
      await this.audit(tx, actor, 'checkpoint.update', cp.id, job, { fields: Object.keys(body), step: merged.step, items_done: merged.items_done });
    });
    return this.get(actor.brandId, id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const cp = await this.get(actor.brandId, id);
    const job = await this.deps.jobs.get(actor.brandId, String(cp.job_id)).catch(() => null);
    if (job) this.assertStopped(job, 'A checkpoint');
    await this.em().transactional(async (tx) => {
      await tx.execute(`delete from job_checkpoints where id = ?`, [cp.id]);
      await this.audit(tx, actor, 'checkpoint.delete', cp.id, job, {
        job_id: cp.job_id,
        generation: cp.generation,
        sequence: cp.sequence,
        source: cp.source,
        items_done: cp.items_done,
      });
    });
  }

  private assertStopped(job: JobRow, what: string) {
    if (ACTIVE.includes(job.status)) {
      throw new AppError(ErrorCode.INVALID_JOB_STATE, 409, `${what} cannot change while the job is ${job.status}; pause or cancel it first`, {
        current_status: job.status,
        allowed_statuses: ['paused', 'completed', 'failed', 'cancelled'],
      });
    }
  }

  /** The state against the job type's schema, and its coherence with the job (step, items_done, totals, paths). */
  private validate(job: JobRow, generation: number, body: { step: string; items_done: number; state: Record<string, unknown> }): Record<string, unknown> {
    const jobType = job.job_type as JobTypeName;
    const spec = STATE[jobType];
    if (!spec) throw AppError.validation({ job: [`Job type ${job.job_type} does not accept manual checkpoints`] });
    const state = parseOrThrow(spec.schema, body.state, 'state');
    const errors: FieldErrors = {};
    const add = (k: string, m: string) => (errors[k] ??= []).push(m);
    const steps: readonly string[] = JOB_TYPES[jobType].steps;
    if (!steps.includes(body.step)) add('step', `Choices for ${jobType}: ${steps.join(', ')}`);
    else if (spec.runner.step(state) !== body.step) add('step', `The state is at step "${spec.runner.step(state)}"`);
    if (jobType === 'noop') {
      const s = state as z.infer<typeof itemJobStateSchema>;
      const data = itemJobDataSchema.safeParse(job.job_data);
      if (data.success && s.total !== data.data.total_items) add('state.total', `Must be the job's total_items (${data.data.total_items})`);
      if (body.items_done !== s.next) add('items_done', `Must equal state.next (${s.next}): items 0..next-1 are done`);
    } else if (jobType === 'data_export') {
      const s = state as z.infer<typeof exportJobStateSchema>;
      const data = dataExportContextSchema.safeParse(job.job_data);
      if (data.success) {
        const expected = exportJobPaths(this.deps.config.EXPORT_DIR, { brandId: job.brand_id, taskId: job.task_id, jobId: job.id, generation }, data.data.format);
        if (s.finalPath !== expected.finalPath) add('state.finalPath', `Must be the job's own file: ${expected.finalPath}`);
        if (s.partPath !== expected.partPath) add('state.partPath', `Must be the job's own file: ${expected.partPath}`);
      }
      if (s.lastId > s.maxId) add('state.lastId', 'Cannot be greater than maxId');
      if (body.items_done !== s.rows) add('items_done', `Must equal state.rows (${s.rows})`);
    }
    if (Object.keys(errors).length) throw AppError.validation(errors);
    return state;
  }

  private audit(tx: Parameters<typeof insertAudit>[0], actor: Actor, action: string, checkpointId: number, job: JobRow | null, details: Record<string, unknown>) {
    return insertAudit(tx, {
      ...auditActor(actor),
      action,
      targetType: 'job_checkpoint',
      targetId: String(checkpointId),
      details: { job_id: job?.id ?? null, task_id: job?.task_id ?? null, ...details },
    });
  }
}
