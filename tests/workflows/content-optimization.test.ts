import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

type Suggestion = { type: string; severity: string; keyword?: string; current: unknown; suggested: unknown; message: string };

/** content_optimization on the pages of tests/fixtures/sites/content-site and on given Markdown. */
describe('content_optimization task type', () => {
  let t: TestContext;
  let site: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureSite('content-site');
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'content_optimization', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };
  const find = (page: { suggestions: Suggestion[] }, type: string, keyword?: string) =>
    page.suggestions.filter((s) => s.type === type && (keyword === undefined || s.keyword === keyword));

  it('analyses keyword coverage, headings, length and readability, with concrete rewrites and the meta tags (advanced)', async () => {
    const stuffed = [
      '# Trail running shoes',
      '',
      'Trail running shoes, trail running shoes and more trail running shoes. Our trail running shoes are the best trail running shoes.',
      '',
      'See the [shop](/shop) and the [blog](/blog).',
    ].join('\n');
    const task = await run({
      pages: [{ url: `${site.url}/guide` }, { content: stuffed, format: 'markdown' }, { url: `${site.url}/fr` }],
      target_keywords: ['trail running shoes', 'waterproof'],
      optimization_level: 'advanced',
      target_word_count: 500,
    });
    expect(task.status).toBe('completed');
    const [guide, md, fr] = task.result_data.pages;

    // guide.html: 314 words, the first keyword within the band, the second absent.
    expect(guide.word_count).toBe(314);
    expect(guide.language).toBe('en');
    expect(guide.keywords[0]).toEqual({
      keyword: 'trail running shoes',
      count: 2,
      density: 1.91,
      status: 'ok',
      in_title: true,
      in_h1: true,
      in_h2: false,
      in_first_paragraph: true,
      in_meta_description: true,
    });
    expect(guide.keywords[1]).toMatchObject({ keyword: 'waterproof', count: 0, density: 0, status: 'missing' });
    expect(find(guide, 'keyword_missing', 'waterproof')[0]).toMatchObject({ severity: 'high', current: 0 });
    // The rewritten title includes the missing keyword (built from the H1: the title is over 60 characters).
    expect(find(guide, 'keyword_not_in_title', 'waterproof')[0]!.suggested).toBe('Waterproof: Choosing Trail Running Shoes');
    expect(find(guide, 'keyword_not_in_h1', 'waterproof')[0]).toMatchObject({ current: 'Choosing Trail Running Shoes', suggested: 'Waterproof: Choosing Trail Running Shoes' });
    expect(find(guide, 'keyword_not_in_title', 'trail running shoes')).toHaveLength(0);
    // Headings: the H4 right after an H2.
    expect(guide.headings).toEqual({ h1_count: 1, h2_count: 4, skips: [{ from: 2, to: 4, text: 'Lug depth' }] });
    expect(find(guide, 'heading_skip')[0]).toMatchObject({ current: '<h4>Lug depth</h4>', suggested: '<h3>Lug depth</h3>' });
    // Length against target_word_count.
    expect(find(guide, 'content_too_short')[0]).toMatchObject({ severity: 'medium', current: 314, suggested: 'Add about 186 words (target 500)' });
    // Readability (English Flesch) and the advanced hints.
    expect(guide.readability).toMatchObject({ formula: 'flesch', level: 'easy', long_sentences: 1, passive_sentences: 2, sentence_count: 18 });
    expect(guide.readability.reading_ease).toBeGreaterThan(60);
    expect(find(guide, 'long_sentence')[0]).toMatchObject({
      current:
        'The drop is the height difference between heel and toe, and a lower drop encourages a midfoot strike that many runners find natural on technical trails where every step lands differently.',
      suggested:
        'The drop is the height difference between heel and toe. A lower drop encourages a midfoot strike that many runners find natural on technical trails where every step lands differently.',
    });
    expect(find(guide, 'passive_voice').map((s) => s.current)).toEqual([
      'Longer lugs are made for soft ground and wear quickly on the road.',
      'Replace your shoes after six to eight hundred kilometres, or sooner when the lugs are worn flat or the cushioning feels dead.',
    ]);
    expect(guide.internal_links).toBe(5);
    expect(find(guide, 'few_internal_links')).toHaveLength(0);
    // Meta tags from meta_tags_generation's functions.
    expect(guide.meta_tags.title).toBe('Choosing Trail Running Shoes');
    expect(guide.meta_tags.open_graph['og:url']).toBe(`${site.url}/guides/trail-running-shoes`);
    expect(guide.meta_tags.issues.map((i: { code: string }) => i.code)).toContain('title_too_long');

    // Given Markdown: 6 occurrences in 27 words is keyword stuffing; relative links are internal.
    expect(md.source).toBe('content#1');
    expect(md.url).toBeNull();
    expect(md.h1).toBe('Trail running shoes');
    expect(md.keywords[0]).toMatchObject({ count: 6, status: 'stuffed', in_h1: true });
    expect(md.keywords[0].density).toBeGreaterThan(2.5);
    expect(find(md, 'keyword_stuffing')[0]).toMatchObject({ severity: 'high', keyword: 'trail running shoes' });
    expect(find(md, 'keyword_stuffing')[0]!.suggested).toMatch(/^Remove about 5 occurrence\(s\) \(keep 1, ≈2 %\)/);
    expect(md.internal_links).toBe(2);
    expect(find(md, 'few_internal_links')[0]).toMatchObject({ current: 2 });
    expect(find(md, 'content_too_short')[0]!.severity).toBe('high');
    expect(md.meta_tags.open_graph['og:url']).toBeUndefined();

    // French page: Kandel & Moles formula, passive voice with "par".
    expect(fr.language).toBe('fr');
    expect(fr.readability.formula).toBe('kandel_moles');
    expect(fr.readability.passive_sentences).toBe(1);
    expect(find(fr, 'passive_voice')[0]!.current).toBe('Les chaussures de trail sont conçues par des coureurs pour les sentiers.');
    expect(find(fr, 'keyword_not_in_h2', 'waterproof')[0]!.suggested).toBe("Waterproof : l'essentiel");
    expect(fr.meta_tags.open_graph['og:locale']).toBe('fr_FR');

    const summary = task.result_data.summary;
    expect(summary).toMatchObject({ pages: 3, pages_analyzed: 3, pages_failed: 0, optimization_level: 'advanced' });
    expect(summary.keywords).toEqual([
      { keyword: 'trail running shoes', pages_missing: 1, average_density: expect.any(Number) },
      { keyword: 'waterproof', pages_missing: 3, average_density: 0 },
    ]);
    expect(summary.suggestions_by_type.keyword_missing).toBe(4); // waterproof ×3 + trail running shoes on the French page
    expect(summary.suggestions_by_severity.high).toBeGreaterThanOrEqual(5);
  });

  it('basic level without suggestions nor meta tags returns the analysis only', async () => {
    const task = await run({
      pages: [{ content: 'Waterproof shoes keep your feet dry. They are useful in winter.', title: 'Shoes' }],
      target_keywords: ['waterproof shoes'],
      include_meta_tags: false,
      include_content_suggestions: false,
    });
    expect(task.status).toBe('completed');
    const [page] = task.result_data.pages;
    expect(page.word_count).toBe(11);
    expect(page.keywords[0]).toMatchObject({ keyword: 'waterproof shoes', count: 1, in_title: false, in_first_paragraph: true });
    expect(page.suggestions).toBeUndefined();
    expect(page.meta_tags).toBeUndefined();
    expect(page.internal_links).toBeUndefined();
    expect(page.readability.passive_sentences).toBeUndefined();
    expect(page.score).toBeLessThan(100);
    expect(task.result_data.summary.optimization_level).toBe('basic');
  });

  it('refuses page_ids (no CMS) with a message saying to give urls or content', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({
        task_type: 'content_optimization',
        context_data: { page_ids: ['p1', 'p2'], target_keywords: ['seo'], optimization_level: 'advanced', include_meta_tags: true, include_content_suggestions: true },
      });
    expect(res.status).toBe(400);
    expect(res.body.field_errors['context_data.page_ids'][0]).toMatch(/no CMS.*pages: \[\{"url": \.\.\.\}\] or \[\{"content": \.\.\.\}\]/);
    expect(res.body.field_errors).toHaveProperty(['context_data.pages']);
  });

  it('refuses invalid context_data with field_errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'content_optimization', context_data: { pages: [{ content: 'x', format: 'pdf' }], target_keywords: [], optimization_level: 'expert' } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.optimization_level', 'context_data.pages.0.format', 'context_data.target_keywords']);
  });
});
