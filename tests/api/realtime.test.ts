import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createDashboardSource } from '../../api/realtime/dashboard-source';
import { attachRealtime, type Realtime } from '../../api/realtime/ws-server';
import { v1DashboardResponse } from '../../api/schemas/v1-analytics.schemas';
import { ApiKeyService } from '../../api/services/api-key.service';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { silenceTaskEvents } from '../../db/repositories/task-events.repository';
import { upsertTaskTransition } from '../../db/repositories/task-mirror.repository';
import { mirrorSeq, runOf } from '../../workflows/contracts/task-workflow';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

/** Seed 003's dashboard fields, which every /ws/metrics snapshot carries. */
const DASHBOARD_FIELDS = ['total_tasks', 'completed_tasks', 'failed_tasks', 'pending_tasks', 'completion_rate', 'average_duration', 'workers_active', 'workers_total'];

interface Message {
  type: string;
  data: Record<string, any>;
  timestamp: string;
}

describe('WebSockets /ws/tasks and /ws/metrics', () => {
  let t: TestContext;
  let server: Server;
  let realtime: Realtime;
  let port: number;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    t = await createTestContext({
      // The default heartbeat (30 s) leaves the slow consumer to the buffer limit; the heartbeat test has its own server.
      config: { WS_METRICS_INTERVAL_MS: 300, WS_MAX_BUFFERED_BYTES: 64 * 1024, WS_MAX_CONNECTIONS_PER_USER: 3 },
    });
    server = createServer(t.app.callback());
    realtime = await attachRealtime(server, {
      orm: t.orm,
      config: t.config,
      // The reconnection test makes the event source log its lost connection on purpose.
      logger: { error: (obj, msg) => (msg.startsWith('task events:') ? undefined : console.error(msg, obj)) },
      dashboard: createDashboardSource({ orm: t.orm, temporal: t.client, config: t.config }),
    });
    // No host: dual-stack, so the seed's `localhost` works whether it resolves to ::1 or 127.0.0.1.
    server.listen(0);
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map(closeSocket));
  });
  afterAll(async () => {
    await realtime.close();
    server.close();
    await t.close();
  });

  const url = (path: string) => `ws://localhost:${port}${path}`;

  function open(path: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; messages: Message[] }> {
    const ws = new WebSocket(url(path), { ...options, headers });
    sockets.push(ws);
    const messages: Message[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, messages }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The HTTP answer to an upgrade the server refuses (it never becomes a WebSocket). */
  function refused(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: any }> {
    const ws = new WebSocket(url(path), { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('upgrade accepted'));
      });
      ws.once('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: body ? JSON.parse(body) : null }));
      });
    });
  }

  async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const statusesOf = (messages: Message[], taskId: string) =>
    messages.filter((m) => m.type === 'task.status' && m.data.task_id === taskId).map((m) => m.data.status as string);

  it("the seed's JavaScript client receives the running and completed events of a task it created, in order", async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // Seed 003 "ws://localhost:5000/ws/tasks", verbatim but for the URL and the token (and a cast for TypeScript).
      const ws = new WebSocket(`ws://localhost:${port}/ws/tasks`, {
        headers: {
          Authorization: `Bearer ${t.user.token}`,
        },
      });

      ws.onmessage = (event) => {
        const update = JSON.parse(event.data as string);
        console.log('Task update:', update);
      };
      sockets.push(ws);
      await once(ws, 'open');

      // Created as the seed's "Create and Monitor Task" example creates it.
      const created = await t.http.post('/api/v1/tasks').set({ Authorization: `Bearer ${t.user.token}` }).send({ name: 'Data Processing', priority: 'high' });
      expect(created.status).toBe(201);
      const taskId: string = created.body.data.id;
      const updates = () => log.mock.calls.filter((c) => c[0] === 'Task update:').map((c) => c[1] as Message);
      await until(() => statusesOf(updates(), taskId).includes('completed'), 'the completed event');

      // The API's pending row and the workflow's running write race; running and completed always follow, in order.
      const statuses = statusesOf(updates(), taskId);
      expect(statuses.filter((s) => s !== 'pending')).toEqual(['running', 'completed']);
      const completed = updates().find((u) => u.data.id === taskId && u.data.status === 'completed')!;
      expect(completed).toEqual({
        type: 'task.status',
        data: {
          id: taskId,
          task_id: taskId,
          name: 'Data Processing',
          type: created.body.data.type,
          brand_id: t.brand.id,
          status: 'completed',
          previous_status: 'running',
          progress: 100,
          seq: expect.any(Number),
          changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
        },
        timestamp: expect.any(String),
      });
    } finally {
      log.mockRestore();
    }
  });

  it("never delivers another brand's events; ?task_id= narrows to one task", async () => {
    const member = await open('/ws/tasks', { Authorization: `Bearer ${t.user.token}` });
    const outsider = await open('/ws/tasks', { Authorization: `Bearer ${t.outsider.token}` });

    // `ours` runs long enough for the narrowed sockets, opened once its id is known, to see it complete.
    const ours = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 1500 } });
    const theirs = await t.http.post('/tasks/').set(t.headers(t.outsider, t.otherBrand.id)).send({ task_type: 'noop' });
    const only = await open(`/ws/tasks?task_id=${ours.body.task_id}`, { Authorization: `Bearer ${t.user.token}` });
    const onlyById = await open(`/ws/tasks?task_id=${ours.body.id}`, { Authorization: `Bearer ${t.user.token}` });
    const another = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop' });

    await until(() => statusesOf(outsider.messages, theirs.body.task_id).includes('completed'), "the outsider's task");
    await until(() => statusesOf(member.messages, another.body.task_id).includes('completed'), 'the second task');
    await until(() => statusesOf(only.messages, ours.body.task_id).includes('completed'), 'the narrowed stream');
    await until(() => statusesOf(onlyById.messages, ours.body.task_id).includes('completed'), 'the stream narrowed by id');
    expect(member.messages.every((m) => m.data.brand_id === t.brand.id)).toBe(true);
    expect(outsider.messages.every((m) => m.data.brand_id === t.otherBrand.id)).toBe(true);
    expect(statusesOf(member.messages, ours.body.task_id).filter((s) => s !== 'pending')).toEqual(['running', 'completed']);
    expect(statusesOf(member.messages, theirs.body.task_id)).toEqual([]);
    expect(statusesOf(outsider.messages, ours.body.task_id)).toEqual([]);
    // Only status changes: the progress the heartbeating activity wrote in between is not announced on its own.
    expect(member.messages.every((m) => m.type === 'task.status')).toBe(true);
    for (const narrowed of [only, onlyById]) {
      expect(narrowed.messages.every((m) => m.data.task_id === ours.body.task_id)).toBe(true);
      expect(statusesOf(narrowed.messages, ours.body.task_id)).toContain('completed');
    }

    // A member may not narrow to a brand that is not theirs.
    const foreign = await refused(`/ws/tasks?brand_id=${t.otherBrand.id}`, { Authorization: `Bearer ${t.user.token}` });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ status: 'error', error: { code: 'FORBIDDEN' } });
  });

  it('announces nothing for a write the seq guard refuses, one that keeps the status, or a silenced bulk load', async () => {
    const em = t.orm.em.fork();
    const scope = { brandId: t.brand.id, userId: t.user.id };
    const watcher = await open('/ws/tasks', { Authorization: `Bearer ${t.user.token}` });
    const [input] = await insertMirrorRows(em, scope, [{ status: 'completed' }]);
    await until(() => statusesOf(watcher.messages, input!.taskId).includes('completed'), 'the insert event');
    // A late `running` after `completed`: refused by the seq guard.
    expect(await upsertTaskTransition(em, { input: input!, seq: mirrorSeq(runOf(input!), 'running'), status: 'running' })).toBe(false);
    // A newer write of the same status: lands, but nothing a subscriber sees has changed.
    expect(await upsertTaskTransition(em, { input: input!, seq: mirrorSeq(runOf(input!), 'finished') + 1, status: 'completed' })).toBe(true);
    // A bulk load that silenced the triggers for its transaction.
    const silenced = await em.transactional(async (tx) => {
      await silenceTaskEvents(tx);
      return insertMirrorRows(tx, scope, [{ status: 'completed' }, { status: 'failed' }]);
    });
    // Then a real change, whose event arrives after anything the writes above would have announced (NOTIFY keeps commit order).
    const [marker] = await insertMirrorRows(em, scope, [{ status: 'pending' }]);
    await until(() => statusesOf(watcher.messages, marker!.taskId).includes('pending'), 'the marker event');
    expect(statusesOf(watcher.messages, input!.taskId)).toEqual(['completed']);
    for (const row of silenced) expect(statusesOf(watcher.messages, row.taskId)).toEqual([]);
  });

  it('listens again after losing its PostgreSQL connection, telling subscribers about the gap', async () => {
    const watcher = await open('/ws/tasks', { Authorization: `Bearer ${t.user.token}` });
    const reconnects = realtime.stats().events.reconnects;
    // What a PostgreSQL restart does to the LISTEN session (only this test database's, not other test runs').
    await t.orm.em.fork().execute(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'durable-tasks-api task events' and datname = current_database()`,
    );
    await until(() => realtime.stats().events.reconnects > reconnects, 'the LISTEN connection to come back', 15_000);
    const gap = await until(() => watcher.messages.find((m) => m.type === 'stream.gap'), 'the gap notice');
    expect(Date.parse(gap.data.until)).toBeGreaterThanOrEqual(Date.parse(gap.data.since));
    const [row] = await insertMirrorRows(t.orm.em.fork(), { brandId: t.brand.id, userId: t.user.id }, [{ status: 'pending' }]);
    await until(() => statusesOf(watcher.messages, row!.taskId).includes('pending'), 'an event after the reconnection');
  });

  it('refuses a missing or bad token with 401 before the upgrade; ?token= (browsers) and X-API-Key are accepted', async () => {
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer not-a-jwt' }, { Authorization: `Bearer ${t.user.token}x` }];
    for (const headers of attempts) {
      for (const path of ['/ws/tasks', '/ws/metrics']) {
        const r = await refused(path, headers);
        expect(r.status).toBe(401);
        expect(r.body).toMatchObject({ status: 'error', error: { code: 'UNAUTHORIZED', message: expect.any(String) }, timestamp: expect.any(String) });
      }
    }
    expect((await refused('/ws/tasks?token=not-a-jwt')).status).toBe(401);
    expect((await refused('/ws/elsewhere', { Authorization: `Bearer ${t.user.token}` })).status).toBe(404);
    expect((await refused('/ws/tasks?colour=blue', { Authorization: `Bearer ${t.user.token}` })).status).toBe(400);

    await open(`/ws/tasks?token=${encodeURIComponent(t.user.token)}`);

    const keys = new ApiKeyService({ orm: t.orm });
    const creator = { id: t.user.id, username: t.user.username, role: 'user' as const, isAdmin: false, brandIds: [t.brand.id], requestId: null, ip: null };
    const { key } = await keys.create(creator, { name: 'ws test', brandId: t.brand.id, role: 'user', expiresInDays: null });
    const viaKey = await open('/ws/tasks', { 'X-API-Key': key });
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop' });
    await until(() => statusesOf(viaKey.messages, res.body.task_id).includes('completed'), 'the event through an API key');
    expect((await refused(`/ws/tasks?brand_id=${t.otherBrand.id}`, { 'X-API-Key': key })).status).toBe(403);
  });

  it("sends metrics snapshots of the caller's brand in the shape of GET /api/v1/analytics/dashboard, at once and then periodically", async () => {
    const { messages } = await open('/ws/metrics', { Authorization: `Bearer ${t.user.token}` });
    await until(() => messages.length >= 2, 'two snapshots');
    const http = await t.http.get('/api/v1/analytics/dashboard').set({ Authorization: `Bearer ${t.user.token}` });
    expect(http.status).toBe(200);
    for (const m of messages) {
      expect(m.type).toBe('metrics.snapshot');
      const { brand_id: brandId, ...figures } = m.data;
      expect(brandId).toBe(t.brand.id);
      expect(Object.keys(figures).sort()).toEqual([...DASHBOARD_FIELDS].sort());
      expect(Object.keys(http.body.data).sort()).toEqual([...DASHBOARD_FIELDS].sort());
      v1DashboardResponse.parse(figures);
    }
    expect(messages[0]!.data.completed_tasks).toBeGreaterThan(0);
    expect(messages[0]!.data.workers_active).toBeGreaterThan(0);
  });

  it('caps open sockets per user (429 before the upgrade) and frees a slot when one closes', async () => {
    const auth = { Authorization: `Bearer ${t.user.token}` };
    const first = await open('/ws/tasks', auth);
    await open('/ws/metrics', auth);
    await open('/ws/tasks', auth);
    const over = await refused('/ws/tasks', auth);
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect(over.body).toMatchObject({ status: 'error', error: { code: 'RATE_LIMITED', details: { max_connections: 3 } } });
    // Another user is not affected.
    await open('/ws/tasks', { Authorization: `Bearer ${t.outsider.token}` });

    await closeSocket(first.ws);
    await until(() => realtime.stats().connections.tasks === 2, 'the closed socket to leave');
    await open('/ws/tasks', auth);
  });

  it('drops a slow consumer (a client that stops reading) instead of buffering for it, and frees what it held', async () => {
    const before = realtime.stats();
    const slow = await rawUpgrade(port, '/ws/tasks', t.outsider.token);
    slow.pause();
    await until(() => realtime.stats().connections.tasks === before.connections.tasks + 1, 'the slow socket to register');

    // Each batch is a few thousand events of the outsider's brand in one statement; kernel buffers absorb some MB first.
    const em = t.orm.em.fork();
    let batches = 0;
    while (realtime.stats().dropped_slow_consumers === before.dropped_slow_consumers) {
      if (++batches > 40) throw new Error('the slow consumer was never dropped');
      await em.execute(
        `insert into tasks (task_id, brand_id, created_by_id, task_type, status, priority, priority_level, context_data, created_at, updated_at, seq)
         select 'slow_' || ? || '_' || g, ?, ?, 'noop', 'completed', 'low', 1, '{}'::jsonb, now(), now(), 1 from generate_series(1, 4000) g`,
        [`${batches}_${randomBytes(4).toString('hex')}`, t.otherBrand.id, t.outsider.id],
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = realtime.stats();
    expect(after.connections.tasks).toBe(before.connections.tasks);
    expect(after.buffered_bytes).toBe(0);
    const prom = await t.http.get('/metrics');
    expect(prom.text).toMatch(/^ws_closed_by_server_total\{reason="slow_consumer"\} [1-9]/m);

    // The client, reading again, finds its connection closed after the messages it had already received.
    slow.resume();
    await once(slow, 'close');
  });

  /** A second server on the same app with a fast heartbeat, so heartbeat-driven behaviour shows within a test. */
  async function fastHeartbeatServer(): Promise<{ url: string; realtime: Realtime; close: () => Promise<void> }> {
    const fastServer = createServer(t.app.callback());
    const fast = await attachRealtime(fastServer, {
      orm: t.orm,
      config: { ...t.config, WS_HEARTBEAT_INTERVAL_MS: 200 },
      logger: { error: (obj, msg) => console.error(msg, obj) },
      dashboard: createDashboardSource({ orm: t.orm, temporal: t.client, config: t.config }),
    });
    fastServer.listen(0);
    await once(fastServer, 'listening');
    return {
      url: `ws://localhost:${(fastServer.address() as AddressInfo).port}`,
      realtime: fast,
      close: async () => {
        await fast.close();
        fastServer.close();
      },
    };
  }

  it('destroys a peer that stops answering pings', async () => {
    const fast = await fastHeartbeatServer();
    try {
      const auth = { Authorization: `Bearer ${t.outsider.token}` };
      const alive = new WebSocket(`${fast.url}/ws/tasks`, { headers: auth });
      // A peer that vanished answers no ping; this client is told not to.
      const dead = new WebSocket(`${fast.url}/ws/tasks`, { headers: auth, autoPong: false });
      sockets.push(alive, dead);
      await Promise.all([once(alive, 'open'), once(dead, 'open')]);
      await until(() => fast.realtime.stats().reaped_dead_sockets === 1, 'the dead socket to be reaped', 10_000);
      await until(() => dead.readyState === WebSocket.CLOSED, 'the client to see the close', 10_000);
      // Several heartbeats later the socket that answers is still there.
      await new Promise((r) => setTimeout(r, 600));
      expect(alive.readyState).toBe(WebSocket.OPEN);
      expect(fast.realtime.stats()).toMatchObject({ reaped_dead_sockets: 1, connections: { tasks: 1 } });
    } finally {
      await fast.close();
    }
  });

  it('closes an open socket (1008) once its token expires or its user loses the brand', async () => {
    const fast = await fastHeartbeatServer();
    try {
      const em = t.orm.em.fork();
      const leaver = await ensureUser(em, `leaver-${Date.now()}`);
      await grantMembership(em, leaver.id, t.brand.id);
      const shortLived = new WebSocket(`${fast.url}/ws/tasks`, { headers: { Authorization: `Bearer ${signAccessToken(t.config, t.user, 2)}` } });
      const member = new WebSocket(`${fast.url}/ws/tasks`, { headers: { Authorization: `Bearer ${signAccessToken(t.config, leaver, 3600)}` } });
      const steady = new WebSocket(`${fast.url}/ws/metrics`, { headers: { Authorization: `Bearer ${t.user.token}` } });
      sockets.push(shortLived, member, steady);
      await Promise.all([once(shortLived, 'open'), once(member, 'open'), once(steady, 'open')]);
      await em.execute(`delete from brand_memberships where user_id = ?`, [leaver.id]);

      const [expiredCode, expiredReason] = (await once(shortLived, 'close')) as [number, Buffer];
      expect([expiredCode, String(expiredReason)]).toEqual([1008, 'Credentials expired or revoked']);
      // The membership is re-read within the identity cache's 5 s.
      const [leftCode, leftReason] = (await once(member, 'close')) as [number, Buffer];
      expect([leftCode, String(leftReason)]).toEqual([1008, 'Access changed: reconnect']);
      expect(steady.readyState).toBe(WebSocket.OPEN);
    } finally {
      await fast.close();
    }
  });
});

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.once('error', () => undefined);
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close();
  });
}

/** A WebSocket handshake by hand on a raw socket, which the test can then stop reading (pause) like a stuck client. */
async function rawUpgrade(port: number, path: string, token: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${token}`,
      '',
      '',
    ].join('\r\n'),
  );
  let head = '';
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head += chunk.toString('latin1');
  }
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
  return socket;
}
