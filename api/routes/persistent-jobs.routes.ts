import Router from '@koa/router';
import { actorOf, pageLink, type Ctx } from './route-context';
import type { MikroORM } from '@mikro-orm/postgresql';
import { findTask, findTasksByTaskIds } from '../../db/repositories/task-query.repository';
import type { AppConfig } from '../config';
import { AppError } from '../errors';
import type { AppState } from '../middleware/state';
import { serializeJob } from '../schemas/persistent-job.serializer';
import {
  autoResumeBody,
  cleanupOldBody,
  createCheckpointBody,
  createJobBody,
  listJobsQuery,
  optimizeStorageBody,
  patchCheckpointBody,
  patchJobBody,
  pauseJobBody,
  putCheckpointBody,
  putJobBody,
  validateConfigBody,
} from '../schemas/persistent-jobs.schemas';
import { serializeTask } from '../schemas/task.serializer';
import { parseOrThrow } from '../schemas/zod-errors';
import { JobCheckpointService } from '../services/job-checkpoint.service';
import { JobMaintenanceService } from '../services/job-maintenance.service';
import { checkpointView, type PersistentJobService } from '../services/persistent-job.service';
import type { CheckpointRow } from '../../db/repositories/persistent-job.repository';
import type { JobRow } from '../../db/repositories/persistent-job-query.repository';

const BASE = '/tasks/persistent-jobs/persistent-jobs';
const CHECKPOINTS = '/tasks/persistent-jobs/checkpoints';
const both = (path: string) => [path, `${path}/`];


