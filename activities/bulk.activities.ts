import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { AppError, ErrorCode } from '../api/errors';
import { TaskService, type Actor } from '../api/services/task.service';
import { findBulkActor, findTasksByFilter, findTasksByRefs } from '../db/repositories/task-bulk.repository';
import {
  BULK_MAX_TARGETS,
  type BulkBatchInput,
  type BulkFilter,
  type BulkItemOutcome,
  type BulkItemResult,
  type BulkOperation,
  type BulkTarget,
  type BulkTargets,
} from '../workflows/tasks/bulk-operations';
import type { TaskPriority } from '../workflows/contracts/task-types';
import type { ActivityDeps } from './deps';
import { createProgressReporter, startHeartbeat } from './progress';

/** Heartbeat details of a batch: the items already processed, so a retried attempt does not redo them. */
interface BatchCheckpoint {
  results: BulkItemResult[];
}

/** While one item waits (a cancel waits up to 5 s for the target to stop), keep heartbeating at this pace. */
const KEEPALIVE_MS = 500;
const MAX_REASON = 500;

export function createBulkActivities(deps: ActivityDeps) {
  return {
    /**
     * The targets of a bulk operation, in the bulk task's brand: the given references in their order (deduplicated,
     * unknown ones kept so they are reported as TASK_NOT_FOUND), or the tasks matching the filter in id order,
     * without the bulk task itself, at most BULK_MAX_TARGETS.
     */
    async resolveBulkTargets(input: {
      brandId: number;
      createdById: number;
      selfTaskId: string;
      taskIds: string[] | null;
      filter: BulkFilter | null;
    }): Promise<BulkTargets> {
      const em = deps.orm.em.fork();
      const who = await findBulkActor(em, input.createdById, input.brandId);
      if (!who) throw ApplicationFailure.nonRetryable(`User ${input.createdById} or brand ${input.brandId} no longer exists`, 'BULK_ACTOR_MISSING');
      const actor = { userId: input.createdById, username: who.username, brandId: input.brandId, brandName: who.brand_name };

      if (input.filter) {
        const rows = await findTasksByFilter(em, input.brandId, input.filter, input.selfTaskId, BULK_MAX_TARGETS + 1);
        return {
          targets: rows.slice(0, BULK_MAX_TARGETS).map((r) => ({ ref: r.task_id, id: r.id, task_id: r.task_id })),
          truncated: rows.length > BULK_MAX_TARGETS,
          actor,
        };
      }
      const refs = (input.taskIds ?? []).slice(0, BULK_MAX_TARGETS);
      const rows = await findTasksByRefs(em, input.brandId, refs);
      const byRef = new Map<string, { id: number; task_id: string }>();
      for (const r of rows) {
        byRef.set(String(r.id), r);
        byRef.set(r.task_id, r);
      }
      const seen = new Set<string>();
      const targets: BulkTarget[] = [];
      for (const ref of refs) {
        const row = byRef.get(ref);
        const key = row ? row.task_id : `ref:${ref}`;
        if (seen.has(key)) continue;
        seen.add(key);
        targets.push(row ? { ref, id: row.id, task_id: row.task_id } : { ref, id: null, task_id: null });
      }
      return { targets, truncated: (input.taskIds?.length ?? 0) > BULK_MAX_TARGETS, actor };
    },

    /**
     * One batch: each item through TaskService (the REST API's rules, the bulk task's creator as actor), a heartbeat
     * with the results so far after each item, progress = items processed / total.
     */
    async processBulkBatch(input: BulkBatchInput): Promise<BulkItemResult[]> {
      const ctx = Context.current();
      const report = createProgressReporter(deps);
      const service = new TaskService({ orm: deps.orm, tasks: deps.tasks, config: deps.config });
      const actor: Actor = { ...input.actor, requestId: null };
      const results = [...((ctx.info.heartbeatDetails as BatchCheckpoint | undefined)?.results ?? [])];
      const progress = () => ((input.offset + results.length) / Math.max(1, input.total)) * 100;

      for (const target of input.targets.slice(results.length)) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('Bulk operation cancelled');
        const stopBeat = startHeartbeat(KEEPALIVE_MS, () => ({ results }) satisfies BatchCheckpoint);
        try {
          results.push(await processItem(service, actor, input, target));
        } finally {
          stopBeat();
        }
        await report(Math.min(99, progress()), { results } satisfies BatchCheckpoint);
      }
      return results;
    },
  };
}

async function processItem(service: TaskService, actor: Actor, input: BulkBatchInput, target: BulkTarget): Promise<BulkItemResult> {
  const numeric = /^\d+$/.test(target.ref);
  const item = {
    task_id: target.task_id ?? (numeric ? null : target.ref),
    id: target.id ?? (numeric ? Number(target.ref) : null),
  };
  if (target.task_id === input.selfTaskId) {
    return { ...item, outcome: 'skipped', error_code: ErrorCode.INVALID_OPERATION, reason: `${ErrorCode.INVALID_OPERATION}: a bulk operation never applies to its own task` };
  }
  const ref = target.task_id ?? target.ref;
  return { ...item, ...(await outcomeOf(() => applyTaskOperation(service, actor, ref, input))) };
}

/** One job through TaskService, with exactly the REST API's rules (and its audit rows) for that operation. */
export async function applyTaskOperation(
  service: TaskService,
  actor: Actor,
  ref: string,
  op: { operation: BulkOperation; reason: string | null; newPriority: TaskPriority | null },
): Promise<void> {
  switch (op.operation) {
    case 'cancel':
      await service.cancel(actor, ref, op.reason ?? undefined);
      break;
    case 'retry':
      await service.retry(actor, ref, { reset_progress: true, clear_errors: true });
      break;
    case 'reprioritize':
      if (!op.newPriority) throw ApplicationFailure.nonRetryable('new_priority is required to reprioritize', ErrorCode.INVALID_TASK_INPUT);
      await service.update(actor, ref, { priority: op.newPriority });
      break;
  }
}

export interface ItemOutcome {
  outcome: BulkItemOutcome;
  /** The API's error_code, for a skipped item. */
  error_code?: string;
  /** `ERROR_CODE: detail` for a skipped item (the API's answer), the error message for a failed one. */
  reason?: string;
}

/**
 * The outcome of one item of a bulk: done; skipped when the API's rules refuse it (an AppError, as the REST API
 * would answer); failed on any other error, so one broken item never stops the others. A non-retryable
 * ApplicationFailure means the bulk itself is wrong: it stops the activity.
 */
export async function outcomeOf(apply: () => Promise<unknown>): Promise<ItemOutcome> {
  try {
    await apply();
    return { outcome: 'done' };
  } catch (err) {
    if (err instanceof AppError) {
      return { outcome: 'skipped', error_code: err.code, reason: `${err.code}: ${err.detail}`.slice(0, MAX_REASON) };
    }
    if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
    return { outcome: 'failed', reason: (err instanceof Error ? err.message : String(err)).slice(0, MAX_REASON) };
  }
}
