import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `http_request`: a durable HTTP call or webhook. Each attempt is one activity attempt, so retries survive
 * worker restarts and back off on Temporal's clock; 5xx, 429 and network errors retry, other 4xx do not.
 */
export const httpRequestContextSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'Only http and https URLs are allowed'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.unknown().optional(),
    timeout_seconds: z.number().positive().max(600).default(30),
    max_attempts: z.number().int().min(1).max(20).default(3),
    /** Statuses counted as success; default any 2xx. */
    expected_status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
    /** How much of the response body `result_data` keeps. */
    capture_body_bytes: z.number().int().min(0).max(1_000_000).default(65_536),
  })
  .strict();
export type HttpRequestContext = z.infer<typeof httpRequestContextSchema>;

export const http_request = defineTaskWorkflow<HttpRequestContext>({
  type: 'http_request',
  contextSchema: httpRequestContextSchema,
  async run({ context, activities }) {
    const { performHttpRequest } = activities({
      startToCloseTimeout: `${context.timeout_seconds + 5} seconds`,
      heartbeatTimeout: undefined,
      retry: {
        maximumAttempts: context.max_attempts,
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: '1 minute',
        nonRetryableErrorTypes: ['HTTP_CLIENT_ERROR'],
      },
    });
    return performHttpRequest(context);
  },
});
