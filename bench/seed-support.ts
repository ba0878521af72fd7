/**
 * Set-based seeding shared by the benchmarks that need a large history (metrics dashboard, admin jobs): tasks rows and
 * their task_metrics rows from one `insert … select … from generate_series` per chunk, then the hourly and daily rollups
 * built from those rows in one statement exactly as the incremental writer would, and the checks that say so.
 *
 * Distributions: task type and priority by weight, brand by weight, creator uniformly among the given users, execution
 * time log-normal per type (median, sigma), CPU usage normal, memory log-normal, cost from a price per second; a share
 * failed (1-3 errors), a share retried once, and optionally a share still pending or running (created in the last hour,
 * no metrics row yet, as the worker writes metrics only when a task finishes).
 */
import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { DURATION_BOUNDS_MS, HISTOGRAM_SIZE } from '../activities/metrics/duration-histogram';
import type { TASK_PRIORITIES } from '../workflows/contracts/task-types';
import { silenceTaskEvents } from '../db/repositories/task-events.repository';

/** A task type seeded: its share of the traffic, median execution time (log-normal with `sigma`), memory, CPU, price. */
export interface TaskTypeProfile {
  name: string;
  weight: number;
  medianMs: number;
  sigma: number;
  memMb: number;
  cpuPct: number;
  perSecond: number;
}

/**
 * The task types seeded, with their share of the traffic, median execution time (log-normal with `sigma`), median memory
 * (log-normal, sigma 0.45), mean CPU usage (normal, sd 12) and price per second of execution.
 */
export const SEO_TASK_TYPES = [
  { name: 'seo_keyword_analysis', weight: 0.22, medianMs: 4_000, sigma: 0.6, memMb: 120, cpuPct: 35, perSecond: 0.00002 },
  { name: 'ai_content_generation', weight: 0.18, medianMs: 9_000, sigma: 0.5, memMb: 90, cpuPct: 15, perSecond: 0.0004 },
  { name: 'meta_tags_generation', weight: 0.14, medianMs: 2_000, sigma: 0.5, memMb: 60, cpuPct: 20, perSecond: 0.0001 },
  { name: 'seo_content_audit', weight: 0.12, medianMs: 25_000, sigma: 0.8, memMb: 220, cpuPct: 45, perSecond: 0.00003 },
  { name: 'seo_competitor_analysis', weight: 0.1, medianMs: 12_000, sigma: 0.7, memMb: 180, cpuPct: 40, perSecond: 0.00003 },
  { name: 'data_export', weight: 0.1, medianMs: 45_000, sigma: 1.0, memMb: 400, cpuPct: 70, perSecond: 0.00002 },
  { name: 'page_performance_audit', weight: 0.08, medianMs: 30_000, sigma: 0.9, memMb: 350, cpuPct: 60, perSecond: 0.00005 },
  { name: 'report_generation', weight: 0.06, medianMs: 60_000, sigma: 0.8, memMb: 300, cpuPct: 55, perSecond: 0.00002 },
] as const satisfies readonly TaskTypeProfile[];

export type PriorityWeights = Record<(typeof TASK_PRIORITIES)[number], number>;
export const PRIORITY_WEIGHTS: PriorityWeights = { low: 0.15, normal: 0.6, high: 0.2, critical: 0.05 };
/** Log-normal sigma of memory around each type's median, normal SD of CPU usage, activities run by each task. */
export const MEM_SIGMA = 0.45;
export const CPU_SD = 12;
export const ACTIVITIES_PER_TASK = 2;

export interface SeedPlan {
  types: readonly TaskTypeProfile[];
  priorityWeights?: PriorityWeights;
  brands: readonly { id: number; weight: number }[];
  userIds: readonly number[];
  /** Finished rows end uniformly over the `days` before `anchor`. */
  days: number;
  anchor: Date;
  failedShare: number;
  /** Completed tasks whose activity failed once and succeeded on retry (error_count 1). */
  retriedShare: number;
  /** Share of rows still pending or running (half each), created within the hour before `anchor`. */
  activeShare?: number;
  /** task_id is this prefix + the row number on 24 digits, or with `ulidTaskIds` + a ULID of its creation time. */
  taskIdPrefix: string;
  ulidTaskIds?: boolean;
  /**
   * Words a description and context_data are built from (one per row, uniformly), so that search and containment
   * filters have something real to find; none: empty description and context.
   */
  keywords?: readonly string[];
  /** Failed rows carry a Temporal failure in error_details (type, stack traces, cause chain) like the workflow writes. */
  errorDetails?: boolean;
}

