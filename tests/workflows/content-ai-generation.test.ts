import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestContext, type TestContext } from '../support/harness';

interface StubRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: { model: string; messages: { role: string; content: string }[]; temperature?: number; max_tokens?: number };
  aborted: boolean;
}

const ARTICLE = [
  '# Choosing trail running shoes',
  '',
  'Trail running shoes need **grip** and cushioning. A [good fit](https://example.test/fit) matters most.',
  '',
  '## Grip',
  '',
  'Deep lugs bite into mud.',
].join('\n');

/** A local OpenAI-compatible /chat/completions: answers by what the last user message asks for. */
async function startAiStub() {
  const requests: StubRequest[] = [];
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const entry: StubRequest = { path: req.url ?? '', headers: req.headers, body: JSON.parse(raw || '{}'), aborted: false };
      requests.push(entry);
      res.on('close', () => {
        if (!res.writableFinished) entry.aborted = true;
      });
      const user = entry.body.messages?.findLast((m) => m.role === 'user')?.content ?? '';
      const count = (seen.get(user) ?? 0) + 1;
      seen.set(user, count);
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.url !== '/v1/chat/completions') return json(404, { error: { message: 'unknown path' } });
      if (user.includes('SLOW')) return; // never answers: the test cancels the task
      if (user.includes('RATE LIMIT') && count === 1) {
        return json(429, { error: { message: 'Rate limit reached for requests', type: 'requests' } }, { 'retry-after': '1' });
      }
      if (user.includes('BAD REQUEST')) {
        return json(400, { error: { message: "Invalid value for 'temperature': must be at most 1.5 for this model", type: 'invalid_request_error' } });
      }
      const content = user.includes('RATE LIMIT') ? 'A short poem about mountains.' : ARTICLE;
      return json(200, {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: `${entry.body.model}-2024-07-18`,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 57, completion_tokens: 38, total_tokens: 95 },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('ai_content_generation task type (local OpenAI-compatible stub)', () => {
  let t: TestContext;
  let stub: Awaited<ReturnType<typeof startAiStub>>;
  beforeAll(async () => {
    stub = await startAiStub();
    t = await createTestContext({ config: { AI_API_BASE_URL: stub.url, AI_API_KEY: 'sk-test-123', AI_MODEL: 'gpt-4o-mini', AI_TIMEOUT_SECONDS: 30 } });
  });
  afterAll(async () => {
    await t.close();
    await stub.close();
  });

  const create = (context: Record<string, unknown>) => t.http.post('/tasks/').set(t.headers()).send({ task_type: 'ai_content_generation', context_data: context });
  const run = async (context: Record<string, unknown>) => {
    const res = await create(context);
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (task) => ['completed', 'failed'].includes(task.status), 60_000);
  };
  const sent = (needle: string) => stub.requests.filter((r) => r.body.messages?.some((m) => m.content.includes(needle)));

  it('builds system + user messages from a brief and reports content, usage and keyword coverage', async () => {
    const task = await run({
      topic: 'How to choose trail running shoes',
      keywords: ['trail running shoes', 'grip', 'waterproof'],
      tone: 'friendly',
      language: 'fr',
      length_words: 800,
      format: 'markdown',
      audience: 'beginner runners',
      temperature: 0.4,
      max_tokens: 1200,
    });
    expect(task.status).toBe('completed');
    const [req] = sent('How to choose trail running shoes');
    expect(req!.path).toBe('/v1/chat/completions');
    expect(req!.headers.authorization).toBe('Bearer sk-test-123');
    expect(req!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.4, max_tokens: 1200 });
    const [system, user] = req!.body.messages;
    expect(system!.role).toBe('system');
    expect(system!.content).toContain('Write in French.');
    expect(system!.content).toContain('Tone: friendly.');
    expect(system!.content).toContain('Audience: beginner runners.');
    expect(system!.content).toContain('Markdown');
    expect(user!.role).toBe('user');
    expect(user!.content).toContain('Write an article about: How to choose trail running shoes.');
    expect(user!.content).toContain('about 800 words');
    expect(user!.content).toContain('"trail running shoes", "grip", "waterproof"');

    expect(task.result_data).toEqual({
      content: ARTICLE,
      model: 'gpt-4o-mini-2024-07-18',
      finish_reason: 'stop',
      usage: { prompt_tokens: 57, completion_tokens: 38, total_tokens: 95 },
      word_count: 22,
      keywords_included: ['trail running shoes', 'grip'],
      keywords_missing: ['waterproof'],
      format: 'markdown',
      language: 'fr',
      attempt: 1,
    });
  });

  it('retries a 429 after Retry-After and completes on the second attempt', async () => {
    const task = await run({ prompt: 'RATE LIMIT: write a two-line poem about mountains', keywords: ['mountains'] });
    expect(task.status).toBe('completed');
    expect(sent('RATE LIMIT')).toHaveLength(2);
    expect(sent('RATE LIMIT')[0]!.body.messages).toEqual([{ role: 'user', content: 'RATE LIMIT: write a two-line poem about mountains' }]);
    expect(task.result_data).toMatchObject({ content: 'A short poem about mountains.', attempt: 2, keywords_included: ['mountains'], keywords_missing: [], word_count: 5 });
  });

  it('fails at once on a 400 with the provider error message', async () => {
    const task = await run({ prompt: 'BAD REQUEST please', temperature: 2 });
    expect(task.status).toBe('failed');
    expect(task.error_message).toBe("AI endpoint answered 400: Invalid value for 'temperature': must be at most 1.5 for this model");
    expect(sent('BAD REQUEST')).toHaveLength(1);
  });

  it('aborts the request when the task is cancelled while waiting for the answer', async () => {
    const res = await create({ prompt: 'SLOW answer please' });
    expect(res.status).toBe(201);
    await t.waitForTask(res.body.id, (task) => task.status === 'running');
    for (let i = 0; i < 100 && sent('SLOW').length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sent('SLOW')).toHaveLength(1);
    const cancel = await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    expect(cancel.status).toBeLessThan(300);
    const task = await t.waitForTask(res.body.id, (x) => x.status === 'cancelled', 30_000);
    expect(task.status).toBe('cancelled');
    for (let i = 0; i < 100 && !sent('SLOW')[0]!.aborted; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sent('SLOW')[0]!.aborted).toBe(true);
  });

  it('refuses invalid context_data with field_errors', async () => {
    const none = await create({ tone: 'angry', temperature: 3 });
    expect(none.status).toBe(400);
    expect(Object.keys(none.body.field_errors).sort()).toEqual(['context_data.temperature', 'context_data.tone']);
    const both = await create({ prompt: 'Hello', topic: 'Shoes' });
    expect(both.body.field_errors).toEqual({ 'context_data.prompt': ['Give either prompt or topic, not both'] });
    const neither = await create({ keywords: ['a'] });
    expect(neither.body.field_errors).toEqual({ 'context_data.topic': ['Give either prompt (free text) or topic (a brief)'] });
    const mixed = await create({ prompt: 'Hello', length_words: 10 });
    expect(Object.keys(mixed.body.field_errors)).toEqual(['context_data.length_words']);
  });

  it('is refused with TASK_TYPE_NOT_CONFIGURED when AI_API_BASE_URL is unset', async () => {
    const unconfigured = await createTestContext({ worker: false, config: { AI_API_BASE_URL: undefined } });
    try {
      const res = await unconfigured.http
        .post('/tasks/')
        .set(unconfigured.headers())
        .send({ task_type: 'ai_content_generation', context_data: { topic: 'Shoes' } });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('TASK_TYPE_NOT_CONFIGURED');
      expect(res.body.missing_settings).toEqual(['AI_API_BASE_URL']);
    } finally {
      await unconfigured.close();
    }
    const configured = await create({ topic: 'Shoes' });
    expect(configured.status).toBe(201);
    await t.waitForTask(configured.body.id, (task) => task.status === 'completed');
  });
});
