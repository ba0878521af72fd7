import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES } from '../../workflows/contracts/task-types';
import { choices, contextData, isoInstant, priority } from './tasks.schemas';

/**
 * The admin API's job filter, in one canonical JSON shape: `GET /admin/jobs` (and `failed/`, `export/`) parse it
 * from the query string, bulk actions take it as JSON and bind their confirmation token to it.
 * A job is any task: a plain task, a persistent job's task, or a scheduled run (a firing of a schedule).
 */
export const JOB_KINDS = ['task', 'persistent_job', 'scheduled_run'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const text = z.string().trim().min(1).max(200);
const typeName = z.string().trim().min(1).max(64);
const nonNegativeSeconds = z.number({ error: 'Must be a number of seconds' }).min(0).max(10 * 365 * 86_400);

export const adminJobFilter = z
  .object({
    /** Free text over task_id, type and description (trigram index). */
    search: text.optional(),
    /** Containment in the job's input: `{"url": "https://x"}` matches jobs whose context_data holds that pair. */
    data: contextData.optional(),
    status: z.array(z.enum(TASK_STATUSES, { error: choices(TASK_STATUSES) })).min(1).optional(),
    task_type: z.array(typeName).min(1).optional(),
    kind: z.array(z.enum(JOB_KINDS, { error: choices(JOB_KINDS) })).min(1).optional(),
    priority: z.array(priority).min(1).optional(),
    brand_id: z.array(z.number().int().min(1).max(2_147_483_647)).min(1).optional(),
    /** The creator: a user id or a username. */
    user: text.optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
    /** Duration in seconds: completed_at - started_at for a finished job, so far for a running one. */
    duration_min: nonNegativeSeconds.optional(),
    duration_max: nonNegativeSeconds.optional(),
    /** Free text in the error message. */
    error: text.optional(),
    schedule_id: typeName.optional(),
  })
  .strict();
export type AdminJobFilter = z.infer<typeof adminJobFilter>;

const csv = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean);
const csvOf = <T extends z.ZodType<unknown, string>>(item: T) => z.string().transform(csv).pipe(z.array(item).min(1));
const numberText = z.coerce.number({ error: 'Must be a number' }).refine(Number.isFinite, 'Must be a number');
const intText = z.coerce.number({ error: 'Must be an integer' }).int('Must be an integer').min(1).max(2_147_483_647);

/** `data` in a query string: a JSON object, or `key:value` (value read as JSON when it parses, else as a string). */
const dataText = z.string().transform((s, ctx) => {
  const raw = s.trim();
  if (raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    ctx.addIssue({ code: 'custom', message: 'Must be a JSON object or key:value' });
    return z.NEVER;
  }
  const at = raw.indexOf(':');
  if (at <= 0) {
    ctx.addIssue({ code: 'custom', message: 'Must be a JSON object or key:value' });
    return z.NEVER;
  }
  const value = raw.slice(at + 1);
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    /* a plain string */
  }
  return { [raw.slice(0, at)]: parsed };
});

/** The filter's fields as query-string parameters (comma lists for the multi-valued ones). */
const filterQueryFields = {
  search: text.optional(),
  data: dataText.optional(),
  status: csvOf(z.enum(TASK_STATUSES, { error: (iss) => `Unknown value "${String(iss.input)}". ${choices(TASK_STATUSES)}` })).optional(),
  task_type: csvOf(typeName).optional(),
  kind: csvOf(z.enum(JOB_KINDS, { error: (iss) => `Unknown value "${String(iss.input)}". ${choices(JOB_KINDS)}` })).optional(),
  priority: csvOf(z.enum(TASK_PRIORITIES, { error: (iss) => `Unknown value "${String(iss.input)}". ${choices(TASK_PRIORITIES)}` })).optional(),
  brand_id: csvOf(z.string().regex(/^\d{1,9}$/, 'Must be a brand id (integer)').transform(Number)).optional(),
  user: text.optional(),
  created_after: isoInstant.optional(),
  created_before: isoInstant.optional(),
  duration_min: numberText.pipe(nonNegativeSeconds).optional(),
  duration_max: numberText.pipe(nonNegativeSeconds).optional(),
  error: text.optional(),
  schedule_id: typeName.optional(),
};

