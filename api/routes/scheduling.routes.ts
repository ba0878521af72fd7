import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import {
  cronJobBody,
  cronJobPatch,
  executeNowBody,
  executeReadyBody,
  listCronJobsQuery,
  listPeriodicQuery,
  periodicTaskBody,
  periodicTaskPatch,
  toggleBody,
} from '../schemas/periodic-tasks.schemas';
import { serializeCronJob, serializePeriodicTask } from '../schemas/periodic-task.serializer';
import { validateCronBody } from '../schemas/scheduling.schemas';
import { serializeTaskDetail } from '../schemas/task.serializer';
import { parseOrThrow } from '../schemas/zod-errors';
import type { CronJobService } from '../services/cron-job.service';
import { cronTemplates, timezoneInfo, validateCron } from '../services/cron.service';
import type { PeriodicTaskService, PeriodicView } from '../services/periodic-task.service';
import { actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/scheduled/periodic-tasks';
const CRON_JOBS = '/tasks/scheduled/cron-jobs';
const both = (path: string) => [path, `${path}/`];

export interface SchedulingRouteDeps {
  periodic: PeriodicTaskService;
  cronJobs: CronJobService;
  config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>;
  /** Routes of other scheduling areas (calendars, analysis), registered before the `{id}` routes so fixed paths win. */
  extra?: ((router: Router<AppState>) => void)[];
}

/** task_scheduling (seed 000): periodic tasks and cron jobs on Temporal Schedules, and the stateless cron tools. */
export function schedulingRoutes(deps: SchedulingRouteDeps): Router<AppState> {
  const { periodic, cronJobs } = deps;
  const router = new Router<AppState>({ strict: false });
  const temporal = { uiUrl: deps.config.TEMPORAL_UI_URL, namespace: deps.config.TEMPORAL_NAMESPACE };
  const periodicJson = (v: PeriodicView) => serializePeriodicTask(v, temporal);
  const cronJobJson = (v: PeriodicView) => serializeCronJob(v, temporal);
  const page = (ctx: Ctx, r: { count: number; views: PeriodicView[]; page: number; pageSize: number }, json: (v: PeriodicView) => unknown) => ({
    count: r.count,
    next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
    previous: r.page > 1 ? pageLink(ctx, r.page - 1) : null,
    results: r.views.map(json),
  });
  const idempotencyKey = (ctx: Ctx) => ctx.get('Idempotency-Key') || undefined;

  // ---- stateless tools ----
  router.post(both(`${BASE}/validate-cron`), (ctx) => {
    ctx.body = validateCron(parseOrThrow(validateCronBody, ctx.request.body ?? {}));
  });
  router.get(both(`${BASE}/cron-templates`), (ctx) => {
    ctx.body = cronTemplates();
  });
  router.get(both(`${BASE}/timezone-info`), (ctx) => {
    ctx.body = timezoneInfo(ctx.query.timezone);
  });

  // ---- fixed paths before {id} ----
  router.get(both(`${BASE}/ready-for-execution`), async (ctx) => {
    const items = await periodic.readyForExecution(ctx.state.brand.id);
    ctx.body = {
      count: items.length,
      results: items.map((i) => ({
        ...(i.row.kind === 'cron_job' ? cronJobJson(i) : periodicJson(i)),
        kind: i.row.kind,
        reason: i.reason,
        due_at: i.dueAt,
        overdue_seconds: i.overdueSeconds,
      })),
    };
  });
  router.post(both(`${BASE}/execute-ready`), async (ctx) => {
    ctx.body = await periodic.executeReady(actorOf(ctx), parseOrThrow(executeReadyBody, ctx.request.body ?? {}));
  });
  for (const register of deps.extra ?? []) register(router);
  // @analysis-routes (stats/, performance-analysis/, optimize-schedules/ register through `extra` above)

  // ---- periodic tasks CRUD ----
  router.get(both(BASE), async (ctx) => {
    const query = parseOrThrow(listPeriodicQuery, ctx.query);
    ctx.body = page(ctx, await periodic.list(ctx.state.brand.id, 'periodic', query), periodicJson);
  });
  router.post(both(BASE), async (ctx) => {
    const { view, replayed } = await periodic.create(actorOf(ctx), parseOrThrow(periodicTaskBody, ctx.request.body ?? {}), idempotencyKey(ctx));
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = replayed ? 200 : 201;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = periodicJson(view);
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.get(ctx.state.brand.id, ctx.params.id!, 'periodic'));
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.update(actorOf(ctx), ctx.params.id!, parseOrThrow(periodicTaskBody, ctx.request.body ?? {}), 'put'));
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.update(actorOf(ctx), ctx.params.id!, parseOrThrow(periodicTaskPatch, ctx.request.body ?? {}), 'patch'));
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await periodic.remove(actorOf(ctx), ctx.params.id!, 'periodic');
    ctx.status = 204;
  });
  router.post(both(`${BASE}/:id/toggle`), async (ctx) => {
    ctx.body = periodicJson(await periodic.toggle(actorOf(ctx), ctx.params.id!, parseOrThrow(toggleBody, ctx.request.body ?? {})));
  });
  router.post(both(`${BASE}/:id/execute-now`), async (ctx) => {
    const { task } = await periodic.executeNow(actorOf(ctx), ctx.params.id!, parseOrThrow(executeNowBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = { message: 'Periodic task triggered', task: serializeTaskDetail(task, temporal) };
  });

  // ---- cron jobs ----
  router.get(both(CRON_JOBS), async (ctx) => {
    const query = parseOrThrow(listCronJobsQuery, ctx.query);
    ctx.body = page(ctx, await periodic.list(ctx.state.brand.id, 'cron_job', query), cronJobJson);
  });
  router.post(both(CRON_JOBS), async (ctx) => {
    const { view, replayed } = await cronJobs.create(actorOf(ctx), parseOrThrow(cronJobBody, ctx.request.body ?? {}), idempotencyKey(ctx));
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = replayed ? 200 : 201;
    ctx.set('Location', `${CRON_JOBS}/${view.row.id}/`);
    ctx.body = cronJobJson(view);
  });
  router.get(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await periodic.get(ctx.state.brand.id, ctx.params.id!, 'cron_job'));
  });
  router.put(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await cronJobs.update(actorOf(ctx), ctx.params.id!, parseOrThrow(cronJobBody, ctx.request.body ?? {}), 'put'));
  });
  router.patch(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await cronJobs.update(actorOf(ctx), ctx.params.id!, parseOrThrow(cronJobPatch, ctx.request.body ?? {}), 'patch'));
  });
  router.delete(both(`${CRON_JOBS}/:id`), async (ctx) => {
    await periodic.remove(actorOf(ctx), ctx.params.id!, 'cron_job');
    ctx.status = 204;
  });
  router.post(both(`${CRON_JOBS}/:id/toggle`), async (ctx) => {
    ctx.body = cronJobJson(await periodic.toggle(actorOf(ctx), ctx.params.id!, parseOrThrow(toggleBody, ctx.request.body ?? {}), 'cron_job'));
  });
  router.post(both(`${CRON_JOBS}/:id/execute`), async (ctx) => {
    const { task } = await periodic.executeNow(actorOf(ctx), ctx.params.id!, parseOrThrow(executeNowBody, ctx.request.body ?? {}), 'cron_job');
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = { message: 'Cron job triggered', task: serializeTaskDetail(task, temporal) };
  });
  return router;
}
