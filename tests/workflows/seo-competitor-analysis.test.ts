import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * seo_competitor_analysis: our site (tests/fixtures/sites/seo-kw-site: organic coffee, cold brew) against two
 * competitors (seo-comp-a: espresso machine ×3 and burr grinder ×3 in 39 words; seo-comp-b: espresso machine ×2 and
 * milk frother ×3 in 21 words), each on its own local server.
 */
describe('seo_competitor_analysis task type', () => {
  let t: TestContext;
  let site: FixtureSite;
  let a: FixtureSite;
  let b: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    [site, a, b] = await Promise.all([startFixtureSite('seo-kw-site'), startFixtureSite('seo-comp-a'), startFixtureSite('seo-comp-b')]);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([site.close(), a.close(), b.close()]);
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'seo_competitor_analysis', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };
  const sources = () => ({
    site: { name: 'Our roastery', urls: [`${site.url}/`, `${site.url}/cold-brew-guide`] },
    competitors: [
      { name: 'Alpha', crawl: { start_url: `${a.url}/` } },
      { name: 'Beta', urls: [`${b.url}/`] },
    ],
  });

  it('compares keywords side by side: gaps, overlaps, strengths and topic gaps', async () => {
    const task = await run({ ...sources(), keywords: ['organic coffee', 'cold brew', 'espresso machine'], top_n: 10 });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;
    expect(r.compared).toBe('keywords');
    expect(r.sites.map((s: any) => [s.name, s.pages_analyzed, s.total_words])).toEqual([
      ['Our roastery', 2, 117],
      ['Alpha', 1, 39],
      ['Beta', 1, 21],
    ]);
    expect(r.sites[0].source).toEqual({ mode: 'urls' });
    expect(r.sites[1].source).toEqual({ mode: 'crawl', start_url: `${a.url}/` });
    expect(r.sites[1].keywords).toContainEqual({ keyword: 'espresso machine', total_count: 3, density_percent: 15.38, pages_with_keyword: 1 });
    expect(r.sites[0]).not.toHaveProperty('ngram_index');

    expect(r.keyword_gaps).toEqual([
      {
        keyword: 'espresso machine',
        competitors: [
          { name: 'Beta', count: 2, density_percent: 19.05 },
          { name: 'Alpha', count: 3, density_percent: 15.38 },
        ],
      },
    ]);
    expect(r.keyword_overlaps).toEqual([
      { keyword: 'organic coffee', site: { count: 4, density_percent: 6.84 }, competitors: [{ name: 'Alpha', count: 1, density_percent: 5.13 }] },
    ]);
    expect(r.site_strengths).toEqual([
      { keyword: 'cold brew', site: { count: 7, density_percent: 11.97 }, best_competitor: null },
      { keyword: 'organic coffee', site: { count: 4, density_percent: 6.84 }, best_competitor: { name: 'Alpha', count: 1, density_percent: 5.13 } },
    ]);
    // Competitors' top n-grams the site never uses: shared ones first, then by weight and longer n-grams.
    expect(r.topic_gaps[0]).toEqual({ ngram: 'espresso machine', n: 2, competitors: [{ name: 'Alpha', count: 3 }, { name: 'Beta', count: 2 }] });
    expect(r.topic_gaps).toContainEqual({ ngram: 'burr grinder', n: 2, competitors: [{ name: 'Alpha', count: 3 }] });
    expect(r.topic_gaps).toContainEqual({ ngram: 'milk frother', n: 2, competitors: [{ name: 'Beta', count: 3 }] });
    const gapWords = r.topic_gaps.map((g: any) => g.ngram);
    expect(gapWords).not.toContain('coffee'); // Alpha's "coffee" is on our site too
    expect(gapWords).not.toContain('organic coffee');
  });

  it('without keywords, compares the sites on their top n-grams', async () => {
    const task = await run({ ...sources(), ngram_sizes: [2], top_n: 5 });
    expect(task.status).toBe('completed');
    const r = task.result_data;
    expect(r.compared).toBe('top_ngrams');
    expect(r.sites[0].keywords).toEqual([]);
    expect(r.keyword_gaps.map((g: any) => g.keyword).sort()).toEqual(['burr grinder', 'espresso machine', 'milk frother']);
    expect(r.site_strengths.map((s: any) => s.keyword)).toEqual(expect.arrayContaining(['cold brew', 'coffee beans']));
  });

  it('refuses bad context_data with field errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'seo_competitor_analysis', context_data: { site: { urls: [`${site.url}/`], crawl: { start_url: `${site.url}/` } }, competitors: [] } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.competitors', 'context_data.site.urls']);
    const second = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'seo_competitor_analysis', context_data: { site: { urls: [`${site.url}/`] }, competitors: [{ name: 'x' }], top_n: 0 } });
    expect(Object.keys(second.body.field_errors).sort()).toEqual(['context_data.competitors.0.urls', 'context_data.top_n']);
  });
});
