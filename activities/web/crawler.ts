import robotsParser from 'robots-parser';
import { boundedFetch, isHtml, isSameSite, isSchemeUpgrade, normalizeUrl, USER_AGENT, type FetchedResource, type FetchLimits } from './bounded-fetch';
import { parsePage, type PageFacts } from './html-page';

const MAX_ROBOTS_SITEMAPS = 50;

export interface CrawlOptions {
  maxPages: number;
  maxDepth: number;
  concurrency: number;
  limits: FetchLimits;
  respectRobots: boolean;
  signal?: AbortSignal;
  /**
   * Called after each page; the activity heartbeats (which also delivers cancellation) and reports progress.
   * Also receives the page (with its facts even when not kept) and its response (headers), or null on a fetch error.
   */
  onPage?: (done: number, queued: number, page: CrawledPage, response: FetchedResource | null) => Promise<void> | void;
  /** Keep each page's facts / internal links in the result (default true); large crawls read them in onPage instead. */
  keepFacts?: boolean;
  keepLinks?: boolean;
}

export interface CrawledPage {
  url: string;
  depth: number;
  status: number | null;
  contentType: string | null;
  bytes: number;
  ttfbMs: number | null;
  redirects: string[];
  /** Internal page links found on the page (normalised, same site). */
  internalLinks: string[];
  facts: PageFacts | null;
  error: string | null;
}

export interface CrawlResult {
  startUrl: string;
  pages: CrawledPage[];
  /** URLs seen but not fetched, with why (robots.txt, depth, page budget). */
  skipped: { url: string; reason: 'robots' | 'depth' | 'max_pages' }[];
  robotsTxt: { found: boolean; sitemaps: string[] };
}

/**
 * Breadth-first crawl of one site within depth and page bounds, honouring robots.txt for our user agent.
 * Off-site links are recorded on the page but never followed.
 */
export async function crawlSite(startUrl: string, options: CrawlOptions): Promise<CrawlResult> {
  const start = normalizeUrl(startUrl);
  if (!start) throw new Error(`not an http(s) URL: ${startUrl}`);
  const robotsUrl = new URL('/robots.txt', start).toString();
  let robots: ReturnType<typeof robotsParser> | null = null;
  let robotsFound = false;
  if (options.respectRobots) {
    try {
      const res = await boundedFetch(robotsUrl, { ...options.limits, maxBytes: 500_000 }, { signal: options.signal });
      if (res.status === 200) {
        robotsFound = true;
        robots = robotsParser(robotsUrl, res.body.toString('utf8'));
      }
    } catch {
      // No robots.txt reachable: everything is allowed, as crawlers conventionally assume.
    }
  }
  const allowed = (url: string) => !robots || robots.isAllowed(url, USER_AGENT) !== false;
  /** The `Sitemap:` lines, capped (a robots.txt may list thousands; they end up in result_data). */
  const robotsSitemaps = () => (robots?.getSitemaps() ?? []).slice(0, MAX_ROBOTS_SITEMAPS);

  const pages: CrawledPage[] = [];
  const skipped: CrawlResult['skipped'] = [];
  const seen = new Set<string>([start]);
  const queue: { url: string; depth: number }[] = [{ url: start, depth: 0 }];
  // The site being crawled: the start URL's, or its https version when the start page upgrades to it.
  let site = start;

  const visit = async (item: { url: string; depth: number }) => {
    let res: FetchedResource | null = null;
    let error: string | null = null;
    try {
      res = await boundedFetch(item.url, options.limits, { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      error = err instanceof Error ? err.message : String(err);
    }
    if (item.depth === 0 && res && isSchemeUpgrade(start, res.url)) {
      site = res.url;
      seen.add(normalizeUrl(res.url) ?? res.url); // links back to the upgraded home page are the start page
    }
    const facts = res && res.status < 400 && isHtml(res) ? parsePage(res.body.toString('utf8'), res.url) : null;
    const internalLinks = facts ? [...new Set(facts.links.filter((l) => l.internal).map((l) => l.href))] : [];
    const page: CrawledPage = {
      url: item.url,
      depth: item.depth,
      status: res?.status ?? null,
      contentType: res?.contentType ?? null,
      bytes: res?.bytes ?? 0,
      ttfbMs: res?.ttfbMs ?? null,
      redirects: res?.redirects ?? [],
      internalLinks,
      facts,
      error,
    };
    pages.push(options.keepFacts === false || options.keepLinks === false
      ? { ...page, facts: options.keepFacts === false ? null : facts, internalLinks: options.keepLinks === false ? [] : internalLinks }
      : page);
    for (const link of internalLinks) {
      if (seen.has(link) || !isSameSite(link, site)) continue;
      seen.add(link);
      if (item.depth + 1 > options.maxDepth) skipped.push({ url: link, reason: 'depth' });
      else if (!allowed(link)) skipped.push({ url: link, reason: 'robots' });
      else queue.push({ url: link, depth: item.depth + 1 });
    }
    await options.onPage?.(pages.length, pages.length + queue.length, page, res);
  };

  if (!allowed(start)) {
    skipped.push({ url: start, reason: 'robots' });
    return { startUrl: start, pages, skipped, robotsTxt: { found: robotsFound, sitemaps: robotsSitemaps() } };
  }
  const inFlight = new Set<Promise<void>>();
  let started = 0;
  while (queue.length > 0 || inFlight.size > 0) {
    while (queue.length > 0 && inFlight.size < options.concurrency) {
      const item = queue.shift()!;
      if (started >= options.maxPages) {
        skipped.push({ url: item.url, reason: 'max_pages' });
        continue;
      }
      started += 1;
      const p: Promise<void> = visit(item).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (inFlight.size > 0) await Promise.race(inFlight);
  }
  pages.sort((a, b) => a.depth - b.depth || a.url.localeCompare(b.url));
  return { startUrl: start, pages, skipped, robotsTxt: { found: robotsFound, sitemaps: robotsSitemaps() } };
}
