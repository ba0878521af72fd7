import { Client, type Notification } from 'pg';
import { TASK_EVENTS_CHANNEL } from '../../db/repositories/task-events.repository';
import type { Logger } from '../middleware/error-handler';

/** One status change of the mirror (or a new row) as the trigger announces it. */
export interface TaskEvent {
  task_id: string;
  id: number;
  brand_id: number;
  status: string;
  previous_status: string | null;
  progress: number;
  task_type: string;
  /** The task's label (public API `name`), null when it has none. */
  name: string | null;
  seq: number;
  /** When the row changed (ISO, UTC, microseconds), before the commit that delivered it. */
  changed_at: string;
}

/** What subscribers hear besides events: the source lost its connection and events may have been missed since `since`. */
export interface EventGap {
  since: string;
  until: string;
}

export interface TaskEventSubscriber {
  event(e: TaskEvent): void;
  gap?(g: EventGap): void;
}

export interface TaskEventSourceOptions {
  databaseUrl: string;
  logger: Logger;
  /** First and largest delay between reconnection attempts (doubling, with jitter). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

function isTaskEvent(v: unknown): v is TaskEvent {
  const e = v as Partial<TaskEvent> | null;
  return !!e && typeof e.task_id === 'string' && typeof e.brand_id === 'number' && typeof e.status === 'string' && typeof e.changed_at === 'string';
}

/**
 * ONE dedicated PostgreSQL connection per API process LISTENs on `task_events` and fans every notification out to
 * the subscribers in process (each WebSocket is a subscriber of the WebSocket server, not of PostgreSQL), so a thousand
 * sockets cost one connection. The connection is outside MikroORM's pool on purpose: a pooled connection is handed to
 * other queries and a LISTEN on it would be lost or leak into them.
 *
 * When PostgreSQL restarts or the connection drops, the source reconnects with exponential backoff (capped, with
 * jitter so several API processes do not reconnect in step) and tells subscribers about the gap: NOTIFY is not
 * durable, so events committed while nobody listened are gone and a client must refetch what it shows.
 */
export class TaskEventSource {
  private client: Client | null = null;
  private readonly subscribers = new Set<TaskEventSubscriber>();
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private lostAt: string | null = null;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  /** Counters for logs, tests and /metrics. */
  readonly stats = { received: 0, malformed: 0, reconnects: 0 };

  constructor(private readonly options: TaskEventSourceOptions) {
    this.reconnectMinMs = options.reconnectMinMs ?? 250;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Connects and LISTENs; resolves once listening. If PostgreSQL is unreachable now, keeps retrying in the background. */
  async start(): Promise<void> {
    if (!(await this.connect())) this.scheduleReconnect();
  }

  subscribe(subscriber: TaskEventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subscribers.clear();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<boolean> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      // A half-open connection (network cut, host gone) would otherwise look alive forever and silently deliver nothing.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'durable-tasks-api task events',
    });
    client.on('notification', (n) => this.dispatch(n));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${TASK_EVENTS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      this.options.logger.error({ err, attempt: this.attempt }, 'task events: cannot LISTEN; retrying');
      return false;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return true;
    }
    this.client = client;
    if (this.attempt > 0) {
      this.stats.reconnects++;
      this.options.logger.info?.({ attempts: this.attempt }, 'task events: listening again');
    }
    this.attempt = 0;
    if (this.lostAt) {
      const gap = { since: this.lostAt, until: new Date().toISOString() };
      this.lostAt = null;
      for (const s of this.subscribers) s.gap?.(gap);
    }
    return true;
  }

  private lost(client: Client, err: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.lostAt ??= new Date().toISOString();
    this.options.logger.error({ err }, 'task events: LISTEN connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.lostAt ??= new Date().toISOString();
    const base = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect().then((ok) => {
        if (!ok) this.scheduleReconnect();
      });
    }, delay);
    this.retryTimer.unref();
  }

  private dispatch(n: Notification): void {
    if (n.channel !== TASK_EVENTS_CHANNEL || !n.payload) return;
    let event: unknown;
    try {
      event = JSON.parse(n.payload);
    } catch {
      event = null;
    }
    if (!isTaskEvent(event)) {
      this.stats.malformed++;
      return;
    }
    this.stats.received++;
    for (const s of this.subscribers) {
      try {
        s.event(event);
      } catch (err) {
        this.options.logger.error({ err }, 'task events: subscriber failed');
      }
    }
  }
}
