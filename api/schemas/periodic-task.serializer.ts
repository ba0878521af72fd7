import { z } from 'zod';
import type { PeriodicRunCounts, PeriodicTaskRow } from '../../db/repositories/periodic-task.repository';
import { LAST_RUN_STATUSES } from '../../workflows/contracts/schedules';
import { TASK_PRIORITIES } from '../../workflows/contracts/task-types';
import { brandRef, drfPage, isoTimestamp, jsonObject, userRef } from './common-responses.schemas';
import type { ScheduleSnapshot } from '../temporal/schedules';
import { describeCron, normalizeCron } from '../services/cron.service';

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** Percent of finished firings that succeeded (missed firings count as not successful); null before any finished. */
function successRate(c: PeriodicRunCounts): number | null {
  const finished = c.total_runs - c.running_count;
  return finished > 0 ? Math.round((c.success_count / finished) * 1000) / 10 : null;
}

const descriptions = new Map<string, ReturnType<typeof describeCron> | null>();

/** cronstrue's English and French text, cached per expression (a list page repeats the same few expressions). */
function description(expression: string) {
  let d = descriptions.get(expression);
  if (d === undefined) {
    try {
      d = describeCron(normalizeCron(expression).normalized);
    } catch {
      d = null;
    }
    if (descriptions.size >= 5000) descriptions.clear();
    descriptions.set(expression, d);
  }
  return d;
}

function scheduleBlock(row: PeriodicTaskRow, counts: PeriodicRunCounts, temporal: { uiUrl: string; namespace: string }) {
  return {
    cron_expression: row.cron_expression,
    cron_description: description(row.cron_expression),
    timezone: row.timezone,
    start_at: iso(row.start_at),
    end_at: iso(row.end_at),
    overlap_policy: row.overlap_policy,
    catchup_window_seconds: row.catchup_window_seconds,
    jitter_seconds: row.jitter_seconds,
    calendars: row.calendar_ids,
    is_active: row.is_active,
    paused_note: row.paused_note,
    next_run_at: iso(row.next_run_at),
    last_run_at: iso(row.last_run_at),
    last_run_status: row.last_run_status,
    last_task_id: row.last_task_id,
    total_runs: counts.total_runs,
    success_count: counts.success_count,
    failure_count: counts.failure_count,
    missed_count: counts.missed_count,
    running_count: counts.running_count,
    success_rate: successRate(counts),
    brand: { id: row.brand_id, name: row.brand_name },
    created_by: { id: row.created_by_id, username: row.created_by_username },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    temporal: {
      namespace: temporal.namespace,
      schedule_id: row.schedule_id,
      ui_url: `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/schedules/${encodeURIComponent(row.schedule_id)}`,
    },
  };
}

/** What the Schedule itself says (detail views): upcoming times, counters kept by Temporal, firings in progress. */
function liveBlock(live: ScheduleSnapshot | undefined, row: PeriodicTaskRow, upcoming?: string[]) {
  if (!live) return { next_runs: upcoming ?? (row.next_run_at ? [iso(row.next_run_at)] : []) };
  return {
    next_runs: live.nextActionTimes.slice(0, 10).map((d) => d.toISOString()),
    schedule_info: {
      paused: live.paused,
      note: live.note,
      actions_taken: live.numActionsTaken,
      skipped_overlap: live.numActionsSkippedOverlap,
      missed_catchup_window: live.numActionsMissedCatchupWindow,
      running: live.runningWorkflowIds,
      recent_runs: live.recentActions.map((a) => ({ task_id: a.workflowId, scheduled_at: a.scheduledAt.toISOString(), started_at: a.takenAt.toISOString() })),
    },
  };
}

/** A periodic task (seed 000 `periodic-tasks/`): its template task, its schedule and its run statistics. */
export function serializePeriodicTask(
  view: { row: PeriodicTaskRow; counts: PeriodicRunCounts; live?: ScheduleSnapshot; upcoming?: string[] },
  temporal: { uiUrl: string; namespace: string },
) {
  const { row, counts, live, upcoming } = view;
  return {
    id: row.id,
    schedule_id: row.schedule_id,
    name: row.name,
    base_task: row.base_task_id ? { id: row.base_task_id, task_id: row.base_task_task_id } : null,
    task_type: row.task_type,
    priority: row.priority,
    description: row.description,
    context_data: row.context_data,
    max_retries: row.max_retries,
    timeout_minutes: row.timeout_minutes,
    ...scheduleBlock(row, counts, temporal),
    ...liveBlock(live, row, upcoming),
  };
}

