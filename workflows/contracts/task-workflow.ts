import type { TaskPriority, TaskStatus } from './task-types';

/**
 * Everything a task workflow needs, and everything its mirror row needs: the workflow can (re)create its
 * own row from this input if the API crashed between starting it and writing the row.
 */
export interface TaskWorkflowInput {
  taskId: string;
  brandId: number;
  createdById: number;
  taskType: string;
  priority: TaskPriority;
  description: string;
  contextData: Record<string, unknown>;
  maxRetries: number;
  /** 0 for the first run; each `retry/` starts a new run of the same workflow id with +1. */
  retryCount: number;
  timeoutMinutes: number | null;
  /** ISO instant; the workflow waits (status `pending`) until then. */
  scheduledFor: string | null;
  createdAt: string;
  /**
   * How long an activity may go without heartbeating before Temporal hands it to another worker (platform
   * setting ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS, carried in the input because workflow code cannot read env).
   */
  heartbeatTimeoutSeconds?: number;
}

export interface TaskWorkflowResult {
  status: Extract<TaskStatus, 'completed'>;
  resultData: Record<string, unknown>;
}

/**
 * Mirror sequence numbers: each run owns the block [retryCount * SEQ_BLOCK, (retryCount + 1) * SEQ_BLOCK).
 * A write only lands if its sequence is higher than the row's, so a late or duplicated write never moves a
 * row backwards, and a new run always wins over the previous one.
 */
export const SEQ_BLOCK = 100;
export const SEQ_STEP = {
  pending: 1,
  running: 2,
  finished: 3,
  /** The reconciler repairs a run Temporal closed without the workflow recording it (terminate, timeout). */
  reconciled: 50,
} as const;

export function mirrorSeq(retryCount: number, step: keyof typeof SEQ_STEP): number {
  return retryCount * SEQ_BLOCK + SEQ_STEP[step];
}

/** One state transition written to the mirror by the workflow (through a local activity), the API or the reconciler. */
export interface TaskTransition {
  input: TaskWorkflowInput;
  seq: number;
  status: TaskStatus;
  /** ISO instants; the row keeps an existing value when a field is omitted. */
  startedAt?: string | null;
  completedAt?: string | null;
  resultData?: Record<string, unknown> | null;
  errorMessage?: string | null;
  progressPercentage?: number;
  runId?: string;
}

/** Fields a pending task accepts through `PATCH /tasks/{id}/`, delivered to the waiting workflow as an update. */
export interface TaskAmendment {
  priority?: TaskPriority;
  description?: string;
  contextData?: Record<string, unknown>;
}

export interface TaskProgressView {
  status: TaskStatus;
  priority: TaskPriority;
  progressPercentage: number;
}
