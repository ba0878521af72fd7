import { open, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  AssetReport,
  PagePerformanceAuditContext,
  PagePerformanceReport,
  PerformanceCheck,
} from '../workflows/tasks/page-performance-audit';
import type { SitemapGenerationContext, SitemapGenerationResult } from '../workflows/tasks/sitemap-generation';
import type { StructureNode, WebsiteStructureAnalysisContext, WebsiteStructureAnalysisResult } from '../workflows/tasks/website-structure-analysis';
import type { ActivityDeps } from './deps';
import { createProgressReporter, startHeartbeat } from './progress';
import { cachingInfo } from './site/caching';
import { grade, kb, score, shouldBeZero } from './site/checks';
import { renderBlockingResources } from './site/render-blocking';
import { readSitemaps, sitemapsFromRobots } from './site/sitemap-fetch';
import {
  chunkEntries,
  parseSitemapXml,
  SITEMAP_MAX_LOC_LENGTH,
  sitemapIndexXml,
  urlsetXml,
  w3cDatetime,
  type SitemapEntry,
} from './site/sitemap-xml';
import { boundedFetch, isHtml, isSameSite, limitsFrom, normalizeUrl, type FetchedResource } from './web/bounded-fetch';
import { crawlSite, type CrawledPage, type CrawlResult } from './web/crawler';
import { parsePage } from './web/html-page';
import { measuredFetch, type MeasuredResource } from './web/measured-fetch';

/** Caps on the lists a result carries (result_data is stored in PostgreSQL and in Temporal history). */
const LIST_CAP = 200;
const NODE_CAP = 500;
const EDGE_CAP = 1000;
const LINKED_FROM_CAP = 20;
const ASSET_ITEMS_CAP = 100;
const EXCLUDED_CAP = 500;
const URLS_SAMPLE = 100;

const crawlPercent = (done: number, queued: number, maxPages: number) => done / Math.max(1, Math.min(queued, maxPages));

