import type { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobBatchInput } from '../../workflows/contracts/job-types';
import type { ActivityDeps } from '../deps';

export interface JobRunContext {
  deps: ActivityDeps;
  em: EntityManager;
  input: JobBatchInput;
  activity: Context;
  /** True until the first item of this activity attempt: resumable side effects re-align on it (e.g. truncate a file). */
  firstInAttempt: boolean;
}

/**
 * One persistent job type, on the activity side. State is plain JSON: it is checkpointed (with a checksum) and
 * handed from batch to batch, so every method must be restartable from any state it ever returned.
 */
export interface JobRunner {
  init(ctx: JobRunContext): Promise<Record<string, unknown>>;
  step(state: Record<string, unknown>): string;
  total(state: Record<string, unknown>): number | null;
  /** Processes the next item (or a small group of items) and says how many, and whether the job is done. */
  processNext(state: Record<string, unknown>, ctx: JobRunContext): Promise<{ state: Record<string, unknown>; processed: number; done: boolean }>;
  result?(state: Record<string, unknown>): Record<string, unknown>;
}

/** Sleeps in slices, heartbeating, so cancellation (pause) lands within a second even inside a long item. */
export async function workFor(activity: Context, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await activity.sleep(Math.min(500, until - Date.now()));
    activity.heartbeat();
  }
}