// ---- SQL literals for the parameters (MikroORM formats `?` client-side; arrays go as Postgres array literals) ----

export const floatArray = (xs: readonly number[]) => `{${xs.join(',')}}`;
export const intArray = (xs: readonly number[]) => `{${xs.map((x) => Math.trunc(x)).join(',')}}`;
export const textArray = (xs: readonly string[]) => `{${xs.map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
/** Lower bounds of the categories for width_bucket: [0, w1, w1+w2, ...] (1-based index of the category). */
export const cumulative = (weights: readonly number[]) => {
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => {
    const lower = acc;
    acc += w / total;
    return lower;
  });
};
export const BOUNDS = floatArray(DURATION_BOUNDS_MS);

/**
 * What `contributionOf` in the repository stores in `rolled`, computed in SQL from a row's columns (`m.` prefix) and the
 * bounds array (`b.bounds`): the UTC hour bucket as JavaScript's toISOString prints it, and the histogram bucket index
 * by width_bucket (the number of bounds <= the duration, i.e. durationBucket's binary search).
 */
const ROLLED_SQL = `jsonb_build_object(
    'bucket', to_char(date_trunc('hour', m.finished_at, 'UTC') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'brandId', m.brand_id, 'taskType', m.task_type, 'priority', m.priority,
    'failed', case when m.status = 'failed' then 1 else 0 end, 'cancelled', case when m.status = 'cancelled' then 1 else 0 end,
    'withErrors', case when m.error_count > 0 then 1 else 0 end,
    'errorCount', m.error_count, 'execMs', m.execution_time_ms, 'cpuPct', m.cpu_usage_percent, 'memMb', m.memory_usage_mb,
    'costUsd', m.cost_usd, 'durationBucket', width_bucket(m.execution_time_ms, b.bounds))`;

/** A Temporal activity failure as the workflow stores it in error_details (the stack traces are parameters). */
const ERROR_DETAILS_SQL = `jsonb_build_object(
    'type', 'ActivityFailure', 'message', 'Activity task failed', 'stack_trace', ?::text,
    'causes', jsonb_build_array(jsonb_build_object('type', 'ApplicationFailure', 'message', 'bench: simulated failure',
      'stack_trace', ?::text, 'activity_type', m.task_type)))`;
const WORKFLOW_STACK = [
  'ActivityFailure: Activity task failed',
  '    at TaskWorkflow.runActivity (/app/dist/workflows/task-workflow.js:212:19)',
  '    at async TaskWorkflow.execute (/app/dist/workflows/task-workflow.js:148:13)',
  '    at async taskWorkflow (/app/dist/workflows/task-workflow.js:96:12)',
].join('\n');
const ACTIVITY_STACK = [
  'ApplicationFailure: bench: simulated failure',
  '    at Function.nonRetryable (/app/node_modules/@temporalio/common/lib/failure.js:171:16)',
  '    at runTaskActivity (/app/dist/activities/task-runner.js:88:37)',
  '    at async Activity.execute (/app/node_modules/@temporalio/worker/lib/activity.js:91:20)',
].join('\n');

/**
 * One chunk of seeded tasks and their metrics rows, in one statement: uniform draws, Box-Muller normals, then both inserts
 * from the same materialized rows (active rows get no metrics row). The random seed is set by the caller in the same
 * transaction.
 */
const SEED_SQL = `
with b(bounds) as (select ?::float8[]),
u as (
  select i, random() as u_type, random() as u_prio, 1 - random() as u1, random() as u2, 1 - random() as u3, random() as u4,
         random() as u_fail, random() as u_err, random() as u_when, random() as u_wait, random() as u_brand, random() as u_user,
         random() as u_word
    from generate_series(?::int, ?::int) i
),
d as (
  select i, width_bucket(u_type, ?::float8[]) as t, width_bucket(u_prio, ?::float8[]) as p, width_bucket(u_brand, ?::float8[]) as br,
         1 + floor(u_user * ?::int)::int as us, 1 + floor(u_word * ?::int)::int as w,
         sqrt(-2 * ln(u1)) * cos(2 * pi() * u2) as z1, sqrt(-2 * ln(u1)) * sin(2 * pi() * u2) as z2,
         sqrt(-2 * ln(u3)) * cos(2 * pi() * u4) as z3,
         case when u_fail < ?::float8 then case when u_err < 0.5 then 'pending' else 'running' end
              when u_fail < ?::float8 then 'failed' else 'completed' end as status,
         u_err, u_when, u_wait
    from u
),
v as (
  select i, t, p, br, us, w, status, u_wait,
         case when status in ('pending', 'running') then date_trunc('milliseconds', ?::timestamptz - u_when * interval '1 hour')
              else date_trunc('milliseconds', ?::timestamptz - u_when * ?::float8 * interval '1 day') end as at,
         (?::text[])[t] as task_type, (?::text[])[p] as priority,
         round(exp(ln((?::float8[])[t]) + (?::float8[])[t] * z1)::numeric, 2)::float8 as exec_ms,
         round(least(100, greatest(0.5, (?::float8[])[t] + ?::float8 * z2))::numeric, 2)::float8 as cpu_pct,
         round(exp(ln((?::float8[])[t]) + ?::float8 * z3)::numeric, 2)::float8 as mem_mb,
         case when status = 'failed' then 1 + floor(u_err * 3)::int when status = 'completed' and u_err < ?::float8 then 1 else 0 end as error_count
    from d
),
c as (
  select v.*, case when v.status in ('completed', 'failed') then v.at - make_interval(secs => v.exec_ms / 1000 + v.u_wait * 5)
                   else v.at - make_interval(secs => v.u_wait * 5) end as created_at
    from v
),
m as materialized (
  select v.i, v.task_type, v.priority, v.p as priority_level, v.status, v.created_at,
         v.exec_ms as execution_time_ms, round((v.exec_ms * v.cpu_pct / 100)::numeric, 2)::float8 as cpu_time_ms,
         v.cpu_pct as cpu_usage_percent, v.mem_mb as memory_usage_mb,
         round(((?::float8[])[v.t] * v.exec_ms / 1000)::numeric, 6)::float8 as cost_usd,
         v.error_count, ?::int + v.error_count as attempts,
         case when v.status in ('completed', 'failed') then v.at end as finished_at, v.at, v.u_wait,
         (?::int[])[v.br] as brand_id, (?::int[])[v.us] as created_by_id, (?::text[])[v.w] as keyword,
         case when ?::boolean
              -- a ULID as task.service makes them (lower case): creation time in 10 Crockford base32 digits, then 16 random ones
              then ?::text || (select string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz',
                                 (((extract(epoch from v.created_at) * 1000)::bigint >> (5 * (9 - k))) & 31)::int + 1, 1), '' order by k)
                                 from generate_series(0, 9) k) || substr(md5(v.i::text || ?::text), 1, 16)
              else ?::text || lpad(v.i::text, 24, '0') end as task_id
    from c v
),
tasks_rows as (
  insert into tasks (task_id, brand_id, created_by_id, task_type, status, priority, priority_level, description, context_data,
                     error_message, error_details, progress_percentage, retry_count, max_retries, created_at, updated_at, started_at,
                     completed_at, seq)
  select m.task_id, m.brand_id, m.created_by_id, m.task_type, m.status, m.priority, m.priority_level,
         case when m.keyword is null then '' else replace(m.task_type, '_', ' ') || ' for "' || m.keyword || '"' end,
         case when m.keyword is null then '{}'::jsonb
              else jsonb_build_object('keyword', m.keyword, 'url', 'https://www.example.com/' || m.keyword || '/' || m.i) end,
         case when m.status = 'failed' then 'bench: simulated failure' end,
         case when m.status = 'failed' and ?::boolean then ${ERROR_DETAILS_SQL} end,
         case m.status when 'failed' then 50 when 'completed' then 100 when 'running' then 10 + floor(m.u_wait * 80) else 0 end,
         0, 3,
         m.created_at, m.at,
         case when m.finished_at is not null then m.finished_at - make_interval(secs => m.execution_time_ms / 1000)
              when m.status = 'running' then m.at end,
         m.finished_at, case when m.finished_at is null then 2 else 4 end
    from m
)
insert into task_metrics (task_id, brand_id, task_type, priority, status, execution_time_ms, cpu_time_ms, cpu_usage_percent,
                          memory_usage_mb, cost_usd, error_count, attempts, activity_count, source, details, finished_at, rolled,
                          created_at, updated_at)
