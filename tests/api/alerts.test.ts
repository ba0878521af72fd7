import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../api/app';
import type { DeliveryOutcome } from '../../workflows/contracts/alerts';
import type { EvaluateAlertsResult } from '../../workflows/system/evaluate-alerts';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

const BASE = '/tasks/monitoring/alerts';
const SECRET = 'whsec-test-0123456789';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A local webhook receiver: answers 503 to its next `refuse` requests, then 200 (or what `statusFor` says for a path). */
async function startReceiver(): Promise<{ url: string; requests: Received[]; refuse: number; close(): Promise<void> }> {
  const state = { refuse: 0, requests: [] as Received[] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      let status = 200;
      if (req.url === '/gone') status = 410;
      else if (state.refuse > 0) {
        state.refuse -= 1;
        status = 503;
      }
      state.requests.push({ path: req.url ?? '', headers: req.headers, body, status });
      res.statusCode = status;
      res.end(status === 200 ? 'ok' : 'unavailable');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests: state.requests,
    get refuse() {
      return state.refuse;
    },
    set refuse(n: number) {
      state.refuse = n;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The smallest SMTP server nodemailer can talk to (no TLS, no auth): keeps each message's raw DATA. */
async function startSmtp(): Promise<{ url: string; messages: string[]; close(): Promise<void> }> {
  const messages: string[] = [];
  const server = createTcpServer((sock) => {
    sock.setEncoding('utf8');
    sock.write('220 localhost ESMTP test\r\n');
    let buf = '';
    let data: string | null = null;
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') {
            messages.push(data);
            data = null;
            sock.write('250 2.0.0 queued\r\n');
          } else data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-localhost\r\n250 8BITMIME\r\n');
        else if (cmd === 'DATA') {
          data = '';
          sock.write('354 go ahead\r\n');
        } else if (cmd === 'QUIT') sock.end('221 bye\r\n');
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('alert rules (/tasks/monitoring/alerts/)', () => {
  let t: TestContext;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let evaluations = 0;

  beforeAll(async () => {
    [receiver, smtp] = await Promise.all([startReceiver(), startSmtp()]);
    t = await createTestContext({ config: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([receiver.close(), smtp.close()]);
  });

  const post = (body: Record<string, unknown>) => t.http.post(`${BASE}/`).set(t.headers()).send(body);
  const rule = (extra: Record<string, unknown> = {}) => ({
    name: 'Slow SEO runs',
    metric_field: 'execution_time_ms',
    condition: 'gt',
    threshold: 1000,
    ...extra,
  });
  /** Runs the evaluation workflow directly on the test worker's queue, as the system schedule does every minute. */
  const evaluate = (scope: { brandIds?: number[]; ruleIds?: number[] }) =>
    t.client.workflow.execute('evaluateAlertsWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: `evaluate-alerts-test-${process.pid}-${Date.now()}-${evaluations++}`,
      args: [scope],
    }) as Promise<EvaluateAlertsResult>;
  const history = async (query: string) => (await t.http.get(`${BASE}/history/?${query}`).set(t.headers())).body;
  const audit = (action: string, targetId: string) =>
    t.orm.em.fork().execute<{ action: string; details: Record<string, any>; actor_id: number }[]>(
      `select action, details, actor_id from audit_log where action = ? and target_id = ? order by id`,
      [action, targetId],
    );

  describe('CRUD and validation', () => {
    it('creates a rule with defaults, never shows a webhook secret, and audits the creation without it', async () => {
      const res = await post(
        rule({ scope_task_type: 'seo_keyword_analysis', scope_priority: 'high', channels: [{ type: 'webhook', url: `${receiver.url}/hook`, secret: SECRET }] }),
      );
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`${BASE}/${res.body.id}/`);
      expect(res.body).toMatchObject({
        name: 'Slow SEO runs',
        brand: { id: t.brand.id, name: t.brand.name },
        created_by: { id: t.user.id, username: t.user.username },
        metric_field: 'execution_time_ms',
        aggregation: 'avg',
        condition: 'gt',
        threshold: 1000,
        window_minutes: 5,
        min_samples: 1,
        cooldown_minutes: 15,
        scope_task_type: 'seo_keyword_analysis',
        scope_priority: 'high',
        channels: [{ type: 'webhook', url: `${receiver.url}/hook`, has_secret: true }],
        is_active: true,
        state: 'ok',
        last_value: null,
        last_triggered_at: null,
        cooldown_until: null,
      });
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
      const [row] = await audit('alert_rule.create', String(res.body.id));
      expect(row).toMatchObject({ actor_id: t.user.id, details: { metric_field: 'execution_time_ms', threshold: 1000 } });
      expect(JSON.stringify(row!.details)).not.toContain(SECRET);

      const got = await t.http.get(`${BASE}/${res.body.id}`).set(t.headers());
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
    });

    it('a failure-rate rule has no aggregation and waits for 5 samples by default', async () => {
      const res = await post({ name: 'Failures', metric_field: 'failure_rate_percent', condition: 'gte', threshold: 20 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ aggregation: null, min_samples: 5 });
    });

    it('refuses an unknown metric field with METRIC_FIELD_INVALID, in a body and in a filter', async () => {
      const res = await post(rule({ metric_field: 'disk_usage_gb' }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error_code: 'METRIC_FIELD_INVALID', field_errors: { metric_field: [expect.stringMatching(/Unknown metric field "disk_usage_gb"/)] } });
      const list = await t.http.get(`${BASE}/?metric_field=execution_time_ms,nope`).set(t.headers());
      expect(list.status).toBe(400);
      expect(list.body.error_code).toBe('METRIC_FIELD_INVALID');
    });

    it.each([
      ['failure_rate_percent', 150, {}, 0, 100],
      ['cpu_usage_percent', -1, {}, 0, 6400],
      ['execution_time_ms', 8 * 24 * 3_600_000, {}, 0, 7 * 24 * 3_600_000],
      ['cost_usd', -0.01, { aggregation: 'sum' }, 0, 1e12],
    ])('refuses a %s threshold of %s with THRESHOLD_OUT_OF_RANGE', async (field, threshold, extra, min, max) => {
      const res = await post(rule({ metric_field: field, threshold, ...extra }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error_code: 'THRESHOLD_OUT_OF_RANGE', min, max, field_errors: { threshold: [expect.stringMatching(/between/)] } });
    });

    it('refuses other invalid bodies with VALIDATION_ERROR and field errors', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [rule({ condition: 'ne' }), 'condition'],
        [rule({ threshold: 'high' }), 'threshold'],
        [rule({ window_minutes: 0 }), 'window_minutes'],
        [rule({ cooldown_minutes: -5 }), 'cooldown_minutes'],
        [rule({ min_samples: 0 }), 'min_samples'],
        [rule({ aggregation: 'median' }), 'aggregation'],
        [{ ...rule(), metric_field: 'queue_depth', aggregation: 'max' }, 'aggregation'],
        [rule({ scope_priority: 'urgent' }), 'scope_priority'],
        [rule({ scope_task_type: 'no_such_type' }), 'scope_task_type'],
        [rule({ owner_id: 1 }), 'owner_id'],
        [rule({ channels: [{ type: 'webhook', url: 'ftp://127.0.0.1/x' }] }), 'channels.0.url'],
        [rule({ channels: [{ type: 'pager', number: '1' }] }), 'channels.0.type'],
        [rule({ channels: [{ type: 'email', to: ['not-an-address'] }] }), 'channels.0.to.0'],
        [rule({ channels: [{ type: 'webhook', url: `${receiver.url}/x`, secret: 'short' }] }), 'channels.0.secret'],
        [{ metric_field: 'error_count', condition: 'gt', threshold: 1 }, 'name'],
      ];
      for (const [body, field] of cases) {
        const res = await post(body);
        expect({ field, status: res.status, code: res.body.error_code }).toEqual({ field, status: 400, code: 'VALIDATION_ERROR' });
        expect(Object.keys(res.body.field_errors)).toContain(field);
      }
    });

    it('refuses an e-mail channel with a clear 400 when SMTP_URL is not configured', async () => {
      const bare = createApp({ orm: t.orm, temporal: t.client, config: { ...t.config, SMTP_URL: undefined } });
      const res = await request(bare.callback())
        .post(`${BASE}/`)
        .set(t.headers())
        .send(rule({ channels: [{ type: 'email', to: ['ops@example.com'] }] }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error_code: 'VALIDATION_ERROR', field_errors: { 'channels.0.type': [expect.stringMatching(/SMTP_URL/)] } });
    });

    it('updates with PUT (channels kept when omitted) and PATCH (merged, validated whole), audited', async () => {
      const created = (await post(rule({ channels: [{ type: 'webhook', url: `${receiver.url}/hook`, secret: SECRET }] }))).body;
      const put = await t.http.put(`${BASE}/${created.id}/`).set(t.headers()).send(rule({ name: 'Renamed', threshold: 2000, aggregation: 'p95' }));
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'Renamed', threshold: 2000, aggregation: 'p95', channels: [{ type: 'webhook', has_secret: true }] });

      const patch = await t.http.patch(`${BASE}/${created.id}/`).set(t.headers()).send({ metric_field: 'failure_rate_percent', threshold: 40 });
      expect(patch.status).toBe(200);
      // A new metric field brings its own defaults: no aggregation, 5 samples.
      expect(patch.body).toMatchObject({ name: 'Renamed', metric_field: 'failure_rate_percent', aggregation: null, min_samples: 5, threshold: 40 });

      const bad = await t.http.patch(`${BASE}/${created.id}/`).set(t.headers()).send({ threshold: 101 });
      expect(bad.status).toBe(400);
      expect(bad.body.error_code).toBe('THRESHOLD_OUT_OF_RANGE');
      const empty = await t.http.patch(`${BASE}/${created.id}/`).set(t.headers()).send({});
      expect(empty.status).toBe(400);

      const trail = await audit('alert_rule.update', String(created.id));
      expect(trail).toHaveLength(2);
      expect(trail[1]!.details).toMatchObject({ method: 'PATCH', changes: { metric_field: 'failure_rate_percent', threshold: 40, aggregation: null } });
    });

    it("answers 404 for another brand's rule on every route, and 404 after a delete", async () => {
      const created = (await post(rule())).body;
      const outsider = t.headers(t.outsider, t.otherBrand.id);
      expect((await t.http.get(`${BASE}/${created.id}/`).set(outsider)).status).toBe(404);
      expect((await t.http.put(`${BASE}/${created.id}/`).set(outsider).send(rule())).status).toBe(404);
      expect((await t.http.patch(`${BASE}/${created.id}/`).set(outsider).send({ threshold: 5 })).status).toBe(404);
      expect((await t.http.post(`${BASE}/${created.id}/test/`).set(outsider).send({})).status).toBe(404);
      expect((await t.http.delete(`${BASE}/${created.id}/`).set(outsider)).status).toBe(404);
      expect((await t.http.get(`${BASE}/?page_size=500`).set(outsider)).body.results.map((r: { id: number }) => r.id)).not.toContain(created.id);
      expect((await t.http.get(`${BASE}/abc/`).set(t.headers())).status).toBe(404);

      expect((await t.http.delete(`${BASE}/${created.id}/`).set(t.headers())).status).toBe(204);
      expect((await t.http.get(`${BASE}/${created.id}/`).set(t.headers())).status).toBe(404);
      expect(await audit('alert_rule.delete', String(created.id))).toHaveLength(1);
    });

    it('filters by is_active, metric_field, condition and last_triggered_after, and paginates', async () => {
      const off = (await post(rule({ name: 'filter-off', is_active: false, condition: 'lte', metric_field: 'memory_usage_mb', threshold: 10 }))).body;
      const gte = (await post(rule({ name: 'filter-gte', condition: 'gte' }))).body;
      const eq = (await post(rule({ name: 'filter-eq', condition: 'eq', metric_field: 'error_count', threshold: 3 }))).body;
      await t.orm.em.fork().execute(`update alert_rules set last_triggered_at = now() - interval '1 hour' where id = ?`, [gte.id]);
      await t.orm.em.fork().execute(`update alert_rules set last_triggered_at = now() - interval '3 days' where id = ?`, [eq.id]);
      const ids = async (q: string) => {
        const res = await t.http.get(`${BASE}/?search=filter-&${q}`).set(t.headers());
        expect(res.status).toBe(200);
        return res.body.results.map((r: { id: number }) => r.id).sort((a: number, b: number) => a - b);
      };
      expect(await ids('is_active=false')).toEqual([off.id]);
      expect(await ids('is_active=true')).toEqual([gte.id, eq.id]);
      expect(await ids('metric_field=execution_time_ms')).toEqual([gte.id]);
      expect(await ids('metric_field=memory_usage_mb,error_count')).toEqual([off.id, eq.id]);
      expect(await ids('condition=gt,gte,lt,lte')).toEqual([off.id, gte.id]);
      expect(await ids('condition=eq')).toEqual([eq.id]);
      expect(await ids(`last_triggered_after=${new Date(Date.now() - 24 * 3_600_000).toISOString()}`)).toEqual([gte.id]);
      expect((await t.http.get(`${BASE}/?condition=ne`).set(t.headers())).status).toBe(400);

      const page1 = (await t.http.get(`${BASE}/?search=filter-&page_size=2&ordering=name`).set(t.headers())).body;
      expect(page1).toMatchObject({ count: 3, previous: null, results: [{ id: eq.id }, { id: gte.id }] });
      expect(page1.next).toMatch(/page=2/);
      const page2 = (await t.http.get(page1.next).set(t.headers())).body;
      expect(page2).toMatchObject({ next: null, results: [{ id: off.id }] });
    });
  });

  describe('evaluation of task metrics and queue depth', () => {
    it('aggregates task_metrics rows of the window (avg, max, p95, count) and counts pending tasks, one event per firing', async () => {
      const em = t.orm.em.fork();
      // Finished in the window, and one long ago that the window leaves out.
      const rows: [number, string][] = [
        [100, '1 minute'],
        [200, '2 minutes'],
        [3000, '3 minutes'],
        [90_000, '2 hours'],
      ];
      for (const [ms, ago] of rows) {
        await em.execute(
          `insert into task_metrics (task_id, brand_id, task_type, priority, status, execution_time_ms, cpu_usage_percent, memory_usage_mb,
                                     cost_usd, error_count, source, finished_at, created_at, updated_at)
           values (?, ?, 'seo_keyword_analysis', 'normal', 'completed', ?, 10, 50, 0.01, 0, 'import', now() - ?::interval, now(), now())`,
          [`task_alert_metric_${process.pid}_${Date.now()}_${ms}`, t.brand.id, ms, ago],
        );
      }
      await insertMirrorRows(em, { brandId: t.brand.id, userId: t.user.id }, [
        { status: 'pending', taskType: 'report_generation' },
        { status: 'pending', taskType: 'report_generation' },
        { status: 'running', taskType: 'report_generation' },
      ]);
      const scope = { scope_task_type: 'seo_keyword_analysis', window_minutes: 10 };
      const make = async (extra: Record<string, unknown>) => (await post(rule({ ...scope, ...extra }))).body.id as number;
      const avg = await make({ name: 'avg > 1000', aggregation: 'avg', threshold: 1000 });
      const max = await make({ name: 'max >= 3000', aggregation: 'max', condition: 'gte', threshold: 3000 });
      const p95 = await make({ name: 'p95 < 100', aggregation: 'p95', condition: 'lt', threshold: 100 });
      const count = await make({ name: 'count = 3', aggregation: 'count', condition: 'eq', threshold: 3 });
      const depth = await make({ name: 'queue', metric_field: 'queue_depth', scope_task_type: 'report_generation', condition: 'gte', threshold: 2 });
      const ids = [avg, max, p95, count, depth];

      const first = await evaluate({ ruleIds: ids });
      expect(first.evaluated).toBe(5);
      expect(first.fired).toHaveLength(4);
      expect(first.deliveries).toEqual([]); // no channels: history only
      const state = async (id: number) => (await t.http.get(`${BASE}/${id}/`).set(t.headers())).body;
      expect(await state(avg)).toMatchObject({ state: 'firing', last_value: 1100, last_samples: 3 });
      expect(await state(max)).toMatchObject({ state: 'firing', last_value: 3000 });
      expect((await state(p95)).state).toBe('ok');
      expect((await state(p95)).last_value).toBeCloseTo(2720, 5); // percentile_cont over 100, 200, 3000
      expect(await state(count)).toMatchObject({ state: 'firing', last_value: 3 });
      expect(await state(depth)).toMatchObject({ state: 'firing', last_value: 2 });
      expect((await state(avg)).last_triggered_at).not.toBeNull();

      // Still breaching: no new event.
      const second = await evaluate({ ruleIds: ids });
      expect(second.fired).toEqual([]);
      const fired = await history(`kind=fired&rule=${avg}`);
      expect(fired.count).toBe(1);
      expect(fired.results[0]).toMatchObject({ kind: 'fired', value: 1100, threshold: 1000, samples: 3, delivery_workflow_id: null, deliveries: [] });
      expect(fired.results[0].payload).toMatchObject({ kind: 'fired', rule: { id: avg, metric_field: 'execution_time_ms', aggregation: 'avg' }, value: 1100 });

      // Raising the threshold above the value resolves it at the next evaluation.
      expect((await t.http.patch(`${BASE}/${avg}/`).set(t.headers()).send({ threshold: 5000 })).status).toBe(200);
      const third = await evaluate({ ruleIds: ids });
      expect(third.resolved).toHaveLength(1);
      expect((await state(avg)).state).toBe('ok');
      const events = await history(`rule=${avg}`);
      expect(events.results.map((e: { kind: string }) => e.kind)).toEqual(['resolved', 'fired']);
    });
  });

  describe('a failure-rate spike from failing tasks, delivered to a webhook exactly once per firing', () => {
    let ruleId: number;
    let firedEvent: Record<string, any>;

    const createTasks = async (n: number, body: Record<string, unknown>, until: string) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push((await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', ...body })).body.id);
      await Promise.all(ids.map((id) => t.waitForTask(id, (x) => x.status === until)));
    };
    const forEvent = (eventId: number) => receiver.requests.filter((r) => r.body && JSON.parse(r.body).event_id === eventId);

    it('fires once on failing tasks; the endpoint refuses twice, then receives exactly one signed delivery with its idempotency key', async () => {
      const created = await post({
        name: 'noop failure rate',
        metric_field: 'failure_rate_percent',
        condition: 'gte',
        threshold: 50,
        window_minutes: 5,
        min_samples: 3,
        scope_task_type: 'noop',
        cooldown_minutes: 10,
        channels: [{ type: 'webhook', url: `${receiver.url}/hook`, secret: SECRET }],
      });
      expect(created.status).toBe(201);
      ruleId = created.body.id;

      // No finished task yet: no verdict.
      expect((await evaluate({ ruleIds: [ruleId] })).fired).toEqual([]);
      expect((await t.http.get(`${BASE}/${ruleId}/`).set(t.headers())).body).toMatchObject({ state: 'ok', last_value: null, last_samples: 0 });

      await createTasks(3, { context_data: { fail_message: 'x' } }, 'failed');
      receiver.refuse = 2;
      // Two evaluations at once, then a third: the rule's lock lets exactly one of them record the firing.
      const runs = [...(await Promise.all([evaluate({ ruleIds: [ruleId] }), evaluate({ ruleIds: [ruleId] })])), await evaluate({ ruleIds: [ruleId] })];
      expect(runs.flatMap((r) => r.fired)).toHaveLength(1);
      expect(runs.flatMap((r) => r.deliveries)).toHaveLength(1);

      const fired = await history(`rule=${ruleId}&kind=fired`);
      expect(fired.count).toBe(1);
      firedEvent = fired.results[0];
      expect(firedEvent).toMatchObject({ kind: 'fired', value: 100, threshold: 50, samples: 3, rule: { id: ruleId } });
      const workflowId: string = firedEvent.delivery_workflow_id;
      expect(workflowId).toMatch(new RegExp(`^alert-event-${firedEvent.id}-`));

      // Retried with backoff until the endpoint accepts: the workflow ends delivered.
      const outcome = (await t.client.workflow.getHandle(workflowId).result()) as DeliveryOutcome[];
      expect(outcome).toEqual([{ channel_index: 0, channel: 'webhook', status: 'delivered' }]);

      const got = forEvent(firedEvent.id);
      expect(got.map((r) => r.status)).toEqual([503, 503, 200]);
      expect(got.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of got) {
        expect(r.path).toBe('/hook');
        expect(r.headers['idempotency-key']).toBe(`${workflowId}:0`);
        expect(r.headers['x-signature-sha256']).toBe(`sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`);
      }
      const body = JSON.parse(got[2]!.body);
      expect(body).toMatchObject({
        kind: 'fired',
        event_id: firedEvent.id,
        value: 100,
        threshold: 50,
        samples: 3,
        rule: { id: ruleId, metric_field: 'failure_rate_percent', condition: 'gte', window_minutes: 5, min_samples: 3, scope_task_type: 'noop' },
        brand: { id: t.brand.id },
      });
      expect(body.text).toMatch(/^\[FIRING\] noop failure rate/);
      expect(body.rule.channels).toBeUndefined(); // the payload never carries channel secrets

      // Every attempt is recorded.
      const after = (await history(`rule=${ruleId}&kind=fired`)).results[0];
      expect(after.deliveries.map((d: any) => [d.attempt, d.status, d.response_status])).toEqual([
        [1, 'failed', 503],
        [2, 'failed', 503],
        [3, 'delivered', 200],
      ]);
      expect(after.deliveries[0]).toMatchObject({ channel: 'webhook', channel_index: 0, target: `${receiver.url}/hook`, idempotency_key: `${workflowId}:0` });
      expect(after.delivery_summary).toEqual([
        { channel_index: 0, channel: 'webhook', target: `${receiver.url}/hook`, attempts: 3, status: 'delivered', delivered_at: expect.any(String) },
      ]);

      // Evaluating again while the spike lasts records nothing and sends nothing.
      const again = await evaluate({ ruleIds: [ruleId] });
      expect(again).toMatchObject({ fired: [], deliveries: [] });
      expect(forEvent(firedEvent.id)).toHaveLength(3);
      expect((await history(`rule=${ruleId}&kind=fired`)).count).toBe(1);
    });

    it('lists the rule under active/ with the value that fired, since when', async () => {
      const active = (await t.http.get(`${BASE}/active/`).set(t.headers())).body;
      const mine = active.results.find((r: { id: number }) => r.id === ruleId);
      expect(mine).toMatchObject({ state: 'firing', fired_value: 100, last_value: 100, notified: true, event_id: firedEvent.id, since: firedEvent.occurred_at });
      expect(mine.cooldown_until).not.toBeNull();
      const other = (await t.http.get(`${BASE}/active/`).set(t.headers(t.outsider, t.otherBrand.id))).body;
      expect(other.results.find((r: { id: number }) => r.id === ruleId)).toBeUndefined();
    });

    it('refuses test/ during the cooldown (ALERT_COOLDOWN_ACTIVE) and sends a test payload when forced', async () => {
      const refused = await t.http.post(`${BASE}/${ruleId}/test/`).set(t.headers()).send({});
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error_code: 'ALERT_COOLDOWN_ACTIVE', last_triggered_at: firedEvent.occurred_at, cooldown_until: expect.any(String) });
      expect((await t.http.post(`${BASE}/${ruleId}/test/`).set(t.headers()).send({ force: 'yes' })).status).toBe(400);

      const forced = await t.http.post(`${BASE}/${ruleId}/test/`).set(t.headers()).send({ force: true });
      expect(forced.status).toBe(200);
      expect(forced.body.outcome).toEqual([{ channel_index: 0, channel: 'webhook', status: 'delivered' }]);
      expect(forced.body.event).toMatchObject({ kind: 'test', rule: { id: ruleId }, delivery_summary: [{ status: 'delivered', attempts: 1 }] });
      const sent = forEvent(forced.body.event.id);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0]!.body)).toMatchObject({ kind: 'test', title: '[TEST] noop failure rate' });
      expect(await audit('alert_rule.test', String(ruleId))).toEqual([expect.objectContaining({ details: expect.objectContaining({ forced: true }) })]);
      // A test is not a firing: the cooldown still runs from the real one.
      expect((await t.http.get(`${BASE}/${ruleId}/`).set(t.headers())).body.last_triggered_at).toBe(firedEvent.occurred_at);
    });

    it('resolves once successes dominate the window, and delivers the resolution', async () => {
      await createTasks(4, {}, 'completed'); // 3 failed of 7 finished: 42.9 % < 50 %
      const run = await evaluate({ ruleIds: [ruleId] });
      expect(run.resolved).toHaveLength(1);
      const resolved = (await history(`rule=${ruleId}&kind=resolved`)).results[0];
      expect(resolved).toMatchObject({ kind: 'resolved', samples: 7 });
      expect(resolved.value).toBeCloseTo(300 / 7, 2);
      await t.client.workflow.getHandle(resolved.delivery_workflow_id).result();
      expect(forEvent(resolved.id).map((r) => [r.status, JSON.parse(r.body).kind])).toEqual([[200, 'resolved']]);
      expect((await t.http.get(`${BASE}/${ruleId}/`).set(t.headers())).body).toMatchObject({ state: 'ok', firing_since: null });
      const active = (await t.http.get(`${BASE}/active/`).set(t.headers())).body;
      expect(active.results.find((r: { id: number }) => r.id === ruleId)).toBeUndefined();
    });

    it('keeps the cooldown across a worker restart: a new spike within it fires silently', async () => {
      await t.stopWorker();
      await t.startWorker();
      await createTasks(3, { context_data: { fail_message: 'again' } }, 'failed'); // 6 of 10: 60 %
      const before = receiver.requests.length;
      const run = await evaluate({ ruleIds: [ruleId] });
      expect(run).toMatchObject({ fired: [], silenced: [ruleId], deliveries: [] });
      const now = (await t.http.get(`${BASE}/${ruleId}/`).set(t.headers())).body;
      expect(now).toMatchObject({ state: 'firing', last_value: 60, last_triggered_at: firedEvent.occurred_at });
      const active = (await t.http.get(`${BASE}/active/`).set(t.headers())).body;
      expect(active.results.find((r: { id: number }) => r.id === ruleId)).toMatchObject({ notified: false, event_id: null, fired_value: 60 });
      expect((await history(`rule=${ruleId}&kind=fired`)).count).toBe(1);
      expect(receiver.requests.length).toBe(before);
    });

    it('filters history by kind, rule and time, per brand', async () => {
      const all = await history(`rule=${ruleId}`);
      expect(all.results.map((e: { kind: string }) => e.kind)).toEqual(['resolved', 'test', 'fired']);
      expect((await history(`rule=${ruleId}&kind=test,resolved`)).count).toBe(2);
      expect((await history(`rule_id=${ruleId}&occurred_after=${new Date(Date.now() + 60_000).toISOString()}`)).count).toBe(0);
      expect((await history(`rule=${ruleId}&occurred_before=${firedEvent.occurred_at}`)).count).toBe(1);
      expect((await history('kind=paged')).error_code).toBe('VALIDATION_ERROR');
      const other = (await t.http.get(`${BASE}/history/?rule=${ruleId}`).set(t.headers(t.outsider, t.otherBrand.id))).body;
      expect(other.count).toBe(0);
    });

    it('notifies a breach the cooldown silenced once the cooldown is over, if it still goes on', async () => {
      // The cooldown ended (as if the last notification were an hour old) and the failure rate is still 60 %.
      await t.orm.em.fork().execute(`update alert_rules set last_triggered_at = last_triggered_at - interval '1 hour' where id = ?`, [ruleId]);
      const run = await evaluate({ ruleIds: [ruleId] });
      expect(run.fired).toHaveLength(1);
      expect((await history(`rule=${ruleId}&kind=fired`)).count).toBe(2);
      const active = (await t.http.get(`${BASE}/active/`).set(t.headers())).body;
      expect(active.results.find((r: { id: number }) => r.id === ruleId)).toMatchObject({ notified: true, event_id: run.fired[0] });
      // And once notified, the same breach does not fire again.
      expect((await evaluate({ ruleIds: [ruleId] })).fired).toEqual([]);
    });
  });

  describe('e-mail and Slack channels, and a refusal that retrying cannot fix', () => {
    it('test/ sends an e-mail over SMTP and a Slack message, each once', async () => {
      const created = await post(
        rule({
          name: 'Costly',
          metric_field: 'cost_usd',
          aggregation: 'sum',
          threshold: 10,
          channels: [
            { type: 'email', to: ['ops@example.com', 'oncall@example.com'], subject: 'Cost alert' },
            { type: 'slack', webhook_url: `${receiver.url}/slack/T000/B000/XXXX` },
          ],
        }),
      );
      expect(created.status).toBe(201);
      expect(created.body.channels).toEqual([
        { type: 'email', to: ['ops@example.com', 'oncall@example.com'], subject: 'Cost alert' },
        { type: 'slack', webhook_url: `${receiver.url}/…` },
      ]);
      const res = await t.http.post(`${BASE}/${created.body.id}/test/`).set(t.headers()).send({});
      expect(res.status).toBe(200);
      expect(res.body.outcome).toEqual([
        { channel_index: 0, channel: 'email', status: 'delivered' },
        { channel_index: 1, channel: 'slack', status: 'delivered' },
      ]);
      const key = `${res.body.event.delivery_workflow_id}:0`;
      const mail = await waitFor('the e-mail', () => smtp.messages.find((m) => m.includes(key)));
      expect(mail).toMatch(/^Subject: Cost alert$/m);
      expect(mail).toMatch(/^To: ops@example.com, oncall@example.com$/m);
      expect(mail).toContain('[TEST] Costly');
      expect(smtp.messages.filter((m) => m.includes(key))).toHaveLength(1);
      const slack = receiver.requests.filter((r) => r.path === '/slack/T000/B000/XXXX');
      expect(slack).toHaveLength(1);
      expect(JSON.parse(slack[0]!.body)).toEqual({ text: expect.stringMatching(/^\[TEST\] Costly/) });
      expect(res.body.event.deliveries.map((d: any) => [d.channel, d.status, d.target])).toEqual([
        ['email', 'delivered', 'ops@example.com, oncall@example.com'],
        ['slack', 'delivered', `${receiver.url}/…`],
      ]);
    });

    it('does not retry a webhook that answers 410: one failed attempt', async () => {
      const created = (await post(rule({ name: 'Gone', channels: [{ type: 'webhook', url: `${receiver.url}/gone` }] }))).body;
      const res = await t.http.post(`${BASE}/${created.id}/test/`).set(t.headers()).send({});
      expect(res.status).toBe(200);
      expect(res.body.outcome).toEqual([{ channel_index: 0, channel: 'webhook', status: 'failed', error: expect.stringMatching(/410/) }]);
      expect(res.body.event.deliveries).toEqual([expect.objectContaining({ attempt: 1, status: 'failed', response_status: 410 })]);
      const sent = receiver.requests.filter((r) => r.path === '/gone');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.headers['x-signature-sha256']).toBeUndefined(); // no secret, no signature
    });
  });
});
