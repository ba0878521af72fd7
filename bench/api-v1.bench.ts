/**
 * Benchmark (not a test): what do authentication, the rate limit and validation cost on the public API v1?
 *
 *   A: `GET /api/v1/tasks` and `POST /api/v1/tasks` on the API process (dist/api/server.js) as deployed: request
 *      context, observability, error middleware, Bearer JWT (or X-API-Key), the PostgreSQL rate limit (limits set out
 *      of reach, so every request pays for counting but none is refused), v1 brand resolution, zod validation;
 *   B: bare Koa routes in a process of their own (bench/api-v1-baseline.server.ts) that answer the same JSON from the
 *      same service calls: GET the same TaskService.search (same SQL, same serializer, same envelope); POST the same
 *      TaskService.create (same mirror insert, audit row and Temporal workflow start) from the bench body parsed once.
 *      The fair POST baseline is the same insert and the same start: a bare route that only inserted a row would
 *      measure Temporal, not our middleware.
 *   R: B's GET behind the rate-limit middleware alone, for the cost of the limiter by itself.
 *
 * Load from autocannon in this process, BENCH_CONNECTIONS connections per run, paths alternating in rounds after an
 * unmeasured warm-up. Also measured directly: the rate-limit middleware called in-process, one request at a time
 * (its per-request latency: one round trip with both windows' upserts), and answering an exhausted caller from memory.
 * Prints tables and writes bench/results-api.json. Goal: A/B requests/s >= 0.5.
 *
 * Ratios are the median over rounds of each round's A/B (a path and its baseline measured minutes apart on a shared
 * machine drift; within a round they are seconds apart).
 *
 * Knobs: BENCH_DURATION (s per run, 5), BENCH_POST_DURATION (s per POST run, 5), BENCH_CONNECTIONS (10),
 * BENCH_ROUNDS (5), BENCH_WARMUP (s, 2), BENCH_SEED_TASKS (20000 tasks in the brand listed), BENCH_MICRO (2000 calls),
 * BENCH_TEMPORAL_ADDRESS.
 *
 *   npm run build && npm run bench:api
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import autocannon from 'autocannon';
import type Koa from 'koa';
import { rateLimit } from '../api/middleware/rate-limit';
import type { AppState } from '../api/middleware/state';
import { createApiKey } from '../api/services/api-key.service';
import { signAccessToken } from '../api/services/token.service';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser, findPrincipal, grantMembership } from '../db/repositories/identity.repository';
import { freePort } from '../tests/support/temporal-server';
import { beginBench, cleanup, fmt, intEnv, onExit, projectRoot, startBenchStack, table } from './bench-support';
import { SEO_TASK_TYPES, seedTasks } from './seed-support';
import { latencyStats, mean, percentile, round } from './stats';

const DURATION = intEnv('BENCH_DURATION', 5);
const POST_DURATION = intEnv('BENCH_POST_DURATION', 5);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 10);
const ROUNDS = intEnv('BENCH_ROUNDS', 5);
const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
const SEED_TASKS = intEnv('BENCH_SEED_TASKS', 20_000, 0);
const MICRO = intEnv('BENCH_MICRO', 2000);
const GOAL_RATIO = 0.5;
const TASK_BODY = { name: 'Data Processing', description: 'bench', priority: 'high', payload: { file_path: '/data/input.csv' } };

interface Target {
  key: string;
  label: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Headers of connection i (round robin): one caller per connection. */
  perConnection?: Record<string, string>[];
  body?: string;
}

interface Run {
  target: string;
  round: number;
  seconds: number;
  ok: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
}