select m.task_id, m.brand_id, m.task_type, m.priority, m.status, m.execution_time_ms, m.cpu_time_ms, m.cpu_usage_percent,
       m.memory_usage_mb, m.cost_usd, m.error_count, m.attempts, ?::int, 'worker',
       jsonb_build_object('by_activity_type', jsonb_build_object(m.task_type, jsonb_build_object(
         'attempts', m.attempts, 'wall_ms', m.execution_time_ms, 'cpu_ms', m.cpu_time_ms, 'errors', m.error_count))),
       m.finished_at, ${ROLLED_SQL}, m.finished_at, m.finished_at
  from m cross join b
 where m.finished_at is not null`;

function seedParams(plan: SeedPlan, from: number, to: number): unknown[] {
  const priorities = Object.entries(plan.priorityWeights ?? PRIORITY_WEIGHTS);
  const keywords = plan.keywords ?? [];
  const activeShare = plan.activeShare ?? 0;
  const anchor = plan.anchor.toISOString();
  return [
    BOUNDS,
    from,
    to,
    floatArray(cumulative(plan.types.map((t) => t.weight))),
    floatArray(cumulative(priorities.map(([, w]) => w))),
    floatArray(cumulative(plan.brands.map((b) => b.weight))),
    plan.userIds.length,
    Math.max(1, keywords.length),
    activeShare,
    activeShare + plan.failedShare,
    anchor,
    anchor,
    plan.days,
    textArray(plan.types.map((t) => t.name)),
    textArray(priorities.map(([p]) => p)),
    floatArray(plan.types.map((t) => t.medianMs)),
    floatArray(plan.types.map((t) => t.sigma)),
    floatArray(plan.types.map((t) => t.cpuPct)),
    CPU_SD,
    floatArray(plan.types.map((t) => t.memMb)),
    MEM_SIGMA,
    plan.retriedShare,
    floatArray(plan.types.map((t) => t.perSecond)),
    ACTIVITIES_PER_TASK,
    intArray(plan.brands.map((b) => b.id)),
    intArray(plan.userIds),
    keywords.length ? textArray(keywords) : '{}',
    plan.ulidTaskIds ?? false,
    plan.taskIdPrefix,
    plan.taskIdPrefix,
    plan.taskIdPrefix,
    plan.errorDetails ?? false,
    WORKFLOW_STACK,
    ACTIVITY_STACK,
    ACTIVITIES_PER_TASK,
  ];
}

/** Seeds `rows` tasks (and their metrics rows) in chunks, each chunk with its own fixed random seed; returns seconds. */
export async function seedTasks(orm: MikroORM, plan: SeedPlan, rows: number, log: (msg: string) => void, chunkSize = 100_000): Promise<number> {
  const t0 = performance.now();
  for (let from = 1, chunk = 0; from <= rows; from += chunkSize, chunk++) {
    const to = Math.min(rows, from + chunkSize - 1);
    await orm.em.fork().transactional(async (tx) => {
      // Synthetic rows: no task events (100k notifications would be held until commit, then sent to nobody).
      await silenceTaskEvents(tx);
      await tx.execute(`select setseed(?)`, [((chunk * 7919) % 1000) / 1000 - 0.5]);
      await tx.execute(SEED_SQL, seedParams(plan, from, to));
    });
    log(`  seeded ${to} rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Runs `fn` (a bulk load) with the tables' secondary indexes dropped, then builds them again from their own definitions
 * (pg_get_indexdef): building a GIN trigram index once is much faster than maintaining it row by row. Primary keys and
 * unique indexes stay (they are constraints the load must satisfy). Returns fn's result and the seconds the builds took.
 */
