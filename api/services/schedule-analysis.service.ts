import type { MikroORM } from '@mikro-orm/postgresql';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import { findPeriodicTask } from '../../db/repositories/periodic-task.repository';
import {
  AnalysisFilter,
  expansionRows,
  missedLastRun,
  overdueCounts,
  PERFORMANCE_ORDER_COLUMNS,
  runWindowCounts,
  scheduleCounts,
  schedulePerformance,
  type ExpansionRow,
  type PerformanceRow,
  type RunWindowCounts,
  type ScheduleKindFilter,
} from '../../db/repositories/schedule-analysis.repository';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  ANALYSIS_PERIODS,
  type AnalysisPeriod,
  type OptimizeBody,
  type PerformanceOrderingKey,
  type PerformanceQuery,
  type StatsQuery,
} from '../schemas/schedule-analysis.schemas';
import type { ScheduleGateway, ScheduleSnapshot } from '../temporal/schedules';
import { formatInZone, nextRuns, normalizeCron, type NormalizedCron } from './cron.service';
import { draftOf, normalizeCronStrict, type PeriodicTaskService } from './periodic-task.service';
import type { Actor } from './task.service';

const HOUR_MS = 3_600_000;
/** Upcoming runs counted per schedule at most (stats): an every-second schedule reports a lower bound. */
const UPCOMING_CAP = 1000;
/** Fire times the optimiser may expand in one request, over every schedule. */
const OPTIMIZE_BUDGET = 200_000;
/** Schedules firing more often than this are left out of the optimiser: they coincide with everything. */
const MIN_OPTIMIZABLE_INTERVAL_MS = 60_000;
/** Largest jitter the optimiser proposes. */
const MAX_JITTER_SECONDS = 300;
/** Describe calls in flight at once (performance analysis). */
const DESCRIBE_CONCURRENCY = 8;
/** Collision instants listed in an optimiser answer (all are counted). */
const MAX_COLLISIONS_LISTED = 100;

export interface Finding {
  code: 'overlap' | 'overlap_skipped' | 'failure_rate' | 'missed' | 'late_start' | 'no_runs';
  severity: 'info' | 'warning' | 'critical';
  message: string;
  evidence: Record<string, number | string | null>;
}

export interface Proposal {
  id: number;
  kind: ExpansionRow['kind'];
  name: string;
  change: 'offset' | 'jitter';
  current: { cron_expression: string; jitter_seconds: number };
  proposed: { cron_expression: string; jitter_seconds: number };
  /** How far the fire times move (offset), or the middle of the jitter window (jitter), in seconds. */
  shift_seconds: number;
  reason: string;
}

/**
 * task_scheduling (seed 000) analysis routes: `stats/` (counts, run figures, upcoming runs), `performance-analysis/`
 * (durations, failure rate, drift and Temporal's own counters per schedule, with findings) and `optimize-schedules/`
 * (schedules firing at the same instants, spread by cron offsets or jitter; applied through PeriodicTaskService so
 * Temporal and the mirror change together). Reads the mirror with grouped queries; Temporal only for a page's counters.
 */
export class ScheduleAnalysisService {
  constructor(
    private readonly deps: {
      orm: MikroORM;
      schedules: ScheduleGateway;
      periodic: PeriodicTaskService;
      config: Pick<AppConfig, 'SCHEDULE_LATE_GRACE_SECONDS' | 'PAGE_SIZE_DEFAULT' | 'PAGE_SIZE_MAX'>;
    },
  ) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  // ---- stats/ ----

