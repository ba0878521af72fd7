import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext, type TestContext } from '../support/harness';

/** A local fixture site: every request is recorded; behaviour per path. */
function startFixtureServer() {
  const hits: { path: string; method: string; body: string; headers: IncomingMessage['headers'] }[] = [];
  const flaky = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, method: req.method ?? 'GET', body, headers: req.headers });
      if (path.startsWith('/ok')) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-fixture': 'yes' });
        res.end(JSON.stringify({ received: body ? JSON.parse(body) : null }));
      } else if (path.startsWith('/flaky')) {
        const seen = (flaky.get(path) ?? 0) + 1;
        flaky.set(path, seen);
        if (seen < 3) {
          res.writeHead(503);
          res.end('try later');
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`ok after ${seen}`);
        }
      } else if (path.startsWith('/slow')) {
        setTimeout(() => res.end('late'), 3000);
      } else {
        res.writeHead(404);
        res.end('nope');
      }
    });
  });
  return new Promise<{ url: string; hits: typeof hits; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        hits,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    }),
  );
}

describe('http_request task type (durable HTTP call on a local fixture server)', () => {
  let t: TestContext;
  let site: Awaited<ReturnType<typeof startFixtureServer>>;
  beforeAll(async () => {
    t = await createTestContext();
    site = await startFixtureServer();
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'http_request', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };

  it('POSTs a JSON body and captures status, headers and the parsed response', async () => {
    const task = await run({ url: `${site.url}/ok/webhook`, method: 'POST', body: { event: 'done' }, headers: { 'X-Signature': 'abc' } });
    expect(task.status).toBe('completed');
    expect(task.result_data).toMatchObject({ status_code: 200, method: 'POST', attempt: 1, body: { received: { event: 'done' } } });
    expect(task.result_data.headers['x-fixture']).toBe('yes');
    const hit = site.hits.find((h) => h.path === '/ok/webhook')!;
    expect(hit.headers['x-signature']).toBe('abc');
    expect(hit.headers['content-type']).toBe('application/json');
  });

  it('retries 5xx answers durably and succeeds on a later attempt', async () => {
    const task = await run({ url: `${site.url}/flaky/1`, max_attempts: 5 });
    expect(task.status).toBe('completed');
    expect(task.result_data).toMatchObject({ status_code: 200, attempt: 3, body: 'ok after 3' });
    expect(site.hits.filter((h) => h.path === '/flaky/1')).toHaveLength(3);
  });

  it('fails at once on a 4xx (not retryable), with the status in the error message', async () => {
    const task = await run({ url: `${site.url}/missing`, max_attempts: 5 });
    expect(task.status).toBe('failed');
    expect(task.error_message).toMatch(/answered 404/);
    expect(site.hits.filter((h) => h.path === '/missing')).toHaveLength(1);
  });

  it('bounds each attempt with timeout_seconds and fails after max_attempts', async () => {
    const task = await run({ url: `${site.url}/slow`, timeout_seconds: 0.5, max_attempts: 2 });
    expect(task.status).toBe('failed');
    expect(site.hits.filter((h) => h.path === '/slow')).toHaveLength(2);
  });
});
