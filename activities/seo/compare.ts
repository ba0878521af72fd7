import { density, tokenize } from '../web/text-stats';
import type {
  CompetitorFigure,
  SeoCompetitorAnalysisResult,
  SeoSiteAnalysis,
  SeoSiteSummary,
} from '../../workflows/tasks/seo-competitor-analysis';

const CAP = 100;

/** A term's count on a site: keyword totals, exact lookups, then the site's n-gram index (its top n-grams: 500, fewer with many sizes). */
function countOn(site: SeoSiteAnalysis, term: string): number {
  const kw = site.keywords.find((k) => k.keyword === term);
  if (kw) return kw.total_count;
  if (term in site.term_counts) return site.term_counts[term]!;
  const n = String(tokenize(term).length);
  return site.ngram_index[n]?.find((g) => g.ngram === term)?.count ?? 0;
}

function figure(site: SeoSiteAnalysis, term: string): CompetitorFigure {
  const count = countOn(site, term);
  return { name: site.name, count, density_percent: density(count, term, site.total_words) };
}

function cap<T>(list: T[]): { list: T[]; truncated: boolean } {
  return { list: list.slice(0, CAP), truncated: list.length > CAP };
}

export function summaryOf(site: SeoSiteAnalysis): SeoSiteSummary {
  const { ngram_index: _index, term_counts: _terms, ...summary } = site;
  return summary;
}

/**
 * Side-by-side comparison of the site with its competitors, on the given keywords or, without keywords, on the
 * union of every site's top n-grams. Densities (not raw counts) decide who leads, so a big site does not win by size.
 */
export function compareSites(
  site: SeoSiteAnalysis,
  competitors: SeoSiteAnalysis[],
  keywords: string[] | null,
  ngramSizes: number[],
): SeoCompetitorAnalysisResult {
  const all = [...competitors, site];
  const terms = keywords ?? [
    ...new Set(all.flatMap((s) => ngramSizes.flatMap((n) => (s.top_ngrams[String(n)] ?? []).map((g) => g.ngram)))),
  ];

  const gaps: SeoCompetitorAnalysisResult['keyword_gaps'] = [];
  const overlaps: SeoCompetitorAnalysisResult['keyword_overlaps'] = [];
  const strengths: SeoCompetitorAnalysisResult['site_strengths'] = [];
  for (const term of terms) {
    const own = figure(site, term);
    const others = competitors.map((c) => figure(c, term));
    const users = others.filter((f) => f.count > 0).sort((a, b) => b.density_percent - a.density_percent || a.name.localeCompare(b.name));
    if (own.count === 0 && users.length > 0) gaps.push({ keyword: term, competitors: users });
    if (own.count > 0 && users.length > 0) {
      overlaps.push({ keyword: term, site: { count: own.count, density_percent: own.density_percent }, competitors: users });
    }
    const best = users[0] ?? null;
    if (own.count > 0 && (!best || own.density_percent > best.density_percent)) {
      strengths.push({ keyword: term, site: { count: own.count, density_percent: own.density_percent }, best_competitor: best });
    }
  }
  const weight = (fs: CompetitorFigure[]) => fs.reduce((s, f) => s + f.count, 0);
  gaps.sort((a, b) => weight(b.competitors) - weight(a.competitors) || a.keyword.localeCompare(b.keyword));
  overlaps.sort((a, b) => b.site.count + weight(b.competitors) - (a.site.count + weight(a.competitors)) || a.keyword.localeCompare(b.keyword));
  strengths.sort((a, b) => b.site.density_percent - a.site.density_percent || a.keyword.localeCompare(b.keyword));

  // Topic gaps: competitors' top n-grams the site never uses (exact: the site was analysed with them as lookup terms).
  const topics = new Map<string, { ngram: string; n: number; competitors: { name: string; count: number }[] }>();
  for (const c of competitors) {
    for (const n of ngramSizes) {
      for (const g of c.top_ngrams[String(n)] ?? []) {
        if (countOn(site, g.ngram) > 0) continue;
        const entry = topics.get(g.ngram) ?? { ngram: g.ngram, n, competitors: [] };
        entry.competitors.push({ name: c.name, count: g.count });
        topics.set(g.ngram, entry);
      }
    }
  }
  const topicGaps = [...topics.values()].sort(
    (a, b) =>
      b.competitors.length - a.competitors.length ||
      b.competitors.reduce((s, x) => s + x.count, 0) - a.competitors.reduce((s, x) => s + x.count, 0) ||
      b.n - a.n ||
      a.ngram.localeCompare(b.ngram),
  );

  const g = cap(gaps);
  const o = cap(overlaps);
  const t = cap(topicGaps);
  const s = cap(strengths);
  return {
    compared: keywords ? 'keywords' : 'top_ngrams',
    sites: [summaryOf(site), ...competitors.map(summaryOf)],
    keyword_gaps: g.list,
    keyword_overlaps: o.list,
    topic_gaps: t.list,
    site_strengths: s.list,
    truncated: { keyword_gaps: g.truncated, keyword_overlaps: o.truncated, topic_gaps: t.truncated, site_strengths: s.truncated },
  };
}