  async stats(brandId: number, query: StatsQuery) {
    const em = this.em();
    const now = new Date();
    const filter = () => new AnalysisFilter(brandId, query.kind);
    const sinceOf = (p: AnalysisPeriod) => new Date(now.getTime() - ANALYSIS_PERIODS[p] * HOUR_MS);
    const windows = [
      { name: 'period', since: sinceOf(query.period) },
      { name: 'last_24_hours', since: sinceOf('last_24_hours') },
      { name: 'last_7_days', since: sinceOf('last_7_days') },
    ];
    const [counts, runs, overdue, missed, active] = await Promise.all([
      scheduleCounts(em, filter()),
      runWindowCounts(em, filter(), windows),
      overdueCounts(em, filter(), this.deps.config.SCHEDULE_LATE_GRACE_SECONDS),
      missedLastRun(em, filter(), 20),
      expansionRows(em, filter().add('p.is_active')),
    ]);

    const by = (dimension: string) =>
      Object.fromEntries(
        counts
          .filter((c) => c.dimension === dimension)
          .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
          .map((c) => [c.key, c.count]),
      );
    const active_count = counts.find((c) => c.dimension === 'is_active' && c.key === 'true')?.count ?? 0;
    const runFigures = (name: string) => runFiguresOf(runs.find((r) => r.window === name));

    // Upcoming runs: each active schedule's cron expanded in its time zone over the next 24 h.
    const hourEnd = now.getTime() + HOUR_MS;
    const dayEnd = now.getTime() + 24 * HOUR_MS;
    let nextHour = 0;
    let next24 = 0;
    const capped: number[] = [];
    const soon: { id: number; name: string; kind: string; timezone: string; at: number }[] = [];
    for (const row of active) {
      const exp = expandRow(row, now.getTime(), dayEnd, UPCOMING_CAP);
      if (!exp) continue;
      if (exp.capped) capped.push(row.id);
      next24 += exp.times.length;
      nextHour += exp.times.filter((t) => t <= hourEnd).length;
      for (const at of exp.times.slice(0, 10)) soon.push({ id: row.id, name: row.name, kind: row.kind, timezone: row.timezone, at });
    }
    soon.sort((a, b) => a.at - b.at || a.id - b.id);

    const overdueTotal = overdue.missed_run + overdue.overdue_while_paused + overdue.not_started;
    const period = runFigures('period');
    return {
      generated_at: now.toISOString(),
      kind: query.kind ?? null,
      schedules: {
        total: counts.find((c) => c.dimension === 'total')?.count ?? 0,
        active: active_count,
        paused: counts.find((c) => c.dimension === 'is_active' && c.key === 'false')?.count ?? 0,
        by_kind: { periodic: 0, cron_job: 0, ...by('kind') },
        by_task_type: by('task_type'),
        by_timezone: by('timezone'),
        by_overlap_policy: by('overlap_policy'),
      },
      runs: { period: query.period, since: windows[0]!.since.toISOString(), ...period },
      success_rate: period.success_rate,
      recent_runs: { last_24_hours: runFigures('last_24_hours'), last_7_days: runFigures('last_7_days') },
      upcoming: {
        next_hour: nextHour,
        next_24_hours: next24,
        /** Some schedule fires more than UPCOMING_CAP times in 24 h: the counts are lower bounds. */
        lower_bound: capped.length > 0,
        capped_schedules: capped,
        next_firings: soon.slice(0, 10).map((s) => ({
          id: s.id,
          name: s.name,
          kind: s.kind,
          at: new Date(s.at).toISOString(),
          local_time: formatInZone(new Date(s.at), s.timezone),
          timezone: s.timezone,
        })),
      },
      missed_last_run: {
        count: missed.count,
        results: missed.rows.map((r) => ({ id: r.id, kind: r.kind, name: r.name, last_run_at: iso(r.last_run_at), last_task_id: r.last_task_id, is_active: r.is_active })),
      },
      overdue: { count: overdueTotal, ...overdue },
    };
  }

  // ---- performance-analysis/ ----

