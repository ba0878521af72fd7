import { countPhrase, tokenize } from '../web/text-stats';
import { escapeHtml, pageLanguage, type ContentPage } from './page-source';

/** Pure functions of `meta_tags_generation`, reused by `content_optimization`. */

export interface MetaTagOptions {
  keywords?: string[];
  brandName?: string;
  titleMax: number;
  descriptionMin: number;
  descriptionMax: number;
  language?: 'en' | 'fr';
}

export interface MetaIssue {
  code: string;
  severity: 'high' | 'medium' | 'low';
  message: string;
}

export interface GeneratedMetaTags {
  title: string;
  title_length: number;
  description: string | null;
  description_length: number;
  /** Where the description comes from: the page's meta description (as is or shortened), or its text. */
  description_source: 'existing' | 'existing_shortened' | 'content' | 'none';
  open_graph: Record<string, string>;
  /** Ready-to-paste tags, attribute values HTML-escaped. */
  html: string;
  existing: { title: string | null; description: string | null; open_graph: Record<string, string> };
  issues: MetaIssue[];
}

const SEPARATOR = /\s+[|–—·-]\s+|:\s+/;
const TRAILING_JUNK = /[\s,;:|–—·/-]+$/;

export const normalizeSpace = (s: string) => s.replace(/\s+/g, ' ').trim();
const EXISTING_MAX = 1000;
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const clipOrNull = (s: string | null) => (s === null ? null : clip(s, EXISTING_MAX));
const capitalize = (s: string) => s.charAt(0).toLocaleUpperCase() + s.slice(1);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export const containsPhrase = (text: string | null | undefined, phrase: string) => Boolean(text) && countPhrase(tokenize(text!), phrase) > 0;

/**
 * Shortens to at most `max` characters, ending on a word boundary (a single overlong word is cut), without
 * trailing separators; with `ellipsis`, a cut text ends with "…" (counted in `max`).
 */
