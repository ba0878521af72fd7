import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ConnectionLike } from '@temporalio/client';
import type { AppState } from '../middleware/state';

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: boolean; latency_ms: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref())]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: err instanceof Error ? err.message : String(err) };
  }
}

/** GET /health (no auth): reachability of PostgreSQL and Temporal; 503 when either is down. */
export function healthRoutes(deps: { orm: MikroORM; temporal: ConnectionLike; namespace: string }): Router<AppState> {
  const router = new Router<AppState>();
  router.get(['/health', '/health/'], async (ctx) => {
    const [postgres, temporal] = await Promise.all([
      timed(() => deps.orm.em.fork().execute('select 1'), 2000),
      timed(() => deps.temporal.workflowService.describeNamespace({ namespace: deps.namespace }), 2000),
    ]);
    const ok = postgres.ok && temporal.ok;
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'degraded', checks: { postgres, temporal } };
  });
  return router;
}
