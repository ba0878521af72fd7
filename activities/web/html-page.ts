import * as cheerio from 'cheerio';
import { isSameSite, normalizeUrl } from './bounded-fetch';

/** What the SEO, content and site task types read from one HTML page. Pure: no I/O. */
export interface PageFacts {
  url: string;
  lang: string | null;
  title: string | null;
  metaDescription: string | null;
  metaRobots: string | null;
  canonical: string | null;
  headings: { level: number; text: string }[];
  firstParagraph: string | null;
  /** Visible text of the body (scripts, styles and templates removed), whitespace collapsed. */
  text: string;
  links: { href: string; text: string; internal: boolean; nofollow: boolean }[];
  images: { src: string | null; alt: string | null }[];
  openGraph: Record<string, string>;
  scripts: { src: string | null; inHead: boolean; async: boolean; defer: boolean; module: boolean }[];
  stylesheets: { href: string | null; inHead: boolean; media: string | null }[];
}

const clean = (s: string | undefined | null): string | null => {
  const t = (s ?? '').replace(/\s+/g, ' ').trim();
  return t.length ? t : null;
};

/** A resource URL attribute: absent or empty is null (normalizeUrl('', base) would give the page itself). */
const attrUrl = (value: string | undefined, base: string): string | null => (value?.trim() ? normalizeUrl(value.trim(), base) : null);

export function parsePage(html: string, url: string): PageFacts {
  const $ = cheerio.load(html);
  const base = normalizeUrl($('base[href]').attr('href') ?? '', url) ?? url;

  const headings = $('h1, h2, h3, h4, h5, h6')
    .toArray()
    .map((el) => ({ level: Number(el.tagName.slice(1)), text: clean($(el).text()) ?? '' }));

  const links = $('a[href]')
    .toArray()
    .flatMap((el) => {
      const href = normalizeUrl($(el).attr('href') ?? '', base);
      if (!href) return [];
      const rel = ($(el).attr('rel') ?? '').toLowerCase();
      return [{ href, text: clean($(el).text()) ?? '', internal: isSameSite(href, url), nofollow: rel.includes('nofollow') }];
    });

  const images = $('img')
    .toArray()
    .map((el) => {
      const alt = $(el).attr('alt');
      return { src: attrUrl($(el).attr('src'), base), alt: alt === undefined ? null : alt.trim() };
    });

  const openGraph: Record<string, string> = {};
  $('meta[property^="og:"], meta[name^="twitter:"]').each((_, el) => {
    const key = $(el).attr('property') ?? $(el).attr('name');
    const value = $(el).attr('content');
    if (key && value !== undefined) openGraph[key] = value;
  });

  const inHead = (el: Parameters<typeof $>[0]) => $(el).parents('head').length > 0;
  const scripts = $('script')
    .toArray()
    .map((el) => ({
      src: attrUrl($(el).attr('src'), base), // null for an inline script
      inHead: inHead(el),
      async: $(el).attr('async') !== undefined,
      defer: $(el).attr('defer') !== undefined,
      module: ($(el).attr('type') ?? '').toLowerCase() === 'module',
    }));
  const stylesheets = $('link[rel~="stylesheet"]')
    .toArray()
    .map((el) => ({ href: attrUrl($(el).attr('href'), base), inHead: inHead(el), media: $(el).attr('media') ?? null }));

  const firstParagraph =
    $('main p, article p')
      .toArray()
      .concat($('body p').toArray())
      .map((el) => clean($(el).text()))
      .find((t): t is string => Boolean(t)) ?? null;

  const body = $('body').clone();
  body.find('script, style, noscript, template, svg').remove();
  // Block elements end words: "<li>a</li><li>b</li>" must not read as "ab".
  body.find('p, div, li, h1, h2, h3, h4, h5, h6, br, td, th, section, article, header, footer, nav, blockquote').after(' ');

  return {
    url,
    lang: clean($('html').attr('lang')),
    title: clean($('head title').first().text() || $('title').first().text()),
    metaDescription: clean($('meta[name="description" i]').attr('content')),
    metaRobots: clean($('meta[name="robots" i]').attr('content')),
    canonical: attrUrl($('link[rel~="canonical"]').attr('href'), base), // null without a canonical link
    headings,
    firstParagraph,
    text: clean(body.text()) ?? '',
    links,
    images,
    openGraph,
    scripts,
    stylesheets,
  };
}
