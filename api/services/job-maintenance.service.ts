import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { newestValidCheckpoint } from '../../db/repositories/persistent-job.repository';
import { jobCanResume } from '../../db/repositories/persistent-job-query.repository';
import { AppError, ErrorCode } from '../errors';
import type { CleanupOldBody, OptimizeStorageBody } from '../schemas/persistent-jobs.schemas';
import type { JobActor, PersistentJobService } from './persistent-job.service';
import type { Actor } from './task.service';

/** Jobs one auto-resume pass looks at (the schedule runs again at the next interval). */
const AUTO_RESUME_LIMIT = 500;

export interface AutoResumeResult {
  job_id: number;
  status_before: string;
  action: 'resume' | 'would_resume';
  outcome: 'resumed' | 'skipped' | 'failed';
  reason?: string;
  error_code?: string;
}

export interface AutoResumeReport {
  dry_run: boolean;
  /** Jobs resumed (or, in a dry run, that would be). */
  count: number;
  results: AutoResumeResult[];
}

export interface CleanupReport {
  dry_run: boolean;
  older_than_days: number;
  jobs: number;
  checkpoints: number;
  ledger_items: number;
  bytes: number;
}

export interface OptimizeReport {
  dry_run: boolean;
  jobs: number;
  compacted: number;
  bytes_before: number;
  bytes_after: number;
}

/** The system actor of the auto-resume schedule: audited with actor null. */
export const systemActor = (brandId: number): JobActor => ({ userId: null, username: 'system', brandId, brandName: '', requestId: null });
export const AUTO_RESUME_BY_SCHEDULE = { by: 'auto-resume schedule' } as const;

/**
 * task_persistence bulk actions: auto-resume (also run by the `system-auto-resume-jobs` schedule), cleanup of old
 * finished jobs, and checkpoint storage compaction.
 */
export class JobMaintenanceService {
  constructor(private readonly deps: { orm: MikroORM; jobs: PersistentJobService }) {}

  private em(): EntityManager {
    return this.deps.orm.em.fork();
  }

  /**
   * Resumes, through the same rules as `resume/`, every job with `auto_resume` that can resume now: paused, or
   * failed/cancelled with checkpoints in its generation (one of which must verify). `brandIds` undefined: all brands.
   * Refusals of one job (AppError) are reported in its result; the others still run.
   */
  async autoResume(opts: { brandIds?: number[]; dryRun: boolean; actorFor: (brandId: number) => JobActor; auditDetails: Record<string, unknown> }): Promise<AutoResumeReport> {
    const em = this.em();
    const params: unknown[] = [];
    let brandFilter = '';
    if (opts.brandIds) {
      if (opts.brandIds.length === 0) return { dry_run: opts.dryRun, count: 0, results: [] };
      brandFilter = 'and j.brand_id = any(?::int[])';
      params.push(`{${opts.brandIds.map((b) => Math.trunc(b)).join(',')}}`);
    }
    const candidates = await em.execute<{ id: number; brand_id: number; status: string; generation: number }[]>(
      `select j.id, j.brand_id, j.status, j.generation from persistent_jobs j
        where j.auto_resume and j.deleted_at is null ${brandFilter}
          and ${jobCanResume('j')}
        order by j.id limit ?`,
      [...params, AUTO_RESUME_LIMIT],
    );
    const results: AutoResumeResult[] = [];
    for (const job of candidates) {
      const action = opts.dryRun ? 'would_resume' : 'resume';
      if (job.status !== 'paused') {
        const { valid, corrupted } = await newestValidCheckpoint(em, job.id, job.generation);
        if (!valid) {
          results.push({
            job_id: job.id,
            status_before: job.status,
            action,
            outcome: 'skipped',
            reason: `no valid checkpoint to resume from (${corrupted.length} corrupted)`,
            error_code: ErrorCode.CHECKPOINT_CORRUPTED,
          });
          continue;
        }
      }
      if (opts.dryRun) {
        results.push({ job_id: job.id, status_before: job.status, action, outcome: 'skipped', reason: 'dry run: would resume' });
        continue;
      }
      try {
        await this.deps.jobs.resume(opts.actorFor(job.brand_id), String(job.id), opts.auditDetails);
        results.push({ job_id: job.id, status_before: job.status, action, outcome: 'resumed' });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results.push({ job_id: job.id, status_before: job.status, action, outcome: 'failed', reason: err.detail, error_code: err.code });
      }
    }
    const count = opts.dryRun
      ? results.filter((r) => r.reason?.startsWith('dry run')).length
      : results.filter((r) => r.outcome === 'resumed').length;
    return { dry_run: opts.dryRun, count, results };
  }

