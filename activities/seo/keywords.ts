import type { PageFacts } from '../web/html-page';
import { countPhrase, density, ngramCounts, rankNgrams, tokenize } from '../web/text-stats';
import type {
  PageKeywordMetrics,
  SeoPageAnalysis,
  SiteKeywordTotals,
  TopNgrams,
} from '../../workflows/tasks/seo-keyword-analysis';

/**
 * Keyword metrics of pages and of a set of pages (pure). Shared by `seo_keyword_analysis` and
 * `seo_competitor_analysis`: the latter runs one accumulator per site.
 */

/** Does the phrase occur (on word boundaries, case-insensitively) in this text? */
export function containsPhrase(text: string | null | undefined, phrase: string): boolean {
  return Boolean(text) && countPhrase(tokenize(text!), phrase) > 0;
}

/** URL words: host and path split on separators (`/seo-tools_guide.html` → seo, tools, guide, html). */
export function urlText(url: string): string {
  try {
    const u = new URL(url);
    return decodeURIComponent(`${u.hostname} ${u.pathname}`).replace(/[-_/.+~%]+/g, ' ');
  } catch {
    return url.replace(/[-_/.+~%:]+/g, ' ');
  }
}

export function keywordMetrics(facts: PageFacts, tokens: string[], keyword: string): PageKeywordMetrics {
  const count = countPhrase(tokens, keyword);
  return {
    keyword,
    count,
    density_percent: density(count, keyword, tokens.length),
    in_title: containsPhrase(facts.title, keyword),
    in_h1: facts.headings.some((h) => h.level === 1 && containsPhrase(h.text, keyword)),
    in_headings: facts.headings.some((h) => containsPhrase(h.text, keyword)),
    in_first_paragraph: containsPhrase(facts.firstParagraph, keyword),
    in_meta_description: containsPhrase(facts.metaDescription, keyword),
    in_url: containsPhrase(urlText(facts.url), keyword),
  };
}

export function rankAll(counts: Map<number, Map<string, number>>, limit: number): TopNgrams {
  const out: TopNgrams = {};
  for (const [n, map] of counts) out[String(n)] = rankNgrams(map, n, limit);
  return out;
}

/**
 * Accumulates pages of one site: per-page analyses, keyword totals and the merged n-gram counts (so the overall top
 * n-grams are those of the whole site, not a merge of per-page top lists, and any n-gram's count can be looked up).
 */
export class KeywordAccumulator {
  pagesAnalyzed = 0;
  totalWords = 0;
  private readonly totals = new Map<string, { count: number; pages: number }>();
  private readonly ngrams = new Map<number, Map<string, number>>();

  constructor(
    private readonly keywords: string[],
    private readonly ngramSizes: number[],
    private readonly topN: number,
  ) {
    for (const k of keywords) this.totals.set(k, { count: 0, pages: 0 });
    for (const n of ngramSizes) this.ngrams.set(n, new Map());
  }

  addPage(facts: PageFacts, status: number | null, url: string): SeoPageAnalysis {
    const tokens = tokenize(facts.text);
    const keywords = this.keywords.map((k) => keywordMetrics(facts, tokens, k));
    for (const m of keywords) {
      const t = this.totals.get(m.keyword)!;
      t.count += m.count;
      if (m.count > 0) t.pages += 1;
    }
    const top_ngrams: TopNgrams = {};
    for (const n of this.ngramSizes) {
      const page = ngramCounts(tokens, n);
      top_ngrams[String(n)] = rankNgrams(page, n, this.topN);
      const site = this.ngrams.get(n)!;
      for (const [gram, c] of page) site.set(gram, (site.get(gram) ?? 0) + c);
    }
    this.pagesAnalyzed += 1;
    this.totalWords += tokens.length;
    // The title comes from the page: capped, as it lands in result_data.
    const title = facts.title && facts.title.length > 300 ? `${facts.title.slice(0, 299)}…` : facts.title;
    return { url, status, title, word_count: tokens.length, keywords, top_ngrams };
  }

  keywordTotals(): SiteKeywordTotals[] {
    return this.keywords.map((keyword) => {
      const t = this.totals.get(keyword)!;
      return { keyword, total_count: t.count, density_percent: density(t.count, keyword, this.totalWords), pages_with_keyword: t.pages };
    });
  }

  topNgrams(limit = this.topN): TopNgrams {
    return rankAll(this.ngrams, limit);
  }

  /** Exact site-wide count of an n-gram whose size is one of `ngram_sizes` (null for other sizes). */
  ngramCount(term: string): number | null {
    const words = tokenize(term);
    const map = this.ngrams.get(words.length);
    return map ? (map.get(words.join(' ')) ?? 0) : null;
  }
}

/** Recommendations derived from a keyword analysis; at most 50. */
export function keywordRecommendations(pages: SeoPageAnalysis[], totals: SiteKeywordTotals[]): string[] {
  const analysed = pages.filter((p) => !p.error);
  const out: string[] = [];
  if (analysed.length === 0) return ['No page could be analysed: check the URLs and the fetch errors.'];
  for (const t of totals) {
    const k = t.keyword;
    const per = analysed.map((p) => p.keywords.find((m) => m.keyword === k)!);
    if (t.total_count === 0 && !per.some((m) => m.in_title || m.in_meta_description || m.in_headings)) {
      out.push(`"${k}" appears on none of the ${analysed.length} analysed page(s): add content targeting it, or drop it.`);
      continue;
    }
    if (!per.some((m) => m.in_title)) out.push(`"${k}" is in no page title: put it in the title of the page that targets it.`);
    if (!per.some((m) => m.in_h1)) out.push(`"${k}" is in no h1 heading.`);
    if (!per.some((m) => m.in_meta_description)) out.push(`"${k}" is in no meta description.`);
    if (!per.some((m) => m.in_first_paragraph) && t.total_count > 0) out.push(`"${k}" never appears in a first paragraph.`);
    for (const [i, m] of per.entries()) {
      if (m.density_percent > 3) out.push(`"${k}" has a density of ${m.density_percent}% on ${analysed[i]!.url}: above 3% reads as keyword stuffing.`);
    }
  }
  const noTitle = analysed.filter((p) => !p.title);
  if (noTitle.length) out.push(`${noTitle.length} page(s) have no title: ${noTitle.slice(0, 5).map((p) => p.url).join(', ')}.`);
  const thin = analysed.filter((p) => p.word_count < 300);
  if (thin.length) out.push(`${thin.length} page(s) have fewer than 300 words: ${thin.slice(0, 5).map((p) => p.url).join(', ')}.`);
  return out.slice(0, 50);
}
