import type { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { int } from '../schemas/tasks.schemas';

/**
 * A MAD of (nearly) zero — a type whose runs all take the same time — would make any difference infinitely anomalous;
 * a floor of 5 % of the median keeps "2.1 s against a steady 2.0 s" ordinary.
 */
export function effectiveMad(mad: number, median: number): number {
  return Math.max(mad, Math.abs(median) * 0.05);
}

/** Robust z-score of a value against a median and MAD (Iglewicz–Hoaglin: 0.6745·(x − median)/MAD). */
export function robustScore(value: number, median: number, mad: number): number {
  if (mad <= 0) return value > median ? Number.POSITIVE_INFINITY : 0;
  return (0.6745 * (value - median)) / mad;
}

export const anomaliesQuery = z
  .object({
    window_hours: int.pipe(z.number().min(1).max(168)).default(24),
    baseline_days: int.pipe(z.number().min(1).max(90)).default(7),
    threshold: z.coerce.number().min(1).max(20).default(3.5),
    min_samples: int.pipe(z.number().min(3).max(10_000)).default(10),
    task_type: z.string().max(64).optional(),
    limit: int.pipe(z.number().min(1).max(500)).default(100),
  })
  .strict();
export type AnomaliesQuery = z.infer<typeof anomaliesQuery>;

export const recommendationsQuery = z
  .object({ period_days: int.pipe(z.number().min(1).max(90)).default(7) })
  .strict();

interface Baseline {
  task_type: string;
  n: number;
  exec_median: number;
  exec_mad: number;
  mem_median: number;
  mem_mad: number;
  failed: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Anomaly detection and recommendations (issue 7). Each task type is judged against its own recent past: the baseline is
 * its runs in the `baseline_days` before the window (median and MAD, robust to the outliers being looked for), the window
 * its runs in the last `window_hours`. Queries are bounded by (brand, finished_at) and (task_type, finished_at) indexes.
 */
export class MetricsAnalysisService {
  constructor(
    private readonly deps: {
      orm: MikroORM;
      /** Collisions of schedules (the optimize-schedules dry run), when scheduling is available. */
      scheduleCollisions?: (brandId: number) => Promise<{ collision_count: number; peak_before: number; peak_after: number; proposals: unknown[] }>;
    },
  ) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  private async baselines(brandId: number, windowStart: string, baselineStart: string, taskType?: string): Promise<Map<string, Baseline>> {
    const rows = await this.em().execute<Baseline[]>(
      `with base as (
         select task_type, execution_time_ms, memory_usage_mb, status from task_metrics
          where brand_id = ? and finished_at >= ? and finished_at < ? ${taskType ? 'and task_type = ?' : ''}),
       med as (
         select task_type, count(*)::int as n,
                percentile_cont(0.5) within group (order by execution_time_ms) as exec_median,
                percentile_cont(0.5) within group (order by memory_usage_mb) as mem_median,
                count(*) filter (where status = 'failed')::int as failed
           from base group by task_type)
       select m.task_type, m.n, m.exec_median::float8, m.mem_median::float8, m.failed,
              (select percentile_cont(0.5) within group (order by abs(b.execution_time_ms - m.exec_median)) from base b where b.task_type = m.task_type)::float8 as exec_mad,
              (select percentile_cont(0.5) within group (order by abs(b.memory_usage_mb - m.mem_median)) from base b where b.task_type = m.task_type)::float8 as mem_mad
         from med m`,
      [brandId, baselineStart, windowStart, ...(taskType ? [taskType] : [])],
    );
    return new Map(rows.map((r) => [r.task_type, r]));
  }

  /** Slow runs, memory spikes and failure-rate jumps in the window, each with its score and the baseline it was judged by. */
  async anomalies(brandId: number, q: AnomaliesQuery) {
    const now = Date.now();
    const windowStart = new Date(now - q.window_hours * 3_600_000).toISOString();
    const baselineStart = new Date(now - q.window_hours * 3_600_000 - q.baseline_days * 86_400_000).toISOString();
    const baselines = await this.baselines(brandId, windowStart, baselineStart, q.task_type);
    const recent = await this.em().execute<{ task_id: string; base_task: number; task_type: string; execution_time_ms: number; memory_usage_mb: number; status: string | null; finished_at: string }[]>(
      `select m.task_id, t.id as base_task, m.task_type, m.execution_time_ms, m.memory_usage_mb, m.status, m.finished_at
         from task_metrics m join tasks t on t.task_id = m.task_id
        where m.brand_id = ? and m.finished_at >= ? ${q.task_type ? 'and m.task_type = ?' : ''}
        order by m.finished_at desc limit 20000`,
      [brandId, windowStart, ...(q.task_type ? [q.task_type] : [])],
    );
    const anomalies: Record<string, unknown>[] = [];
    const windowCounts = new Map<string, { n: number; failed: number }>();
    for (const r of recent) {
      const c = windowCounts.get(r.task_type) ?? { n: 0, failed: 0 };
      c.n += 1;
      if (r.status === 'failed') c.failed += 1;
      windowCounts.set(r.task_type, c);
      const b = baselines.get(r.task_type);
      if (!b || b.n < q.min_samples) continue;
      const slow = robustScore(r.execution_time_ms, b.exec_median, effectiveMad(b.exec_mad, b.exec_median));
      if (slow > q.threshold && r.execution_time_ms > b.exec_median) {
        anomalies.push({
          kind: 'slow_run',
          task_type: r.task_type,
          task: r.base_task,
          task_id: r.task_id,
          at: new Date(r.finished_at).toISOString(),
          value: r.execution_time_ms,
          field: 'execution_time_ms',
          score: Number.isFinite(slow) ? round(slow) : null,
          baseline: { median: round(b.exec_median), mad: round(b.exec_mad), samples: b.n },
        });
      }
      const mem = robustScore(r.memory_usage_mb, b.mem_median, effectiveMad(b.mem_mad, b.mem_median));
      if (mem > q.threshold && r.memory_usage_mb > b.mem_median) {
        anomalies.push({
          kind: 'memory_spike',
          task_type: r.task_type,
          task: r.base_task,
          task_id: r.task_id,
          at: new Date(r.finished_at).toISOString(),
          value: r.memory_usage_mb,
          field: 'memory_usage_mb',
          score: Number.isFinite(mem) ? round(mem) : null,
          baseline: { median: round(b.mem_median), mad: round(b.mem_mad), samples: b.n },
        });
      }
    }
    // Failure rate: the window's rate against the baseline's, as a two-proportion z-score.
    for (const [type, w] of windowCounts) {
      const b = baselines.get(type);
      if (!b || b.n < q.min_samples || w.n < Math.min(q.min_samples, 5)) continue;
      const p0 = b.failed / b.n;
      const p1 = w.failed / w.n;
      const pooled = (b.failed + w.failed) / (b.n + w.n);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / b.n + 1 / w.n));
      const z = se > 0 ? (p1 - p0) / se : p1 > p0 ? Number.POSITIVE_INFINITY : 0;
      if (z > q.threshold || (se === 0 && p1 > p0)) {
        anomalies.push({
          kind: 'failure_rate_jump',
          task_type: type,
          value: round(p1 * 100, 1),
          field: 'failure_rate_percent',
          score: Number.isFinite(z) ? round(z) : null,
          window: { runs: w.n, failed: w.failed },
          baseline: { failure_rate_percent: round(p0 * 100, 1), runs: b.n, failed: b.failed },
        });
      }
    }
    anomalies.sort((a, b) => ((b.score as number | null) ?? Infinity) - ((a.score as number | null) ?? Infinity));
    return {
      window: { since: windowStart, hours: q.window_hours },
      baseline: { since: baselineStart, until: windowStart, days: q.baseline_days },
      threshold: q.threshold,
      baselines: Object.fromEntries(
        [...baselines.values()].map((b) => [b.task_type, { samples: b.n, execution_time_ms: { median: round(b.exec_median), mad: round(b.exec_mad) }, memory_usage_mb: { median: round(b.mem_median), mad: round(b.mem_mad) }, failure_rate_percent: b.n ? round((b.failed / b.n) * 100, 1) : 0 }]),
      ),
      count: Math.min(anomalies.length, q.limit),
      anomalies: anomalies.slice(0, q.limit),
    };
  }

  /** Concrete recommendations derived from the data, each with the figures behind it. */
  async recommendations(brandId: number, periodDays: number) {
    const em = this.em();
    const since = new Date(Date.now() - periodDays * 86_400_000).toISOString();
    const out: Record<string, unknown>[] = [];

    // 1. Types whose tasks time out: a timeout above their measured p95 (×2) would let them finish.
    const timeouts = await em.execute<{ task_type: string; timed_out: number; finished: number; p95: number | null; current: number | null }[]>(
      `select t.task_type,
              count(*) filter (where t.error_message like 'Task timed out after%')::int as timed_out,
              count(*)::int as finished,
              (select percentile_cont(0.95) within group (order by m.execution_time_ms) from task_metrics m
                where m.brand_id = t.brand_id and m.task_type = t.task_type and m.finished_at >= ? and m.status = 'completed')::float8 as p95,
              max(t.timeout_minutes)::float8 as current
         from tasks t
        where t.brand_id = ? and t.deleted_at is null and t.completed_at >= ? and t.status in ('completed', 'failed', 'cancelled')
        group by t.brand_id, t.task_type
       having count(*) filter (where t.error_message like 'Task timed out after%') > 0`,
      [since, brandId, since],
    );
    for (const r of timeouts) {
      const suggested = r.p95 ? Math.max(1, Math.ceil((r.p95 * 2) / 60_000)) : r.current ? Math.ceil(r.current * 2) : null;
      out.push({
        kind: 'raise_timeout',
        severity: r.timed_out / r.finished >= 0.1 ? 'high' : 'medium',
        task_type: r.task_type,
        title: `${r.task_type}: ${r.timed_out} of ${r.finished} runs timed out; raise timeout_minutes${suggested ? ` to ${suggested}` : ''}`,
        action: suggested ? { field: 'timeout_minutes', value: suggested } : { field: 'timeout_minutes', value: null },
        evidence: { timed_out: r.timed_out, finished: r.finished, current_timeout_minutes: r.current, completed_p95_ms: r.p95 ? round(r.p95) : null },
      });
    }

    // 2. A type at high priority that takes most of the worker time while the others wait to start.
    const shares = await em.execute<{ task_type: string; busy_ms: number; high_share: number; runs: number }[]>(
      `select task_type, sum(execution_time_ms)::float8 as busy_ms, count(*)::int as runs,
              (count(*) filter (where priority in ('high', 'critical')))::float8 / greatest(count(*), 1) as high_share
         from task_metrics where brand_id = ? and finished_at >= ? group by task_type`,
      [brandId, since],
    );
    const totalBusy = shares.reduce((a, r) => a + r.busy_ms, 0);
    const waits = await em.execute<{ task_type: string; p95_wait_ms: number | null }[]>(
      `select task_type, (percentile_cont(0.95) within group (order by extract(epoch from started_at - coalesce(scheduled_for, created_at)) * 1000))::float8 as p95_wait_ms
         from tasks where brand_id = ? and deleted_at is null and started_at is not null and created_at >= ? group by task_type`,
      [brandId, since],
    );
    const waitOf = new Map(waits.map((w) => [w.task_type, w.p95_wait_ms ?? 0]));
    for (const r of shares) {
      const share = totalBusy > 0 ? r.busy_ms / totalBusy : 0;
      const othersWait = Math.max(0, ...[...waitOf].filter(([t]) => t !== r.task_type).map(([, w]) => w));
      if (share >= 0.5 && r.high_share >= 0.5 && othersWait >= 30_000 && shares.length > 1) {
        out.push({
          kind: 'lower_priority',
          severity: 'medium',
          task_type: r.task_type,
          title: `${r.task_type} takes ${Math.round(share * 100)} % of worker time at high priority while other types wait up to ${Math.round(othersWait / 1000)} s (p95) to start: lower its priority`,
          action: { field: 'priority', value: 'normal' },
          evidence: { share_of_worker_time_percent: round(share * 100, 1), high_priority_share_percent: round(r.high_share * 100, 1), others_p95_start_wait_ms: round(othersWait), runs: r.runs },
        });
      }
    }

    // 3. Schedules that fire at the same instant.
    if (this.deps.scheduleCollisions) {
      const c = await this.deps.scheduleCollisions(brandId);
      if (c.collision_count > 0) {
        out.push({
          kind: 'spread_schedules',
          severity: c.peak_before >= 5 ? 'high' : 'low',
          title: `${c.collision_count} instant(s) in the next 24 h where up to ${c.peak_before} schedules fire together: apply the proposed offsets`,
          action: { method: 'POST', path: '/tasks/scheduled/periodic-tasks/optimize-schedules/', body: { dry_run: false } },
          evidence: { collisions: c.collision_count, peak_before: c.peak_before, peak_after: c.peak_after, proposals: c.proposals.length },
        });
      }
    }

    // 4. A failure rate that rose, on a type no active alert rule watches.
    const jumps = (await this.anomalies(brandId, { window_hours: 24, baseline_days: periodDays, threshold: 3, min_samples: 5, limit: 500 })).anomalies.filter(
      (a) => a.kind === 'failure_rate_jump',
    );
    const hasRules = (await em.execute<{ r: string | null }[]>(`select to_regclass('alert_rules')::text as r`))[0]?.r;
    for (const j of jumps) {
      const watched = hasRules
        ? (
            await em.execute<{ n: number }[]>(
              `select count(*)::int as n from alert_rules where brand_id = ? and deleted_at is null and is_active
                  and metric_field = 'failure_rate_percent' and (scope_task_type is null or scope_task_type = ?)`,
              [brandId, j.task_type],
            )
          )[0]!.n > 0
        : false;
      if (watched) continue;
      out.push({
        kind: 'add_failure_rate_alert',
        severity: 'high',
        task_type: j.task_type,
        title: `${String(j.task_type)}: failure rate rose to ${String(j.value)} % (baseline ${String((j.baseline as { failure_rate_percent: number }).failure_rate_percent)} %) and no alert watches it`,
        action: {
          method: 'POST',
          path: '/tasks/monitoring/alerts/',
          body: { metric_field: 'failure_rate_percent', condition: 'gt', threshold: Math.max(5, Math.round((j.baseline as { failure_rate_percent: number }).failure_rate_percent * 2)), scope_task_type: j.task_type },
        },
        evidence: { window: j.window, baseline: j.baseline, score: j.score },
      });
    }
    return { period_days: periodDays, since, count: out.length, recommendations: out };
  }
}
