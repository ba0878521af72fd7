/**
 * Benchmark (not a test): what does the REST API cost on top of Temporal Schedules? (issue 6)
 *
 *   A: raw `client.schedule.create` through ScheduleGateway (exactly what the API calls), with the definition
 *      PeriodicTaskService builds for the body below (cron string, DST calendars, timezone, startWorkflow of `noop`
 *      on the task queue with the firing input, memo, search attributes, policies);
 *   B: `POST /tasks/scheduled/periodic-tasks/` of `{"task_type":"noop","cron_expression":CRON,"timezone":"Europe/Paris"}`
 *      over real HTTP to the API process (dist/api/server.js on a free port), i.e. validation, the Schedule, its mirror
 *      row, the audit row and the response (which describes the Schedule).
 *
 * CRON is a daily time 12 hours away from now in Europe/Paris (never 02:xx, no DST calendar entry), so no schedule
 * fires during the run. Both paths run the same concurrency against the same Temporal dev server, in A/B then B/A
 * rounds (ABBA) after an unmeasured warm-up of each; one A and one B schedule are described and compared to check
 * both paths create the same Schedule (ids and the memo's writtenAt aside). A's ids use a `bench_` prefix (as long as
 * `sched_`) so the mirror reconciler never adopts them.
 *
 * Then three list queries over the brand's schedules (B's rows): the first page, a deep page and a filtered, ordered
 * query, each BENCH_LIST_REQUESTS times sequentially through the API, interleaved with the same SQL the repository
 * issues (listPeriodicTasks + runCounts with the service's filter and order) run from this process against Postgres.
 *
 * Every schedule created (both paths) is deleted at the end; the database is dropped and the processes stopped.
 * Prints a table and writes bench/results-schedules.json.
 *
 * Knobs: BENCH_SCHEDULES (1000 per path, split over the rounds), BENCH_SCHEDULE_CONCURRENCY (20),
 * BENCH_SCHEDULE_ROUNDS (4), BENCH_SCHEDULE_WARMUP (50 per path), BENCH_LIST_REQUESTS (200 per query),
 * BENCH_DEEP_PAGE (30), BENCH_PROFILE=1 (CPU profile of the API process into /tmp/prof), BENCH_TEMPORAL_ADDRESS.
 *
 *   npm run build && npm run bench:schedules
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import { ulid } from 'ulid';
import { normalizeCron } from '../api/services/cron.service';
import type { ScheduleDraft } from '../api/services/periodic-task.service';
import { dstCompensation, temporalCronString } from '../api/services/schedule-spec';
import { signAccessToken } from '../api/services/token.service';
import { createTemporalClient } from '../api/temporal/connection';
import { ScheduleGateway, type ScheduleDefinition } from '../api/temporal/schedules';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser, grantMembership } from '../db/repositories/identity.repository';
import { listPeriodicTasks, PeriodicFilter, runCounts } from '../db/repositories/periodic-task.repository';
import type { TaskWorkflowInput } from '../workflows/contracts/task-workflow';
import { beginBench, cleanup, fmt, intEnv, onExit, projectRoot, startBenchStack, table } from './bench-support';
import { latencyStats, percentile, round } from './stats';

const N = intEnv('BENCH_SCHEDULES', 1000);
const C = intEnv('BENCH_SCHEDULE_CONCURRENCY', 20);
const ROUNDS = intEnv('BENCH_SCHEDULE_ROUNDS', 4);
const WARMUP = intEnv('BENCH_SCHEDULE_WARMUP', 50, 0);
const LIST_REQUESTS = intEnv('BENCH_LIST_REQUESTS', 200);
const DEEP_PAGE = intEnv('BENCH_DEEP_PAGE', 30);
const TASK_QUEUE = 'bench-schedules';
const TIMEZONE = 'Europe/Paris';
const PAGE_SIZE = 25;
const GOAL_RATE_RATIO = 0.85;
const BASE = '/tasks/scheduled/periodic-tasks/';
/** Same length as SCHEDULE_ID_PREFIX ('sched_'), but outside the reconciler's prefix. */
const RAW_PREFIX = 'bench_';

type PathKey = 'A' | 'B';
const LABEL: Record<PathKey, string> = { A: 'A: raw schedule.create', B: 'B: POST periodic-tasks/' };

interface BatchResult {
  path: PathKey;
  round: number;
  count: number;
  seconds: number;
  rate: number;
  latenciesMs: number[];
}

