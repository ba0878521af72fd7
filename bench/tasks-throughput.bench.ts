/**
 * Benchmark (not a test): how much does the REST API cost on top of Temporal?
 *
 *   A: `POST /tasks/` of `noop` tasks over real HTTP to the API process (dist/api/server.js on a free port);
 *   B: raw `client.workflow.start('noop', ...)` of the same workflow, same input shape, same start options
 *      (through TaskWorkflowGateway, which is exactly what the API calls), same task queue.
 *
 * Both paths run against the same Temporal dev server and the same worker process (dist/worker/main.js), with the same concurrency, and both
 * detect completion the same way (`client.workflow.getHandle(id).result()` on a separate observer connection).
 * A and B alternate in rounds (A,B / B,A / A,B ...) after an unmeasured warm-up of each path, to reduce drift on
 * a noisy shared machine. Prints a table and writes bench/results.json.
 *
 * Knobs: BENCH_TASKS (600, split over the rounds, per path), BENCH_CONCURRENCY (20), BENCH_ROUNDS (3),
 * BENCH_WARMUP (50 per path), BENCH_PROFILE=1 (CPU profile of the API process into /tmp/prof),
 * BENCH_TEMPORAL_ADDRESS (use an already running server with our search
 * attributes instead of starting a dev server).
 *
 *   npm run build && npm run bench
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { ulid } from 'ulid';
import { signAccessToken } from '../api/services/token.service';
import { createTemporalClient } from '../api/temporal/connection';
import { TaskWorkflowGateway } from '../api/temporal/task-workflows';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser, grantMembership } from '../db/repositories/identity.repository';
import type { TaskWorkflowInput, TaskWorkflowResult } from '../workflows/contracts/task-workflow';
import { beginBench, cleanup, fmt, intEnv, onExit, projectRoot, startBenchStack, table } from './bench-support';
import { mean, percentile, round } from './stats';

const N = intEnv('BENCH_TASKS', 600);
const C = intEnv('BENCH_CONCURRENCY', 20);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const WARMUP = intEnv('BENCH_WARMUP', 50, 0);
const TASK_QUEUE = 'bench';
const GOAL_RATE_RATIO = 0.9;
const GOAL_P95_RATIO = 1.15;

type PathKey = 'A' | 'B';
const LABEL: Record<PathKey, string> = { A: 'A: POST /tasks/', B: 'B: raw start' };

interface BatchResult {
  path: PathKey;
  round: number;
  tasks: number;
  seconds: number;
  rate: number;
  latenciesMs: number[];
}



/**
 * Submits `count` tasks with `concurrency` submitters; each submit's latency is recorded, and once accepted
 * its result is awaited (outside the concurrency limit). The rate spans first submit to last completion.
 */