  async performance(brandId: number, query: PerformanceQuery) {
    const filter = new AnalysisFilter(brandId, query.kind);
    if (query.task_type) filter.in('p.task_type', query.task_type);
    if (query.is_active !== undefined) filter.add('p.is_active = ?', query.is_active);
    const ordering = query.ordering ?? ['-failure_rate'];
    const orderBy = ordering
      .map((f) => `${PERFORMANCE_ORDER_COLUMNS[f.replace(/^-/, '') as PerformanceOrderingKey]} ${f.startsWith('-') ? 'desc' : 'asc'} nulls last`)
      .concat(['id asc'])
      .join(', ');
    const pageSize = Math.min(query.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const now = Date.now();
    const since = new Date(now - ANALYSIS_PERIODS[query.period] * HOUR_MS);
    const { count, rows } = await schedulePerformance(this.em(), filter, since, orderBy, pageSize, (query.page - 1) * pageSize);
    const live = await mapLimit(rows, DESCRIBE_CONCURRENCY, async (row) => {
      try {
        return await this.deps.schedules.describe(row.schedule_id);
      } catch {
        return null; // Temporal unreachable or refusing: the page still answers, with nulls for its counters
      }
    });
    const results = rows.map((row, i) => this.performanceItem(row, live[i] ?? null, since, now));
    return { count, page: query.page, pageSize, period: query.period, since: since.toISOString(), results };
  }

  private performanceItem(row: PerformanceRow, live: ScheduleSnapshot | null, since: Date, now: number) {
    const intervalMs = minIntervalMs(row.cron_expression, row.timezone, new Date(now));
    const ms = (v: number | null) => (v === null || v === undefined ? null : Math.round(Number(v)));
    const figures = {
      runs: row.runs,
      success_count: row.success_count,
      failure_count: row.failure_count,
      missed_count: row.missed_count,
      cancelled_count: row.cancelled_count,
      running_count: row.running_count,
      failure_rate: row.failure_rate === null ? null : Number(row.failure_rate),
      avg_duration_ms: ms(row.avg_duration_ms),
      p50_duration_ms: ms(row.p50_duration_ms),
      p95_duration_ms: ms(row.p95_duration_ms),
      max_duration_ms: ms(row.max_duration_ms),
      drift_avg_ms: ms(row.drift_avg_ms),
      drift_p95_ms: ms(row.drift_p95_ms),
      drift_max_ms: ms(row.drift_max_ms),
      overlaps_skipped: live ? live.numActionsSkippedOverlap : null,
      missed_catchup_window: live ? live.numActionsMissedCatchupWindow : null,
      actions_taken: live ? live.numActionsTaken : null,
    };
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      schedule_id: row.schedule_id,
      task_type: row.task_type,
      cron_expression: row.cron_expression,
      timezone: row.timezone,
      overlap_policy: row.overlap_policy,
      catchup_window_seconds: row.catchup_window_seconds,
      jitter_seconds: row.jitter_seconds,
      is_active: row.is_active,
      last_run_at: iso(row.last_run_at),
      last_run_status: row.last_run_status,
      interval_ms: intervalMs,
      ...figures,
      findings: this.findings(row, figures, intervalMs, since, now),
    };
  }