function load(t: Target, seconds: number): Promise<autocannon.Result> {
  let connection = 0;
  const perConnection = t.perConnection;
  const setupClient = perConnection
    ? (client: autocannon.Client) => client.setHeaders({ ...t.headers, ...perConnection[connection++ % perConnection.length]! })
    : undefined;
  return new Promise((resolve, reject) => {
    autocannon(
      { url: t.url, method: t.method, headers: t.headers, body: t.body, connections: CONNECTIONS, duration: seconds, setupClient },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function measure(t: Target, round: number, seconds: number): Promise<Run> {
  const r = await load(t, seconds);
  const failed = r.non2xx + r.errors + r.timeouts;
  if (failed > 0 || r['2xx'] === 0) {
    throw new Error(`${t.label}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts of ${r.requests.total} requests`);
  }
  return { target: t.key, round, seconds: r.duration, ok: r['2xx'], rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average };
}

async function main(): Promise<void> {
  const log = beginBench();
  const { config, dbUrl, baseUrl } = await startBenchStack({ taskQueue: 'bench-api-v1', dbPrefix: 'bench_api_v1', log });
  const orm = await MikroORM.init(createOrmConfig(dbUrl, { pool: { min: 0, max: 4 } }));
  onExit('close ORM', () => orm.close(true));
  const em = orm.em.fork();
  const brand = await ensureBrand(em, 'bench-api-brand');
  const user = await ensureUser(em, 'bench-api-user');
  await grantMembership(em, user.id, brand.id);
  const principal = (await findPrincipal(em, user.id))!;
  const token = signAccessToken(config, user, 4 * 3600);
  const benchAudit = { actorId: null, actorName: 'bench', actorRole: null, requestId: null, ip: null };
  const newKey = async (name: string) => (await createApiKey(em, principal, { name, brandId: brand.id, role: 'user', expiresInDays: 1 }, benchAudit)).key;
  const apiKey = await newKey('bench');
  // One key per connection: as many callers as connections, so no two concurrent requests share a counter row.
  const connectionKeys: string[] = [];
  for (let i = 0; i < CONNECTIONS; i++) connectionKeys.push(await newKey(`bench-${i}`));

  if (SEED_TASKS > 0) {
    log(`seeding ${SEED_TASKS} tasks in the listed brand`);
    await seedTasks(
      orm,
      { types: SEO_TASK_TYPES, brands: [{ id: brand.id, weight: 1 }], userIds: [user.id], days: 30, anchor: new Date(), failedShare: 0.05, retriedShare: 0.02, activeShare: 0.01, taskIdPrefix: 'task_', ulidTaskIds: true },
      SEED_TASKS,
      log,
    );
    await orm.em.fork().execute('vacuum analyze tasks');
  }

  // ---- the baseline process ----
  const basePort = await freePort();
  const baseline = spawn(process.execPath, [join(__dirname, 'api-v1-baseline.server.js')], {
    env: {
      ...process.env,
      BENCH_CONFIG: JSON.stringify(config),
      BENCH_PORT: String(basePort),
      BENCH_BRAND_ID: String(brand.id),
      BENCH_USER_ID: String(user.id),
      BENCH_TASK_BODY: JSON.stringify(TASK_BODY),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  onExit('stop baseline', () =>
    new Promise<void>((resolve) => {
      if (baseline.exitCode !== null) return resolve();
      baseline.once('exit', () => resolve());
      baseline.kill('SIGTERM');
      setTimeout(() => baseline.kill('SIGKILL'), 10_000).unref();
    }),
  );
  const bareUrl = `http://127.0.0.1:${basePort}`;
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${bareUrl}/bare/tasks`).then((r) => r.ok, () => false))) {
    if (baseline.exitCode !== null) throw new Error('the baseline process exited');
    if (Date.now() > deadline) throw new Error('the baseline process did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }

  const bearer = { Authorization: `Bearer ${token}` };
  const json = { 'Content-Type': 'application/json' };
  const targets: Record<string, Target> = {
    getA: { key: 'getA', label: 'A: GET /api/v1/tasks (Bearer)', method: 'GET', url: `${baseUrl}/api/v1/tasks`, headers: bearer },
    getK: { key: 'getK', label: 'A: GET /api/v1/tasks (X-API-Key)', method: 'GET', url: `${baseUrl}/api/v1/tasks`, headers: { 'X-API-Key': apiKey } },
    getM: {
      key: 'getM',
      label: 'A: GET /api/v1/tasks (a key per connection)',
      method: 'GET',
      url: `${baseUrl}/api/v1/tasks`,
      headers: {},
      perConnection: connectionKeys.map((k) => ({ 'X-API-Key': k })),
    },
    getB: { key: 'getB', label: 'B: bare GET', method: 'GET', url: `${bareUrl}/bare/tasks`, headers: {} },
    getR: { key: 'getR', label: 'R: bare GET + rate limit', method: 'GET', url: `${bareUrl}/bare-rl/tasks`, headers: {} },
    getRM: {
      key: 'getRM',
      label: 'R: bare GET + rate limit (a caller per connection)',
      method: 'GET',
      url: `${bareUrl}/bare-rl/tasks`,
      headers: {},
      perConnection: connectionKeys.map((_, i) => ({ 'X-Bench-Caller': String(2_000_000_100 + i) })),
    },
    postA: { key: 'postA', label: 'A: POST /api/v1/tasks (Bearer)', method: 'POST', url: `${baseUrl}/api/v1/tasks`, headers: { ...bearer, ...json }, body: JSON.stringify(TASK_BODY) },
    postB: { key: 'postB', label: 'B: bare POST', method: 'POST', url: `${bareUrl}/bare/tasks`, headers: json, body: JSON.stringify(TASK_BODY) },
  };

  // ---- same JSON? ----
  const getJson = async (t: Target) => {
    const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
    const text = await res.text();
    if (!res.ok) throw new Error(`${t.label} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as { data: unknown; pagination?: unknown; timestamp: string };
  };
  const [a, b] = [await getJson(targets.getA!), await getJson(targets.getB!)];
  const sameGet = JSON.stringify({ ...a, timestamp: 0 }) === JSON.stringify({ ...b, timestamp: 0 });
  const normalize = (v: { data: unknown }) =>
    JSON.stringify(v.data, (k, x: unknown) => (['id', 'task_id', 'created_at', 'updated_at'].includes(k) ? typeof x : x));
  const [pa, pb] = [await getJson(targets.postA!), await getJson(targets.postB!)];
  const samePost = normalize(pa) === normalize(pb);
  log(`same JSON: GET ${sameGet ? 'yes' : 'NO'}; POST ${samePost ? 'yes (ids and times aside)' : 'NO'}`);
  if (!sameGet || !samePost) throw new Error(`the baseline does not answer the API's JSON:\n${JSON.stringify(a).slice(0, 400)}\n${JSON.stringify(b).slice(0, 400)}\n${normalize(pa).slice(0, 400)}\n${normalize(pb).slice(0, 400)}`);

  // ---- load ----
  log(`node ${process.version}, ${cpus().length} CPUs; ${CONNECTIONS} connections, ${DURATION} s per GET run, ${POST_DURATION} s per POST run, ${ROUNDS} rounds, warm-up ${WARMUP} s`);
  const runs: Run[] = [];
  const series = async (keys: string[], seconds: number) => {
    if (WARMUP > 0) for (const k of keys) await load(targets[k]!, WARMUP);
    for (let r = 1; r <= ROUNDS; r++) {
      // Rotate the order so that drift (a growing table, a busy worker) does not favour one path.
      const order = keys.map((_, i) => keys[(i + r - 1) % keys.length]!);
      for (const k of order) {
        const run = await measure(targets[k]!, r, seconds);
        runs.push(run);
        log(`round ${r} ${targets[k]!.label}: ${fmt(run.rps)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`);
      }
    }
  };
  // GET first: the POST runs grow the listed brand's table.
  await series(['getA', 'getK', 'getM', 'getB', 'getR', 'getRM'], DURATION);
  await series(['postA', 'postB'], POST_DURATION);

  // ---- the rate limiter by itself, in this process ----
  const micro = async (limits: { perMinute: number; perHour: number }, callerId: number) => {
    const mw = rateLimit({ ...config, RATE_LIMIT_ENABLED: true, RATE_LIMIT_PER_MINUTE: limits.perMinute, RATE_LIMIT_PER_HOUR: limits.perHour }, orm);
    const ctx = { state: { principal: { ...principal, id: callerId } }, set: () => undefined } as unknown as Koa.ParameterizedContext<AppState>;
    const call = () => mw(ctx, async () => undefined).then(() => true, () => false);
    for (let i = 0; i < 50; i++) await call(); // warm: pool connections, prepared statements
    const ms: number[] = [];
    for (let i = 0; i < MICRO; i++) {
      const t0 = performance.now();
      await call();
      ms.push(performance.now() - t0);
    }
    return latencyStats(ms);
  };
  const counted = await micro({ perMinute: 1e9, perHour: 1e9 }, 2_000_000_001);
  const exhausted = await micro({ perMinute: 1, perHour: 1e9 }, 2_000_000_002);

  // ---- figures ----
  const summary = (key: string) => {
    const mine = runs.filter((r) => r.target === key);
    return {
      label: targets[key]!.label,
      rps: round(mean(mine.map((r) => r.rps)), 1),
      p50: round(mean(mine.map((r) => r.p50)), 2),
      p99: round(mean(mine.map((r) => r.p99)), 2),
      meanMs: round(mean(mine.map((r) => r.mean)), 2),
      requests: mine.reduce((s, r) => s + r.ok, 0),
      rounds: mine.map((r) => ({ round: r.round, rps: round(r.rps, 1), p50: r.p50, p99: r.p99 })),
    };
  };
  const S = Object.fromEntries(Object.keys(targets).map((k) => [k, summary(k)])) as Record<string, ReturnType<typeof summary>>;
  /** The median over rounds of that round's x/y requests/s. */
  const ratio = (x: string, y: string) => {
    const perRound = Array.from({ length: ROUNDS }, (_, i) => {
      const rx = runs.find((r) => r.target === x && r.round === i + 1);
      const ry = runs.find((r) => r.target === y && r.round === i + 1);
      return rx && ry ? rx.rps / ry.rps : Number.NaN;
    }).filter(Number.isFinite);
    return percentile(perRound, 50);
  };
  const ok = (r: number) => (r >= GOAL_RATIO ? 'ok' : 'MISSED');
  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM`;
  console.log('');
  console.log(`public API v1 throughput: ${CONNECTIONS} connections, ${ROUNDS} rounds (rotating order), ${SEED_TASKS} tasks in the brand; node ${process.version}, ${machine}`);
  console.log('B answers the same JSON from the same service call (GET: TaskService.search, same SQL; POST: TaskService.create, the same');
  console.log('insert, audit row and workflow start) with no auth, rate limit, brand resolution, validation or error/observability middleware.');
  console.log(
    table([
      ['path', 'req/s (mean)', 'p50 ms', 'p99 ms', 'vs B (median of rounds)', 'goal', ''],
      ...[...['getA', 'getK', 'getM', 'getB', 'getR', 'getRM'].map((k) => [k, 'getB']), ...['postA', 'postB'].map((k) => [k, 'postB'])].map(([k, base]) => {
        const r = ratio(k!, base!);
        const goal = ['getA', 'getK', 'getM', 'postA'].includes(k!);
        return [S[k!]!.label, fmt(S[k!]!.rps), fmt(S[k!]!.p50, 2), fmt(S[k!]!.p99, 2), fmt(r, 3), goal ? `>= ${GOAL_RATIO}` : '', goal ? ok(r) : ''];
      }),
    ]),
  );
  console.log('');
  console.log('rate limit by itself (in-process, one call at a time; both windows upserted at once = one round trip):');
  console.log(
    table([
      ['case', 'p50 ms', 'p95 ms', 'p99 ms', 'mean ms'],
      ['counted (1 round trip, 2 upserts)', fmt(counted.p50, 3), fmt(counted.p95, 3), fmt(counted.p99, 3), fmt(counted.mean, 3)],
      ['exhausted caller (from memory)', fmt(exhausted.p50, 3), fmt(exhausted.p95, 3), fmt(exhausted.p99, 3), fmt(exhausted.mean, 3)],
    ]),
  );
  // Extra service time per request at saturation implied by the ratio: 1/rps(R) - 1/rps(B), with B's mean rate.
  const rlCostMs = 1000 / (S.getB!.rps * ratio('getR', 'getB')) - 1000 / S.getB!.rps;
  const rlCostManyMs = 1000 / (S.getB!.rps * ratio('getRM', 'getB')) - 1000 / S.getB!.rps;
  console.log(
    `R vs B: one caller ${fmt(ratio('getR', 'getB'), 3)} of the bare route's requests/s (${fmt(rlCostMs, 3)} ms more per request at saturation), ` +
      `a caller per connection ${fmt(ratio('getRM', 'getB'), 3)} (${fmt(rlCostManyMs, 3)} ms); ${CONNECTIONS} connections, ${cpus().length} cores shared with PostgreSQL`,
  );
  console.log('');
  console.log(
    table([
      ['round', 'path', 'req/s', 'p50 ms', 'p99 ms'],
      ...runs.map((r) => [String(r.round), targets[r.target]!.label, fmt(r.rps), String(r.p50), String(r.p99)]),
    ], 2),
  );

  const resultsPath = join(projectRoot(), 'bench', 'results-api.json');
  const results = {
    benchmark: 'api-v1',
    date: new Date().toISOString(),
    node: process.version,
    machine,
    connections: CONNECTIONS,
    durationSeconds: { get: DURATION, post: POST_DURATION },
    rounds: ROUNDS,
    seededTasks: SEED_TASKS,
    baseline:
      'bare Koa routes in their own process answering the same JSON from the same service calls (GET: TaskService.search, same SQL; POST: TaskService.create, same insert, audit row and workflow start), without auth, rate limit, brand resolution, validation or error/observability middleware',
    paths: S,
    ratios: {
      get: round(ratio('getA', 'getB'), 4),
      getApiKey: round(ratio('getK', 'getB'), 4),
      getKeyPerConnection: round(ratio('getM', 'getB'), 4),
      rateLimitAloneManyCallers: round(ratio('getRM', 'getB'), 4),
      post: round(ratio('postA', 'postB'), 4),
      rateLimitAlone: round(ratio('getR', 'getB'), 4),
    },
    rateLimit: {
      counted,
      exhaustedFromMemory: exhausted,
      extraMsPerRequestAtSaturation: { oneCaller: round(rlCostMs, 3), callerPerConnection: round(rlCostManyMs, 3) },
    },
    goal: {
      ratioMin: GOAL_RATIO,
      getMet: ratio('getA', 'getB') >= GOAL_RATIO,
      getKeyPerConnectionMet: ratio('getM', 'getB') >= GOAL_RATIO,
      postMet: ratio('postA', 'postB') >= GOAL_RATIO,
    },
  };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${resultsPath}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => void cleanup().then(() => process.exit()));
