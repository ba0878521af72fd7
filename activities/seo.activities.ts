import { ApplicationFailure, Context } from '@temporalio/activity';
import type { SeoCompetitorAnalysisResult, SeoSiteAnalysis, SeoSiteAnalysisInput } from '../workflows/tasks/seo-competitor-analysis';
import type { SeoContentAuditContext, SeoContentAuditResult } from '../workflows/tasks/seo-content-audit';
import type { SeoCrawlSource, SeoKeywordAnalysisContext, SeoKeywordAnalysisResult, SeoPageAnalysis } from '../workflows/tasks/seo-keyword-analysis';
import type { ActivityDeps } from './deps';
import { createProgressReporter, withHeartbeat } from './progress';
import { auditCrawl, type LinkStatus } from './seo/audit';
import { compareSites } from './seo/compare';
import { KeywordAccumulator, keywordRecommendations } from './seo/keywords';
import { boundedFetch, isHtml, isSameSite, limitsFrom, normalizeUrl, type FetchLimits } from './web/bounded-fetch';
import { crawlSite } from './web/crawler';
import { parsePage, type PageFacts } from './web/html-page';
import type { FetchOptions } from '../workflows/contracts/web-options';

const PAGE_LIST_CAP = 200;
/**
 * Per-page detail kept in result_data, in bytes of JSON: 200 pages × 200 keywords × 5 n-gram sizes would be megabytes,
 * past Temporal's 2 MB payload limit. Pages past the budget are left out (`pages_truncated`); `overall` covers them all.
 */
const PAGE_DETAIL_BUDGET = 1_000_000;
/** Entries of each n-gram size in a site's `ngram_index`: all sites' indexes travel together to `compareSeoSites`. */
const NGRAM_INDEX_BUDGET = 1500;

function withinBudget<T>(items: T[], maxItems: number, maxBytes: number): T[] {
  const kept: T[] = [];
  let bytes = 0;
  for (const item of items.slice(0, maxItems)) {
    bytes += Buffer.byteLength(JSON.stringify(item));
    if (bytes > maxBytes) break;
    kept.push(item);
  }
  return kept;
}

interface SourcePage {
  url: string;
  status: number | null;
  facts: PageFacts | null;
  error: string | null;
}

