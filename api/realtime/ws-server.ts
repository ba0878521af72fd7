import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MikroORM } from '@mikro-orm/postgresql';
import { WebSocket, WebSocketServer } from 'ws';
import { listBrands } from '../../db/repositories/identity.repository';
import type { AppConfig } from '../config';
import type { Logger } from '../middleware/error-handler';
import { ApiKeyService } from '../services/api-key.service';
import { IdentityService } from '../services/identity.service';
import { MetricsFeed, type DashboardSource } from './metrics-feed';
import { wsClosedByServer, wsConnections, wsRefusedUpgrades, wsTaskEventLag } from './realtime-metrics';
import { TaskEventSource, type EventGap, type TaskEvent } from './task-events';
import { ConnectionSlots, createUpgradeGate, endpointOf, refusalResponse, type Admission } from './upgrade-gate';

export interface RealtimeDeps {
  orm: MikroORM;
  config: AppConfig;
  logger: Logger;
  /** The service behind `GET /api/v1/analytics/dashboard`, one brand at a time. */
  dashboard: DashboardSource;
}

export interface RealtimeStats {
  connections: { tasks: number; metrics: number };
  /** Bytes queued for all sockets (each is bounded by WS_MAX_BUFFERED_BYTES). */
  buffered_bytes: number;
  dropped_slow_consumers: number;
  reaped_dead_sockets: number;
  refused_upgrades: number;
  events: TaskEventSource['stats'] & { listening: boolean };
  metrics: MetricsFeed['stats'];
}

export interface Realtime {
  stats(): RealtimeStats;
  /** Closes every socket (1001), stops the LISTEN connection and the metrics timer. */
  close(): Promise<void>;
}

interface Connection {
  ws: WebSocket;
  /** The upgrade request, kept to check its credentials again while the socket is open. */
  req: IncomingMessage;
  admission: Admission;
  alive: boolean;
  unsubscribe: () => void;
}

/** Close codes: 1013 "try again later" tells a dropped slow consumer it may reconnect (and refetch). */
const CLOSE_SLOW_CONSUMER = 1013;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY_VIOLATION = 1008;
/** Credential rechecks in flight at once (most are cache hits; a miss is one query per user). */
const RECHECK_CONCURRENCY = 32;

/**
 * `/ws/tasks` and `/ws/metrics` on the API's HTTP server. Upgrades are authenticated before the handshake (refusals
 * are plain HTTP answers), every socket receives JSON text messages `{type, data, timestamp}` and never needs to send
 * anything. Memory per socket is bounded: a socket whose unsent bytes exceed WS_MAX_BUFFERED_BYTES is closed (1013)
 * and destroyed rather than buffered for; dead peers are found by ping/pong and destroyed.
 */
