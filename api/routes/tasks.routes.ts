import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import { serializeTask, serializeTaskDetail } from '../schemas/task.serializer';
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

/** task_core (seeds 000/001). Every path answers with and without its trailing slash. */
export function taskRoutes(
  service: TaskService,
  config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>,
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

  router.post(['/tasks', '/tasks/'], async (ctx) => {
    const body = parseOrThrow(createTaskBody, ctx.request.body ?? {});
    const { task, replayed } = await service.create(actorOf(ctx), body, ctx.get('idempotency-key') || undefined);
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = 201;
    ctx.set('Location', `/tasks/${task.id}/`);
    ctx.body = serializeTaskDetail(task, temporal);
  });

  router.get(['/tasks/queue-stats', '/tasks/queue-stats/'], async (ctx) => {
    ctx.body = await service.queueStats(ctx.state.brand.id);
  });

  router.get(['/tasks/type-stats', '/tasks/type-stats/'], async (ctx) => {
    ctx.body = await service.typeStats(ctx.state.brand.id);
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

  router.patch(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    const body = parseOrThrow(patchTaskBody, ctx.request.body ?? {});
    ctx.body = serializeTaskDetail(await service.update(actorOf(ctx), ctx.params.id!, body), temporal);
  });

  router.put(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    const body = parseOrThrow(putTaskBody, ctx.request.body ?? {});
    ctx.body = serializeTaskDetail(await service.update(actorOf(ctx), ctx.params.id!, body), temporal);
  });

  router.delete(['/tasks/:id', '/tasks/:id/'], async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });

  router.post(['/tasks/:id/retry', '/tasks/:id/retry/'], async (ctx) => {
    const body = parseOrThrow(retryTaskBody, ctx.request.body ?? {});
    ctx.body = await service.retry(actorOf(ctx), ctx.params.id!, body);
  });

  router.post(['/tasks/:id/cancel', '/tasks/:id/cancel/'], async (ctx) => {
    const body = parseOrThrow(cancelTaskBody, ctx.request.body ?? {});
    ctx.body = await service.cancel(actorOf(ctx), ctx.params.id!, body.reason);
  });

  return router;
}
