import Router from '@koa/router';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
import { dashboardQuery, listMetricsQuery, metricsBody, metricsPatch, parseListMetricsQuery, parseMetricsBody } from '../schemas/metrics.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { anomaliesQuery, recommendationsQuery, type MetricsAnalysisService } from '../services/metrics-analysis.service';
import { serializeMetrics, type MetricsService } from '../services/metrics.service';
import { both, actorOf, pageLink } from './route-context';

const BASE = '/tasks/monitoring/metrics';

/** task_monitoring metrics (seed 000): CRUD of per-task metrics and the dashboards read from rollups. */
export function taskMetricsRoutes(service: MetricsService, analysis: MetricsAnalysisService, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>({ strict: false });
  const doc = (route: Omit<RouteDoc, 'tags'>) =>
    docs.add({ ...route, tags: ['metrics'], description: [route.description, 'Scoped to the X-Brand-ID brand.'].filter(Boolean).join(' ') });

  router.get(both(`${BASE}/dashboard`), async (ctx) => {
    ctx.body = await service.dashboard(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  doc({
    method: 'get',
    path: `${BASE}/dashboard`,
    summary: 'Totals, success rate, durations, resource use and cost over a period (from hourly rollups)',
    query: dashboardQuery,
    responses: { 200: 'The dashboard figures' },
  });
  router.get(both(`${BASE}/trends`), async (ctx) => {
    ctx.body = await service.trends(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  doc({
    method: 'get',
    path: `${BASE}/trends`,
    summary: 'The same figures per hour or day bucket of the period',
    query: dashboardQuery,
    responses: { 200: 'A series of buckets' },
  });
  router.get(both(`${BASE}/performance-by-type`), async (ctx) => {
    ctx.body = await service.performanceByType(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  doc({
    method: 'get',
    path: `${BASE}/performance-by-type`,
    summary: 'Per task type: runs, success rate, duration percentiles, resources and cost over the period',
    query: dashboardQuery,
    responses: { 200: 'Figures per task type' },
  });
  router.get(both(`${BASE}/anomalies`), async (ctx) => {
    ctx.body = await analysis.anomalies(ctx.state.brand.id, parseOrThrow(anomaliesQuery, ctx.query));
  });
  doc({
    method: 'get',
    path: `${BASE}/anomalies`,
    summary: 'Recent runs far from their task type\'s robust baseline (median and MAD), with their scores',
    query: anomaliesQuery,
    responses: { 200: 'The anomalies and the baselines used' },
  });
  router.get(both(`${BASE}/recommendations`), async (ctx) => {
    ctx.body = await analysis.recommendations(ctx.state.brand.id, parseOrThrow(recommendationsQuery, ctx.query).period_days);
  });
  doc({
    method: 'get',
    path: `${BASE}/recommendations`,
    summary: 'Suggestions from the measurements: timeouts, retries, resources, colliding schedules',
    query: recommendationsQuery,
    responses: { 200: 'The recommendations' },
  });

  router.get(both(BASE), async (ctx) => {
    const query = parseListMetricsQuery(ctx.query, (s, q) => parseOrThrow(s, q));
    const r = await service.list(ctx.state.brand.id, query);
    ctx.body = {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, r.page - 1) : null,
      results: r.rows.map(serializeMetrics),
    };
  });
  doc({
    method: 'get',
    path: BASE,
    summary: 'Per-task metrics: filters on task, type, source, dates and value ranges (`field__gte`…), ordering, DRF pages',
    query: listMetricsQuery,
    responses: { 200: 'A page of metrics', 400: 'Invalid filter; METRIC_FIELD_INVALID for a range on a field that is not a metric' },
  });
  router.post(both(BASE), async (ctx) => {
    const body = parseMetricsBody(metricsBody, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    const row = await service.create(actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${row.id}/`);
    ctx.body = serializeMetrics(row);
  });
  doc({
    method: 'post',
    path: BASE,
    summary: 'Import the metrics of a task measured outside the platform\'s workers; audited',
    body: metricsBody,
    responses: { 201: 'The metrics', 400: 'Invalid body, METRIC_FIELD_INVALID, or base_task not found', 409: 'The task already has metrics' },
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeMetrics(await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'The metrics of one task run',
    responses: { 200: 'The metrics', 404: 'No such metrics' },
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    const body = parseMetricsBody(metricsBody, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    ctx.body = serializeMetrics(await service.update(actorOf(ctx), ctx.params.id!, body));
  });
  doc({
    method: 'put',
    path: `${BASE}/:id`,
    summary: 'Replace the metrics of a task run; audited',
    body: metricsBody,
    responses: { 200: 'The metrics', 404: 'No such metrics' },
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    const body = parseMetricsBody(metricsPatch, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    ctx.body = serializeMetrics(await service.update(actorOf(ctx), ctx.params.id!, body));
  });
  doc({
    method: 'patch',
    path: `${BASE}/:id`,
    summary: 'Change some metrics of a task run; audited',
    body: metricsPatch,
    responses: { 200: 'The metrics', 404: 'No such metrics' },
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  doc({
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Delete the metrics of a task run; audited',
    responses: { 204: 'Deleted', 404: 'No such metrics' },
  });
  return router;
}
