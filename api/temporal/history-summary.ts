import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { failureDetails, type FailureDetails } from '../../workflows/contracts/failure-details';

type HistoryEvent = NonNullable<History['events']>[number];
type ProtoFailure = NonNullable<NonNullable<HistoryEvent['activityTaskFailedEventAttributes']>['failure']>;

/** How many events of each end of the history the summary lists (a persistent job's history may hold thousands). */
export const SUMMARY_EVENTS_EACH_END = 50;

export interface ActivitySummary {
  activity_type: string;
  /** Attempts of every execution of this activity type in the run, the one still retrying included. */
  attempts: number;
  /** The most recent failure of an attempt of this type (also when a later attempt succeeded), or null. */
  last_failure: FailureDetails | null;
}

export interface HistorySummary {
  run_id: string;
  /** Temporal's execution status (the client's names): RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW, TIMED_OUT. */
  status: string;
  event_count: number;
  started_at: string;
  closed_at: string | null;
  activities: ActivitySummary[];
  /** What closed the run (failed, timed out, terminated), or null. */
  failure: FailureDetails | null;
  /** The first and last SUMMARY_EVENTS_EACH_END events, in order (all of them when the history is that short). */
  events: { event_id: number; event_type: string; time: string | null }[];
}

/** Summarizes one run from its description and its full history; pure, so the shape is testable on any history. */
export function summarizeHistory(desc: WorkflowExecutionDescription, history: History, converter: LoadedDataConverter): HistorySummary {
  const events = history.events ?? [];
  const toDetails = (failure: ProtoFailure | null | undefined): FailureDetails | null =>
    failure ? failureDetails(converter.failureConverter.failureToError(failure, converter.payloadConverter)) : null;

  // Temporal writes an activity's Started event only once its last attempt ends, with that attempt's number; an
  // activity still retrying shows up in the description's pending activities instead.
  const typeOfScheduled = new Map<string, string>();
  const byType = new Map<string, ActivitySummary>();
  const entry = (type: string) => {
    let e = byType.get(type);
    if (!e) byType.set(type, (e = { activity_type: type, attempts: 0, last_failure: null }));
    return e;
  };
  let failure: FailureDetails | null = null;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const type = scheduled.activityType?.name ?? 'unknown';
      typeOfScheduled.set(String(event.eventId), type);
      entry(type);
      continue;
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const e = entry(typeOfScheduled.get(String(started.scheduledEventId)) ?? 'unknown');
      e.attempts += Math.max(1, started.attempt ?? 1);
      if (started.lastFailure) e.last_failure = toDetails(started.lastFailure);
      continue;
    }
    const ended = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (ended?.failure) {
      entry(typeOfScheduled.get(String(ended.scheduledEventId)) ?? 'unknown').last_failure = toDetails(ended.failure);
      continue;
    }
    if (event.workflowExecutionFailedEventAttributes) failure = toDetails(event.workflowExecutionFailedEventAttributes.failure);
    else if (event.workflowExecutionTimedOutEventAttributes) {
      failure = { message: 'The workflow run timed out in Temporal', type: 'TimeoutFailure', stack_trace: '', causes: [] };
    } else if (event.workflowExecutionTerminatedEventAttributes) {
      const { reason, identity } = event.workflowExecutionTerminatedEventAttributes;
      failure = {
        message: `Terminated${identity ? ` by ${identity}` : ''}${reason ? `: ${reason}` : ''}`,
        type: 'TerminatedFailure',
        stack_trace: '',
        causes: [],
      };
    }
  }
  for (const pending of desc.raw.pendingActivities ?? []) {
    const e = entry(pending.activityType?.name ?? 'unknown');
    e.attempts += Math.max(1, pending.attempt ?? 1);
    if (pending.lastFailure) e.last_failure = toDetails(pending.lastFailure);
  }

  const listed =
    events.length <= 2 * SUMMARY_EVENTS_EACH_END
      ? events
      : [...events.slice(0, SUMMARY_EVENTS_EACH_END), ...events.slice(-SUMMARY_EVENTS_EACH_END)];
  return {
    run_id: desc.runId,
    status: desc.status.name,
    event_count: events.length,
    started_at: desc.startTime.toISOString(),
    closed_at: desc.closeTime?.toISOString() ?? null,
    activities: [...byType.values()],
    failure,
    events: listed.map((event) => ({
      event_id: Number(event.eventId),
      event_type: eventTypeName(event),
      time: optionalTsToDate(event.eventTime)?.toISOString() ?? null,
    })),
  };
}

/**
 * `WorkflowExecutionStarted`, `ActivityTaskFailed`, ... (the names the Web UI shows): each event carries exactly one
 * `<name>EventAttributes` field, so the name comes from it rather than from the proto enum's numbering.
 */
function eventTypeName(event: HistoryEvent): string {
  for (const [key, value] of Object.entries(event)) {
    if (value && key.endsWith('EventAttributes')) return key.charAt(0).toUpperCase() + key.slice(1, -'EventAttributes'.length);
  }
  return `EventType${event.eventType ?? ''}`;
}
