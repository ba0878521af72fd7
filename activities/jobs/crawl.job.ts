import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import robotsParser from 'robots-parser';
import { z } from 'zod';
import { sitemapGenerationContextSchema } from '../../workflows/tasks/sitemap-generation';
import { boundedFetch, isHtml, isSameSite, limitsFrom, normalizeUrl, USER_AGENT } from '../web/bounded-fetch';
import { parsePage } from '../web/html-page';
import { chunkEntries, sitemapIndexXml, urlsetXml, w3cDatetime, type SitemapEntry } from '../site/sitemap-xml';
import type { JobRunner } from './job-runner';

interface CrawlState extends Record<string, unknown> {
  step: 'crawl' | 'write' | 'done';
  start: string;
  /** Breadth-first queue of [url, depth]. */
  frontier: [string, number][];
  seen: string[];
  robotsTxt: string | null;
  included: SitemapEntry[];
  excluded: number;
  pages: number;
  files: string[];
}

const NOINDEX = /\b(noindex|none)\b/i;

function robotsFor(state: CrawlState) {
  return state.robotsTxt === null ? null : robotsParser(new URL('/robots.txt', state.start).toString(), state.robotsTxt);
}

/**
 * A site crawl that writes a sitemap, as a persistent job: one item per page. The frontier, the seen set and the
 * entries found so far are the checkpointed state, so a crawl of thousands of pages resumes at page k after a
 * pause, a crash or a failure, and the sitemap files are published once, atomically, at the end.
 */
export const crawlJob: JobRunner = {
  async init(ctx) {
    const data = sitemapGenerationContextSchema.parse(ctx.input.jobData);
    const start = normalizeUrl(data.start_url)!;
    let robotsTxt: string | null = null;
    if (data.respect_robots_txt) {
      const res = await boundedFetch(new URL('/robots.txt', start).toString(), { ...limitsFrom(data), maxBytes: 500_000 }, { signal: ctx.activity.cancellationSignal }).catch(() => null);
      if (res?.status === 200) robotsTxt = res.body.toString('utf8');
    }
    return { step: 'crawl', start, frontier: [[start, 0]], seen: [start], robotsTxt, included: [], excluded: 0, pages: 0, files: [] } satisfies CrawlState;
  },
  step: (state) => ((state as CrawlState).step === 'done' ? 'write' : (state as CrawlState).step),
  /** Pages known so far (crawled + queued): the total grows as the crawl discovers the site. */
  total: (state) => (state as CrawlState).pages + (state as CrawlState).frontier.length,
  async processNext(raw, ctx) {
    const state = raw as CrawlState;
    const data = sitemapGenerationContextSchema.parse(ctx.input.jobData);
    if (state.step === 'crawl') {
      const head = state.frontier[0];
      if (!head || state.pages >= data.max_pages) return { state: { ...state, step: 'write' }, processed: 0, done: false };
      const [url, depth] = head;
      const res = await boundedFetch(url, limitsFrom(data), { signal: ctx.activity.cancellationSignal }).catch((err: unknown) => {
        // A pause or cancel interrupted this page: it is not processed, the resume fetches it again.
        if (ctx.activity.cancellationSignal.aborted) throw err;
        return null;
      });
      const next: CrawlState = { ...state, frontier: state.frontier.slice(1), pages: state.pages + 1 };
      if (!res || res.status !== 200 || !isHtml(res) || res.redirects.length > 0) return { state: { ...next, excluded: next.excluded + 1 }, processed: 1, done: false };
      const facts = parsePage(res.body.toString('utf8'), res.url);
      const noindex = NOINDEX.test(`${facts.metaRobots ?? ''},${res.headers['x-robots-tag'] ?? ''}`);
      if (noindex || (facts.canonical && facts.canonical !== url)) next.excluded += 1;
      else next.included = [...next.included, { loc: url, lastmod: data.include_lastmod ? w3cDatetime(res.headers['last-modified']) : null, changefreq: data.changefreq ?? null, priority: data.priority ?? (data.priority_by_depth ? Math.max(0.1, 1 - depth * 0.2) : null) }];
      if (depth < data.max_depth) {
        const robots = robotsFor(state);
        const seen = new Set(state.seen);
        for (const link of facts.links) {
          if (!link.internal || seen.has(link.href) || !isSameSite(link.href, state.start)) continue;
          if (robots && robots.isAllowed(link.href, USER_AGENT) === false) continue;
          seen.add(link.href);
          next.frontier.push([link.href, depth + 1]);
        }
        next.seen = [...seen];
      }
      return { state: next, processed: 1, done: false };
    }
    // write: every file to .part, then renamed; the index last. A replay finds the files already published.
    const dir = join(ctx.deps.config.EXPORT_DIR, `brand-${ctx.input.brandId}`, `${ctx.input.taskId}-job${ctx.input.jobId}-g${ctx.input.generation}`);
    await mkdir(dir, { recursive: true });
    const chunks = chunkEntries(state.included, data.urls_per_file);
    const files: string[] = [];
    const publish = async (name: string, xml: string) => {
      const path = join(dir, name);
      if (!(await stat(path).catch(() => null))) {
        const file = await open(`${path}.part`, 'w');
        await file.write(xml);
        await file.sync();
        await file.close();
        await rename(`${path}.part`, path);
      }
      files.push(path);
    };
    if (chunks.length <= 1) await publish('sitemap.xml', urlsetXml(chunks[0] ?? []));
    else {
      const base = data.base_url ?? new URL('/', state.start).toString();
      for (const [i, chunk] of chunks.entries()) await publish(`sitemap-${i + 1}.xml`, urlsetXml(chunk));
      await publish('sitemap.xml', sitemapIndexXml(chunks.map((_, i) => ({ loc: new URL(`sitemap-${i + 1}.xml`, base).toString() }))));
    }
    return { state: { ...state, step: 'done', files }, processed: 0, done: true };
  },
  result: (state) => {
    const s = state as CrawlState;
    return { files: s.files, entry_file: s.files[s.files.length - 1] ?? null, url_count: s.included.length, pages_crawled: s.pages, excluded_count: s.excluded };
  },
};


/** The crawl job's resumable state, for manual checkpoints (import/recovery). */
export const crawlJobStateSchema = z
  .object({
    step: z.enum(['crawl', 'write', 'done']),
    start: z.string().url(),
    frontier: z.array(z.tuple([z.string().url(), z.number().int().min(0)])),
    seen: z.array(z.string().url()),
    robotsTxt: z.string().nullable(),
    included: z.array(z.object({ loc: z.string().url(), lastmod: z.string().nullable().optional(), changefreq: z.string().nullable().optional(), priority: z.number().nullable().optional() })),
    excluded: z.number().int().min(0),
    pages: z.number().int().min(0),
    files: z.array(z.string()),
  })
  .strict();
