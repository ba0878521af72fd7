import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startFixtureSite, type FixtureSite } from '../support/fixture-site';
import { createTestContext, type TestContext } from '../support/harness';

const ROOT = join(__dirname, '..', 'fixtures', 'sites', 'site-perf');
const size = (file: string) => statSync(join(ROOT, file)).size;
/** What the fixture server sends for a gzipped file (same zlib defaults). */
const gzipped = (file: string) => gzipSync(readFileSync(join(ROOT, file))).length;

describe('page_performance_audit task type (real requests to local fixture sites)', () => {
  let t: TestContext;
  /** Gzips text and sends cache headers. */
  let tuned: FixtureSite;
  /** Sends everything as is, without cache headers. */
  let plain: FixtureSite;
  beforeAll(async () => {
    t = await createTestContext();
    tuned = await startFixtureSite('site-perf', {}, {
      gzip: true,
      headers: { 'cache-control': 'public, max-age=86400', etag: '"fixture-v1"', 'last-modified': 'Mon, 02 Jun 2025 10:00:00 GMT' },
    });
    plain = await startFixtureSite('site-perf');
  });
  afterAll(async () => {
    await t.close();
    await tuned.close();
    await plain.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'page_performance_audit', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };

  it('measures compression, caching, asset weights and render-blocking resources of each page', async () => {
    const task = await run({ urls: [`${tuned.url}/fast`, `${plain.url}/slow`, `${plain.url}/nope`], max_assets: 6 });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const [fast, slow, missing] = task.result_data.pages;
    expect(task.result_data.thresholds).toEqual({ ttfb_ms: 800, total_ms: 3000, html_kb: 500, page_weight_kb: 3000, max_render_blocking: 3 });

    // Timings are measured, not asserted: only present and sane.
    for (const page of [fast, slow]) {
      expect(page.timing.ttfb_ms).toBeGreaterThan(0);
      expect(page.timing.total_ms).toBeGreaterThanOrEqual(page.timing.ttfb_ms);
      expect(page.checks.map((c: any) => c.metric)).toEqual([
        'ttfb_ms',
        'total_ms',
        'html_kb',
        'page_weight_kb',
        'render_blocking',
        'uncompressed_text_resources',
        'uncached_assets',
      ]);
      expect(page.score).toBeGreaterThanOrEqual(0);
      expect(page.score).toBeLessThanOrEqual(100);
    }

    // The tuned page: gzipped HTML, cacheable assets, nothing render-blocking.
    expect(fast.html).toMatchObject({ content_encoding: 'gzip', compressed: true, transfer_bytes: gzipped('fast.html'), decoded_bytes: size('fast.html') });
    expect(fast.html.compression_ratio).toBeGreaterThan(3);
    expect(fast.caching).toMatchObject({ cache_control: 'public, max-age=86400', max_age: 86400, etag: '"fixture-v1"', cacheable: true, revalidatable: true });
    expect(fast.render_blocking).toEqual({ count: 0, resources: [] });
    const fastAssets = Object.fromEntries(fast.assets.items.map((a: any) => [a.url.replace(tuned.url, ''), a]));
    expect(fastAssets['/assets/app.js']).toMatchObject({
      type: 'script',
      fetched: true,
      status: 200,
      content_encoding: 'gzip',
      transfer_bytes: gzipped('assets/app.js'),
      decoded_bytes: size('assets/app.js'),
    });
    expect(fastAssets['/assets/app.js'].caching).toMatchObject({ max_age: 86400, cacheable: true });
    expect(fastAssets['/assets/logo.png']).toMatchObject({ type: 'image', content_encoding: null, transfer_bytes: size('assets/logo.png') });
    expect(fastAssets['https://cdn.example.com/banner.png']).toEqual({
      url: 'https://cdn.example.com/banner.png',
      type: 'image',
      same_site: false,
      fetched: false,
      skipped_reason: 'off_site',
    });
    const fastAssetBytes = gzipped('assets/app.js') + gzipped('assets/print.css') + size('assets/logo.png');
    expect(fast.assets).toMatchObject({ found: 4, fetched: 3, skipped_off_site: 1, skipped_max_assets: 0, failed: 0, transfer_bytes: fastAssetBytes, uncached: 0 });
    expect(fast.page_weight_bytes).toBe(gzipped('fast.html') + fastAssetBytes);
    const fastChecks = Object.fromEntries(fast.checks.map((c: any) => [c.metric, c]));
    expect(fastChecks.render_blocking).toEqual({ metric: 'render_blocking', value: 0, threshold: 3, status: 'pass' });
    expect(fastChecks.uncompressed_text_resources.status).toBe('pass');
    expect(fastChecks.uncached_assets.status).toBe('pass');

    // The plain page: no compression, no cache headers, four blocking scripts and a blocking stylesheet in <head>.
    expect(slow.html).toMatchObject({ content_encoding: null, compressed: false, transfer_bytes: size('slow.html'), decoded_bytes: size('slow.html'), compression_ratio: 1 });
    expect(slow.caching).toEqual({ cache_control: null, max_age: null, etag: null, last_modified: null, expires: null, cacheable: false, revalidatable: false });
    expect(slow.render_blocking.count).toBe(5);
    expect(slow.render_blocking.resources.map((r: any) => `${r.type} ${r.url.replace(plain.url, '')}`)).toEqual([
      'script /assets/vendor.js',
      'script /assets/app.js',
      'script /assets/analytics.js',
      'script /assets/polyfill.js',
      'stylesheet /assets/site.css',
    ]);
    // max_assets: 6 → the five scripts and site.css are fetched, print.css and the logo are not.
    const fetched = ['vendor.js', 'app.js', 'analytics.js', 'polyfill.js', 'lazy.js', 'site.css'];
    const slowAssetBytes = fetched.reduce((s, f) => s + size(`assets/${f}`), 0);
    expect(slow.assets).toMatchObject({ found: 8, fetched: 6, skipped_max_assets: 2, transfer_bytes: slowAssetBytes, decoded_bytes: slowAssetBytes, uncached: 6 });
    expect(slow.assets.by_type.script).toEqual({ count: 5, fetched: 5, transfer_bytes: slowAssetBytes - size('assets/site.css'), decoded_bytes: slowAssetBytes - size('assets/site.css') });
    expect(slow.assets.items.filter((a: any) => a.skipped_reason === 'max_assets').map((a: any) => a.url.replace(plain.url, ''))).toEqual(['/assets/print.css', '/assets/logo.png']);
    expect(slow.page_weight_bytes).toBe(size('slow.html') + slowAssetBytes);
    const slowChecks = Object.fromEntries(slow.checks.map((c: any) => [c.metric, c]));
    expect(slowChecks.render_blocking).toEqual({ metric: 'render_blocking', value: 5, threshold: 3, status: 'fail' });
    // The HTML, vendor.js and site.css are text over 1 KB sent uncompressed.
    expect(slowChecks.uncompressed_text_resources).toEqual({ metric: 'uncompressed_text_resources', value: 3, threshold: 0, status: 'warn' });
    expect(slowChecks.uncached_assets).toMatchObject({ value: 6, status: 'warn' });
    expect(slow.score).toBeLessThan(fast.score);

    expect(missing).toMatchObject({ url: `${plain.url}/nope`, status: 404, error: 'The page answered HTTP 404', score: null, checks: [] });
    expect(task.result_data.summary).toMatchObject({ pages_audited: 2, pages_failed: 1 });
    expect(task.result_data.summary.checks.fail).toBeGreaterThanOrEqual(1);
  });

  it('grades against the thresholds given in context_data', async () => {
    const task = await run({ urls: [`${plain.url}/slow`], max_assets: 0, thresholds: { max_render_blocking: 10, html_kb: 1 } });
    expect(task.status).toBe('completed');
    const [page] = task.result_data.pages;
    const checks = Object.fromEntries(page.checks.map((c: any) => [c.metric, c]));
    expect(checks.render_blocking).toMatchObject({ value: 5, threshold: 10, status: 'pass' });
    expect(checks.html_kb).toMatchObject({ value: Math.round((size('slow.html') / 1024) * 10) / 10, threshold: 1, status: 'fail' });
    expect(page.assets).toMatchObject({ found: 8, fetched: 0, skipped_max_assets: 8 });
    expect(task.result_data.thresholds).toMatchObject({ ttfb_ms: 800, max_render_blocking: 10, html_kb: 1 });
  });

  it('rejects invalid context_data with field errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'page_performance_audit', context_data: { urls: ['http://ok.example/', 'javascript:alert(1)'], thresholds: { ttfb_ms: -1, lcp: 2 } } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.thresholds.lcp', 'context_data.thresholds.ttfb_ms', 'context_data.urls.1']);
    const none = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'page_performance_audit', context_data: { urls: [] } });
    expect(Object.keys(none.body.field_errors)).toEqual(['context_data.urls']);
  });
});
