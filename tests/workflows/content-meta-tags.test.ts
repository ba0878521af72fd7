import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

/** meta_tags_generation on the pages of tests/fixtures/sites/content-site and on given content. */
describe('meta_tags_generation task type', () => {
  let t: TestContext;
  let site: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureSite('content-site', { '/slow': () => undefined }); // /slow never answers
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'meta_tags_generation', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };

  it('generates titles, descriptions, Open Graph tags and escaped HTML within the limits, and reports the existing tags', async () => {
    const task = await run({
      pages: [
        { url: `${site.url}/guide` },
        { url: `${site.url}/about` },
        { url: `${site.url}/missing` },
        { content: `<h1>Shoes for rough trails</h1><p>Tom & Jerry's "Best" shoes grip mud, rock and roots. They dry fast and last for years of weekly runs in the hills.</p><img src="https://cdn.example.test/best.jpg">`, title: `Tom & Jerry's "Best" Shoes` },
        { content: 'We test every pair on real trails before we recommend it.', title: 'About us - Trail Running Shoes Experts', url: `${site.url}/about-copy` },
      ],
      keywords: ['trail running shoes'],
      brand_name: 'Acme Outdoor',
    });
    expect(task.status).toBe('completed');
    const [guide, about, missing, given, copy] = task.result_data.pages;

    // guide: the 102-character title gives way to the H1 (which keeps the keyword), plus the brand.
    expect(guide.title).toBe('Choosing Trail Running Shoes | Acme Outdoor');
    expect(guide.title_length).toBe(43);
    // The 219-character meta description is cut at a word boundary with an ellipsis, within 160.
    expect(guide.description_source).toBe('existing_shortened');
    expect(guide.description).toBe(
      'Trail running shoes are not all the same. This guide explains grip, cushioning, drop, fit and waterproofing, compares the main families of shoes and tells you…',
    );
    expect(guide.description_length).toBe(159);
    expect(guide.open_graph).toEqual({
      'og:title': 'Choosing Trail Running Shoes',
      'og:description': guide.description,
      'og:type': 'article',
      'og:url': `${site.url}/guides/trail-running-shoes`,
      'og:image': `${site.url}/img/trail.jpg`,
      'og:site_name': 'Acme Outdoor',
      'og:locale': 'en_US',
      'twitter:card': 'summary_large_image',
    });
    expect(guide.existing.title).toBe('Our Complete & Honest Guide to Choosing "Trail Running Shoes" for Every Kind of Terrain | Acme Outdoor');
    expect(guide.issues.map((i: { code: string }) => i.code)).toEqual([
      'title_too_long',
      'description_too_long',
      'og_title_missing',
      'og_description_missing',
      'og_image_missing',
      'twitter_card_missing',
    ]);
    expect(guide.issues[0].message).toContain('102 characters (max 60)');
    expect(guide.html.split('\n')[0]).toBe('<title>Choosing Trail Running Shoes | Acme Outdoor</title>');

    // about: the segment with the keyword moves first; the description (a copy of the title) is rebuilt from the text.
    expect(about.title).toBe('Trail Running Shoes Experts - About us | Acme Outdoor');
    expect(about.description).toBe('We have tested trail running shoes in the Alps, the Pyrenees and the Vosges for more than twenty years.');
    expect(about.description_source).toBe('content');
    expect(about.open_graph['og:type']).toBe('website');
    expect(about.open_graph['og:url']).toBe(`${site.url}/about`);
    expect(about.open_graph['og:image']).toBeUndefined(); // the page's og:image is relative and it has no <img>
    expect(about.open_graph['twitter:card']).toBe('summary');
    const aboutCodes = about.issues.map((i: { code: string }) => i.code);
    expect(aboutCodes).toEqual(
      expect.arrayContaining(['description_too_short', 'description_duplicates_title', 'og_image_not_absolute', 'og_description_missing', 'title_duplicate']),
    );
    expect(aboutCodes).not.toContain('og_title_missing');
    expect(about.issues.find((i: { code: string }) => i.code === 'title_duplicate').message).toBe(`Same title as ${site.url}/about-copy`);
    expect(copy.issues.map((i: { code: string }) => i.code)).toContain('title_duplicate');

    expect(missing).toEqual({ source: `${site.url}/missing`, url: `${site.url}/missing`, status: 404, error: 'HTTP 404' });

    // given content: the keyword is put first; with it the brand no longer fits in 60 characters.
    expect(given.title).toBe(`Trail running shoes: Tom & Jerry's "Best" Shoes`);
    expect(given.title_length).toBe(47);
    expect(given.url).toBeNull();
    expect(given.source).toBe('content#3');
    expect(given.open_graph['og:url']).toBeUndefined();
    expect(given.open_graph['og:image']).toBe('https://cdn.example.test/best.jpg');
    expect(given.description).toBe(`Tom & Jerry's "Best" shoes grip mud, rock and roots. They dry fast and last for years of weekly runs in the hills.`);
    const html: string[] = given.html.split('\n');
    expect(html[0]).toBe('<title>Trail running shoes: Tom &amp; Jerry&#39;s &quot;Best&quot; Shoes</title>');
    expect(html[1]).toBe(
      '<meta name="description" content="Tom &amp; Jerry&#39;s &quot;Best&quot; shoes grip mud, rock and roots. They dry fast and last for years of weekly runs in the hills.">',
    );
    expect(html).toContain('<meta property="og:title" content="Trail running shoes: Tom &amp; Jerry&#39;s &quot;Best&quot; Shoes">');
    expect(html).toContain('<meta name="twitter:card" content="summary_large_image">');

    expect(task.result_data.summary).toMatchObject({ pages: 5, pages_generated: 4, pages_failed: 1 });
    expect(task.result_data.summary.issues_by_code.title_duplicate).toBe(2);
    expect(site.hits.map((h) => h.path)).toEqual(expect.arrayContaining(['/guide', '/about', '/missing']));
    expect(site.hits.some((h) => h.path === '/about-copy')).toBe(false); // given content is not fetched
  });

  it('respects custom limits: title cut at a word boundary, description ending in an ellipsis within description_max', async () => {
    const task = await run({ pages: [{ url: `${site.url}/guide` }], title_max: 25, description_min: 50, description_max: 80, language: 'fr' });
    expect(task.status).toBe('completed');
    const [page] = task.result_data.pages;
    const existing = page.existing.description as string;
    expect(page.title).toBe('Our Complete & Honest');
    expect(page.title.length).toBeLessThanOrEqual(25);
    expect(page.description_length).toBeLessThanOrEqual(80);
    expect(page.description.endsWith('…')).toBe(true);
    const kept = page.description.slice(0, -1);
    expect(existing.startsWith(kept)).toBe(true);
    expect(existing[kept.length]).toMatch(/[ ,]/); // ends on a word boundary (the comma before it dropped)
    expect(page.description).toBe('Trail running shoes are not all the same. This guide explains grip, cushioning…');
    expect(page.open_graph['og:locale']).toBe('fr_FR');
    expect(page.issues.find((i: { code: string }) => i.code === 'title_too_long').message).toContain('(max 25)');
  });

  it('fails the task when no page can be read', async () => {
    const task = await run({ pages: [{ url: `${site.url}/nowhere` }] });
    expect(task.status).toBe('failed');
    expect(task.error_message).toMatch(/No page could be read: .*\/nowhere \(HTTP 404\)/);
  });

  it('stops promptly when cancelled during a slow fetch', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'meta_tags_generation', context_data: { pages: [{ url: `${site.url}/slow` }], timeout_seconds: 120 } });
    expect(res.status).toBe(201);
    await t.waitForTask(res.body.id, (task) => task.status === 'running');
    for (let i = 0; i < 100 && !site.hits.some((h) => h.path === '/slow'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(site.hits.filter((h) => h.path === '/slow')).toHaveLength(1);
    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    const task = await t.waitForTask(res.body.id, (x) => ['cancelled', 'failed', 'completed'].includes(x.status), 30_000);
    expect(task.status).toBe('cancelled');
    expect(site.hits.filter((h) => h.path === '/slow')).toHaveLength(1); // not retried
  });

  it('refuses invalid context_data with field_errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'meta_tags_generation', context_data: { pages: [{ url: 'ftp://example.test/' }, {}, { url: `${site.url}/a`, title: 'x' }], title_max: 5, extra: 1 } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual([
      'context_data.extra',
      'context_data.pages.0.url',
      'context_data.pages.1.url',
      'context_data.pages.2.title',
      'context_data.title_max',
    ]);
    expect(res.body.field_errors['context_data.pages.1.url']).toEqual(['Give either url (a page to fetch) or content']);
    const empty = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'meta_tags_generation', context_data: { pages: [] } });
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.field_errors)).toEqual(['context_data.pages']);
  });
});