export async function withIndexesBuiltAfter<T>(orm: MikroORM, tables: readonly string[], fn: () => Promise<T>): Promise<{ result: T; indexSeconds: number; indexes: number }> {
  const defs = await orm.em.fork().execute<{ name: string; def: string }[]>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i where i.indrelid = any(?::regclass[]) and not i.indisprimary and not i.indisunique`,
    [textArray(tables)],
  );
  for (const d of defs) await orm.em.fork().execute(`drop index ${d.name}`);
  const result = await fn();
  const t0 = performance.now();
  for (const d of defs) {
    await orm.em.fork().transactional(async (tx) => {
      await tx.execute(`set local maintenance_work_mem = '256MB'`);
      await tx.execute(d.def);
    });
  }
  return { result, indexSeconds: (performance.now() - t0) / 1000, indexes: defs.length };
}

/** The rollup tables the incremental writer maintains (applyContribution), by bucket width. */
export const ROLLUP_TABLES = { hour: 'metric_rollups', day: 'metric_rollups_daily' } as const;
export type Granularity = keyof typeof ROLLUP_TABLES;

/**
 * The brands' rollup rows as the incremental writer would have built them from their raw rows, per UTC hour or day:
 * first per (bucket, brand, type, priority, histogram bucket), then per (bucket, brand, type, priority) with the
 * histogram as a dense jsonb array of HISTOGRAM_SIZE counts. Parameters: rollupParams.
 */
const rollupSelectSql = (granularity: Granularity) => `
with b(bounds) as (select ?::float8[]),
cells as (
  select date_trunc('${granularity}', m.finished_at, 'UTC') as bucket, m.brand_id, m.task_type, m.priority,
         width_bucket(m.execution_time_ms, b.bounds) as idx, count(*)::int as n,
         count(*) filter (where m.status = 'failed')::int as failed, count(*) filter (where m.status = 'cancelled')::int as cancelled,
         count(*) filter (where m.error_count > 0)::int as with_errors,
         sum(m.error_count)::int as error_count, sum(m.execution_time_ms) as exec_ms_sum, max(m.execution_time_ms) as exec_ms_max,
         sum(m.cpu_usage_percent) as cpu_pct_sum, sum(m.memory_usage_mb) as mem_mb_sum, max(m.memory_usage_mb) as mem_mb_max,
         sum(m.cost_usd) as cost_sum
    from task_metrics m cross join b
   where m.brand_id = any(?::int[])
   group by 1, 2, 3, 4, 5
),
groups as (
  select bucket, brand_id, task_type, priority, sum(n)::int as tasks, sum(failed)::int as failed, sum(cancelled)::int as cancelled,
         sum(with_errors)::int as with_errors,
         sum(error_count)::int as error_count, sum(exec_ms_sum) as exec_ms_sum, max(exec_ms_max) as exec_ms_max,
         sum(cpu_pct_sum) as cpu_pct_sum, sum(mem_mb_sum) as mem_mb_sum, max(mem_mb_max) as mem_mb_max, sum(cost_sum) as cost_sum,
         array_agg(idx) as idxs, array_agg(n) as ns
    from cells
   group by 1, 2, 3, 4
)
select g.bucket, g.brand_id, g.task_type, g.priority, g.tasks, g.failed, g.cancelled, g.with_errors, g.error_count, g.exec_ms_sum, g.exec_ms_max,
       g.cpu_pct_sum, g.mem_mb_sum, g.mem_mb_max, g.cost_sum,
       (select jsonb_agg(coalesce(c.n, 0) order by s.i)
          from generate_series(0, ?::int - 1) s(i) left join unnest(g.idxs, g.ns) c(idx, n) on c.idx = s.i) as durations
  from groups g`;
const rollupParams = (brandIds: readonly number[]) => [BOUNDS, intArray(brandIds), HISTOGRAM_SIZE];

const ROLLUP_COLUMNS = `bucket, brand_id, task_type, priority, tasks, failed, cancelled, with_errors, error_count, exec_ms_sum, exec_ms_max,
                        cpu_pct_sum, mem_mb_sum, mem_mb_max, cost_sum, durations`;

/** ONE statement fills both rollup tables of the brands from their task_metrics rows; returns the row counts. */
export async function buildRollups(orm: MikroORM, brandIds: readonly number[]): Promise<{ rows: Record<Granularity, number>; seconds: number }> {
  const t0 = performance.now();
  await orm.em.fork().execute(
    `with hourly as (${rollupSelectSql('hour')}),
     daily as (${rollupSelectSql('day')}),
     hourly_rows as (insert into ${ROLLUP_TABLES.hour} (${ROLLUP_COLUMNS}) select ${ROLLUP_COLUMNS} from hourly)
     insert into ${ROLLUP_TABLES.day} (${ROLLUP_COLUMNS}) select ${ROLLUP_COLUMNS} from daily`,
    [...rollupParams(brandIds), ...rollupParams(brandIds)],
  );
  const seconds = (performance.now() - t0) / 1000;
  const rows: Record<Granularity, number> = { hour: 0, day: 0 };
  for (const g of ['hour', 'day'] as const) {
    const [r] = await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from ${ROLLUP_TABLES[g]} where brand_id = any(?::int[])`, [intArray(brandIds)]);
    rows[g] = r!.n;
  }
  return { rows, seconds };
}

