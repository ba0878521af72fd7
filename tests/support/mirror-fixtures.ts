import type { EntityManager } from '@mikro-orm/postgresql';
import { upsertTaskTransition } from '../../db/repositories/task-mirror.repository';
import type { TaskPriority, TaskStatus } from '../../workflows/contracts/task-types';
import { mirrorSeq, runOf, type TaskWorkflowInput } from '../../workflows/contracts/task-workflow';

let n = 0;

export interface MirrorRowSpec {
  status: TaskStatus;
  priority?: TaskPriority;
  taskType?: string;
  description?: string;
  createdAt?: Date;
  /** Seconds between started_at and completed_at for finished rows. */
  durationSeconds?: number;
  retryCount?: number;
  contextData?: Record<string, unknown>;
}

/**
 * Writes mirror rows directly (no workflow), through the same repository the workflows use: for list, filter
 * and stats tests that need exact, known data.
 */
export async function insertMirrorRows(
  em: EntityManager,
  scope: { brandId: number; userId: number },
  specs: MirrorRowSpec[],
): Promise<TaskWorkflowInput[]> {
  const inputs: TaskWorkflowInput[] = [];
  for (const spec of specs) {
    const createdAt = spec.createdAt ?? new Date();
    const input: TaskWorkflowInput = {
      taskId: `task_fixture_${process.pid}_${Date.now()}_${n++}`,
      brandId: scope.brandId,
      createdById: scope.userId,
      taskType: spec.taskType ?? 'noop',
      priority: spec.priority ?? 'normal',
      description: spec.description ?? '',
      contextData: spec.contextData ?? {},
      maxRetries: 3,
      retryCount: spec.retryCount ?? 0,
      timeoutMinutes: null,
      scheduledFor: null,
      createdAt: createdAt.toISOString(),
    };
    const finished = ['completed', 'failed', 'cancelled'].includes(spec.status);
    const started = spec.status !== 'pending';
    await upsertTaskTransition(em, {
      input,
      seq: mirrorSeq(runOf(input), finished ? 'finished' : started ? 'running' : 'pending'),
      status: spec.status,
      startedAt: started ? createdAt.toISOString() : null,
      completedAt: finished ? new Date(createdAt.getTime() + (spec.durationSeconds ?? 60) * 1000).toISOString() : null,
      progressPercentage: spec.status === 'completed' ? 100 : 0,
      errorMessage: spec.status === 'failed' ? 'fixture failure' : null,
    });
    inputs.push(input);
  }
  return inputs;
}
