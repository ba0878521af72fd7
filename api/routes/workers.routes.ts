import Router from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
import { listWorkersQuery, workerBody, workerPageResponse, workerPatch, workerResponse, workersOverviewQuery } from '../schemas/workers.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeWorker, type WorkerRegistryService } from '../services/worker-registry.service';
import { both, actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/monitoring/workers';

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
export function workerRoutes(service: WorkerRegistryService, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  const doc = (route: Omit<RouteDoc, 'tags'>) => docs.add({ ...route, tags: ['workers'] });
  const worker = (description: string) => ({ description, schema: workerResponse });
  const WRITE = 'Administrators only (403 PERMISSION_DENIED otherwise); audited. Needs X-Brand-ID like every /tasks/ route, though workers serve every brand.';
  const READ = 'Any member of the X-Brand-ID brand (workers serve every brand).';

  router.get(both(BASE), async (ctx) => {
    const r = await service.list(parseOrThrow(listWorkersQuery, ctx.query));
    ctx.body = {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, Math.min(r.page - 1, Math.max(1, Math.ceil(r.count / r.pageSize)))) : null,
      results: r.views.map(serializeWorker),
    };
  });
  doc({
    method: 'get',
    path: BASE,
    summary: 'The worker registry: online/offline (heartbeat and Temporal polling), load, filters, ordering, DRF pages',
    description: READ,
    query: listWorkersQuery,
    responses: { 200: { description: 'A page of workers', schema: workerPageResponse } },
  });

  // Before `:id`, so `overview` is never read as a worker id.
  router.get(both(`${BASE}/overview`), async (ctx) => {
    const q = parseOrThrow(workersOverviewQuery, ctx.query);
    ctx.body = await service.overview(q.stale_limit);
  });
  doc({
    method: 'get',
    path: `${BASE}/overview`,
    summary: 'Counts online and offline, capacity and load per task queue, the workers gone stale',
    description: READ,
    query: workersOverviewQuery,
    responses: { 200: 'The overview' },
  });

  router.post(both(BASE), async (ctx) => {
    requireAdmin(ctx);
    const { view, created } = await service.register(actorOf(ctx), parseOrThrow(workerBody, ctx.request.body ?? {}));
    ctx.status = created ? 201 : 200;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = serializeWorker(view);
  });
  doc({
    method: 'post',
    path: BASE,
    summary: 'Register an external worker (another SDK, its own task queues), or re-register one by worker_id; counts as a heartbeat',
    description: WRITE,
    body: workerBody,
    responses: {
      201: worker('Registered'),
      200: worker('Re-registered (same worker_id)'),
      403: 'Not an administrator',
      409: 'The worker_id belongs to a worker that registers itself',
    },
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeWorker(await service.get(ctx.params.id!));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'One worker (integer id or worker_id)',
    description: READ,
    responses: { 200: worker('The worker'), 404: 'No such worker' },
  });

  router.put(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    ctx.body = serializeWorker(await service.replace(actorOf(ctx), ctx.params.id!, parseOrThrow(workerBody, ctx.request.body ?? {})));
  });
  doc({
    method: 'put',
    path: `${BASE}/:id`,
    summary: 'Replace a manual registration (a worker that registers itself cannot be edited)',
    description: WRITE,
    body: workerBody,
    responses: { 200: worker('The worker'), 403: 'Not an administrator', 404: 'No such worker', 409: 'A self-registered worker' },
  });

  router.patch(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    ctx.body = serializeWorker(await service.patch(actorOf(ctx), ctx.params.id!, parseOrThrow(workerPatch, ctx.request.body ?? {})));
  });
  doc({
    method: 'patch',
    path: `${BASE}/:id`,
    summary: 'Report on a manual registration (status, load, heartbeat) or change part of it',
    description: WRITE,
    body: workerPatch,
    responses: { 200: worker('The worker'), 403: 'Not an administrator', 404: 'No such worker', 409: 'A self-registered worker' },
  });

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    requireAdmin(ctx);
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  doc({
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Remove a worker from the registry (an online worker that registers itself comes back)',
    description: WRITE,
    responses: { 204: 'Removed', 403: 'Not an administrator', 404: 'No such worker' },
  });

  return router;
}