interface LoadedPages {
  mode: 'urls' | 'crawl';
  start_url?: string;
  pages: SourcePage[];
  skipped: { url: string; reason: string }[];
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

/** The pages of a source: each URL of a list (fetched in order), or a bounded crawl. `progress` gets 0..1. */
async function loadPages(
  source: { urls?: string[]; crawl?: SeoCrawlSource },
  fetchOptions: FetchOptions,
  signal: AbortSignal,
  progress: (fraction: number) => Promise<void>,
): Promise<LoadedPages> {
  if (source.crawl) {
    const c = source.crawl;
    const crawl = await crawlSite(c.start_url, {
      maxPages: c.max_pages,
      maxDepth: c.max_depth,
      concurrency: c.concurrency,
      limits: limitsFrom(c),
      respectRobots: c.respect_robots_txt,
      signal,
      onPage: (done, queued) => progress(done / Math.max(queued, 1)),
    });
    throwIfCancelled(signal);
    return {
      mode: 'crawl',
      start_url: crawl.startUrl,
      pages: crawl.pages.map((p) => ({
        url: p.url,
        status: p.status,
        facts: p.facts,
        error: p.error ?? (p.status !== null && p.status >= 400 ? `HTTP ${p.status}` : p.facts ? null : `not HTML (${p.contentType ?? 'no content type'})`),
      })),
      skipped: crawl.skipped,
    };
  }
  const urls = [...new Set((source.urls ?? []).map((u) => normalizeUrl(u) ?? u))];
  const limits = limitsFrom(fetchOptions);
  const pages: SourcePage[] = [];
  for (const [i, url] of urls.entries()) {
    throwIfCancelled(signal);
    pages.push(await fetchPage(url, limits, signal));
    await progress((i + 1) / urls.length);
  }
  return { mode: 'urls', pages, skipped: [] };
}

async function fetchPage(url: string, limits: FetchLimits, signal: AbortSignal): Promise<SourcePage> {
  try {
    const res = await boundedFetch(url, limits, { signal });
    if (res.status >= 400) return { url, status: res.status, facts: null, error: `HTTP ${res.status}` };
    if (!isHtml(res)) return { url, status: res.status, facts: null, error: `not HTML (${res.contentType || 'no content type'})` };
    return { url, status: res.status, facts: parsePage(res.body.toString('utf8'), res.url), error: null };
  } catch (err) {
    throwIfCancelled(signal);
    return { url, status: null, facts: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/** No page usable: a network failure everywhere may pass (retryable); HTTP errors or non-HTML will not. */
function failIfNothingAnalysed(pages: SourcePage[], what: string): void {
  if (pages.some((p) => p.facts)) return;
  const detail = pages.slice(0, 5).map((p) => `${p.url}: ${p.error}`).join('; ');
  if (pages.length > 0 && pages.every((p) => p.status === null)) {
    throw ApplicationFailure.retryable(`No page of ${what} could be fetched (${detail})`, 'FETCH_FAILED');
  }
  throw ApplicationFailure.nonRetryable(`No HTML page of ${what} could be analysed (${detail || 'no pages'})`, 'SEO_NO_PAGES');
}

export function createSeoActivities(deps: ActivityDeps) {
  return {
    /** `seo_keyword_analysis`: keyword metrics and n-grams per page and overall, with recommendations. */
    async analyzeSeoKeywords(context: SeoKeywordAnalysisContext): Promise<SeoKeywordAnalysisResult> {
      const ctx = Context.current();
      const report = createProgressReporter(deps);
      return withHeartbeat(async () => {
        await report(0, undefined, true);
        const loaded = await loadPages(context, context, ctx.cancellationSignal, (f) => report(f * 95));
        failIfNothingAnalysed(loaded.pages, context.urls ? 'the given URLs' : loaded.start_url!);
        const acc = new KeywordAccumulator(context.keywords, context.ngram_sizes, context.top_n);
        const pages: SeoPageAnalysis[] = loaded.pages.map((p) =>
          p.facts
            ? acc.addPage(p.facts, p.status, p.url)
            : { url: p.url, status: p.status, title: null, word_count: 0, keywords: [], top_ngrams: {}, error: p.error ?? 'not analysed' },
        );
        const keywords = acc.keywordTotals();
        const keptPages = withinBudget(pages, PAGE_LIST_CAP, PAGE_DETAIL_BUDGET);
        const result: SeoKeywordAnalysisResult = {
          source: {
            mode: loaded.mode,
            ...(loaded.start_url ? { start_url: loaded.start_url, skipped: loaded.skipped.slice(0, PAGE_LIST_CAP), skipped_truncated: loaded.skipped.length > PAGE_LIST_CAP } : {}),
          },
          pages: keptPages,
          pages_truncated: pages.length > keptPages.length,
          overall: {
            pages_analyzed: acc.pagesAnalyzed,
            pages_failed: pages.length - acc.pagesAnalyzed,
            total_words: acc.totalWords,
            keywords,
            top_ngrams: acc.topNgrams(),
          },
          recommendations: keywordRecommendations(pages, keywords),
        };
        await report(100, undefined, true);
        return result;
      });
    },

    /** One site of `seo_competitor_analysis` (the workflow runs it for each competitor, then for the site). */
    async analyzeSeoSite(input: SeoSiteAnalysisInput): Promise<SeoSiteAnalysis> {
      const ctx = Context.current();
      const report = createProgressReporter(deps);
      const { from, to } = input.progress;
      return withHeartbeat(async () => {
        await report(from, undefined, true);
        const loaded = await loadPages(input.source, input.fetch, ctx.cancellationSignal, (f) => report(from + f * (to - from)));
        failIfNothingAnalysed(loaded.pages, input.name);
        const acc = new KeywordAccumulator(input.keywords, input.ngram_sizes, input.top_n);
        for (const p of loaded.pages) if (p.facts) acc.addPage(p.facts, p.status, p.url);
        const term_counts: Record<string, number> = {};
        for (const term of input.lookup_terms) {
          const n = acc.ngramCount(term);
          if (n !== null) term_counts[term] = n;
        }
        const failed = loaded.pages.filter((p) => !p.facts);
        await report(to, undefined, true);
        return {
          name: input.name,
          source: { mode: loaded.mode, ...(loaded.start_url ? { start_url: loaded.start_url } : {}) },
          pages_analyzed: acc.pagesAnalyzed,
          pages_failed: failed.length,
          total_words: acc.totalWords,
          keywords: acc.keywordTotals(),
          top_ngrams: acc.topNgrams(),
          failed_pages: failed.slice(0, 50).map((p) => ({ url: p.url, status: p.status, error: p.error ?? 'not analysed' })),
          ngram_index: acc.topNgrams(Math.min(500, Math.floor(NGRAM_INDEX_BUDGET / Math.max(1, input.ngram_sizes.length)))),
          term_counts,
        };
      });
    },

    /** Gaps, overlaps, topic gaps and strengths of `seo_competitor_analysis` (pure computation). */
    async compareSeoSites(input: {
      site: SeoSiteAnalysis;
      competitors: SeoSiteAnalysis[];
      keywords: string[] | null;
      ngram_sizes: number[];
    }): Promise<SeoCompetitorAnalysisResult> {
      const report = createProgressReporter(deps);
      const result = compareSites(input.site, input.competitors, input.keywords, input.ngram_sizes);
      await report(100, undefined, true);
      return result;
    },

    /** `seo_content_audit`: crawl, extra checks of internal links outside the crawl's bounds, then the audit. */
    async auditSeoContent(context: SeoContentAuditContext): Promise<SeoContentAuditResult> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const report = createProgressReporter(deps);
      return withHeartbeat(async () => {
        await report(0, undefined, true);
        const limits = limitsFrom(context);
        const crawl = await crawlSite(context.start_url, {
          maxPages: context.max_pages,
          maxDepth: context.max_depth,
          concurrency: context.concurrency,
          limits,
          respectRobots: context.respect_robots_txt,
          signal,
          onPage: (done, queued) => report((done / Math.max(queued, 1)) * 85),
        });
        throwIfCancelled(signal);
        if (!crawl.pages.some((p) => p.facts)) {
          failIfNothingAnalysed(
            crawl.pages.map((p) => ({ url: p.url, status: p.status, facts: null, error: p.error ?? `HTTP ${p.status} ${p.contentType ?? ''}`.trim() })),
            crawl.startUrl,
          );
        }

        const links = new Map<string, LinkStatus>();
        for (const p of crawl.pages) links.set(p.url, { status: p.status, error: p.error, checked_by: 'crawl' });
        // Internal links of a page reached by an off-site redirect (same_site_only false) belong to the other site:
        // like the crawler, the extra checks never leave the start URL's site.
        const targets = [...new Set(crawl.pages.flatMap((p) => (p.facts ? p.internalLinks : [])))].filter((t) => isSameSite(t, crawl.startUrl));
        const fromCrawl = targets.filter((t) => links.has(t)).length;
        const robots = new Set(crawl.skipped.filter((s) => s.reason === 'robots').map((s) => s.url));
        const outside = targets.filter((t) => !links.has(t));
        const toCheck = outside.filter((t) => !robots.has(t)).slice(0, context.max_link_checks);
        const checkSet = new Set(toCheck);
        const unchecked = outside
          .filter((t) => !checkSet.has(t))
          .map((url) => ({ url, reason: robots.has(url) ? ('robots' as const) : ('budget' as const) }));

        const checkLimits: FetchLimits = { ...limits, maxBytes: Math.min(limits.maxBytes, 65_536) };
        let next = 0;
        let done = 0;
        const worker = async () => {
          while (next < toCheck.length) {
            const url = toCheck[next++]!;
            throwIfCancelled(signal);
            links.set(url, await checkLink(url, checkLimits, signal));
            done += 1;
            await report(85 + (done / toCheck.length) * 10);
          }
        };
        await Promise.all(Array.from({ length: Math.min(context.concurrency, toCheck.length) }, worker));

        const result = auditCrawl(crawl, links, { from_crawl: fromCrawl, extra_fetched: toCheck, unchecked, max_link_checks: context.max_link_checks }, context);
        await report(100, undefined, true);
        return result;
      });
    },
  };
}

/** HEAD first (cheap); GET when the server refuses HEAD. Network failures count as broken, with the reason. */
async function checkLink(url: string, limits: FetchLimits, signal: AbortSignal): Promise<LinkStatus> {
  try {
    let res = await boundedFetch(url, limits, { signal, method: 'HEAD' });
    if (res.status === 405 || res.status === 501) res = await boundedFetch(url, limits, { signal });
    return { status: res.status, error: null, checked_by: 'extra_fetch' };
  } catch (err) {
    throwIfCancelled(signal);
    return { status: null, error: err instanceof Error ? err.message : String(err), checked_by: 'extra_fetch' };
  }
}