  /**
   * Deletes the brand's finished jobs whose completed_at (or updated_at) is older than the bound, with their
   * checkpoints and ledger rows, and the checkpoints of older generations (restarted jobs) older than the bound.
   * One transaction: the counts answered (and audited) are the rows deleted.
   */
  async cleanupOld(actor: Actor, body: CleanupOldBody): Promise<CleanupReport> {
    const cutoff = new Date(Date.now() - body.older_than_days * 86_400_000).toISOString();
    return this.em().transactional(async (tx) => {
      const jobs = await tx.execute<{ id: number }[]>(
        `select id from persistent_jobs
          where brand_id = ? and status in ('completed', 'failed', 'cancelled') and coalesce(completed_at, updated_at) < ?::timestamptz
          order by id ${body.dry_run ? '' : 'for update'}`,
        [actor.brandId, cutoff],
      );
      const ids = `{${jobs.map((j) => j.id).join(',')}}`;
      const checkpointsWhere = `c.brand_id = ? and (c.job_id = any(?::int[])
          or (c.created_at < ?::timestamptz and c.generation < (select j.generation from persistent_jobs j where j.id = c.job_id)))`;
      const cpParams = [actor.brandId, ids, cutoff];
      let cps: { n: number; bytes: number }, ledger: number;
      if (body.dry_run) {
        cps = (await tx.execute<{ n: number; bytes: number }[]>(`select count(*)::int as n, coalesce(sum(size_bytes), 0)::float8 as bytes from job_checkpoints c where ${checkpointsWhere}`, cpParams))[0]!;
        ledger = (await tx.execute<{ n: number }[]>(`select count(*)::int as n from persistent_job_items where job_id = any(?::int[])`, [ids]))[0]!.n;
      } else {
        cps = (await tx.execute<{ n: number; bytes: number }[]>(
          `with d as (delete from job_checkpoints c where ${checkpointsWhere} returning c.size_bytes)
           select count(*)::int as n, coalesce(sum(size_bytes), 0)::float8 as bytes from d`,
          cpParams,
        ))[0]!;
        ledger = (await tx.execute<{ n: number }[]>(`with d as (delete from persistent_job_items where job_id = any(?::int[]) returning 1) select count(*)::int as n from d`, [ids]))[0]!.n;
        await tx.execute(`delete from persistent_jobs where id = any(?::int[])`, [ids]);
      }
      const report: CleanupReport = { dry_run: body.dry_run, older_than_days: body.older_than_days, jobs: jobs.length, checkpoints: cps.n, ledger_items: ledger, bytes: Number(cps.bytes) };
      if (!body.dry_run) {
        await insertAudit(tx, {
          ...auditActor(actor),
          action: 'job.cleanup',
          targetType: 'brand',
          targetId: String(actor.brandId),
          details: { ...report, cutoff, job_ids: jobs.slice(0, 1000).map((j) => j.id) },
        });
      }
      return report;
    });
  }

  /**
   * Per job of the brand (or one job): keeps the last `keep_last` checkpoints of the current generation, the
   * milestones and the newest checkpoint that verifies; compacts the others (state dropped, row kept as history).
   */
  async optimizeStorage(actor: Actor, body: OptimizeStorageBody): Promise<OptimizeReport> {
    const em = this.em();
    if (body.job !== undefined) await this.deps.jobs.get(actor.brandId, String(body.job)); // 404 for another brand's job
    const jobs = await em.execute<{ id: number; generation: number }[]>(
      `select id, generation from persistent_jobs where brand_id = ? and deleted_at is null ${body.job !== undefined ? 'and id = ?' : ''} order by id`,
      body.job !== undefined ? [actor.brandId, body.job] : [actor.brandId],
    );
    const bytesOf = async (tx: EntityManager) =>
      Number(
        (await tx.execute<{ bytes: number }[]>(
          `select coalesce(sum(size_bytes), 0)::float8 as bytes from job_checkpoints where job_id = any(?::int[]) and not compacted`,
          [`{${jobs.map((j) => j.id).join(',')}}`],
        ))[0]!.bytes,
      );
    const bytesBefore = await bytesOf(em);
    let compacted = 0;
    let compactedBytes = 0;
    for (const job of jobs) {
      const { valid } = await newestValidCheckpoint(em, job.id, job.generation);
      const victims = await em.execute<{ id: string; size_bytes: number }[]>(
        `with ranked as (
           select c.id, c.size_bytes, c.compacted, c.is_milestone,
                  case when c.generation = ? then row_number() over (partition by c.generation order by c.sequence desc) end as rn
             from job_checkpoints c where c.job_id = ?)
         select id, size_bytes from ranked where not compacted and not is_milestone and (rn is null or rn > ?) and id <> ?`,
        [job.generation, job.id, body.keep_last, valid?.id ?? 0],
      );
      if (!victims.length) continue;
      if (!body.dry_run) {
        const done = await em.execute<{ size_bytes: number }[]>(
          `update job_checkpoints set state = null, compacted = true where id = any(?::bigint[]) and not compacted returning size_bytes`,
          [`{${victims.map((v) => v.id).join(',')}}`],
        );
        compacted += done.length;
        compactedBytes += done.reduce((s, r) => s + r.size_bytes, 0);
      } else {
        compacted += victims.length;
        compactedBytes += victims.reduce((s, r) => s + r.size_bytes, 0);
      }
    }
    const report: OptimizeReport = {
      dry_run: body.dry_run,
      jobs: jobs.length,
      compacted,
      bytes_before: bytesBefore,
      bytes_after: body.dry_run ? bytesBefore - compactedBytes : await bytesOf(em),
    };
    if (!body.dry_run && compacted > 0) {
      await insertAudit(em, {
        ...auditActor(actor),
        action: 'checkpoint.optimize',
        targetType: 'brand',
        targetId: String(actor.brandId),
        details: { ...report, keep_last: body.keep_last, job: body.job ?? null },
      });
    }
    return report;
  }
}