export function createSiteActivities(deps: ActivityDeps) {
  return {
    async analyzeWebsiteStructure(input: { context: WebsiteStructureAnalysisContext }): Promise<WebsiteStructureAnalysisResult> {
      const { context } = input;
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const report = createProgressReporter(deps);
      const limits = limitsFrom(context);
      await report(0, undefined, true);
      const stopTicker = startHeartbeat(2000); // a page can take up to its timeout, longer than the heartbeat timeout
      let crawl: CrawlResult;
      let sitemap: Awaited<ReturnType<typeof readSitemaps>>;
      try {
        crawl = await crawlSite(context.start_url, {
          maxPages: context.max_pages,
          maxDepth: context.max_depth,
          concurrency: context.concurrency,
          limits,
          respectRobots: context.respect_robots_txt,
          signal,
          keepFacts: false,
          onPage: (done, queued) => report(crawlPercent(done, queued, context.max_pages) * 85),
        });
        const startPage = crawl.pages.find((p) => p.depth === 0);
        if (startPage && startPage.status === null) {
          throw ApplicationFailure.retryable(`The start page could not be fetched: ${startPage.error}`, 'FETCH_FAILED');
        }
        await report(88);
        sitemap = await readSitemaps(crawl.startUrl, await sitemapSources(crawl, context, limits, signal), limits, signal);
      } finally {
        stopTicker();
      }
      const result = structureReport(crawl, sitemap, context.include_edges);
      await report(100, undefined, true);
      return result;
    },

    async auditPagePerformance(input: { url: string; index: number; total: number; context: PagePerformanceAuditContext }): Promise<PagePerformanceReport> {
      const { context, url } = input;
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const report = createProgressReporter(deps);
      const base = (input.index / input.total) * 100;
      const span = 100 / input.total;
      const limits = limitsFrom(context);
      await report(base, undefined, true);
      const stopTicker = startHeartbeat(2000); // a page can take up to its timeout, longer than the heartbeat timeout
      try {
        // Network failures throw (retryable); the workflow records the page as failed once retries are spent.
        const page = await measuredFetch(url, limits, { signal });
        const html = {
          transfer_bytes: page.transferBytes,
          decoded_bytes: page.decodedBytes,
          content_encoding: page.contentEncoding,
          compressed: page.contentEncoding !== null && page.decodeError === null,
          compression_ratio: page.transferBytes ? Math.round((page.decodedBytes / page.transferBytes) * 100) / 100 : 1,
          savings_percent: page.decodedBytes ? Math.round((1 - page.transferBytes / page.decodedBytes) * 1000) / 10 : 0,
          truncated: page.truncated,
        };
        const out: PagePerformanceReport = {
          url,
          final_url: page.url,
          status: page.status,
          error: null,
          redirects: page.redirects,
          timing: { ttfb_ms: page.ttfbMs, total_ms: page.totalMs },
          html,
          caching: cachingInfo(page.headers),
          assets: null,
          render_blocking: null,
          page_weight_bytes: null,
          checks: [],
          score: null,
        };
        if (page.status < 200 || page.status >= 300) return { ...out, error: `The page answered HTTP ${page.status}` };
        if (!isHtml(page)) return { ...out, error: `Not an HTML page (content-type: ${page.contentType || 'none'})` };
        if (page.decodeError) return { ...out, error: page.decodeError };

        const facts = parsePage(page.body.toString('utf8'), page.url);
        const blocking = renderBlockingResources(facts);
        const assets = await weighAssets(facts, page.url, context.max_assets, limits, signal, (done, n) =>
          report(base + span * (0.2 + 0.8 * (n ? done / n : 1))),
        );
        const uncompressedText = assets.uncompressed_text + (isUncompressedText(page) ? 1 : 0);
        const weight = page.transferBytes + assets.transfer_bytes;
        const { thresholds } = context;
        const checks: PerformanceCheck[] = [
          grade('ttfb_ms', page.ttfbMs, thresholds.ttfb_ms),
          grade('total_ms', page.totalMs, thresholds.total_ms),
          grade('html_kb', kb(page.transferBytes), thresholds.html_kb),
          grade('page_weight_kb', kb(weight), thresholds.page_weight_kb),
          grade('render_blocking', blocking.length, thresholds.max_render_blocking),
          shouldBeZero('uncompressed_text_resources', uncompressedText),
          shouldBeZero('uncached_assets', assets.uncached),
        ];
        await report(base + span);
        return {
          ...out,
          assets,
          render_blocking: { count: blocking.length, resources: blocking.slice(0, LIST_CAP) },
          page_weight_bytes: weight,
          checks,
          score: score(checks),
        };
      } finally {
        stopTicker();
      }
    },

    async generateSitemap(input: { brandId: number; taskId: string; context: SitemapGenerationContext }): Promise<SitemapGenerationResult> {
      const { context } = input;
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const dir = join(deps.config.EXPORT_DIR, `brand-${input.brandId}`, input.taskId);
      const entryPath = join(dir, 'sitemap.xml');
      await mkdir(dir, { recursive: true });
      // A previous attempt wrote everything (the entry file is renamed last) but died before reporting.
      if (await stat(entryPath).catch(() => null)) return resumedSitemapResult(dir);

      const report = createProgressReporter(deps);
      await report(0, undefined, true);
      const included = new Map<string, { url: string; depth: number; lastmod: string | null }>();
      const excluded = new Excluded(EXCLUDED_CAP);
      const stopTicker = startHeartbeat(2000); // a page can take up to its timeout, longer than the heartbeat timeout
      let crawl: CrawlResult;
      try {
        crawl = await crawlSite(context.start_url, {
          maxPages: context.max_pages,
          maxDepth: context.max_depth,
          concurrency: context.concurrency,
          limits: limitsFrom(context),
          respectRobots: context.respect_robots_txt,
          signal,
          keepFacts: false,
          keepLinks: false,
          onPage: async (done, queued, page, res) => {
            classifyForSitemap(page, res, crawlStart(context.start_url), included, excluded);
            await report(crawlPercent(done, queued, context.max_pages) * 95);
          },
        });
      } finally {
        stopTicker();
      }
      const start = crawl.pages.find((p) => p.depth === 0);
      if (!start) throw ApplicationFailure.nonRetryable(`robots.txt disallows the start URL ${crawl.startUrl}`, 'START_URL_BLOCKED');
      if (start.status === null) throw ApplicationFailure.retryable(`The start page could not be fetched: ${start.error}`, 'FETCH_FAILED');
      if (start.status >= 400) throw ApplicationFailure.nonRetryable(`The start page answered HTTP ${start.status}`, 'START_PAGE_ERROR');
      for (const s of crawl.skipped) if (!included.has(s.url)) excluded.add(s.url, s.reason);

      const entries: SitemapEntry[] = [...included.values()]
        .sort((a, b) => a.depth - b.depth || a.url.localeCompare(b.url))
        .map((u) => ({
          loc: u.url,
          lastmod: context.include_lastmod ? u.lastmod : null,
          changefreq: context.changefreq ?? null,
          priority: context.priority_by_depth ? Math.max(0.1, 1 - 0.2 * u.depth) : (context.priority ?? null),
        }));
      const chunks = chunkEntries(entries, context.urls_per_file);

      // Earlier attempts may have left parts or split files of another size: start the directory afresh.
      for (const f of await readdir(dir)) if (/^sitemap(-\d+)?\.xml(\.part)?$/.test(f)) await rm(join(dir, f), { force: true });
      const files: string[] = [];
      const sitemapUrls: string[] = [];
      if (chunks.length <= 1) {
        await writeAtomically(entryPath, urlsetXml(chunks[0] ?? []));
        files.push(entryPath);
      } else {
        const base = new URL(context.base_url ?? new URL(crawl.startUrl).origin);
        if (!base.pathname.endsWith('/')) base.pathname += '/';
        for (const [i, chunk] of chunks.entries()) {
          const path = join(dir, `sitemap-${i + 1}.xml`);
          await writeAtomically(path, urlsetXml(chunk));
          files.push(path);
          sitemapUrls.push(new URL(`sitemap-${i + 1}.xml`, base).toString());
          ctx.heartbeat();
        }
        await writeAtomically(entryPath, sitemapIndexXml(sitemapUrls.map((loc) => ({ loc }))));
        files.push(entryPath);
      }
      await report(100, undefined, true);
      return {
        files,
        index_file: chunks.length > 1 ? entryPath : null,
        entry_file: entryPath,
        sitemap_urls: sitemapUrls,
        url_count: entries.length,
        urls_sample: entries.slice(0, URLS_SAMPLE).map((e) => e.loc),
        pages_crawled: crawl.pages.length,
        excluded: excluded.items,
        excluded_count: excluded.count,
        excluded_truncated: excluded.count > excluded.items.length,
        resumed: false,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// website_structure_analysis

async function sitemapSources(
  crawl: CrawlResult,
  context: WebsiteStructureAnalysisContext,
  limits: ReturnType<typeof limitsFrom>,
  signal: AbortSignal,
): Promise<{ url: string; explicit: boolean }[]> {
  if (context.sitemap_url) return [{ url: context.sitemap_url, explicit: true }];
  const robotsUrl = new URL('/robots.txt', crawl.startUrl).toString();
  let listed = crawl.robotsTxt.sitemaps.flatMap((s) => normalizeUrl(s, robotsUrl) ?? []);
  if (!context.respect_robots_txt) {
    // The crawl did not read robots.txt; its Sitemap: lines are still the site's own pointer to its sitemaps.
    try {
      const res = await boundedFetch(robotsUrl, { ...limits, maxBytes: 500_000 }, { signal });
      if (res.status === 200) listed = sitemapsFromRobots(res.body.toString('utf8'), robotsUrl);
    } catch (err) {
      if (signal.aborted) throw err;
    }
  }
  if (listed.length) return listed.map((url) => ({ url, explicit: false }));
  return [{ url: new URL('/sitemap.xml', crawl.startUrl).toString(), explicit: false }];
}

function structureReport(
  crawl: CrawlResult,
  sitemap: Awaited<ReturnType<typeof readSitemaps>>,
  includeEdges: boolean,
): WebsiteStructureAnalysisResult {
  const { pages, startUrl } = crawl;
  /** target → pages linking to it (self-links left out). */
  const linkedFrom = new Map<string, Set<string>>();
  const edges: { from: string; to: string }[] = [];
  let edgeCount = 0;
  const outDegree = new Map<string, number>();
  for (const p of pages) {
    const self = new Set([p.url, ...p.redirects.slice(-1)]);
    let out = 0;
    for (const to of p.internalLinks) {
      if (self.has(to) || !isSameSite(to, startUrl)) continue;
      out += 1;
      edgeCount += 1;
      if (includeEdges && edges.length < EDGE_CAP) edges.push({ from: p.url, to });
      let sources = linkedFrom.get(to);
      if (!sources) linkedFrom.set(to, (sources = new Set()));
      sources.add(p.url);
    }
    outDegree.set(p.url, out);
  }
  const sourcesOf = (url: string) => [...(linkedFrom.get(url) ?? [])].sort().slice(0, LINKED_FROM_CAP);

  const nodes: StructureNode[] = pages.slice(0, NODE_CAP).map((p) => ({
    url: p.url,
    depth: p.depth,
    status: p.status,
    in_degree: linkedFrom.get(p.url)?.size ?? 0,
    out_degree: outDegree.get(p.url) ?? 0,
  }));

  const depthDistribution: Record<string, number> = {};
  for (const p of pages) depthDistribution[String(p.depth)] = (depthDistribution[String(p.depth)] ?? 0) + 1;

  const isBroken = (p: CrawledPage) => p.status === null || p.status >= 400;
  const broken = pages.filter(isBroken);
  const redirected = pages.filter((p) => p.redirects.length > 0);
  const blocked = crawl.skipped.filter((s) => s.reason === 'robots');
  const beyond = crawl.skipped.filter((s): s is { url: string; reason: 'depth' | 'max_pages' } => s.reason !== 'robots');

  // Reached by a link, or as the start page, or as the target of a redirect from such a page.
  const reached = new Set<string>([startUrl, ...linkedFrom.keys()]);
  for (const p of redirected) reached.add(p.redirects[p.redirects.length - 1]!);
  const orphans = sitemap.urls.filter((u) => !reached.has(u)).sort();

  return {
    start_url: startUrl,
    pages_crawled: pages.length,
    link_graph: {
      node_count: pages.length,
      edge_count: edgeCount,
      nodes,
      nodes_truncated: pages.length > nodes.length,
      ...(includeEdges ? { edges } : {}),
      truncated: includeEdges && edgeCount > edges.length,
    },
    depth_distribution: depthDistribution,
    orphan_pages: orphans.slice(0, LIST_CAP).map((url) => ({ url })),
    orphan_count: orphans.length,
    orphans_truncated: orphans.length > LIST_CAP,
    sitemap: { sources: sitemap.sources, found: sitemap.found, url_count: sitemap.urls.length, truncated: sitemap.truncated, errors: sitemap.errors.slice(0, 50) },
    robots_txt: crawl.robotsTxt,
    blocked_by_robots: blocked.slice(0, LIST_CAP).map((s) => ({ url: s.url, linked_from: sourcesOf(s.url) })),
    broken_links: broken.slice(0, LIST_CAP).map((p) => ({ url: p.url, status: p.status, error: p.error, linked_from: sourcesOf(p.url) })),
    redirects: redirected.slice(0, LIST_CAP).map((p) => ({ url: p.url, final_url: p.redirects[p.redirects.length - 1]!, status: p.status, chain: p.redirects })),
    beyond_bounds: beyond.slice(0, LIST_CAP).map((s) => ({ url: s.url, reason: s.reason, linked_from: sourcesOf(s.url) })),
    summary: {
      pages_ok: pages.filter((p) => p.status !== null && p.status < 400).length,
      broken_count: broken.length,
      blocked_count: blocked.length,
      redirect_count: redirected.length,
      beyond_bounds_count: beyond.length,
      max_depth_reached: pages.reduce((m, p) => Math.max(m, p.depth), 0),
    },
    list_cap: LIST_CAP,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// page_performance_audit

const TEXT_TYPES = /text\/|javascript|json|xml|svg/i;
/** Below this size compression hardly pays (and servers commonly skip it). */
const COMPRESSIBLE_MIN_BYTES = 1024;

function isUncompressedText(res: Pick<MeasuredResource, 'contentType' | 'contentEncoding' | 'decodedBytes'>): boolean {
  return TEXT_TYPES.test(res.contentType) && res.contentEncoding === null && res.decodedBytes > COMPRESSIBLE_MIN_BYTES;
}

type Assets = NonNullable<PagePerformanceReport['assets']>;

async function weighAssets(
  facts: ReturnType<typeof parsePage>,
  pageUrl: string,
  maxAssets: number,
  limits: ReturnType<typeof limitsFrom>,
  signal: AbortSignal,
  progress: (done: number, total: number) => Promise<void>,
): Promise<Assets> {
  const found = new Map<string, AssetReport['type']>();
  for (const s of facts.scripts) if (s.src && !found.has(s.src)) found.set(s.src, 'script');
  for (const l of facts.stylesheets) if (l.href && !found.has(l.href)) found.set(l.href, 'stylesheet');
  for (const i of facts.images) if (i.src && !found.has(i.src)) found.set(i.src, 'image');

  const items: AssetReport[] = [];
  const toFetch: AssetReport[] = [];
  for (const [url, type] of found) {
    const sameSite = isSameSite(url, pageUrl);
    const item: AssetReport = { url, type, same_site: sameSite, fetched: false };
    if (!sameSite) item.skipped_reason = 'off_site';
    else if (toFetch.length >= maxAssets) item.skipped_reason = 'max_assets';
    else toFetch.push(item);
    items.push(item);
  }

  const ACCEPT: Record<AssetReport['type'], string> = { script: '*/*', stylesheet: 'text/css,*/*;q=0.1', image: 'image/avif,image/webp,image/*,*/*;q=0.8' };
  const uncompressed = new Set<AssetReport>();
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < toFetch.length) {
      const item = toFetch[next++]!;
      try {
        const res = await measuredFetch(item.url, { ...limits, sameSiteOnly: true }, { signal, headers: { accept: ACCEPT[item.type] } });
        Object.assign(item, {
          fetched: true,
          status: res.status,
          content_type: res.contentType || null,
          transfer_bytes: res.transferBytes,
          decoded_bytes: res.decodedBytes,
          content_encoding: res.contentEncoding,
          caching: cachingInfo(res.headers),
          error: res.status >= 400 ? `HTTP ${res.status}` : res.decodeError,
        });
        if (res.status < 400 && isUncompressedText(res)) uncompressed.add(item);
      } catch (err) {
        if (signal.aborted) throw err;
        Object.assign(item, { fetched: true, status: null, error: err instanceof Error ? err.message : String(err) });
      }
      done += 1;
      await progress(done, toFetch.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, toFetch.length) }, worker));

  const byType: Assets['by_type'] = {
    script: { count: 0, fetched: 0, transfer_bytes: 0, decoded_bytes: 0 },
    stylesheet: { count: 0, fetched: 0, transfer_bytes: 0, decoded_bytes: 0 },
    image: { count: 0, fetched: 0, transfer_bytes: 0, decoded_bytes: 0 },
  };
  let uncached = 0;
  for (const item of items) {
    const t = byType[item.type];
    t.count += 1;
    if (!item.fetched || item.status === null || item.status === undefined) continue;
    t.fetched += 1;
    t.transfer_bytes += item.transfer_bytes ?? 0;
    t.decoded_bytes += item.decoded_bytes ?? 0;
    if (item.status < 400 && item.caching && !item.caching.cacheable) uncached += 1;
  }
  const fetched = items.filter((i) => i.fetched && i.status !== null);
  return {
    found: items.length,
    fetched: fetched.length,
    skipped_off_site: items.filter((i) => i.skipped_reason === 'off_site').length,
    skipped_max_assets: items.filter((i) => i.skipped_reason === 'max_assets').length,
    failed: items.filter((i) => i.fetched && (i.status === null || (i.status ?? 0) >= 400)).length,
    transfer_bytes: fetched.reduce((s, i) => s + (i.transfer_bytes ?? 0), 0),
    decoded_bytes: fetched.reduce((s, i) => s + (i.decoded_bytes ?? 0), 0),
    by_type: byType,
    uncompressed_text: uncompressed.size,
    uncached,
    items: items.slice(0, ASSET_ITEMS_CAP),
    items_truncated: items.length > ASSET_ITEMS_CAP,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// sitemap_generation

const crawlStart = (url: string) => normalizeUrl(url) ?? url;

/** Excluded URLs: the first `cap` kept (one entry per URL), all counted. */
class Excluded {
  readonly items: { url: string; reason: string; detail?: string }[] = [];
  count = 0;
  private readonly seen = new Set<string>();
  constructor(private readonly cap: number) {}
  add(url: string, reason: string, detail?: string) {
    if (this.seen.has(url)) return;
    this.seen.add(url);
    this.count += 1;
    if (this.items.length < this.cap) this.items.push(detail ? { url, reason, detail } : { url, reason });
  }
}

const NOINDEX = /\b(noindex|none)\b/i;

/**
 * A page goes in the sitemap when it answers 200 with HTML, is not noindex (meta robots or X-Robots-Tag) and its
 * canonical, if any, is itself. A redirect is excluded and its same-site target considered in its place.
 */
function classifyForSitemap(
  page: CrawledPage,
  res: FetchedResource | null,
  start: string,
  included: Map<string, { url: string; depth: number; lastmod: string | null }>,
  excluded: Excluded,
): void {
  if (!res) return excluded.add(page.url, 'error', page.error ?? undefined);
  let url = page.url;
  if (page.redirects.length) {
    const target = page.redirects[page.redirects.length - 1]!;
    excluded.add(page.url, 'redirect', target);
    if (!isSameSite(target, start)) return;
    url = target;
  }
  if (included.has(url)) return;
  if (res.status !== 200) return excluded.add(url, `http_${res.status}`);
  if (!isHtml(res)) return excluded.add(url, 'not_html', res.contentType || undefined);
  const facts = page.facts;
  if (!facts) return excluded.add(url, 'not_html');
  const robots = [facts.metaRobots ?? '', res.headers['x-robots-tag'] ?? ''].join(',');
  if (NOINDEX.test(robots)) return excluded.add(url, 'noindex');
  if (facts.canonical && facts.canonical !== url) return excluded.add(url, 'canonical_elsewhere', facts.canonical);
  if (url.length > SITEMAP_MAX_LOC_LENGTH) return excluded.add(url, 'url_too_long');
  included.set(url, { url, depth: page.depth, lastmod: w3cDatetime(res.headers['last-modified']) });
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const part = `${path}.part`;
  const file = await open(part, 'w');
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(part, path); // readers see no file or the whole file
}

async function resumedSitemapResult(dir: string): Promise<SitemapGenerationResult> {
  const entryPath = join(dir, 'sitemap.xml');
  const entry = parseSitemapXml(await readFile(entryPath, 'utf8'));
  const split = (await readdir(dir))
    .flatMap((f) => {
      const m = /^sitemap-(\d+)\.xml$/.exec(f);
      return m ? [{ f, n: Number(m[1]) }] : [];
    })
    .sort((a, b) => a.n - b.n)
    .map((x) => join(dir, x.f));
  let urls = entry.kind === 'urlset' ? entry.locs : [];
  if (entry.kind === 'sitemapindex') {
    urls = [];
    for (const f of split) urls.push(...parseSitemapXml(await readFile(f, 'utf8')).locs);
  }
  const isIndex = entry.kind === 'sitemapindex';
  return {
    files: isIndex ? [...split, entryPath] : [entryPath],
    index_file: isIndex ? entryPath : null,
    entry_file: entryPath,
    sitemap_urls: isIndex ? entry.locs : [],
    url_count: urls.length,
    urls_sample: urls.slice(0, URLS_SAMPLE),
    pages_crawled: 0,
    excluded: [],
    excluded_count: 0,
    excluded_truncated: false,
    resumed: true,
  };
}
