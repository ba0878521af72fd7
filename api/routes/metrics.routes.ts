import Router from '@koa/router';
import type { AppState } from '../middleware/state';
import { dashboardQuery, metricsBody, metricsPatch, parseListMetricsQuery, parseMetricsBody } from '../schemas/metrics.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { anomaliesQuery, recommendationsQuery, type MetricsAnalysisService } from '../services/metrics-analysis.service';
import { serializeMetrics, type MetricsService } from '../services/metrics.service';
import { actorOf, pageLink } from './route-context';

const BASE = '/tasks/monitoring/metrics';
const both = (path: string) => [path, `${path}/`];

/** task_monitoring metrics (seed 000): CRUD of per-task metrics and the dashboards read from rollups. */
export function taskMetricsRoutes(service: MetricsService, analysis: MetricsAnalysisService): Router<AppState> {
  const router = new Router<AppState>({ strict: false });

  router.get(both(`${BASE}/dashboard`), async (ctx) => {
    ctx.body = await service.dashboard(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  router.get(both(`${BASE}/trends`), async (ctx) => {
    ctx.body = await service.trends(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  router.get(both(`${BASE}/performance-by-type`), async (ctx) => {
    ctx.body = await service.performanceByType(ctx.state.brand.id, parseOrThrow(dashboardQuery, ctx.query));
  });
  router.get(both(`${BASE}/anomalies`), async (ctx) => {
    ctx.body = await analysis.anomalies(ctx.state.brand.id, parseOrThrow(anomaliesQuery, ctx.query));
  });
  router.get(both(`${BASE}/recommendations`), async (ctx) => {
    ctx.body = await analysis.recommendations(ctx.state.brand.id, parseOrThrow(recommendationsQuery, ctx.query).period_days);
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
  router.post(both(BASE), async (ctx) => {
    const body = parseMetricsBody(metricsBody, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    const row = await service.create(actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${row.id}/`);
    ctx.body = serializeMetrics(row);
  });
  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeMetrics(await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  router.put(both(`${BASE}/:id`), async (ctx) => {
    const body = parseMetricsBody(metricsBody, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    ctx.body = serializeMetrics(await service.update(actorOf(ctx), ctx.params.id!, body));
  });
  router.patch(both(`${BASE}/:id`), async (ctx) => {
    const body = parseMetricsBody(metricsPatch, ctx.request.body ?? {}, (s, b) => parseOrThrow(s, b));
    ctx.body = serializeMetrics(await service.update(actorOf(ctx), ctx.params.id!, body));
  });
  router.delete(both(`${BASE}/:id`), async (ctx) => {
    await service.remove(actorOf(ctx), ctx.params.id!);
    ctx.status = 204;
  });
  return router;
}