  /** What the figures say, each with the numbers it rests on. */
  private findings(
    row: PerformanceRow,
    f: {
      runs: number;
      running_count: number;
      failure_count: number;
      missed_count: number;
      failure_rate: number | null;
      p95_duration_ms: number | null;
      drift_p95_ms: number | null;
      drift_max_ms: number | null;
      overlaps_skipped: number | null;
      missed_catchup_window: number | null;
    },
    intervalMs: number | null,
    since: Date,
    now: number,
  ): Finding[] {
    const out: Finding[] = [];
    const skipped = f.overlaps_skipped ?? 0;
    if (f.p95_duration_ms !== null && intervalMs !== null && f.p95_duration_ms > intervalMs) {
      const tail =
        skipped > 0
          ? `: runs overlap and ${skipped} ${skipped === 1 ? 'was' : 'were'} skipped (overlap policy ${row.overlap_policy})`
          : `: runs overlap (overlap policy ${row.overlap_policy})`;
      out.push({
        code: 'overlap',
        severity: 'warning',
        message: `p95 duration ${human(f.p95_duration_ms)} is longer than the ${human(intervalMs)} interval between runs${tail}`,
        evidence: { p95_duration_ms: f.p95_duration_ms, interval_ms: intervalMs, overlaps_skipped: f.overlaps_skipped, overlap_policy: row.overlap_policy },
      });
    } else if (skipped > 0) {
      out.push({
        code: 'overlap_skipped',
        severity: 'info',
        message: `${skipped} firing${skipped === 1 ? ' was' : 's were'} skipped because the previous run was still running (overlap policy ${row.overlap_policy})`,
        evidence: { overlaps_skipped: skipped, p95_duration_ms: f.p95_duration_ms, interval_ms: intervalMs, overlap_policy: row.overlap_policy },
      });
    }
    const finished = f.runs - f.running_count;
    if (f.failure_rate !== null && f.failure_rate >= 10) {
      out.push({
        code: 'failure_rate',
        severity: f.failure_rate >= 50 ? 'critical' : 'warning',
        message: `failure rate ${f.failure_rate} % over ${finished} run${finished === 1 ? '' : 's'}`,
        evidence: { failure_rate: f.failure_rate, failure_count: f.failure_count, missed_count: f.missed_count, finished_runs: finished },
      });
    }
    const missedTemporal = f.missed_catchup_window ?? 0;
    if (f.missed_count > 0 || missedTemporal > 0) {
      const n = Math.max(f.missed_count, missedTemporal);
      out.push({
        code: 'missed',
        severity: 'warning',
        message: `${n} firing${n === 1 ? '' : 's'} missed the catch-up window of ${row.catchup_window_seconds} s (workers down or backlogged)`,
        evidence: { missed_count: f.missed_count, missed_catchup_window: f.missed_catchup_window, catchup_window_seconds: row.catchup_window_seconds },
      });
    }
    // What jitter and the platform's normal pick-up delay (SCHEDULE_LATE_GRACE_SECONDS) explain is not late.
    const graceMs = this.deps.config.SCHEDULE_LATE_GRACE_SECONDS * 1000;
    const allowedDriftMs = row.jitter_seconds * 1000 + graceMs;
    if (f.drift_p95_ms !== null && f.drift_p95_ms > allowedDriftMs) {
      out.push({
        code: 'late_start',
        severity: f.drift_max_ms !== null && f.drift_max_ms > allowedDriftMs + row.catchup_window_seconds * 1000 ? 'critical' : 'warning',
        message:
          `starts ${human(f.drift_p95_ms)} late at p95` +
          (row.jitter_seconds ? ` (jitter accounts for up to ${row.jitter_seconds} s, the normal pick-up delay for ${human(graceMs)})` : ` (the normal pick-up delay is ${human(graceMs)})`),
        evidence: { drift_p95_ms: f.drift_p95_ms, drift_max_ms: f.drift_max_ms, jitter_seconds: row.jitter_seconds, late_grace_ms: graceMs },
      });
    }
    if (row.is_active && f.runs === 0) {
      const from = new Date(Math.max(since.getTime(), new Date(row.created_at).getTime()));
      const due = safeNextRuns(row.cron_expression, row.timezone, 1, from)[0];
      if (due !== undefined && due < now - allowedDriftMs) {
        out.push({
          code: 'no_runs',
          severity: 'warning',
          message: `no run since ${from.toISOString()} although one was due at ${new Date(due).toISOString()}`,
          evidence: { due_at: new Date(due).toISOString(), since: from.toISOString() },
        });
      }
    }
    return out;
  }

  // ---- optimize-schedules/ ----

