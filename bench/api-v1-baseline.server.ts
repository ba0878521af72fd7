/**
 * The baseline of bench/api-v1.bench.ts, started by it as a process of its own (as the API is): bare Koa routes that
 * answer the same JSON from the same service calls as `/api/v1/tasks`, without what the bench measures — no
 * authentication, no rate limit, no brand resolution, no zod validation, no error/observability middleware.
 *
 *   GET  /bare/tasks     TaskService.search with the list's default query (parsed once at start-up) → v1List(serializeV1Task)
 *   POST /bare/tasks     TaskService.create with the bench body (parsed once at start-up) → 201 v1Success(serializeV1Task):
 *                        the same mirror insert, audit row and Temporal workflow start as the API's POST
 *   GET  /bare-rl/tasks  /bare/tasks behind the rate-limit middleware alone (the bench user, or the caller id in
 *                        X-Bench-Caller): its cost in isolation
 *
 * Configuration: BENCH_CONFIG (the API process's AppConfig as JSON), BENCH_PORT, BENCH_BRAND_ID, BENCH_USER_ID,
 * BENCH_USERNAME, BENCH_TASK_BODY (the POST body as JSON).
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { MikroORM } from '@mikro-orm/postgresql';
import Koa from 'koa';
import type { AppConfig } from '../api/config';
import { rateLimit } from '../api/middleware/rate-limit';
import type { AppState } from '../api/middleware/state';
import { v1List, v1Success } from '../api/schemas/v1-envelope.serializer';
import { serializeV1Task, STORED_PRIORITY, v1CreateTaskBody, v1ListTasksQuery } from '../api/schemas/v1-tasks.schemas';
import { TaskService, type Actor } from '../api/services/task.service';
import { createTemporalClient } from '../api/temporal/connection';
import { TaskWorkflowGateway } from '../api/temporal/task-workflows';
import { createOrmConfig } from '../db/mikro-orm.config';
import { findBrandById, findPrincipal } from '../db/repositories/identity.repository';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (this process is started by bench/api-v1.bench.ts)`);
  return v;
}

async function main(): Promise<void> {
  const config = JSON.parse(env('BENCH_CONFIG')) as AppConfig;
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const { client } = createTemporalClient(config);
  const tasks = new TaskService({ orm, tasks: new TaskWorkflowGateway(client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE), config });
  const brand = await findBrandById(orm.em.fork(), Number(env('BENCH_BRAND_ID')));
  const principal = await findPrincipal(orm.em.fork(), Number(env('BENCH_USER_ID')));
  if (!brand || !principal) throw new Error('bench brand or user not found');
  const actor: Actor = { userId: principal.id, username: principal.username, brandId: brand.id, brandName: brand.name, requestId: null, role: principal.role, ip: null };
  // What the API's validation produces for an empty query and for the bench body, computed once.
  const q = v1ListTasksQuery.parse({});
  const body = v1CreateTaskBody.parse(JSON.parse(env('BENCH_TASK_BODY')));

  const list = async (ctx: Koa.Context) => {
    const { count, rows } = await tasks.search(brand.id, {
      statuses: q.status,
      priorities: undefined,
      workerId: q.worker_id,
      sort: q.sort,
      order: q.order,
      skip: q.skip,
      limit: q.limit,
    });
    ctx.body = v1List(rows.map(serializeV1Task), { skip: q.skip, limit: q.limit, total: count });
  };
  const create = async (ctx: Koa.Context) => {
    const { task } = await tasks.create(actor, {
      task_type: body.type ?? config.V1_DEFAULT_TASK_TYPE,
      name: body.name,
      priority: STORED_PRIORITY[body.priority],
      description: body.description,
      context_data: body.payload,
      scheduled_for: body.scheduled_for,
      max_retries: body.retry_count,
      timeout_minutes: body.timeout ? body.timeout / 60 : null,
    });
    ctx.status = 201;
    ctx.body = v1Success(serializeV1Task(task));
  };

  const app = new Koa<AppState>();
  // The same JSON body parsing as the API: reading a body is part of any route that takes one.
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }));
  const router = new Router<AppState>();
  router.get('/bare/tasks', list);
  router.post('/bare/tasks', create);
  const limited = rateLimit(config, orm);
  router.get(
    '/bare-rl/tasks',
    async (ctx, next) => {
      // X-Bench-Caller: a caller id of its own per connection (the limiter counts per caller).
      const caller = Number(ctx.get('x-bench-caller'));
      ctx.state.principal = Number.isInteger(caller) && caller > 0 ? { ...principal, id: caller } : principal;
      await next();
    },
    limited,
    list,
  );
  app.use(router.routes());
  const server = app.listen(Number(env('BENCH_PORT')), '127.0.0.1');
  const stop = () => {
    server.close();
    void client.connection.close().finally(() => orm.close(true)).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
