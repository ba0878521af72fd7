import type Router from '@koa/router';
import type { AlertRuleRow } from '../../db/repositories/alert.repository';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { adminAlertHistoryQuery, globalAlertRuleBody } from '../schemas/admin-alerts.schemas';
import {
  alertRulePageResponse,
  alertRulePatch,
  alertRuleResponse,
  listActiveAlertsQuery,
  listAlertRulesQuery,
  parseAlertInput,
  testAlertBody,
} from '../schemas/alerts.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import {
  cooldownUntil,
  serializeAlertEvent,
  serializeAlertRule,
  type AlertActor,
  type AlertEventView,
  type AlertService,
} from '../services/alert.service';
import type { AdminRouteRegistration } from './admin.routes';
import { pageBody } from './alerts.routes';
import { both, type Ctx } from './route-context';

const BASE = '/admin/alerts';
const READ = ['admin', 'admin_viewer'];
const WRITE = ['admin'];
const TAGS = ['admin alerts'];

/** An administrator changing platform-wide rules: no brand (audited `admin.alert_rule.*` with brand_id null). */
function adminActorOf(ctx: Ctx): AlertActor {
  const { principal } = ctx.state;
  return { userId: principal.id, username: principal.username, brandId: null, requestId: ctx.state.requestId, role: principal.role, ip: ctx.ip || null };
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const brandOf = (brandId: number | null, brandName: string | null) => (brandId === null ? null : { id: brandId, name: brandName });

/** A firing rule of any brand, or a platform-wide one (brand null). */
export function serializeFiringAlert(row: AlertRuleRow) {
  return {
    id: row.id,
    name: row.name,
    brand: brandOf(row.brand_id, row.brand_name),
    brand_id: row.brand_id,
    metric_field: row.metric_field,
    aggregation: row.aggregation,
    condition: row.condition,
    value: row.last_value,
    fired_value: row.fired_value,
    threshold: row.threshold,
    state: row.state,
    firing_since: iso(row.firing_since),
    last_triggered_at: iso(row.last_triggered_at),
    last_fired_at: iso(row.last_triggered_at),
    notified: row.firing_event_id !== null,
    event_id: row.firing_event_id,
    cooldown_until: iso(cooldownUntil(row)),
    last_evaluated_at: iso(row.last_evaluated_at),
  };
}

/** A history event with the brand of its rule (null: a platform-wide rule). */
const serializeAdminAlertEvent = (v: AlertEventView) => ({ ...serializeAlertEvent(v), brand: brandOf(v.event.brand_id, v.event.brand_name) });

/**
 * `/admin/alerts` (seed 002): the platform-wide alert rules (no brand; failure rate or queue depth over every brand)
 * with the brand routes' CRUD, validation, audit and `test/` delivery path; `active/` lists what fires in every brand,
 * `history/` every event. The brand routes never see a platform-wide rule, these never change a brand's rule.
 */
export function adminAlertRoutes(service: AlertService, config: AppConfig): AdminRouteRegistration {
  const ruleBody = globalAlertRuleBody({ smtpConfigured: Boolean(config.SMTP_URL) });
  return (router: Router<AppState>, docs: ApiDocs) => {
    router.get(both(`${BASE}/active`), async (ctx) => {
      ctx.body = pageBody(ctx, await service.active('all', parseAlertInput(listActiveAlertsQuery, ctx.query)), serializeFiringAlert);
    });
    docs.add({
      method: 'get',
      path: `${BASE}/active`,
      summary: 'Every rule firing now: each brand’s and the platform-wide ones (brand null), the longest-firing first',
      tags: TAGS,
      query: listActiveAlertsQuery,
      roles: READ,
      responses: { 200: 'A page `{count, next, previous, results:[{id, name, brand, metric_field, value, threshold, state, firing_since, last_triggered_at, …}]}`', 400: 'Invalid filter', 403: 'Not an administrator' },
    });

    router.get(both(`${BASE}/history`), async (ctx) => {
      const q = parseOrThrow(adminAlertHistoryQuery, ctx.query);
      const page = await service.history('all', q, (f) => {
        if (q.brand_id === null) f.add('e.brand_id is null');
        else if (q.brand_id !== undefined) f.add('e.brand_id = ?', q.brand_id);
      });
      ctx.body = pageBody(ctx, page, serializeAdminAlertEvent);
    });
    docs.add({
      method: 'get',
      path: `${BASE}/history`,
      summary: 'Every firing, resolution and test of every rule (platform-wide and each brand’s), newest first, with deliveries',
      tags: TAGS,
      query: adminAlertHistoryQuery,
      roles: READ,
      responses: { 200: 'A page of events, each with its `brand` (null: platform-wide)', 400: 'Invalid filter', 403: 'Not an administrator' },
    });

    router.get(both(BASE), async (ctx) => {
      ctx.body = pageBody(ctx, await service.list(null, parseAlertInput(listAlertRulesQuery, ctx.query)), serializeAlertRule);
    });
    docs.add({
      method: 'get',
      path: BASE,
      summary: 'The platform-wide alert rules (the brand routes’ filters, ordering and pages)',
      tags: TAGS,
      query: listAlertRulesQuery,
      roles: READ,
      responses: { 200: { description: 'A page `{count, next, previous, results}`', schema: alertRulePageResponse }, 400: 'Invalid filter', 403: 'Not an administrator' },
    });

    router.post(both(BASE), async (ctx) => {
      const row = await service.create(adminActorOf(ctx), ctx.request.body ?? {});
      ctx.status = 201;
      ctx.set('Location', `${BASE}/${row.id}/`);
      ctx.body = serializeAlertRule(row);
    });
    docs.add({
      method: 'post',
      path: BASE,
      summary: 'Create a platform-wide rule (metric_field defaults to failure_rate_percent, condition to gt); audited admin.alert_rule.create',
      description:
        'Measured over every brand’s tasks. Only failure_rate_percent and queue_depth can be platform-wide (METRIC_FIELD_INVALID otherwise); ' +
        'thresholds, windows, cooldown and channels are validated as on /tasks/monitoring/alerts (THRESHOLD_OUT_OF_RANGE, VALIDATION_ERROR).',
      tags: TAGS,
      body: ruleBody,
      roles: WRITE,
      responses: { 201: { description: 'The rule', schema: alertRuleResponse }, 400: 'Invalid definition', 403: 'Not an administrator, or read-only' },
    });

    router.get(both(`${BASE}/:id`), async (ctx) => {
      ctx.body = serializeAlertRule(await service.get(null, ctx.params.id!));
    });
    docs.add({
      method: 'get',
      path: `${BASE}/:id`,
      summary: 'One platform-wide rule with its state, last value and cooldown',
      tags: TAGS,
      roles: READ,
      responses: { 200: { description: 'The rule', schema: alertRuleResponse }, 403: 'Not an administrator', 404: 'No such platform-wide rule' },
    });

    router.patch(both(`${BASE}/:id`), async (ctx) => {
      ctx.body = serializeAlertRule(await service.update(adminActorOf(ctx), ctx.params.id!, ctx.request.body ?? {}, 'patch'));
    });
    docs.add({
      method: 'patch',
      path: `${BASE}/:id`,
      summary: 'Change some fields of a platform-wide rule (merged, validated whole); audited admin.alert_rule.update',
      tags: TAGS,
      body: alertRulePatch,
      roles: WRITE,
      responses: {
        200: { description: 'The rule', schema: alertRuleResponse },
        400: 'Invalid definition',
        403: 'Not an administrator, or read-only',
        404: 'No such platform-wide rule',
      },
    });

    router.delete(both(`${BASE}/:id`), async (ctx) => {
      await service.remove(adminActorOf(ctx), ctx.params.id!);
      ctx.status = 204;
    });
    docs.add({
      method: 'delete',
      path: `${BASE}/:id`,
      summary: 'Delete a platform-wide rule (its history stays); audited admin.alert_rule.delete',
      tags: TAGS,
      roles: WRITE,
      responses: { 204: 'Deleted', 403: 'Not an administrator, or read-only', 404: 'No such platform-wide rule' },
    });

    router.post(both(`${BASE}/:id/test`), async (ctx) => {
      const { force } = parseOrThrow(testAlertBody, ctx.request.body ?? {});
      const r = await service.test(adminActorOf(ctx), ctx.params.id!, force ?? false);
      // 200 once every channel has an outcome; 202 while a delivery is still being retried (see history/ for the rest).
      ctx.status = r.outcome === null && r.event.delivery_workflow_id ? 202 : 200;
      ctx.body = { event: serializeAdminAlertEvent(r), outcome: r.outcome };
    });
    docs.add({
      method: 'post',
      path: `${BASE}/:id/test`,
      summary: 'Send a test payload to the rule’s channels through the real delivery workflow; audited admin.alert_rule.test',
      tags: TAGS,
      body: testAlertBody,
      roles: WRITE,
      responses: {
        200: '`{event, outcome}`: every channel has an outcome',
        202: 'A delivery is still being retried',
        403: 'Not an administrator, or read-only',
        404: 'No such platform-wide rule',
        409: 'ALERT_COOLDOWN_ACTIVE: within the cooldown of the last firing (send {"force": true})',
      },
    });
  };
}
