import { z } from 'zod';
import { crawlOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `seo_content_audit`: crawls a site within bounds and audits each HTML page (title, meta description, h1, heading
 * order, thin content, exact and near duplicates, duplicate titles and descriptions, broken internal links, images
 * without alt, canonical, noindex). Each page gets a score from 0 to 100 and a list of issues; the site a summary.
 */
export const seoAuditThresholdsSchema = z
  .object({
    title_min: z.number().int().min(0).max(500).default(30),
    title_max: z.number().int().min(1).max(500).default(60),
    meta_description_min: z.number().int().min(0).max(1000).default(70),
    meta_description_max: z.number().int().min(1).max(1000).default(160),
    min_words: z.number().int().min(0).max(100_000).default(300),
    /** Word-shingle Jaccard similarity from which two pages are near-duplicates. */
    near_duplicate_similarity: z.number().min(0.5).max(1).default(0.9),
  })
  .strict()
  .refine((t) => t.title_min <= t.title_max, { message: 'title_min must not exceed title_max', path: ['title_min'] })
  .refine((t) => t.meta_description_min <= t.meta_description_max, {
    message: 'meta_description_min must not exceed meta_description_max',
    path: ['meta_description_min'],
  });

export const seoContentAuditContextSchema = z
  .object({
    start_url: httpUrl,
    ...crawlOptionsShape,
    thresholds: seoAuditThresholdsSchema.prefault({}),
    /**
     * Internal links found on crawled pages whose targets were not crawled (depth or page budget) are checked with
     * at most this many extra requests (HEAD, then GET when HEAD is refused); 0 disables the extra checks.
     */
    max_link_checks: z.number().int().min(0).max(1000).default(100),
  })
  .strict();
export type SeoContentAuditContext = z.infer<typeof seoContentAuditContextSchema>;

export type AuditSeverity = 'error' | 'warning' | 'notice';
export type AuditIssue = { page: string; severity: AuditSeverity; code: string; message: string };

export type AuditedPage = {
  url: string;
  status: number | null;
  title: string | null;
  word_count: number;
  score: number;
  issue_counts: Record<AuditSeverity, number>;
};

export type SeoContentAuditResult = {
  start_url: string;
  summary: {
    pages_crawled: number;
    pages_audited: number;
    average_score: number;
    issues_by_code: Record<string, number>;
    issues_by_severity: Record<AuditSeverity, number>;
  };
  pages: AuditedPage[];
  issues: AuditIssue[];
  broken_links: { page: string; target: string; status: number | null; error: string | null; checked_by: 'crawl' | 'extra_fetch' }[];
  duplicates: {
    exact: { pages: string[] }[];
    near: { pages: [string, string]; similarity: number }[];
    titles: { title: string; pages: string[] }[];
    meta_descriptions: { meta_description: string; pages: string[] }[];
    /** Near-duplicate detection compares at most 2000 pages. */
    near_checked_pages: number;
  };
  link_checks: {
    /** Internal link targets whose status came from the crawl itself. */
    from_crawl: number;
    /** Targets outside the crawl's bounds fetched once more to check them (HEAD, GET on 405/501). */
    extra_fetched: string[];
    /** Targets left unchecked: the `max_link_checks` budget ran out, or robots.txt disallows them. */
    unchecked: { url: string; reason: 'budget' | 'robots' }[];
    max_link_checks: number;
  };
  crawl: { skipped: { url: string; reason: string }[]; robots_txt: { found: boolean; sitemaps: string[] } };
  /** Lists (`pages`, `issues`, `broken_links`, `unchecked`, `skipped`, ...) are capped at 500 entries, each duplicate group's `pages` at 50. */
  truncated: boolean;
};

export const seo_content_audit = defineTaskWorkflow<SeoContentAuditContext>({
  type: 'seo_content_audit',
  contextSchema: seoContentAuditContextSchema,
  async run({ context, activities }) {
    const { auditSeoContent } = activities({ startToCloseTimeout: '4 hours' });
    return auditSeoContent(context);
  },
});
