import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES } from '../contracts/task-types';
import { defineTaskWorkflow } from '../task-lifecycle';

export const EXPORTABLE_TASK_FIELDS = [
  'id',
  'task_id',
  'task_type',
  'status',
  'priority',
  'description',
  'progress_percentage',
  'retry_count',
  'max_retries',
  'created_at',
  'updated_at',
  'started_at',
  'completed_at',
  'error_message',
] as const;

/**
 * `data_export`: writes the brand's tasks (a filtered snapshot taken at start) to a CSV or JSON file in the
 * export folder. The activity heartbeats its position, so a worker crash resumes where it stopped and the
 * file is renamed into place once: the side effect happens exactly once.
 */
export const dataExportContextSchema = z
  .object({
    format: z.enum(['csv', 'json']).default('csv'),
    fields: z.array(z.enum(EXPORTABLE_TASK_FIELDS)).min(1).optional(),
    filters: z
      .object({
        status: z.array(z.enum(TASK_STATUSES)).optional(),
        priority: z.array(z.enum(TASK_PRIORITIES)).optional(),
        task_type: z.array(z.string().min(1).max(64)).optional(),
        created_after: z.iso.datetime({ offset: true }).optional(),
        created_before: z.iso.datetime({ offset: true }).optional(),
      })
      .strict()
      .default({}),
    batch_size: z.number().int().min(1).max(10_000).default(1000),
    /** Pause between batches, to spare the database during business hours (and to make exports observable in tests). */
    throttle_ms: z.number().int().min(0).max(60_000).default(0),
  })
  .strict();
export type DataExportContext = z.infer<typeof dataExportContextSchema>;

export const data_export = defineTaskWorkflow<DataExportContext>({
  type: 'data_export',
  contextSchema: dataExportContextSchema,
  async run({ input, context, activities }) {
    const { exportBrandTasks } = activities({ startToCloseTimeout: '6 hours', retry: { maximumAttempts: 10 } });
    return exportBrandTasks({ brandId: input.brandId, taskId: input.taskId, context });
  },
});
