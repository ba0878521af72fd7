import { createHash } from 'node:crypto';
import { isSameSite } from '../web/bounded-fetch';
import type { CrawlResult } from '../web/crawler';
import type { PageFacts } from '../web/html-page';
import { tokenize } from '../web/text-stats';
import type {
  AuditedPage,
  AuditIssue,
  AuditSeverity,
  SeoContentAuditContext,
  SeoContentAuditResult,
} from '../../workflows/tasks/seo-content-audit';

/** Pure part of `seo_content_audit`: from a crawl and link statuses to issues, scores and a summary. */

export interface LinkStatus {
  status: number | null;
  error: string | null;
  checked_by: 'crawl' | 'extra_fetch';
}

/** Points a page loses per issue code it has (once per code, however many instances). */
export const SEVERITY_WEIGHT: Record<AuditSeverity, number> = { error: 15, warning: 7, notice: 2 };
const LIST_CAP = 500;
const NEAR_DUPLICATE_MAX_PAGES = 2000;
const SHINGLE = 5;

export const isBroken = (s: { status: number | null; error: string | null }) => s.error !== null || s.status === null || s.status >= 400;

function shingles(tokens: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + SHINGLE <= tokens.length; i++) out.add(tokens.slice(i, i + SHINGLE).join(' '));
  return out;
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const s of small) if (big.has(s)) inter += 1;
  return inter / (a.size + b.size - inter);
}

function groupBy<T>(items: T[], key: (t: T) => string | null): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return new Map([...groups].filter(([, v]) => v.length > 1));
}

const quote = (s: string, max = 80) => `"${s.length > max ? `${s.slice(0, max - 1)}…` : s}"`;

/** Result strings come from the crawled pages: capped so result_data stays far below Temporal's payload limit. */
const MESSAGE_MAX = 1000;
const TEXT_MAX = 300;
/** Pages listed per duplicate group (a site whose every page is identical would otherwise list them all, 500 times). */
const GROUP_PAGES_CAP = 50;
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const clipOrNull = (s: string | null, max = TEXT_MAX) => (s === null ? null : clip(s, max));
/** "a, b, c, d, e and 12 more" */
const urlList = (urls: string[], max = 5) => `${urls.slice(0, max).join(', ')}${urls.length > max ? ` and ${urls.length - max} more` : ''}`;