/** A cron job (seed 000 `cron-jobs/`): a system-style job with a frequency, mapped to a real workflow type. */
export function serializeCronJob(
  view: { row: PeriodicTaskRow; counts: PeriodicRunCounts; live?: ScheduleSnapshot; upcoming?: string[] },
  temporal: { uiUrl: string; namespace: string },
) {
  const { row, counts, live, upcoming } = view;
  return {
    id: row.id,
    schedule_id: row.schedule_id,
    name: row.name,
    frequency: row.frequency,
    task_type: row.job_type,
    workflow_type: row.task_type,
    ...cronJobTiming(row),
    description: row.description,
    priority: row.priority,
    config: row.context_data,
    ...scheduleBlock(row, counts, temporal),
    ...liveBlock(live, row, upcoming),
  };
}

/** time / day_of_week / day_of_month read back from the expression a frequency produced. */
function cronJobTiming(row: PeriodicTaskRow) {
  const parts = row.cron_expression.split(' ');
  if (row.frequency === 'cron' || parts.length !== 5) return { time: null, day_of_week: null, day_of_month: null };
  const [minute, hour, dom, , dow] = parts;
  return {
    time: `${hour!.padStart(2, '0')}:${minute!.padStart(2, '0')}`,
    day_of_week: row.frequency === 'weekly' ? Number(dow) : null,
    day_of_month: row.frequency === 'monthly' ? Number(dom) : null,
  };
}

// ---- response schemas ----

const scheduleBlockResponse = {
  cron_expression: z.string(),
  cron_description: z.strictObject({ en: z.string(), fr: z.string() }).nullable(),
  timezone: z.string(),
  start_at: isoTimestamp.nullable(),
  end_at: isoTimestamp.nullable(),
  overlap_policy: z.string(),
  catchup_window_seconds: z.number().int(),
  jitter_seconds: z.number().int(),
  calendars: z.array(z.number().int()),
  is_active: z.boolean(),
  paused_note: z.string().nullable(),
  next_run_at: isoTimestamp.nullable(),
  last_run_at: isoTimestamp.nullable(),
  last_run_status: z.enum(LAST_RUN_STATUSES).nullable(),
  last_task_id: z.string().nullable(),
  total_runs: z.number().int(),
  success_count: z.number().int(),
  failure_count: z.number().int(),
  missed_count: z.number().int(),
  running_count: z.number().int(),
  success_rate: z.number().nullable().describe('Percent of finished firings that succeeded; null before any finished'),
  brand: brandRef,
  created_by: userRef,
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
  temporal: z.strictObject({ namespace: z.string(), schedule_id: z.string(), ui_url: z.string() }),
  next_runs: z.array(z.string()),
  /** Detail views only: what the Temporal Schedule itself says. */
  schedule_info: z
    .strictObject({
      paused: z.boolean(),
      note: z.string().nullable(),
      actions_taken: z.number().int(),
      skipped_overlap: z.number().int(),
      missed_catchup_window: z.number().int(),
      running: z.array(z.string()),
      recent_runs: z.array(z.strictObject({ task_id: z.string(), scheduled_at: isoTimestamp, started_at: isoTimestamp })),
    })
    .optional(),
};

/** What `serializePeriodicTask` returns. */
export const periodicTaskResponse = z.strictObject({
  id: z.number().int(),
  schedule_id: z.string(),
  name: z.string(),
  base_task: z.strictObject({ id: z.number().int(), task_id: z.string().nullable() }).nullable(),
  task_type: z.string(),
  priority: z.enum(TASK_PRIORITIES),
  description: z.string(),
  context_data: jsonObject,
  max_retries: z.number().int(),
  timeout_minutes: z.number().nullable(),
  ...scheduleBlockResponse,
}).meta({ id: 'PeriodicTask' });
export const periodicTaskPageResponse = drfPage(periodicTaskResponse);

/** What `serializeCronJob` returns. */
export const cronJobResponse = z.strictObject({
  id: z.number().int(),
  schedule_id: z.string(),
  name: z.string(),
  frequency: z.string().nullable(),
  task_type: z.string().nullable(),
  workflow_type: z.string(),
  time: z.string().nullable(),
  day_of_week: z.number().int().nullable(),
  day_of_month: z.number().int().nullable(),
  description: z.string(),
  priority: z.enum(TASK_PRIORITIES),
  config: jsonObject,
  ...scheduleBlockResponse,
}).meta({ id: 'CronJob' });
export const cronJobPageResponse = drfPage(cronJobResponse);
