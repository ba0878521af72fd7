import { z } from 'zod';
import { fetchOptionsShape } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';
import { contentLanguage, contentPageSchema } from './meta-tags-generation';

/**
 * `content_optimization`: keyword coverage, headings, length, readability (and with 'advanced' passive voice,
 * long sentences and internal links) of given pages, as suggestions with concrete rewrites where derivable,
 * plus the generated meta tags of `meta_tags_generation`.
 */
export const contentOptimizationContextSchema = z
  .object({
    pages: z.array(contentPageSchema).min(1).max(50),
    /** Refused with a message: there is no CMS to resolve page ids (the seed's example uses them). */
    page_ids: z.unknown().optional(),
    target_keywords: z.array(z.string().trim().min(1).max(100)).min(1).max(50),
    optimization_level: z.enum(['basic', 'advanced']).default('basic'),
    include_meta_tags: z.boolean().default(true),
    include_content_suggestions: z.boolean().default(true),
    /** Default: the page's lang attribute, else 'en'. Chooses the readability formula and the hints' language rules. */
    language: contentLanguage.optional(),
    target_word_count: z.number().int().min(50).max(20_000).optional(),
    ...fetchOptionsShape,
  })
  .strict()
  .superRefine(
    (c, ctx) => {
      if (c.page_ids !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['page_ids'],
          message: 'page_ids cannot be resolved (this platform has no CMS): give the pages as pages: [{"url": ...}] or [{"content": ...}]',
        });
      }
    },
    // Also when other fields are invalid: the seed's example body has page_ids and no pages, and must say why.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );
export type ContentOptimizationContext = z.infer<typeof contentOptimizationContextSchema>;

export const content_optimization = defineTaskWorkflow<ContentOptimizationContext>({
  type: 'content_optimization',
  contextSchema: contentOptimizationContextSchema,
  async run({ context, activities }) {
    const { optimizeContent } = activities({ startToCloseTimeout: '30 minutes', retry: { maximumAttempts: 5 } });
    return optimizeContent(context) as unknown as Promise<Record<string, unknown>>;
  },
});
