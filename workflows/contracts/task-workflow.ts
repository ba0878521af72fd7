import type { FailureDetails } from './failure-details';
import type { ScheduleLink } from './schedules';
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
  /** The task's label (public API `name`); absent in inputs from before it existed. */
  name?: string | null;
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
  /**
   * The mirror seq block of this run (see SEQ_BLOCK): each new run of the workflow id — a retry, a persistent job
   * started, resumed or restarted on the task — takes the next one. Defaults to retryCount.
   */
  runNumber?: number;
  /**
   * Set on the input of a Schedule's action (periodic tasks, cron jobs): the firing resolves its own `taskId`,
   * `createdAt` and `scheduledFor` from its execution (see contracts/schedules.ts resolveScheduledInput).
   */
  schedule?: ScheduleLink;
  /** Set on the tasks a `pipeline` starts for its steps: the pipeline's task_id. */
  parentTaskId?: string;
}

export interface TaskWorkflowResult {
  status: Extract<TaskStatus, 'completed'>;
  resultData: Record<string, unknown>;
}

/**
 * Mirror sequence numbers: run n of a workflow id owns the block [n * SEQ_BLOCK, (n + 1) * SEQ_BLOCK). A write
 * only lands if its sequence is higher than the row's, so a late or duplicated write never moves a row backwards,
 * and a new run (a retry, a persistent job's resume) always wins over the previous one. Within a run, persistent
 * jobs number their pause/resume transitions from SEQ_STEP.toggles upwards.
 */
export const SEQ_BLOCK = 1_000_000;
export const SEQ_STEP = {
  pending: 1,
  running: 2,
  toggles: 3,
  finished: 900_000,
  /** The reconciler repairs a run Temporal closed without the workflow recording it (terminate, timeout). */
  reconciled: 950_000,
} as const;

export function mirrorSeq(run: number, step: keyof typeof SEQ_STEP, offset = 0): number {
  return run * SEQ_BLOCK + SEQ_STEP[step] + offset;
}

/** The run block of a stored seq (the mirror's seq column). */
export function runOfSeq(seq: number | string): number {
  return Math.floor(Number(seq) / SEQ_BLOCK);
}

/** Which run block a workflow input writes in: its runNumber, or (inputs from before runNumber existed) its retryCount. */
export function runOf(input: Pick<TaskWorkflowInput, 'runNumber' | 'retryCount'>): number {
  return input.runNumber ?? input.retryCount;
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
  /** The Temporal failure of a failed run; an explicit `errorMessage: null` clears it too (see upsertTaskTransition). */
  errorDetails?: FailureDetails | null;
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
