/**
 * Swagger UI (/docs) and ReDoc (/redoc) rendered by Debian's chromium through playwright-core: both load their bundles
 * from this origin under the pages' Content-Security-Policy, read /openapi.json and show its operations, and the
 * browser reports no CSP violation, no failed request and no script error.
 *
 *   CHROMIUM_PATH   path of the browser (default /usr/bin/chromium; scripts/setup.sh installs it)
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTestContext, type TestContext } from '../support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('API reference pages in headless Chromium', () => {
  let t: TestContext;
  let api: Server;
  let base: string;
  let browser: Browser;
  let operations: { summary: string; count: number };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No browser at ${CHROMIUM}: run scripts/setup.sh (installs Debian's chromium) or set CHROMIUM_PATH`);
    }
    t = await createTestContext({ worker: false });
    api = createServer(t.app.callback());
    base = await new Promise<string>((resolve) => api.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(api.address() as AddressInfo).port}`)));
    const doc = (await t.http.get('/openapi.json')).body as { paths: Record<string, Record<string, { summary: string }>> };
    operations = {
      summary: doc.paths['/tasks/{id}/retry']!.post!.summary,
      count: Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0),
    };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Chromium refuses to sandbox as root (CI containers).
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => {
      api.closeAllConnections();
      api.close(() => resolve());
    });
    await t.close();
  });

  /** A page with everything the browser complains about: console errors (CSP violations among them), script errors, failed requests. */
  async function open(path: string): Promise<{ page: Page; complaints: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(30_000);
    const complaints: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) complaints.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => complaints.push(`script: ${err.message}`));
    page.on('requestfailed', (r) => complaints.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => {
      if (r.status() >= 400) complaints.push(`HTTP ${r.status()}: ${r.url()}`);
      if (!r.url().startsWith(base) && !r.url().startsWith(`blob:${base}`)) complaints.push(`left the origin: ${r.url()}`);
    });
    const res = await page.goto(`${base}${path}`);
    expect(res?.status()).toBe(200);
    return { page, complaints };
  }

  it('Swagger UI at /docs renders the operations of /openapi.json', async () => {
    const { page, complaints } = await open('/docs');
    await page.waitForSelector('.opblock');
    expect(await page.locator('.info .title').innerText()).toContain('durable-tasks');
    // Operations further down render as they scroll into view: scroll until the last tag's operation shows.
    const retry = page.locator('.opblock-summary-description', { hasText: operations.summary });
    for (let i = 0; i < 40 && (await retry.count()) === 0; i++) {
      await page.mouse.wheel(0, 5000);
      await page.waitForTimeout(250);
    }
    expect(await retry.count()).toBe(1);
    expect(complaints).toEqual([]);
    await page.close();
  });

  it('ReDoc at /redoc renders the operations of /openapi.json', async () => {
    const { page, complaints } = await open('/redoc');
    await page.waitForSelector('[data-section-id^="operation/"]', { state: 'attached' });
    expect(await page.locator('[data-section-id^="operation/"]').count()).toBe(operations.count);
    expect(await page.getByRole('heading', { name: operations.summary }).count()).toBeGreaterThan(0);
    // ReDoc always shows its vendor's logo from cdn.redoc.ly: the policy blocks it (nothing leaves this origin), which
    // the browser reports; that refusal is the CSP working, so it is the one complaint expected.
    const logo = /cdn\.redoc\.ly\/redoc\/logo-mini\.svg/;
    expect(complaints.filter((c) => !logo.test(c))).toEqual([]);
    await page.close();
  });
});
