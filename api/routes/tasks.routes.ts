import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import {
  queueStatsResponse,
  serializeTask,
  serializeTaskDetail,
  taskCancelResponse,
  taskDetailResponse,
  taskPageResponse,
  taskRetryResponse,
  typeStatsResponse,
} from '../schemas/task.serializer';
import {
  cancelTaskBody,
  createTaskBody,
  listTasksQuery,
  patchTaskBody,
  putTaskBody,
  retryTaskBody,
} from '../schemas/tasks.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { MetricsService } from '../services/metrics.service';
import type { PeriodicTaskService } from '../services/periodic-task.service';
import type { PersistentJobService } from '../services/persistent-job.service';
import type { TaskService } from '../services/task.service';
import { actorOf, pageLink } from './route-context';
import { jobSummary } from '../schemas/persistent-job.serializer';

const TAGS = ['tasks'];
const BRAND_SCOPED = 'Scoped to the X-Brand-ID brand (required header; a brand the caller is not a member of is 403, another brand\'s task is 404).';

/** task_core (seeds 000/001). Every path answers with and without its trailing slash. */
export function taskRoutes(
  service: TaskService,
  config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>,
  docs: ApiDocs,
  jobs?: PersistentJobService,
  periodic?: Pick<PeriodicTaskService, 'forTask'>,
  metrics?: Pick<MetricsService, 'forTask'>,
): Router<AppState> {
  const router = new Router<AppState>({ strict: false });
  const temporal = { uiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE };

  router.get(['/tasks', '/tasks/'], async (ctx) => {
    const query = parseOrThrow(listTasksQuery, ctx.query);
    const { count, rows, page, pageSize } = await service.list(ctx.state.brand.id, query);
    ctx.body = {
      count,
      next: page * pageSize < count ? pageLink(ctx, page + 1) : null,
      previous: page > 1 ? pageLink(ctx, Math.min(page - 1, Math.max(1, Math.ceil(count / pageSize)))) : null,
      results: rows.map(serializeTask),
    };
  });
  docs.add({
    method: 'get',
    path: '/tasks',
    summary: 'The brand\'s tasks: filters (status, priority, task_type, dates, ranges, search), ordering, DRF pages',
    description: BRAND_SCOPED,
    tags: TAGS,
    query: listTasksQuery,
    responses: { 200: { description: 'A page of tasks', schema: taskPageResponse }, 403: 'Not a member of the brand' },
  });

  router.post(['/tasks', '/tasks/'], async (ctx) => {
    const body = parseOrThrow(createTaskBody, ctx.request.body ?? {});
    const { task, replayed } = await service.create(actorOf(ctx), body, ctx.get('idempotency-key') || undefined);
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = serializeTaskDetail(task, temporal);
  });
  docs.add({
    method: 'post',
    path: '/tasks',
    summary: 'Create a task: starts its workflow (after scheduled_for when given) and answers the pending task',
    description: `${BRAND_SCOPED} An Idempotency-Key header makes the request safe to repeat: the same key and body answer the same task (header Idempotent-Replayed: true).`,
    tags: TAGS,
    body: createTaskBody,
    responses: {
      201: { description: 'The task (pending)', schema: taskDetailResponse },
      400: 'Invalid body, unknown or unavailable task type (TASK_TYPE_NOT_AVAILABLE), not configured here (TASK_TYPE_NOT_CONFIGURED), SCHEDULE_IN_PAST',
      403: 'Not a member of the brand',
      422: 'IDEMPOTENCY_KEY_REUSED: the key was used with another body',
    },
  });

  router.get(['/tasks/queue-stats', '/tasks/queue-stats/'], async (ctx) => {
    ctx.body = await service.queueStats(ctx.state.brand.id);
  });
  docs.add({
    method: 'get',
    path: '/tasks/queue-stats',
    summary: 'Pending and running tasks per priority queue, today\'s totals, status distribution, average processing time',
    description: BRAND_SCOPED,
    tags: TAGS,
    responses: { 200: { description: 'Queue statistics', schema: queueStatsResponse }, 403: 'Not a member of the brand' },
  });

  router.get(['/tasks/type-stats', '/tasks/type-stats/'], async (ctx) => {
    ctx.body = await service.typeStats(ctx.state.brand.id);
  });
  docs.add({
    method: 'get',
    path: '/tasks/type-stats',
    summary: 'Counts per status, average duration and success rate of each task type',
    description: BRAND_SCOPED,
    tags: TAGS,
    responses: { 200: { description: 'Statistics per task type', schema: typeStatsResponse }, 403: 'Not a member of the brand' },
  });

  router.get(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    const task = await service.get(ctx.state.brand.id, ctx.params.id!);
    const [job, schedule, measured] = await Promise.all([
      jobs ? jobs.findForTask(ctx.state.brand.id, task.task_id) : null,
      periodic ? periodic.forTask(task) : null,
      metrics ? metrics.forTask(task.task_id) : null,
    ]);
    ctx.body = { ...serializeTaskDetail(task, temporal), metrics: measured, persistent_job: job ? jobSummary(job) : null, periodic: schedule };
  });
  docs.add({
    method: 'get',
    path: '/tasks/:id',
    summary: 'One task (integer id or task_id) with its metrics, persistent job and schedule, and its Temporal Web UI link',
    description: BRAND_SCOPED,
    tags: TAGS,
    responses: { 200: { description: 'The task', schema: taskDetailResponse }, 403: 'Not a member of the brand', 404: 'TASK_NOT_FOUND' },
  });

  router.patch(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    const body = parseOrThrow(patchTaskBody, ctx.request.body ?? {});
    ctx.body = serializeTaskDetail(await service.update(actorOf(ctx), ctx.params.id!, body), temporal);
  });
  docs.add({
    method: 'patch',
    path: '/tasks/:id',
    summary: 'Change the priority, description or context_data of a pending task; audited',
    description: BRAND_SCOPED,
    tags: TAGS,
    body: patchTaskBody,
    responses: {
      200: { description: 'The task', schema: taskDetailResponse },
      403: 'Not a member of the brand',
      404: 'TASK_NOT_FOUND',
      409: 'INVALID_STATUS_TRANSITION: only a pending task can be modified',
    },
  });

  router.put(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    const body = parseOrThrow(putTaskBody, ctx.request.body ?? {});
    ctx.body = serializeTaskDetail(await service.update(actorOf(ctx), ctx.params.id!, body), temporal);
  });
  docs.add({
    method: 'put',
    path: '/tasks/:id',
    summary: 'Replace the editable part (priority, description, context_data) of a pending task; audited',
    description: BRAND_SCOPED,
    tags: TAGS,
    body: putTaskBody,
    responses: {
      200: { description: 'The task', schema: taskDetailResponse },
      403: 'Not a member of the brand',
      404: 'TASK_NOT_FOUND',
      409: 'INVALID_STATUS_TRANSITION: only a pending task can be modified',
    },
  });

  router.delete(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  docs.add({
    method: 'delete',
    path: '/tasks/:id',
    summary: 'Delete a finished task (completed, failed or cancelled); audited',
    description: BRAND_SCOPED,
    tags: TAGS,
    responses: {
      204: 'Deleted',
      403: 'Not a member of the brand',
      404: 'TASK_NOT_FOUND',
      409: 'INVALID_STATUS_TRANSITION: cancel it first',
    },
  });

  router.post(['/tasks/:id/retry', '/tasks/:id/retry/'], async (ctx) => {
    const body = parseOrThrow(retryTaskBody, ctx.request.body ?? {});
    ctx.body = await service.retry(actorOf(ctx), ctx.params.id!, body);
  });
  docs.add({
    method: 'post',
    path: '/tasks/:id/retry',
    summary: 'Retry a failed or cancelled task: a new run of the same workflow id, retry_count + 1; audited',
    description: BRAND_SCOPED,
    tags: TAGS,
    body: retryTaskBody,
    responses: {
      200: { description: 'Queued for retry', schema: taskRetryResponse },
      403: 'Not a member of the brand',
      404: 'TASK_NOT_FOUND',
      409: 'TASK_ALREADY_COMPLETED, INVALID_STATUS_TRANSITION or MAX_RETRIES_EXCEEDED',
    },
  });

  router.post(['/tasks/:id/cancel', '/tasks/:id/cancel/'], async (ctx) => {
    const body = parseOrThrow(cancelTaskBody, ctx.request.body ?? {});
    ctx.body = await service.cancel(actorOf(ctx), ctx.params.id!, body.reason);
  });
  docs.add({
    method: 'post',
    path: '/tasks/:id/cancel',
    summary: 'Cancel a pending, running or paused task (its workflow is cancelled); audited',
    description: BRAND_SCOPED,
    tags: TAGS,
    body: cancelTaskBody,
    responses: {
      200: { description: 'Cancelled, or cancellation requested', schema: taskCancelResponse },
      403: 'Not a member of the brand',
      404: 'TASK_NOT_FOUND',
      409: 'INVALID_STATUS_TRANSITION: already finished',
    },
  });

  return router;
}