export async function attachRealtime(server: Server, deps: RealtimeDeps): Promise<Realtime> {
  const { config, logger, orm } = deps;
  const identity = new IdentityService(orm);
  const slots = new ConnectionSlots(config.WS_MAX_CONNECTIONS_PER_USER);
  const gate = createUpgradeGate({ config, identity, apiKeys: new ApiKeyService({ orm }), logger, slots });
  // Clients send nothing: a small payload limit keeps a misbehaving client from making the server buffer its frames.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false, clientTracking: false });
  const connections = new Set<Connection>();
  const counters = { dropped_slow_consumers: 0, reaped_dead_sockets: 0, refused_upgrades: 0 };

  // ---- /ws/tasks: one LISTEN connection, subscribers indexed by brand ----
  const byBrand = new Map<number, Set<Connection>>();
  const allBrands = new Set<Connection>();
  const events = new TaskEventSource({ databaseUrl: config.DATABASE_URL, logger });
  events.subscribe({
    event(e: TaskEvent) {
      const changedAt = parseMicros(e.changed_at);
      if (Number.isFinite(changedAt)) wsTaskEventLag.observe(Math.max(0, Date.now() - changedAt) / 1000);
      const watchers = byBrand.get(e.brand_id);
      if (!watchers?.size && !allBrands.size) return;
      const message = encode('task.status', eventData(e));
      if (watchers) for (const c of watchers) if (matchesTask(c.admission, e)) send(c, message);
      for (const c of allBrands) if (matchesTask(c.admission, e)) send(c, message);
    },
    gap(g: EventGap) {
      const message = encode('stream.gap', { ...g, reason: 'The event source reconnected; task changes in this interval were not delivered' });
      for (const c of connections) if (c.admission.endpoint === 'tasks') send(c, message);
    },
  });
  await events.start();

  // ---- /ws/metrics ----
  const feed = new MetricsFeed({
    intervalMs: config.WS_METRICS_INTERVAL_MS,
    source: deps.dashboard,
    allBrands: async () => (await listBrands(orm.em.fork())).map((b) => b.id),
    logger,
  });
  feed.start();

  function send(c: Connection, message: Buffer): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount + message.length > config.WS_MAX_BUFFERED_BYTES) {
      counters.dropped_slow_consumers++;
      wsClosedByServer.inc({ reason: 'slow_consumer' });
      logger.info?.({ principal: c.admission.principalKey, buffered: c.ws.bufferedAmount }, 'websocket: slow consumer dropped');
      c.ws.close(CLOSE_SLOW_CONSUMER, 'Slow consumer: too many unsent messages');
      // Destroy now: its queued bytes are exactly what must not be kept, and the close frame would sit behind them.
      c.ws.terminate();
      return;
    }
    c.ws.send(message, { binary: false });
  }

  function register(ws: WebSocket, req: IncomingMessage, admission: Admission): void {
    const c: Connection = { ws, req, admission, alive: true, unsubscribe: () => undefined };
    connections.add(c);
    wsConnections.inc({ endpoint: admission.endpoint });
    if (admission.endpoint === 'tasks') {
      if (admission.brands === 'all') allBrands.add(c);
      else for (const b of admission.brands) (byBrand.get(b) ?? byBrand.set(b, new Set()).get(b)!).add(c);
      c.unsubscribe = () => {
        allBrands.delete(c);
        if (admission.brands !== 'all') {
          for (const b of admission.brands) {
            const set = byBrand.get(b);
            set?.delete(c);
            if (set?.size === 0) byBrand.delete(b);
          }
        }
      };
    } else {
      c.unsubscribe = feed.subscribe({ brands: admission.brands, send: (m) => send(c, Buffer.from(m)) });
    }
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      wsConnections.dec({ endpoint: admission.endpoint });
      connections.delete(c);
      c.unsubscribe();
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until the handshake, errors on the raw socket (a client hanging up mid-auth) must not crash the process.
    socket.on('error', () => socket.destroy());
    const endpoint = endpointOf(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (!endpoint) {
      counters.refused_upgrades++;
      wsRefusedUpgrades.inc({ status: '404' });
      const body = JSON.stringify({ detail: 'No WebSocket endpoint here', error_code: 'NOT_FOUND' });
      socket.end(refusalResponse({ status: 404, headers: { 'content-type': 'application/json; charset=utf-8' }, body }));
      return;
    }
    gate(req, endpoint)
      .then((result) => {
        if ('refusal' in result) {
          counters.refused_upgrades++;
          wsRefusedUpgrades.inc({ status: String(result.refusal.status) });
          socket.end(refusalResponse(result.refusal));
          return;
        }
        const { admission } = result;
        // One release whatever happens next: the handshake fails (ws answers 400 and destroys the socket) or the connection ends.
        socket.once('close', admission.release);
        if (socket.destroyed) return admission.release();
        wss.handleUpgrade(req, socket, head, (ws) => register(ws, req, admission));
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'websocket: upgrade failed');
        socket.destroy();
      });
  }
  server.on('upgrade', onUpgrade);

  /**
   * A socket outlives the checks made at its upgrade: its token expires, its API key is revoked, its user deactivated
   * or removed from a brand. Each heartbeat runs the same checks again; a refusal closes the socket (1008), and so does
   * a changed scope (the client reconnects and gets the new one). An unavailable database closes nothing.
   */
  async function recheck(c: Connection): Promise<void> {
    const result = await gate(c.req, c.admission.endpoint, 'recheck').catch(() => null);
    if (!result || c.ws.readyState !== WebSocket.OPEN) return;
    const refused = 'refusal' in result && (result.refusal.status === 401 || result.refusal.status === 403);
    const rescoped = 'admission' in result && !sameBrands(result.admission.brands, c.admission.brands);
    if (refused || rescoped) {
      wsClosedByServer.inc({ reason: 'credentials' });
      c.ws.close(CLOSE_POLICY_VIOLATION, refused ? 'Credentials expired or revoked' : 'Access changed: reconnect');
      setTimeout(() => c.ws.terminate(), 1000).unref();
    }
  }

  // Peers that vanished without a FIN (laptop lid, NAT timeout) answer no ping: destroy them on the next round.
  let rechecking = false;
  const heartbeat = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        counters.reaped_dead_sockets++;
        wsClosedByServer.inc({ reason: 'dead_peer' });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
    if (rechecking) return;
    rechecking = true;
    const queue = [...connections];
    void Promise.all(
      Array.from({ length: RECHECK_CONCURRENCY }, async () => {
        for (let c = queue.pop(); c; c = queue.pop()) await recheck(c);
      }),
    ).finally(() => (rechecking = false));
  }, config.WS_HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  return {
    stats() {
      const open = [...connections];
      return {
        connections: {
          tasks: open.filter((c) => c.admission.endpoint === 'tasks').length,
          metrics: open.filter((c) => c.admission.endpoint === 'metrics').length,
        },
        buffered_bytes: open.reduce((n, c) => n + c.ws.bufferedAmount, 0),
        ...counters,
        events: { ...events.stats, listening: events.connected },
        metrics: { ...feed.stats },
      };
    },
    async close() {
      server.off('upgrade', onUpgrade);
      clearInterval(heartbeat);
      feed.close();
      const closing = [...connections].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            c.ws.once('close', () => resolve());
            c.ws.close(CLOSE_GOING_AWAY, 'Server shutting down');
            // A peer that does not answer the close handshake is not waited for.
            setTimeout(() => c.ws.terminate(), 1000).unref();
          }),
      );
      await Promise.all(closing);
      await events.close();
      wss.close();
    },
  };
}

