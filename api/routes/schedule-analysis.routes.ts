import type Router from '@koa/router';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { kindQuery, optimizeBody, performanceQuery, statsQuery } from '../schemas/schedule-analysis.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { ScheduleAnalysisService } from '../services/schedule-analysis.service';
import { both, actorOf, pageLink } from './route-context';

const BASE = '/tasks/scheduled/periodic-tasks';

/**
 * task_scheduling (seed 000): `stats/`, `performance-analysis/` and `optimize-schedules/`, over the brand's periodic
 * tasks and cron jobs (`?kind=periodic|cron_job` narrows). Registered on the scheduling router before its `{id}` routes.
 */
export function scheduleAnalysisRoutes(service: ScheduleAnalysisService): (router: Router<AppState>, docs: ApiDocs) => void {
  return (router, docs) => {
    const tags = ['schedule analysis'];
    const description = 'Over the X-Brand-ID brand\'s periodic tasks and cron jobs (`kind` narrows to one of them).';
    router.get(both(`${BASE}/stats`), async (ctx) => {
      ctx.body = await service.stats(ctx.state.brand.id, parseOrThrow(statsQuery, ctx.query));
    });
    docs.add({
      method: 'get',
      path: `${BASE}/stats`,
      summary: 'Schedules by state, runs and failure rate over a period, the next firings',
      description,
      tags,
      query: statsQuery,
      responses: { 200: 'Statistics of the period' },
    });

    router.get(both(`${BASE}/performance-analysis`), async (ctx) => {
      const r = await service.performance(ctx.state.brand.id, parseOrThrow(performanceQuery, ctx.query));
      ctx.body = {
        count: r.count,
        next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
        previous: r.page > 1 ? pageLink(ctx, r.page - 1) : null,
        period: r.period,
        since: r.since,
        results: r.results,
      };
    });
    docs.add({
      method: 'get',
      path: `${BASE}/performance-analysis`,
      summary: 'Per schedule: runs, failure rate, durations (avg, p95), start drift; ordering, DRF pages',
      description,
      tags,
      query: performanceQuery,
      responses: { 200: 'A page of per-schedule figures with the period' },
    });

    router.post(both(`${BASE}/optimize-schedules`), async (ctx) => {
      const { kind } = parseOrThrow(kindQuery, ctx.query);
      ctx.body = await service.optimize(actorOf(ctx), kind, parseOrThrow(optimizeBody, ctx.request.body ?? {}));
    });
    docs.add({
      method: 'post',
      path: `${BASE}/optimize-schedules`,
      summary: 'Find schedules that fire together and spread them (offset or jitter); dry_run proposes only; audited',
      description,
      tags,
      query: kindQuery,
      body: optimizeBody,
      responses: { 200: 'The colliding groups and the changes made (or proposed)' },
    });
  };
}
