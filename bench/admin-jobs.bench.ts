/**
 * Benchmark (not a test): the admin back office stays fast on a large mirror (issue 8). With BENCH_ADMIN_ROWS (1M) jobs
 * of BRANDS brands and 12 task types over the last 90 days (most completed, some failed with a Temporal failure in
 * error_details, a few hundred pending or running), their task_metrics rows and the hourly and daily rollups built from
 * them (with BENCH_CHECK_ROLLUPS=1 checked equal to a recomputation), in a throwaway database:
 *
 *   API: the admin routes over real HTTP to `createApp` served in this process (127.0.0.1, port 0; the Temporal client
 *        is lazy and these routes never call it), as an admin with a Bearer token;
 *   same SQL: the statements the service sends for that request, recorded once at the connection and replayed through
 *        the same ORM connection (parallel statements in parallel): the request without HTTP, Koa, auth and JSON;
 *   stats only, every few rounds (BENCH_ADMIN_NAIVE_REQUESTS, 20): "whole period, uncached", the statements of the first
 *        request for a period (all its rollup rows, before the service caches their older hours), and "naive GROUP BY",
 *        the same figures by GROUP BY over the raw task rows (percentile_disc for p95) with the same live counts.
 *
 * Scenarios: first page (`-created_at`), page 1,000 (cursor of row 49,949 computed once by OFFSET; its rows checked
 * equal to OFFSET 49,950), the same deep page with status=completed, the failed list, a trigram search for a keyword in
 * 1 description in 200 and for a pasted task_id (ULIDs, as the API makes them), and stats over 24 hours (the default)
 * and 30 days (totals, by type and by brand checked against the naive figures). BENCH_ADMIN_REQUESTS (200) rounds, each
 * running every scenario's API and SQL back to back, alternating which goes first, after an unmeasured warm-up. Goal:
 * API p95 < 50 ms. When a scenario misses it (or with BENCH_EXPLAIN=1), EXPLAIN (ANALYZE, BUFFERS) of its statements.
 * Prints one table and writes bench/results-admin.json. Seeding drops the secondary indexes of tasks and task_metrics
 * and builds them after the load (much faster than row by row for the GIN trigram index).
 *
 * Knobs: BENCH_ADMIN_ROWS (1000000), BENCH_ADMIN_REQUESTS (200), BENCH_ADMIN_NAIVE_REQUESTS (20), BENCH_EXPLAIN=1,
 * BENCH_KEEP_DB=1 (the database is not dropped at the end), BENCH_CHECK_ROLLUPS=1.
 * No Temporal server needed. Not part of `npm run bench`.
 *
 *   npm run build && npm run bench:admin
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import { DURATION_BOUNDS_MS, durationBucket } from '../activities/metrics/duration-histogram';
import { createApp } from '../api/app';
import { loadConfig } from '../api/config';
import { encodeCursor } from '../api/services/admin-jobs.service';
import { signAccessToken } from '../api/services/token.service';
import { createTemporalClient } from '../api/temporal/connection';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser } from '../db/repositories/identity.repository';
import { createThrowawayDatabase, dropDatabase } from '../tests/support/database';
import { freePort } from '../tests/support/temporal-server';
import { beginBench, cleanup, fmt, httpGetter, intEnv, onExit, projectRoot, table } from './bench-support';
import {
  buildRollups,
  checkRollups,
  ROLLUP_TABLES,
  SEO_TASK_TYPES,
  seedTasks,
  withIndexesBuiltAfter,
  type Granularity,
  type RollupCheck,
  type SeedPlan,
  type TaskTypeProfile,
} from './seed-support';
import { latencyStats, round } from './stats';

const ROWS = intEnv('BENCH_ADMIN_ROWS', 1_000_000);
const REQUESTS = intEnv('BENCH_ADMIN_REQUESTS', 200);
const NAIVE_REQUESTS = Math.min(REQUESTS, intEnv('BENCH_ADMIN_NAIVE_REQUESTS', 20));
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';
/** Leaves the seeded database in place, to study its plans afterwards. */
const KEEP_DB = process.env.BENCH_KEEP_DB === '1';
/**
 * Also compares every rollup row of the 90 days with a recomputation from the raw rows (about a minute); without it, the
 * stats of each measured period are still checked against the raw rows.
 */