function encode(type: string, data: unknown): Buffer {
  return Buffer.from(JSON.stringify({ type, data, timestamp: new Date().toISOString() }));
}

/**
 * An event's `data`, named as public API v1 names a task (seed 003): `id` is the task_id (Temporal workflow id) that
 * `POST /api/v1/tasks` answered, `type` its task type; `task_id` repeats it under the /tasks/ API's name.
 */
function eventData(e: TaskEvent) {
  return {
    id: e.task_id,
    task_id: e.task_id,
    name: e.name ?? null,
    type: e.task_type,
    brand_id: e.brand_id,
    status: e.status,
    previous_status: e.previous_status,
    progress: e.progress,
    seq: e.seq,
    changed_at: e.changed_at,
  };
}

/** `2026-11-26T01:02:03.123456Z` (the trigger's format) → epoch ms, microseconds kept as a fraction. */
export function parseMicros(iso: string): number {
  const m = /^(.{19})\.(\d{1,6})Z$/.exec(iso);
  if (!m) return Date.parse(iso);
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2]}`) * 1000;
}

function sameBrands(a: Admission['brands'], b: Admission['brands']): boolean {
  if (a === 'all' || b === 'all') return a === b;
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function matchesTask(a: Admission, e: TaskEvent): boolean {
  if (!a.task) return true;
  return 'id' in a.task ? a.task.id === e.id : a.task.taskId === e.task_id;
}
