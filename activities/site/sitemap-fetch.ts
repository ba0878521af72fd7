import { gunzipSync } from 'node:zlib';
import { boundedFetch, isSameSite, normalizeUrl, type FetchLimits } from '../web/bounded-fetch';
import { parseSitemapXml } from './sitemap-xml';

export const MAX_SITEMAP_FILES = 20;
export const MAX_SITEMAP_URLS = 50_000;
const MAX_INDEX_NESTING = 3;

export interface SitemapUrls {
  /** The sitemaps that were tried, in order. */
  sources: string[];
  /** At least one sitemap answered and parsed. */
  found: boolean;
  /** Normalised page URLs listed (same site as `site` only), deduplicated, at most MAX_SITEMAP_URLS. */
  urls: string[];
  truncated: boolean;
  errors: string[];
}

/**
 * Reads a site's sitemaps (a sitemap index is followed, nested up to 3 levels), bounded: at most MAX_SITEMAP_FILES
 * files, MAX_SITEMAP_URLS URLs, each fetch through boundedFetch; gzipped sitemaps (.xml.gz) are inflated within
 * the same byte cap. Only sitemaps on the site itself (or the explicitly given ones) are fetched.
 */
export async function readSitemaps(
  site: string,
  initial: { url: string; explicit: boolean }[],
  limits: FetchLimits,
  signal?: AbortSignal,
): Promise<SitemapUrls> {
  const sources: string[] = [];
  const errors: string[] = [];
  const urls = new Set<string>();
  const seen = new Set<string>();
  const queue = initial.map((s) => ({ ...s, level: 0 }));
  let found = false;
  let truncated = false;
  while (queue.length > 0 && !truncated) {
    const item = queue.shift()!;
    const url = normalizeUrl(item.url);
    if (!url || seen.has(url)) continue;
    seen.add(url);
    if (!item.explicit && !isSameSite(url, site)) {
      errors.push(`${url}: not on the crawled site, not fetched`);
      continue;
    }
    if (sources.length >= MAX_SITEMAP_FILES) {
      errors.push(`more than ${MAX_SITEMAP_FILES} sitemap files; the rest were not read`);
      truncated = true;
      break;
    }
    sources.push(url);
    let body: Buffer;
    try {
      const res = await boundedFetch(url, limits, { signal, headers: { accept: 'application/xml,text/xml,*/*;q=0.8' } });
      if (res.status !== 200) {
        // The conventional /sitemap.xml being absent is not an error, just no sitemap.
        if (item.explicit || res.status !== 404) errors.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      if (res.truncated) {
        errors.push(`${url}: larger than ${limits.maxBytes} bytes, not read`);
        continue;
      }
      body = res.body;
    } catch (err) {
      if (signal?.aborted) throw err;
      errors.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (body[0] === 0x1f && body[1] === 0x8b) {
      try {
        body = gunzipSync(body, { maxOutputLength: limits.maxBytes });
      } catch (err) {
        errors.push(`${url}: could not inflate: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
    }
    const parsed = parseSitemapXml(body.toString('utf8'));
    if (parsed.kind === 'unknown') {
      errors.push(`${url}: not a sitemap (no <urlset> or <sitemapindex>)`);
      continue;
    }
    found = true;
    if (parsed.kind === 'sitemapindex') {
      if (item.level + 1 > MAX_INDEX_NESTING) {
        errors.push(`${url}: sitemap index nested too deep, not followed`);
        continue;
      }
      for (const loc of parsed.locs) {
        const child = normalizeUrl(loc, url);
        // A sitemap index may list sitemaps on the site of the index itself (an explicit, off-site sitemap_url) or the crawled site.
        if (child) queue.push({ url: child, explicit: item.explicit && isSameSite(child, url), level: item.level + 1 });
      }
      continue;
    }
    for (const loc of parsed.locs) {
      const page = normalizeUrl(loc, url);
      if (!page || !isSameSite(page, site)) continue;
      if (urls.size >= MAX_SITEMAP_URLS) {
        truncated = true;
        break;
      }
      urls.add(page);
    }
  }
  return { sources, found, urls: [...urls], truncated, errors };
}

/** `Sitemap:` lines of a robots.txt, resolved against its URL. */
export function sitemapsFromRobots(robotsTxt: string, robotsUrl: string): string[] {
  return robotsTxt
    .split(/\r?\n/)
    .map((line) => /^\s*sitemap\s*:\s*(\S+)/i.exec(line)?.[1])
    .flatMap((s) => {
      const u = s ? normalizeUrl(s, robotsUrl) : null;
      return u ? [u] : [];
    });
}
