import * as cheerio from 'cheerio';

/** Sitemaps.org XML, written and read. Pure: no I/O. https://www.sitemaps.org/protocol.html */
export const SITEMAP_NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';
/** The protocol's size cap for one uncompressed sitemap file. */
export const SITEMAP_MAX_BYTES = 50 * 1024 * 1024;
/** The protocol's cap on a <loc>'s length. */
export const SITEMAP_MAX_LOC_LENGTH = 2048;

export interface SitemapEntry {
  loc: string;
  lastmod?: string | null;
  changefreq?: string | null;
  priority?: number | null;
}

/** Entity-escapes &, <, >, ' and " as the protocol requires of <loc> and every other value. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>'"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** W3C Datetime (second precision, UTC) from an HTTP date, or null when it does not parse. */
export function w3cDatetime(httpDate: string | null | undefined): string | null {
  if (!httpDate) return null;
  const ms = Date.parse(httpDate);
  if (Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function urlEntryXml(entry: SitemapEntry): string {
  let xml = `  <url>\n    <loc>${escapeXml(entry.loc)}</loc>\n`;
  if (entry.lastmod) xml += `    <lastmod>${escapeXml(entry.lastmod)}</lastmod>\n`;
  if (entry.changefreq) xml += `    <changefreq>${escapeXml(entry.changefreq)}</changefreq>\n`;
  if (entry.priority !== null && entry.priority !== undefined) xml += `    <priority>${entry.priority.toFixed(1)}</priority>\n`;
  return `${xml}  </url>\n`;
}

export const URLSET_OPEN = `${XML_HEADER}<urlset xmlns="${SITEMAP_NS}">\n`;
export const URLSET_CLOSE = '</urlset>\n';

export function urlsetXml(entries: SitemapEntry[]): string {
  return URLSET_OPEN + entries.map(urlEntryXml).join('') + URLSET_CLOSE;
}

export function sitemapIndexXml(locs: { loc: string; lastmod?: string | null }[]): string {
  const body = locs
    .map((s) => `  <sitemap>\n    <loc>${escapeXml(s.loc)}</loc>\n${s.lastmod ? `    <lastmod>${escapeXml(s.lastmod)}</lastmod>\n` : ''}  </sitemap>\n`)
    .join('');
  return `${XML_HEADER}<sitemapindex xmlns="${SITEMAP_NS}">\n${body}</sitemapindex>\n`;
}

/**
 * Splits entries into files of at most `perFile` URLs and SITEMAP_MAX_BYTES each (the protocol's two caps).
 */
export function chunkEntries(entries: SitemapEntry[], perFile: number, maxBytes = SITEMAP_MAX_BYTES): SitemapEntry[][] {
  const chunks: SitemapEntry[][] = [];
  let current: SitemapEntry[] = [];
  let bytes = Buffer.byteLength(URLSET_OPEN) + Buffer.byteLength(URLSET_CLOSE);
  for (const entry of entries) {
    const size = Buffer.byteLength(urlEntryXml(entry));
    if (current.length > 0 && (current.length >= perFile || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = Buffer.byteLength(URLSET_OPEN) + Buffer.byteLength(URLSET_CLOSE);
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface ParsedSitemap {
  kind: 'urlset' | 'sitemapindex' | 'unknown';
  /** <url><loc> of a urlset, or <sitemap><loc> of an index; entity-decoded and trimmed. */
  locs: string[];
  lastmods: (string | null)[];
}

export function parseSitemapXml(xml: string): ParsedSitemap {
  const $ = cheerio.load(xml, { xml: true });
  const root = $.root().children().first();
  const name = (root.prop('tagName') ?? '').toLowerCase().replace(/^.*:/, '');
  const kind = name === 'urlset' ? 'urlset' : name === 'sitemapindex' ? 'sitemapindex' : 'unknown';
  if (kind === 'unknown') return { kind, locs: [], lastmods: [] };
  const items = root.children().toArray().filter((el) => el.tagName.toLowerCase().replace(/^.*:/, '') === (kind === 'urlset' ? 'url' : 'sitemap'));
  const locs: string[] = [];
  const lastmods: (string | null)[] = [];
  for (const el of items) {
    const child = (tag: string) =>
      $(el)
        .children()
        .toArray()
        .find((c) => c.tagName.toLowerCase().replace(/^.*:/, '') === tag);
    const loc = child('loc');
    const text = loc ? $(loc).text().trim() : '';
    if (!text) continue;
    locs.push(text);
    const lm = child('lastmod');
    lastmods.push(lm ? $(lm).text().trim() || null : null);
  }
  return { kind, locs, lastmods };
}