const CHECK_ROLLUPS = process.env.BENCH_CHECK_ROLLUPS === '1';
const WARMUP = 5;
const TRENDS_REQUESTS = 5;
const GOAL_API_P95_MS = 50;
const DAYS = 90;
const BRANDS = 20;
const USERS = 40;
const PAGE_SIZE = 50;
/** Page 1,000 of 50: rows 49,950..49,999 (0-based), continued from row 49,949. */
const DEEP_PAGE = 1_000;
/** About 500 jobs pending or running: what a busy platform has in flight. */
const ACTIVE_SHARE = 0.0005;
const FAILED_SHARE = 0.035;
const RETRIED_SHARE = 0.04;
/** The default period and the one the issue names. */
const STATS_PERIODS = ['24h', '30d'] as const;

/** The dashboard bench's eight SEO types plus four more kinds of work (12 task types). */
const TYPES: readonly TaskTypeProfile[] = [
  ...SEO_TASK_TYPES,
  { name: 'sitemap_crawl', weight: 0.07, medianMs: 90_000, sigma: 1.1, memMb: 500, cpuPct: 50, perSecond: 0.00002 },
  { name: 'backlink_check', weight: 0.06, medianMs: 15_000, sigma: 0.7, memMb: 150, cpuPct: 30, perSecond: 0.00003 },
  { name: 'image_optimization', weight: 0.05, medianMs: 6_000, sigma: 0.6, memMb: 260, cpuPct: 85, perSecond: 0.00004 },
  { name: 'email_digest', weight: 0.04, medianMs: 1_500, sigma: 0.4, memMb: 50, cpuPct: 10, perSecond: 0.00001 },
];

/** 200 search keywords (10 modifiers x 20 subjects): each is one description in 200. */
const KEYWORDS = ['best', 'cheap', 'organic', 'vintage', 'handmade', 'local', 'luxury', 'wireless', 'vegan', 'custom'].flatMap((m) =>
  ['running shoes', 'coffee beans', 'yoga mats', 'desk lamps', 'road bikes', 'tea sets', 'wall art', 'phone cases', 'dog beds', 'ski jackets',
    'wine glasses', 'garden tools', 'baby strollers', 'office chairs', 'hiking boots', 'face creams', 'board games', 'kitchen knives', 'camping tents',
    'sun glasses'].map((s) => `${m} ${s}`),
);
const SEARCH = 'organic coffee';

interface Recorded {
  sql: string;
  params: unknown[];
}

interface Scenario {
  name: string;
  path: string;
  /** The statements the service sends for this request (recorded), replayed as the SQL baseline. */
  statements: Recorded[];
  /** Slower baselines, run every few rounds only. */
  baselines: { name: string; run: () => Promise<unknown>; statements: Recorded[] }[];
}

