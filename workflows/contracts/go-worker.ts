/**
 * The contract between the TypeScript task workflows and the Go worker (workers/go): where its activities are
 * scheduled and what they take and return. Workflows cannot read the environment, so the queue is derived from the
 * workflow's own task queue: a deployment (or a test) that runs the TS worker on queue Q runs the Go worker on Q-go.
 */
export const GO_TASK_QUEUE_SUFFIX = '-go';

export function goWorkerTaskQueue(taskQueue: string): string {
  return `${taskQueue}${GO_TASK_QUEUE_SUFFIX}`;
}

/** Input of `computeTextStatistics` (workers/go/text_statistics_activity.go, JSON in snake_case). */
export interface TextStatisticsInput {
  text: string;
  top_words: number;
}

export interface TextStatisticsResult {
  characters: number;
  bytes: number;
  words: number;
  unique_words: number;
  lines: number;
  top_words: { word: string; count: number }[];
  /** Always "go": which runtime did the work. */
  runtime: string;
  runtime_version: string;
  worker_identity: string;
}

/** Activities served by the Go worker, by the names it registers them under. */
export interface GoWorkerActivities {
  computeTextStatistics(input: TextStatisticsInput): Promise<TextStatisticsResult>;
}
