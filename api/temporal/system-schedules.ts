import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';

export const RECONCILER_SCHEDULE_ID = 'system-reconcile-mirror';
export const AUTO_RESUME_SCHEDULE_ID = 'system-auto-resume-jobs';
export const ALERT_EVALUATION_SCHEDULE_ID = 'system-evaluate-alerts';

/** Creates a system schedule once (idempotent: an existing one is left as it is); visible under Schedules in the Web UI. */
async function ensureSystemSchedule(
  client: Client,
  s: { id: string; workflowType: string; taskQueue: string; intervalSeconds: number; timeout: Duration; note: string },
): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: s.id,
      spec: { intervals: [{ every: `${s.intervalSeconds} seconds` }] },
      action: { type: 'startWorkflow', workflowType: s.workflowType, taskQueue: s.taskQueue, args: [{}], workflowExecutionTimeout: s.timeout },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: s.note },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

export function ensureReconcilerSchedule(client: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  return ensureSystemSchedule(client, {
    id: RECONCILER_SCHEDULE_ID,
    workflowType: 'reconcileMirrorWorkflow',
    taskQueue,
    intervalSeconds,
    timeout: '10 minutes',
    note: 'Repairs the PostgreSQL task mirror from Temporal visibility',
  });
}

/** Every interval, `autoResumeJobsWorkflow` resumes every brand's persistent jobs that have `auto_resume` and can resume now. */
export function ensureAutoResumeSchedule(client: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  return ensureSystemSchedule(client, {
    id: AUTO_RESUME_SCHEDULE_ID,
    workflowType: 'autoResumeJobsWorkflow',
    taskQueue,
    intervalSeconds,
    timeout: '15 minutes',
    note: 'Resumes persistent jobs with auto_resume (paused, or failed/cancelled with a valid checkpoint)',
  });
}

/** Every interval (ALERT_EVAL_INTERVAL_SECONDS), `evaluateAlertsWorkflow` evaluates every brand's active alert rules. */
export function ensureAlertEvaluationSchedule(client: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  return ensureSystemSchedule(client, {
    id: ALERT_EVALUATION_SCHEDULE_ID,
    workflowType: 'evaluateAlertsWorkflow',
    taskQueue,
    intervalSeconds,
    timeout: '10 minutes',
    note: 'Evaluates alert rules (task_monitoring) and starts one delivery workflow per firing',
  });
}
