import Router from '@koa/router';
import type { AppState } from '../middleware/state';
import { alertHistoryQuery, listActiveAlertsQuery, listAlertRulesQuery, parseAlertInput, testAlertBody } from '../schemas/alerts.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeActiveAlert, serializeAlertEvent, serializeAlertRule, type AlertService, type Page } from '../services/alert.service';
import { actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/monitoring/alerts';
const both = (path: string) => [path, `${path}/`];

/** A DRF page `{count, next, previous, results}` (the admin alert routes answer the same way). */
export function pageBody<T>(ctx: Ctx, r: Page<T>, serialize: (row: T) => unknown) {
  return {
    count: r.count,
    next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
    previous: r.page > 1 ? pageLink(ctx, Math.min(r.page - 1, Math.max(1, Math.ceil(r.count / r.pageSize)))) : null,
    results: r.rows.map(serialize),
  };
}

/**
 * task_monitoring alert rules (seed 000): CRUD, `{id}/test/`, `active/`, `history/`. Every path answers with and
 * without its trailing slash; `active/` and `history/` are registered before `{id}/`.
 */
export function alertRoutes(service: AlertService): Router<AppState> {
  const router = new Router<AppState>();

  router.get(both(`${BASE}/active`), async (ctx) => {
    ctx.body = pageBody(ctx, await service.active(ctx.state.brand.id, parseAlertInput(listActiveAlertsQuery, ctx.query)), serializeActiveAlert);
  });

  router.get(both(`${BASE}/history`), async (ctx) => {
    ctx.body = pageBody(ctx, await service.history(ctx.state.brand.id, parseOrThrow(alertHistoryQuery, ctx.query)), serializeAlertEvent);
  });

  router.get(both(BASE), async (ctx) => {
    ctx.body = pageBody(ctx, await service.list(ctx.state.brand.id, parseAlertInput(listAlertRulesQuery, ctx.query)), serializeAlertRule);
  });

  router.post(both(BASE), async (ctx) => {
    const row = await service.create(actorOf(ctx), ctx.request.body ?? {});
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${row.id}/`);
    ctx.body = serializeAlertRule(row);
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.get(ctx.state.brand.id, ctx.params.id!));
  });

  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.update(actorOf(ctx), ctx.params.id!, ctx.request.body ?? {}, 'put'));
  });

  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.update(actorOf(ctx), ctx.params.id!, ctx.request.body ?? {}, 'patch'));
  });

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });

  router.post(both(`${BASE}/:id/test`), async (ctx) => {
    const { force } = parseOrThrow(testAlertBody, ctx.request.body ?? {});
    const r = await service.test(actorOf(ctx), ctx.params.id!, force ?? false);
    const event = serializeAlertEvent(r);
    // 200 once every channel has an outcome; 202 while a delivery is still being retried (see history/ for the rest).
    ctx.status = r.outcome === null && r.event.delivery_workflow_id ? 202 : 200;
    ctx.body = { event, outcome: r.outcome };
  });

  return router;
}
