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
