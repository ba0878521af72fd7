import { z } from 'zod';
import { crawlOptionsShape, fetchOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `seo_keyword_analysis`: fetches the given pages (a URL list or a bounded crawl of one site) and measures, per page
 * and overall, how often each keyword occurs in the visible text, its density, where it is placed (title, h1, any
 * heading, first paragraph, meta description, URL), and the page's most frequent n-grams. Recommendations are derived
 * from those figures. (The seed example's `keyword_ids`/`analysis_depth` refer to a keyword CMS this platform does
 * not have: keywords are given as phrases, and unknown fields are refused.)
 */

/** A phrase with at least one word (letters or digits); matched case-insensitively on word boundaries. */
export const keywordPhrase = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((k) => /[\p{L}\p{N}]/u.test(k), 'A keyword needs at least one letter or digit');

export const seoCrawlSourceSchema = z.object({ start_url: httpUrl, ...crawlOptionsShape }).strict();
export type SeoCrawlSource = z.infer<typeof seoCrawlSourceSchema>;

export const ngramSizesSchema = z
  .array(z.number().int().min(1).max(5))
  .min(1)
  .max(5)
  .refine((a) => new Set(a).size === a.length, 'Sizes must be distinct')
  .default([1, 2, 3]);
export const topNSchema = z.number().int().min(1).max(100).default(20);

/** Pages to analyse: exactly one of `urls` and `crawl` (checked by `requireOneSource`). */
export const pageSourceShape = {
  urls: z.array(httpUrl).min(1).max(50).optional(),
  crawl: seoCrawlSourceSchema.optional(),
};
export const ONE_SOURCE_MESSAGE = 'Give exactly one of `urls` (a list of pages) or `crawl` ({start_url, ...}): not both, not neither';

export function requireOneSource(value: { urls?: unknown; crawl?: unknown }, ctx: z.RefinementCtx, path: (string | number)[] = []): void {
  if ((value.urls === undefined) === (value.crawl === undefined)) {
    ctx.addIssue({ code: 'custom', path: [...path, 'urls'], message: ONE_SOURCE_MESSAGE });
  }
}

export const seoKeywordAnalysisContextSchema = z
  .object({
    keywords: z.array(keywordPhrase).min(1).max(200),
    ...pageSourceShape,
    ngram_sizes: ngramSizesSchema,
    top_n: topNSchema,
    /** Fetch options for `urls`; a crawl takes its own (its object accepts the same fields). */
    ...fetchOptionsShape,
  })
  .strict()
  .superRefine((v, ctx) => requireOneSource(v, ctx));
export type SeoKeywordAnalysisContext = z.infer<typeof seoKeywordAnalysisContextSchema>;

export interface NgramCount {
  ngram: string;
  count: number;
}
/** Keyed by n-gram size ("1", "2", "3"). */
export type TopNgrams = Record<string, NgramCount[]>;

export type PageKeywordMetrics = {
  keyword: string;
  count: number;
  density_percent: number;
  in_title: boolean;
  in_h1: boolean;
  in_headings: boolean;
  in_first_paragraph: boolean;
  in_meta_description: boolean;
  in_url: boolean;
};

export type SeoPageAnalysis = {
  url: string;
  /** HTTP status of the final response; null when the fetch failed. */
  status: number | null;
  title: string | null;
  word_count: number;
  keywords: PageKeywordMetrics[];
  top_ngrams: TopNgrams;
  /** Why the page was not analysed (fetch error, HTTP error, not HTML). */
  error?: string;
};

export type SiteKeywordTotals = {
  keyword: string;
  total_count: number;
  density_percent: number;
  pages_with_keyword: number;
};

export type SeoKeywordAnalysisResult = {
  source: { mode: 'urls' | 'crawl'; start_url?: string; skipped?: { url: string; reason: string }[]; skipped_truncated?: boolean };
  pages: SeoPageAnalysis[];
  /** `pages` lists at most 200 pages (the overall figures cover all of them). */
  pages_truncated: boolean;
  overall: {
    pages_analyzed: number;
    pages_failed: number;
    total_words: number;
    keywords: SiteKeywordTotals[];
    top_ngrams: TopNgrams;
  };
  recommendations: string[];
};

export const seo_keyword_analysis = defineTaskWorkflow<SeoKeywordAnalysisContext>({
  type: 'seo_keyword_analysis',
  contextSchema: seoKeywordAnalysisContextSchema,
  async run({ context, activities }) {
    const { analyzeSeoKeywords } = activities({ startToCloseTimeout: '2 hours' });
    return analyzeSeoKeywords(context);
  },
});