export interface RollupCheck {
  rows: number;
  missing: number;
  extra: number;
  different: number;
}

/** The brands' rows of one rollup table against a recomputation from the raw rows: keys, counts, maxima and histograms exact, float sums to 1e-9. */
export async function checkRollups(orm: MikroORM, granularity: Granularity, brandIds: readonly number[]): Promise<RollupCheck> {
  const [c] = await orm.em.fork().execute<RollupCheck[]>(
    `with expected as (${rollupSelectSql(granularity)}),
     actual as (select * from ${ROLLUP_TABLES[granularity]} where brand_id = any(?::int[]))
     select count(*)::int as rows,
            count(*) filter (where a.id is null)::int as missing,
            count(*) filter (where e.bucket is null)::int as extra,
            count(*) filter (where a.id is not null and e.bucket is not null and (
              a.tasks <> e.tasks or a.failed <> e.failed or a.cancelled <> e.cancelled or a.with_errors <> e.with_errors or a.error_count <> e.error_count
              or a.exec_ms_max <> e.exec_ms_max or a.mem_mb_max <> e.mem_mb_max or a.durations <> e.durations
              or abs(a.exec_ms_sum - e.exec_ms_sum) > 1e-9 * greatest(1, abs(e.exec_ms_sum))
              or abs(a.cpu_pct_sum - e.cpu_pct_sum) > 1e-9 * greatest(1, abs(e.cpu_pct_sum))
              or abs(a.mem_mb_sum - e.mem_mb_sum) > 1e-9 * greatest(1, abs(e.mem_mb_sum))
              or abs(a.cost_sum - e.cost_sum) > 1e-9 * greatest(1, abs(e.cost_sum))))::int as different
       from expected e
       full join actual a on a.bucket = e.bucket and a.brand_id = e.brand_id and a.task_type = e.task_type and a.priority = e.priority`,
    [...rollupParams(brandIds), intArray(brandIds)],
  );
  return c!;
}

/** Rows whose `rolled` is not what the SQL computes from their columns (for rows of `source`: what JavaScript wrote). */
export async function checkRolled(
  orm: MikroORM,
  brandIds: readonly number[],
  source: string,
): Promise<{ rows: number; different: number; incremental: number; incremental_different: number }> {
  const [c] = await orm.em.fork().execute<{ rows: number; different: number; incremental: number; incremental_different: number }[]>(
    `with b(bounds) as (select ?::float8[])
     select count(*)::int as rows, count(*) filter (where m.rolled is distinct from ${ROLLED_SQL})::int as different,
            count(*) filter (where m.source = ?)::int as incremental,
            count(*) filter (where m.source = ? and m.rolled is distinct from ${ROLLED_SQL})::int as incremental_different
       from task_metrics m cross join b where m.brand_id = any(?::int[])`,
    [BOUNDS, source, source, intArray(brandIds)],
  );
  return c!;
}
