import { z } from 'zod';

const brandId = z.coerce.number().int().min(1).max(2_147_483_647);

/**
 * Query of a WebSocket upgrade. `token` is the browsers' way to authenticate (a browser's WebSocket cannot set
 * headers); other clients send `Authorization: Bearer` or `X-API-Key` instead, which keeps the token out of URLs.
 */
export const metricsStreamQuerySchema = z
  .object({
    token: z.string().min(1).max(4096).optional(),
    /** Narrows the stream to one of the caller's brands (an admin: any brand; without it, every brand). */
    brand_id: brandId.optional(),
  })
  .strict();

export const taskStreamQuerySchema = metricsStreamQuerySchema
  .extend({
    /** Only this task's events: its `task_id` (Temporal workflow id) or its integer `id`. */
    task_id: z.string().min(1).max(64).regex(/^[\w.:-]+$/, 'Must be a task id').optional(),
  })
  .strict();

export type TaskStreamQuery = z.infer<typeof taskStreamQuerySchema>;