  async optimize(actor: Actor, kind: ScheduleKindFilter, body: OptimizeBody) {
    const em = this.em();
    const now = Date.now();
    const end = now + body.horizon_hours * HOUR_MS;
    const all = await expansionRows(em, new AnalysisFilter(actor.brandId, kind));
    if (body.ids) {
      const known = new Set(all.map((r) => r.id));
      const unknown = [...new Set(body.ids)].filter((id) => !known.has(id));
      if (unknown.length) throw AppError.validation({ ids: [`Unknown schedule id(s) in this brand: ${unknown.join(', ')}`] });
    }
    const movable = (id: number) => !body.ids || body.ids.includes(id);

    // 1. Expand every active schedule over the horizon (nominal times shifted by the middle of its current jitter).
    const skipped: { id: number; name: string; reason: string }[] = [];
    const plans: Plan[] = [];
    let budget = 0;
    for (const row of all) {
      if (!row.is_active) {
        if (body.ids?.includes(row.id)) skipped.push({ id: row.id, name: row.name, reason: 'Paused: it does not fire' });
        continue;
      }
      let cron: NormalizedCron;
      try {
        cron = normalizeCron(row.cron_expression);
      } catch {
        skipped.push({ id: row.id, name: row.name, reason: 'The stored cron expression cannot be read' });
        continue;
      }
      const interval = minIntervalMs(row.cron_expression, row.timezone, new Date(now));
      if (interval === null) continue; // never fires again
      if (interval < MIN_OPTIMIZABLE_INTERVAL_MS) {
        skipped.push({ id: row.id, name: row.name, reason: `Fires every ${human(interval)}: it coincides with every other schedule, spreading it is meaningless` });
        continue;
      }
      budget += Math.floor((end - now) / interval) + 2;
      if (budget > OPTIMIZE_BUDGET) {
        throw AppError.validation(
          { horizon_hours: [`Too many fire times to compare over ${body.horizon_hours} h (more than ${OPTIMIZE_BUDGET}): use a shorter horizon or fewer ids`] },
          'Too many fire times to compare',
        );
      }
      const exp = expandRow(row, now, end, OPTIMIZE_BUDGET);
      if (!exp || exp.times.length === 0) continue;
      const jitterShift = Math.floor(row.jitter_seconds / 2) * 1000;
      plans.push({ row, cron, intervalMs: interval, nominal: exp.times, times: exp.times.map((t) => t + jitterShift) });
    }

    // 2. Group by instant (to the second).
    const occupancy = new Map<number, number[]>();
    for (const p of plans) for (const t of p.times) push(occupancy, Math.floor(t / 1000), p.row.id);
    const collisionSeconds = [...occupancy.entries()].filter(([, ids]) => ids.length >= body.min_group_size).sort((a, b) => a[0] - b[0]);
    const peakBefore = peakOf(plans.map((p) => p.times));
    const byId = new Map(plans.map((p) => [p.row.id, p]));

    // 3. Per distinct group (first collision first): keep the lowest id, move the others that may be moved.
    const counts = new Map<number, number>();
    for (const [sec, ids] of occupancy) counts.set(sec, ids.length);
    const groups = new Map<string, { ids: number[]; firstAt: number; times: number }>();
    for (const [sec, ids] of collisionSeconds) {
      const sorted = [...new Set(ids)].sort((a, b) => a - b);
      const key = sorted.join(',');
      const g = groups.get(key);
      if (g) g.times += 1;
      else groups.set(key, { ids: sorted, firstAt: sec * 1000, times: 1 });
    }
    const proposals: Proposal[] = [];
    const unresolved: { id: number; name: string; reason: string }[] = [];
    const decided = new Set<number>();
    for (const group of groups.values()) {
      const [keep, ...others] = group.ids;
      for (const id of others) {
        if (decided.has(id) || !movable(id)) continue;
        decided.add(id);
        const plan = byId.get(id)!;
        const context = `Fires at ${new Date(group.firstAt).toISOString()} with ${group.ids.length - 1} other schedule(s) (${group.ids
          .filter((x) => x !== id)
          .map((x) => `#${x}`)
          .join(', ')}; #${keep} is kept), ${group.times} time(s) in ${body.horizon_hours} h`;
        const result = chooseMove(plan, counts, body.strategy);
        if ('unresolved' in result) {
          unresolved.push({ id, name: plan.row.name, reason: `${context}: ${result.unresolved}` });
          continue;
        }
        for (const t of plan.times) decrement(counts, Math.floor(t / 1000));
        plan.times = plan.times.map((t) => t + result.deltaMs);
        for (const t of plan.times) counts.set(Math.floor(t / 1000), (counts.get(Math.floor(t / 1000)) ?? 0) + 1);
        plan.proposal = { ...result.proposal, reason: `${context}: ${result.proposal.reason}` };
        proposals.push(plan.proposal);
      }
    }

    // 4. Peak after: the proposed expressions expanded again (exact, DST included), jitter at the middle of its window.
    const after = plans.map((p) => {
      if (!p.proposal) return p.times;
      const proposed = { ...p.row, cron_expression: p.proposal.proposed.cron_expression };
      const exp = expandRow(proposed, now, end, OPTIMIZE_BUDGET);
      const shift = Math.floor(p.proposal.proposed.jitter_seconds / 2) * 1000;
      return (exp?.times ?? p.nominal).map((t) => t + shift);
    });
    const peakAfter = peakOf(after);

