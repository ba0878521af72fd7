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

/**
 * Renders every error in the seeds' format: `{detail, error_code, ...}` (plus `field_errors` for validation).
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
      ctx.status = e.status;
      ctx.body = { detail: e.detail, error_code: e.code, ...e.extra };
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
