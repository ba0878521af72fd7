import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * seo_keyword_analysis on tests/fixtures/sites/seo-kw-site: three pages whose keyword counts are known by hand
 * (index: 71 words, "organic coffee" ×3, "cold brew" ×3; cold-brew-guide: 46 words, ×1 and ×4; about: 10 words).
 */
describe('seo_keyword_analysis task type', () => {
  let t: TestContext;
  let site: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureSite('seo-kw-site');
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const KEYWORDS = ['organic coffee', 'cold brew', 'espresso machine'];
  const run = async (context: Record<string, unknown>, taskType = 'seo_keyword_analysis') => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: taskType, context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };

  it('measures counts, densities and placements per page for a URL list, and reports pages it could not analyse', async () => {
    const task = await run({ keywords: KEYWORDS, urls: [`${site.url}/`, `${site.url}/cold-brew-guide`, `${site.url}/missing`], top_n: 5 });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;
    expect(r.source).toEqual({ mode: 'urls' });
    expect(r.pages.map((p: any) => [p.url, p.status])).toEqual([
      [`${site.url}/`, 200],
      [`${site.url}/cold-brew-guide`, 200],
      [`${site.url}/missing`, 404],
    ]);
    const [index, guide, missing] = r.pages;
    expect(index).toMatchObject({ title: 'Organic Coffee Beans, Fresh Roasted Daily', word_count: 71 });
    expect(index.keywords[0]).toEqual({
      keyword: 'organic coffee',
      count: 3,
      density_percent: 8.45,
      in_title: true,
      in_h1: true,
      in_headings: true,
      in_first_paragraph: true,
      in_meta_description: true,
      in_url: false,
    });
    expect(index.keywords[1]).toMatchObject({ keyword: 'cold brew', count: 3, in_title: false, in_h1: false, in_headings: true, in_first_paragraph: false });
    expect(index.keywords[2]).toMatchObject({ keyword: 'espresso machine', count: 0, density_percent: 0 });
    expect(guide).toMatchObject({ word_count: 46 });
    expect(guide.keywords[1]).toMatchObject({ keyword: 'cold brew', count: 4, in_title: true, in_h1: true, in_url: true, in_meta_description: false });
    expect(index.top_ngrams['1'].slice(0, 2)).toEqual([{ ngram: 'beans', count: 6 }, { ngram: 'coffee', count: 6 }]); // ties: alphabetical
    expect(index.top_ngrams['2']).toContainEqual({ ngram: 'coffee beans', count: 5 });
    expect(index.top_ngrams['1']).toHaveLength(5);
    expect(missing).toMatchObject({ status: 404, error: 'HTTP 404', keywords: [] });

    expect(r.overall).toMatchObject({ pages_analyzed: 2, pages_failed: 1, total_words: 117 });
    expect(r.overall.keywords).toEqual([
      { keyword: 'organic coffee', total_count: 4, density_percent: 6.84, pages_with_keyword: 2 },
      { keyword: 'cold brew', total_count: 7, density_percent: 11.97, pages_with_keyword: 2 },
      { keyword: 'espresso machine', total_count: 0, density_percent: 0, pages_with_keyword: 0 },
    ]);
    expect(r.overall.top_ngrams['1'][0]).toEqual({ ngram: 'coffee', count: 9 });
    expect(r.recommendations).toContain('"espresso machine" appears on none of the 2 analysed page(s): add content targeting it, or drop it.');
    expect(r.recommendations).toContain('"cold brew" is in no meta description.');
    expect(r.recommendations.some((m: string) => m.startsWith('"organic coffee" has a density of 8.45%'))).toBe(true);
  });

  it('crawls the site from start_url (the alias seo_analysis names this type) and aggregates every page', async () => {
    const task = await run({ keywords: KEYWORDS, crawl: { start_url: `${site.url}/`, max_pages: 10 } }, 'seo_analysis');
    expect(task.status).toBe('completed');
    expect(task.task_type).toBe('seo_keyword_analysis');
    const r = task.result_data;
    expect(r.source).toMatchObject({ mode: 'crawl', start_url: `${site.url}/`, skipped: [] });
    expect(r.pages.map((p: any) => p.url).sort()).toEqual([`${site.url}/`, `${site.url}/about`, `${site.url}/cold-brew-guide`]);
    expect(r.overall).toMatchObject({ pages_analyzed: 3, pages_failed: 0, total_words: 127 });
    expect(r.overall.keywords[0]).toEqual({ keyword: 'organic coffee', total_count: 4, density_percent: 6.3, pages_with_keyword: 2 });
    expect(r.recommendations).toContain('3 page(s) have fewer than 300 words: ' + [`${site.url}/`, `${site.url}/about`, `${site.url}/cold-brew-guide`].join(', ') + '.');
  });

  it('refuses bad context_data with field errors (both sources, no keywords, unknown CMS fields, bad URLs)', async () => {
    const post = (context_data: unknown) => t.http.post('/tasks/').set(t.headers()).send({ task_type: 'seo_keyword_analysis', context_data });
    const both = await post({ keywords: ['a'], urls: [`${site.url}/`], crawl: { start_url: `${site.url}/` } });
    expect(both.status).toBe(400);
    expect(Object.keys(both.body.field_errors)).toEqual(['context_data.urls']);
    expect(both.body.field_errors['context_data.urls'][0]).toMatch(/exactly one of `urls`/);
    const neither = await post({ keywords: ['a'] });
    expect(Object.keys(neither.body.field_errors)).toEqual(['context_data.urls']);
    const seed = await post({ keyword_ids: [1, 2], analysis_depth: 'full', urls: ['ftp://x.test/'] });
    expect(seed.status).toBe(400);
    expect(Object.keys(seed.body.field_errors).sort()).toEqual([
      'context_data.analysis_depth',
      'context_data.keyword_ids',
      'context_data.keywords',
      'context_data.urls.0',
    ]);
  });
});