/** `count` creates with `concurrency` submitters; the rate spans first submit to last answer. */
async function runBatch(path: PathKey, round: number, count: number, concurrency: number, submit: () => Promise<void>): Promise<BatchResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const submitter = async () => {
    while (next < count) {
      next++;
      const start = performance.now();
      await submit();
      latenciesMs.push(performance.now() - start);
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, count) }, submitter));
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  const seconds = (performance.now() - t0) / 1000;
  return { path, round, count, seconds, rate: count / seconds, latenciesMs };
}

/** A daily cron 12 hours from now in `timezone` (never in the 02:xx DST gap hour), so nothing fires during the run. */
function farCron(timezone: string): string {
  const hourNow = Number(new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
  let hour = (hourNow + 12) % 24;
  if (hour === 2) hour = 3;
  return `0 ${hour} * * *`;
}

async function run(): Promise<void> {
  const log = beginBench();

  const { config, dbUrl, baseUrl } = await startBenchStack({ taskQueue: TASK_QUEUE, dbPrefix: 'durable_tasks_bench_sched', log });
  const orm = await MikroORM.init(createOrmConfig(dbUrl));
  onExit('close bench ORM', () => orm.close(true));
  const raw = createTemporalClient(config);
  onExit('close raw-path Temporal connection', () => raw.connection.close());
  const gateway = new ScheduleGateway(raw.client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE);

  // ---- cleanup of every schedule created: registered now, so it runs before the connection, ORM and DB go ----
  const created = new Set<string>();
  onExit('delete the schedules created', async () => {
    const ids = new Set(created);
    // B's rows name every Schedule the API created, including one whose response was lost.
    const rows = await orm.em.fork().execute<{ schedule_id: string }[]>(`select schedule_id from periodic_tasks`).catch(() => []);
    for (const r of rows) ids.add(r.schedule_id);
    const queue = [...ids];
    const t0 = performance.now();
    let deleted = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        for (let id = queue.pop(); id; id = queue.pop()) if (await gateway.delete(id)) deleted++;
      }),
    );
    log(`deleted ${deleted} of ${ids.size} schedules in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  });

  // ---- identity ----
  const em = orm.em.fork();
  const brand = await ensureBrand(em, 'bench-schedules');
  const user = await ensureUser(em, 'bench-schedules');
  await grantMembership(em, user.id, brand.id);
  const headers = { Authorization: `Bearer ${signAccessToken(config, user, 3600)}`, 'X-Brand-ID': String(brand.id), 'Content-Type': 'application/json' };

  // node:http with a keep-alive agent rather than fetch (see tasks-throughput.bench.ts: undici's client CPU).
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  onExit('destroy HTTP agent', async () => agent.destroy());
  const request = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const h = body === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(body) };
      const req = http.request(`${baseUrl}${path}`, { method, agent, headers: h }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  // ---- the two paths ----
  const cron = farCron(TIMEZONE);
  const body = JSON.stringify({ task_type: 'noop', cron_expression: cron, timezone: TIMEZONE });
  const submitB = async (): Promise<void> => {
    const { status, text } = await request('POST', BASE, body);
    if (status !== 201) throw new Error(`POST ${BASE} answered ${status}: ${text.slice(0, 500)}`);
    const scheduleId = (JSON.parse(text) as { schedule_id?: unknown }).schedule_id;
    if (typeof scheduleId !== 'string') throw new Error(`POST ${BASE} answered without schedule_id: ${text.slice(0, 500)}`);
    created.add(scheduleId);
  };
  // The draft PeriodicTaskService.draftFromBody builds for that body (schema defaults applied), and the definition
  // definitionOf/firingInput make of it. The spec parts that depend only on the cron are computed once.
  const draft = {
    kind: 'periodic',
    name: `noop (${cron})`,
    baseTaskId: null,
    taskType: 'noop',
    priority: 'normal',
    description: '',
    contextData: {},
    maxRetries: 3,
    timeoutMinutes: null,
    cronExpression: cron,
    frequency: null,
    jobType: null,
    timezone: TIMEZONE,
    startAt: null,
    endAt: null,
    overlapPolicy: 'skip',
    catchupWindowSeconds: config.SCHEDULE_DEFAULT_CATCHUP_SECONDS,
    jitterSeconds: 0,
    calendarIds: [],
    isActive: true,
    note: null,
  } satisfies ScheduleDraft;
  const normalized = normalizeCron(cron);
  const cronStrings = [temporalCronString(normalized)];
  const calendars = dstCompensation(normalized, TIMEZONE, new Date());
  const definitionFor = (scheduleId: string): ScheduleDefinition => {
    const input: TaskWorkflowInput = {
      taskId: '',
      brandId: brand.id,
      createdById: user.id,
      taskType: draft.taskType,
      priority: draft.priority,
      description: draft.description,
      contextData: draft.contextData,
      maxRetries: draft.maxRetries,
      retryCount: 0,
      timeoutMinutes: draft.timeoutMinutes,
      scheduledFor: null,
      createdAt: '',
      heartbeatTimeoutSeconds: config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
      schedule: {
        scheduleId,
        catchupWindowSeconds: draft.catchupWindowSeconds,
        jitterSeconds: draft.jitterSeconds,
        lateGraceSeconds: config.SCHEDULE_LATE_GRACE_SECONDS,
      },
    };
    return {
      scheduleId,
      cronStrings,
      calendars,
      skip: [],
      timezone: TIMEZONE,
      startAt: null,
      endAt: null,
      jitterSeconds: draft.jitterSeconds,
      overlap: draft.overlapPolicy,
      catchupWindowSeconds: draft.catchupWindowSeconds,
      paused: !draft.isActive,
      note: draft.note,
      input,
      memo: { ...draft, brandId: brand.id, createdById: user.id, writtenAt: new Date().toISOString() },
    };
  };
  const submitA = async (): Promise<void> => {
    const scheduleId = `${RAW_PREFIX}${ulid().toLowerCase()}`;
    created.add(scheduleId);
    const { alreadyExisted } = await gateway.create(definitionFor(scheduleId));
    if (alreadyExisted) throw new Error(`schedule ${scheduleId} already existed`);
  };
  const submit: Record<PathKey, () => Promise<void>> = { A: submitA, B: submitB };

  log(`node ${process.version}, ${cpus().length} CPUs, N=${N} per path in ${ROUNDS} rounds, C=${C}, warm-up ${WARMUP} per path, cron "${cron}" ${TIMEZONE}`);
  if (WARMUP > 0) {
    for (const path of ['A', 'B'] as const) {
      const w = await runBatch(path, 0, WARMUP, C, submit[path]);
      log(`warm-up ${LABEL[path]}: ${w.count} schedules, ${fmt(w.rate)}/s`);
    }
  }

  // ---- same Schedule on both paths? ----
  const shapeOf = async (scheduleId: string) => {
    const d = await raw.client.schedule.getHandle(scheduleId).describe();
    // Search attributes come back from a map in any order: sorted by name.
    const byName = (key: string, value: unknown) => {
      if (Array.isArray(value) && value.every((v) => typeof v?.key?.name === 'string')) {
        return [...(value as { key: { name: string } }[])].sort((x, y) => x.key.name.localeCompare(y.key.name));
      }
      if (key === 'searchAttributes' && value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)));
      return value;
    };
    const shape = JSON.stringify({ spec: d.spec, action: d.action, policies: d.policies, state: d.state, memo: d.memo, searchAttributes: d.typedSearchAttributes }, byName);
    return shape.replaceAll(scheduleId, '<id>').replace(/"writtenAt":"[^"]*"/, '"writtenAt":"<t>"');
  };
  const sampleA = [...created].find((id) => id.startsWith(RAW_PREFIX));
  const sampleB = [...created].find((id) => !id.startsWith(RAW_PREFIX));
  let sameSchedule: boolean | null = null;
  if (sampleA && sampleB) {
    const [a, b] = await Promise.all([shapeOf(sampleA), shapeOf(sampleB)]);
    sameSchedule = a === b;
    if (sameSchedule) log('A and B create the same Schedule (spec, action and input, policies, state, memo, search attributes)');
    else console.warn(`[bench] WARNING: A and B schedules differ:\nA ${a}\nB ${b}`);
  }

  const batches: BatchResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const count = Math.floor(N / ROUNDS) + (r < N % ROUNDS ? 1 : 0);
    if (count === 0) continue;
    for (const path of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const b = await runBatch(path, r + 1, count, C, submit[path]);
      batches.push(b);
      log(`round ${r + 1} ${LABEL[path]}: ${b.count} schedules in ${fmt(b.seconds, 2)} s, ${fmt(b.rate)}/s, p50 ${fmt(percentile(b.latenciesMs, 50))} ms, p95 ${fmt(percentile(b.latenciesMs, 95))} ms`);
    }
  }
  const summarize = (path: PathKey) => {
    const mine = batches.filter((b) => b.path === path);
    const count = mine.reduce((s, b) => s + b.count, 0);
    const seconds = mine.reduce((s, b) => s + b.seconds, 0);
    return {
      schedules: count,
      seconds: round(seconds, 3),
      schedulesPerSecond: round(count / seconds, 2),
      createLatencyMs: latencyStats(mine.flatMap((b) => b.latenciesMs)),
      rounds: mine.map((b) => ({ round: b.round, schedules: b.count, seconds: round(b.seconds, 3), schedulesPerSecond: round(b.rate, 2), p50Ms: round(percentile(b.latenciesMs, 50), 2), p95Ms: round(percentile(b.latenciesMs, 95), 2) })),
    };
  };
  const A = summarize('A');
  const B = summarize('B');
  const rateRatio = B.schedulesPerSecond / A.schedulesPerSecond;

  // ---- list queries: API vs the repository's SQL ----
  const total = (await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from periodic_tasks where brand_id = ? and deleted_at is null`, [brand.id]))[0]!.n;
  const deepPage = Math.max(1, Math.min(DEEP_PAGE, Math.ceil(total / PAGE_SIZE)));
  // What PeriodicTaskService.list builds for each query string (filter conditions, order, limit/offset).
  const queries = [
    { name: 'first page', qs: `page_size=${PAGE_SIZE}`, page: 1, filter: () => new PeriodicFilter(brand.id, 'periodic'), orderBy: 'p.created_at desc nulls last, p.id desc' },
    { name: `deep page (${deepPage})`, qs: `page_size=${PAGE_SIZE}&page=${deepPage}`, page: deepPage, filter: () => new PeriodicFilter(brand.id, 'periodic'), orderBy: 'p.created_at desc nulls last, p.id desc' },
    {
      name: 'filtered + ordered',
      qs: `page_size=${PAGE_SIZE}&is_active=true&timezone=${encodeURIComponent(TIMEZONE)}&ordering=next_run_at`,
      page: 1,
      filter: () => new PeriodicFilter(brand.id, 'periodic').add('p.is_active = ?', true).add('lower(p.timezone) = lower(?)', TIMEZONE),
      orderBy: 'p.next_run_at asc nulls last, p.id asc',
    },
  ];
  const viaApi = async (qs: string) => {
    const { status, text } = await request('GET', `${BASE}?${qs}`);
    if (status !== 200) throw new Error(`GET ${BASE}?${qs} answered ${status}: ${text.slice(0, 500)}`);
    const json = JSON.parse(text) as { count: number; results: { id: number }[] };
    return { count: json.count, ids: json.results.map((r) => r.id), bytes: text.length };
  };
  const viaSql = async (q: (typeof queries)[number]) => {
    const sqlEm = orm.em.fork();
    const { count, rows } = await listPeriodicTasks(sqlEm, q.filter(), q.orderBy, PAGE_SIZE, (q.page - 1) * PAGE_SIZE);
    await runCounts(sqlEm, rows.map((r) => r.schedule_id));
    return { count, ids: rows.map((r) => r.id) };
  };
  log(`list queries over ${total} periodic tasks of the brand, ${LIST_REQUESTS} requests each, API and SQL interleaved`);
  const lists = [];
  for (const q of queries) {
    // Unmeasured warm-up, and a check that the baseline answers what the API answers.
    const [api0, sql0] = [await viaApi(q.qs), await viaSql(q)];
    if (api0.count !== sql0.count || api0.ids.join() !== sql0.ids.join()) {
      throw new Error(`${q.name}: the SQL baseline differs from the API (count ${sql0.count} vs ${api0.count}, ids ${sql0.ids.join()} vs ${api0.ids.join()})`);
    }
    for (let i = 0; i < 10; i++) await Promise.all([viaApi(q.qs), viaSql(q)]);
    const apiMs: number[] = [];
    const sqlMs: number[] = [];
    for (let i = 0; i < LIST_REQUESTS; i++) {
      let t = performance.now();
      await viaApi(q.qs);
      apiMs.push(performance.now() - t);
      t = performance.now();
      await viaSql(q);
      sqlMs.push(performance.now() - t);
    }
    const api = latencyStats(apiMs);
    const sql = latencyStats(sqlMs);
    lists.push({ name: q.name, query: `GET ${BASE}?${q.qs}`, rows: api0.ids.length, count: api0.count, responseBytes: api0.bytes, apiMs: api, sqlMs: sql, p95Ratio: round(api.p95 / sql.p95, 3) });
    log(`${q.name}: API p50 ${fmt(api.p50, 2)} / p95 ${fmt(api.p95, 2)} ms, SQL p50 ${fmt(sql.p50, 2)} / p95 ${fmt(sql.p95, 2)} ms`);
  }

  // ---- figures ----
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  console.log('');
  console.log(`schedule creation: N=${N} per path, C=${C}, ${ROUNDS} rounds (ABBA), warm-up ${WARMUP}, cron "${cron}" ${TIMEZONE}, node ${process.version}, ${cpus().length} CPUs`);
  console.log(
    table([
      ['metric', LABEL.A, LABEL.B, 'B/A', 'goal', ''],
      ['schedules/s', fmt(A.schedulesPerSecond), fmt(B.schedulesPerSecond), fmt(rateRatio, 3), `>= ${GOAL_RATE_RATIO}`, ok(rateRatio >= GOAL_RATE_RATIO)],
      ['create p50 (ms)', fmt(A.createLatencyMs.p50, 2), fmt(B.createLatencyMs.p50, 2), fmt(B.createLatencyMs.p50 / A.createLatencyMs.p50, 3), '', ''],
      ['create p95 (ms)', fmt(A.createLatencyMs.p95, 2), fmt(B.createLatencyMs.p95, 2), fmt(B.createLatencyMs.p95 / A.createLatencyMs.p95, 3), '', ''],
      ['create mean (ms)', fmt(A.createLatencyMs.mean, 2), fmt(B.createLatencyMs.mean, 2), fmt(B.createLatencyMs.mean / A.createLatencyMs.mean, 3), '', ''],
      ['schedules / seconds', `${A.schedules} / ${fmt(A.seconds, 2)}`, `${B.schedules} / ${fmt(B.seconds, 2)}`, '', '', ''],
    ]),
  );
  console.log('');
  console.log(
    table(
      [
        ['round', 'path', 'schedules', 'seconds', 'schedules/s', 'p50 ms', 'p95 ms'],
        ...batches.map((b) => [String(b.round), LABEL[b.path], String(b.count), fmt(b.seconds, 2), fmt(b.rate), fmt(percentile(b.latenciesMs, 50), 2), fmt(percentile(b.latenciesMs, 95), 2)]),
      ],
      2,
    ),
  );
  console.log('');
  console.log(`GET ${BASE} over ${total} periodic tasks (page_size ${PAGE_SIZE}), ${LIST_REQUESTS} sequential requests each; SQL = listPeriodicTasks + runCounts from this process`);
  console.log(
    table([
      ['query', 'API p50', 'API p95', 'SQL p50', 'SQL p95', 'API/SQL p95', 'rows', 'bytes'],
      ...lists.map((l) => [l.name, fmt(l.apiMs.p50, 2), fmt(l.apiMs.p95, 2), fmt(l.sqlMs.p50, 2), fmt(l.sqlMs.p95, 2), fmt(l.p95Ratio, 2), String(l.rows), String(l.responseBytes)]),
    ]),
  );

  const resultsPath = join(projectRoot(), 'bench', 'results-schedules.json');
  const results = {
    benchmark: 'schedules',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    n: N,
    concurrency: C,
    rounds: ROUNDS,
    warmup: WARMUP,
    cron,
    timezone: TIMEZONE,
    sameSchedule,
    create: {
      A: { label: LABEL.A, ...A },
      B: { label: LABEL.B, ...B },
      ratios: { schedulesPerSecond: round(rateRatio, 4), p50: round(B.createLatencyMs.p50 / A.createLatencyMs.p50, 4), p95: round(B.createLatencyMs.p95 / A.createLatencyMs.p95, 4) },
      goal: { schedulesPerSecondRatioMin: GOAL_RATE_RATIO, met: rateRatio >= GOAL_RATE_RATIO },
    },
    list: { periodicTasks: total, pageSize: PAGE_SIZE, requests: LIST_REQUESTS, queries: lists },
  };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${resultsPath}`);
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
  process.exit(1);
});
