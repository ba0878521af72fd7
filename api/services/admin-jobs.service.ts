import type { MikroORM } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  AdminJobWhere,
  countAdminJobs,
  findAdminJob,
  listAdminJobs,
  streamAdminJobs,
  type AdminJobRow,
  type KeysetPosition,
} from '../../db/repositories/admin-jobs.repository';
import { hourOf, liveStatusCounts, recentAuditOf, sumRollupsByTypeAndBrand } from '../../db/repositories/admin-stats.repository';
import { softDeleteTask } from '../../db/repositories/task-query.repository';
import { sumRollups, type RollupRow } from '../../db/repositories/task-metrics.repository';
import { addHistograms, emptyHistogram, histogramQuantile } from '../../activities/metrics/duration-histogram';
import { TERMINAL_STATUSES, type TaskStatus } from '../../workflows/contracts/task-types';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  STATS_PERIODS,
  type AdminDeleteBody,
  type AdminJobFilter,
  type AdminJobOrdering,
  type AdminJobsQuery,
  type AdminRetryBody,
  type AdminStatsQuery,
  type AdminTrendsQuery,
} from '../schemas/admin.schemas';
import type { TaskWorkflowGateway } from '../temporal/task-workflows';
import { ClosedRollupsCache, LATE_WRITE_MARGIN_MS } from './admin-stats.cache';
import type { Actor, TaskService } from './task.service';

/** A cursor names its ordering, its direction and the row it continues from; opaque to clients (base64url JSON). */
interface CursorPayload {
  o: AdminJobOrdering;
  d: 'next' | 'previous';
  k: string | null;
  i: number;
}

export function encodeCursor(c: CursorPayload): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string, ordering: AdminJobOrdering): CursorPayload {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as CursorPayload;
    if (
      c &&
      (c.d === 'next' || c.d === 'previous') &&
      Number.isInteger(c.i) &&
      (c.k === null || (typeof c.k === 'string' && c.k.length <= 64)) &&
      c.o === ordering
    ) {
      return c;
    }
  } catch {
    /* answered below */
  }
  throw AppError.validation({ cursor: ['Invalid cursor (it belongs to another ordering or was altered)'] }, 'Invalid cursor');
}

export interface AdminJobPage {
  rows: AdminJobRow[];
  next: string | null;
  previous: string | null;
  count: number | null;
}

/** The part of a retry/delete the admin API needs to know about whoever acts. */
export interface AdminCaller {
  userId: number;
  username: string;
  role: string;
  requestId: string | null;
  ip: string | null;
}

/**
 * The admin back office over every brand's jobs (seed 002): listing with keyset pagination, failures with their
 * Temporal stack traces, retry and delete under the task rules, statistics from the rollups.
 */
export class AdminJobService {
  constructor(
    private readonly deps: {
      orm: MikroORM;
      tasks: TaskWorkflowGateway;
      taskService: TaskService;
      config: AppConfig;
    },
  ) {
    this.closedStats = new ClosedRollupsCache(deps.config.ADMIN_STATS_CACHE_SECONDS * 1000, (scope, from, until) =>
      sumRollupsByTypeAndBrand(this.em(), scope, from, until),
    );
  }

  /** Stats of every brand add up too many rollup rows to redo on each request: their older hours are cached. */
  private readonly closedStats: ClosedRollupsCache;

  private em() {
    return this.deps.orm.em.fork();
  }

  async list(query: AdminJobsQuery, filter: AdminJobFilter): Promise<AdminJobPage> {
    const where = new AdminJobWhere(filter);
    const cursor = query.cursor ? decodeCursor(query.cursor, query.ordering) : null;
    const direction = cursor?.d ?? 'next';
    const from: KeysetPosition | null = cursor ? { key: cursor.k, id: cursor.i } : null;
    const em = this.em();
    const [{ rows, more }, count] = await Promise.all([
      listAdminJobs(em, where, query.ordering, query.page_size, from, direction),
      query.include_total ? countAdminJobs(this.em(), where) : Promise.resolve(null),
    ]);
    const first = rows[0];
    const last = rows.at(-1);
    // Going forward, a previous page exists when we came from a cursor; going backward, a next page always exists.
    const hasNext = direction === 'next' ? more : true;
    const hasPrevious = direction === 'next' ? cursor !== null : more;
    return {
      rows,
      next: hasNext && last ? encodeCursor({ o: query.ordering, d: 'next', k: last.sort_key, i: last.id }) : null,
      previous: hasPrevious && first ? encodeCursor({ o: query.ordering, d: 'previous', k: first.sort_key, i: first.id }) : null,
      count,
    };
  }

