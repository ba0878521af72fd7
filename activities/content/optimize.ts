import { countPhrase, density, readingEase, sentences, tokenize } from '../web/text-stats';
import { composeTitle, containsPhrase, normalizeSpace, truncateAtWord } from './meta-tags';
import { pageLanguage, type ContentPage } from './page-source';

/** Pure analysis of `content_optimization`: one page against its target keywords. */

export const DENSITY_BAND = { min: 0.5, max: 2.5 } as const;
/** Without target_word_count, pages under this many words are called thin. */
export const MIN_WORDS = 300;
export const LONG_SENTENCE_WORDS = 25;
export const MAX_AVG_SENTENCE_WORDS = 20;
export const MIN_INTERNAL_LINKS = 3;
const MAX_SUGGESTIONS = 100;
const MAX_EXAMPLES = 5;

export type Severity = 'high' | 'medium' | 'low';

export interface Suggestion {
  type: string;
  severity: Severity;
  message: string;
  current: string | number | null;
  /** Concrete replacement text where it can be derived, else the target to reach. */
  suggested: string | number | null;
  keyword?: string;
}

export interface KeywordCoverage {
  keyword: string;
  count: number;
  /** Percent of the page's words. */
  density: number;
  status: 'missing' | 'low' | 'ok' | 'stuffed';
  in_title: boolean;
  in_h1: boolean;
  in_h2: boolean;
  in_first_paragraph: boolean;
  in_meta_description: boolean;
}

export interface PageAnalysis {
  language: 'en' | 'fr';
  word_count: number;
  target_word_count: number | null;
  title: string | null;
  h1: string | null;
  keywords: KeywordCoverage[];
  headings: { h1_count: number; h2_count: number; skips: { from: number; to: number; text: string }[] };
  readability: {
    reading_ease: number;
    formula: 'flesch' | 'kandel_moles';
    level: string;
    sentence_count: number;
    avg_sentence_words: number;
    long_sentences: number;
    /** With 'advanced' only. */
    passive_sentences?: number;
  };
  /** With 'advanced' only. */
  internal_links?: number;
  suggestions: Suggestion[];
  suggestions_truncated: boolean;
  /** 100 minus 15 per high, 7 per medium and 3 per low suggestion. */
  score: number;
}

export interface AnalysisOptions {
  keywords: string[];
  level: 'basic' | 'advanced';
  language?: 'en' | 'fr';
  targetWordCount?: number;
  titleMax: number;
}

const capitalize = (s: string) => s.charAt(0).toLocaleUpperCase() + s.slice(1);
const quote = (s: string) => `“${s}”`;

export function readingLevel(score: number): string {
  if (score >= 80) return 'easy';
  if (score >= 60) return 'standard';
  if (score >= 50) return 'fairly difficult';
  if (score >= 30) return 'difficult';
  return 'very difficult';
}

const PASSIVE = {
  en: /\b(?:am|is|are|was|were|be|been|being)\s+(?:\w+ly\s+)?(?:\w+ed|known|written|done|made|given|taken|seen|built|shown|found|held|kept|left|told|sent|paid|sold|brought|bought|thought|taught|caught|won|begun|chosen|driven|eaten|fallen|forgotten|hidden|spoken|stolen|thrown|worn|broken|frozen|set|put|cut|read)\b/i,
  fr: /\b(?:est|sont|été|était|étaient|sera|seront|fut|furent|soit|soient)\s+(?:\p{L}+ment\s+)?\p{L}+(?:é|ée|és|ées|i|ie|is|ies|u|ue|us|ues|it|ite|its|ites|ert|erte|erts|ertes)\s+(?:par|de)\b/iu,
};

export function isPassive(sentence: string, lang: 'en' | 'fr'): boolean {
  return PASSIVE[lang].test(sentence);
}

const SPLITTERS = {
  en: /;\s+|,\s+|\s+(?:and|but|so)\s+/gi,
  fr: /;\s+|,\s+|\s+(?:et|mais|donc)\s+/gi,
};
const DROPPED = new Set(['and', 'et']);

