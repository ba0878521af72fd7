import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as cheerio from 'cheerio';
import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

const LAST_MODIFIED = 'Mon, 02 Jun 2025 10:00:00 GMT';

/** A small sitemaps.org parse: the root element, its namespace and each entry's children. */
function parseXml(path: string) {
  const xml = readFileSync(path, 'utf8');
  const $ = cheerio.load(xml, { xml: true });
  const root = $.root().children().first();
  const entries = root
    .children()
    .toArray()
    .map((el) => Object.fromEntries($(el).children().toArray().map((c) => [c.tagName, $(c).text()])));
  return { xml, root: root.get(0)?.tagName, xmlns: root.attr('xmlns'), entries };
}

describe('sitemap_generation task type (crawl of a local fixture site)', () => {
  let t: TestContext;
  let site: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureSite(
      'site-sitemap',
      {
        '/moved': (_req, res) => {
          res.writeHead(301, { location: '/c' });
          res.end();
        },
        '/x-robots': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html', 'x-robots-tag': 'noindex', 'last-modified': LAST_MODIFIED });
          res.end('<html><head><title>Hidden by header</title></head><body><a href="/">Home</a></body></html>');
        },
      },
      { headers: { 'last-modified': LAST_MODIFIED } },
    );
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'sitemap_generation', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };
  const u = (path: string) => `${site.url}${path}`;
  /** Indexable pages, in sitemap order (depth, then URL). */
  const EXPECTED_PATHS = ['/', '/a', '/b', '/b?x=1&y=2', '/c', '/self-canon', '/deep'];

  it('writes one sitemap of the indexable pages, excluding noindex, non-self-canonical, non-HTML, error and redirecting URLs', async () => {
    const task = await run({ start_url: u('/'), changefreq: 'weekly', priority: 0.5 });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;
    expect(r.url_count).toBe(7);
    expect(r.urls_sample).toEqual(EXPECTED_PATHS.map(u));
    expect(r.index_file).toBeNull();
    expect(r.files).toEqual([r.entry_file]);
    expect(r.entry_file).toMatch(new RegExp(`brand-${t.brand.id}/${task.task_id}/sitemap\\.xml$`));
    expect(readdirSync(dirname(r.entry_file))).toEqual(['sitemap.xml']); // no .part left behind

    const parsed = parseXml(r.entry_file);
    expect(parsed.xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(parsed.root).toBe('urlset');
    expect(parsed.xmlns).toBe('http://www.sitemaps.org/schemas/sitemap/0.9');
    expect(parsed.entries.map((e) => e.loc)).toEqual(EXPECTED_PATHS.map(u));
    expect(parsed.xml).toContain(`<loc>${u('/b?x=1&amp;y=2')}</loc>`); // entity-escaped
    for (const e of parsed.entries) expect(e).toEqual({ loc: e.loc, lastmod: '2025-06-02T10:00:00Z', changefreq: 'weekly', priority: '0.5' });

    const reasons = Object.fromEntries(r.excluded.map((x: any) => [x.url.slice(site.url.length), x.reason]));
    expect(reasons).toEqual({
      '/noindex-page': 'noindex',
      '/x-robots': 'noindex',
      '/dup': 'canonical_elsewhere',
      '/data.json': 'not_html',
      '/gone': 'http_404',
      '/moved': 'redirect',
    });
    expect(r.excluded.find((x: any) => x.reason === 'canonical_elsewhere').detail).toBe(u('/a'));
    expect(r.excluded_count).toBe(6);
    expect(r.pages_crawled).toBe(12); // /c is reached only through /moved's redirect
  });

  it('splits past urls_per_file into sitemap-N.xml files and an index whose <loc>s use base_url', async () => {
    const task = await run({ start_url: u('/'), urls_per_file: 2, priority_by_depth: true, include_lastmod: false, base_url: 'https://static.example.com/maps' });
    expect(task.status).toBe('completed');
    const r = task.result_data;
    const dir = dirname(r.entry_file);
    expect(r.files).toEqual([1, 2, 3, 4].map((n) => `${dir}/sitemap-${n}.xml`).concat(`${dir}/sitemap.xml`));
    expect(r.index_file).toBe(`${dir}/sitemap.xml`);
    expect(readdirSync(dir).sort()).toEqual(['sitemap-1.xml', 'sitemap-2.xml', 'sitemap-3.xml', 'sitemap-4.xml', 'sitemap.xml']);

    const index = parseXml(r.index_file);
    expect(index.root).toBe('sitemapindex');
    expect(index.xmlns).toBe('http://www.sitemaps.org/schemas/sitemap/0.9');
    expect(index.entries.map((e) => e.loc)).toEqual([1, 2, 3, 4].map((n) => `https://static.example.com/maps/sitemap-${n}.xml`));
    expect(r.sitemap_urls).toEqual(index.entries.map((e) => e.loc));

    const parts = r.files.slice(0, 4).map((f: string) => parseXml(f));
    expect(parts.map((p: any) => p.entries.length)).toEqual([2, 2, 2, 1]);
    const all = parts.flatMap((p: any) => p.entries);
    expect(all.map((e: any) => e.loc)).toEqual(EXPECTED_PATHS.map(u));
    expect(all[0]).toEqual({ loc: u('/'), priority: '1.0' }); // no lastmod, no changefreq
    expect(all.find((e: any) => e.loc === u('/a')).priority).toBe('0.8');
    expect(all.find((e: any) => e.loc === u('/deep')).priority).toBe('0.6');
    expect(r.url_count).toBe(7);
    expect(existsSync(`${dir}/sitemap.xml.part`)).toBe(false);
  });

  it('stops crawling promptly when the task is cancelled, and writes no file', async () => {
    // An endless, slow chain of pages: /slow/0 → /slow/1 → ...
    const routes = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [
        `/slow/${i}`,
        (_req: unknown, res: import('node:http').ServerResponse) => {
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/html' });
            res.end(`<html><body><a href="/slow/${i + 1}">next</a></body></html>`);
          }, 150);
        },
      ]),
    );
    const slow = await startFixtureSite('site-sitemap', routes);
    try {
      const res = await t.http
        .post('/tasks/')
        .set(t.headers())
        .send({ task_type: 'sitemap_generation', context_data: { start_url: `${slow.url}/slow/0`, max_depth: 20, concurrency: 1 } });
      await t.waitForTask(res.body.id, (x) => x.status === 'running');
      while (slow.hits.length < 5) await new Promise((r) => setTimeout(r, 50));
      await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({}).expect(200);
      const task = await t.waitForTask(res.body.id, (x) => x.status === 'cancelled');
      const hits = slow.hits.length;
      await new Promise((r) => setTimeout(r, 1000));
      expect(slow.hits.length).toBeLessThanOrEqual(hits + 1);
      expect(hits).toBeLessThan(100);
      const dir = `${t.config.EXPORT_DIR}/brand-${t.brand.id}/${task.task_id}`;
      expect(existsSync(`${dir}/sitemap.xml`)).toBe(false);
    } finally {
      await slow.close();
    }
  });

  it('rejects invalid context_data with field errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'sitemap_generation', context_data: { start_url: 'not a url', urls_per_file: 0, changefreq: 'sometimes', max_pages: 100_001 } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual([
      'context_data.changefreq',
      'context_data.max_pages',
      'context_data.start_url',
      'context_data.urls_per_file',
    ]);
    const both = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'sitemap_generation', context_data: { start_url: u('/'), priority: 0.3, priority_by_depth: true } });
    expect(both.status).toBe(400);
    expect(Object.keys(both.body.field_errors)).toEqual(['context_data.priority']);
  });
});