    const collisions = collisionSeconds.slice(0, MAX_COLLISIONS_LISTED).map(([sec, ids]) => ({
      at: new Date(sec * 1000).toISOString(),
      size: ids.length,
      schedules: [...new Set(ids)]
        .sort((a, b) => a - b)
        .map((id) => {
          const r = byId.get(id)!.row;
          return { id, kind: r.kind, name: r.name, cron_expression: r.cron_expression, timezone: r.timezone };
        }),
    }));

    const applied: Record<string, unknown>[] = [];
    if (!body.dry_run && proposals.length) {
      for (const p of proposals) applied.push(await this.apply(actor, p));
      await insertAudit(em, {
        ...auditActor(actor),
        action: 'periodic_task.optimize',
        targetType: 'brand',
        targetId: String(actor.brandId),
        details: {
          kind: kind ?? null,
          horizon_hours: body.horizon_hours,
          min_group_size: body.min_group_size,
          strategy: body.strategy,
          ids: body.ids ?? null,
          peak_before: peakBefore,
          peak_after: peakAfter,
          collision_count: collisionSeconds.length,
          proposals,
          applied,
        },
      });
    }
    return {
      dry_run: body.dry_run,
      horizon_hours: body.horizon_hours,
      min_group_size: body.min_group_size,
      strategy: body.strategy,
      analysed: plans.length,
      collision_count: collisionSeconds.length,
      collisions,
      proposals,
      unresolved,
      skipped,
      peak_before: peakBefore,
      peak_after: peakAfter,
      applied,
    };
  }

  /**
   * One proposal through the schedules service (Temporal Schedule first, then the row, with its `update` audit row).
   * Both kinds go through updateFromDraft with the stored definition: only the expression and the jitter change
   * (a PATCH body would rebuild the template and drop the base-task link).
   */
  private async apply(actor: Actor, p: Proposal): Promise<Record<string, unknown>> {
    try {
      const row = await findPeriodicTask(this.em(), actor.brandId, String(p.id), p.kind);
      if (!row) throw new AppError(ErrorCode.SCHEDULE_NOT_FOUND, 404, 'Schedule not found');
      normalizeCronStrict(p.proposed.cron_expression);
      const view = await this.deps.periodic.updateFromDraft(actor, row, {
        ...draftOf(row),
        cronExpression: p.proposed.cron_expression,
        jitterSeconds: p.proposed.jitter_seconds,
      });
      return {
        id: p.id,
        applied: true,
        cron_expression: view.row.cron_expression,
        jitter_seconds: view.row.jitter_seconds,
        next_run_at: iso(view.row.next_run_at),
      };
    } catch (err) {
      const e = err as AppError;
      return { id: p.id, applied: false, error_code: e.code ?? ErrorCode.INTERNAL_ERROR, detail: e.message };
    }
  }
}

// ---- the optimiser's moves ----

interface Plan {
  row: ExpansionRow;
  cron: NormalizedCron;
  intervalMs: number;
  /** Nominal fire times (ms) over the horizon. */
  nominal: number[];
  /** Effective fire times (nominal + middle of the jitter window), moved as proposals are made. */
  times: number[];
  proposal?: Proposal;
}

type Move = { proposal: Omit<Proposal, 'reason'> & { reason: string }; deltaMs: number } | { unresolved: string };

/**
 * The first move that makes the schedule's fire times coincide with nothing else (or, failing that, the one with the
 * fewest coincidences). Offsets: the expression's minute (5 fields) or second (6 fields), when it is a plain number,
 * moved within the same hour (minute) or minute (second), 5 units at a time first. Jitter: up to 300 s (and half the
 * interval), 60 s steps first; a jittered firing is counted at the middle of its window.
 */
