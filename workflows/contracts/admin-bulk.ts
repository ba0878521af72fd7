import { defineQuery } from '@temporalio/workflow';
import type { AdminJobFilter } from '../../api/schemas/admin.schemas';
import type { TaskPriority } from './task-types';

/**
 * Admin bulk actions by filter: the vocabulary shared by the API (dry run, start, resume), the workflow that steers
 * the pages and the activity that applies each job. Pure data: imported by workflow code.
 */
export const ADMIN_BULK_ACTIONS = ['retry', 'cancel', 'delete', 'reprioritize'] as const;
export type AdminBulkAction = (typeof ADMIN_BULK_ACTIONS)[number];

export const ADMIN_BULK_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type AdminBulkStatus = (typeof ADMIN_BULK_STATUSES)[number];

export const ADMIN_BULK_WORKFLOW_TYPE = 'adminBulkWorkflow';
/** Workflow id (= bulk id) prefix; the rest is derived from the confirmation token, so a replayed request finds the same bulk. */
export const ADMIN_BULK_ID_PREFIX = 'admin_bulk_';

export interface AdminBulkCounts {
  processed: number;
  succeeded: number;
  skipped: number;
  failed: number;
}

/** What the bulk does, as stored in its admin_bulk_actions row when it was confirmed. */
export interface AdminBulkSpec {
  bulkId: string;
  action: AdminBulkAction;
  filter: AdminJobFilter;
  newPriority: TaskPriority | null;
  force: boolean;
  reason: string | null;
  /** The snapshot of the dry run: jobs created later (higher ids) are never touched. */
  maxTaskId: number;
  /** The administrator who confirmed it: every item is applied as this user, in the item's brand. */
  actorId: number;
}

export interface AdminBulkWorkflowInput extends AdminBulkSpec {
  pageSize: number;
  /** Pages per run before continue-as-new (the history stays bounded however many jobs there are). */
  pagesPerRun: number;
  heartbeatTimeoutSeconds: number;
  /** Where this run starts: the id of the last job handled (0 at first), and the counts so far (from the row). */
  cursor: number;
  counts: AdminBulkCounts;
  /** Runs before this one (continue-as-new and resumes), for the progress view. */
  runsSoFar: number;
}

export type AdminBulkItemOutcome = 'done' | 'skipped' | 'failed';

export interface AdminBulkItemResult {
  id: number;
  task_id: string;
  brand_id: number;
  outcome: AdminBulkItemOutcome;
  /** The API's error_code of a skipped item (e.g. MAX_RETRIES_EXCEEDED, or NO_LONGER_MATCHES when the job changed). */
  error_code?: string;
  reason?: string;
}

export interface AdminBulkPageInput extends AdminBulkSpec {
  /** Jobs with an id above this one (and at most maxTaskId) that still match the filter. */
  afterTaskId: number;
  pageSize: number;
}

export interface AdminBulkPageResult {
  /** The row's cursor and counts once this page is recorded (the row is the truth, the workflow mirrors it). */
  lastTaskId: number;
  counts: AdminBulkCounts;
  /** No job is left after this page. */
  done: boolean;
}

export interface AdminBulkProgress {
  bulkId: string;
  action: AdminBulkAction;
  status: AdminBulkStatus;
  lastTaskId: number;
  maxTaskId: number;
  counts: AdminBulkCounts;
  runsSoFar: number;
  pagesThisRun: number;
}

export const adminBulkProgressQuery = defineQuery<AdminBulkProgress>('adminBulkProgress');

/** An item skipped because the job no longer matches the bulk's filter (it changed since the dry run). */
export const NO_LONGER_MATCHES = 'NO_LONGER_MATCHES';

/** Failure type of a bulk run that stopped on an error (visible in the Web UI; the row says failed and can be resumed). */
export const ADMIN_BULK_FAILED = 'ADMIN_BULK_FAILED';