async function run(): Promise<void> {
  const log = beginBench();
  const seconds = (t0: number) => fmt((performance.now() - t0) / 1000, 1);
  const tStart = performance.now();

  // ---- database, configuration, the app in this process ----
  const db = await createThrowawayDatabase('durable_tasks_bench_admin');
  if (KEEP_DB) log(`BENCH_KEEP_DB=1: database ${db.name} is kept (drop it with: psql -h 127.0.0.1 -U postgres -c 'drop database "${db.name}"')`);
  else onExit(`drop database ${db.name}`, () => dropDatabase(db.name));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    // Nothing listens there: the client is lazy and the measured routes never call Temporal.
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    TEMPORAL_TASK_QUEUE: 'bench-admin',
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    // One admin sends thousands of requests a minute here: limits out of reach, still counted like in production.
    RATE_LIMIT_PER_MINUTE: '1000000000',
    RATE_LIMIT_PER_HOUR: '1000000000',
  });
  const orm = await MikroORM.init(createOrmConfig(db.url));
  onExit('close ORM', () => orm.close(true));
  const { client, connection } = createTemporalClient(config);
  onExit('close Temporal connection', () => connection.close());
  const app = createApp({ orm, temporal: client, config, logger: { error: (obj, msg) => console.error(msg, obj) } });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onExit('close HTTP server', () => new Promise((resolve) => server.close(resolve)));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ---- identity: brands (Zipf-like traffic), users who created the jobs, the admin who reads them ----
  const em = orm.em.fork();
  const brands: { id: number; name: string; weight: number }[] = [];
  for (let k = 1; k <= BRANDS; k++) {
    const b = await ensureBrand(em, `bench-brand-${String(k).padStart(2, '0')}`);
    brands.push({ ...b, weight: 1 / k ** 0.8 });
  }
  const userIds: number[] = [];
  for (let k = 1; k <= USERS; k++) userIds.push((await ensureUser(em, `bench-user-${String(k).padStart(2, '0')}`)).id);
  const admin = await ensureUser(em, 'bench-admin', 'admin');
  const get = httpGetter(baseUrl, { Authorization: `Bearer ${signAccessToken(config, admin, 3600)}` });
  const getJson = async (path: string) => {
    const { status, text } = await get(path);
    if (status !== 200) throw new Error(`GET ${path} answered ${status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as any;
  };

  // ---- seed: tasks + task_metrics, set-based, then the rollups from them ----
  log(`node ${process.version}, ${cpus().length} CPUs; seeding ${ROWS} jobs over the last ${DAYS} days (${BRANDS} brands, ${TYPES.length} task types, ${USERS} users)`);
  const plan: SeedPlan = {
    types: TYPES,
    brands,
    userIds,
    days: DAYS,
    anchor: new Date(),
    failedShare: FAILED_SHARE,
    retriedShare: RETRIED_SHARE,
    activeShare: ACTIVE_SHARE,
    taskIdPrefix: 'task_',
    ulidTaskIds: true,
    keywords: KEYWORDS,
    errorDetails: true,
  };
  const seeded = await withIndexesBuiltAfter(orm, ['tasks', 'task_metrics'], () => seedTasks(orm, plan, ROWS, log));
  const seedSeconds = seeded.result;
  log(`built the ${seeded.indexes} secondary indexes of tasks and task_metrics after the load in ${fmt(seeded.indexSeconds, 1)} s`);
  const brandIds = brands.map((b) => b.id);
  const rollups = await buildRollups(orm, brandIds);
  log(`built ${rollups.rows.hour} ${ROLLUP_TABLES.hour} + ${rollups.rows.day} ${ROLLUP_TABLES.day} rows in one statement (${fmt(rollups.seconds, 1)} s)`);
  const tVacuum = performance.now();
  for (const t of ['tasks', 'task_metrics', ...Object.values(ROLLUP_TABLES)]) await orm.em.fork().execute(`vacuum analyze ${t}`);
  await orm.em.fork().execute('checkpoint');
  log(`vacuum analyze + checkpoint in ${seconds(tVacuum)} s`);
  const [mix] = await orm.em.fork().execute<{ total: number; by_status: Record<string, number>; table_mb: number }[]>(
    `select count(*)::int as total, jsonb_object_agg(status, n) as by_status, (pg_total_relation_size('tasks') / 1048576)::int as table_mb
       from (select status, count(*)::int as n from tasks group by status) s`,
  );
  log(`jobs by status: ${JSON.stringify(mix!.by_status)}; tasks table with its indexes: ${mix!.table_mb} MB`);

  const rollupCheck = {} as Partial<Record<Granularity, RollupCheck>>;
  for (const g of CHECK_ROLLUPS ? (['hour', 'day'] as const) : []) {
    const c = await checkRollups(orm, g, brandIds);
    rollupCheck[g] = c;
    log(`${ROLLUP_TABLES[g]} vs recomputation from the raw rows: ${c.rows} rows, ${c.missing} missing, ${c.extra} extra, ${c.different} different`);
  }

  // ---- the statements each request sends, recorded at the connection ----
  const conn = orm.em.getConnection() as any;
  const execute = conn.execute.bind(conn) as (q: string, p?: unknown[], ...rest: unknown[]) => Promise<unknown>;
  let recording: Recorded[] | null = null;
  conn.execute = (q: string, p: unknown[] = [], ...rest: unknown[]) => {
    recording?.push({ sql: q, params: p });
    return execute(q, p, ...rest);
  };
  onExit('unhook connection', async () => (conn.execute = execute));
  await getJson('/admin/me'); // the principal is cached from then on: a recorded request sends only its endpoint's SQL
  const recordOne = async (path: string) => {
    recording = [];
    const json = await getJson(path);
    const statements = recording.filter((r) => /\bfrom tasks t\b|metric_rollups|\bfrom brands\b/.test(r.sql));
    recording = null;
    return { json, statements };
  };
  /** The first request (stats: adds up the whole period, then caches its older hours) and the next one. */
  const record = async (path: string) => {
    const cold = await recordOne(path);
    const warm = await recordOne(path);
    return { json: warm.json, statements: warm.statements, cold: cold.statements };
  };
  const replay = async (statements: Recorded[]) =>
    statements.length === 1 ? execute(statements[0]!.sql, statements[0]!.params) : Promise.all(statements.map((s) => execute(s.sql, s.params)));

  // The cursor of the last row of page 999, by OFFSET (once), and what page 1,000 must hold.
  const deepCursor = async (where: string) => {
    const offset = (DEEP_PAGE - 1) * PAGE_SIZE;
    const [row] = await orm.em.fork().execute<{ k: string; id: number }[]>(
      `select (t.created_at)::text as k, t.id from tasks t where t.deleted_at is null ${where}
        order by t.created_at desc, t.id desc offset ? limit 1`,
      [offset - 1],
    );
    const expected = await orm.em.fork().execute<{ id: number }[]>(
      `select t.id from tasks t where t.deleted_at is null ${where} order by t.created_at desc, t.id desc offset ? limit ?`,
      [offset, PAGE_SIZE],
    );
    return { cursor: encodeCursor({ o: '-created_at', d: 'next', k: row!.k, i: row!.id }), expected: expected.map((r) => r.id) };
  };
  const deep = await deepCursor('');
  const deepCompleted = await deepCursor(`and t.status = 'completed'`);
  // An operator pasting a job's id into the search box: some job of about a month ago.
  const [pasted] = await orm.em.fork().execute<{ id: number; task_id: string }[]>(
    `select t.id, t.task_id from tasks t where t.deleted_at is null order by t.created_at desc, t.id desc offset ? limit 1`,
    [Math.floor(ROWS / 3)],
  );

  const scenarios: Scenario[] = [];
  const checks: Record<string, string[]> = {};
  const pageCheck = (name: string, json: any, expect: { ids?: number[]; size: number }) => {
    const problems: string[] = [];
    const ids = (json.results as { id: number }[]).map((r) => r.id);
    if (ids.length !== expect.size) problems.push(`${ids.length} results, expected ${expect.size}`);
    if (expect.size === PAGE_SIZE && !json.next) problems.push('no next link');
    if (expect.ids && ids.join(',') !== expect.ids.join(',')) problems.push(`ids differ from the expected ones: ${ids.slice(0, 3).join(',')}... vs ${expect.ids.slice(0, 3).join(',')}...`);
    checks[name] = problems;
  };
  const pages: [string, string, { ids?: number[]; size: number }][] = [
    ['first page', `/admin/jobs?page_size=${PAGE_SIZE}`, { size: PAGE_SIZE }],
    [`page ${DEEP_PAGE}`, `/admin/jobs?page_size=${PAGE_SIZE}&cursor=${deep.cursor}`, { ids: deep.expected, size: PAGE_SIZE }],
    [`page ${DEEP_PAGE}, status=completed`, `/admin/jobs?page_size=${PAGE_SIZE}&status=completed&cursor=${deepCompleted.cursor}`, { ids: deepCompleted.expected, size: PAGE_SIZE }],
    ['failed, first page', `/admin/jobs/failed?page_size=${PAGE_SIZE}`, { size: PAGE_SIZE }],
    [`search "${SEARCH}" (1 in 200)`, `/admin/jobs?page_size=${PAGE_SIZE}&search=${encodeURIComponent(SEARCH)}`, { size: PAGE_SIZE }],
    ['search a task_id', `/admin/jobs?page_size=${PAGE_SIZE}&search=${pasted!.task_id}`, { ids: [pasted!.id], size: 1 }],
  ];
  for (const [name, path, expect] of pages) {
    const { json, statements } = await record(path);
    pageCheck(name, json, expect);
    scenarios.push({ name, path, statements, baselines: [] });
  }

  // ---- stats: beside the SQL of a request, the whole period from the rollups (uncached) and the naive GROUP BY ----
  const naiveStats = (since: string, live: Recorded[]) =>
    Promise.all([
      orm.em.fork().execute<NaiveGroup[]>(
        `select grouping(t.task_type, t.brand_id)::int as g, t.task_type, t.brand_id, count(*)::int as total,
                count(*) filter (where t.status = 'failed')::int as failed, avg(t.duration_ms)::float8 as avg_ms,
                percentile_disc(0.95) within group (order by t.duration_ms) as p95_ms
           from tasks t
          where t.deleted_at is null and t.status in ('completed', 'failed') and t.completed_at >= date_trunc('hour', ?::timestamptz)
          group by grouping sets ((), (t.task_type), (t.brand_id))`,
        [since],
      ),
      replay(live),
    ]).then(([groups]) => groups);
  for (const period of STATS_PERIODS) {
    const name = `stats ${period}${period === '24h' ? ' (default)' : ''}`;
    const path = `/admin/jobs/stats?period=${period}`;
    const recorded = await record(path);
    // The rows from the hour the period starts in: the rollups' window.
    const since = recorded.json.period.start as string;
    const live = recorded.statements.filter((st) => !/metric_rollups/.test(st.sql));
    checks[name] = [
      ...compareStats(recorded.json, await naiveStats(since, live)),
      ...(['pending', 'running', 'paused'] as const)
        .filter((st) => recorded.json.live[st] !== (mix!.by_status[st] ?? 0))
        .map((st) => `live.${st}: API ${recorded.json.live[st]}, rows ${mix!.by_status[st] ?? 0}`),
    ];
    scenarios.push({
      name,
      path,
      statements: recorded.statements,
      baselines: [
        { name: 'whole period, uncached', run: () => replay(recorded.cold), statements: recorded.cold },
        { name: 'naive GROUP BY', run: () => naiveStats(since, live), statements: [] },
      ],
    });
  }
  const consistent = Object.values(rollupCheck).every((c) => c.missing === 0 && c.extra === 0 && c.different === 0) && Object.values(checks).every((p) => p.length === 0);
  for (const [name, problems] of Object.entries(checks)) {
    log(`${name}: ${problems.length ? problems.join('; ') : 'ok'}`);
  }
  console.log(`consistent: ${consistent ? 'yes' : 'no'}`);

  // ---- measurement: API and SQL back to back, alternating which goes first; the slow baselines every few rounds ----
  for (let i = 0; i < WARMUP; i++) for (const s of scenarios) await Promise.all([get(s.path), replay(s.statements)]);
  for (const s of scenarios) for (const b of s.baselines) await b.run();
  const apiMs = scenarios.map(() => [] as number[]);
  const sqlMs = scenarios.map(() => [] as number[]);
  const baselineMs = scenarios.map((s) => s.baselines.map(() => [] as number[]));
  const slowEvery = Math.floor(REQUESTS / NAIVE_REQUESTS);
  const time = async (fn: () => Promise<unknown>, into: number[]) => {
    const t = performance.now();
    await fn();
    into.push(performance.now() - t);
  };
  const tMeasure = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    for (const [k, s] of scenarios.entries()) {
      const api = async () => {
        const { status, text } = await get(s.path);
        if (status !== 200) throw new Error(`GET ${s.path} answered ${status}: ${text.slice(0, 300)}`);
      };
      if (i % 2 === 0) {
        await time(api, apiMs[k]!);
        await time(() => replay(s.statements), sqlMs[k]!);
      } else {
        await time(() => replay(s.statements), sqlMs[k]!);
        await time(api, apiMs[k]!);
      }
      if (i % slowEvery === 0 && i / slowEvery < NAIVE_REQUESTS) {
        for (const [b, baseline] of s.baselines.entries()) await time(baseline.run, baselineMs[k]![b]!);
      }
    }
    if ((i + 1) % 50 === 0) log(`  ${i + 1}/${REQUESTS} rounds (${seconds(tMeasure)} s)`);
  }

  const rows = scenarios.flatMap((s, k) => {
    const api = latencyStats(apiMs[k]!);
    const row = (baseline: string, samples: number[], statements: number) => {
      const sql = latencyStats(samples);
      return { scenario: s.name, path: s.path, baseline, samples: samples.length, statements, apiMs: api, sqlMs: sql, ratioP50: round(api.p50 / sql.p50, 3), ratioP95: round(api.p95 / sql.p95, 3), goalMet: api.p95 < GOAL_API_P95_MS };
    };
    return [row('same SQL', sqlMs[k]!, s.statements.length), ...s.baselines.map((b, j) => row(b.name, baselineMs[k]![j]!, b.statements.length))];
  });

  // ---- for information: trends read every rollup row of their period on each request (not cached) ----
  const trends: { path: string; apiMs: ReturnType<typeof latencyStats> }[] = [];
  for (const path of ['/admin/jobs/trends?period=24h', '/admin/jobs/trends?period=30d']) {
    await get(path);
    const samples: number[] = [];
    for (let i = 0; i < TRENDS_REQUESTS; i++) await time(() => get(path), samples);
    trends.push({ path, apiMs: latencyStats(samples) });
  }

  // ---- plans of what missed the goal ----
  const plans: { scenario: string; plan: string }[] = [];
  for (const [k, s] of scenarios.entries()) {
    if (!EXPLAIN && latencyStats(apiMs[k]!).p95 < GOAL_API_P95_MS) continue;
    for (const st of [...s.statements, ...s.baselines.flatMap((b) => b.statements)]) {
      const out = (await execute(`explain (analyze, buffers) ${st.sql}`, st.params)) as Record<string, string>[];
      plans.push({ scenario: s.name, plan: out.map((r) => Object.values(r)[0]).join('\n') });
    }
  }

  // ---- figures ----
  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM`;
  const [pg] = await orm.em.fork().execute<{ v: string }[]>(`select current_setting('server_version') as v`);
  console.log('');
  console.log(
    `admin API over ${ROWS} jobs (${BRANDS} brands, ${TYPES.length} task types, ${DAYS} days; ${rollups.rows.hour} hourly + ${rollups.rows.day} daily rollup rows), N=${REQUESTS} interleaved requests each (slow baselines: ${NAIVE_REQUESTS}); node ${process.version}, PostgreSQL ${pg!.v}, ${machine}`,
  );
  console.log(
    `API = GET over HTTP (in-process Koa app, admin token); same SQL = the statements the service sends for it, replayed through the same ORM connection; stats: older hours cached ${config.ADMIN_STATS_CACHE_SECONDS} s (background refreshes run during the measurement), "whole period, uncached" = the statements of a first request`,
  );
  console.log(
    table([
      ['request', 'SQL baseline', 'API p50', 'API p95', 'SQL p50', 'SQL p95', 'API/SQL p50', 'API/SQL p95', `API p95 < ${GOAL_API_P95_MS} ms`],
      ...rows.map((r) => [
        r.scenario,
        r.baseline,
        fmt(r.apiMs.p50, 2),
        fmt(r.apiMs.p95, 2),
        fmt(r.sqlMs.p50, 2),
        fmt(r.sqlMs.p95, 2),
        `${fmt(r.ratioP50, r.ratioP50 < 0.1 ? 3 : 2)}x`,
        `${fmt(r.ratioP95, r.ratioP95 < 0.1 ? 3 : 2)}x`,
        r.baseline !== 'same SQL' ? '' : r.goalMet ? 'ok' : 'MISSED',
      ]),
    ], 2),
  );
  if (plans.length) {
    console.log('');
    console.log('EXPLAIN (ANALYZE, BUFFERS) (key lines; full plans in the results file)');
    const keyLine = /Execution Time|Sort Method|Seq Scan|Index|Bitmap|Rows Removed|^\S|Limit/;
    for (const p of plans) {
      console.log(`  ${p.scenario}:`);
      for (const line of p.plan.split('\n').filter((l) => keyLine.test(l) && !/^Planning/.test(l))) console.log(`    ${line.trim()}`);
    }
  }
  console.log('');
  console.log(`for information, trends (uncached, N=${TRENDS_REQUESTS}): ${trends.map((t) => `GET ${t.path} p50 ${fmt(t.apiMs.p50, 1)} ms`).join('; ')}`);
  console.log(`seeding: ${ROWS} jobs in ${fmt(seedSeconds, 1)} s + their indexes in ${fmt(seeded.indexSeconds, 1)} s; rollups in ${fmt(rollups.seconds, 1)} s; consistent: ${consistent ? 'yes' : 'no'}; total ${seconds(tStart)} s`);

  const resultsPath = join(projectRoot(), 'bench', 'results-admin.json');
  writeFileSync(
    resultsPath,
    `${JSON.stringify(
      {
        benchmark: 'admin-jobs',
        date: new Date().toISOString(),
        node: process.version,
        postgres: pg!.v,
        machine,
        platform: `${process.platform} ${process.arch}`,
        rows: ROWS,
        brands: BRANDS,
        taskTypes: TYPES.map((t) => t.name),
        days: DAYS,
        jobsByStatus: mix!.by_status,
        requests: REQUESTS,
        slowBaselineRequests: NAIVE_REQUESTS,
        statsCacheSeconds: config.ADMIN_STATS_CACHE_SECONDS,
        seedSeconds: round(seedSeconds, 2),
        indexBuildSeconds: round(seeded.indexSeconds, 2),
        rollupBuild: rollups,
        consistency: { consistent, rollups: rollupCheck, checks },
        goal: { apiP95MaxMs: GOAL_API_P95_MS, met: rows.every((r) => r.goalMet) },
        results: rows,
        trends,
        statements: scenarios.map((s) => ({
          scenario: s.name,
          sql: s.statements.map((st) => st.sql.replace(/\s+/g, ' ')),
          uncached: s.baselines.flatMap((b) => b.statements.map((st) => st.sql.replace(/\s+/g, ' '))),
        })),
        plans,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${resultsPath}`);
}

interface NaiveGroup {
  g: number;
  task_type: string | null;
  brand_id: number | null;
  total: number;
  failed: number;
  avg_ms: number | null;
  p95_ms: number | null;
}

/**
 * Differences between the API's stats and the naive figures (none when consistent): counts and the failure rate exact,
 * the average to its last digit, p95 (the upper bound of a histogram bucket) within one bucket of the exact nearest-rank
 * percentile.
 */
function compareStats(api: any, groups: NaiveGroup[]): string[] {
  const problems: string[] = [];
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const same = (where: string, a: any, g: NaiveGroup | undefined) => {
    if (!g) return void problems.push(`${where}: no raw rows`);
    // The seed cancels no job (the rollups count a cancelled one apart): completed = total - failed.
    const expected = { total: g.total, failed: g.failed, cancelled: 0, completed: g.total - g.failed, failure_rate: g.total ? r2((100 * g.failed) / g.total) : 0 };
    for (const [field, value] of Object.entries(expected)) if (a[field] !== value) problems.push(`${where}.${field}: API ${a[field]}, raw ${value}`);
    if (Math.abs((a.avg_duration_ms ?? 0) - (g.avg_ms ?? 0)) > 0.01 + 1e-9) problems.push(`${where}.avg_duration_ms: API ${a.avg_duration_ms}, raw ${g.avg_ms}`);
    const apiBucket = DURATION_BOUNDS_MS.indexOf(a.p95_duration_ms as number);
    if (g.p95_ms !== null && (apiBucket < 0 || Math.abs(apiBucket - durationBucket(g.p95_ms)) > 1)) {
      problems.push(`${where}.p95_duration_ms: API ${a.p95_duration_ms}, raw ${g.p95_ms}`);
    }
  };
  // grouping(): bit 2 = task_type not grouped, bit 1 = brand_id not grouped.
  same('totals', api.totals, groups.find((g) => g.g === 3));
  const byType = groups.filter((g) => g.g === 1);
  const byBrand = groups.filter((g) => g.g === 2);
  if (api.by_type.length !== byType.length) problems.push(`by_type: API ${api.by_type.length} types, raw ${byType.length}`);
  for (const t of api.by_type) same(`by_type.${t.task_type}`, t, byType.find((g) => g.task_type === t.task_type));
  if (api.by_brand.length !== byBrand.length) problems.push(`by_brand: API ${api.by_brand.length} brands, raw ${byBrand.length}`);
  for (const b of api.by_brand) same(`by_brand.${b.brand_id}`, b, byBrand.find((g) => g.brand_id === b.brand_id));
  return problems;
}

async function main(): Promise<void> {
  try {
    await run();
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
