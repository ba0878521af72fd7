import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `generic`: the type of a task created without one (public API v1's default, V1_DEFAULT_TASK_TYPE). Its
 * `context_data` (the v1 `payload`) is any JSON object; one activity records a summary of it (size, checksum, keys,
 * value types) as the task's result. The activity may run at most the task's `timeout` (besides the lifecycle's own
 * timer), so a stuck worker cannot hold it longer than the caller allowed.
 */
export const genericContextSchema = z.record(z.string(), z.unknown(), { error: 'Must be a JSON object' });
export type GenericContext = z.infer<typeof genericContextSchema>;

export const generic = defineTaskWorkflow<GenericContext>({
  type: 'generic',
  contextSchema: genericContextSchema,
  async run({ input, context, activities }) {
    const timeoutMs = input.timeoutMinutes ? Math.max(1000, Math.ceil(input.timeoutMinutes * 60_000)) : undefined;
    const { summarizePayload } = activities({
      ...(timeoutMs ? { startToCloseTimeout: timeoutMs } : {}),
      retry: { maximumAttempts: 3, initialInterval: '1 second' },
    });
    return summarizePayload({ payload: context, name: input.name ?? null });
  },
});
