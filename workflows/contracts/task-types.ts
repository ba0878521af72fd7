/**
 * Task type names, statuses and priorities: the vocabulary shared by the API, the workflows and the mirror.
 * Pure data only: this folder is imported by workflow code and must stay free of I/O.
 */

/** The twelve task types of seed 001, in its order. */
export const SEED_TASK_TYPES = [
  'seo_keyword_analysis',
  'seo_competitor_analysis',
  'seo_content_audit',
  'ai_content_generation',
  'content_optimization',
  'meta_tags_generation',
  'website_structure_analysis',
  'page_performance_audit',
  'sitemap_generation',
  'data_export',
  'report_generation',
  'bulk_operations',
] as const;

/**
 * Platform types that are not in the seed: `noop` for benchmarks and probes, `http_request` for durable webhooks,
 * `generic` for tasks created through the public API without a type (seed 003).
 */
export const PLATFORM_TASK_TYPES = ['noop', 'http_request', 'generic'] as const;

export const ALL_TASK_TYPES = [...SEED_TASK_TYPES, ...PLATFORM_TASK_TYPES] as const;
export type TaskTypeName = (typeof ALL_TASK_TYPES)[number];

/**
 * Names the seeds' examples use for two of the twelve types (`POST /tasks/ {"task_type": "seo_audit"}` in seed
 * 000's first flow). Accepted on input and stored under the canonical name; any other unknown name is a 400.
 */
export const TASK_TYPE_ALIASES: Readonly<Record<string, TaskTypeName>> = {
  seo_audit: 'seo_content_audit',
  seo_analysis: 'seo_keyword_analysis',
};

export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'paused'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'paused'];
/** Statuses from which `retry/` may start a new run. */
export const RETRYABLE_STATUSES: readonly TaskStatus[] = ['failed', 'cancelled'];
/** Statuses in which a task's priority, description and context may still change. */
export const EDITABLE_STATUSES: readonly TaskStatus[] = ['pending'];
export const CANCELLABLE_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'paused'];

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** Ordering rank stored in the mirror so `ordering=priority` sorts by importance, not alphabetically. */
export const PRIORITY_LEVEL: Record<TaskPriority, number> = { low: 1, normal: 2, high: 3, critical: 4 };

/**
 * Temporal task priority key: lower runs first (1 is the highest). Temporal's default key is 3,
 * so `normal` maps to it and untagged work interleaves with normal tasks.
 */
export const TEMPORAL_PRIORITY_KEY: Record<TaskPriority, number> = { critical: 1, high: 2, normal: 3, low: 4 };

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
