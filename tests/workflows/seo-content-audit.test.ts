import type { ServerResponse } from 'node:http';
import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * seo_content_audit on tests/fixtures/sites/seo-audit, crawled to depth 1. Planted problems: a 404 link from the home
 * page (/missing-page), a 404 link beyond the depth bound (/deep/gone, found by an extra fetch), an image without alt
 * (/img/team.jpg on /about), exact duplicates (/blog/post-a, /blog/post-b), near duplicates with one word changed
 * (/news/one, /news/two, same title), a thin page with two h1s and a skipped heading level (/services), a noindex
 * page with an off-site canonical (/private), and a robots.txt-disallowed link (/private-area/secret).
 */
describe('seo_content_audit task type', () => {
  let t: TestContext;
  let site: FixtureSite;
  const hanging: ServerResponse[] = [];
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureSite('seo-audit', {
      '/hang': (_req, res) => {
        hanging.push(res); // never answers: the crawl is stuck in a fetch until cancelled
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const post = (context: Record<string, unknown>, taskType = 'seo_content_audit') =>
    t.http.post('/tasks/').set(t.headers()).send({ task_type: taskType, context_data: context });

  it('audits every page: broken links, duplicates, missing alt, titles, headings, canonicals, noindex, scores', async () => {
    const res = await post({ start_url: `${site.url}/`, max_depth: 1, thresholds: { min_words: 60 } }, 'seo_audit');
    expect(res.status).toBe(201);
    expect(res.body.task_type).toBe('seo_content_audit');
    const task = await t.waitForTask(res.body.id, (x) => ['completed', 'failed'].includes(x.status), 60_000);
    expect(task.status).toBe('completed');
    expect(task.task_type).toBe('seo_content_audit');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;
    const u = (path: string) => `${site.url}${path}`;
    const issuesOf = (path: string) => r.issues.filter((i: any) => i.page === u(path)).map((i: any) => i.code).sort();

    expect(r.summary).toMatchObject({ pages_crawled: 10, pages_audited: 9 });
    expect(r.pages.map((p: any) => p.url).sort()).toEqual(
      ['/', '/about', '/blog/post-a', '/blog/post-b', '/deep/', '/news/one', '/news/two', '/private', '/services'].map(u).sort(),
    );

    // Broken internal links: one seen by the crawl, one beyond max_depth checked by an extra fetch.
    expect(r.broken_links).toEqual([
      { page: u('/'), target: u('/missing-page'), status: 404, error: null, checked_by: 'crawl' },
      { page: u('/deep/'), target: u('/deep/gone'), status: 404, error: null, checked_by: 'extra_fetch' },
    ]);
    expect(r.link_checks.extra_fetched.sort()).toEqual([u('/deep/gone'), u('/deep/level2')]);
    expect(r.link_checks.unchecked).toEqual([{ url: u('/private-area/secret'), reason: 'robots' }]);
    expect(site.hits.filter((h) => h.path === '/deep/gone').map((h) => h.method)).toEqual(['HEAD']);
    expect(site.hits.some((h) => h.path === '/private-area/secret')).toBe(false);

    // Duplicates.
    expect(r.duplicates.exact).toEqual([{ pages: [u('/blog/post-a'), u('/blog/post-b')] }]);
    expect(r.duplicates.near).toHaveLength(1);
    expect(r.duplicates.near[0].pages).toEqual([u('/news/one'), u('/news/two')]);
    expect(r.duplicates.near[0].similarity).toBeGreaterThanOrEqual(0.9);
    expect(r.duplicates.near[0].similarity).toBeLessThan(1);
    expect(r.duplicates.titles).toEqual([{ title: 'Spring opening hours and events at the nursery', pages: [u('/news/one'), u('/news/two')] }]);
    expect(r.duplicates.meta_descriptions.map((d: any) => d.pages)).toEqual(
      expect.arrayContaining([[u('/blog/post-a'), u('/blog/post-b')], [u('/news/one'), u('/news/two')]]),
    );

    // The image without alt (the decorative alt="" image is fine).
    expect(r.issues.filter((i: any) => i.code === 'image_missing_alt')).toEqual([
      { page: u('/about'), severity: 'warning', code: 'image_missing_alt', message: `Image ${u('/img/team.jpg')} has no alt attribute.` },
    ]);

    expect(issuesOf('/')).toEqual(['broken_internal_link']);
    expect(issuesOf('/about')).toEqual(['image_missing_alt']);
    expect(issuesOf('/services')).toEqual(['h1_multiple', 'heading_level_skipped', 'meta_description_missing', 'thin_content', 'title_too_long']);
    expect(issuesOf('/blog/post-b')).toEqual(['canonical_points_elsewhere', 'duplicate_content', 'duplicate_meta_description']);
    expect(issuesOf('/news/one')).toEqual(['duplicate_meta_description', 'duplicate_title', 'near_duplicate_content']);
    expect(issuesOf('/private')).toEqual(['canonical_off_site', 'noindex']);
    expect(issuesOf('/deep/')).toEqual(['broken_internal_link', 'canonical_missing']);
    expect(r.issues.find((i: any) => i.code === 'heading_level_skipped').message).toBe('Heading levels skip: h2 → h4 ("Prices").');

    // Scores: 100 minus 15 per error code, 7 per warning code, 2 per notice code.
    const score = (path: string) => r.pages.find((p: any) => p.url === u(path)).score;
    expect(score('/')).toBe(85);
    expect(score('/about')).toBe(93);
    expect(score('/services')).toBe(100 - 7 - 2 - 7 - 7 - 7);
    expect(r.summary.issues_by_code).toMatchObject({ broken_internal_link: 2, duplicate_content: 2, near_duplicate_content: 2, image_missing_alt: 1, noindex: 1 });
    expect(r.summary.average_score).toBe(Math.round((r.pages.reduce((s: number, p: any) => s + p.score, 0) / 9) * 10) / 10);
    expect(r.crawl.robots_txt.found).toBe(true);
  });

  it('stops promptly when cancelled in the middle of a fetch', async () => {
    const res = await post({ start_url: `${site.url}/hang`, timeout_seconds: 120 });
    await t.waitForTask(res.body.id, (x) => x.status === 'running');
    for (let i = 0; i < 50 && hanging.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hanging).toHaveLength(1);
    const cancel = await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    expect(cancel.status).toBeLessThan(300);
    const task = await t.waitForTask(res.body.id, (x) => x.status === 'cancelled', 30_000);
    expect(task.status).toBe('cancelled');
  });

  it('refuses bad context_data with field errors', async () => {
    const res = await post({ start_url: 'not a url', thresholds: { title_min: 70, title_max: 60, words: 3 }, max_link_checks: -1 });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual([
      'context_data.max_link_checks',
      'context_data.start_url',
      'context_data.thresholds.title_min',
      'context_data.thresholds.words',
    ]);
    const order = await post({ start_url: `${site.url}/`, thresholds: { title_min: 70, title_max: 60 } });
    expect(Object.keys(order.body.field_errors)).toEqual(['context_data.thresholds.title_min']);
  });
});
