import { z } from 'zod';
import { crawlOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/** The sitemaps.org protocol's cap per sitemap file (also 50 MB uncompressed, enforced too). */
export const SITEMAP_MAX_URLS_PER_FILE = 50_000;
export const CHANGEFREQS = ['always', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'never'] as const;

/**
 * `sitemap_generation`: crawls a site and writes a sitemaps.org sitemap of its indexable pages (HTML, 200, not
 * noindex, canonical to themselves), split into sitemap-1.xml … with a sitemap index past `urls_per_file`.
 * Files are written under EXPORT_DIR/brand-<id>/<task_id>/, each atomically (.part then rename), the entry file last.
 */
export const sitemapGenerationContextSchema = z
  .object({
    start_url: httpUrl,
    ...crawlOptionsShape,
    max_pages: z.number().int().min(1).max(100_000).default(1000),
    max_depth: z.number().int().min(0).max(20).default(10),
    urls_per_file: z.number().int().min(1).max(SITEMAP_MAX_URLS_PER_FILE).default(SITEMAP_MAX_URLS_PER_FILE),
    /** Where the sitemap files will be published: the index's <loc>s are resolved against it. Default: the start URL's origin. */
    base_url: httpUrl.optional(),
    changefreq: z.enum(CHANGEFREQS).optional(),
    /** One priority for every URL; use `priority_by_depth` instead for 1.0 at the start page, 0.2 less per level (min 0.1). */
    priority: z.number().min(0).max(1).optional(),
    priority_by_depth: z.boolean().default(false),
    /** <lastmod> from the page's Last-Modified header, when it has one. */
    include_lastmod: z.boolean().default(true),
  })
  .strict()
  .refine((c) => !(c.priority !== undefined && c.priority_by_depth), {
    message: 'Give either priority or priority_by_depth, not both',
    path: ['priority'],
  });
export type SitemapGenerationContext = z.infer<typeof sitemapGenerationContextSchema>;

export interface SitemapGenerationResult {
  /** Every file written, the sitemap index (if any) last. */
  files: string[];
  /** The sitemap index (sitemap.xml) when the URLs were split over several files, else null. */
  index_file: string | null;
  /** What to submit to search engines: the index, or the only sitemap. */
  entry_file: string;
  /** Public URLs of the split files (resolved against base_url), as listed in the index. */
  sitemap_urls: string[];
  url_count: number;
  /** The first 100 URLs, in sitemap order. */
  urls_sample: string[];
  pages_crawled: number;
  excluded: { url: string; reason: string; detail?: string }[];
  excluded_count: number;
  excluded_truncated: boolean;
  /** The files were already complete (a previous attempt wrote them); counts re-read from them, `excluded` is then empty. */
  resumed: boolean;
  [key: string]: unknown;
}

export const sitemap_generation = defineTaskWorkflow<SitemapGenerationContext>({
  type: 'sitemap_generation',
  contextSchema: sitemapGenerationContextSchema,
  async run({ input, context, activities }) {
    const { generateSitemap } = activities({ startToCloseTimeout: '12 hours', retry: { maximumAttempts: 3 } });
    return generateSitemap({ brandId: input.brandId, taskId: input.taskId, context });
  },
});