/** task_persistence (seed 000): persistent jobs and their checkpoints. */
export function persistentJobRoutes(service: PersistentJobService, orm: MikroORM, config: AppConfig): Router<AppState> {
  const router = new Router<AppState>({ strict: false });
  const maintenance = new JobMaintenanceService({ orm, jobs: service });
  const checkpoints = new JobCheckpointService({ orm, jobs: service, config });
  const checkpointDetail = (cp: CheckpointRow) => ({ ...checkpointView(cp), state: cp.state });
  const withTask = async (ctx: Ctx, job: JobRow) => {
    const task = await findTask(orm.em.fork(), ctx.state.brand.id, job.task_id);
    return serializeJob(job, task ? serializeTask(task) : undefined);
  };
  const listBody = async (ctx: Ctx, r: { count: number; rows: JobRow[]; page: number; pageSize: number }) => {
    // One query for the page's base tasks, not one per job.
    const tasks = await findTasksByTaskIds(orm.em.fork(), ctx.state.brand.id, r.rows.map((j) => j.task_id));
    return {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, r.page - 1) : null,
      results: r.rows.map((j) => {
        const task = tasks.get(j.task_id);
        return serializeJob(j, task ? serializeTask(task) : undefined);
      }),
    };
  };

  router.get(both(BASE), async (ctx) => {
    ctx.body = await listBody(ctx, await service.list(ctx.state.brand.id, parseOrThrow(listJobsQuery, ctx.query)));
  });
  router.post(both(BASE), async (ctx) => {
    const job = await service.create(actorOf(ctx), parseOrThrow(createJobBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.body = await withTask(ctx, job);
  });
  router.get(both(`${BASE}/resumable`), async (ctx) => {
    ctx.body = await listBody(ctx, await service.resumable(ctx.state.brand.id));
  });
  router.get(both(`${BASE}/stats`), async (ctx) => {
    ctx.body = await service.stats(ctx.state.brand.id);
  });
  router.post(both(`${BASE}/validate-config`), async (ctx) => {
    const body = parseOrThrow(validateConfigBody, ctx.request.body ?? {});
    let jobType = body.job_type;
    if (body.base_task !== undefined) {
      const task = await findTask(orm.em.fork(), ctx.state.brand.id, String(body.base_task));
      if (!task) throw AppError.taskNotFound();
      jobType = task.task_type;
    }
    ctx.body = { valid: true, ...service.validateConfig(jobType!, body.job_data, body.settings) };
  });
  router.post(both(`${BASE}/auto-resume`), async (ctx) => {
    const body = parseOrThrow(autoResumeBody, ctx.request.body ?? {});
    const who = actorOf(ctx);
    ctx.body = await maintenance.autoResume({ brandIds: [who.brandId], dryRun: body.dry_run, actorFor: () => who, auditDetails: { by: 'auto-resume' } });
  });
  router.post(both(`${BASE}/cleanup-old`), async (ctx) => {
    ctx.body = await maintenance.cleanupOld(actorOf(ctx), parseOrThrow(cleanupOldBody, ctx.request.body ?? {}));
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.update(actorOf(ctx), ctx.params.id!, parseOrThrow(patchJobBody, ctx.request.body ?? {})));
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.update(actorOf(ctx), ctx.params.id!, parseOrThrow(putJobBody, ctx.request.body ?? {})));
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  router.post(both(`${BASE}/:id/pause`), async (ctx) => {
    const body = parseOrThrow(pauseJobBody, ctx.request.body ?? {});
    const r = await service.pause(actorOf(ctx), ctx.params.id!, body.reason);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });
  router.post(both(`${BASE}/:id/resume`), async (ctx) => {
    const r = await service.resume(actorOf(ctx), ctx.params.id!);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });
  router.post(both(`${BASE}/:id/restart`), async (ctx) => {
    const r = await service.restart(actorOf(ctx), ctx.params.id!);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });

  // ---- checkpoints ----
  router.get(both(CHECKPOINTS), async (ctx) => {
    const q = ctx.query;
    const where = ['c.brand_id = ?'];
    const params: unknown[] = [ctx.state.brand.id];
    if (q.job !== undefined) {
      if (!/^\d{1,9}$/.test(String(q.job))) throw AppError.validation({ job: ['Must be a job id'] });
      where.push('c.job_id = ?');
      params.push(Number(q.job));
    }
    if (q.step !== undefined) {
      where.push('c.step = ?');
      params.push(String(q.step));
    }
    const pageNo = Math.max(1, Number(q.page ?? 1) || 1);
    const size = Math.min(500, Math.max(1, Number(q.page_size ?? 25) || 25));
    const em = orm.em.fork();
    const [rows, count] = await Promise.all([
      em.execute<CheckpointRow[]>(`select c.* from job_checkpoints c where ${where.join(' and ')} order by c.id desc limit ? offset ?`, [...params, size, (pageNo - 1) * size]),
      em.execute<{ n: number }[]>(`select count(*)::int as n from job_checkpoints c where ${where.join(' and ')}`, params),
    ]);
    const total = count[0]?.n ?? 0;
    ctx.body = { count: total, next: pageNo * size < total ? pageLink(ctx, pageNo + 1) : null, previous: pageNo > 1 ? pageLink(ctx, pageNo - 1) : null, results: rows.map(checkpointView) };
  });
  router.post(both(CHECKPOINTS), async (ctx) => {
    const cp = await checkpoints.create(actorOf(ctx), parseOrThrow(createCheckpointBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.body = checkpointDetail(cp);
  });
  router.post(both(`${CHECKPOINTS}/optimize-storage`), async (ctx) => {
    ctx.body = await maintenance.optimizeStorage(actorOf(ctx), parseOrThrow(optimizeStorageBody, ctx.request.body ?? {}));
  });
  router.get(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.get(ctx.state.brand.id, ctx.params.id!));
  });
  router.put(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.update(actorOf(ctx), ctx.params.id!, parseOrThrow(putCheckpointBody, ctx.request.body ?? {})));
  });
  router.patch(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.update(actorOf(ctx), ctx.params.id!, parseOrThrow(patchCheckpointBody, ctx.request.body ?? {})));
  });
  router.delete(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    await checkpoints.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  return router;
}
