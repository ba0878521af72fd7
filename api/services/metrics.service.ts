import type { MikroORM } from '@mikro-orm/postgresql';
import { addHistograms, emptyHistogram, histogramQuantile } from '../../activities/metrics/duration-histogram';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import {
  deleteTaskMetrics,
  findMetricsOfTask,
  findTaskMetrics,
  listTaskMetrics,
  METRIC_VALUE_FIELDS,
  MetricsFilter,
  sumRollups,
  topExpensive,
  writeTaskMetrics,
  type RollupRow,
  type TaskMetricsRow,
} from '../../db/repositories/task-metrics.repository';
import { findTask } from '../../db/repositories/task-query.repository';
import { streamTaskAnalytics, taskStatusCounts, type TaskAnalyticsFilter, type TaskAnalyticsRow } from '../../db/repositories/task-analytics.repository';
import { TASK_PRIORITIES } from '../../workflows/contracts/task-types';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  DASHBOARD_PERIODS,
  METRICS_ORDERING,
  RANGE_OPS,
  type DashboardQuery,
  type ListMetricsQuery,
  type MetricsBody,
  type MetricsPatch,
} from '../schemas/metrics.schemas';
import type { Actor } from './task.service';

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const DAY_MS = 86_400_000;
/** Rows per query of the v1 export stream. */
const EXPORT_BATCH_SIZE = 1000;

/** The daily metrics of the public API v1 trends. */
export const V1_TREND_METRICS = ['completion_rate', 'avg_duration', 'error_rate'] as const;
export type V1TrendMetric = (typeof V1_TREND_METRICS)[number];

/** A metrics row as seed 000/001 show it (`metrics` of a task, and the items of `/tasks/monitoring/metrics/`). */
export function serializeMetrics(m: TaskMetricsRow) {
  return {
    id: m.id,
    base_task: m.base_task_id,
    task_id: m.task_id,
    task_type: m.task_type,
    priority: m.priority,
    status: m.status,
    execution_time_ms: m.execution_time_ms,
    memory_usage_mb: m.memory_usage_mb,
    cpu_usage_percent: m.cpu_usage_percent,
    cpu_time_ms: m.cpu_time_ms,
    cost_usd: m.cost_usd,
    error_count: m.error_count,
    attempts: m.attempts,
    activity_count: m.activity_count,
    source: m.source,
    details: m.details,
    finished_at: iso(m.finished_at),
    created_at: iso(m.created_at),
    updated_at: iso(m.updated_at),
  };
}

interface Aggregate {
  tasks: number;
  failed: number;
  cancelled: number;
  error_count: number;
  exec_ms_sum: number;
  exec_ms_max: number;
  cpu_pct_sum: number;
  mem_mb_sum: number;
  mem_mb_max: number;
  cost_sum: number;
  histogram: number[];
}

function aggregate(rows: RollupRow[]): Aggregate {
  const out: Aggregate = { tasks: 0, failed: 0, cancelled: 0, error_count: 0, exec_ms_sum: 0, exec_ms_max: 0, cpu_pct_sum: 0, mem_mb_sum: 0, mem_mb_max: 0, cost_sum: 0, histogram: emptyHistogram() };
  for (const r of rows) {
    out.tasks += r.tasks;
    out.failed += r.failed;
    out.cancelled += r.cancelled;
    out.error_count += r.error_count;
    out.exec_ms_sum += r.exec_ms_sum;
    out.exec_ms_max = Math.max(out.exec_ms_max, r.exec_ms_max);
    out.cpu_pct_sum += r.cpu_pct_sum;
    out.mem_mb_sum += r.mem_mb_sum;
    out.mem_mb_max = Math.max(out.mem_mb_max, r.mem_mb_max);
    out.cost_sum += r.cost_sum;
    for (const h of r.durations) addHistograms(out.histogram, h);
  }
  return out;
}

/**
 * The figures every dashboard block shows for a group of measured tasks. A task cancelled while running counts in
 * `total_tasks` and the resource figures (it used them) but is neither completed nor failed: `error_rate_percent` =
 * failed / (completed + failed), like the failure-rate alerts and the admin stats.
 */
function figures(a: Aggregate) {
  const finished = a.tasks - a.cancelled;
  return {
    total_tasks: a.tasks,
    avg_execution_time_ms: a.tasks ? round(a.exec_ms_sum / a.tasks) : 0,
    p50_execution_time_ms: histogramQuantile(a.histogram, 0.5),
    p95_execution_time_ms: histogramQuantile(a.histogram, 0.95),
    max_execution_time_ms: round(a.exec_ms_max),
    avg_memory_usage_mb: a.tasks ? round(a.mem_mb_sum / a.tasks) : 0,
    max_memory_usage_mb: round(a.mem_mb_max),
    avg_cpu_usage_percent: a.tasks ? round(a.cpu_pct_sum / a.tasks) : 0,
    total_cost_usd: round(a.cost_sum, 6),
    error_count: a.error_count,
    completed_tasks: finished - a.failed,
    failed_tasks: a.failed,
    cancelled_tasks: a.cancelled,
    error_rate_percent: finished ? round((a.failed / finished) * 100, 1) : 0,
  };
}

