import type { MikroORM } from '@mikro-orm/postgresql';
import type Koa from 'koa';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from './state';

/** The library's in-memory block list; public in its JavaScript, missing from its typings. */
interface InMemoryBlocks {
  getInMemoryBlockMsBeforeExpire(rlKey: string): number;
}

/** What one window says about one request. */
interface Verdict {
  remaining: number;
  msBeforeReset: number;
  exceeded: boolean;
}

interface Waiter {
  resolve: (v: Verdict) => void;
  reject: (err: unknown) => void;
}

/**
 * One rate-limit window (a RateLimiterPostgres) whose concurrent requests from the same caller share one upsert.
 *
 * While a caller's upsert is in flight, this process queues that caller's next requests and sends them as one
 * `consume(caller, n)` when it returns. The counter's new value `c` gives each of the n requests its exact position
 * (c-n+1 … c) in the window, across every API process, so coalescing changes how many statements are sent, never who
 * gets through: positions up to the limit pass, the others are refused.
 */
class Window {
  private readonly inFlight = new Map<string, Waiter[]>();

  constructor(
    readonly limiter: RateLimiterPostgres,
    readonly points: number,
    readonly seconds: number,
  ) {}

  /** Milliseconds this process still refuses `caller` from memory (0: not blocked). */
  blockedMs(caller: string): number {
    return (this.limiter as unknown as InMemoryBlocks).getInMemoryBlockMsBeforeExpire(this.limiter.getKey(caller));
  }

  consume(caller: string): Promise<Verdict> {
    return new Promise((resolve, reject) => {
      const queue = this.inFlight.get(caller);
      if (queue) queue.push({ resolve, reject });
      else this.send(caller, [{ resolve, reject }]);
    });
  }

  private send(caller: string, batch: Waiter[]): void {
    this.inFlight.set(caller, []);
    void this.verdicts(caller, batch.length).then(
      (verdicts) => batch.forEach((w, i) => w.resolve(verdicts[i]!)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      const next = this.inFlight.get(caller) ?? [];
      if (next.length > 0) this.send(caller, next);
      else this.inFlight.delete(caller);
    });
  }

  private async verdicts(caller: string, n: number): Promise<Verdict[]> {
    // The previous batch may have exhausted the window: the library would refuse without telling the count.
    const blocked = this.blockedMs(caller);
    if (blocked > 0) return Array.from({ length: n }, () => ({ remaining: 0, msBeforeReset: blocked, exceeded: true }));
    let res: RateLimiterRes;
    try {
      res = await this.limiter.consume(caller, n);
    } catch (err) {
      // The library rejects with a RateLimiterRes when the window is exceeded, with an Error when the store failed.
      if (!(err instanceof RateLimiterRes)) throw err;
      res = err;
    }
    const last = res.consumedPoints;
    if (!(last >= n)) {
      // No count came back (refused from the library's own memory): refuse the whole batch.
      return Array.from({ length: n }, () => ({ remaining: 0, msBeforeReset: res.msBeforeNext, exceeded: true }));
    }
    return Array.from({ length: n }, (_, i) => {
      const position = last - n + 1 + i;
      return { remaining: Math.max(0, this.points - position), msBeforeReset: res.msBeforeNext, exceeded: position > this.points };
    });
  }
}

/**
 * Rate limits of every authenticated request (mounted right after `authenticate`): RATE_LIMIT_PER_MINUTE and
 * RATE_LIMIT_PER_HOUR per API key, or per user for a Bearer token, in fixed windows that start at the caller's first
 * request. Counters live in PostgreSQL (rate-limiter-flexible's RateLimiterPostgres on the UNLOGGED `rate_limits`
 * table, through the ORM's own pg pool), so several API processes share one budget exactly: each count is one atomic
 * `INSERT … ON CONFLICT DO UPDATE … RETURNING`, both windows sent at once (one round trip of latency per request).
 *
 * Two savings that keep that exactness:
 * - a caller's concurrent requests in this process share one upsert per window (see Window): one busy client no longer
 *   queues its requests behind its own counter row's lock, one statement at a time;
 * - once this process has seen a window exhausted (the database said so), it refuses that caller from memory until the
 *   window resets (the library's in-memory block), with no round trip and without spending the other window's budget.
 *   That never refuses a request the database would admit: an exhausted window stays so until its reset.
 * Left out: counting locally and flushing later, or leasing blocks of points per process. Either would let a caller spend
 * up to (processes × batch) over the limit, or refuse early while another process sits on unused points, so "the 101st
 * request in a minute gets 429" would stop being true with two processes.
 *
 * Headers on every response: X-RateLimit-Limit / -Remaining / -Reset (unix seconds) of the window closest to
 * exhaustion; a refused request gets 429 RATE_LIMITED with Retry-After (seconds). Refused requests count too.
 */
