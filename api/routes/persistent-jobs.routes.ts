import Router from '@koa/router';
import { both, actorOf, pageLink, type Ctx } from './route-context';
import type { MikroORM } from '@mikro-orm/postgresql';
import { findTask, findTasksByTaskIds } from '../../db/repositories/task-query.repository';
import type { AppConfig } from '../config';
import { AppError } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
import { persistentJobPageResponse, persistentJobResponse, serializeJob } from '../schemas/persistent-job.serializer';
import {
  autoResumeBody,
  cleanupOldBody,
  createCheckpointBody,
  createJobBody,
  listCheckpointsQuery,
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
const BRAND_SCOPED = 'Scoped to the X-Brand-ID brand (another brand\'s job or checkpoint is 404).';

/** task_persistence (seed 000): persistent jobs and their checkpoints. */
export function persistentJobRoutes(service: PersistentJobService, orm: MikroORM, config: AppConfig, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>({ strict: false });
  const doc = (tag: string, route: Omit<RouteDoc, 'tags' | 'description'> & { description?: string }) =>
    docs.add({ ...route, tags: [tag], description: [route.description, BRAND_SCOPED].filter(Boolean).join(' ') });
  const job = (d: string) => ({ description: d, schema: persistentJobResponse });
  const JOBS = 'persistent jobs';
  const CPS = 'checkpoints';
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
  doc(JOBS, {
    method: 'get',
    path: BASE,
    summary: 'The brand\'s persistent jobs: filters (status, job_type, can_resume, progress, dates, search), ordering, DRF pages',
    query: listJobsQuery,
    responses: { 200: { description: 'A page of jobs, each with its base task', schema: persistentJobPageResponse } },
  });
  router.post(both(BASE), async (ctx) => {
    const job = await service.create(actorOf(ctx), parseOrThrow(createJobBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.body = await withTask(ctx, job);
  });
  doc(JOBS, {
    method: 'post',
    path: BASE,
    summary: 'Create a persistent job on an existing task or an inline one: a long workflow with checkpoints, pause and resume',
    body: createJobBody,
    responses: { 201: job('The job'), 404: 'TASK_NOT_FOUND: base_task is not a task of this brand', 409: 'The base task already has a job' },
  });
  router.get(both(`${BASE}/resumable`), async (ctx) => {
    ctx.body = await listBody(ctx, await service.resumable(ctx.state.brand.id));
  });
  doc(JOBS, {
    method: 'get',
    path: `${BASE}/resumable`,
    summary: 'Jobs that can resume now: paused, or failed/cancelled with a verified checkpoint',
    responses: { 200: { description: 'A page of jobs', schema: persistentJobPageResponse } },
  });
  router.get(both(`${BASE}/stats`), async (ctx) => {
    ctx.body = await service.stats(ctx.state.brand.id);
  });
  doc(JOBS, {
    method: 'get',
    path: `${BASE}/stats`,
    summary: 'Counts per status and job type, checkpoints stored, average throughput',
    responses: { 200: 'Statistics' },
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
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/validate-config`,
    summary: 'Check job_data and settings against a job type (or a base task\'s type) without creating anything',
    body: validateConfigBody,
    responses: { 200: '`{valid: true, ...}` with the normalised settings', 404: 'TASK_NOT_FOUND (base_task)' },
  });
  router.post(both(`${BASE}/auto-resume`), async (ctx) => {
    const body = parseOrThrow(autoResumeBody, ctx.request.body ?? {});
    const who = actorOf(ctx);
    ctx.body = await maintenance.autoResume({ brandIds: [who.brandId], dryRun: body.dry_run, actorFor: () => who, auditDetails: { by: 'auto-resume' } });
  });
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/auto-resume`,
    summary: 'Resume every failed or cancelled job marked auto_resume from its last verified checkpoint (dry_run lists them); audited',
    body: autoResumeBody,
    responses: { 200: 'What was (or would be) resumed, and what was skipped and why' },
  });
  router.post(both(`${BASE}/cleanup-old`), async (ctx) => {
    ctx.body = await maintenance.cleanupOld(actorOf(ctx), parseOrThrow(cleanupOldBody, ctx.request.body ?? {}));
  });
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/cleanup-old`,
    summary: 'Delete finished jobs older than N days with their checkpoints (dry_run by default); audited',
    body: cleanupOldBody,
    responses: { 200: 'What was (or would be) deleted' },
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  doc(JOBS, {
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'One job: progress, current step, checkpoints, ETA from measured throughput',
    responses: { 200: job('The job'), 404: 'No such job' },
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.update(actorOf(ctx), ctx.params.id!, parseOrThrow(patchJobBody, ctx.request.body ?? {})));
  });
  doc(JOBS, {
    method: 'patch',
    path: `${BASE}/:id`,
    summary: 'Change job_data, auto_resume or settings (job_data only before the job started); audited',
    body: patchJobBody,
    responses: { 200: job('The job'), 404: 'No such job', 409: 'INVALID_JOB_STATE' },
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = await withTask(ctx, await service.update(actorOf(ctx), ctx.params.id!, parseOrThrow(putJobBody, ctx.request.body ?? {})));
  });
  doc(JOBS, {
    method: 'put',
    path: `${BASE}/:id`,
    summary: 'Replace job_data, auto_resume and settings; audited',
    body: putJobBody,
    responses: { 200: job('The job'), 404: 'No such job', 409: 'INVALID_JOB_STATE' },
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  doc(JOBS, {
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Delete a job that is not running, with its checkpoints; audited',
    responses: { 204: 'Deleted', 404: 'No such job', 409: 'INVALID_JOB_STATE: still running' },
  });
  router.post(both(`${BASE}/:id/pause`), async (ctx) => {
    const body = parseOrThrow(pauseJobBody, ctx.request.body ?? {});
    const r = await service.pause(actorOf(ctx), ctx.params.id!, body.reason);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/:id/pause`,
    summary: 'Pause a running job (signal): it writes a checkpoint and waits; audited',
    body: pauseJobBody,
    responses: { 200: 'Paused, with the job', 404: 'No such job', 409: 'INVALID_JOB_STATE: not running' },
  });
  router.post(both(`${BASE}/:id/resume`), async (ctx) => {
    const r = await service.resume(actorOf(ctx), ctx.params.id!);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/:id/resume`,
    summary: 'Resume a paused job (signal), or a failed/cancelled one from its last verified checkpoint (new run); audited',
    responses: { 200: 'Resumed, with the job', 404: 'No such job', 409: 'JOB_NOT_RESUMABLE or CHECKPOINT_CORRUPTED' },
  });
  router.post(both(`${BASE}/:id/restart`), async (ctx) => {
    const r = await service.restart(actorOf(ctx), ctx.params.id!);
    ctx.body = { ...r, job: await withTask(ctx, r.job) };
  });
  doc(JOBS, {
    method: 'post',
    path: `${BASE}/:id/restart`,
    summary: 'Restart a finished job from zero (a new generation; older checkpoints are kept as history); audited',
    responses: { 200: 'Restarted, with the job', 404: 'No such job', 409: 'INVALID_JOB_STATE: still running' },
  });

  // ---- checkpoints ----
  router.get(both(CHECKPOINTS), async (ctx) => {
    const q = parseOrThrow(listCheckpointsQuery, ctx.query);
    const where = ['c.brand_id = ?'];
    const params: unknown[] = [ctx.state.brand.id];
    if (q.job !== undefined) {
      where.push('c.job_id = ?');
      params.push(q.job);
    }
    if (q.step !== undefined) {
      where.push('c.step = ?');
      params.push(q.step);
    }
    const pageNo = q.page;
    const size = Math.min(500, q.page_size);
    const em = orm.em.fork();
    const [rows, count] = await Promise.all([
      em.execute<CheckpointRow[]>(`select c.* from job_checkpoints c where ${where.join(' and ')} order by c.id desc limit ? offset ?`, [...params, size, (pageNo - 1) * size]),
      em.execute<{ n: number }[]>(`select count(*)::int as n from job_checkpoints c where ${where.join(' and ')}`, params),
    ]);
    const total = count[0]?.n ?? 0;
    ctx.body = { count: total, next: pageNo * size < total ? pageLink(ctx, pageNo + 1) : null, previous: pageNo > 1 ? pageLink(ctx, pageNo - 1) : null, results: rows.map(checkpointView) };
  });
  doc(CPS, {
    method: 'get',
    path: CHECKPOINTS,
    summary: 'The brand\'s checkpoints (of one job, one step), newest first, each with its checksum verdict',
    query: listCheckpointsQuery,
    responses: { 200: 'A page of checkpoints (without their state)' },
  });
  router.post(both(CHECKPOINTS), async (ctx) => {
    const cp = await checkpoints.create(actorOf(ctx), parseOrThrow(createCheckpointBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.body = checkpointDetail(cp);
  });
  doc(CPS, {
    method: 'post',
    path: CHECKPOINTS,
    summary: 'Write a checkpoint for a job by hand (state validated against its job type, sha256 computed); audited',
    body: createCheckpointBody,
    responses: { 201: 'The checkpoint with its state', 404: 'No such job', 409: 'INVALID_JOB_STATE' },
  });
  router.post(both(`${CHECKPOINTS}/optimize-storage`), async (ctx) => {
    ctx.body = await maintenance.optimizeStorage(actorOf(ctx), parseOrThrow(optimizeStorageBody, ctx.request.body ?? {}));
  });
  doc(CPS, {
    method: 'post',
    path: `${CHECKPOINTS}/optimize-storage`,
    summary: 'Compact old checkpoints (keep the last N and milestones per job); audited',
    body: optimizeStorageBody,
    responses: { 200: 'What was (or would be) compacted, bytes freed', 404: 'No such job (`job`)' },
  });
  router.get(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.get(ctx.state.brand.id, ctx.params.id!));
  });
  doc(CPS, {
    method: 'get',
    path: `${CHECKPOINTS}/:id`,
    summary: 'One checkpoint with its state and checksum verdict (CHECKPOINT_CORRUPTED when the state does not match)',
    responses: { 200: 'The checkpoint', 404: 'No such checkpoint' },
  });
  router.put(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.update(actorOf(ctx), ctx.params.id!, parseOrThrow(putCheckpointBody, ctx.request.body ?? {})));
  });
  doc(CPS, {
    method: 'put',
    path: `${CHECKPOINTS}/:id`,
    summary: 'Replace a checkpoint (checksum recomputed); audited',
    body: putCheckpointBody,
    responses: { 200: 'The checkpoint', 404: 'No such checkpoint', 409: 'INVALID_JOB_STATE' },
  });
  router.patch(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    ctx.body = checkpointDetail(await checkpoints.update(actorOf(ctx), ctx.params.id!, parseOrThrow(patchCheckpointBody, ctx.request.body ?? {})));
  });
  doc(CPS, {
    method: 'patch',
    path: `${CHECKPOINTS}/:id`,
    summary: 'Change part of a checkpoint (checksum recomputed); audited',
    body: patchCheckpointBody,
    responses: { 200: 'The checkpoint', 404: 'No such checkpoint', 409: 'INVALID_JOB_STATE' },
  });
  router.delete(both(`${CHECKPOINTS}/:id`), async (ctx) => {
    await checkpoints.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  doc(CPS, {
    method: 'delete',
    path: `${CHECKPOINTS}/:id`,
    summary: 'Delete a checkpoint; audited',
    responses: { 204: 'Deleted', 404: 'No such checkpoint', 409: 'INVALID_JOB_STATE' },
  });
  return router;
}
