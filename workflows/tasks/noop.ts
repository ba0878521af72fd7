import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `noop`: the smallest real task. With no context it completes at once (benchmarks measure the platform,
 * not the work); `duration_ms` keeps a heartbeating activity busy (to watch progress or cancel it), and
 * `fail_message` makes it fail (to exercise retry).
 */
export const noopContextSchema = z
  .object({
    duration_ms: z.number().int().min(0).max(24 * 3_600_000).optional(),
    fail_message: z.string().min(1).max(1000).optional(),
  })
  .strict();
export type NoopContext = z.infer<typeof noopContextSchema>;

export const noop = defineTaskWorkflow<NoopContext>({
  type: 'noop',
  contextSchema: noopContextSchema,
  async run({ context, activities }) {
    if (!context.duration_ms && !context.fail_message) return { ok: true };
    const { runNoopWork } = activities({ retry: { maximumAttempts: 1 } });
    return runNoopWork({ durationMs: context.duration_ms ?? 0, failMessage: context.fail_message ?? null });
  },
});
