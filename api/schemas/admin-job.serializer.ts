import { z } from 'zod';
import type { AdminJobRow } from '../../db/repositories/admin-jobs.repository';
import { TASK_PRIORITIES, TASK_STATUSES } from '../../workflows/contracts/task-types';
import { JOB_KINDS } from './admin.schemas';
import { cursorPage, isoTimestamp, jsonObject } from './common-responses.schemas';
import type { AppConfig } from '../config';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The Temporal Web UI page of a job's run (its history), for operators. */
export function temporalUrl(config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>, taskId: string, runId: string | null): string {
  const base = `${config.TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(taskId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

export function serializeAdminJob(row: AdminJobRow, config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>) {
  return {
    id: row.id,
    task_id: row.task_id,
    kind: row.kind,
    task_type: row.task_type,
    status: row.status,
    priority: row.priority,
    brand: { id: row.brand_id, name: row.brand_name },
    user: { id: row.created_by_id, username: row.username },
    description: row.description,
    context_data: row.context_data,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    duration_seconds: row.duration_ms === null ? null : Math.round(row.duration_ms) / 1000,
    retry_count: row.retry_count,
    max_retries: row.max_retries,
    progress_percentage: row.progress_percentage,
    error_message: row.error_message,
    schedule_id: row.schedule_id,
    run_id: row.run_id,
    temporal_url: temporalUrl(config, row.task_id, row.run_id),
  };
}

/** A failed job adds what an operator needs to act: the failure (stack traces from Temporal), attempts, the last input. */
export function serializeFailedJob(row: AdminJobRow, config: Pick<AppConfig, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>) {
  const details = (row.error_details ?? {}) as { type?: string; message?: string; stack_trace?: string; causes?: unknown[] };
  return {
    ...serializeAdminJob(row, config),
    error: {
      message: details.message ?? row.error_message,
      type: details.type ?? null,
      stack_trace: details.stack_trace ?? null,
      causes: details.causes ?? [],
    },
    attempts: row.retry_count + 1,
    last_input: row.context_data,
  };
}

/** Columns of the CSV/JSON export: ids and key fields. */
export const EXPORT_COLUMNS = [
  'id',
  'task_id',
  'kind',
  'task_type',
  'status',
  'priority',
  'brand_id',
  'brand_name',
  'username',
  'created_at',
  'started_at',
  'completed_at',
  'duration_seconds',
  'retry_count',
  'error_message',
] as const;

export function exportRecord(row: AdminJobRow): Record<(typeof EXPORT_COLUMNS)[number], unknown> {
  return {
    id: row.id,
    task_id: row.task_id,
    kind: row.kind,
    task_type: row.task_type,
    status: row.status,
    priority: row.priority,
    brand_id: row.brand_id,
    brand_name: row.brand_name,
    username: row.username,
    created_at: iso(row.created_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    duration_seconds: row.duration_ms === null ? null : Math.round(row.duration_ms) / 1000,
    retry_count: row.retry_count,
    error_message: row.error_message,
  };
}

/**
 * One CSV field (RFC 4180 quoting). A text starting with = + - @ (or a tab/CR) is prefixed with a quote so a
 * spreadsheet opening the export does not run it as a formula.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? value : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ---- response schemas ----

/** What `serializeAdminJob` returns (brand and user names null when the row outlived them). */
export const adminJobResponse = z.strictObject({
  id: z.number().int(),
  task_id: z.string(),
  kind: z.enum(JOB_KINDS),
  task_type: z.string(),
  status: z.enum(TASK_STATUSES),
  priority: z.enum(TASK_PRIORITIES),
  brand: z.strictObject({ id: z.number().int(), name: z.string().nullable() }),
  user: z.strictObject({ id: z.number().int(), username: z.string().nullable() }),
  description: z.string(),
  context_data: jsonObject,
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
  started_at: isoTimestamp.nullable(),
  completed_at: isoTimestamp.nullable(),
  duration_seconds: z.number().nullable(),
  retry_count: z.number().int(),
  max_retries: z.number().int(),
  progress_percentage: z.number(),
  error_message: z.string().nullable(),
  schedule_id: z.string().nullable(),
  run_id: z.string().nullable(),
  temporal_url: z.string(),
}).meta({ id: 'AdminJob' });
export const adminJobPageResponse = cursorPage(adminJobResponse);

/** What `serializeFailedJob` returns: the job with its failure, attempts and last input. */
export const failedJobResponse = adminJobResponse.extend({
  error: z.strictObject({
    message: z.string().nullable(),
    type: z.string().nullable(),
    stack_trace: z.string().nullable(),
    causes: z.array(z.unknown()),
  }),
  attempts: z.number().int(),
  last_input: jsonObject,
}).meta({ id: 'FailedJob' });
export const failedJobPageResponse = cursorPage(failedJobResponse);

/** GET /admin/jobs/{id}/: the job with its Temporal history summary and its audit rows. */
export const adminJobDetailResponse = failedJobResponse.extend({
  history: z.unknown(),
  audit: z.array(jsonObject),
});
