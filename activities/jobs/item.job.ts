import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { recordJobItem } from '../../db/repositories/persistent-job.repository';
import { itemJobDataSchema } from '../../workflows/contracts/job-types';
import { workFor, type JobRunner } from './job-runner';

/** Items without work (`item_ms: 0`) are recorded this many at a time. */
const INSTANT_GROUP = 50;

interface ItemState extends Record<string, unknown> {
  step: 'processing';
  next: number;
  total: number;
  /** Items whose requested failure already happened (so a resumed job gets past them). */
  failed: number[];
}

/**
 * The reference job: items 0…N-1, each one recorded in the item ledger (`persistent_job_items`) as its side effect.
 * The ledger's `attempts` column is how tests prove that no item was processed twice and none was skipped.
 */
export const itemJob: JobRunner = {
  async init(ctx) {
    const data = itemJobDataSchema.parse(ctx.input.jobData);
    return { step: 'processing', next: 0, total: data.total_items, failed: [] } satisfies ItemState;
  },
  step: () => 'processing',
  total: (state) => (state as ItemState).total,
  async processNext(raw, ctx) {
    const state = raw as ItemState;
    const data = itemJobDataSchema.parse(ctx.input.jobData);
    const i = state.next;
    if (i >= state.total) return { state, processed: 0, done: true };
    if (data.fail_at_item === i && !state.failed.includes(i)) {
      throw new RequestedItemFailure(i, { ...state, failed: [...state.failed, i] });
    }
    if (data.item_ms) {
      await workFor(ctx.activity, data.item_ms * ctx.deps.config.JOB_TIME_SCALE);
      await recordJobItem(ctx.em, ctx.input.jobId, ctx.input.generation, [i]);
      const next = { ...state, next: i + 1 };
      return { state: next, processed: 1, done: next.next >= state.total };
    }
    // Instant items go by the group (one statement), stopping before an item that must fail.
    let end = Math.min(state.total, i + INSTANT_GROUP);
    if (data.fail_at_item !== undefined && data.fail_at_item > i && data.fail_at_item < end && !state.failed.includes(data.fail_at_item)) end = data.fail_at_item;
    const indexes = Array.from({ length: end - i }, (_, k) => i + k);
    await recordJobItem(ctx.em, ctx.input.jobId, ctx.input.generation, indexes);
    const next = { ...state, next: end };
    return { state: next, processed: indexes.length, done: end >= state.total };
  },
  result: (state) => ({ items: (state as ItemState).total }),
};

/** Carries the state to checkpoint before failing, so that a resume gets past the item that failed on request. */
export class RequestedItemFailure extends Error {
  constructor(
    readonly item: number,
    readonly stateAfter: Record<string, unknown>,
  ) {
    super(`item ${item} failed on request (fail_at_item)`);
  }

  toFailure(): ApplicationFailure {
    return ApplicationFailure.nonRetryable(this.message, 'JOB_ITEM_FAILED');
  }
}

/**
 * The item job's resumable state, as a manual checkpoint (`POST /tasks/persistent-jobs/checkpoints/`) must give it:
 * the next item to process, the total, and the items whose requested failure already happened.
 */
export const itemJobStateSchema = z
  .object({
    step: z.literal('processing'),
    next: z.number().int().min(0),
    total: z.number().int().min(1).max(10_000_000),
    failed: z.array(z.number().int().min(0)).max(10_000).default([]),
  })
  .strict()
  .refine((s) => s.next <= s.total, { message: 'next cannot be greater than total', path: ['next'] });
