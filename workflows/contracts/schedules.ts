import type { TaskStatus } from './task-types';
import type { TaskWorkflowInput } from './task-workflow';

/**
 * Periodic tasks and cron jobs are Temporal Schedules whose action starts a task workflow. A Schedule's action input is
 * static, so a firing's input carries an empty `taskId` and this link; the workflow (and the reconciler, for a firing
 * that never ran) resolves the firing's own identity from its execution: task_id = workflow id (the Schedule appends
 * the nominal time to the action's id), scheduled_for = the nominal fire time.
 */
export interface ScheduleLink {
  scheduleId: string;
  /**
   * How late (after its nominal time, beyond jitter and `lateGraceSeconds`) a firing may still start running; a
   * firing that reaches a worker later is recorded as missed instead (status cancelled, reported by
   * `ready-for-execution/`). 0: never catch up.
   */
  catchupWindowSeconds: number;
  jitterSeconds: number;
  /** Normal delay between a Schedule's fire time and a worker picking the workflow up (platform setting). */
  lateGraceSeconds: number;
}

/** The overlap policies of seed-facing names, as Temporal's ScheduleOverlapPolicy keys. */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;
export type OverlapPolicyName = (typeof OVERLAP_POLICIES)[number];

/** Outcome of a schedule's latest firing, as `last_run_status` (seed filter: `?last_run_status=success,failed`). */
export const LAST_RUN_STATUSES = ['running', 'success', 'failed', 'cancelled', 'missed'] as const;
export type LastRunStatus = (typeof LAST_RUN_STATUSES)[number];

export function lastRunStatusOf(status: TaskStatus, missed: boolean): LastRunStatus {
  if (missed) return 'missed';
  switch (status) {
    case 'completed':
      return 'success';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'running';
  }
}

/** Prefix of every Schedule id we create; a firing's workflow id is `task_<scheduleId>-<nominal time>`. */
export const SCHEDULE_ID_PREFIX = 'sched_';
export const FIRING_ID_PREFIX = 'task_';

export function firingWorkflowIdPrefix(scheduleId: string): string {
  return `${FIRING_ID_PREFIX}${scheduleId}`;
}

/** The nominal time Temporal appends to a scheduled workflow's id (`<prefix>-2026-11-25T21:40:02Z`). */
export function nominalTimeFromWorkflowId(workflowId: string): string | null {
  const m = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/.exec(workflowId);
  return m ? new Date(m[1]!).toISOString() : null;
}

export interface FiringExecution {
  workflowId: string;
  /** When Temporal started the execution. */
  startTime: Date;
  /** TemporalScheduledStartTime (nominal fire time), when known. */
  scheduledStartTime?: Date | null;
}

/** A firing's input with its identity filled in; any other input is returned unchanged. Pure and deterministic. */
export function resolveScheduledInput(input: TaskWorkflowInput, execution: FiringExecution): TaskWorkflowInput {
  if (!input.schedule || input.taskId) return input;
  const nominal =
    execution.scheduledStartTime?.toISOString() ?? nominalTimeFromWorkflowId(execution.workflowId) ?? execution.startTime.toISOString();
  return { ...input, taskId: execution.workflowId, createdAt: execution.startTime.toISOString(), scheduledFor: nominal };
}

/**
 * Seconds a firing waited for a worker, beyond the grace; more than the catch-up window = missed. Counted from when
 * Temporal started the execution (`createdAt`), not from the nominal time: a run an overlap policy held back
 * (buffer_one, buffer_all) starts late on purpose, and a Temporal server that was down is Temporal's own catch-up
 * window's business. Jitter is included in that start.
 */
export function firingLateness(input: TaskWorkflowInput, startedAtMs: number): number {
  if (!input.schedule || !input.scheduledFor) return 0;
  const due = Math.max(Date.parse(input.createdAt), Date.parse(input.scheduledFor) + input.schedule.jitterSeconds * 1000);
  return Math.max(0, (startedAtMs - due) / 1000 - input.schedule.lateGraceSeconds);
}
