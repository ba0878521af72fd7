import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const RECONCILER_SCHEDULE_ID = 'system-reconcile-mirror';

/** Creates the reconciler schedule once (idempotent); visible under Schedules in the Temporal Web UI. */
export async function ensureReconcilerSchedule(client: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: RECONCILER_SCHEDULE_ID,
      spec: { intervals: [{ every: `${intervalSeconds} seconds` }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'reconcileMirrorWorkflow',
        taskQueue,
        args: [{}],
        workflowExecutionTimeout: '10 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Repairs the PostgreSQL task mirror from Temporal visibility' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

export const AUTO_RESUME_SCHEDULE_ID = 'system-auto-resume-jobs';

/**
 * Creates the auto-resume schedule once (idempotent): every interval, `autoResumeJobsWorkflow` resumes the persistent
 * jobs of every brand that have `auto_resume` and can resume now (the same rules as `POST .../auto-resume/`).
 */
export async function ensureAutoResumeSchedule(client: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: AUTO_RESUME_SCHEDULE_ID,
      spec: { intervals: [{ every: `${intervalSeconds} seconds` }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'autoResumeJobsWorkflow',
        taskQueue,
        args: [{}],
        workflowExecutionTimeout: '15 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Resumes persistent jobs with auto_resume (paused, or failed/cancelled with a valid checkpoint)' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