export function rateLimit(config: AppConfig, orm: MikroORM): Koa.Middleware<AppState> {
  if (!config.RATE_LIMIT_ENABLED) return (_ctx, next) => next();
  let windows: Promise<Window[]> | undefined;
  const init = async (): Promise<Window[]> => {
    // The same pool the ORM uses (closed with it): no second pool to size or to close.
    const pool = await orm.em.getConnection().getNativeClient();
    const make = (keyPrefix: string, points: number, seconds: number) =>
      new Window(
        new RateLimiterPostgres({
          storeClient: pool,
          storeType: 'pool',
          tableName: 'rate_limits',
          // Created by migration 20261126010100-api-keys, not by the library at start-up.
          tableCreated: true,
          keyPrefix,
          points,
          duration: seconds,
          // Blocks a caller in this process once the database reports the window exhausted, until the window resets.
          inMemoryBlockOnConsumed: points,
        }),
        points,
        seconds,
      );
    return [make('rl_minute', config.RATE_LIMIT_PER_MINUTE, 60), make('rl_hour', config.RATE_LIMIT_PER_HOUR, 3600)];
  };

  return async (ctx, next) => {
    // The back office (`/admin/`, role-guarded right after this) is staff polling its own dashboard, not API clients:
    // a job page left open would spend an operator's hourly budget. API keys stay limited everywhere.
    if (!ctx.state.apiKey && ctx.path.startsWith('/admin/')) return next();
    windows ??= init().catch((err: unknown) => {
      windows = undefined;
      throw err;
    });
    const all = await windows;
    const caller = ctx.state.apiKey ? `key:${ctx.state.apiKey.id}` : `user:${ctx.state.principal.id}`;

    // A window already exhausted here is answered from memory, and spends none of the other window's budget.
    const blocked = all.map((window) => ({ window, ms: window.blockedMs(caller) })).filter((b) => b.ms > 0);
    const states =
      blocked.length > 0
        ? blocked.map((b) => ({ window: b.window, remaining: 0, msBeforeReset: b.ms, exceeded: true }))
        : (await Promise.all(all.map((w) => w.consume(caller)))).map((v, i) => ({ window: all[i]!, ...v }));

    const exceeded = states.filter((s) => s.exceeded);
    // The window to report: a refusing one (the one that resets last), else the one with the fewest requests left.
    const shown =
      exceeded.length > 0
        ? exceeded.reduce((a, b) => (b.msBeforeReset > a.msBeforeReset ? b : a))
        : states.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.msBeforeReset > a.msBeforeReset) ? b : a));
    ctx.set('X-RateLimit-Limit', String(shown.window.points));
    ctx.set('X-RateLimit-Remaining', String(shown.remaining));
    ctx.set('X-RateLimit-Reset', String(Math.ceil((Date.now() + Math.max(0, shown.msBeforeReset)) / 1000)));
    if (exceeded.length > 0) {
      const retryAfter = Math.max(1, Math.ceil(shown.msBeforeReset / 1000));
      // Headers set before the throw survive the error middleware, which writes only the status and the body.
      ctx.set('Retry-After', String(retryAfter));
      const per = shown.window.seconds === 60 ? 'minute' : 'hour';
      throw new AppError(ErrorCode.RATE_LIMITED, 429, `Rate limit exceeded: ${shown.window.points} requests per ${per}; retry in ${retryAfter} seconds`, {
        limit: shown.window.points,
        window_seconds: shown.window.seconds,
        retry_after: retryAfter,
      });
    }
    await next();
  };
}