export function auditCrawl(
  crawl: CrawlResult,
  links: Map<string, LinkStatus>,
  linkChecks: SeoContentAuditResult['link_checks'],
  context: SeoContentAuditContext,
): SeoContentAuditResult {
  const th = context.thresholds;
  const html = crawl.pages.filter((p): p is typeof p & { facts: PageFacts } => p.facts !== null);
  const issues: AuditIssue[] = [];
  const byPage = new Map<string, AuditIssue[]>(html.map((p) => [p.url, []]));
  const add = (page: string, severity: AuditSeverity, code: string, message: string) => {
    const issue = { page, severity, code, message: clip(message, MESSAGE_MAX) };
    issues.push(issue);
    byPage.get(page)?.push(issue);
  };
  const brokenLinks: SeoContentAuditResult['broken_links'] = [];
  const tokensOf = new Map(html.map((p) => [p.url, tokenize(p.facts.text)]));

  for (const page of html) {
    const f = page.facts;
    const url = page.url;
    if (!f.title) add(url, 'error', 'title_missing', 'The page has no <title>.');
    else if (f.title.length < th.title_min) add(url, 'warning', 'title_too_short', `Title ${quote(f.title)} has ${f.title.length} characters (minimum ${th.title_min}).`);
    else if (f.title.length > th.title_max) add(url, 'warning', 'title_too_long', `Title ${quote(f.title)} has ${f.title.length} characters (maximum ${th.title_max}).`);

    const d = f.metaDescription;
    if (!d) add(url, 'warning', 'meta_description_missing', 'The page has no meta description.');
    else if (d.length < th.meta_description_min) add(url, 'notice', 'meta_description_too_short', `Meta description has ${d.length} characters (minimum ${th.meta_description_min}).`);
    else if (d.length > th.meta_description_max) add(url, 'notice', 'meta_description_too_long', `Meta description has ${d.length} characters (maximum ${th.meta_description_max}).`);

    const h1s = f.headings.filter((h) => h.level === 1);
    if (h1s.length === 0) add(url, 'error', 'h1_missing', 'The page has no h1 heading.');
    else if (h1s.length > 1) add(url, 'warning', 'h1_multiple', `The page has ${h1s.length} h1 headings: ${h1s.map((h) => quote(h.text, 40)).join(', ')}.`);

    const skips: string[] = [];
    for (let i = 1; i < f.headings.length; i++) {
      const prev = f.headings[i - 1]!;
      const cur = f.headings[i]!;
      if (cur.level > prev.level + 1) skips.push(`h${prev.level} → h${cur.level} (${quote(cur.text, 40)})`);
    }
    if (skips.length) add(url, 'notice', 'heading_level_skipped', `Heading levels skip: ${skips.slice(0, 5).join('; ')}.`);

    const words = tokensOf.get(url)!.length;
    if (words < th.min_words) add(url, 'warning', 'thin_content', `${words} words of visible text (minimum ${th.min_words}).`);

    const noAlt = f.images.filter((img) => img.alt === null);
    for (const img of noAlt.slice(0, 20)) add(url, 'warning', 'image_missing_alt', `Image ${img.src ?? '(no src)'} has no alt attribute.`);
    if (noAlt.length > 20) add(url, 'warning', 'image_missing_alt', `…and ${noAlt.length - 20} more images without alt.`);

    if (!f.canonical) add(url, 'notice', 'canonical_missing', 'No canonical link (<link rel="canonical">).');
    else if (!isSameSite(f.canonical, f.url)) add(url, 'error', 'canonical_off_site', `Canonical points to another site: ${f.canonical}.`);
    else if (f.canonical !== f.url) add(url, 'warning', 'canonical_points_elsewhere', `Canonical points to another page: ${f.canonical}.`);

    if (/\bnoindex\b/i.test(f.metaRobots ?? '')) add(url, 'warning', 'noindex', `The page asks not to be indexed (meta robots "${f.metaRobots}").`);

    for (const target of new Set(page.internalLinks)) {
      const s = links.get(target);
      if (!s || !isBroken(s)) continue;
      brokenLinks.push({ page: url, target, status: s.status, error: s.error, checked_by: s.checked_by });
      add(url, 'error', 'broken_internal_link', `Link to ${target} is broken: ${s.status !== null ? `HTTP ${s.status}` : s.error}.`);
    }
  }

  // Exact duplicates: same normalised text (lower-cased words). Near duplicates: 5-word shingles, Jaccard ≥ threshold.
  const withText = html.filter((p) => tokensOf.get(p.url)!.length > 0);
  const exactGroups = [...groupBy(withText, (p) => createHash('sha256').update(tokensOf.get(p.url)!.join(' ')).digest('hex')).values()];
  const groupOf = new Map<string, number>();
  exactGroups.forEach((g, i) => g.forEach((p) => groupOf.set(p.url, i)));
  for (const g of exactGroups) {
    for (const p of g) add(p.url, 'error', 'duplicate_content', `Same text as ${urlList(g.filter((o) => o !== p).map((o) => o.url))}.`);
  }
  const candidates = withText
    .slice(0, NEAR_DUPLICATE_MAX_PAGES)
    .map((p) => ({ url: p.url, sh: shingles(tokensOf.get(p.url)!) }))
    .filter((c) => c.sh.size > 0)
    .sort((a, b) => a.sh.size - b.sh.size || a.url.localeCompare(b.url));
  const near: SeoContentAuditResult['duplicates']['near'] = [];
  for (let i = 0; i < candidates.length; i++) {
    const a = candidates[i]!;
    // Jaccard ≤ |small| / |big|: stop once the size ratio alone rules the pair out.
    for (let j = i + 1; j < candidates.length && a.sh.size >= th.near_duplicate_similarity * candidates[j]!.sh.size; j++) {
      const b = candidates[j]!;
      if (groupOf.has(a.url) && groupOf.get(a.url) === groupOf.get(b.url)) continue;
      const sim = jaccard(a.sh, b.sh);
      if (sim >= th.near_duplicate_similarity) {
        const pair: [string, string] = a.url < b.url ? [a.url, b.url] : [b.url, a.url];
        near.push({ pages: pair, similarity: Math.round(sim * 1000) / 1000 });
        add(a.url, 'warning', 'near_duplicate_content', `${Math.round(sim * 100)}% similar to ${b.url}.`);
        add(b.url, 'warning', 'near_duplicate_content', `${Math.round(sim * 100)}% similar to ${a.url}.`);
      }
    }
  }
  near.sort((x, y) => y.similarity - x.similarity || x.pages[0].localeCompare(y.pages[0]));

  const titleGroups = groupBy(html, (p) => p.facts.title?.toLowerCase() ?? null);
  for (const g of titleGroups.values()) {
    for (const p of g) add(p.url, 'warning', 'duplicate_title', `Title ${quote(p.facts.title!)} is also used by ${urlList(g.filter((o) => o !== p).map((o) => o.url))}.`);
  }
  const descGroups = groupBy(html, (p) => p.facts.metaDescription?.toLowerCase() ?? null);
  for (const g of descGroups.values()) {
    for (const p of g) add(p.url, 'notice', 'duplicate_meta_description', `Meta description also used by ${urlList(g.filter((o) => o !== p).map((o) => o.url))}.`);
  }

  const pages: AuditedPage[] = html.map((p) => {
    const own = byPage.get(p.url)!;
    const codes = new Map(own.map((i) => [i.code, i.severity]));
    const penalty = [...codes.values()].reduce((s, sev) => s + SEVERITY_WEIGHT[sev], 0);
    const count = (sev: AuditSeverity) => own.filter((i) => i.severity === sev).length;
    return {
      url: p.url,
      status: p.status,
      title: clipOrNull(p.facts.title),
      word_count: tokensOf.get(p.url)!.length,
      score: Math.max(0, 100 - penalty),
      issue_counts: { error: count('error'), warning: count('warning'), notice: count('notice') },
    };
  });

  const issuesByCode: Record<string, number> = {};
  const issuesBySeverity: Record<AuditSeverity, number> = { error: 0, warning: 0, notice: 0 };
  for (const i of issues) {
    issuesByCode[i.code] = (issuesByCode[i.code] ?? 0) + 1;
    issuesBySeverity[i.severity] += 1;
  }
  const rank: Record<AuditSeverity, number> = { error: 0, warning: 1, notice: 2 };
  issues.sort((a, b) => rank[a.severity] - rank[b.severity] || a.code.localeCompare(b.code) || a.page.localeCompare(b.page));

  const truncated =
    pages.length > LIST_CAP ||
    issues.length > LIST_CAP ||
    brokenLinks.length > LIST_CAP ||
    near.length > LIST_CAP ||
    crawl.skipped.length > LIST_CAP ||
    linkChecks.unchecked.length > LIST_CAP ||
    linkChecks.extra_fetched.length > LIST_CAP ||
    [...exactGroups, ...titleGroups.values(), ...descGroups.values()].some((g) => g.length > GROUP_PAGES_CAP);
  const groupPages = (g: { url: string }[]) => g.map((p) => p.url).sort().slice(0, GROUP_PAGES_CAP);
  return {
    start_url: crawl.startUrl,
    summary: {
      pages_crawled: crawl.pages.length,
      pages_audited: pages.length,
      average_score: pages.length ? Math.round((pages.reduce((s, p) => s + p.score, 0) / pages.length) * 10) / 10 : 0,
      issues_by_code: issuesByCode,
      issues_by_severity: issuesBySeverity,
    },
    pages: pages.slice(0, LIST_CAP),
    issues: issues.slice(0, LIST_CAP),
    broken_links: brokenLinks.slice(0, LIST_CAP),
    duplicates: {
      exact: exactGroups.slice(0, LIST_CAP).map((g) => ({ pages: groupPages(g) })),
      near: near.slice(0, LIST_CAP),
      titles: [...titleGroups.values()].slice(0, LIST_CAP).map((g) => ({ title: clip(g[0]!.facts.title!, TEXT_MAX), pages: groupPages(g) })),
      meta_descriptions: [...descGroups.values()]
        .slice(0, LIST_CAP)
        .map((g) => ({ meta_description: clip(g[0]!.facts.metaDescription!, TEXT_MAX), pages: groupPages(g) })),
      near_checked_pages: Math.min(withText.length, NEAR_DUPLICATE_MAX_PAGES),
    },
    link_checks: {
      ...linkChecks,
      extra_fetched: linkChecks.extra_fetched.slice(0, LIST_CAP),
      unchecked: linkChecks.unchecked.slice(0, LIST_CAP),
    },
    crawl: { skipped: crawl.skipped.slice(0, LIST_CAP), robots_txt: crawl.robotsTxt },
    truncated,
  };
}
