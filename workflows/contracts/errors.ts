/**
 * Stable error codes, shared by the API (error_code in responses) and workflows (ApplicationFailure type).
 * Append-only: clients match on these strings, so never rename or remove one.
 */
export const ErrorCode = {
  // generic
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  AUTHENTICATION_FAILED: 'AUTHENTICATION_FAILED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INVALID_OPERATION: 'INVALID_OPERATION',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  // task_core (seed 000)
  TASK_NOT_FOUND: 'TASK_NOT_FOUND',
  INVALID_STATUS_TRANSITION: 'INVALID_STATUS_TRANSITION',
  MAX_RETRIES_EXCEEDED: 'MAX_RETRIES_EXCEEDED',
  TASK_ALREADY_COMPLETED: 'TASK_ALREADY_COMPLETED',
  TASK_TYPE_NOT_AVAILABLE: 'TASK_TYPE_NOT_AVAILABLE',
  TASK_TYPE_NOT_CONFIGURED: 'TASK_TYPE_NOT_CONFIGURED',
  // task_monitoring (seed 000)
  METRIC_FIELD_INVALID: 'METRIC_FIELD_INVALID',
  THRESHOLD_OUT_OF_RANGE: 'THRESHOLD_OUT_OF_RANGE',
  ALERT_COOLDOWN_ACTIVE: 'ALERT_COOLDOWN_ACTIVE',
  // task_persistence (seed 000)
  JOB_NOT_RESUMABLE: 'JOB_NOT_RESUMABLE',
  CHECKPOINT_CORRUPTED: 'CHECKPOINT_CORRUPTED',
  INVALID_JOB_STATE: 'INVALID_JOB_STATE',
  // task_scheduling (seed 000)
  INVALID_CRON_EXPRESSION: 'INVALID_CRON_EXPRESSION',
  SCHEDULE_IN_PAST: 'SCHEDULE_IN_PAST',
  FREQUENCY_NOT_SUPPORTED: 'FREQUENCY_NOT_SUPPORTED',
  TIMEZONE_INVALID: 'TIMEZONE_INVALID',
  SCHEDULE_NOT_FOUND: 'SCHEDULE_NOT_FOUND',
  CALENDAR_NOT_FOUND: 'CALENDAR_NOT_FOUND',
  /** execute-now/ was skipped by the schedule's overlap policy (a firing is still running). */
  SCHEDULE_OVERLAP_SKIPPED: 'SCHEDULE_OVERLAP_SKIPPED',
  /** execute-now/ was accepted but held back by a buffer overlap policy behind the run in progress. */
  SCHEDULE_RUN_QUEUED: 'SCHEDULE_RUN_QUEUED',
  /** A firing reached a worker after its catch-up window: recorded as failed with this type, not run. */
  SCHEDULE_RUN_MISSED: 'SCHEDULE_RUN_MISSED',
  /** A destructive admin action without its explicit confirmation (`confirm` = the job id, or a confirmation token). */
  CONFIRMATION_REQUIRED: 'CONFIRMATION_REQUIRED',
  /** A bulk confirmation token that is expired, forged, already used, or bound to another filter or action. */
  CONFIRMATION_INVALID: 'CONFIRMATION_INVALID',
  BULK_ACTION_NOT_FOUND: 'BULK_ACTION_NOT_FOUND',
  /** Too many attempts (failed logins): answered 429 with Retry-After. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The Accept header names no format the route produces (e.g. exports: JSON or CSV only). */
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  // workflow failure types (ApplicationFailure.type), visible in the Temporal Web UI
  TASK_FAILED: 'TASK_FAILED',
  TASK_TIMED_OUT: 'TASK_TIMED_OUT',
  INVALID_TASK_INPUT: 'INVALID_TASK_INPUT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The innermost cause's message: an ActivityFailure or WorkflowFailedError wraps the real error, and its own
 * message ("Activity task failed") says nothing to a user. Pure, so workflow code can use it.
 */
export function rootCauseMessage(err: unknown, maxLength = 4000): string {
  let cur: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (cur instanceof Error && cur.cause instanceof Error) {
    cur = cur.cause;
    message = (cur as Error).message;
  }
  return message.slice(0, maxLength);
}
