import Router from '@koa/router';
import type { AppState } from '../middleware/state';
import { validateCronBody } from '../schemas/scheduling.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { cronTemplates, timezoneInfo, validateCron } from '../services/cron.service';

const BASE = '/tasks/scheduled/periodic-tasks';
const both = (path: string) => [path, `${path}/`];

/** task_scheduling (seed 000): stateless tools — cron validation, cron templates, time zone information. */
export function schedulingRoutes(): Router<AppState> {
  const router = new Router<AppState>({ strict: false });

  router.post(both(`${BASE}/validate-cron`), (ctx) => {
    ctx.body = validateCron(parseOrThrow(validateCronBody, ctx.request.body ?? {}));
  });
  router.get(both(`${BASE}/cron-templates`), (ctx) => {
    ctx.body = cronTemplates();
  });
  router.get(both(`${BASE}/timezone-info`), (ctx) => {
    ctx.body = timezoneInfo(ctx.query.timezone);
  });
  return router;
}
