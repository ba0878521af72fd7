import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { createProgressReporter } from './progress';

export function createNoopActivities(deps: ActivityDeps) {
  return {
    /** Stays busy for `durationMs`, heartbeating every 200 ms so a cancel lands quickly; optionally fails at the end. */
    async runNoopWork(input: { durationMs: number; failMessage: string | null }): Promise<Record<string, unknown>> {
      const ctx = Context.current();
      const report = createProgressReporter(deps);
      const started = Date.now();
      const tick = Math.min(200, Math.max(1, input.durationMs));
      while (Date.now() - started < input.durationMs) {
        await ctx.sleep(Math.min(tick, input.durationMs - (Date.now() - started))); // rejects on cancellation
        await report(((Date.now() - started) / input.durationMs) * 100);
      }
      if (input.failMessage) throw ApplicationFailure.nonRetryable(input.failMessage, 'NOOP_REQUESTED_FAILURE');
      return { ok: true, duration_ms: Date.now() - started };
    },
  };
}
