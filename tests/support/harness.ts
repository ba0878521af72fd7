import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type Koa from 'koa';
import request from 'supertest';
type TestAgent = ReturnType<typeof request.agent>;
import { createApp } from '../../api/app';
import { loadConfig, type AppConfig } from '../../api/config';
import { signAccessToken } from '../../api/services/token.service';
import { createTemporalClient } from '../../api/temporal/connection';
import { TaskWorkflowGateway } from '../../api/temporal/task-workflows';
import { createOrmConfig } from '../../db/mikro-orm.config';
import { ensureBrand, ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { newWorkerId, runRegisteredWorker } from '../../worker/registration';
import { connectWorker, createTaskWorker } from '../../worker/worker-options';
import { recordResponse, saveOpenApiDocument } from './response-log';

let runtimeInstalled = false;
let seq = 0;

export const TEST_JWT_SECRET = 'test-secret-0123456789-0123456789-abcdef';

export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: required('TEST_DATABASE_URL'),
    TEMPORAL_ADDRESS: required('TEMPORAL_ADDRESS_OVERRIDE', 'TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_TASK_QUEUE: `test-${process.pid}-${Date.now()}-${seq++}`,
    JWT_SECRET: TEST_JWT_SECRET,
    EXPORT_DIR: join(required('TEST_TMP_DIR'), `exports-${process.pid}`),
    ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '3',
    PROGRESS_WRITE_INTERVAL_MS: '0',
    RECONCILE_STALE_AFTER_SECONDS: '0',
    // Tests poll the API hard with one user: only tests/api/rate-limit.test.ts asks for real limits.
    RATE_LIMIT_PER_HOUR: '1000000',
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  return loadConfig(env as NodeJS.ProcessEnv, overrides);
}

function required(...names: string[]): string {
  for (const n of names) if (process.env[n]) return process.env[n]!;
  throw new Error(`${names.join(' or ')} is not set: run the tests through jest (tests/support/global-setup.ts)`);
}

export interface TestUser {
  id: number;
  username: string;
  token: string;
}

export interface TestContext {
  config: AppConfig;
  orm: MikroORM;
  client: Client;
  gateway: TaskWorkflowGateway;
  app: Koa;
  http: TestAgent;
  brand: { id: number; name: string };
  otherBrand: { id: number; name: string };
  user: TestUser;
  /** A member of `otherBrand` only. */
  outsider: TestUser;
  headers(user?: TestUser, brandId?: number): Record<string, string>;
  startWorker(overrides?: Partial<WorkerOptions>): Promise<Worker>;
  stopWorker(): Promise<void>;
  /** Polls GET /tasks/{id}/ until `predicate` holds. */
  waitForTask(taskId: string | number, predicate: (task: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  close(): Promise<void>;
}

/**
 * Everything a test file needs, on real parts: the shared Temporal dev server and database, an ORM,
 * a Temporal client, the Koa app (supertest on its callback) and a worker on a task queue of its own.
 */
export async function createTestContext(options: { worker?: boolean; config?: Partial<AppConfig> } = {}): Promise<TestContext> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const config = testConfig(options.config);
  mkdirSync(config.EXPORT_DIR, { recursive: true });
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL, { pool: { min: 0, max: 20 } }));
  const { client, connection } = createTemporalClient(config);
  // Every response is recorded with its route, to be checked against /openapi.json at the end of the run.
  const app = createApp({ orm, temporal: client, config, logger: { error: (obj, msg) => console.error(msg, obj) }, observeResponses: recordResponse });
  const em = orm.em.fork();
  const suffix = `${process.pid}-${Date.now()}-${seq++}`;
  const brand = await ensureBrand(em, `brand-${suffix}`);
  const otherBrand = await ensureBrand(em, `other-${suffix}`);
  const mkUser = async (name: string, brandId: number): Promise<TestUser> => {
    const u = await ensureUser(em, `${name}-${suffix}`);
    await grantMembership(em, u.id, brandId);
    return { id: u.id, username: u.username, token: signAccessToken(config, u, 3600) };
  };
  const user = await mkUser('member', brand.id);
  const outsider = await mkUser('outsider', otherBrand.id);

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let workerConnection: NativeConnection | undefined;

  const ctx: TestContext = {
    config,
    orm,
    client,
    gateway: new TaskWorkflowGateway(client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE),
    app,
    http: request.agent(app.callback()),
    brand,
    otherBrand,
    user,
    outsider,
    headers: (u = user, brandId = brand.id) => ({ Authorization: `Bearer ${u.token}`, 'X-Brand-ID': String(brandId) }),
    async startWorker(overrides) {
      workerConnection ??= await connectWorker(config);
      worker = await createTaskWorker({
        orm,
        client,
        connection: workerConnection,
        config,
        workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
        overrides: { identity: newWorkerId(), ...overrides },
      });
      // Registered in the worker registry like the real worker (identity = worker_id), heartbeating while it runs.
      workerRun = runRegisteredWorker(worker, { orm, config });
      return worker;
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      worker = undefined;
      workerRun = undefined;
    },
    async waitForTask(taskId, predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Record<string, any> | undefined;
      for (;;) {
        const res = await ctx.http.get(`/tasks/${taskId}/`).set(ctx.headers());
        last = res.body;
        if (res.status === 200 && predicate(res.body)) return res.body;
        if (Date.now() > deadline) throw new Error(`task ${taskId} did not reach the expected state; last: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      const document = await request(app.callback()).get('/openapi.json');
      if (document.status === 200) saveOpenApiDocument(document.text);
      await ctx.stopWorker();
      await workerConnection?.close();
      await connection.close();
      await orm.close(true);
    },
  };
  if (options.worker !== false) await ctx.startWorker();
  return ctx;
}

/**
 * The Temporal status of a task's workflow once it has closed. The workflow writes its terminal mirror row just before
 * it closes, so a test that saw the row may still find the execution RUNNING for a moment.
 */
export async function closedStatus(gateway: TaskWorkflowGateway, taskId: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await gateway.describe(taskId)).status.name;
    if (status !== 'RUNNING' || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}