/**
 * task_monitoring metrics (seed 000): the per-task metrics rows (measured by the worker or imported) and the dashboards,
 * which read the hourly rollups, never the raw rows.
 */
export class MetricsService {
  constructor(private readonly deps: { orm: MikroORM; config: AppConfig }) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  async list(brandId: number, q: ListMetricsQuery) {
    const filter = new MetricsFilter(brandId);
    if (q.base_task) {
      if (/^\d+$/.test(q.base_task)) filter.add(Number(q.base_task) > 2_147_483_647 ? 'false' : 't.id = ?', ...(Number(q.base_task) > 2_147_483_647 ? [] : [Number(q.base_task)]));
      else filter.add('m.task_id = ?', q.base_task);
    }
    const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
    const types = list(q.task_type);
    if (types.length) filter.add(`m.task_type in (${types.map(() => '?').join(', ')})`, ...types);
    const priorities = list(q.priority);
    if (priorities.length) {
      const bad = priorities.filter((p) => !(TASK_PRIORITIES as readonly string[]).includes(p));
      if (bad.length) throw AppError.validation({ priority: [`Unknown value(s) ${bad.join(', ')}. Choices: ${TASK_PRIORITIES.join(', ')}`] });
      filter.add(`m.priority in (${priorities.map(() => '?').join(', ')})`, ...priorities);
    }
    if (q.source) filter.add('m.source = ?', q.source);
    if (q.finished_after) filter.add('m.finished_at >= ?', q.finished_after);
    if (q.finished_before) filter.add('m.finished_at <= ?', q.finished_before);
    if (q.created_after) filter.add('m.created_at >= ?', q.created_after);
    if (q.created_before) filter.add('m.created_at <= ?', q.created_before);
    for (const field of METRIC_VALUE_FIELDS) {
      if (q[field] !== undefined) filter.add(`m.${field} = ?`, q[field]);
      for (const [op, sqlOp] of Object.entries(RANGE_OPS)) {
        const v = q[`${field}__${op}`];
        if (v !== undefined) filter.add(`m.${field} ${sqlOp} ?`, v);
      }
    }
    const ordering = q.ordering ?? ['-finished_at'];
    const orderBy = ordering
      .map((f) => `${METRICS_ORDERING[f.replace(/^-/, '') as keyof typeof METRICS_ORDERING]} ${f.startsWith('-') ? 'desc' : 'asc'}`)
      .concat([`m.id ${ordering[0]!.startsWith('-') ? 'desc' : 'asc'}`])
      .join(', ');
    const pageSize = Math.min(q.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const { count, rows } = await listTaskMetrics(this.em(), filter, orderBy, pageSize, (q.page - 1) * pageSize);
    return { count, rows, page: q.page, pageSize };
  }

  async get(brandId: number, id: string): Promise<TaskMetricsRow> {
    const row = /^\d+$/.test(id) ? await findTaskMetrics(this.em(), brandId, Number(id)) : null;
    if (!row) throw new AppError(ErrorCode.NOT_FOUND, 404, 'Metrics not found');
    return row;
  }

  /** The `metrics` extension of `GET /tasks/{id}/`. */
  async forTask(taskId: string): Promise<ReturnType<typeof serializeMetrics> | null> {
    const row = await findMetricsOfTask(this.em(), taskId);
    return row ? serializeMetrics(row) : null;
  }

  /** Imports metrics for a task that has none (e.g. work measured outside the platform's workers). */
  async create(actor: Actor, body: MetricsBody): Promise<TaskMetricsRow> {
    const em = this.em();
    const task = await findTask(em, actor.brandId, String(body.base_task));
    if (!task) throw AppError.validation({ base_task: [`Task ${body.base_task} not found in this brand`] }, 'base_task not found');
    if (await findMetricsOfTask(em, task.task_id)) {
      throw new AppError(ErrorCode.INVALID_OPERATION, 409, `Task ${task.id} already has metrics; change them with PUT or PATCH`, {
        base_task: task.id,
      });
    }
    const id = await writeTaskMetrics(em, {
      taskId: task.task_id,
      brandId: actor.brandId,
      taskType: task.task_type,
      priority: task.priority,
      status: task.status,
      executionTimeMs: body.execution_time_ms,
      cpuTimeMs: 0,
      cpuUsagePercent: body.cpu_usage_percent,
      memoryUsageMb: body.memory_usage_mb,
      costUsd: body.cost_usd,
      errorCount: body.error_count,
      attempts: body.attempts,
      activityCount: 0,
      source: 'import',
      details: body.details,
      finishedAt: iso(task.completed_at) ?? new Date().toISOString(),
    }).catch((err: unknown) => {
      // Another writer (a concurrent import, the worker finishing the task) created the row first.
      if ((err as { code?: string }).code === '23505') {
        throw new AppError(ErrorCode.INVALID_OPERATION, 409, `Task ${task.id} already has metrics; change them with PUT or PATCH`, { base_task: task.id });
      }
      throw err;
    });
    await this.audit(actor, 'metrics.create', id, { task_id: task.task_id, ...body });
    return this.get(actor.brandId, String(id));
  }

  async update(actor: Actor, id: string, body: MetricsPatch | MetricsBody): Promise<TaskMetricsRow> {
    const current = await this.get(actor.brandId, id);
    if ('base_task' in body && body.base_task !== undefined && String(body.base_task) !== String(current.base_task_id) && body.base_task !== current.task_id) {
      throw AppError.validation({ base_task: ['Metrics cannot move to another task'] });
    }
    await writeTaskMetrics(this.em(), {
      taskId: current.task_id,
      brandId: current.brand_id,
      taskType: current.task_type,
      priority: current.priority,
      status: current.status,
      executionTimeMs: body.execution_time_ms ?? current.execution_time_ms,
      cpuTimeMs: current.cpu_time_ms,
      cpuUsagePercent: body.cpu_usage_percent ?? current.cpu_usage_percent,
      memoryUsageMb: body.memory_usage_mb ?? current.memory_usage_mb,
      costUsd: body.cost_usd ?? current.cost_usd,
      errorCount: body.error_count ?? current.error_count,
      attempts: body.attempts ?? current.attempts,
      activityCount: current.activity_count,
      source: 'import',
      details: body.details !== undefined ? body.details : current.details,
      finishedAt: iso(current.finished_at)!,
    });
    await this.audit(actor, 'metrics.update', current.id, { task_id: current.task_id, ...body });
    return this.get(actor.brandId, id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const current = await this.get(actor.brandId, id);
    if (!(await deleteTaskMetrics(this.em(), current.id))) throw new AppError(ErrorCode.NOT_FOUND, 404, 'Metrics not found');
    await this.audit(actor, 'metrics.delete', current.id, { task_id: current.task_id, execution_time_ms: current.execution_time_ms, cost_usd: current.cost_usd });
  }

  /** Seed 000's dashboard: summary, trends, top expensive tasks and performance by priority, all from rollups. */
  async dashboard(brandId: number, q: DashboardQuery) {
    const hours = DASHBOARD_PERIODS[q.period];
    const since = new Date(Date.now() - hours * 3_600_000).toISOString();
    const interval = q.interval ?? (hours <= 24 ? 'hour' : 'day');
    const em = this.em();
    // One rollup query grouped by (time bucket, priority) feeds the summary, the trends and the priorities.
    const [rows, top] = await Promise.all([
      sumRollups(em, brandId, since, `to_char(date_trunc('${interval}', bucket, 'UTC') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '|' || priority`, {
        taskType: q.task_type,
        hourly: interval === 'hour',
      }),
      topExpensive(em, brandId, since, 10),
    ]);
    const partsOf = (r: RollupRow) => {
      const key = String(r.key);
      const cut = key.lastIndexOf('|');
      return { bucket: key.slice(0, cut), priority: key.slice(cut + 1) };
    };
    const all = rows;
    const buckets = [...new Set(rows.map((r) => partsOf(r).bucket))].sort();
    const byBucket = buckets.map((b) => ({ key: b, rows: rows.filter((r) => partsOf(r).bucket === b) }));
    const byPriority = rows.map((r) => ({ ...r, key: partsOf(r).priority }));
    const summary = figures(aggregate(all));
    return {
      period: q.period,
      since,
      summary: {
        total_tasks: summary.total_tasks,
        avg_execution_time_ms: summary.avg_execution_time_ms,
        avg_memory_usage_mb: summary.avg_memory_usage_mb,
        total_cost_usd: summary.total_cost_usd,
        error_rate_percent: summary.error_rate_percent,
        p95_execution_time_ms: summary.p95_execution_time_ms,
        avg_cpu_usage_percent: summary.avg_cpu_usage_percent,
      },
      trends: { interval, points: byBucket.map((b) => ({ bucket: iso(b.key), ...figures(aggregate(b.rows)) })) },
      top_expensive_tasks: top.map((m) => ({ task: m.base_task_id, task_id: m.task_id, task_type: m.task_type, cost_usd: m.cost_usd, execution_time_ms: m.execution_time_ms, finished_at: iso(m.finished_at) })),
      performance_by_priority: Object.fromEntries(
        TASK_PRIORITIES.map((p) => [p, figures(aggregate(byPriority.filter((r) => r.key === p)))]),
      ),
    };
  }

  /** Time buckets: count, p50/p95 duration, error rate, cost. */
  async trends(brandId: number, q: DashboardQuery) {
    const hours = DASHBOARD_PERIODS[q.period];
    const since = new Date(Date.now() - hours * 3_600_000).toISOString();
    const interval = q.interval ?? (hours <= 24 ? 'hour' : 'day');
    const rows = await sumRollups(this.em(), brandId, since, `date_trunc('${interval}', bucket, 'UTC')`, { taskType: q.task_type, hourly: interval === 'hour' });
    return { period: q.period, since, interval, task_type: q.task_type ?? null, points: rows.map((r) => ({ bucket: iso(r.key), ...figures(aggregate([r])) })) };
  }

  async performanceByType(brandId: number, q: DashboardQuery) {
    const hours = DASHBOARD_PERIODS[q.period];
    const since = new Date(Date.now() - hours * 3_600_000).toISOString();
    const rows = await sumRollups(this.em(), brandId, since, 'task_type', { hourly: hours <= 24 });
    return {
      period: q.period,
      since,
      task_types: Object.fromEntries(rows.map((r) => [r.key, figures(aggregate([r]))])),
    };
  }

  /**
   * The public API v1 dashboard of a brand (seed 003). Task counts are live (the mirror, now): total, completed, failed,
   * and pending = waiting, running or paused (cancelled tasks count in the total only); completion_rate = completed /
   * total. average_duration is the mean measured execution time, in seconds, of every finished task that ran an activity
   * (the daily rollups, all time).
   */
  async v1Summary(brandId: number) {
    const em = this.em();
    const [counts, rollups] = await Promise.all([taskStatusCounts(em, brandId), sumRollups(em, brandId, new Date(0).toISOString(), `'all'`)]);
    const n = (status: string) => counts[status] ?? 0;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const measured = aggregate(rollups);
    return {
      total_tasks: total,
      completed_tasks: n('completed'),
      failed_tasks: n('failed'),
      pending_tasks: n('pending') + n('running') + n('paused'),
      completion_rate: total ? round(n('completed') / total, 4) : 0,
      average_duration: measured.tasks ? round(measured.exec_ms_sum / measured.tasks / 1000, 3) : 0,
    };
  }

  /**
   * One value per UTC day over the last `days` days (today included, oldest first), from the daily rollups of the tasks
   * that finished that day after running an activity: error_rate = failed / finished, completion_rate = completed /
   * finished (as the dashboard's completed / total; a task cancelled while running is in neither numerator, so the two
   * do not add up to 1 on a day with cancellations), avg_duration = mean measured execution time in seconds.
   * A day without finished tasks has `value: null` and `tasks: 0`.
   */
  async v1DailyTrend(brandId: number, days: number, metric: V1TrendMetric) {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const first = today - (days - 1) * DAY_MS;
    const rows = await sumRollups(this.em(), brandId, new Date(first).toISOString(), `to_char(date_trunc('day', bucket, 'UTC') at time zone 'UTC', 'YYYY-MM-DD')`);
    const byDay = new Map(rows.map((r) => [String(r.key), r]));
    const series = Array.from({ length: days }, (_, i) => {
      const date = new Date(first + i * DAY_MS).toISOString().slice(0, 10);
      const r = byDay.get(date);
      const tasks = r?.tasks ?? 0;
      let value: number | null = null;
      if (r && tasks > 0) {
        if (metric === 'error_rate') value = round(r.failed / tasks, 4);
        else if (metric === 'completion_rate') value = round((tasks - r.failed - r.cancelled) / tasks, 4);
        else value = round(r.exec_ms_sum / tasks / 1000, 3);
      }
      return { date, value, tasks };
    });
    return { metric, days, unit: metric === 'avg_duration' ? ('seconds' as const) : ('ratio' as const), series };
  }

  /** The brand's tasks with what was measured of them, newest first, streamed in keyset batches (see streamTaskAnalytics). */
  exportRows(brandId: number, filter: TaskAnalyticsFilter): AsyncGenerator<TaskAnalyticsRow> {
    return streamTaskAnalytics(this.em(), brandId, filter, EXPORT_BATCH_SIZE);
  }

  private async audit(actor: Actor, action: string, id: number, details: Record<string, unknown>): Promise<void> {
    await insertAudit(this.em(), {
      ...auditActor(actor),
      action,
      targetType: 'task_metrics',
      targetId: String(id),
      details,
    });
  }
}

