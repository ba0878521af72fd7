import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
import {
  activeAlertPageResponse,
  alertEventPageResponse,
  alertHistoryQuery,
  alertRuleBody,
  alertRulePageResponse,
  alertRulePatch,
  alertRuleResponse,
  alertTestResponse,
  listActiveAlertsQuery,
  listAlertRulesQuery,
  parseAlertInput,
  testAlertBody,
} from '../schemas/alerts.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeActiveAlert, serializeAlertEvent, serializeAlertRule, type AlertService, type Page } from '../services/alert.service';
import { both, actorOf, pageLink, type Ctx } from './route-context';

const BASE = '/tasks/monitoring/alerts';

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
export function alertRoutes(service: AlertService, config: Pick<AppConfig, 'SMTP_URL'>, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  // The schema the service validates definitions with (email channels only when SMTP is configured).
  const ruleBody = alertRuleBody({ smtpConfigured: Boolean(config.SMTP_URL) });
  const doc = (route: Omit<RouteDoc, 'tags'>) =>
    docs.add({ ...route, tags: ['alerts'], description: [route.description, 'Scoped to the X-Brand-ID brand.'].filter(Boolean).join(' ') });
  const rule = (description: string) => ({ description, schema: alertRuleResponse });
  const INVALID = 'Invalid definition: VALIDATION_ERROR, METRIC_FIELD_INVALID, THRESHOLD_OUT_OF_RANGE';

  router.get(both(`${BASE}/active`), async (ctx) => {
    ctx.body = pageBody(ctx, await service.active(ctx.state.brand.id, parseAlertInput(listActiveAlertsQuery, ctx.query)), serializeActiveAlert);
  });
  doc({
    method: 'get',
    path: `${BASE}/active`,
    summary: 'The brand\'s rules firing now: the value that fired, since when, whether the channels were notified',
    query: listActiveAlertsQuery,
    responses: { 200: { description: 'A page of firing rules', schema: activeAlertPageResponse } },
  });

  router.get(both(`${BASE}/history`), async (ctx) => {
    ctx.body = pageBody(ctx, await service.history(ctx.state.brand.id, parseOrThrow(alertHistoryQuery, ctx.query)), serializeAlertEvent);
  });
  doc({
    method: 'get',
    path: `${BASE}/history`,
    summary: 'Every firing, resolution and test of the brand\'s rules, newest first, with each delivery attempt',
    query: alertHistoryQuery,
    responses: { 200: { description: 'A page of events', schema: alertEventPageResponse } },
  });

  router.get(both(BASE), async (ctx) => {
    ctx.body = pageBody(ctx, await service.list(ctx.state.brand.id, parseAlertInput(listAlertRulesQuery, ctx.query)), serializeAlertRule);
  });
  doc({
    method: 'get',
    path: BASE,
    summary: 'The brand\'s alert rules: filters (metric, state, active, search), ordering, DRF pages',
    query: listAlertRulesQuery,
    responses: { 200: { description: 'A page of rules', schema: alertRulePageResponse } },
  });

  router.post(both(BASE), async (ctx) => {
    const row = await service.create(actorOf(ctx), ctx.request.body ?? {});
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${row.id}/`);
    ctx.body = serializeAlertRule(row);
  });
  doc({
    method: 'post',
    path: BASE,
    summary: 'Create an alert rule: a metric, an aggregation over a window, a threshold, a cooldown, channels; audited',
    body: ruleBody,
    responses: { 201: rule('The rule'), 400: INVALID },
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'One rule with its state, last value and cooldown',
    responses: { 200: rule('The rule'), 404: 'No such rule' },
  });

  router.put(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.update(actorOf(ctx), ctx.params.id!, ctx.request.body ?? {}, 'put'));
  });
  doc({
    method: 'put',
    path: `${BASE}/:id`,
    summary: 'Replace a rule\'s definition (channel secrets left out are kept); audited',
    body: ruleBody,
    responses: { 200: rule('The rule'), 400: INVALID, 404: 'No such rule' },
  });

  router.patch(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeAlertRule(await service.update(actorOf(ctx), ctx.params.id!, ctx.request.body ?? {}, 'patch'));
  });
  doc({
    method: 'patch',
    path: `${BASE}/:id`,
    summary: 'Change some fields of a rule (merged, validated whole); audited',
    body: alertRulePatch,
    responses: { 200: rule('The rule'), 400: INVALID, 404: 'No such rule' },
  });

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  doc({
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Delete a rule (its history stays); audited',
    responses: { 204: 'Deleted', 404: 'No such rule' },
  });

  router.post(both(`${BASE}/:id/test`), async (ctx) => {
    const { force } = parseOrThrow(testAlertBody, ctx.request.body ?? {});
    const r = await service.test(actorOf(ctx), ctx.params.id!, force ?? false);
    const event = serializeAlertEvent(r);
    // 200 once every channel has an outcome; 202 while a delivery is still being retried (see history/ for the rest).
    ctx.status = r.outcome === null && r.event.delivery_workflow_id ? 202 : 200;
    ctx.body = { event, outcome: r.outcome };
  });
  doc({
    method: 'post',
    path: `${BASE}/:id/test`,
    summary: 'Send a test payload to the rule\'s channels through the real delivery workflow; audited',
    body: testAlertBody,
    responses: {
      200: { description: 'Every channel has an outcome', schema: alertTestResponse },
      202: { description: 'A delivery is still being retried (see history/)', schema: alertTestResponse },
      404: 'No such rule',
      409: 'ALERT_COOLDOWN_ACTIVE: within the cooldown of the last firing (send {"force": true})',
    },
  });

  return router;
}
