import { Counter, Histogram, Registry } from 'prom-client';
import { tasksStarted } from '../api/observability/metrics';
import type { TaskTransition } from '../workflows/contracts/task-workflow';
import type { ReconcileReport } from './reconcile.activities';

/**
 * The worker process's metrics, served on WORKER_METRICS_PORT by worker/metrics-server.ts. Activities run in the
 * worker's main thread (never in the workflow sandbox), so module-level metrics are safe here.
 */
export const workerRegistry = new Registry();
// Bulk retries start task runs from the worker (TaskService inside an activity): count them where they happen.
workerRegistry.registerMetric(tasksStarted);

/** Mirror writes that landed (recordTaskTransition), by task type and status: started/completed/failed/cancelled by type. */
export const taskTransitions = new Counter({
  name: 'task_transitions_total',
  help: 'Task status transitions written to the PostgreSQL mirror, by task type and status',
  labelNames: ['task_type', 'status'] as const,
  registers: [workerRegistry],
});

/** From the transition's own time (startedAt for running, completedAt for a terminal status) to its row write landing. */
export const mirrorLag = new Histogram({
  name: 'mirror_lag_seconds',
  help: 'Delay between a task transition in its workflow and its write to the PostgreSQL mirror, by status',
  labelNames: ['status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [workerRegistry],
});

export const DRIFT_KINDS = ['task_missing', 'task_repaired', 'schedule_removed', 'schedule_adopted', 'schedule_pause_fixed'] as const;

/** What the reconciler had to repair; should stay near zero (anything else means writes are being lost or bypassed). */
export const reconcilerDrift = new Counter({
  name: 'reconciler_drift_total',
  help: 'Mirror rows and schedules the reconciler repaired, by kind',
  labelNames: ['kind'] as const,
  registers: [workerRegistry],
});
for (const kind of DRIFT_KINDS) reconcilerDrift.inc({ kind }, 0); // every series exists from the start, for rate()

/**
 * Alert channel deliveries: `alertDeliveries.inc({ channel: 'webhook' | 'email' | 'slack', outcome: 'delivered' | 'failed' })`
 * once per delivery attempt's outcome.
 */
export const alertDeliveries = new Counter({
  name: 'alert_deliveries_total',
  help: 'Alert notifications sent, by channel and outcome',
  labelNames: ['channel', 'outcome'] as const,
  registers: [workerRegistry],
});

/** Called by recordTaskTransition once its write landed. */
export function observeTaskTransition(transition: TaskTransition, now = Date.now()): void {
  taskTransitions.inc({ task_type: transition.input.taskType, status: transition.status });
  const at = transition.status === 'running' ? transition.startedAt : transition.status === 'pending' ? null : transition.completedAt;
  const eventMs = at ? Date.parse(at) : NaN;
  if (Number.isFinite(eventMs)) mirrorLag.observe({ status: transition.status }, Math.max(0, now - eventMs) / 1000);
}

/** Called with each reconcile activity's report. */
export function observeReconcileReport(report: ReconcileReport): void {
  const counts: Record<(typeof DRIFT_KINDS)[number], number> = {
    task_missing: report.adopted,
    task_repaired: report.repaired,
    schedule_removed: report.schedules?.removed.length ?? 0,
    schedule_adopted: report.schedules?.adopted.length ?? 0,
    schedule_pause_fixed: report.schedules?.pause_fixed.length ?? 0,
  };
  for (const kind of DRIFT_KINDS) if (counts[kind]) reconcilerDrift.inc({ kind }, counts[kind]);
}
