import * as cheerio from 'cheerio';
import { parsePage, type PageFacts } from '../web/html-page';
import { boundedFetch, isHtml, type FetchLimits } from '../web/bounded-fetch';
import type { ContentPageInput } from '../../workflows/tasks/meta-tags-generation';

/** Base of given content without a URL: relative links read as internal, relative images as not absolute. */
export const PLACEHOLDER_BASE = 'https://content.invalid/';

/** One page of a content task, from a fetched URL or from given content. Pure data, plain JSON. */
export interface ContentPage {
  /** `url` of the input, or `content#<index>`. */
  source: string;
  /** The page's address (after redirects for fetched pages); null for content given without a URL. */
  url: string | null;
  status: number | null;
  facts: PageFacts;
  /** Text of the body's paragraphs and list items (not navigation), one entry each: what readability reads. */
  paragraphs: string[];
  /** An <article> element or article:* meta tags. */
  isArticle: boolean;
}

export interface PageLoadError {
  source: string;
  url: string | null;
  status: number | null;
  error: string;
}

export type PageLoad = { ok: true; page: ContentPage } | { ok: false; failure: PageLoadError };

/**
 * Reads one page. HTTP errors and non-HTML answers are findings (returned); network errors throw a retryable
 * ApplicationFailure (from boundedFetch), so the activity retries.
 */
export async function loadContentPage(input: ContentPageInput, index: number, limits: FetchLimits, signal?: AbortSignal): Promise<PageLoad> {
  if (input.content !== undefined) return { ok: true, page: pageFromContent(input, index) };
  const url = input.url!;
  const res = await boundedFetch(url, limits, { signal });
  if (res.status >= 400) return { ok: false, failure: { source: url, url: res.url, status: res.status, error: `HTTP ${res.status}` } };
  if (!isHtml(res)) {
    return { ok: false, failure: { source: url, url: res.url, status: res.status, error: `Not an HTML page (${res.contentType || 'no content type'})` } };
  }
  const html = res.body.toString('utf8');
  return { ok: true, page: { source: url, url: res.url, status: res.status, ...analyse(html, res.url, false) } };
}

export function pageFromContent(input: ContentPageInput, index: number): ContentPage {
  const content = input.content ?? '';
  // `[^<>]` (not `[^>]`): a run of unclosed `<a<a<a…` must not make the test quadratic.
  const format = input.format ?? (/<[a-z][^<>]*>/i.test(content) ? 'html' : 'text');
  let html = format === 'html' ? content : format === 'markdown' ? markdownToHtml(content) : textToHtml(content);
  if (input.title !== undefined) {
    // The given title wins over a <title> in the content.
    const $ = cheerio.load(html);
    $('title').remove();
    $('head').append(`<title>${escapeHtml(input.title)}</title>`);
    html = $.html();
  }
  const base = input.url ?? PLACEHOLDER_BASE;
  const analysed = analyse(html, base, input.url === undefined);
  return { source: input.url ?? `content#${index}`, url: input.url ?? null, status: null, ...analysed };
}

function analyse(html: string, url: string, placeholder: boolean): Pick<ContentPage, 'facts' | 'paragraphs' | 'isArticle'> {
  const facts = parsePage(html, url);
  if (placeholder) {
    const isPlaceholder = (u: string | null) => u !== null && u.startsWith(PLACEHOLDER_BASE);
    facts.images = facts.images.map((img) => (isPlaceholder(img.src) ? { ...img, src: null } : img));
    if (isPlaceholder(facts.canonical)) facts.canonical = null;
  }
  const $ = cheerio.load(html);
  const scope = $('main').length ? $('main') : $('article').length ? $('article') : $('body');
  const paragraphs = scope
    .find('p, li')
    .toArray()
    .filter((el) => $(el).parents('nav, header, footer, aside').length === 0 && $(el).find('p').length === 0)
    .map((el) => $(el).text().replace(/\s+/g, ' ').trim())
    .filter((t) => t.length > 0);
  const isArticle = $('article').length > 0 || $('meta[property^="article:"]').length > 0 || facts.openGraph['og:type'] === 'article';
  return { facts, paragraphs, isArticle };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function textToHtml(text: string): string {
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return `<html><body>${blocks.map((b) => `<p>${escapeHtml(b.replace(/\s+/g, ' '))}</p>`).join('\n')}</body></html>`;
}

/** Enough Markdown for analysis: ATX headings, paragraphs, list items, links, images, emphasis. */
export function markdownToHtml(md: string): string {
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/!\[([^[\]]*)\]\(([^()\s]+)[^()]*\)/g, '<img alt="$1" src="$2">')
      .replace(/\[([^[\]]+)\]\(([^()\s]+)[^()]*\)/g, '<a href="$2">$1</a>')
      .replace(/(\*\*|__)(.+?)\1/g, '<strong>$2</strong>')
      .replace(/(\*|_)(.+?)\1/g, '<em>$2</em>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  const out: string[] = [];
  let para: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    if (list.length) out.push(`<ul>${list.map((li) => `<li>${inline(li)}</li>`).join('')}</ul>`);
    para = [];
    list = [];
  };
  for (const raw of md.split(/\r?\n/)) {
    const line = raw.trim();
    const heading = /^(#{1,6})\s+(.*?)\s*#*$/.exec(line);
    const item = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (!line) flush();
    else if (heading) {
      flush();
      out.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    } else if (item) {
      if (para.length) flush();
      list.push(item[1]!);
    } else {
      if (list.length) flush();
      para.push(line);
    }
  }
  flush();
  return `<html><body>${out.join('\n')}</body></html>`;
}

/** 'en' or 'fr' from an explicit choice, else the page's lang attribute, else 'en'. */
export function pageLanguage(explicit: 'en' | 'fr' | undefined, facts: PageFacts): 'en' | 'fr' {
  if (explicit) return explicit;
  return facts.lang?.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}
