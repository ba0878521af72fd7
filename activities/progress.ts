import { Context } from '@temporalio/activity';
import { updateTaskProgress } from '../db/repositories/task-mirror.repository';
import type { ActivityDeps } from './deps';

/**
 * Progress of a running activity: a heartbeat (which also carries resume details and delivers cancellation)
 * and, at most once per PROGRESS_WRITE_INTERVAL_MS, a write of `progress_percentage` to the mirror.
 */
export function createProgressReporter(deps: ActivityDeps) {
  const ctx = Context.current();
  const execution = ctx.info.workflowExecution;
  if (!execution) throw new Error('progress can only be reported by an activity of a task workflow');
  const { workflowId, runId } = execution;
  let lastWrite = 0;
  let lastValue = -1;
  return async (percentage: number, details?: unknown, force = false): Promise<void> => {
    const value = Math.max(0, Math.min(100, Math.round(percentage * 100) / 100));
    ctx.heartbeat(details);
    const now = Date.now();
    if (value !== lastValue && (force || now - lastWrite >= deps.config.PROGRESS_WRITE_INTERVAL_MS)) {
      lastWrite = now;
      lastValue = value;
      await updateTaskProgress(deps.orm.em.fork(), workflowId, runId, value);
    }
  };
}

/**
 * Heartbeats on a timer until stopped: one slow step (a fetch up to its timeout, a big query) must neither time
 * the activity out nor delay a cancellation, which reaches an activity only with a heartbeat. Default interval:
 * a third of the activity's heartbeat timeout, between 0.5 and 5 s. `details` are sent with each beat (resume state).
 */
export function startHeartbeat(everyMs?: number, details?: () => unknown): () => void {
  const ctx = Context.current();
  const interval = everyMs ?? Math.max(500, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 15_000) / 3));
  const timer = setInterval(() => ctx.heartbeat(details?.()), interval);
  return () => clearInterval(timer);
}

export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs?: number): Promise<T> {
  const stop = startHeartbeat(everyMs);
  try {
    return await fn();
  } finally {
    stop();
  }
}
