import { recordFiring, setNextRunAt, wasTriggeredManually } from '../db/repositories/periodic-task.repository';
import { upsertTaskTransition } from '../db/repositories/task-mirror.repository';
import { lastRunStatusOf } from '../workflows/contracts/schedules';
import { TERMINAL_STATUSES } from '../workflows/contracts/task-types';
import { finalizeTaskMetrics } from './metrics/task-metrics';
import type { TaskStatus } from '../workflows/contracts/task-types';
import type { TaskTransition } from '../workflows/contracts/task-workflow';
import type { ActivityDeps } from './deps';
import { observeTaskTransition } from './observability';

export function createMirrorActivities(deps: ActivityDeps) {
  return {
    /**
     * Run as a local activity by every task workflow at each transition; idempotent thanks to `seq`. A Schedule's
     * firing also records itself as its schedule's last run and refreshes the schedule's next run time from Temporal.
     */
    async recordTaskTransition(transition: TaskTransition): Promise<boolean> {
      const em = deps.orm.em.fork();
      const landed = await upsertTaskTransition(em, transition);
      if (landed) observeTaskTransition(transition);
      const { input } = transition;
      if (TERMINAL_STATUSES.includes(transition.status as TaskStatus)) {
        // The task's end: its measured activity attempts become its metrics row (and the rollups) in one transaction.
        // Also when the row was already written: a retry of this local activity after the metrics write failed must
        // not lose them (the write replaces its own contribution, so repeating it is harmless).
        await finalizeTaskMetrics(em, deps.config, input, transition.status, transition.completedAt ?? new Date().toISOString());
      }
      if (input.schedule && input.scheduledFor && landed) {
        const missed = transition.resultData?.missed === true;
        await recordFiring(em, {
          scheduleId: input.schedule.scheduleId,
          scheduledFor: input.scheduledFor,
          taskId: input.taskId,
          status: lastRunStatusOf(transition.status as TaskStatus, missed),
        });
        // Temporal lists the next times of a paused Schedule too: after a run (an execute-now while paused), the next
        // time it will miss is the one ready-for-execution reports once it passes.
        const live = await deps.schedules.describe(input.schedule.scheduleId).catch(() => null);
        if (live) await setNextRunAt(em, input.schedule.scheduleId, live.nextActionTimes[0]?.toISOString() ?? null);
      }
      return landed;
    },

    /** Asked by a late firing before it declares itself missed: a run triggered through the API is never late. */
    async isManualFiring(input: { scheduleId: string; scheduledFor: string }): Promise<boolean> {
      return wasTriggeredManually(deps.orm.em.fork(), input.scheduleId, input.scheduledFor);
    },
  };
}
