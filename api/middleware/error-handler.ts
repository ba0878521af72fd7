import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import type Koa from 'koa';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from './state';

/** The slice of a pino logger the API writes to (api/observability/logger.ts makes it; tests may pass a stub). */
export interface Logger {
  error(obj: Record<string, unknown>, msg: string): void;
  /** One line per request (api/observability/http.ts); a stub without it logs errors only. */
  info?(obj: Record<string, unknown>, msg: string): void;
}

/** gRPC UNAVAILABLE / DEADLINE_EXCEEDED: Temporal is down or unreachable, which is a 503, not a 500. */
function isTemporalUnavailable(err: unknown): boolean {
  const grpc = isGrpcServiceError(err) ? err : err instanceof ServiceError && isGrpcServiceError(err.cause) ? err.cause : null;
  return grpc !== null && (grpc.code === 14 || grpc.code === 4);
}

function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNREFUSED' || code === '57P01' || code === '53300' || code === 'ETIMEDOUT';
}

/** Paths outside /api/v1/ that belong to the public API of seed 003 and answer errors in its envelope. */
const V1_ROOT_PATHS = new Set(['/health', '/ready', '/info', '/workers/status']);

/** The public API v1 (seed 003): `/api/v1/...`, its root endpoints and its WebSockets render errors in the v1 envelope. */
export function usesV1Envelope(path: string): boolean {
  return (
    path === '/api/v1' ||
    path.startsWith('/api/v1/') ||
    path === '/ws' ||
    path.startsWith('/ws/') ||
    V1_ROOT_PATHS.has(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)
  );
}

/** The error codes of seed 003. */
export type V1ErrorCode = 'INVALID_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'RATE_LIMITED' | 'INTERNAL_ERROR' | 'SERVICE_UNAVAILABLE';

const V1_CODE_BY_STATUS: Readonly<Record<number, V1ErrorCode>> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Our precise codes whose status has no place in seed 003's list: a reused idempotency key (422 on /tasks/) is a
 * resource conflict there; any other 422 is an invalid request.
 */
const V1_STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = { [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 409 };

/**
 * Seed 003's code and status for one of our errors. Statuses the seed lists keep their code (409 covers
 * INVALID_STATUS_TRANSITION, MAX_RETRIES_EXCEEDED, INVALID_OPERATION…; 404 every *_NOT_FOUND); other 4xx (405, 406, 413,
 * 415) keep their status as INVALID_REQUEST. `details` keeps our precise code (`error_code`) and everything the /tasks/
 * format carries; a validation error also names its first field and reason, as in the seed's example.
 */
export function toV1Error(e: AppError): { status: number; code: V1ErrorCode; details: Record<string, unknown> } {
  const mapped = V1_STATUS_OF_CODE[e.code] ?? e.status;
  const status = mapped === 422 ? 400 : mapped;
  const code: V1ErrorCode = V1_CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST');
  const details: Record<string, unknown> = { error_code: e.code, ...e.extra };
  const fieldErrors = e.extra.field_errors as Record<string, string[]> | undefined;
  const first = fieldErrors ? Object.entries(fieldErrors)[0] : undefined;
  if (first) Object.assign(details, { field: first[0], reason: first[1][0] ?? e.detail });
  return { status, code, details };
}

/**
 * Renders every error in the seeds' formats: `{detail, error_code, ...}` (plus `field_errors` for validation), and
 * under the public API v1 `{status: "error", error: {code, message, details}, timestamp}` (see usesV1Envelope).
 * Unknown errors are logged with the request id and answered 500 without internals.
 */
export function errorHandler(logger: Logger): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(ErrorCode.NOT_FOUND, 404, `No route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && (ctx.body === undefined || typeof ctx.body === 'string')) {
        throw new AppError(ErrorCode.METHOD_NOT_ALLOWED, 405, `Method ${ctx.method} not allowed on ${ctx.path}`);
      }
    } catch (err) {
      const appError = toAppError(err);
      if (!appError) {
        logger.error({ err, request_id: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
      }
      const e = appError ?? new AppError(ErrorCode.INTERNAL_ERROR, 500, 'Internal server error', { request_id: ctx.state.requestId });
      if (usesV1Envelope(ctx.path)) {
        const v1 = toV1Error(e);
        ctx.status = v1.status;
        ctx.body = { status: 'error', error: { code: v1.code, message: e.detail, details: v1.details }, timestamp: new Date().toISOString() };
      } else {
        ctx.status = e.status;
        ctx.body = { detail: e.detail, error_code: e.code, ...e.extra };
      }
      if (e.status === 401) ctx.set('WWW-Authenticate', 'Bearer');
      if (e.status === 503) ctx.set('Retry-After', '5');
    }
  };
}

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (isTemporalUnavailable(err)) return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, 'The workflow engine is unavailable; retry shortly');
  if (isDatabaseUnavailable(err)) return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, 'The database is unavailable; retry shortly');
  const status = (err as { status?: number; statusCode?: number } | null)?.status ?? (err as { statusCode?: number } | null)?.statusCode;
  const expose = (err as { expose?: boolean } | null)?.expose;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = expose && err instanceof Error ? err.message : 'Bad request';
    if (status === 401) return new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, authMessage(message));
    if (status === 413) return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, 'Request body too large');
    if (status === 415) return new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, 'Request body must be application/json');
    if (status === 400) return AppError.validation({ non_field_errors: [message] }, 'Malformed request body');
    return new AppError(ErrorCode.INVALID_OPERATION, status, message);
  }
  return null;
}

/** koa-jwt's messages name the failing check, which helps a client and reveals nothing secret. */
function authMessage(message: string): string {
  if (/expired/i.test(message)) return 'Token has expired';
  if (/authentication error|bad request/i.test(message)) return 'Invalid token';
  return `Invalid token: ${message}`;
}
