import { proxyActivities } from '@temporalio/workflow';
import type { ReconcileReport } from '../../activities/reconcile.activities';
import type { TaskActivities } from '../../activities';

const { reconcileTaskMirror } = proxyActivities<Pick<TaskActivities, 'reconcileTaskMirror'>>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
});

/**
 * Started by the `system-reconcile-mirror` schedule (see api/temporal/system-schedules.ts). Each run repairs up to
 * `batchSize` drifted rows; its result (visible in the Web UI) lists the drift it found.
 */
export async function reconcileMirrorWorkflow(
  input: { batchSize?: number; staleAfterSeconds?: number; lookbackMinutes?: number } = {},
): Promise<ReconcileReport> {
  return reconcileTaskMirror({ batchSize: input.batchSize ?? 500, staleAfterSeconds: input.staleAfterSeconds, lookbackMinutes: input.lookbackMinutes });
}
