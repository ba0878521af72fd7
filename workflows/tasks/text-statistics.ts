import { workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import { goWorkerTaskQueue, type GoWorkerActivities } from '../contracts/go-worker';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `text_statistics`: the example of a task type whose work runs in another language. The workflow stays here, so
 * the lifecycle (delays, amendments, timeout, cancellation, mirror rows) has one implementation; its one activity
 * runs on the Go worker (workers/go), which polls `<this workflow's task queue>-go`.
 */
export const textStatisticsContextSchema = z
  .object({
    text: z.string().max(1_000_000),
    top_words: z.number().int().min(1).max(100).optional(),
  })
  .strict();
export type TextStatisticsContext = z.infer<typeof textStatisticsContextSchema>;

export const text_statistics = defineTaskWorkflow<TextStatisticsContext>({
  type: 'text_statistics',
  contextSchema: textStatisticsContextSchema,
  async run({ context, activities }) {
    const { computeTextStatistics } = activities<GoWorkerActivities>({
      taskQueue: goWorkerTaskQueue(workflowInfo().taskQueue),
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: undefined, // short CPU work: the Go activity does not heartbeat
      retry: { maximumAttempts: 3 },
    });
    const result = await computeTextStatistics({ text: context.text, top_words: context.top_words ?? 10 });
    return { ...result };
  },
});
