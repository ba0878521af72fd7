import { z } from 'zod';

/**
 * Response shapes shared by every area: the two error formats, DRF pages, and the /api/v1 envelope. They document
 * /openapi.json, and the test suite checks every response it receives against them (tests/support/response-check.ts),
 * so they are strict: a field a serializer adds without its schema fails the run.
 */

/** What the serializers write for a timestamp: `Date#toISOString()` (UTC, milliseconds). */
export const isoTimestamp = z.iso.datetime({ offset: true });

/** `{id, name}` of the brand an object belongs to. */
export const brandRef = z.strictObject({ id: z.number().int(), name: z.string() });
/** `{id, username}` of the user who created an object. */
export const userRef = z.strictObject({ id: z.number().int(), username: z.string() });

/** Any JSON object (context data, payloads, settings): its keys are the client's. */
export const jsonObject = z.record(z.string(), z.unknown());

/**
 * The error format of /tasks/..., /admin/..., /auth/... (seeds 000–002): `{detail, error_code}`, `field_errors` for
 * validation (`{"field": ["message"]}`), and per code a few more keys (current_status, retry_after, request_id, …).
 */
export const errorBody = z.looseObject({
  detail: z.string(),
  error_code: z.string(),
  field_errors: z.record(z.string(), z.array(z.string())).optional(),
}).meta({ id: 'ErrorBody' });

/** The error codes of the public API v1 (seed 003), each with its HTTP status. */
export const V1_ERROR_CODES = [
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
] as const;

/** The error envelope under /api/v1/ (and /health, /ready, /info): our precise code stays in `details`. */
export const v1ErrorEnvelope = z.strictObject({
  status: z.literal('error'),
  error: z.strictObject({
    code: z.enum(V1_ERROR_CODES),
    message: z.string(),
    details: z.unknown(),
  }),
  timestamp: isoTimestamp,
}).meta({ id: 'V1ErrorEnvelope' });

/** The success envelope under /api/v1/: `{status: "success", data, timestamp}`. */
export function v1Envelope<T extends z.ZodType>(data: T) {
  return z.strictObject({ status: z.literal('success'), data, timestamp: isoTimestamp });
}

/** A list under /api/v1/: the items in `data`, with `pagination: {skip, limit, total, pages}`. */
export function v1ListEnvelope<T extends z.ZodType>(item: T) {
  return z.strictObject({
    status: z.literal('success'),
    data: z.array(item),
    pagination: z.strictObject({
      skip: z.number().int().min(0),
      limit: z.number().int().min(1),
      total: z.number().int().min(0),
      pages: z.number().int().min(0),
    }),
    timestamp: isoTimestamp,
  });
}

/** A DRF PageNumberPagination page: `{count, next, previous, results}` (links keep the query, change `page`). */
export function drfPage<T extends z.ZodType>(item: T) {
  return z.strictObject({
    count: z.number().int().min(0),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}

/** A DRF CursorPagination page (admin lists): opaque cursor links, `count` only when asked for. */
export function cursorPage<T extends z.ZodType>(item: T) {
  return z.strictObject({
    next: z.string().nullable(),
    previous: z.string().nullable(),
    count: z.number().int().min(0).optional(),
    results: z.array(item),
  });
}