async function runBatch(
  path: PathKey,
  round: number,
  count: number,
  concurrency: number,
  submit: () => Promise<string>,
  observer: Client,
): Promise<BatchResult> {
  const latenciesMs: number[] = [];
  const completions: Promise<void>[] = [];
  let next = 0;
  let lastDone = 0;
  const t0 = performance.now();
  const submitter = async () => {
    while (next < count) {
      next++;
      const start = performance.now();
      const id = await submit();
      latenciesMs.push(performance.now() - start);
      completions.push(
        observer.workflow
          .getHandle(id)
          .result()
          .then((result: TaskWorkflowResult) => {
            if (result?.status !== 'completed') throw new Error(`${id} ended with ${JSON.stringify(result)}`);
            lastDone = Math.max(lastDone, performance.now());
          }),
      );
    }
  };
  // allSettled first so a failed submitter does not leave result() promises unobserved.
  const submitters = await Promise.allSettled(Array.from({ length: Math.min(concurrency, count) }, submitter));
  const results = await Promise.allSettled(completions);
  const failure = [...submitters, ...results].find((r) => r.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  const seconds = (lastDone - t0) / 1000;
  return { path, round, tasks: count, seconds, rate: count / seconds, latenciesMs };
}





async function main(): Promise<void> {
  try {
    await run();
  } finally {
    await cleanup();
  }
}

async function run(): Promise<void> {
  const log = beginBench();

  const { config, dbUrl, baseUrl } = await startBenchStack({ taskQueue: TASK_QUEUE, dbPrefix: 'durable_tasks_bench', log });
  const benchOrm = await MikroORM.init(createOrmConfig(dbUrl));
  onExit('close bench ORM', () => benchOrm.close(true));
  const raw = createTemporalClient(config);
  onExit('close raw-path Temporal connection', () => raw.connection.close());
  const observer = createTemporalClient(config);
  onExit('close observer Temporal connection', () => observer.connection.close());

  // ---- identity ----
  const em = benchOrm.em.fork();
  const brand = await ensureBrand(em, 'bench');
  const user = await ensureUser(em, 'bench');
  await grantMembership(em, user.id, brand.id);
  const token = signAccessToken(config, user, 3600);
  const headers = { Authorization: `Bearer ${token}`, 'X-Brand-ID': String(brand.id), 'Content-Type': 'application/json' };
  const body = JSON.stringify({ task_type: 'noop', description: 'bench' });

  // ---- the two paths ----
  // node:http with a keep-alive agent rather than fetch: undici's fetch costs several ms of client CPU per call under
  // concurrency, which would be charged to the API although the load generator spends it.
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  onExit('destroy HTTP agent', async () => agent.destroy());
  const postTask = () =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${baseUrl}/tasks/`, { method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const submitA = async (): Promise<string> => {
    const { status, text } = await postTask();
    if (status !== 201) throw new Error(`POST /tasks/ answered ${status}: ${text.slice(0, 500)}`);
    const taskId = (JSON.parse(text) as { task_id?: unknown }).task_id;
    if (typeof taskId !== 'string') throw new Error(`POST /tasks/ answered without task_id: ${text.slice(0, 500)}`);
    return taskId;
  };
  // Same client as the API, same gateway (start options, search attributes, priority, id reuse policy), and the
  // input TaskService.create builds for {"task_type":"noop","description":"bench"} (schema defaults applied).
  const gateway = new TaskWorkflowGateway(raw.client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE);
  const submitB = async (): Promise<string> => {
    const input: TaskWorkflowInput = {
      taskId: `bench_raw_${ulid().toLowerCase()}`,
      brandId: brand.id,
      createdById: user.id,
      taskType: 'noop',
      priority: 'normal',
      description: 'bench',
      contextData: {},
      maxRetries: 3,
      retryCount: 0,
      timeoutMinutes: null,
      scheduledFor: null,
      createdAt: new Date().toISOString(),
      heartbeatTimeoutSeconds: config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    };
    await gateway.start(input, 'create');
    return input.taskId;
  };
  const submit: Record<PathKey, () => Promise<string>> = { A: submitA, B: submitB };

  log(`node ${process.version}, ${cpus().length} CPUs, N=${N} per path in ${ROUNDS} rounds, C=${C}, warm-up ${WARMUP} per path`);
  if (WARMUP > 0) {
    for (const path of ['A', 'B'] as const) {
      const w = await runBatch(path, 0, WARMUP, C, submit[path], observer.client);
      log(`warm-up ${LABEL[path]}: ${w.tasks} tasks, ${fmt(w.rate)}/s`);
    }
  }

  const batches: BatchResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const count = Math.floor(N / ROUNDS) + (r < N % ROUNDS ? 1 : 0);
    if (count === 0) continue;
    for (const path of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const b = await runBatch(path, r + 1, count, C, submit[path], observer.client);
      batches.push(b);
      log(`round ${r + 1} ${LABEL[path]}: ${b.tasks} tasks in ${fmt(b.seconds, 2)}s, ${fmt(b.rate)}/s, p95 ${fmt(percentile(b.latenciesMs, 95))} ms`);
    }
  }

  // ---- figures ----
  const summarize = (path: PathKey) => {
    const mine = batches.filter((b) => b.path === path);
    const lat = mine.flatMap((b) => b.latenciesMs);
    const tasks = mine.reduce((s, b) => s + b.tasks, 0);
    const seconds = mine.reduce((s, b) => s + b.seconds, 0);
    return {
      tasks,
      seconds: round(seconds, 3),
      completedPerSecond: round(tasks / seconds, 2),
      submitLatencyMs: {
        p50: round(percentile(lat, 50), 2),
        p95: round(percentile(lat, 95), 2),
        p99: round(percentile(lat, 99), 2),
        mean: round(mean(lat), 2),
        max: round(Math.max(...lat), 2),
      },
      rounds: mine.map((b) => ({ round: b.round, tasks: b.tasks, seconds: round(b.seconds, 3), completedPerSecond: round(b.rate, 2), p95Ms: round(percentile(b.latenciesMs, 95), 2) })),
    };
  };
  const A = summarize('A');
  const B = summarize('B');
  const rateRatio = A.completedPerSecond / B.completedPerSecond;
  const p95Ratio = A.submitLatencyMs.p95 / B.submitLatencyMs.p95;
  const p50Ratio = A.submitLatencyMs.p50 / B.submitLatencyMs.p50;
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');

  console.log('');
  console.log(`tasks throughput: N=${N} per path, C=${C}, ${ROUNDS} rounds (ABBA order), warm-up ${WARMUP}, node ${process.version}`);
  console.log(
    table([
      ['metric', LABEL.A, LABEL.B, 'A/B', 'goal', ''],
      ['completed/s (submit..last done)', fmt(A.completedPerSecond), fmt(B.completedPerSecond), fmt(rateRatio, 3), `>= ${GOAL_RATE_RATIO}`, ok(rateRatio >= GOAL_RATE_RATIO)],
      ['submit p50 (ms)', fmt(A.submitLatencyMs.p50, 2), fmt(B.submitLatencyMs.p50, 2), fmt(p50Ratio, 3), '', ''],
      ['submit p95 (ms)', fmt(A.submitLatencyMs.p95, 2), fmt(B.submitLatencyMs.p95, 2), fmt(p95Ratio, 3), `<= ${GOAL_P95_RATIO}`, ok(p95Ratio <= GOAL_P95_RATIO)],
      ['submit mean (ms)', fmt(A.submitLatencyMs.mean, 2), fmt(B.submitLatencyMs.mean, 2), fmt(A.submitLatencyMs.mean / B.submitLatencyMs.mean, 3), '', ''],
      ['tasks / seconds', `${A.tasks} / ${fmt(A.seconds, 2)}`, `${B.tasks} / ${fmt(B.seconds, 2)}`, '', '', ''],
    ]),
  );
  console.log('');
  console.log(
    table([
      ['round', 'path', 'tasks', 'seconds', 'completed/s', 'p50 ms', 'p95 ms'],
      ...batches.map((b) => [String(b.round), LABEL[b.path], String(b.tasks), fmt(b.seconds, 2), fmt(b.rate), fmt(percentile(b.latenciesMs, 50), 2), fmt(percentile(b.latenciesMs, 95), 2)]),
    ], 2),
  );

  const resultsPath = join(projectRoot(), 'bench', 'results.json');
  const results = {
    benchmark: 'tasks-throughput',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    n: N,
    concurrency: C,
    rounds: ROUNDS,
    warmup: WARMUP,
    taskType: 'noop',
    A: { label: LABEL.A, ...A },
    B: { label: LABEL.B, ...B },
    ratios: { completedPerSecond: round(rateRatio, 4), p50: round(p50Ratio, 4), p95: round(p95Ratio, 4) },
    goals: {
      completedPerSecondRatioMin: GOAL_RATE_RATIO,
      p95RatioMax: GOAL_P95_RATIO,
      completedPerSecondMet: rateRatio >= GOAL_RATE_RATIO,
      p95Met: p95Ratio <= GOAL_P95_RATIO,
    },
  };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${resultsPath}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
