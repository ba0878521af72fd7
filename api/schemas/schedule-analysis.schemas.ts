import { z } from 'zod';
import { bool, choices, int } from './tasks.schemas';

/**
 * Queries and bodies of the schedule analysis routes (`stats/`, `performance-analysis/`, `optimize-schedules/` under
 * /tasks/scheduled/periodic-tasks/). Unknown fields are refused, never silently dropped.
 */

export const SCHEDULE_KINDS = ['periodic', 'cron_job'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** The windows run figures are computed over (by nominal fire time, `tasks.scheduled_for`). */
export const ANALYSIS_PERIODS = { last_24_hours: 24, last_7_days: 7 * 24, last_30_days: 30 * 24 } as const;
export type AnalysisPeriod = keyof typeof ANALYSIS_PERIODS;
const PERIOD_NAMES = Object.keys(ANALYSIS_PERIODS) as [AnalysisPeriod, ...AnalysisPeriod[]];

const kind = z.enum(SCHEDULE_KINDS, { error: choices(SCHEDULE_KINDS) });
const period = z.enum(PERIOD_NAMES, { error: choices(PERIOD_NAMES) });

/** `?kind=` alone (the query of `POST optimize-schedules/`). */
export const kindQuery = z.object({ kind: kind.optional() }).strict();

/** GET stats/ */
export const statsQuery = z.object({ kind: kind.optional(), period: period.default('last_7_days') }).strict();
export type StatsQuery = z.infer<typeof statsQuery>;

/** `ordering` keys of performance-analysis/ (a leading `-` for descending; several separated by commas). */
export const PERFORMANCE_ORDERING = ['failure_rate', 'avg_duration_ms', 'p95_duration_ms', 'drift_p95_ms', 'runs', 'name'] as const;
export type PerformanceOrderingKey = (typeof PERFORMANCE_ORDERING)[number];

const ordering = z
  .string()
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().refine((f) => (PERFORMANCE_ORDERING as readonly string[]).includes(f.replace(/^-/, '')), {
          error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${PERFORMANCE_ORDERING.join(', ')}`,
        }),
      )
      .min(1)
      .max(4),
  );

/** GET performance-analysis/ */
export const performanceQuery = z
  .object({
    kind: kind.optional(),
    task_type: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(z.array(z.string().max(64)).min(1))
      .optional(),
    is_active: bool.optional(),
    period: period.default('last_7_days'),
    ordering: ordering.optional(),
    page: int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Must be at most 1000000')).default(1),
    page_size: int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional(),
  })
  .strict();
export type PerformanceQuery = z.infer<typeof performanceQuery>;

export const OPTIMIZE_STRATEGIES = ['auto', 'offset', 'jitter'] as const;
export type OptimizeStrategy = (typeof OPTIMIZE_STRATEGIES)[number];

/** POST optimize-schedules/ (a dry run unless `dry_run` is false). */
export const optimizeBody = z
  .object({
    dry_run: z.boolean().default(true),
    horizon_hours: z.number().int().min(1).max(168).default(24),
    min_group_size: z.number().int().min(2).max(1000).default(2),
    strategy: z.enum(OPTIMIZE_STRATEGIES, { error: choices(OPTIMIZE_STRATEGIES) }).default('auto'),
    /** Only these schedules may be moved (the analysis still sees every active schedule of the brand). */
    ids: z.array(z.number().int().min(1).max(2_147_483_647)).min(1).max(500).optional(),
  })
  .strict();
export type OptimizeBody = z.infer<typeof optimizeBody>;
