import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import type { ActivityExecutionWrite } from '../db/repositories/task-metrics.repository';

const MB = 1024 * 1024;
/** How often peak memory is sampled while an activity runs. */
const RSS_SAMPLE_MS = 100;

export interface ActivityWorkerOptions {
  /** This worker's Temporal identity, recorded with each attempt. */
  workerId: string;
  /** Marks the task as run by this worker (its `worker_id`) when one of its activities starts. */
  assignWorker?: (taskId: string, workerId: string) => Promise<void>;
}

/**
 * Measures every activity attempt of every task (workflow id `task_…`): wall time, the process's CPU time during the
 * attempt, peak RSS growth (sampled), and the error if it failed. Local activities (the platform's own mirror writes)
 * and system workflows are not task work and are skipped. CPU and memory are the worker process's: with activities
 * running concurrently they are shared, which the docs say.
 */
class ActivityMetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly record: (execution: ActivityExecutionWrite) => Promise<void>,
    private readonly worker: ActivityWorkerOptions,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = this.ctx.info;
    const execution = info.workflowExecution;
    if (info.isLocal || !execution?.workflowId.startsWith('task_')) return next(input);
    const workflowId = execution.workflowId;
    // Before the work, so a running task already names its worker; a failed write costs the label, never the activity.
    await this.worker.assignWorker?.(workflowId, this.worker.workerId).catch((err: unknown) => this.ctx.log.warn('task worker not recorded', { error: String(err) }));
    const startedAt = new Date();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const rss0 = process.memoryUsage.rss();
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, RSS_SAMPLE_MS);
    sampler.unref();
    let error: string | null = null;
    try {
      return await next(input);
    } catch (err) {
      error = (err as Error)?.message?.slice(0, 2000) ?? String(err);
      throw err;
    } finally {
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage.rss());
      const cpu = process.cpuUsage(cpu0);
      // Awaited, so the task's end (which aggregates these rows) never misses its last activity; a failed write only costs
      // a metric, never the activity's outcome.
      await this.record({
        taskId: workflowId,
        runId: execution.runId,
        activityId: info.activityId,
        activityType: info.activityType,
        attempt: info.attempt,
        startedAt: startedAt.toISOString(),
        wallMs: performance.now() - t0,
        cpuMs: (cpu.user + cpu.system) / 1000,
        rssDeltaMb: Math.max(0, peak - rss0) / MB,
        error,
        workerId: this.worker.workerId,
      }).catch((err: unknown) => this.ctx.log.warn('activity metrics not recorded', { error: String(err) }));
    }
  }
}

export function activityMetricsInterceptor(
  record: (execution: ActivityExecutionWrite) => Promise<void>,
  worker: ActivityWorkerOptions,
): ActivityInterceptorsFactory {
  return (ctx) => ({ inbound: new ActivityMetricsInterceptor(ctx, record, worker) });
}
