/**
 * Benchmark (not a test): how fast does a task change reach a WebSocket client, and what does announcing it cost the
 * mirror's writes?
 *
 * 1. Latency. The API and worker run as their own processes (dist/), a client holds `/ws/tasks` open (plus
 *    BENCH_WS_SUBSCRIBERS idle sockets of the same brand, so the fan-out is not to one socket only) and creates
 *    BENCH_TASKS `noop` tasks through `POST /tasks/` at BENCH_CONCURRENCY. For every event of those tasks:
 *    latency = receive time - `changed_at` (the trigger's clock_timestamp() at the row change; PostgreSQL, API and
 *    client share this host's clock). It spans commit, NOTIFY delivery to the API's LISTEN connection, fan-out and the
 *    socket. Goal: within 100 ms. Also checks that every task's running and completed arrived, in that order.
 * 2. Trigger cost. Seq-guarded mirror writes (upsertTaskTransition: pending insert, running and completed updates, as a
 *    workflow writes them), with the notify triggers enabled (the API process listening, as in production) and
 *    disabled, alternating rounds: BENCH_TRIGGER_WRITES/4 by one writer (the trigger's own cost), then
 *    BENCH_TRIGGER_WRITES by BENCH_TRIGGER_WRITERS concurrent writers (a notifying commit holds PostgreSQL's global
 *    notify lock through its WAL flush, so concurrent notifying commits run one at a time).
 *
 * Knobs: BENCH_TASKS (300), BENCH_CONCURRENCY (10), BENCH_WS_SUBSCRIBERS (20), BENCH_TRIGGER_WRITES (10000 per round),
 * BENCH_TRIGGER_WRITERS (8), BENCH_TRIGGER_ROUNDS (4: off, on, on, off), BENCH_TEMPORAL_ADDRESS.
 *
 *   npm run build && npm run bench:ws
 */
import http from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import { ulid } from 'ulid';
import WebSocket from 'ws';
import { parseMicros } from '../api/realtime/ws-server';
import { signAccessToken } from '../api/services/token.service';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser, grantMembership } from '../db/repositories/identity.repository';
import { upsertTaskTransition } from '../db/repositories/task-mirror.repository';
import { mirrorSeq, type TaskWorkflowInput } from '../workflows/contracts/task-workflow';
import { beginBench, cleanup, fmt, intEnv, onExit, startBenchStack, table } from './bench-support';
import { latencyStats, mean, round } from './stats';

const TASKS = intEnv('BENCH_TASKS', 300);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 10);
const SUBSCRIBERS = intEnv('BENCH_WS_SUBSCRIBERS', 20, 0);
const TRIGGER_WRITES = intEnv('BENCH_TRIGGER_WRITES', 10_000);
const TRIGGER_WRITERS = intEnv('BENCH_TRIGGER_WRITERS', 8);
const TRIGGER_ROUNDS = intEnv('BENCH_TRIGGER_ROUNDS', 4);
const GOAL_MS = 100;

/** Wall-clock ms with sub-ms precision, on the same clock as PostgreSQL's clock_timestamp(). */
const nowMs = () => performance.timeOrigin + performance.now();

interface Received {
  taskId: string;
  status: string;
  latencyMs: number;
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
  // Read by the API process startBenchStack spawns (it passes the environment on): the idle subscribers share one user.
  process.env.WS_MAX_CONNECTIONS_PER_USER ??= String(SUBSCRIBERS + 10);
  const { config, dbUrl, baseUrl } = await startBenchStack({ taskQueue: 'bench-ws', dbPrefix: 'durable_tasks_bench_ws', log });
  const orm = await MikroORM.init(createOrmConfig(dbUrl, { pool: { min: 0, max: TRIGGER_WRITERS + 2 } }));
  onExit('close bench ORM', () => orm.close(true));

