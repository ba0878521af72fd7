import { upsertTaskTransition } from '../db/repositories/task-mirror.repository';
import type { TaskTransition } from '../workflows/contracts/task-workflow';
import type { ActivityDeps } from './deps';

export function createMirrorActivities(deps: ActivityDeps) {
  return {
    /** Run as a local activity by every task workflow at each transition; idempotent thanks to `seq`. */
    async recordTaskTransition(transition: TaskTransition): Promise<boolean> {
      return upsertTaskTransition(deps.orm.em.fork(), transition);
    },
  };
}
