import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
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
import {
  cronJobPageResponse,
  cronJobResponse,
  periodicTaskPageResponse,
  periodicTaskResponse,
  serializeCronJob,
  serializePeriodicTask,
} from '../schemas/periodic-task.serializer';
import { timezoneInfoQuery, validateCronBody } from '../schemas/scheduling.schemas';
import { serializeTaskDetail, taskDetailResponse } from '../schemas/task.serializer';
import { z } from 'zod';
import { parseOrThrow } from '../schemas/zod-errors';
import type { CronJobService } from '../services/cron-job.service';
import { cronTemplates, timezoneInfo, validateCron } from '../services/cron.service';
import type { PeriodicTaskService, PeriodicView } from '../services/periodic-task.service';
import { both, actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/scheduled/periodic-tasks';
const CRON_JOBS = '/tasks/scheduled/cron-jobs';
const BRAND_SCOPED = 'Scoped to the X-Brand-ID brand (another brand\'s schedule is 404).';

/** execute-now/ and execute/: the task the firing started. */
export const scheduleTriggerResponse = z.strictObject({ message: z.string(), task: taskDetailResponse });

export type SchedulingRouteRegistration = (router: Router<AppState>, docs: ApiDocs) => void;

export interface SchedulingRouteDeps {
  periodic: PeriodicTaskService;
  cronJobs: CronJobService;
  config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>;
  docs: ApiDocs;
  /** Routes of other scheduling areas (calendars, analysis), registered before the `{id}` routes so fixed paths win. */
  extra?: SchedulingRouteRegistration[];
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
  const { docs } = deps;
  const doc = (tag: string, route: Omit<RouteDoc, 'tags'>) =>
    docs.add({ ...route, tags: [tag], description: [route.description, BRAND_SCOPED].filter(Boolean).join(' ') });
  const PERIODIC = 'periodic tasks';
  const CRON = 'cron jobs';
  const TOOLS = 'cron tools';

  // ---- stateless tools ----
  router.post(both(`${BASE}/validate-cron`), (ctx) => {
    ctx.body = validateCron(parseOrThrow(validateCronBody, ctx.request.body ?? {}));
  });
  doc(TOOLS, {
    method: 'post',
    path: `${BASE}/validate-cron`,
    summary: 'Validate a cron expression: its fields, English and French descriptions, next runs in a timezone',
    body: validateCronBody,
    responses: { 200: 'The expression is valid: normalized form, fields, description, next_runs', 400: 'INVALID_CRON_EXPRESSION or TIMEZONE_INVALID' },
  });
  router.get(both(`${BASE}/cron-templates`), (ctx) => {
    ctx.body = cronTemplates();
  });
  doc(TOOLS, {
    method: 'get',
    path: `${BASE}/cron-templates`,
    summary: 'Common cron expressions with their descriptions',
    responses: { 200: 'The templates' },
  });
  router.get(both(`${BASE}/timezone-info`), (ctx) => {
    ctx.body = timezoneInfo(parseOrThrow(timezoneInfoQuery, ctx.query).timezone);
  });
  doc(TOOLS, {
    method: 'get',
    path: `${BASE}/timezone-info`,
    summary: 'A timezone\'s current offset and its DST transitions over the next year (`?timezone=Europe/Paris`)',
    query: timezoneInfoQuery,
    responses: { 200: 'Timezone information', 400: 'TIMEZONE_INVALID' },
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
  doc(PERIODIC, {
    method: 'get',
    path: `${BASE}/ready-for-execution`,
    summary: 'Active periodic tasks and cron jobs that are due or overdue, with the reason and how late',
    responses: { 200: '`{count, results}`' },
  });
  router.post(both(`${BASE}/execute-ready`), async (ctx) => {
    ctx.body = await periodic.executeReady(actorOf(ctx), parseOrThrow(executeReadyBody, ctx.request.body ?? {}));
  });
  doc(PERIODIC, {
    method: 'post',
    path: `${BASE}/execute-ready`,
    summary: 'Trigger every due schedule now (dry_run lists them); audited',
    body: executeReadyBody,
    responses: { 200: 'What was (or would be) triggered' },
  });
  for (const register of deps.extra ?? []) register(router, docs);
  // @analysis-routes (stats/, performance-analysis/, optimize-schedules/ register through `extra` above)

  // ---- periodic tasks CRUD ----
  router.get(both(BASE), async (ctx) => {
    const query = parseOrThrow(listPeriodicQuery, ctx.query);
    ctx.body = page(ctx, await periodic.list(ctx.state.brand.id, 'periodic', query), periodicJson);
  });
  doc(PERIODIC, {
    method: 'get',
    path: BASE,
    summary: 'The brand\'s periodic tasks (Temporal Schedules): filters, ordering, DRF pages',
    query: listPeriodicQuery,
    responses: { 200: { description: 'A page of periodic tasks', schema: periodicTaskPageResponse } },
  });
  router.post(both(BASE), async (ctx) => {
    const { view, replayed } = await periodic.create(actorOf(ctx), parseOrThrow(periodicTaskBody, ctx.request.body ?? {}), idempotencyKey(ctx));
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = replayed ? 200 : 201;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = periodicJson(view);
  });
  doc(PERIODIC, {
    method: 'post',
    path: BASE,
    summary: 'Create a periodic task: a Temporal Schedule whose action starts a task of the template; audited',
    description: 'An Idempotency-Key header makes the request safe to repeat (200 with Idempotent-Replayed: true).',
    body: periodicTaskBody,
    responses: {
      201: { description: 'The periodic task', schema: periodicTaskResponse },
      200: { description: 'Replayed (same Idempotency-Key and body)', schema: periodicTaskResponse },
      400: 'Invalid definition: INVALID_CRON_EXPRESSION, TIMEZONE_INVALID, SCHEDULE_IN_PAST, CALENDAR_NOT_FOUND, …',
      422: 'IDEMPOTENCY_KEY_REUSED',
    },
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.get(ctx.state.brand.id, ctx.params.id!, 'periodic'));
  });
  doc(PERIODIC, {
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'One periodic task with what its Schedule says (next runs, recent runs, running firings)',
    responses: { 200: { description: 'The periodic task', schema: periodicTaskResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.update(actorOf(ctx), ctx.params.id!, parseOrThrow(periodicTaskBody, ctx.request.body ?? {}), 'put'));
  });
  doc(PERIODIC, {
    method: 'put',
    path: `${BASE}/:id`,
    summary: 'Replace a periodic task (its Schedule is updated); audited',
    body: periodicTaskBody,
    responses: { 200: { description: 'The periodic task', schema: periodicTaskResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = periodicJson(await periodic.update(actorOf(ctx), ctx.params.id!, parseOrThrow(periodicTaskPatch, ctx.request.body ?? {}), 'patch'));
  });
  doc(PERIODIC, {
    method: 'patch',
    path: `${BASE}/:id`,
    summary: 'Change part of a periodic task (merged, validated whole; its Schedule is updated); audited',
    body: periodicTaskPatch,
    responses: { 200: { description: 'The periodic task', schema: periodicTaskResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await periodic.remove(actorOf(ctx), ctx.params.id!, 'periodic');
    ctx.status = 204;
  });
  doc(PERIODIC, {
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Delete a periodic task and its Schedule (the tasks it started stay); audited',
    responses: { 204: 'Deleted', 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.post(both(`${BASE}/:id/toggle`), async (ctx) => {
    ctx.body = periodicJson(await periodic.toggle(actorOf(ctx), ctx.params.id!, parseOrThrow(toggleBody, ctx.request.body ?? {})));
  });
  doc(PERIODIC, {
    method: 'post',
    path: `${BASE}/:id/toggle`,
    summary: 'Pause or unpause the Schedule (is_active, or flip when omitted) with an optional note; audited',
    body: toggleBody,
    responses: { 200: { description: 'The periodic task', schema: periodicTaskResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.post(both(`${BASE}/:id/execute-now`), async (ctx) => {
    const { task } = await periodic.executeNow(actorOf(ctx), ctx.params.id!, parseOrThrow(executeNowBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = { message: 'Periodic task triggered', task: serializeTaskDetail(task, temporal) };
  });
  doc(PERIODIC, {
    method: 'post',
    path: `${BASE}/:id/execute-now`,
    summary: 'Trigger the Schedule now (under its overlap policy, or the one given); audited',
    body: executeNowBody,
    responses: {
      201: { description: 'The task the firing started', schema: scheduleTriggerResponse },
      404: 'SCHEDULE_NOT_FOUND',
      409: 'SCHEDULE_OVERLAP_SKIPPED or SCHEDULE_RUN_QUEUED: a firing is still running',
    },
  });

  // ---- cron jobs ----
  router.get(both(CRON_JOBS), async (ctx) => {
    const query = parseOrThrow(listCronJobsQuery, ctx.query);
    ctx.body = page(ctx, await periodic.list(ctx.state.brand.id, 'cron_job', query), cronJobJson);
  });
  doc(CRON, {
    method: 'get',
    path: CRON_JOBS,
    summary: 'The brand\'s cron jobs (backup, report, cleanup on a frequency): filters, ordering, DRF pages',
    query: listCronJobsQuery,
    responses: { 200: { description: 'A page of cron jobs', schema: cronJobPageResponse } },
  });
  router.post(both(CRON_JOBS), async (ctx) => {
    const { view, replayed } = await cronJobs.create(actorOf(ctx), parseOrThrow(cronJobBody, ctx.request.body ?? {}), idempotencyKey(ctx));
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = replayed ? 200 : 201;
    ctx.set('Location', `${CRON_JOBS}/${view.row.id}/`);
    ctx.body = cronJobJson(view);
  });
  doc(CRON, {
    method: 'post',
    path: CRON_JOBS,
    summary: 'Create a cron job (daily/weekly/monthly at a time, or a cron expression) as a Temporal Schedule; audited',
    description: 'An Idempotency-Key header makes the request safe to repeat (200 with Idempotent-Replayed: true).',
    body: cronJobBody,
    responses: {
      201: { description: 'The cron job', schema: cronJobResponse },
      200: { description: 'Replayed (same Idempotency-Key and body)', schema: cronJobResponse },
      400: 'Invalid definition: FREQUENCY_NOT_SUPPORTED, INVALID_CRON_EXPRESSION, TIMEZONE_INVALID, …',
      422: 'IDEMPOTENCY_KEY_REUSED',
    },
  });
  router.get(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await periodic.get(ctx.state.brand.id, ctx.params.id!, 'cron_job'));
  });
  doc(CRON, {
    method: 'get',
    path: `${CRON_JOBS}/:id`,
    summary: 'One cron job with what its Schedule says',
    responses: { 200: { description: 'The cron job', schema: cronJobResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.put(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await cronJobs.update(actorOf(ctx), ctx.params.id!, parseOrThrow(cronJobBody, ctx.request.body ?? {}), 'put'));
  });
  doc(CRON, {
    method: 'put',
    path: `${CRON_JOBS}/:id`,
    summary: 'Replace a cron job (its Schedule is updated); audited',
    body: cronJobBody,
    responses: { 200: { description: 'The cron job', schema: cronJobResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.patch(both(`${CRON_JOBS}/:id`), async (ctx) => {
    ctx.body = cronJobJson(await cronJobs.update(actorOf(ctx), ctx.params.id!, parseOrThrow(cronJobPatch, ctx.request.body ?? {}), 'patch'));
  });
  doc(CRON, {
    method: 'patch',
    path: `${CRON_JOBS}/:id`,
    summary: 'Change part of a cron job (merged, validated whole); audited',
    body: cronJobPatch,
    responses: { 200: { description: 'The cron job', schema: cronJobResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.delete(both(`${CRON_JOBS}/:id`), async (ctx) => {
    await periodic.remove(actorOf(ctx), ctx.params.id!, 'cron_job');
    ctx.status = 204;
  });
  doc(CRON, {
    method: 'delete',
    path: `${CRON_JOBS}/:id`,
    summary: 'Delete a cron job and its Schedule; audited',
    responses: { 204: 'Deleted', 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.post(both(`${CRON_JOBS}/:id/toggle`), async (ctx) => {
    ctx.body = cronJobJson(await periodic.toggle(actorOf(ctx), ctx.params.id!, parseOrThrow(toggleBody, ctx.request.body ?? {}), 'cron_job'));
  });
  doc(CRON, {
    method: 'post',
    path: `${CRON_JOBS}/:id/toggle`,
    summary: 'Pause or unpause a cron job\'s Schedule; audited',
    body: toggleBody,
    responses: { 200: { description: 'The cron job', schema: cronJobResponse }, 404: 'SCHEDULE_NOT_FOUND' },
  });
  router.post(both(`${CRON_JOBS}/:id/execute`), async (ctx) => {
    const { task } = await periodic.executeNow(actorOf(ctx), ctx.params.id!, parseOrThrow(executeNowBody, ctx.request.body ?? {}), 'cron_job');
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = { message: 'Cron job triggered', task: serializeTaskDetail(task, temporal) };
  });
  doc(CRON, {
    method: 'post',
    path: `${CRON_JOBS}/:id/execute`,
    summary: 'Trigger a cron job now; audited',
    body: executeNowBody,
    responses: {
      201: { description: 'The task the firing started', schema: scheduleTriggerResponse },
      404: 'SCHEDULE_NOT_FOUND',
      409: 'SCHEDULE_OVERLAP_SKIPPED or SCHEDULE_RUN_QUEUED',
    },
  });
  return router;
}