  const em = orm.em.fork();
  const brand = await ensureBrand(em, 'bench-ws');
  const user = await ensureUser(em, 'bench-ws');
  await grantMembership(em, user.id, brand.id);
  const token = signAccessToken(config, user, 3600);
  const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws/tasks`;
  log(`node ${process.version}, ${cpus().length} CPUs; ${TASKS} tasks at concurrency ${CONCURRENCY}, ${SUBSCRIBERS} idle subscribers besides the measuring one`);

  // ---- 1. latency ----
  const sockets: WebSocket[] = [];
  onExit('close WebSockets', async () => sockets.forEach((s) => s.terminate()));
  const connect = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { Authorization: `Bearer ${token}` } });
      sockets.push(ws);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  for (let i = 0; i < SUBSCRIBERS; i++) await connect();
  const watcher = await connect();

  const ours = new Set<string>();
  const received: Received[] = [];
  const completed = new Set<string>();
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  watcher.on('message', (raw) => {
    const at = nowMs();
    const msg = JSON.parse(String(raw)) as { type: string; data: { task_id: string; status: string; changed_at: string } };
    if (msg.type !== 'task.status') return;
    received.push({ taskId: msg.data.task_id, status: msg.data.status, latencyMs: at - parseMicros(msg.data.changed_at) });
    if (msg.data.status === 'completed') {
      completed.add(msg.data.task_id);
      if (completed.size === TASKS && [...ours].every((id) => completed.has(id))) allDone();
    }
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  onExit('destroy HTTP agent', async () => agent.destroy());
  const body = JSON.stringify({ task_type: 'noop', description: 'bench ws' });
  const headers = { Authorization: `Bearer ${token}`, 'X-Brand-ID': String(brand.id), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
  const postTask = () =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(`${baseUrl}/tasks/`, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 201) return reject(new Error(`POST /tasks/ answered ${res.statusCode}: ${text.slice(0, 300)}`));
          resolve((JSON.parse(text) as { task_id: string }).task_id);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TASKS) {
        next++;
        ours.add(await postTask());
      }
    }),
  );
  const timeout = setTimeout(() => allDone(), 120_000);
  await done;
  clearTimeout(timeout);
  const seconds = (performance.now() - t0) / 1000;

  const mine = received.filter((r) => ours.has(r.taskId));
  const missing = [...ours].filter((id) => !completed.has(id)).length;
  const outOfOrder = [...ours].filter((id) => {
    const seq = mine.filter((r) => r.taskId === id && r.status !== 'pending').map((r) => r.status);
    return completed.has(id) && seq.join(',') !== 'running,completed';
  }).length;
  const rows = [['events', 'count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms']];
  const byStatus = (s?: string) => mine.filter((r) => !s || r.status === s).map((r) => r.latencyMs);
  const figures: Record<string, ReturnType<typeof latencyStats> & { count: number }> = {};
  for (const s of ['pending', 'running', 'completed', undefined]) {
    const lat = byStatus(s);
    if (lat.length === 0) continue;
    const st = latencyStats(lat);
    figures[s ?? 'all'] = { ...st, count: lat.length };
    rows.push([s ?? 'all', String(lat.length), fmt(st.p50, 2), fmt(st.p95, 2), fmt(st.p99, 2), fmt(st.max, 2), fmt(st.mean, 2)]);
  }
  log(`${TASKS} tasks created and completed in ${fmt(seconds, 1)} s (${fmt(TASKS / seconds)}/s); events of the measuring socket:`);
  console.log(table(rows));
  const all = figures.all!;
  log(
    `change -> WebSocket latency p50 ${fmt(all.p50, 2)} ms, p95 ${fmt(all.p95, 2)} ms, max ${fmt(all.max, 2)} ms (goal: within ${GOAL_MS} ms: ${all.max <= GOAL_MS ? 'met' : all.p95 <= GOAL_MS ? 'met at p95, not at max' : 'NOT met'}); ` +
      `${missing} tasks without their completed event, ${outOfOrder} with running/completed out of order`,
  );
  // The API's own share (row change → fan-out), from its /metrics histogram (every event it handled, all tasks).
  const prom = await fetch(`${baseUrl}/metrics`).then((r) => r.text());
  const metric = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(prom)?.[1] ?? NaN);
  const count = metric('ws_task_event_lag_seconds_count');
  const within = (le: string) => metric(`ws_task_event_lag_seconds_bucket\\{le="${le}"\\}`) / count;
  log(
    `API side (row change -> fan-out, ${count} events): mean ${fmt((metric('ws_task_event_lag_seconds_sum') / count) * 1000, 2)} ms; ` +
      `${fmt(within('0.01') * 100, 1)}% within 10 ms, ${fmt(within('0.05') * 100, 1)}% within 50 ms, ${fmt(within('0.1') * 100, 1)}% within 100 ms`,
  );
  for (const s of sockets) s.terminate();

  // ---- 2. trigger cost on the mirror write path ----
  const setTriggers = async (on: boolean) => {
    const action = on ? 'enable' : 'disable';
    await orm.em.fork().execute(`alter table tasks ${action} trigger tasks_notify_insert, ${action} trigger tasks_notify_update`);
  };
  onExit('re-enable notify triggers', () => setTriggers(true));
  const writeRound = async (writers: number, writes: number): Promise<{ perSecond: number; latencies: number[] }> => {
    const tasks = Math.ceil(writes / 3);
    const latencies: number[] = [];
    let i = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (i < tasks) {
          i++;
          const input: TaskWorkflowInput = {
            taskId: `bench_trg_${ulid().toLowerCase()}`,
            brandId: brand.id,
            createdById: user.id,
            taskType: 'noop',
            priority: 'normal',
            description: 'bench trigger',
            contextData: {},
            maxRetries: 3,
            retryCount: 0,
            timeoutMinutes: null,
            scheduledFor: null,
            createdAt: new Date().toISOString(),
          };
          for (const [step, status] of [['pending', 'pending'], ['running', 'running'], ['finished', 'completed']] as const) {
            const w0 = performance.now();
            await upsertTaskTransition(orm.em.fork(), { input, seq: mirrorSeq(0, step), status, progressPercentage: status === 'completed' ? 100 : 0 });
            latencies.push(performance.now() - w0);
          }
        }
      }),
    );
    return { perSecond: latencies.length / ((performance.now() - start) / 1000), latencies };
  };

  const trg = [['writers', 'triggers', 'writes/s', 'p50 ms', 'p95 ms', 'p99 ms', 'mean ms']];
  const summary: string[] = [];
  // One writer shows what the trigger itself costs; several show the commits that NOTIFY serializes.
  for (const writers of [...new Set([1, TRIGGER_WRITERS])]) {
    const writes = writers === 1 ? Math.ceil(TRIGGER_WRITES / 4) : TRIGGER_WRITES;
    log(`trigger cost: ${TRIGGER_ROUNDS} rounds of ${writes} mirror writes by ${writers} writer(s), triggers off/on/on/off... (the API process listening)`);
    await setTriggers(false);
    await writeRound(writers, Math.ceil(writes / 4)); // warm-up, unmeasured
    const results: Record<'off' | 'on', { rates: number[]; latencies: number[] }> = { off: { rates: [], latencies: [] }, on: { rates: [], latencies: [] } };
    for (let r = 0; r < TRIGGER_ROUNDS; r++) {
      const on = r % 4 === 1 || r % 4 === 2;
      await setTriggers(on);
      const res = await writeRound(writers, writes);
      results[on ? 'on' : 'off'].rates.push(res.perSecond);
      results[on ? 'on' : 'off'].latencies.push(...res.latencies);
      log(`  round ${r + 1} triggers ${on ? 'on ' : 'off'}: ${fmt(res.perSecond)} writes/s`);
    }
    await setTriggers(true);
    for (const k of ['off', 'on'] as const) {
      const st = latencyStats(results[k].latencies);
      trg.push([String(writers), k, fmt(mean(results[k].rates)), fmt(st.p50, 3), fmt(st.p95, 3), fmt(st.p99, 3), fmt(st.mean, 3)]);
    }
    const ratio = mean(results.on.rates) / mean(results.off.rates);
    const addedUs = (latencyStats(results.on.latencies).mean - latencyStats(results.off.latencies).mean) * 1000;
    summary.push(`${writers} writer(s): ${fmt(ratio * 100, 1)}% of the writes/s without triggers, mean write ${addedUs >= 0 ? '+' : ''}${round(addedUs, 0)} µs`);
  }
  console.log(table(trg, 2));
  for (const line of summary) log(`with the notify triggers, ${line}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
