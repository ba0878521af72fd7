import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, cutoffStackTrace, TimeoutFailure } from '@temporalio/common';

/** One link of a failure's cause chain, outermost first. */
export interface FailureCause {
  /** An ApplicationFailure's type (an ErrorCode, or the JS error name it was made from); else the failure class name. */
  type: string;
  message: string;
  stack_trace: string;
  /** Set on an ActivityFailure link: which activity failed. */
  activity_type?: string;
  activity_id?: string;
}

/**
 * A failed run's Temporal failure as stored in `tasks.error_details` and shown by the admin API. Pure (workflow code
 * builds it in its catch block), bounded (MAX_CAUSES links, every stack MAX_STACK_CHARS) so a pathological error cannot
 * bloat the row.
 */
export interface FailureDetails {
  /** The innermost message: what actually went wrong (the same text as the row's error_message). */
  message: string;
  /** The most specific classification in the chain: the innermost ApplicationFailure's type, else the outer error's. */
  type: string;
  /**
   * The whole trace in one string: the outer error's frames (the workflow's) followed by a `Caused by:` section per
   * link (the activity's frames come from the worker that ran it).
   */
  stack_trace: string;
  /** Why Temporal stopped retrying the failed activity or child workflow (e.g. MAXIMUM_ATTEMPTS_REACHED). */
  retry_state?: string;
  /** Set when the outer error itself is an ActivityFailure (a chain below names its activity in its own link). */
  activity_type?: string;
  activity_id?: string;
  causes: FailureCause[];
}

export const MAX_CAUSES = 8;
export const MAX_STACK_CHARS = 16 * 1024;
const MAX_MESSAGE_CHARS = 4000;

/**
 * Walks `err` and its `cause` chain (ActivityFailure → ApplicationFailure carrying the activity's stack, …).
 * `workflowStack` stands in for an outer error that carries no frames of its own: failures Temporal builds from
 * history (an ActivityFailure) have an empty stack, so the caller passes where the workflow caught it.
 */
export function failureDetails(err: unknown, options: { workflowStack?: string } = {}): FailureDetails {
  const outer = describe(err);
  if (!outer.stack_trace && options.workflowStack) outer.stack_trace = bound(cutoffStackTrace(options.workflowStack), MAX_STACK_CHARS);

  const causes: FailureCause[] = [];
  const seen = new Set<unknown>([err]);
  let cur: unknown = err instanceof Error ? err.cause : undefined;
  let retryState = retryStateOf(err);
  let type: string | undefined;
  let message = outer.message;
  while (cur !== undefined && cur !== null && !seen.has(cur) && causes.length < MAX_CAUSES) {
    seen.add(cur);
    const link = describe(cur);
    causes.push(link);
    if (cur instanceof ApplicationFailure && cur.type) type = link.type;
    retryState ??= retryStateOf(cur);
    // Framework wrappers ("Activity task failed") say nothing; the innermost message with text is the real one.
    if (link.message && !(cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure)) message = link.message;
    cur = cur instanceof Error ? cur.cause : undefined;
  }

  return {
    message,
    type: type ?? outer.type,
    stack_trace: bound(
      [outer.stack_trace || `${outer.type}: ${outer.message}`, ...causes.map((c) => `Caused by: ${c.type}: ${c.message}${c.stack_trace ? `\n${c.stack_trace}` : ''}`)].join('\n'),
      MAX_STACK_CHARS,
    ),
    ...(retryState ? { retry_state: retryState } : {}),
    ...(outer.activity_type ? { activity_type: outer.activity_type } : {}),
    ...(outer.activity_id ? { activity_id: outer.activity_id } : {}),
    causes,
  };
}

function describe(err: unknown): FailureCause {
  if (!(err instanceof Error)) {
    return { type: typeof err, message: bound(safeString(err), MAX_MESSAGE_CHARS), stack_trace: '' };
  }
  const link: FailureCause = {
    type: typeOf(err),
    message: bound(err.message || (err instanceof TimeoutFailure ? `${err.timeoutType} timeout` : ''), MAX_MESSAGE_CHARS),
    // The SDK's own trimming (what it sends to the server): the frames below the user's code are the worker's sandbox.
    stack_trace: bound(cutoffStackTrace(err.stack), MAX_STACK_CHARS),
  };
  if (err instanceof ActivityFailure) {
    link.activity_type = err.activityType;
    if (err.activityId) link.activity_id = err.activityId;
  }
  return link;
}

function typeOf(err: Error): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return err.name || 'Error';
}

function retryStateOf(err: unknown): string | undefined {
  if (err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) return err.retryState ?? undefined;
  return undefined;
}

function bound(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 14)}… (truncated)`;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
