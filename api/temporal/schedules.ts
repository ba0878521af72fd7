import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSummary,
} from '@temporalio/client';
import { msNumberToTs, tsToDate } from '@temporalio/common/lib/time';
import { BrandIdKey, TaskPriorityKey, TaskTypeKey } from '../../workflows/contracts/search-attributes';
import { firingWorkflowIdPrefix, SCHEDULE_ID_PREFIX, type OverlapPolicyName } from '../../workflows/contracts/schedules';
import type { TaskWorkflowInput } from '../../workflows/contracts/task-workflow';

/** Temporal refuses a catch-up window under 10 s; ours can be shorter (the firing itself enforces it). */
const TEMPORAL_MIN_CATCHUP_SECONDS = 10;

const OVERLAP: Record<OverlapPolicyName, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

/** Everything a Schedule is made of, in our terms (built by the scheduling service, see schedule-spec.ts). */
export interface ScheduleDefinition {
  scheduleId: string;
  /** Temporal cron strings (5 fields, or 7 with seconds and year), read in `timezone`. */
  cronStrings: string[];
  /** Extra fire times (DST compensation), in `timezone`. */
  calendars: CalendarSpec[];
  /** Times never to fire at (business calendars), in `timezone`. */
  skip: CalendarSpec[];
  timezone: string;
  startAt: Date | null;
  endAt: Date | null;
  jitterSeconds: number;
  overlap: OverlapPolicyName;
  catchupWindowSeconds: number;
  paused: boolean;
  note: string | null;
  /** The firing input (taskId empty, `schedule` link set). */
  input: TaskWorkflowInput;
  /** The row's definition, kept in the Schedule's memo so the mirror row can be rebuilt from Temporal. */
  memo: Record<string, unknown>;
}

export interface ScheduleSnapshot {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  nextActionTimes: Date[];
  numActionsTaken: number;
  numActionsSkippedOverlap: number;
  numActionsMissedCatchupWindow: number;
  recentActions: { scheduledAt: Date; takenAt: Date; workflowId: string }[];
  runningWorkflowIds: string[];
  memo: Record<string, unknown> | undefined;
}

/**
 * The API's (and activities') only door to Temporal Schedules. Every periodic task and cron job is one Schedule whose
 * action starts the task workflow of its type on the task queue, visible and controllable in the Temporal Web UI.
 */
export class ScheduleGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly namespace: string,
  ) {}

  private options(def: ScheduleDefinition): ScheduleOptions {
    const { input } = def;
    return {
      scheduleId: def.scheduleId,
      spec: {
        cronExpressions: def.cronStrings,
        calendars: def.calendars,
        skip: def.skip,
        timezone: def.timezone,
        startAt: def.startAt ?? undefined,
        endAt: def.endAt ?? undefined,
        jitter: def.jitterSeconds > 0 ? def.jitterSeconds * 1000 : undefined,
      },
      action: {
        type: 'startWorkflow',
        workflowType: input.taskType,
        workflowId: firingWorkflowIdPrefix(def.scheduleId),
        taskQueue: this.taskQueue,
        args: [input],
        typedSearchAttributes: [
          { key: TaskTypeKey, value: input.taskType },
          { key: BrandIdKey, value: String(input.brandId) },
          { key: TaskPriorityKey, value: input.priority },
        ],
        staticSummary: input.description ? input.description.slice(0, 200) : undefined,
      },
      policies: {
        overlap: OVERLAP[def.overlap],
        catchupWindow: Math.max(def.catchupWindowSeconds, TEMPORAL_MIN_CATCHUP_SECONDS) * 1000,
        pauseOnFailure: false,
      },
      state: { paused: def.paused, note: def.note ?? undefined },
      memo: { periodic: def.memo },
      typedSearchAttributes: [
        { key: TaskTypeKey, value: input.taskType },
        { key: BrandIdKey, value: String(input.brandId) },
      ],
    };
  }

  /** Creates the Schedule; `alreadyExisted` when one with this id exists (an idempotent replay). */
  async create(def: ScheduleDefinition): Promise<{ alreadyExisted: boolean }> {
    try {
      await this.client.schedule.create(this.options(def));
      return { alreadyExisted: false };
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) return { alreadyExisted: true };
      throw err;
    }
  }

  /**
   * Replaces spec, action and policies. The pause state changes only when `paused` is given (a pause made in the Web UI
   * meanwhile is kept). The memo cannot be updated through the SDK: it keeps the definition as created.
   */
  async update(def: Omit<ScheduleDefinition, 'paused'> & { paused: boolean | undefined }): Promise<void> {
    const next = this.options({ ...def, paused: def.paused ?? false });
    await this.client.schedule.getHandle(def.scheduleId).update((prev) => ({
      ...prev,
      spec: next.spec,
      action: next.action as typeof prev.action,
      policies: next.policies as typeof prev.policies,
      state: def.paused === undefined ? prev.state : { ...prev.state, paused: def.paused, note: def.note ?? prev.state.note },
    }));
  }

  async describe(scheduleId: string): Promise<ScheduleSnapshot | null> {
    try {
      return snapshotOf(scheduleId, await this.client.schedule.getHandle(scheduleId).describe());
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return null;
      throw err;
    }
  }

  async pause(scheduleId: string, note: string): Promise<void> {
    await this.client.schedule.getHandle(scheduleId).pause(note);
  }

  async unpause(scheduleId: string, note: string): Promise<void> {
    await this.client.schedule.getHandle(scheduleId).unpause(note);
  }

  /** Fires now; `overlap` overrides the schedule's policy for this one firing. */
  async trigger(scheduleId: string, overlap?: OverlapPolicyName): Promise<void> {
    await this.client.schedule.getHandle(scheduleId).trigger(overlap ? OVERLAP[overlap] : undefined);
  }

  /** Deletes the Schedule; false when it did not exist (already deleted). Firings already started keep running. */
  async delete(scheduleId: string): Promise<boolean> {
    try {
      await this.client.schedule.getHandle(scheduleId).delete();
      return true;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return false;
      throw err;
    }
  }

  /** Every Schedule this platform created (id prefix), for the reconciler. */
  async *list(): AsyncGenerator<ScheduleSummary> {
    for await (const s of this.client.schedule.list()) {
      if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) yield s;
    }
  }

  /** Times the Schedule's spec matches in [from, to] (Temporal's own computation: skip specs and DST included). */
  async matchingTimes(scheduleId: string, from: Date, to: Date): Promise<Date[]> {
    const res = await this.client.workflowService.listScheduleMatchingTimes({
      namespace: this.namespace,
      scheduleId,
      startTime: msNumberToTs(from.getTime()),
      endTime: msNumberToTs(to.getTime()),
    });
    return (res.startTime ?? []).map((t) => tsToDate(t));
  }
}

function snapshotOf(scheduleId: string, d: ScheduleDescription): ScheduleSnapshot {
  return {
    scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextActionTimes: d.info.nextActionTimes,
    numActionsTaken: d.info.numActionsTaken,
    numActionsSkippedOverlap: d.info.numActionsSkippedOverlap,
    numActionsMissedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    recentActions: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt,
      takenAt: a.takenAt,
      workflowId: a.action.workflow.workflowId,
    })),
    runningWorkflowIds: d.info.runningActions.map((a) => a.workflow.workflowId),
    memo: d.memo?.periodic as Record<string, unknown> | undefined,
  };
}
