import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import { dataExportContextSchema } from '../tasks/data-export';
import { sitemapGenerationContextSchema } from '../tasks/sitemap-generation';
import type { TaskWorkflowInput } from './task-workflow';

/**
 * Persistent job types: which task types can run as a long, checkpointed job, their steps and their `job_data`.
 * The job's data is the base task's `context_data` overlaid with the job's `job_data`, validated by this schema.
 */
export const itemJobDataSchema = z
  .object({
    total_items: z.number().int().min(1).max(10_000_000),
    /** Work per item (a cancellable wait), to make jobs of any length; 0 for pure bookkeeping. */
    item_ms: z.number().int().min(0).max(3_600_000).default(0),
    /** Fail when this item is reached (once per run), to exercise resume after failure. */
    fail_at_item: z.number().int().min(0).optional(),
  })
  .strict();

export const JOB_TYPES = {
  /** Numbered items, each recorded once in the item ledger: the reference job (seed 000 flow 2: `{"total_items": 1000}`). */
  noop: { label: 'Item job', steps: ['processing'], dataSchema: itemJobDataSchema },
  /** The brand's tasks exported row by row; resumable at row k (the file is truncated back to the checkpoint). */
  data_export: { label: 'Large data export', steps: ['snapshot', 'export', 'finalization'], dataSchema: dataExportContextSchema },
  /** A site crawl over many pages that publishes a sitemap; resumable at page k (frontier and seen set checkpointed). */
  sitemap_generation: { label: 'Site crawl and sitemap', steps: ['crawl', 'write'], dataSchema: sitemapGenerationContextSchema },
} as const satisfies Record<string, { label: string; steps: readonly string[]; dataSchema: z.ZodType }>;

export type JobTypeName = keyof typeof JOB_TYPES;

export function isJobType(name: string): name is JobTypeName {
  return Object.hasOwn(JOB_TYPES, name);
}

export const jobSettingsSchema = z
  .object({
    /** Items per activity call; the job stops at the next item boundary on pause whatever this is. */
    batch_size: z.number().int().min(1).max(10_000).default(100),
    /** A checkpoint every N items (0: only at pauses, step boundaries and batch ends that need one). */
    checkpoint_every_items: z.number().int().min(0).max(1_000_000).default(100),
    checkpoint_every_seconds: z.number().min(0).max(3600).default(30),
    /** History stays bounded: the workflow continues as new after this many batches. */
    continue_as_new_after_batches: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
export type JobSettings = z.infer<typeof jobSettingsSchema>;

export interface JobWorkflowInput {
  /** The base task's workflow input: the job runs as a new run of the task's workflow id. */
  task: TaskWorkflowInput;
  jobId: number;
  jobType: JobTypeName;
  jobData: Record<string, unknown>;
  generation: number;
  settings: JobSettings;
  /** Set by continue-as-new: where the previous run of this job execution stopped. */
  carried?: JobCarriedState;
}

export interface JobCarriedState {
  itemsDone: number;
  itemsTotal: number | null;
  step: string | null;
  /** Inline resumable state when small; null means: load the newest valid checkpoint. */
  state: Record<string, unknown> | null;
  toggles: number;
  runsSoFar: number;
  startedAt: string;
}

export interface JobBatchInput {
  jobId: number;
  taskId: string;
  brandId: number;
  jobType: JobTypeName;
  jobData: Record<string, unknown>;
  generation: number;
  settings: JobSettings;
  state: Record<string, unknown> | null;
  itemsDone: number;
}

export interface JobBatchResult {
  done: boolean;
  step: string;
  itemsDone: number;
  itemsTotal: number | null;
  /** Items per second measured over this batch. */
  throughput: number | null;
  state: Record<string, unknown> | null;
  checkpointsWritten: number;
  result?: Record<string, unknown>;
}

export interface JobProgressView {
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  paused: boolean;
  step: string | null;
  itemsDone: number;
  itemsTotal: number | null;
  runsSoFar: number;
  historyLength: number;
}

export const pauseJobSignal = defineSignal<[{ reason?: string }?]>('pauseJob');
export const resumeJobSignal = defineSignal<[]>('resumeJob');
export const jobProgressQuery = defineQuery<JobProgressView>('jobProgress');

/** The workflow type every persistent job runs as (on its base task's workflow id). */
export const JOB_WORKFLOW_TYPE = 'persistent_job';