/** Splits a parsed query into the filter and the rest. */
export function filterOf(q: Partial<Record<keyof AdminJobFilter, unknown>>): AdminJobFilter {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(filterQueryFields)) {
    const v = q[key as keyof AdminJobFilter];
    if (v !== undefined) out[key] = v;
  }
  return out as AdminJobFilter;
}

export const ADMIN_JOB_ORDERINGS = ['created_at', '-created_at', 'updated_at', '-updated_at', 'duration', '-duration', 'id', '-id'] as const;
export type AdminJobOrdering = (typeof ADMIN_JOB_ORDERINGS)[number];
export const ADMIN_PAGE_MAX = 200;

/** `GET /admin/jobs`: filter + ordering + cursor pagination (DRF CursorPagination: `next`/`previous` links). */
export const adminJobsQuery = z
  .object({
    ...filterQueryFields,
    ordering: z.enum(ADMIN_JOB_ORDERINGS, { error: choices(ADMIN_JOB_ORDERINGS) }).default('-created_at'),
    cursor: z.string().max(512).optional(),
    page_size: intText.pipe(z.number().max(ADMIN_PAGE_MAX, `At most ${ADMIN_PAGE_MAX}`)).default(50),
    /** The total count costs a scan of the matching rows: asked for explicitly. */
    include_total: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  })
  .strict();
export type AdminJobsQuery = z.infer<typeof adminJobsQuery>;

/** `GET /admin/jobs/export`: the same filter and ordering, streamed. */
export const adminJobsExportQuery = z
  .object({
    ...filterQueryFields,
    ordering: z.enum(ADMIN_JOB_ORDERINGS, { error: choices(ADMIN_JOB_ORDERINGS) }).default('-created_at'),
    format: z.enum(['csv', 'json'], { error: choices(['csv', 'json']) }).default('csv'),
    /** At most this many rows (default: all matching). */
    limit: intText.optional(),
  })
  .strict();

/** `POST /admin/jobs/{id}/retry`: the task retry rules, the same input unless overridden. */
export const adminRetryBody = z
  .object({
    priority: priority.optional(),
    context_data: contextData.optional(),
    reset_progress: z.boolean().default(true),
    clear_errors: z.boolean().default(true),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type AdminRetryBody = z.infer<typeof adminRetryBody>;

/** `DELETE /admin/jobs/{id}`: `confirm` must repeat the job's id or task_id; `force` terminates a running job first. */
export const adminDeleteBody = z
  .object({
    confirm: z.union([z.string().max(128), z.number().int()]).optional(),
    force: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).default(false),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type AdminDeleteBody = z.infer<typeof adminDeleteBody>;

export const STATS_PERIODS = { '1h': 3600, '24h': 86_400, '7d': 7 * 86_400, '30d': 30 * 86_400, '90d': 90 * 86_400 } as const;
export type StatsPeriod = keyof typeof STATS_PERIODS;
const periodNames = Object.keys(STATS_PERIODS) as [StatsPeriod, ...StatsPeriod[]];

/** `GET /admin/jobs/stats` and `trends/`: a named period (or since/until), optionally one brand or type. */
export const adminStatsQuery = z
  .object({
    period: z.enum(periodNames, { error: choices(periodNames) }).default('24h'),
    since: isoInstant.optional(),
    until: isoInstant.optional(),
    brand_id: intText.optional(),
    task_type: typeName.optional(),
  })
  .strict();
export type AdminStatsQuery = z.infer<typeof adminStatsQuery>;

export const adminTrendsQuery = adminStatsQuery
  .extend({ bucket: z.enum(['hour', 'day'], { error: choices(['hour', 'day']) }).optional() })
  .strict();
export type AdminTrendsQuery = z.infer<typeof adminTrendsQuery>;
