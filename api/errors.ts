import { ErrorCode } from '../workflows/contracts/errors';

export { ErrorCode };

export type FieldErrors = Record<string, string[]>;

/**
 * The one error type of the API. The error middleware renders it in the seeds' formats:
 * `{detail, error_code, ...extra}` for business rules, plus `field_errors` for validation.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }

  static validation(fieldErrors: FieldErrors, detail = 'Validation failed', code: ErrorCode = ErrorCode.VALIDATION_ERROR): AppError {
    return new AppError(code, 400, detail, { field_errors: fieldErrors });
  }

  static taskNotFound(): AppError {
    return new AppError(ErrorCode.TASK_NOT_FOUND, 404, 'Task not found');
  }

  static invalidTransition(detail: string, currentStatus: string, allowedStatuses: readonly string[], code: ErrorCode = ErrorCode.INVALID_STATUS_TRANSITION): AppError {
    return new AppError(code, 409, detail, { current_status: currentStatus, allowed_statuses: [...allowedStatuses] });
  }
}
