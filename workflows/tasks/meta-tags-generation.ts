import { z } from 'zod';
import { fetchOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * A page given to the content task types: a URL to fetch (same-site bounded fetch), or the content itself
 * (HTML, plain text or Markdown; `url` then only serves as the base of relative links and as `og:url`).
 */
export const contentPageSchema = z
  .object({
    url: httpUrl.optional(),
    content: z.string().min(1).max(2_000_000).optional(),
    title: z.string().min(1).max(500).optional(),
    /** Default: HTML when the content contains tags, else plain text. */
    format: z.enum(['html', 'text', 'markdown']).optional(),
  })
  .strict()
  .superRefine((page, ctx) => {
    if (page.url === undefined && page.content === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'Give either url (a page to fetch) or content' });
    }
    if (page.content === undefined) {
      for (const key of ['title', 'format'] as const) {
        if (page[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is only allowed with content` });
      }
    }
  });
export type ContentPageInput = z.infer<typeof contentPageSchema>;

export const contentLanguage = z.enum(['en', 'fr']);

/**
 * `meta_tags_generation`: for each page, a title, a meta description and Open Graph/Twitter tags derived from
 * the page within length limits, the ready-to-paste HTML, and the problems of the tags the page has now.
 */
export const metaTagsGenerationContextSchema = z
  .object({
    pages: z.array(contentPageSchema).min(1).max(50),
    keywords: z.array(z.string().trim().min(1).max(100)).max(20).optional(),
    /** Appended to titles when it fits: "Title | Brand"; also og:site_name. */
    brand_name: z.string().trim().min(1).max(60).optional(),
    title_max: z.number().int().min(20).max(120).default(60),
    description_min: z.number().int().min(0).max(300).default(70),
    description_max: z.number().int().min(50).max(400).default(160),
    /** og:locale and the reading of the page; default: the page's lang attribute. */
    language: contentLanguage.optional(),
    ...fetchOptionsShape,
  })
  .strict()
  .refine((c) => c.description_min <= c.description_max, {
    path: ['description_min'],
    message: 'Must not exceed description_max',
  });
export type MetaTagsGenerationContext = z.infer<typeof metaTagsGenerationContextSchema>;

export const meta_tags_generation = defineTaskWorkflow<MetaTagsGenerationContext>({
  type: 'meta_tags_generation',
  contextSchema: metaTagsGenerationContextSchema,
  async run({ context, activities }) {
    const { generateMetaTags } = activities({ startToCloseTimeout: '30 minutes', retry: { maximumAttempts: 5 } });
    return generateMetaTags(context) as unknown as Promise<Record<string, unknown>>;
  },
});