function chooseMove(plan: Plan, counts: Map<number, number>, strategy: OptimizeBody['strategy']): Move {
  const { row, cron } = plan;
  const parts = cron.normalized.split(' ');
  const fieldIndex = 0; // the first field: second (6 fields) or minute (5 fields)
  const unit = cron.fields === 6 ? 'second' : 'minute';
  const unitMs = cron.fields === 6 ? 1000 : 60_000;
  const field = parts[fieldIndex]!;
  const shiftable = /^\d+$/.test(field);
  const useOffset = strategy === 'offset' || (strategy === 'auto' && shiftable);
  if (useOffset && !shiftable) {
    return { unresolved: `its ${unit} field "${field}" is not a plain number, so it cannot be shifted safely (use strategy auto or jitter)` };
  }
  const own = plan.times.map((t) => Math.floor(t / 1000));
  const ownSet = new Set(own);
  // How many other schedules fire in that second (this schedule's own firings left out: they move).
  const others = (sec: number) => (counts.get(sec) ?? 0) - (ownSet.has(sec) ? 1 : 0);
  const cost = (deltaMs: number): [number, number] => {
    let max = 0;
    let sum = 0;
    for (const t of plan.times) {
      const n = others(Math.floor((t + deltaMs) / 1000));
      max = Math.max(max, n);
      sum += n;
    }
    return [max, sum];
  };
  const currentMax = own.reduce((m, sec) => Math.max(m, others(sec)), 0);

  let best: { deltaMs: number; value: number; cost: [number, number] } | null = null;
  const candidates: { value: number; deltaMs: number }[] = [];
  if (useOffset) {
    const v = Number(field);
    const order = [...range(1, 12).map((k) => v + 5 * k), ...range(1, 12).map((k) => v - 5 * k)];
    for (let d = 1; d < 60; d++) order.push(v + d, v - d);
    const seen = new Set<number>();
    for (const c of order) {
      if (c < 0 || c > 59 || c === v || seen.has(c)) continue;
      seen.add(c);
      candidates.push({ value: c, deltaMs: (c - v) * unitMs });
    }
  } else {
    const maxJitter = Math.min(MAX_JITTER_SECONDS, Math.floor(plan.intervalMs / 2000));
    const currentShift = Math.floor(row.jitter_seconds / 2) * 1000;
    const order = [...range(1, 6).map((k) => 60 * k), ...range(0, 5).map((k) => 30 + 60 * k)];
    for (let j = 10; j <= maxJitter; j += 10) order.push(j);
    const seen = new Set<number>();
    for (const j of order) {
      if (j > maxJitter || j === row.jitter_seconds || seen.has(j)) continue;
      seen.add(j);
      candidates.push({ value: j, deltaMs: Math.floor(j / 2) * 1000 - currentShift });
    }
  }
  for (const c of candidates) {
    const k = cost(c.deltaMs);
    if (!best || k[0] < best.cost[0] || (k[0] === best.cost[0] && k[1] < best.cost[1])) best = { deltaMs: c.deltaMs, value: c.value, cost: k };
    if (k[0] === 0) break;
  }
  if (!best || best.cost[0] >= currentMax) {
    return { unresolved: useOffset ? `no free ${unit} in the same ${cron.fields === 6 ? 'minute' : 'hour'}` : 'no jitter up to the limit avoids the collision' };
  }
  const current = { cron_expression: row.cron_expression, jitter_seconds: row.jitter_seconds };
  if (useOffset) {
    const moved = [...parts];
    moved[fieldIndex] = String(best.value);
    const expression = moved.join(' ');
    return {
      deltaMs: best.deltaMs,
      proposal: {
        id: row.id,
        kind: row.kind,
        name: row.name,
        change: 'offset',
        current,
        proposed: { cron_expression: expression, jitter_seconds: row.jitter_seconds },
        shift_seconds: best.deltaMs / 1000,
        reason: `${unit} ${field} → ${best.value} (${human(Math.abs(best.deltaMs))} ${best.deltaMs > 0 ? 'later' : 'earlier'})`,
      },
    };
  }
  return {
    deltaMs: best.deltaMs,
    proposal: {
      id: row.id,
      kind: row.kind,
      name: row.name,
      change: 'jitter',
      current,
      proposed: { cron_expression: row.cron_expression, jitter_seconds: best.value },
      shift_seconds: Math.floor(best.value / 2),
      reason: shiftable
        ? `a jitter of up to ${best.value} s spreads its start`
        : `its ${unit} field "${field}" cannot be shifted safely: a jitter of up to ${best.value} s spreads its start`,
    },
  };
}

