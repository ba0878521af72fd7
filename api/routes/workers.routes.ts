import Router from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import { listWorkersQuery, workerBody, workerPatch, workersOverviewQuery } from '../schemas/workers.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeWorker, type WorkerRegistryService } from '../services/worker-registry.service';
import { actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/monitoring/workers';
const both = (path: string) => [path, `${path}/`];

/** Workers serve every brand: any member reads the registry, only administrators write to it. */
function requireAdmin(ctx: Ctx): void {
  if (!ctx.state.principal.isAdmin) {
    throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'Only administrators can register, change or remove workers');
  }
}

/**
 * task_monitoring (seed 000) `workers/`: the worker registry with `overview/`. Every path answers with and without
 * its trailing slash; `{id}` is the integer id or the worker_id.
 */
export function workerRoutes(service: WorkerRegistryService): Router<AppState> {
  const router = new Router<AppState>();

  router.get(both(BASE), async (ctx) => {
    const r = await service.list(parseOrThrow(listWorkersQuery, ctx.query));
    ctx.body = {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, Math.min(r.page - 1, Math.max(1, Math.ceil(r.count / r.pageSize)))) : null,
      results: r.views.map(serializeWorker),
    };
  });

  // Before `:id`, so `overview` is never read as a worker id.
  router.get(both(`${BASE}/overview`), async (ctx) => {
    const q = parseOrThrow(workersOverviewQuery, ctx.query);
    ctx.body = await service.overview(q.stale_limit);
  });

  router.post(both(BASE), async (ctx) => {
    requireAdmin(ctx);
    const { view, created } = await service.register(actorOf(ctx), parseOrThrow(workerBody, ctx.request.body ?? {}));
    ctx.status = created ? 201 : 200;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = serializeWorker(view);
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeWorker(await service.get(ctx.params.id!));
  });

  router.put(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    ctx.body = serializeWorker(await service.replace(actorOf(ctx), ctx.params.id!, parseOrThrow(workerBody, ctx.request.body ?? {})));
  });

  router.patch(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    ctx.body = serializeWorker(await service.patch(actorOf(ctx), ctx.params.id!, parseOrThrow(workerPatch, ctx.request.body ?? {})));
  });

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });

  return router;
}