/** A long sentence split in two at the separator nearest its middle (both halves ≥ 5 words); null if none. */
export function splitSentence(sentence: string, lang: 'en' | 'fr'): string | null {
  const s = normalizeSpace(sentence);
  const middle = s.length / 2;
  let best: { index: number; length: number; word: string } | null = null;
  for (const m of s.matchAll(SPLITTERS[lang])) {
    const before = s.slice(0, m.index);
    const after = s.slice(m.index + m[0].length);
    if (tokenize(before).length < 5 || tokenize(after).length < 5) continue;
    if (!best || Math.abs(m.index - middle) < Math.abs(best.index - middle)) best = { index: m.index, length: m[0].length, word: m[0].trim().replace(/[,;]/, '').toLowerCase() };
  }
  if (!best) return null;
  const first = s.slice(0, best.index).replace(/[,;:]+$/, '');
  let rest = s.slice(best.index + best.length);
  if (!best.word) rest = rest.replace(/^(?:and|et)\s+/i, '');
  const second = best.word && !DROPPED.has(best.word) ? `${best.word} ${rest}` : rest;
  return `${first}. ${capitalize(second)}`;
}

export function analysePage(page: ContentPage, options: AnalysisOptions): PageAnalysis {
  const { facts } = page;
  const language = pageLanguage(options.language, facts);
  const advanced = options.level === 'advanced';
  const tokens = tokenize(facts.text);
  const words = tokens.length;
  const suggestions: Suggestion[] = [];
  const add = (s: Suggestion) => suggestions.push(s);

  const h1s = facts.headings.filter((h) => h.level === 1);
  const h2s = facts.headings.filter((h) => h.level === 2);
  const h1 = h1s[0]?.text ?? null;
  const title = facts.title;

  // Keyword coverage
  const keywords: KeywordCoverage[] = options.keywords.map((keyword) => {
    const count = countPhrase(tokens, keyword);
    const d = density(count, keyword, words);
    const status = count === 0 ? 'missing' : d < DENSITY_BAND.min ? 'low' : d > DENSITY_BAND.max ? 'stuffed' : 'ok';
    return {
      keyword,
      count,
      density: d,
      status,
      in_title: containsPhrase(title, keyword),
      in_h1: h1s.some((h) => containsPhrase(h.text, keyword)),
      in_h2: h2s.some((h) => containsPhrase(h.text, keyword)),
      in_first_paragraph: containsPhrase(facts.firstParagraph, keyword),
      in_meta_description: containsPhrase(facts.metaDescription, keyword),
    };
  });
  for (const k of keywords) {
    const phraseWords = Math.max(1, tokenize(k.keyword).length);
    const forOnePercent = Math.max(1, Math.ceil((0.01 * words) / phraseWords));
    if (k.status === 'missing') {
      add({
        type: 'keyword_missing',
        severity: 'high',
        keyword: k.keyword,
        message: `${quote(k.keyword)} does not appear on the page`,
        current: 0,
        suggested: `Use ${quote(k.keyword)} about ${forOnePercent} time(s) (≈1 % of ${words} words), starting in the first paragraph`,
      });
    } else if (k.status === 'low') {
      add({
        type: 'keyword_density_low',
        severity: 'medium',
        keyword: k.keyword,
        message: `${quote(k.keyword)} appears ${k.count} time(s): ${k.density} % of the words, under the ${DENSITY_BAND.min}–${DENSITY_BAND.max} % band`,
        current: `${k.density} %`,
        suggested: `Use it ${Math.max(1, forOnePercent - k.count)} more time(s) to reach about 1 %`,
      });
    } else if (k.status === 'stuffed' && k.count > Math.max(1, Math.floor((0.02 * words) / phraseWords))) {
      // One occurrence on a very short page is a thin page (content_thin), not stuffing.
      const keep = Math.max(1, Math.floor((0.02 * words) / phraseWords));
      add({
        type: 'keyword_stuffing',
        severity: 'high',
        keyword: k.keyword,
        message: `${quote(k.keyword)} appears ${k.count} times: ${k.density} % of the words, above ${DENSITY_BAND.max} % (reads as keyword stuffing)`,
        current: `${k.density} %`,
        suggested: `Remove about ${k.count - keep} occurrence(s) (keep ${keep}, ≈2 %) or use synonyms`,
      });
    }
    if (title && !k.in_title) {
      add({
        type: 'keyword_not_in_title',
        severity: k === keywords[0] ? 'high' : 'medium',
        keyword: k.keyword,
        message: `The title does not contain ${quote(k.keyword)}`,
        current: title,
        suggested: withKeyword(title, k.keyword, options.titleMax, h1),
      });
    }
    if (h1 && !k.in_h1) {
      add({
        type: 'keyword_not_in_h1',
        severity: 'medium',
        keyword: k.keyword,
        message: `The H1 does not contain ${quote(k.keyword)}`,
        current: h1,
        suggested: withKeyword(h1, k.keyword, 70),
      });
    }
    if (!k.in_h2) {
      add({
        type: 'keyword_not_in_h2',
        severity: 'low',
        keyword: k.keyword,
        message: h2s.length ? `No H2 mentions ${quote(k.keyword)}` : `The page has no H2; add one that mentions ${quote(k.keyword)}`,
        current: h2s[0]?.text ?? null,
        suggested: language === 'fr' ? `${capitalize(k.keyword)} : l'essentiel` : `${capitalize(k.keyword)}: what you need to know`,
      });
    }
    if (advanced && k.count > 0 && facts.firstParagraph && !k.in_first_paragraph) {
      add({
        type: 'keyword_not_in_first_paragraph',
        severity: 'low',
        keyword: k.keyword,
        message: `${quote(k.keyword)} is not in the first paragraph`,
        current: truncateAtWord(facts.firstParagraph, 200, true),
        suggested: `Mention ${quote(k.keyword)} in the first paragraph`,
      });
    }
  }

  // Headings
  if (h1s.length === 0) {
    const from = title ?? facts.headings[0]?.text ?? null;
    add({
      type: 'h1_missing',
      severity: 'high',
      message: 'The page has no H1',
      current: null,
      suggested: from ? withKeyword(from.split(/\s+[|–—·-]\s+/)[0]!, options.keywords[0]!, 70) : null,
    });
  } else if (h1s.length > 1) {
    add({ type: 'multiple_h1', severity: 'medium', message: `The page has ${h1s.length} H1 headings; keep one`, current: h1s.length, suggested: 1 });
  }
  const skips: PageAnalysis['headings']['skips'] = [];
  let previous = 0;
  for (const h of facts.headings) {
    if (previous && h.level > previous + 1) skips.push({ from: previous, to: h.level, text: h.text });
    previous = h.level;
  }
  for (const s of skips.slice(0, MAX_EXAMPLES)) {
    add({
      type: 'heading_skip',
      severity: 'low',
      message: `${quote(s.text)} is an H${s.to} right after an H${s.from}: heading levels should not skip`,
      current: `<h${s.to}>${s.text}</h${s.to}>`,
      suggested: `<h${s.from + 1}>${s.text}</h${s.from + 1}>`,
    });
  }

  // Length
  const target = options.targetWordCount ?? null;
  if (target !== null) {
    if (words < target * 0.9) {
      add({ type: 'content_too_short', severity: words < target * 0.5 ? 'high' : 'medium', message: `${words} words, under the target of ${target}`, current: words, suggested: `Add about ${target - words} words (target ${target})` });
    } else if (words > target * 1.5) {
      add({ type: 'content_too_long', severity: 'low', message: `${words} words, well over the target of ${target}`, current: words, suggested: `Cut about ${words - target} words or split the page (target ${target})` });
    }
  } else if (words < MIN_WORDS) {
    add({ type: 'content_thin', severity: 'medium', message: `${words} words: thin content for search engines`, current: words, suggested: `Expand to at least ${MIN_WORDS} words` });
  }

  // Readability: body paragraphs (not navigation), one per line so headings-less blocks end sentences.
  const readable = page.paragraphs.length ? page.paragraphs.join('\n') : facts.text;
  const list = sentences(readable);
  const lengths = list.map((s) => tokenize(s).length);
  const avg = lengths.length ? Math.round((lengths.reduce((a, b) => a + b, 0) / lengths.length) * 10) / 10 : 0;
  const ease = readingEase(readable, language);
  const long = list.filter((_, i) => lengths[i]! > LONG_SENTENCE_WORDS);
  const readability: PageAnalysis['readability'] = {
    reading_ease: ease,
    formula: language === 'fr' ? 'kandel_moles' : 'flesch',
    level: readingLevel(ease),
    sentence_count: list.length,
    avg_sentence_words: avg,
    long_sentences: long.length,
  };
  if (list.length && ease < 50) {
    add({
      type: 'readability_low',
      severity: ease < 30 ? 'high' : 'medium',
      message: `Reading ease ${ease} (${readingLevel(ease)}, ${language === 'fr' ? 'Kandel & Moles' : 'Flesch'})`,
      current: ease,
      suggested: 'Aim for 60 or more: shorter sentences, shorter and more common words',
    });
  }
  if (avg > MAX_AVG_SENTENCE_WORDS) {
    add({ type: 'sentences_long_on_average', severity: 'medium', message: `Sentences have ${avg} words on average`, current: avg, suggested: `At most ${MAX_AVG_SENTENCE_WORDS} words on average` });
  }

  if (advanced) {
    for (const s of long.slice(0, MAX_EXAMPLES)) {
      add({
        type: 'long_sentence',
        severity: 'low',
        message: `A sentence of ${tokenize(s).length} words (over ${LONG_SENTENCE_WORDS})`,
        current: s,
        suggested: splitSentence(s, language),
      });
    }
    const passive = list.filter((s) => isPassive(s, language));
    readability.passive_sentences = passive.length;
    if (list.length && passive.length / list.length > 0.1) {
      for (const s of passive.slice(0, MAX_EXAMPLES)) {
        add({ type: 'passive_voice', severity: 'low', message: 'Passive voice: the active voice is more direct', current: s, suggested: null });
      }
    }
  }

  let internalLinks: number | undefined;
  if (advanced) {
    const self = page.url ? page.url.replace(/#.*$/, '') : null;
    internalLinks = new Set(facts.links.filter((l) => l.internal && l.href !== self).map((l) => l.href)).size;
    if (internalLinks < MIN_INTERNAL_LINKS) {
      add({
        type: 'few_internal_links',
        severity: 'low',
        message: `${internalLinks} internal link(s) to other pages of the site`,
        current: internalLinks,
        suggested: `Link to at least ${MIN_INTERNAL_LINKS} related pages, e.g. with the anchor text ${quote(options.keywords[0]!)}`,
      });
    }
  }

  const weight = { high: 15, medium: 7, low: 3 } as const;
  const score = Math.max(0, 100 - suggestions.reduce((sum, s) => sum + weight[s.severity], 0));
  return {
    language,
    word_count: words,
    target_word_count: target,
    title,
    h1,
    keywords,
    headings: { h1_count: h1s.length, h2_count: h2s.length, skips: skips.slice(0, 50) },
    readability,
    ...(internalLinks !== undefined ? { internal_links: internalLinks } : {}),
    suggestions: suggestions.slice(0, MAX_SUGGESTIONS),
    suggestions_truncated: suggestions.length > MAX_SUGGESTIONS,
    score,
  };
}

/** The text rewritten to contain the keyword, within `max` characters (a "Keyword: text" prefix, the text shortened if needed). */
export function withKeyword(text: string, keyword: string, max: number, alternative?: string | null): string {
  const composed = composeTitle(text, { keywords: [keyword], titleMax: max }, alternative).title;
  if (containsPhrase(composed, keyword)) return composed;
  const room = max - keyword.length - 2;
  return room >= 10 ? `${capitalize(keyword)}: ${truncateAtWord(text, room)}` : truncateAtWord(capitalize(keyword), max);
}
