import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ConnectionLike } from '@temporalio/client';
import { z } from 'zod';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { isoTimestamp } from '../schemas/common-responses.schemas';
import { TaskQueueGateway } from '../temporal/task-queues';
import { both } from './route-context';

interface Check {
  ok: boolean;
  latency_ms: number;
  error?: string;
}

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const started = performance.now();
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref())]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: err instanceof Error ? err.message : String(err) };
  }
}

/** The version of the nearest package.json (the sources' or dist/'s parent), read once. */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
    if (dirname(dir) === dir) return '0.0.0';
  }
}

const checkResponse = z.strictObject({ ok: z.boolean(), latency_ms: z.number().int(), error: z.string().optional() });
export const healthResponse = z.strictObject({ status: z.literal('healthy'), version: z.string(), timestamp: isoTimestamp }).meta({ id: 'Health' });
export const readyResponse = z
  .strictObject({
    status: z.literal('ready'),
    version: z.string(),
    timestamp: isoTimestamp,
    checks: z.strictObject({
      postgres: checkResponse,
      temporal: checkResponse,
      workers: checkResponse.extend({ task_queue: z.string(), pollers: z.number().int() }),
    }),
  })
  .meta({ id: 'Ready' });
export const infoResponse = z
  .strictObject({ name: z.string(), version: z.string(), environment: z.enum(['development', 'test', 'production']), debug: z.boolean() })
  .meta({ id: 'Info' });

/**
 * Seed 003's root endpoints, without a token:
 * - `GET /health`: liveness only (the process answers), so an orchestrator never restarts a healthy API because a
 *   dependency is down;
 * - `GET /ready`: PostgreSQL, Temporal, and at least one worker polling the platform's task queue (Temporal's pollers of
 *   the queue, last poll within the live window); 503 SERVICE_UNAVAILABLE naming what is missing otherwise;
 * - `GET /info`: name, version, environment and whether debug logging is on.
 */
export function healthRoutes(
  deps: { orm: MikroORM; temporal: ConnectionLike; queues: TaskQueueGateway; config: AppConfig },
  docs: ApiDocs,
): Router<AppState> {
  const { config } = deps;
  const version = packageVersion();
  const router = new Router<AppState>();

  router.get(both('/health'), (ctx) => {
    ctx.body = { status: 'healthy', version, timestamp: new Date().toISOString() };
  });
  docs.add({
    method: 'get',
    path: '/health',
    summary: 'Liveness: answers while the process runs (dependencies are checked by /ready)',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'Alive', schema: healthResponse } },
  });

  router.get(both('/ready'), async (ctx) => {
    const queue = config.TEMPORAL_TASK_QUEUE;
    let pollers = 0;
    const [postgres, temporal, workers] = await Promise.all([
      timed(() => deps.orm.em.fork().execute('select 1'), 2000),
      timed(() => deps.temporal.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE }), 2000),
      timed(async () => {
        const description = (await deps.queues.describe([queue])).get(queue);
        if (!description || description.error) throw new Error(description?.error ?? 'task queue not described');
        pollers = TaskQueueGateway.liveIdentities([description], deps.queues.liveWindowMs).size;
        if (pollers === 0) throw new Error(`no worker is polling task queue ${queue}`);
      }, 4000),
    ]);
    const checks = { postgres, temporal, workers: { ...workers, task_queue: queue, pollers } };
    const missing = [...(postgres.ok ? [] : ['postgres']), ...(temporal.ok ? [] : ['temporal']), ...(workers.ok ? [] : ['workers'])];
    if (missing.length) {
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, `Not ready: ${missing.join(', ')} unavailable`, { missing, checks });
    }
    ctx.body = { status: 'ready', version, timestamp: new Date().toISOString(), checks };
  });
  docs.add({
    method: 'get',
    path: '/ready',
    summary: 'Readiness: PostgreSQL, Temporal, and at least one worker polling the task queue',
    description: 'Not ready: 503 SERVICE_UNAVAILABLE with details.missing (postgres, temporal, workers) and details.checks.',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'Ready to serve', schema: readyResponse }, 503: 'SERVICE_UNAVAILABLE: a dependency is missing' },
  });

  router.get(both('/info'), (ctx) => {
    ctx.body = { name: config.APP_NAME, version, environment: config.NODE_ENV, debug: config.LOG_LEVEL === 'debug' };
  });
  docs.add({
    method: 'get',
    path: '/info',
    summary: 'Name, version, environment (NODE_ENV) and debug (LOG_LEVEL=debug) of this API',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'About this API', schema: infoResponse } },
  });
  return router;
}
