import type { z } from 'zod';
import type { AppConfig } from '../../api/config';
import { SEED_TASK_TYPES, type TaskTypeName } from '../contracts/task-types';
import { dataExportContextSchema } from './data-export';
import { httpRequestContextSchema } from './http-request';
import { noopContextSchema } from './noop';
import { genericContextSchema } from './generic';
import { seoCompetitorAnalysisContextSchema } from './seo-competitor-analysis';
import { seoContentAuditContextSchema } from './seo-content-audit';
import { seoKeywordAnalysisContextSchema } from './seo-keyword-analysis';
import { pagePerformanceAuditContextSchema } from './page-performance-audit';
import { sitemapGenerationContextSchema } from './sitemap-generation';
import { websiteStructureAnalysisContextSchema } from './website-structure-analysis';
import { aiContentGenerationContextSchema } from './ai-content-generation';
import { contentOptimizationContextSchema } from './content-optimization';
import { metaTagsGenerationContextSchema } from './meta-tags-generation';
import { bulkOperationsContextSchema } from './bulk-operations';
import { reportGenerationContextSchema } from './report-generation';
import { cleanupOldTasksContextSchema } from './cleanup-old-tasks';
import { textStatisticsContextSchema } from './text-statistics';
import { pipelineContextSchema } from './pipeline';
import { referencedSteps } from '../contracts/pipeline';
// @generator-imports (npm run new:task-type adds imports above this line)

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
  generic: {
    name: 'generic',
    label: 'Generic task: records a summary of its payload (the public API default type)',
    category: 'platform',
    contextSchema: genericContextSchema,
  },
  data_export: { name: 'data_export', label: 'Data export', category: 'data', contextSchema: dataExportContextSchema },
  // SEO & research
  seo_keyword_analysis: {
    name: 'seo_keyword_analysis',
    label: 'SEO keyword analysis',
    category: 'seo',
    contextSchema: seoKeywordAnalysisContextSchema,
  },
  seo_competitor_analysis: {
    name: 'seo_competitor_analysis',
    label: 'SEO competitor analysis',
    category: 'seo',
    contextSchema: seoCompetitorAnalysisContextSchema,
  },
  seo_content_audit: { name: 'seo_content_audit', label: 'SEO content audit', category: 'seo', contextSchema: seoContentAuditContextSchema },
  // Site & pages
  website_structure_analysis: {
    name: 'website_structure_analysis',
    label: 'Website structure analysis',
    category: 'site',
    contextSchema: websiteStructureAnalysisContextSchema,
  },
  page_performance_audit: {
    name: 'page_performance_audit',
    label: 'Page performance audit',
    category: 'site',
    contextSchema: pagePerformanceAuditContextSchema,
  },
  sitemap_generation: { name: 'sitemap_generation', label: 'Sitemap generation', category: 'site', contextSchema: sitemapGenerationContextSchema },
  // Content & AI
  ai_content_generation: {
    name: 'ai_content_generation',
    label: 'AI content generation',
    category: 'content',
    contextSchema: aiContentGenerationContextSchema,
    requiredConfig: ['AI_API_BASE_URL'],
  },
  content_optimization: { name: 'content_optimization', label: 'Content optimization', category: 'content', contextSchema: contentOptimizationContextSchema },
  meta_tags_generation: { name: 'meta_tags_generation', label: 'Meta tags generation', category: 'content', contextSchema: metaTagsGenerationContextSchema },
  // Data & export
  report_generation: { name: 'report_generation', label: 'Task report (HTML)', category: 'data', contextSchema: reportGenerationContextSchema },
  bulk_operations: { name: 'bulk_operations', label: 'Bulk cancel / retry / re-prioritise', category: 'data', contextSchema: bulkOperationsContextSchema },
  cleanup_old_tasks: { name: 'cleanup_old_tasks', label: 'Delete old finished tasks', category: 'data', contextSchema: cleanupOldTasksContextSchema },
  pipeline: {
    name: 'pipeline',
    label: 'Pipeline: a graph of steps run as child tasks',
    category: 'platform',
    contextSchema: pipelineContextSchema.superRefine((ctx, issues) => {
      // Here rather than in the pipeline's own schema: only the registry knows the other types.
      ctx.steps.forEach((step, i) => {
        const parts = [{ at: ['steps', i], type: step.task_type, input: step.input }];
        if (step.compensation) parts.push({ at: ['steps', i, 'compensation'], type: step.compensation.task_type, input: step.compensation.input });
        for (const part of parts) {
          const type = part.type === 'pipeline' ? undefined : getTaskType(part.type);
          if (!type) {
            issues.addIssue({ code: 'custom', path: [...part.at, 'task_type'], message: part.type === 'pipeline' ? 'A step cannot be a pipeline' : `Unknown task type "${part.type}"` });
            continue;
          }
          // An input with `${steps...}` references is only complete at run time; the step's own task checks it then.
          if (referencedSteps(part.input).length) continue;
          const parsed = type.contextSchema.safeParse(part.input);
          for (const issue of parsed.success ? [] : parsed.error.issues) {
            issues.addIssue({ ...issue, path: [...part.at, 'input', ...issue.path] } as Parameters<typeof issues.addIssue>[0]);
          }
        }
      });
    }),
  },
  // Work in other languages (workers/go)
  text_statistics: {
    name: 'text_statistics',
    label: 'Text statistics (computed by the Go worker)',
    category: 'data',
    contextSchema: textStatisticsContextSchema,
  },
  // @generator (npm run new:task-type adds entries above this line)
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
