import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser } from '../../db/repositories/identity.repository';
import type { DeliveryOutcome } from '../../workflows/contracts/alerts';
import type { EvaluateAlertsResult } from '../../workflows/system/evaluate-alerts';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';

const BASE = '/admin/alerts';
const BRAND_BASE = '/tasks/monitoring/alerts';
const SECRET = 'whsec-global-0123456789';

type Row = Record<string, any>;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A local HTTP endpoint for both sides of the test: the alert webhook and Slack URLs (`/global-hook`, `/slack/...`)
 * and the http_request tasks that make the failure rate (`/ok` answers 200, `/gone` 410, which fails the task at once).
 */
async function startReceiver(): Promise<{ url: string; requests: Received[]; close(): Promise<void> }> {
  const requests: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      res.statusCode = req.url === '/gone' ? 410 : 200;
      res.end(res.statusCode === 200 ? 'ok' : 'gone');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('platform-wide alert rules (/admin/alerts)', () => {
  let t: TestContext;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let admin: TestUser;
  let viewer: TestUser;
  let evaluations = 0;
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await createTestContext();
    const em = t.orm.em.fork();
    const mk = async (name: string, role: 'admin' | 'admin_viewer') => {
      const u = await ensureUser(em, `${name}-${unique}`, role);
      return { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    };
    admin = await mk('admin-alerts', 'admin');
    viewer = await mk('viewer-alerts', 'admin_viewer');
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const auth = (u: TestUser = admin) => ({ Authorization: `Bearer ${u.token}` });
  const post = (body: Row, u: TestUser = admin) => t.http.post(`${BASE}/`).set(auth(u)).send(body);
  const get = (path: string, u: TestUser = admin) => t.http.get(path).set(auth(u));
  /** Runs the evaluation workflow on the test worker's queue, as the system schedule does every minute. */
  const evaluate = (ruleIds: number[]) =>
    t.client.workflow.execute('evaluateAlertsWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: `evaluate-admin-alerts-test-${unique}-${evaluations++}`,
      args: [{ ruleIds }],
    }) as Promise<EvaluateAlertsResult>;
  const audit = (action: string, targetId: string) =>
    t.orm.em.fork().execute<{ action: string; brand_id: number | null; actor_id: number; actor_role: string; details: Row }[]>(
      `select action, brand_id, actor_id, actor_role, details from audit_log where action = ? and target_id = ? order by id`,
      [action, targetId],
    );
  const hook = (path: string) => receiver.requests.filter((r) => r.path === path);

  describe('access', () => {
    it('answers 403 to a plain member and 401 without a token on every /admin/alerts route', async () => {
      const routes: [string, string][] = [
        ['get', BASE],
        ['post', BASE],
        ['get', `${BASE}/active`],
        ['get', `${BASE}/history`],
        ['get', `${BASE}/1`],
        ['patch', `${BASE}/1`],
        ['delete', `${BASE}/1`],
        ['post', `${BASE}/1/test`],
      ];
      for (const [method, path] of routes) {
        const denied = await (t.http as any)[method](path).set(t.headers()).send({});
        expect([method, path, denied.status, denied.body.error_code]).toEqual([method, path, 403, 'PERMISSION_DENIED']);
        expect([method, path, (await (t.http as any)[method](path).send({})).status]).toEqual([method, path, 401]);
      }
    });

    it('lets admin_viewer read every route but change nothing', async () => {
      const created = await post({ name: `viewer target ${unique}`, threshold: 90, window_minutes: 5, cooldown_minutes: 5, channels: [] });
      expect(created.status).toBe(201);
      const id = created.body.id as number;
      for (const path of [BASE, `${BASE}/active`, `${BASE}/history`, `${BASE}/${id}`]) {
        expect([path, (await get(path, viewer)).status]).toEqual([path, 200]);
      }
      const writes = [
        t.http.post(`${BASE}/`).set(auth(viewer)).send({ name: 'nope', threshold: 10, window_minutes: 5, cooldown_minutes: 5, channels: [] }),
        t.http.patch(`${BASE}/${id}`).set(auth(viewer)).send({ threshold: 5 }),
        t.http.delete(`${BASE}/${id}`).set(auth(viewer)),
        t.http.post(`${BASE}/${id}/test`).set(auth(viewer)).send({}),
      ];
      for (const res of await Promise.all(writes)) {
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ error_code: 'PERMISSION_DENIED', detail: expect.stringMatching(/read-only/) });
      }
      expect((await get(`${BASE}/${id}`)).body).toMatchObject({ threshold: 90 });
    });
  });

  describe('definitions', () => {
    it('creates a failure-rate rule by default, without a brand, never shows its secret, and audits it as admin.alert_rule.create', async () => {
      const res = await post({
        name: `Platform failures ${unique}`,
        threshold: 25,
        window_minutes: 15,
        cooldown_minutes: 30,
        channels: [{ type: 'webhook', url: `${receiver.url}/global-hook`, secret: SECRET }],
      });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`${BASE}/${res.body.id}/`);
      expect(res.body).toMatchObject({
        brand: null,
        created_by: { id: admin.id, username: admin.username },
        metric_field: 'failure_rate_percent',
        aggregation: null,
        condition: 'gt',
        threshold: 25,
        window_minutes: 15,
        min_samples: 5,
        cooldown_minutes: 30,
        channels: [{ type: 'webhook', url: `${receiver.url}/global-hook`, has_secret: true }],
        is_active: true,
        state: 'ok',
      });
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
      expect((await get(`${BASE}/${res.body.id}/`)).body).toEqual(res.body);
      const [row] = await audit('admin.alert_rule.create', String(res.body.id));
      expect(row).toMatchObject({ brand_id: null, actor_id: admin.id, actor_role: 'admin', details: { metric_field: 'failure_rate_percent', threshold: 25 } });
      expect(JSON.stringify(row!.details)).not.toContain(SECRET);
      expect(await audit('alert_rule.create', String(res.body.id))).toEqual([]);

      const depth = await post({ name: `Platform backlog ${unique}`, metric_field: 'queue_depth', condition: 'gte', threshold: 1000, cooldown_minutes: 10, channels: [] });
      expect(depth.status).toBe(201);
      expect(depth.body).toMatchObject({ brand: null, metric_field: 'queue_depth', condition: 'gte', min_samples: 1 });
    });

    it('validates like the brand routes, and refuses a per-brand metric field with METRIC_FIELD_INVALID', async () => {
      const base = { name: 'invalid', threshold: 10, window_minutes: 5, cooldown_minutes: 5, channels: [] };
      const perBrand = await post({ ...base, metric_field: 'execution_time_ms' });
      expect(perBrand.status).toBe(400);
      expect(perBrand.body).toMatchObject({ error_code: 'METRIC_FIELD_INVALID', field_errors: { metric_field: [expect.stringMatching(/cannot be platform-wide/)] } });
      expect((await post({ ...base, metric_field: 'disk_gb' })).body.error_code).toBe('METRIC_FIELD_INVALID');
      const range = await post({ ...base, threshold: 150 });
      expect(range.status).toBe(400);
      expect(range.body).toMatchObject({ error_code: 'THRESHOLD_OUT_OF_RANGE', min: 0, max: 100 });
      const cases: [Row, string][] = [
        [{ ...base, window_minutes: 0 }, 'window_minutes'],
        [{ ...base, cooldown_minutes: -1 }, 'cooldown_minutes'],
        [{ ...base, condition: 'ne' }, 'condition'],
        [{ ...base, brand_id: 1 }, 'brand_id'],
        [{ ...base, channels: [{ type: 'webhook', url: 'ftp://127.0.0.1/x' }] }, 'channels.0.url'],
        [{ ...base, name: undefined }, 'name'],
      ];
      for (const [body, field] of cases) {
        const res = await post(body);
        expect({ field, status: res.status, code: res.body.error_code }).toEqual({ field, status: 400, code: 'VALIDATION_ERROR' });
        expect(Object.keys(res.body.field_errors)).toContain(field);
      }
    });

    it('patches (merged, validated whole) and deletes, audited as admin.alert_rule.*', async () => {
      const id = (await post({ name: `patch me ${unique}`, threshold: 30, window_minutes: 5, cooldown_minutes: 5, channels: [] })).body.id as number;
      const patched = await t.http.patch(`${BASE}/${id}/`).set(auth()).send({ threshold: 40, is_active: false });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id, brand: null, threshold: 40, is_active: false, metric_field: 'failure_rate_percent' });
      const toPerBrand = await t.http.patch(`${BASE}/${id}/`).set(auth()).send({ metric_field: 'cost_usd' });
      expect(toPerBrand.status).toBe(400);
      expect(toPerBrand.body.error_code).toBe('METRIC_FIELD_INVALID');
      expect((await t.http.patch(`${BASE}/${id}/`).set(auth()).send({ threshold: 101 })).body.error_code).toBe('THRESHOLD_OUT_OF_RANGE');
      const [update] = await audit('admin.alert_rule.update', String(id));
      expect(update).toMatchObject({ brand_id: null, details: { method: 'PATCH', changes: { threshold: 40, is_active: false } } });

      expect((await t.http.delete(`${BASE}/${id}/`).set(auth())).status).toBe(204);
      expect((await get(`${BASE}/${id}/`)).status).toBe(404);
      expect(await audit('admin.alert_rule.delete', String(id))).toHaveLength(1);
      expect((await get(`${BASE}/abc/`)).status).toBe(404);
    });

    it('keeps the two worlds apart: brand routes never see a platform-wide rule, admin routes never touch a brand rule', async () => {
      const global = (await post({ name: `apart ${unique}`, threshold: 30, window_minutes: 5, cooldown_minutes: 5, channels: [] })).body.id as number;
      const brandRule = (await t.http.post(`${BRAND_BASE}/`).set(t.headers()).send({ name: `brand ${unique}`, metric_field: 'failure_rate_percent', condition: 'gt', threshold: 30 }))
        .body.id as number;

      expect((await t.http.get(`${BRAND_BASE}/${global}/`).set(t.headers())).status).toBe(404);
      expect((await t.http.patch(`${BRAND_BASE}/${global}/`).set(t.headers()).send({ threshold: 1 })).status).toBe(404);
      expect((await t.http.put(`${BRAND_BASE}/${global}/`).set(t.headers()).send({ name: 'x', metric_field: 'failure_rate_percent', condition: 'gt', threshold: 1 })).status).toBe(404);
      expect((await t.http.post(`${BRAND_BASE}/${global}/test/`).set(t.headers()).send({})).status).toBe(404);
      expect((await t.http.delete(`${BRAND_BASE}/${global}/`).set(t.headers())).status).toBe(404);
      const brandList = (await t.http.get(`${BRAND_BASE}/?page_size=500`).set(t.headers())).body;
      expect(brandList.results.map((r: Row) => r.id)).toEqual(expect.arrayContaining([brandRule]));
      expect(brandList.results.map((r: Row) => r.id)).not.toContain(global);

      expect((await get(`${BASE}/${brandRule}/`)).status).toBe(404);
      expect((await t.http.patch(`${BASE}/${brandRule}/`).set(auth()).send({ threshold: 1 })).status).toBe(404);
      expect((await t.http.post(`${BASE}/${brandRule}/test/`).set(auth()).send({})).status).toBe(404);
      expect((await t.http.delete(`${BASE}/${brandRule}/`).set(auth())).status).toBe(404);
      const adminList = (await get(`${BASE}/?page_size=500`)).body;
      expect(adminList).toMatchObject({ count: expect.any(Number), previous: null });
      expect(adminList.results.map((r: Row) => r.id)).toContain(global);
      expect(adminList.results.map((r: Row) => r.id)).not.toContain(brandRule);
      expect(adminList.results.every((r: Row) => r.brand === null)).toBe(true);
      expect((await t.http.get(`${BRAND_BASE}/${brandRule}/`).set(t.headers())).body.threshold).toBe(30);
    });

    it('pages the list DRF-style', async () => {
      for (let i = 0; i < 3; i++) await post({ name: `paged-${unique}-${i}`, threshold: 50, window_minutes: 5, cooldown_minutes: 5, channels: [] });
      const page1 = (await get(`${BASE}/?search=paged-${unique}&ordering=name&page_size=2`)).body;
      expect(page1).toMatchObject({ count: 3, previous: null, results: [{ name: `paged-${unique}-0` }, { name: `paged-${unique}-1` }] });
      expect(page1.next).toMatch(/page=2/);
      const page2 = (await get(page1.next)).body;
      expect(page2).toMatchObject({ next: null, results: [{ name: `paged-${unique}-2` }] });
    });
  });

  describe('a failure-rate spike across two brands, notified once, silenced by the cooldown, resolved', () => {
    // Scoped to low-priority http_request tasks, which only this file creates: other test files share the database
    // and run at the same time, and a platform-wide rule would otherwise count their tasks too.
    const scope = { scope_task_type: 'http_request', scope_priority: 'low' };
    let ruleId: number;
    let brandRuleId: number;
    let fired: Row;

    /** http_request tasks in a brand (a member's headers), waited for until finished. */
    const runTasks = async (headers: Record<string, string>, n: number, outcome: 'completed' | 'failed') => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await t.http
          .post('/tasks/')
          .set(headers)
          .send({ task_type: 'http_request', priority: 'low', context_data: { url: `${receiver.url}/${outcome === 'failed' ? 'gone' : 'ok'}`, max_attempts: 1 } });
        expect(res.status).toBe(201);
        ids.push(res.body.id);
      }
      for (const id of ids) {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const task = (await t.http.get(`/tasks/${id}/`).set(headers)).body;
          if (task.status === outcome) break;
          if (Date.now() > deadline) throw new Error(`task ${id} did not reach ${outcome}: ${JSON.stringify(task)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const brandA = () => t.headers();
    const brandB = () => t.headers(t.outsider, t.otherBrand.id);
    const history = async (query: string) => (await get(`${BASE}/history/?${query}`)).body;

    it('fires once when failed tasks of two brands push the platform failure rate over the threshold, and delivers it signed', async () => {
      const created = await post({
        name: `Platform http failures ${unique}`,
        threshold: 50,
        window_minutes: 10,
        min_samples: 4,
        cooldown_minutes: 30,
        ...scope,
        channels: [{ type: 'webhook', url: `${receiver.url}/global-hook`, secret: SECRET }],
      });
      expect(created.status).toBe(201);
      ruleId = created.body.id;
      // The same definition in brand A: that brand alone never has enough samples to judge.
      brandRuleId = (
        await t.http
          .post(`${BRAND_BASE}/`)
          .set(brandA())
          .send({ name: `Brand A http failures ${unique}`, metric_field: 'failure_rate_percent', condition: 'gt', threshold: 50, window_minutes: 10, min_samples: 4, ...scope })
      ).body.id;

      expect((await evaluate([ruleId])).fired).toEqual([]);
      expect((await get(`${BASE}/${ruleId}/`)).body).toMatchObject({ state: 'ok', last_value: null, last_samples: 0 });

      // Brand A: 2 failed, 1 completed; brand B: 2 failed. Platform-wide 4 of 5 failed (80 %) over 5 samples.
      await Promise.all([runTasks(brandA(), 2, 'failed'), runTasks(brandA(), 1, 'completed'), runTasks(brandB(), 2, 'failed')]);

      const runs = [...(await Promise.all([evaluate([ruleId, brandRuleId]), evaluate([ruleId, brandRuleId])])), await evaluate([ruleId, brandRuleId])];
      expect(runs.flatMap((r) => r.fired)).toHaveLength(1);
      expect(runs.flatMap((r) => r.deliveries)).toHaveLength(1);
      expect((await get(`${BASE}/${ruleId}/`)).body).toMatchObject({ state: 'firing', last_value: 80, last_samples: 5, cooldown_until: expect.any(String) });
      // Brand A's rule measured only its own 3 tasks: below min_samples, no verdict.
      expect((await t.http.get(`${BRAND_BASE}/${brandRuleId}/`).set(brandA())).body).toMatchObject({ state: 'ok', last_value: null, last_samples: 3 });

      const firedPage = await history(`rule=${ruleId}&kind=fired`);
      expect(firedPage.count).toBe(1);
      fired = firedPage.results[0];
      expect(fired).toMatchObject({ kind: 'fired', brand: null, rule: { id: ruleId }, value: 80, threshold: 50, samples: 5 });
      const outcome = (await t.client.workflow.getHandle(fired.delivery_workflow_id).result()) as DeliveryOutcome[];
      expect(outcome).toEqual([{ channel_index: 0, channel: 'webhook', status: 'delivered' }]);

      const got = hook('/global-hook').filter((r) => JSON.parse(r.body).event_id === fired.id);
      expect(got).toHaveLength(1);
      expect(got[0]!.headers['idempotency-key']).toBe(`${fired.delivery_workflow_id}:0`);
      expect(got[0]!.headers['x-signature-sha256']).toBe(`sha256=${createHmac('sha256', SECRET).update(got[0]!.body).digest('hex')}`);
      const body = JSON.parse(got[0]!.body);
      expect(body).toMatchObject({
        kind: 'fired',
        value: 80,
        samples: 5,
        threshold: 50,
        brand: null,
        rule: { id: ruleId, metric_field: 'failure_rate_percent', condition: 'gt', scope_task_type: 'http_request', scope_priority: 'low' },
      });
      expect(body.text).toMatch(/^\[FIRING\] Platform http failures .*failure rate \(%\) = 80 .*5 samples; all brands, task type http_request, priority low$/);

      // The spike goes on: nothing new is recorded or sent.
      const again = await evaluate([ruleId]);
      expect(again).toMatchObject({ fired: [], deliveries: [] });
      expect((await history(`rule=${ruleId}&kind=fired`)).count).toBe(1);
      expect(hook('/global-hook')).toHaveLength(1);
    });

    it('lists it under /admin/alerts/active with brand null, and never under a brand’s active/ or history/', async () => {
      const active = (await get(`${BASE}/active/?page_size=500`)).body;
      expect(active.results.find((r: Row) => r.id === ruleId)).toEqual(
        expect.objectContaining({
          id: ruleId,
          name: `Platform http failures ${unique}`,
          brand: null,
          brand_id: null,
          metric_field: 'failure_rate_percent',
          value: 80,
          threshold: 50,
          state: 'firing',
          firing_since: fired.occurred_at,
          last_triggered_at: fired.occurred_at,
          notified: true,
        }),
      );
      for (const headers of [brandA(), brandB()]) {
        const brandActive = (await t.http.get(`${BRAND_BASE}/active/?page_size=500`).set(headers)).body;
        expect(brandActive.results.map((r: Row) => r.id)).not.toContain(ruleId);
        expect((await t.http.get(`${BRAND_BASE}/history/?rule=${ruleId}`).set(headers)).body.count).toBe(0);
      }
    });

    it('lists a brand’s firing rule under /admin/alerts/active too, with its brand', async () => {
      // Brand B's own rule on its queue depth, `>= 0`: a count is a value even at zero, so it fires at once.
      const id = (
        await t.http
          .post(`${BRAND_BASE}/`)
          .set(brandB())
          .send({ name: `Brand B backlog ${unique}`, metric_field: 'queue_depth', condition: 'gte', threshold: 0 })
      ).body.id as number;
      await evaluate([id]);
      expect((await t.http.get(`${BRAND_BASE}/${id}/`).set(brandB())).body.state).toBe('firing');
      const mine = (await get(`${BASE}/active/?page_size=500`)).body.results.find((r: Row) => r.id === id);
      expect(mine).toMatchObject({ brand: { id: t.otherBrand.id, name: t.otherBrand.name }, brand_id: t.otherBrand.id, metric_field: 'queue_depth', state: 'firing' });
      const events = await history(`brand_id=${t.otherBrand.id}&rule=${id}`);
      expect(events).toMatchObject({ count: 1, results: [{ kind: 'fired', brand: { id: t.otherBrand.id } }] });
      expect((await history(`brand_id=global&rule=${id}`)).count).toBe(0);
      expect((await t.http.patch(`${BRAND_BASE}/${id}/`).set(brandB()).send({ is_active: false })).status).toBe(200);
      expect((await get(`${BASE}/active/?page_size=500`)).body.results.map((r: Row) => r.id)).not.toContain(id);
    });

    it('resolves once successes bring the platform rate down, and delivers the resolution', async () => {
      await runTasks(brandB(), 3, 'completed'); // 4 of 8 failed: 50 %, not above 50
      const run = await evaluate([ruleId]);
      expect(run.resolved).toHaveLength(1);
      const resolved = (await history(`rule=${ruleId}&kind=resolved`)).results[0];
      expect(resolved).toMatchObject({ kind: 'resolved', brand: null, value: 50, samples: 8 });
      await t.client.workflow.getHandle(resolved.delivery_workflow_id).result();
      const sent = hook('/global-hook').filter((r) => JSON.parse(r.body).event_id === resolved.id);
      expect(sent.map((r) => JSON.parse(r.body))).toEqual([expect.objectContaining({ kind: 'resolved', brand: null, firing_since: fired.occurred_at })]);
      expect((await get(`${BASE}/${ruleId}/`)).body).toMatchObject({ state: 'ok', firing_since: null });
      expect((await get(`${BASE}/active/?page_size=500`)).body.results.map((r: Row) => r.id)).not.toContain(ruleId);
    });

    it('stays silent for a new spike within the cooldown, then resolves silently', async () => {
      const before = hook('/global-hook').length;
      await Promise.all([runTasks(brandA(), 2, 'failed'), runTasks(brandB(), 2, 'failed')]); // 8 of 12: 66.7 %
      const run = await evaluate([ruleId]);
      expect(run).toMatchObject({ fired: [], silenced: [ruleId], deliveries: [] });
      const now = (await get(`${BASE}/${ruleId}/`)).body;
      expect(now).toMatchObject({ state: 'firing', last_triggered_at: fired.occurred_at, last_samples: 12 });
      expect(now.last_value).toBeCloseTo(800 / 12, 5);
      expect((await get(`${BASE}/active/?page_size=500`)).body.results.find((r: Row) => r.id === ruleId)).toMatchObject({ notified: false, event_id: null });

      await runTasks(brandA(), 5, 'completed'); // 8 of 17: 47 %
      const calm = await evaluate([ruleId]);
      expect(calm).toMatchObject({ fired: [], resolved: [], deliveries: [] });
      expect((await get(`${BASE}/${ruleId}/`)).body.state).toBe('ok');
      expect(hook('/global-hook')).toHaveLength(before);
      const all = await history(`rule=${ruleId}`);
      expect(all.results.map((e: Row) => e.kind)).toEqual(['resolved', 'fired']);
    });

    it('test/ sends a test payload to the webhook and Slack through the real delivery path, refused during the cooldown unless forced', async () => {
      const patched = await t.http
        .patch(`${BASE}/${ruleId}/`)
        .set(auth())
        .send({ channels: [{ type: 'webhook', url: `${receiver.url}/global-hook`, secret: SECRET }, { type: 'slack', webhook_url: `${receiver.url}/slack/T0/B0/X` }] });
      expect(patched.status).toBe(200);
      const refused = await t.http.post(`${BASE}/${ruleId}/test/`).set(auth()).send({});
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error_code: 'ALERT_COOLDOWN_ACTIVE', last_triggered_at: fired.occurred_at });

      const res = await t.http.post(`${BASE}/${ruleId}/test/`).set(auth()).send({ force: true });
      expect(res.status).toBe(200);
      expect(res.body.outcome).toEqual([
        { channel_index: 0, channel: 'webhook', status: 'delivered' },
        { channel_index: 1, channel: 'slack', status: 'delivered' },
      ]);
      expect(res.body.event).toMatchObject({ kind: 'test', brand: null, rule: { id: ruleId } });
      const webhook = hook('/global-hook').filter((r) => JSON.parse(r.body).event_id === res.body.event.id);
      expect(webhook).toHaveLength(1);
      expect(JSON.parse(webhook[0]!.body)).toMatchObject({ kind: 'test', brand: null, title: `[TEST] Platform http failures ${unique}` });
      const slack = hook('/slack/T0/B0/X');
      expect(slack).toHaveLength(1);
      expect(JSON.parse(slack[0]!.body)).toEqual({ text: expect.stringMatching(/^\[TEST\] Platform http failures .*all brands/) });
      expect(await audit('admin.alert_rule.test', String(ruleId))).toEqual([expect.objectContaining({ brand_id: null, details: expect.objectContaining({ forced: true }) })]);
    });

    it('history lists every rule’s events newest first, filtered by brand or platform-wide', async () => {
      const global = await history(`brand_id=global&rule=${ruleId}`);
      expect(global.results.map((e: Row) => e.kind)).toEqual(['test', 'resolved', 'fired']);
      expect(global.results.every((e: Row) => e.brand === null)).toBe(true);
      const everything = await history('page_size=500');
      const times = everything.results.map((e: Row) => e.occurred_at);
      expect([...times].sort().reverse()).toEqual(times);
      expect(everything.results.some((e: Row) => e.brand === null)).toBe(true);
      expect(everything.results.some((e: Row) => e.brand?.id === t.otherBrand.id)).toBe(true);
      const paged = await history(`brand_id=global&rule=${ruleId}&page_size=2`);
      expect(paged).toMatchObject({ count: 3, previous: null });
      expect(paged.next).toMatch(/page=2/);
      expect((await history('brand_id=nope')).error_code).toBe('VALIDATION_ERROR');
      expect((await history(`brand_id=${t.brand.id}&rule=${ruleId}`)).count).toBe(0);
    });
  });
});
