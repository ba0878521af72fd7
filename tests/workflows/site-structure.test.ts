import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

const ROOT = join(__dirname, '..', 'fixtures', 'sites', 'site-structure');

describe('website_structure_analysis task type (crawl of a local fixture site)', () => {
  let t: TestContext;
  let site: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    // robots.txt and the sitemaps carry absolute URLs: served from templates with the fixture's origin.
    const template = (file: string, type: string) => (_req: unknown, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': type });
      res.end(readFileSync(join(ROOT, file), 'utf8').replaceAll('__ORIGIN__', site.url));
    };
    site = await startFixtureSite('site-structure', {
      '/robots.txt': template('robots.txt', 'text/plain'),
      '/sitemap_index.xml': template('sitemap_index.xml', 'application/xml'),
      '/sitemap-pages.xml': template('sitemap-pages.xml', 'application/xml'),
      '/old-page': (_req, res) => {
        res.writeHead(301, { location: '/contact' });
        res.end();
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'website_structure_analysis', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };
  const u = (path: string) => `${site.url}${path}`;

  it('reports the link graph, depths, robots-blocked pages, broken links, redirects, orphans and pages beyond the bounds', async () => {
    const task = await run({ start_url: u('/'), max_depth: 3 });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;

    expect(r.pages_crawled).toBe(8);
    expect(r.depth_distribution).toEqual({ '0': 1, '1': 4, '2': 2, '3': 1 });
    const nodes = Object.fromEntries(r.link_graph.nodes.map((n: any) => [n.url.slice(site.url.length), n]));
    expect(Object.keys(nodes).sort()).toEqual(['/', '/about', '/blog/', '/blog/archive/', '/blog/post-1', '/missing', '/old-page', '/team']);
    expect(nodes['/']).toEqual({ url: u('/'), depth: 0, status: 200, in_degree: 3, out_degree: 5 });
    expect(nodes['/about']).toMatchObject({ depth: 1, in_degree: 2, out_degree: 2 });
    expect(nodes['/missing']).toMatchObject({ depth: 1, status: 404, in_degree: 2, out_degree: 0 });
    expect(nodes['/blog/archive/']).toMatchObject({ depth: 3, in_degree: 1, out_degree: 1 });
    expect(r.link_graph.edge_count).toBe(14);
    expect(r.link_graph.edges).toHaveLength(14);
    expect(r.link_graph.truncated).toBe(false);
    expect(r.link_graph.edges).toContainEqual({ from: u('/team'), to: u('/missing') });
    expect(r.link_graph.edges).not.toContainEqual({ from: u('/'), to: u('/') }); // self-links left out

    expect(r.robots_txt).toEqual({ found: true, sitemaps: [u('/sitemap_index.xml')] });
    expect(r.blocked_by_robots).toEqual([{ url: u('/private/'), linked_from: [u('/')] }]);
    expect(site.hits.some((h) => h.path.startsWith('/private'))).toBe(false);

    expect(r.broken_links).toEqual([{ url: u('/missing'), status: 404, error: null, linked_from: [u('/'), u('/team')] }]);
    expect(r.redirects).toEqual([{ url: u('/old-page'), final_url: u('/contact'), status: 200, chain: [u('/contact')] }]);
    expect(r.beyond_bounds).toEqual([{ url: u('/blog/archive/2019'), reason: 'depth', linked_from: [u('/blog/archive/')] }]);

    // The sitemap index (from robots.txt) leads to the urlset; /orphan is listed there and linked from nowhere.
    expect(r.sitemap).toMatchObject({ found: true, url_count: 6, sources: [u('/sitemap_index.xml'), u('/sitemap-pages.xml')], errors: [] });
    expect(r.orphan_pages).toEqual([{ url: u('/orphan') }]);
    expect(r.orphan_count).toBe(1);
    expect(r.summary).toEqual({ pages_ok: 7, broken_count: 1, blocked_count: 1, redirect_count: 1, beyond_bounds_count: 1, max_depth_reached: 3 });
  });

  it('honours max_pages, sitemap_url and include_edges: false; without robots.txt the private folder is crawled', async () => {
    const task = await run({
      start_url: u('/'),
      max_pages: 3,
      include_edges: false,
      respect_robots_txt: false,
      sitemap_url: u('/sitemap-pages.xml'),
    });
    expect(task.status).toBe('completed');
    const r = task.result_data;
    expect(r.link_graph.nodes.map((n: any) => n.url)).toEqual([u('/'), u('/about'), u('/blog/')]);
    expect(r.link_graph.edges).toBeUndefined();
    expect(r.link_graph.edge_count).toBe(9);
    expect(r.blocked_by_robots).toEqual([]);
    const beyond = Object.fromEntries(r.beyond_bounds.map((b: any) => [b.url.slice(site.url.length), b.reason]));
    expect(beyond).toEqual({ '/private/': 'max_pages', '/missing': 'max_pages', '/old-page': 'max_pages', '/team': 'max_pages', '/blog/post-1': 'max_pages' });
    expect(r.sitemap.sources).toEqual([u('/sitemap-pages.xml')]);
    // /contact is reached only through /old-page's redirect, which was beyond the page budget.
    expect(r.orphan_pages).toEqual([{ url: u('/contact') }, { url: u('/orphan') }]);
  });

  it('rejects invalid context_data with field errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'website_structure_analysis', context_data: { start_url: 'ftp://example.com/', max_depth: 99, colour: 'blue' } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.colour', 'context_data.max_depth', 'context_data.start_url']);
  });
});