// ---- helpers ----

/** Fire times (ms) of a schedule in (from, to], within its start/end dates; at most `cap` (then `capped`). */
function expandRow(
  row: Pick<ExpansionRow, 'cron_expression' | 'timezone' | 'start_at' | 'end_at'>,
  from: number,
  to: number,
  cap: number,
): { times: number[]; capped: boolean } | null {
  let normalized: string;
  try {
    normalized = normalizeCron(row.cron_expression).normalized;
  } catch {
    return null;
  }
  const startAt = row.start_at ? Date.parse(new Date(row.start_at).toISOString()) : null;
  const endAt = row.end_at ? Date.parse(new Date(row.end_at).toISOString()) : null;
  const stop = Math.min(to, endAt ?? Infinity);
  let cursor = Math.max(from, startAt !== null ? startAt - 1 : from);
  const times: number[] = [];
  // First a small sample to estimate how many runs the window holds, then in batches until past the window.
  let batch = 8;
  while (times.length < cap && cursor < stop) {
    const runs = safeNextRuns(normalized, row.timezone, Math.min(batch, cap - times.length), new Date(cursor));
    if (!runs.length) break;
    for (const t of runs) {
      if (t > stop) return { times, capped: false };
      times.push(t);
    }
    cursor = runs[runs.length - 1]!;
    if (runs.length >= 2) {
      const gap = Math.max(1000, (runs[runs.length - 1]! - runs[0]!) / (runs.length - 1));
      batch = Math.max(8, Math.ceil((stop - cursor) / gap) + 2);
    }
  }
  return { times, capped: times.length >= cap && cursor < stop };
}

/** The shortest interval between the next runs (ms), or null when it fires less than twice from now on. */
function minIntervalMs(expression: string, timezone: string, from: Date): number | null {
  const runs = safeNextRuns(expression, timezone, 8, from);
  let min: number | null = null;
  for (let i = 1; i < runs.length; i++) min = Math.min(min ?? Infinity, runs[i]! - runs[i - 1]!);
  return min;
}

function safeNextRuns(expression: string, timezone: string, count: number, from: Date): number[] {
  try {
    return nextRuns(normalizeCron(expression).normalized, timezone, count, from).map((s) => Date.parse(s));
  } catch {
    return [];
  }
}

/** The most schedules firing in the same second. */
function peakOf(series: number[][]): number {
  const seen = new Map<number, number>();
  let peak = 0;
  for (const times of series) {
    for (const sec of new Set(times.map((t) => Math.floor(t / 1000)))) {
      const n = (seen.get(sec) ?? 0) + 1;
      seen.set(sec, n);
      peak = Math.max(peak, n);
    }
  }
  return peak;
}

function runFiguresOf(r: RunWindowCounts | undefined) {
  const c = r ?? { total: 0, success: 0, failed: 0, missed: 0, cancelled: 0, running: 0 };
  const finished = c.total - c.running;
  return {
    total: c.total,
    success: c.success,
    failed: c.failed,
    missed: c.missed,
    cancelled: c.cancelled,
    running: c.running,
    success_rate: finished > 0 ? Math.round((c.success / finished) * 1000) / 10 : null,
  };
}

/** "850 ms", "2.5 s", "15 min", "24 h". */
export function human(ms: number): string {
  const trim = (n: number) => String(Math.round(n * 10) / 10);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trim(ms / 1000)} s`;
  if (ms < HOUR_MS) return `${trim(ms / 60_000)} min`;
  return `${trim(ms / HOUR_MS)} h`;
}

function iso(d: Date | string | null): string | null {
  return d ? new Date(d).toISOString() : null;
}

function push(map: Map<number, number[]>, key: number, id: number): void {
  const list = map.get(key);
  if (list) list.push(id);
  else map.set(key, [id]);
}

function decrement(map: Map<number, number>, key: number): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
