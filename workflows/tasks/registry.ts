import type { z } from 'zod';
import type { AppConfig } from '../../api/config';
import { SEED_TASK_TYPES, type TaskTypeName } from '../contracts/task-types';
import { dataExportContextSchema } from './data-export';
import { httpRequestContextSchema } from './http-request';
import { noopContextSchema } from './noop';
// @family-imports:seo
// @family-imports:site
// @family-imports:content
// @family-imports:data

export interface TaskTypeDescriptor {
  /** The workflow type name, exported under this name from workflows/index.ts. */
  name: string;
  label: string;
  category: 'platform' | 'seo' | 'content' | 'site' | 'data';
  /** Validates `context_data` at the API (400 on creation) and again in the workflow. */
  contextSchema: z.ZodType;
  /** Settings the type cannot run without (e.g. an AI endpoint); unset → creation refused with TASK_TYPE_NOT_CONFIGURED. */
  requiredConfig?: readonly (keyof AppConfig)[];
}

/**
 * The one place a task type is registered (with its workflow export in workflows/index.ts).
 * The API validates against it; a seed type missing here is refused with TASK_TYPE_NOT_AVAILABLE.
 */
export const TASK_TYPE_REGISTRY: Record<string, TaskTypeDescriptor> = {
  noop: { name: 'noop', label: 'No-op (probe and benchmark)', category: 'platform', contextSchema: noopContextSchema },
  http_request: {
    name: 'http_request',
    label: 'Durable HTTP request / webhook',
    category: 'platform',
    contextSchema: httpRequestContextSchema,
  },
  data_export: { name: 'data_export', label: 'Data export', category: 'data', contextSchema: dataExportContextSchema },
  // @family:seo (seo_keyword_analysis, seo_competitor_analysis, seo_content_audit)
  // @family:site (website_structure_analysis, page_performance_audit, sitemap_generation)
  // @family:content (ai_content_generation, content_optimization, meta_tags_generation)
  // @family:data (report_generation, bulk_operations)
};

export function getTaskType(name: string): TaskTypeDescriptor | undefined {
  return Object.hasOwn(TASK_TYPE_REGISTRY, name) ? TASK_TYPE_REGISTRY[name] : undefined;
}

/**
 * Adds a type at runtime (tests, extensions): the API accepts it at once, nothing else changes. Its workflow
 * must be in the worker's bundle and its activities registered with the worker.
 */
export function registerTaskType(descriptor: TaskTypeDescriptor): void {
  TASK_TYPE_REGISTRY[descriptor.name] = descriptor;
}

export function availableTaskTypes(): string[] {
  return Object.keys(TASK_TYPE_REGISTRY);
}

/** Seed types not built yet: known names, refused with TASK_TYPE_NOT_AVAILABLE rather than as unknown. */
export function plannedTaskTypes(): TaskTypeName[] {
  return SEED_TASK_TYPES.filter((t) => !Object.hasOwn(TASK_TYPE_REGISTRY, t));
}

export function isKnownTaskType(name: string): boolean {
  return Object.hasOwn(TASK_TYPE_REGISTRY, name) || (SEED_TASK_TYPES as readonly string[]).includes(name);
}