export function truncateAtWord(text: string, max: number, ellipsis = false): string {
  const s = normalizeSpace(text);
  if (s.length <= max) return s;
  const limit = ellipsis ? max - 1 : max;
  const head = s.slice(0, limit + 1);
  const space = head.lastIndexOf(' ');
  let cut = (space > limit / 2 ? s.slice(0, space) : s.slice(0, limit)).replace(TRAILING_JUNK, '');
  cut = cut.replace(/[.,;:!?]+$/, '');
  // A quote opened and not closed in what is kept ("Choosing "Trail Running…") reads as broken: drop it.
  if ((cut.match(/"/g) ?? []).length % 2 === 1) cut = cut.replace(/"(?=[^"]*$)/, '');
  if ((cut.match(/[“«]/g) ?? []).length > (cut.match(/[”»]/g) ?? []).length) cut = cut.replace(/[“«]\s?(?=[^“«]*$)/, '');
  return ellipsis ? `${cut}…` : cut;
}

/** Removes a "| Brand" suffix or "Brand |" prefix, so the brand is not repeated when appended again. */
function stripBrand(title: string, brand: string | undefined): string {
  if (!brand) return title;
  const b = escapeRe(brand);
  return title.replace(new RegExp(`\\s*(?:[|–—·:-])\\s*${b}\\s*$`, 'i'), '').replace(new RegExp(`^\\s*${b}\\s*(?:[|–—·:-])\\s*`, 'i'), '').trim() || title;
}

/**
 * The title: the base text with the first keyword it contains moved to the front segment when the title has
 * segments ("A | B"), or prefixed ("Keyword: Base") when it contains none and that fits; cut at a word boundary
 * within `max`; "| Brand" appended when it fits. `base` is the title without the brand (for og:title).
 */
export function composeTitle(
  source: string,
  options: Pick<MetaTagOptions, 'keywords' | 'brandName' | 'titleMax'>,
  alternative?: string | null,
): { title: string; base: string } {
  let base = stripBrand(normalizeSpace(source), options.brandName);
  const keywords = options.keywords ?? [];
  // A title too long for the limit gives way to the H1 when that fits and keeps the keywords the title has.
  if (base.length > options.titleMax && alternative) {
    const alt = stripBrand(normalizeSpace(alternative), options.brandName);
    if (alt.length <= options.titleMax && keywords.every((k) => !containsPhrase(base, k) || containsPhrase(alt, k))) base = alt;
  }
  const present = keywords.find((k) => containsPhrase(base, k));
  if (present) {
    const sep = SEPARATOR.exec(base);
    if (sep) {
      const segments = base.split(SEPARATOR).filter(Boolean);
      const at = segments.findIndex((seg) => containsPhrase(seg, present));
      if (at > 0) base = [segments[at]!, ...segments.filter((_, i) => i !== at)].join(sep[0]);
    }
  } else if (keywords.length > 0) {
    const prefixed = `${capitalize(keywords[0]!)}: ${base}`;
    if (prefixed.length <= options.titleMax) base = prefixed;
  }
  const cut = truncateAtWord(base, options.titleMax);
  if (present && !containsPhrase(cut, present)) {
    // The cut loses the keyword: put it first, then as much of the rest as fits.
    const rest = normalizeSpace(base.replace(new RegExp(`["“«]?${escapeRe(present).replace(/\s+/g, '\\s+')}["”»]?`, 'i'), ' '));
    base = truncateAtWord(`${capitalize(present)}: ${rest}`, options.titleMax);
  } else base = cut;
  let title = base;
  if (options.brandName && !containsPhrase(base, options.brandName)) {
    const branded = `${base} | ${options.brandName}`;
    if (branded.length <= options.titleMax) title = branded;
  }
  return { title, base };
}

/**
 * The description: the page's meta description when within limits (shortened when too long); otherwise the
 * page's text from its first paragraph, ending at a sentence end within [min, max] if there is one, else
 * at a word boundary with "…".
 */
export function composeDescription(
  page: Pick<ContentPage, 'facts' | 'paragraphs'>,
  min: number,
  max: number,
): { text: string | null; source: GeneratedMetaTags['description_source'] } {
  const existing = page.facts.metaDescription;
  if (existing && existing.length >= min && existing.length <= max) return { text: existing, source: 'existing' };
  if (existing && existing.length > max) return { text: fitDescription(existing, min, max), source: 'existing_shortened' };
  let body = normalizeSpace(page.paragraphs.join(' '));
  if (!body && page.facts.firstParagraph) {
    const start = page.facts.text.indexOf(page.facts.firstParagraph);
    body = start >= 0 ? page.facts.text.slice(start) : page.facts.firstParagraph;
  }
  if (!body) body = page.facts.text;
  if (!body) return existing ? { text: existing, source: 'existing' } : { text: null, source: 'none' };
  if (existing && body.length <= existing.length) return { text: existing, source: 'existing' };
  return { text: fitDescription(body, min, max), source: 'content' };
}

function fitDescription(text: string, min: number, max: number): string {
  const s = normalizeSpace(text);
  if (s.length <= max) return s;
  const ends = [...s.slice(0, max).matchAll(/[.!?](?=\s|$)/g)].map((m) => m.index! + 1).filter((i) => i >= min);
  if (ends.length) return s.slice(0, ends[ends.length - 1]);
  return truncateAtWord(s, max, true);
}

export function buildMetaTags(page: ContentPage, options: MetaTagOptions): GeneratedMetaTags {
  const { facts } = page;
  const language = pageLanguage(options.language, facts);
  const h1 = facts.headings.find((h) => h.level === 1 && h.text)?.text ?? null;
  const titleSource = facts.title ?? h1 ?? facts.headings.find((h) => h.text)?.text ?? facts.firstParagraph ?? facts.text.slice(0, 200);
  const { title, base } = composeTitle(titleSource || 'Untitled', options, h1);
  const description = composeDescription(page, options.descriptionMin, options.descriptionMax);

  const og: Record<string, string> = { 'og:title': base };
  if (description.text) og['og:description'] = description.text;
  og['og:type'] = page.isArticle ? 'article' : 'website';
  const url = facts.canonical ?? page.url;
  if (url) og['og:url'] = url;
  const existingImage = facts.openGraph['og:image'];
  const image = existingImage && /^https?:\/\//i.test(existingImage) ? existingImage : facts.images.find((i) => i.src && /^https?:\/\//i.test(i.src))?.src;
  if (image) og['og:image'] = image;
  if (options.brandName) og['og:site_name'] = options.brandName;
  og['og:locale'] = language === 'fr' ? 'fr_FR' : 'en_US';
  og['twitter:card'] = image ? 'summary_large_image' : 'summary';

  const html = [
    `<title>${escapeHtml(title)}</title>`,
    ...(description.text ? [`<meta name="description" content="${escapeHtml(description.text)}">`] : []),
    ...Object.entries(og).map(([k, v]) =>
      k.startsWith('twitter:') ? `<meta name="${k}" content="${escapeHtml(v)}">` : `<meta property="${k}" content="${escapeHtml(v)}">`,
    ),
  ].join('\n');

  // The page's own values are echoed back capped: they come from the fetched HTML and land in result_data.
  const existingOg = Object.fromEntries(Object.entries(facts.openGraph).slice(0, 50).map(([k, v]) => [clip(k, 100), clip(v, EXISTING_MAX)]));
  return {
    title,
    title_length: title.length,
    description: description.text,
    description_length: description.text?.length ?? 0,
    description_source: description.source,
    open_graph: og,
    html,
    existing: { title: clipOrNull(facts.title), description: clipOrNull(facts.metaDescription), open_graph: existingOg },
    issues: existingTagIssues(page, options),
  };
}

/** What is wrong with the tags the page has now. */
export function existingTagIssues(page: Pick<ContentPage, 'facts'>, options: MetaTagOptions): MetaIssue[] {
  const { facts } = page;
  const issues: MetaIssue[] = [];
  const add = (code: string, severity: MetaIssue['severity'], message: string) => issues.push({ code, severity, message });
  const title = facts.title;
  if (!title) add('title_missing', 'high', 'The page has no <title>');
  else {
    if (title.length > options.titleMax) add('title_too_long', 'medium', `The title has ${title.length} characters (max ${options.titleMax}); search engines cut it`);
    if (title.length < 30) add('title_too_short', 'low', `The title has ${title.length} characters; 30 to ${options.titleMax} describe a page better`);
    const keywords = options.keywords ?? [];
    if (keywords.length && !keywords.some((k) => containsPhrase(title, k))) add('title_missing_keyword', 'medium', `The title contains none of the keywords (${keywords.slice(0, 5).join(', ')})`);
  }
  const desc = facts.metaDescription;
  if (!desc) add('description_missing', 'high', 'The page has no meta description');
  else {
    if (desc.length > options.descriptionMax) add('description_too_long', 'medium', `The meta description has ${desc.length} characters (max ${options.descriptionMax})`);
    if (desc.length < options.descriptionMin) add('description_too_short', 'low', `The meta description has ${desc.length} characters (min ${options.descriptionMin})`);
    if (title && normalizeSpace(desc).toLowerCase() === normalizeSpace(title).toLowerCase()) add('description_duplicates_title', 'medium', 'The meta description repeats the title');
  }
  const og = facts.openGraph;
  if (!og['og:title']) add('og_title_missing', 'low', 'No og:title: shares show a title guessed by each network');
  if (!og['og:description']) add('og_description_missing', 'low', 'No og:description');
  if (!og['og:image']) add('og_image_missing', 'low', 'No og:image: shares show no picture');
  else if (!/^https?:\/\//i.test(og['og:image'])) add('og_image_not_absolute', 'medium', `og:image must be an absolute URL: ${clip(og['og:image'], 300)}`);
  if (!og['twitter:card']) add('twitter_card_missing', 'low', 'No twitter:card');
  return issues;
}