  stream(filter: AdminJobFilter, ordering: AdminJobOrdering, limit?: number): AsyncGenerator<AdminJobRow> {
    return streamAdminJobs(this.em(), new AdminJobWhere(filter), ordering, 1000, limit);
  }

  async get(ref: string): Promise<AdminJobRow> {
    const row = await findAdminJob(this.em(), ref);
    if (!row) throw AppError.taskNotFound();
    return row;
  }

  /** The job with its Temporal execution summary and its recent audit rows. */
  async detail(ref: string) {
    const job = await this.get(ref);
    const [history, audit] = await Promise.all([
      this.deps.tasks.historySummary(job.task_id, job.run_id).catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }),
      recentAuditOf(this.em(), job.task_id, 20),
    ]);
    return { job, history, audit };
  }

  private actorFor(caller: AdminCaller, job: AdminJobRow): Actor {
    return {
      userId: caller.userId,
      username: caller.username,
      brandId: job.brand_id,
      brandName: job.brand_name ?? '',
      requestId: caller.requestId,
      role: caller.role,
      ip: caller.ip,
    };
  }

  /** The task retry rules (retryable status, max_retries), as the admin in the job's brand; audited `admin.job.retry`. */
  async retry(caller: AdminCaller, ref: string, body: AdminRetryBody) {
    const job = await this.get(ref);
    return this.deps.taskService.retry(
      this.actorFor(caller, job),
      job.task_id,
      { reset_progress: body.reset_progress, clear_errors: body.clear_errors, new_priority: body.priority },
      { contextData: body.context_data, auditAction: 'admin.job.retry', reason: body.reason },
    );
  }

  /**
   * Delete (purge) with an explicit confirmation: `confirm` repeats the job's id or task_id. A job still running must
   * be cancelled first, or `force` terminates it in Temporal; then the execution is deleted and the row leaves every
   * list, with its audit row in the same transaction.
   */
  async remove(caller: AdminCaller, ref: string, body: AdminDeleteBody) {
    const job = await this.get(ref);
    const confirm = body.confirm === undefined ? '' : String(body.confirm).trim();
    if (confirm !== job.task_id && confirm !== String(job.id)) {
      throw new AppError(ErrorCode.CONFIRMATION_REQUIRED, 400, `Deleting a job needs "confirm" set to its id (${job.id}) or task_id (${job.task_id})`, {
        task_id: job.task_id,
        id: job.id,
      });
    }
    const terminal = TERMINAL_STATUSES.includes(job.status as TaskStatus);
    if (!terminal && !body.force) {
      throw AppError.invalidTransition(
        `Cannot delete a ${job.status} job; cancel it first or pass force=true to terminate it`,
        job.status,
        TERMINAL_STATUSES,
      );
    }
    let terminated = false;
    if (!terminal) {
      try {
        await this.deps.tasks.terminate(job.task_id, `Deleted by ${caller.username} (admin)${body.reason ? `: ${body.reason}` : ''}`);
        terminated = true;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) && !isNotFound(err)) throw err;
      }
    }
    try {
      await this.deps.tasks.deleteExecution(job.task_id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) && !isNotFound(err)) throw err;
    }
    const deleted = await softDeleteTask(this.em(), {
      taskId: job.task_id,
      actorId: caller.userId,
      actorName: caller.username,
      actorRole: caller.role,
      ip: caller.ip,
      brandId: job.brand_id,
      requestId: caller.requestId,
      action: 'admin.job.delete',
      anyStatus: true,
      snapshot: {
        id: job.id,
        task_type: job.task_type,
        status: job.status,
        retry_count: job.retry_count,
        description: job.description,
        forced: terminated,
        reason: body.reason ?? null,
      },
    });
    if (!deleted) throw AppError.taskNotFound();
    return { message: 'Job deleted', task_id: job.task_id, id: job.id, deleted_at: new Date().toISOString(), terminated };
  }

  async stats(q: AdminStatsQuery) {
    const period = periodOf(q);
    const scope = { brandId: q.brand_id, taskType: q.task_type };
    const key = JSON.stringify([q.since ?? q.period, q.brand_id ?? null, q.task_type ?? null]);
    // Hours that ended a while ago from the cache (exact up to its refresh), the rest of the period read now.
    const closed = await this.closedStats.get(key, scope, hourOf(period.start), hourOf(Date.parse(period.end) - LATE_WRITE_MARGIN_MS));
    const [recent, live] = await Promise.all([
      sumRollupsByTypeAndBrand(this.em(), scope, closed.until, null),
      liveStatusCounts(this.em(), scope),
    ]);
    const rows = [...closed.rows, ...recent];
    const brandNames = new Map(live.brands.map((b) => [b.id, b.name]));
    const total = new Totals();
    const byType = new Map<string, Totals>();
    const byBrand = new Map<number, Totals>();
    for (const r of rows) {
      const [type, brand] = r.key.split('|') as [string, string];
      total.add(r);
      (byType.get(type) ?? byType.set(type, new Totals()).get(type)!).add(r);
      const brandId = Number(brand);
      (byBrand.get(brandId) ?? byBrand.set(brandId, new Totals()).get(brandId)!).add(r);
    }
    return {
      period,
      totals: total.view(period.seconds),
      live: live.counts,
      by_type: [...byType].map(([task_type, t]) => ({ task_type, ...t.view(period.seconds) })).sort((a, b) => b.total - a.total),
      by_brand: [...byBrand]
        .map(([brand_id, t]) => ({ brand_id, brand_name: brandNames.get(brand_id) ?? null, ...t.view(period.seconds) }))
        .sort((a, b) => b.total - a.total),
    };
  }

  async trends(q: AdminTrendsQuery) {
    const period = periodOf(q);
    const bucket = q.bucket ?? (period.seconds <= 48 * 3600 ? 'hour' : 'day');
    const rows = await sumRollups(
      this.em(),
      q.brand_id ?? null,
      period.start,
      `to_char(date_trunc('${bucket}', bucket, 'UTC') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      { taskType: q.task_type, hourly: bucket === 'hour' },
    );
    const byBucket = new Map(rows.map((r) => [r.key, r]));
    // Every bucket of the period, empty ones included, so a chart has no gaps.
    const step = bucket === 'hour' ? 3_600_000 : 86_400_000;
    const series = [];
    for (let t = Math.floor(Date.parse(period.start) / step) * step; t <= Date.parse(period.end); t += step) {
      const key = new Date(t).toISOString().replace('.000Z', 'Z');
      const totals = new Totals();
      const row = byBucket.get(key);
      if (row) totals.add(row);
      const { throughput_per_hour: _ignored, ...view } = totals.view(step / 1000);
      series.push({ bucket_start: key, ...view });
    }
    return { bucket, period, series };
  }
}

/**
 * Sums of rollup rows (histograms added) and their derived view. `total` is every finished job measured; a job cancelled
 * while running is `cancelled`, neither completed nor failed, and stays out of `failure_rate` = failed / (completed +
 * failed), like the failure-rate alerts. Durations and throughput keep it: it took worker time.
 */
class Totals {
  total = 0;
  failed = 0;
  cancelled = 0;
  execMs = 0;
  histogram = emptyHistogram();

  add(r: RollupRow): void {
    this.total += r.tasks;
    this.failed += r.failed;
    this.cancelled += r.cancelled;
    this.execMs += r.exec_ms_sum;
    for (const h of r.durations) addHistograms(this.histogram, h);
  }

  view(seconds: number) {
    const completed = this.total - this.failed - this.cancelled;
    return {
      total: this.total,
      completed,
      failed: this.failed,
      cancelled: this.cancelled,
      failure_rate: completed + this.failed ? round((100 * this.failed) / (completed + this.failed)) : 0,
      avg_duration_ms: this.total ? round(this.execMs / this.total) : null,
      p95_duration_ms: histogramQuantile(this.histogram, 0.95),
      throughput_per_hour: round(this.total / (seconds / 3600)),
    };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function periodOf(q: AdminStatsQuery): { name: string; start: string; end: string; seconds: number } {
  const end = new Date();
  if (q.since) {
    const start = new Date(q.since);
    if (start.getTime() >= end.getTime()) throw AppError.validation({ since: ['Must be in the past'] });
    return { name: 'custom', start: start.toISOString(), end: end.toISOString(), seconds: Math.round((end.getTime() - start.getTime()) / 1000) };
  }
  const seconds = STATS_PERIODS[q.period];
  return { name: q.period, start: new Date(end.getTime() - seconds * 1000).toISOString(), end: end.toISOString(), seconds };
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 5; // gRPC NOT_FOUND
}
