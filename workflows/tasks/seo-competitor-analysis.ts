import { z } from 'zod';
import { fetchOptionsShape } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';
import {
  keywordPhrase,
  ngramSizesSchema,
  pageSourceShape,
  requireOneSource,
  topNSchema,
  type SiteKeywordTotals,
  type TopNgrams,
} from './seo-keyword-analysis';

/**
 * `seo_competitor_analysis`: the keyword-analysis metrics for a site and up to ten competitors, side by side, with
 * keyword gaps (terms competitors use and the site does not), overlaps, topic gaps (competitors' top n-grams absent
 * from the site) and the site's strengths. Each site is analysed by its own activity (competitors first, the site
 * last), so a worker crash costs at most one site's fetches.
 */
export const seoSiteSourceSchema = z
  .object({ name: z.string().trim().min(1).max(100).optional(), ...pageSourceShape })
  .strict()
  .superRefine((v, ctx) => requireOneSource(v, ctx));
export type SeoSiteSource = z.infer<typeof seoSiteSourceSchema>;

export const seoCompetitorAnalysisContextSchema = z
  .object({
    site: seoSiteSourceSchema,
    competitors: z.array(seoSiteSourceSchema).min(1).max(10),
    /** When absent, the sites' top n-grams are compared instead. */
    keywords: z.array(keywordPhrase).min(1).max(200).optional(),
    ngram_sizes: ngramSizesSchema,
    top_n: topNSchema,
    ...fetchOptionsShape,
  })
  .strict();
export type SeoCompetitorAnalysisContext = z.infer<typeof seoCompetitorAnalysisContextSchema>;

export interface SeoSiteAnalysisInput {
  source: SeoSiteSource;
  /** Default name when the source has none (made unique by the workflow). */
  name: string;
  keywords: string[];
  ngram_sizes: number[];
  top_n: number;
  fetch: { timeout_seconds: number; max_bytes: number; max_redirects: number; same_site_only: boolean };
  /** Terms whose exact counts on this site are wanted (the competitors' top n-grams, for the site itself). */
  lookup_terms: string[];
  /** Share of the task's progress this activity covers, in percent. */
  progress: { from: number; to: number };
}

/** One site's figures, as in `result_data.sites`. */
export type SeoSiteSummary = {
  name: string;
  source: { mode: 'urls' | 'crawl'; start_url?: string };
  pages_analyzed: number;
  pages_failed: number;
  total_words: number;
  keywords: SiteKeywordTotals[];
  top_ngrams: TopNgrams;
  /** Pages that could not be analysed (capped at 50). */
  failed_pages: { url: string; status: number | null; error: string }[];
};

/** What the per-site activity returns: the summary plus lookup material for the comparison (not kept in result_data). */
export type SeoSiteAnalysis = SeoSiteSummary & {
  /** The most frequent n-grams of each size (500, or 1500 shared between the sizes), with counts. */
  ngram_index: TopNgrams;
  /** Exact counts of the requested `lookup_terms`. */
  term_counts: Record<string, number>;
};

export type CompetitorFigure = { name: string; count: number; density_percent: number };

export type SeoCompetitorAnalysisResult = {
  /** `keywords` when keywords were given, else `top_ngrams` (the union of every site's top n-grams). */
  compared: 'keywords' | 'top_ngrams';
  sites: SeoSiteSummary[];
  keyword_gaps: { keyword: string; competitors: CompetitorFigure[] }[];
  keyword_overlaps: { keyword: string; site: { count: number; density_percent: number }; competitors: CompetitorFigure[] }[];
  topic_gaps: { ngram: string; n: number; competitors: { name: string; count: number }[] }[];
  site_strengths: { keyword: string; site: { count: number; density_percent: number }; best_competitor: CompetitorFigure | null }[];
  /** Lists are capped at 100 entries each. */
  truncated: { keyword_gaps: boolean; keyword_overlaps: boolean; topic_gaps: boolean; site_strengths: boolean };
};

function defaultName(source: SeoSiteSource, fallback: string): string {
  const url = source.urls?.[0] ?? source.crawl?.start_url;
  const host = url ? /^https?:\/\/([^/?#]+)/i.exec(url)?.[1] : undefined;
  return source.name ?? host ?? fallback;
}

export const seo_competitor_analysis = defineTaskWorkflow<SeoCompetitorAnalysisContext>({
  type: 'seo_competitor_analysis',
  contextSchema: seoCompetitorAnalysisContextSchema,
  async run({ context, activities }) {
    const { analyzeSeoSite, compareSeoSites } = activities({ startToCloseTimeout: '2 hours' });
    const sources = [...context.competitors, context.site];
    const used = new Set<string>();
    const names = sources.map((s, i) => {
      const base = defaultName(s, i === sources.length - 1 ? 'site' : `competitor ${i + 1}`);
      let name = base;
      for (let k = 2; used.has(name); k++) name = `${base} #${k}`;
      used.add(name);
      return name;
    });
    const fetch = {
      timeout_seconds: context.timeout_seconds,
      max_bytes: context.max_bytes,
      max_redirects: context.max_redirects,
      same_site_only: context.same_site_only,
    };
    const step = 95 / sources.length;
    const input = (i: number, lookup_terms: string[]): SeoSiteAnalysisInput => ({
      source: sources[i]!,
      name: names[i]!,
      keywords: context.keywords ?? [],
      ngram_sizes: context.ngram_sizes,
      top_n: context.top_n,
      fetch,
      lookup_terms,
      progress: { from: i * step, to: (i + 1) * step },
    });

    const competitors: SeoSiteAnalysis[] = [];
    for (let i = 0; i < context.competitors.length; i++) competitors.push(await analyzeSeoSite(input(i, [])));
    // The site goes last so that its counts of the competitors' top topics are exact, not looked up in a top list.
    const lookup = [...new Set(competitors.flatMap((c) => Object.values(c.top_ngrams).flatMap((list) => list.map((g) => g.ngram))))];
    const site = await analyzeSeoSite(input(sources.length - 1, lookup));
    return compareSeoSites({ site, competitors, keywords: context.keywords ?? null, ngram_sizes: context.ngram_sizes });
  },
});
