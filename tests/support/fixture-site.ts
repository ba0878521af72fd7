import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

export interface FixtureSite {
  url: string;
  /** Every request received, in order. */
  hits: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/**
 * A local web site for task-type tests: serves `tests/fixtures/sites/<name>/` (`/` → index.html, `/a/` → a/index.html,
 * `/a` → a.html), gzips text when asked, and lets a test add routes (redirects, errors, slow pages). Tests never
 * leave 127.0.0.1.
 */
export async function startFixtureSite(
  name: string,
  routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {},
  options: { gzip?: boolean; headers?: Record<string, string> } = {},
): Promise<FixtureSite> {
  const root = join(__dirname, '..', 'fixtures', 'sites', name);
  const hits: FixtureSite['hits'] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    hits.push({ method: req.method ?? 'GET', path, headers: req.headers });
    const route = routes[path];
    if (route) return route(req, res);
    const candidates = [path.endsWith('/') ? `${path}index.html` : path, `${path}.html`, `${path}/index.html`];
    const file = candidates.map((c) => join(root, normalize(c).replace(/^(\.\.(\/|\\|$))+/, ''))).find((f) => f.startsWith(root) && existsSync(f) && statSync(f).isFile());
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<html><body><h1>Not found</h1></body></html>');
    }
    let body = readFileSync(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'content-type': type, ...options.headers };
    if (options.gzip && /gzip/.test(String(req.headers['accept-encoding'])) && /text|javascript|xml|json/.test(type)) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
