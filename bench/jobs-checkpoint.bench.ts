/**
 * Benchmark (not a test): what do persistent job checkpoints cost, and how fast does a paused job resume?
 *
 *   (a) checkpoint overhead: the same item job (`noop`, `{total_items: 20000, item_ms: 0}`) with
 *       `checkpoint_every_items: 100` (A) and `0` (B: checkpoints only at start, pauses and the end), in
 *       A/B/B/A rounds after an unmeasured warm-up of each; items/s from the job row's started_at..completed_at.
 *       `item_ms: 0` is deliberate: instant items are recorded 50 per statement, so a checkpoint (one insert of the
 *       state with its sha256, one update) weighs as much as a whole group of items. It is the worst case for the
 *       ratio; any item with real work (item_ms > 0) only dilutes the checkpoint cost further.
 *   (b) resume latency: a paused item job (`item_ms: 5`); time from sending `POST .../resume/` to the first new
 *       row in the item ledger (persistent_job_items, polled every 5 ms), then pause again; BENCH_RESUME_TRIALS (20).
 *
 * API and worker run as their own processes from dist/, against a Temporal dev server and a throwaway database,
 * like bench/tasks-throughput.bench.ts. Prints a table and writes bench/results-jobs.json.
 *
 * Knobs: BENCH_JOB_ITEMS (20000), BENCH_JOB_BATCH_SIZE (500), BENCH_JOB_ROUNDS (2: A,B then B,A),
 * BENCH_RESUME_TRIALS (20), BENCH_TEMPORAL_ADDRESS (use a running dev server).
 *
 *   npm run build && npm run bench:jobs
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import { signAccessToken } from '../api/services/token.service';
import { createOrmConfig } from '../db/mikro-orm.config';
import { ensureBrand, ensureUser, grantMembership } from '../db/repositories/identity.repository';
import { beginBench, cleanup, fmt, intEnv, onExit, projectRoot, startBenchStack, table } from './bench-support';
import { mean, percentile, round } from './stats';

const ITEMS = intEnv('BENCH_JOB_ITEMS', 20_000);
const BATCH = intEnv('BENCH_JOB_BATCH_SIZE', 500);
const ROUNDS = intEnv('BENCH_JOB_ROUNDS', 2);
const TRIALS = intEnv('BENCH_RESUME_TRIALS', 20);
const CHECKPOINT_EVERY = 100;
const GOAL_RATIO = 0.9;
const JOBS = '/tasks/persistent-jobs/persistent-jobs';

type Variant = 'A' | 'B';
const LABEL: Record<Variant, string> = { A: `A: checkpoint every ${CHECKPOINT_EVERY}`, B: 'B: checkpoint_every_items 0' };



const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



async function run(): Promise<void> {
  const log = beginBench();

  const { config, dbUrl, baseUrl } = await startBenchStack({ taskQueue: 'bench-jobs', dbPrefix: 'durable_tasks_bench_jobs', log });
  const orm = await MikroORM.init(createOrmConfig(dbUrl));
  onExit('close bench ORM', () => orm.close(true));

  const em = orm.em.fork();
  const brand = await ensureBrand(em, 'bench-jobs');
  const user = await ensureUser(em, 'bench-jobs');
  await grantMembership(em, user.id, brand.id);
  const headers = { Authorization: `Bearer ${signAccessToken(config, user, 3600)}`, 'X-Brand-ID': String(brand.id), 'Content-Type': 'application/json' };
  const api = async (method: string, path: string, body: unknown = {}) => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, any>;
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json).slice(0, 500)}`);
    return json;
  };
  const createJob = async (jobData: Record<string, unknown>, settings: Record<string, unknown>) =>
    (await api('POST', `${JOBS}/`, { base_task: { task_type: 'noop', description: 'bench' }, job_data: jobData, settings })).id as number;
  const jobRow = async (id: number) =>
    (await orm.em.fork().execute<{ status: string; started_at: Date; completed_at: Date | null; items_done: number }[]>(`select status, started_at, completed_at, items_done from persistent_jobs where id = ?`, [id]))[0]!;
  const checkpointCount = async (id: number) => (await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from job_checkpoints where job_id = ?`, [id]))[0]!.n;

  // ---- (a) checkpoint overhead ----
  const runJob = async (variant: Variant, items: number) => {
    const id = await createJob({ total_items: items, item_ms: 0 }, { batch_size: BATCH, checkpoint_every_items: variant === 'A' ? CHECKPOINT_EVERY : 0, checkpoint_every_seconds: 0 });
    for (;;) {
      const row = await jobRow(id);
      if (row.status === 'completed') {
        const seconds = (new Date(row.completed_at!).getTime() - new Date(row.started_at).getTime()) / 1000;
        return { variant, items, seconds, rate: items / seconds, checkpoints: await checkpointCount(id) };
      }
      if (row.status === 'failed' || row.status === 'cancelled') throw new Error(`job ${id} ended ${row.status}`);
      await sleep(20);
    }
  };
  log(`node ${process.version}, ${cpus().length} CPUs; (a) ${ITEMS} instant items, batch_size ${BATCH}, ${ROUNDS} rounds of ABBA halves; (b) ${TRIALS} resume trials`);
  for (const v of ['A', 'B'] as const) {
    const w = await runJob(v, Math.min(ITEMS, 2000));
    log(`warm-up ${LABEL[v]}: ${fmt(w.rate)} items/s`);
  }
  const runs: Awaited<ReturnType<typeof runJob>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const res = await runJob(v, ITEMS);
      runs.push(res);
      log(`round ${r + 1} ${LABEL[v]}: ${ITEMS} items in ${fmt(res.seconds, 2)} s, ${fmt(res.rate)} items/s, ${res.checkpoints} checkpoints`);
    }
  }
  const sum = (v: Variant) => {
    const mine = runs.filter((x) => x.variant === v);
    const seconds = mine.reduce((s, x) => s + x.seconds, 0);
    const items = mine.reduce((s, x) => s + x.items, 0);
    return { items, seconds: round(seconds, 3), itemsPerSecond: round(items / seconds, 1), checkpointsPerJob: round(mean(mine.map((x) => x.checkpoints)), 1), runs: mine.map((x) => ({ seconds: round(x.seconds, 3), itemsPerSecond: round(x.rate, 1), checkpoints: x.checkpoints })) };
  };
  const A = sum('A');
  const B = sum('B');
  const ratio = A.itemsPerSecond / B.itemsPerSecond;

  // ---- (b) resume latency ----
  const jobId = await createJob({ total_items: 10_000_000, item_ms: 5 }, { batch_size: 1000, checkpoint_every_items: CHECKPOINT_EVERY });
  const ledgerCount = async () => (await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from persistent_job_items where job_id = ?`, [jobId]))[0]!.n;
  while ((await ledgerCount()) < 10) await sleep(20);
  const pause = async () => {
    const r = await api('POST', `${JOBS}/${jobId}/pause/`, { reason: 'bench' });
    if (r.job?.status !== 'paused') throw new Error(`pause answered ${JSON.stringify(r).slice(0, 300)}`);
  };
  await pause();
  const latencies: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await sleep(200);
    const before = await ledgerCount();
    const t0 = performance.now();
    const resumed = api('POST', `${JOBS}/${jobId}/resume/`);
    for (;;) {
      if ((await ledgerCount()) > before) break;
      if (performance.now() - t0 > 30_000) throw new Error('no item within 30 s of resume');
      await sleep(5);
    }
    latencies.push(performance.now() - t0);
    await resumed;
    await pause();
  }
  const lat = { p50: round(percentile(latencies, 50), 1), p95: round(percentile(latencies, 95), 1), mean: round(mean(latencies), 1), min: round(Math.min(...latencies), 1), max: round(Math.max(...latencies), 1) };

  console.log('');
  console.log(`persistent job checkpoints: ${ITEMS} instant items (item_ms 0), batch_size ${BATCH}, ${ROUNDS} rounds (ABBA), node ${process.version}, ${cpus().length} CPUs`);
  console.log(
    table([
      ['metric', LABEL.A, LABEL.B, 'A/B', 'goal', ''],
      ['items/s (started..completed)', fmt(A.itemsPerSecond), fmt(B.itemsPerSecond), fmt(ratio, 3), `>= ${GOAL_RATIO}`, ratio >= GOAL_RATIO ? 'ok' : 'MISSED'],
      ['checkpoints per job', fmt(A.checkpointsPerJob, 0), fmt(B.checkpointsPerJob, 0), '', '', ''],
      ['items / seconds', `${A.items} / ${fmt(A.seconds, 2)}`, `${B.items} / ${fmt(B.seconds, 2)}`, '', '', ''],
    ]),
  );
  console.log('');
  console.log(`resume latency (POST resume/ sent -> first new ledger row, polled every 5 ms), item_ms 5, ${TRIALS} trials`);
  console.log(table([['p50 ms', 'p95 ms', 'mean ms', 'min ms', 'max ms'], [fmt(lat.p50), fmt(lat.p95), fmt(lat.mean), fmt(lat.min), fmt(lat.max)]], 0));

  const resultsPath = join(projectRoot(), 'bench', 'results-jobs.json');
  writeFileSync(
    resultsPath,
    `${JSON.stringify(
      {
        benchmark: 'jobs-checkpoint',
        date: new Date().toISOString(),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        checkpointOverhead: { items: ITEMS, itemMs: 0, batchSize: BATCH, rounds: ROUNDS, checkpointEveryItems: CHECKPOINT_EVERY, A: { label: LABEL.A, ...A }, B: { label: LABEL.B, ...B }, ratio: round(ratio, 4), goal: GOAL_RATIO, met: ratio >= GOAL_RATIO },
        resumeLatencyMs: { trials: TRIALS, itemMs: 5, ...lat, samples: latencies.map((x) => round(x, 1)) },
      },
      null,
      2,
    )}\n`,
  );
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
