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

interface Window {
  limiter: RateLimiterPostgres;
  points: number;
}

/** What one window said about this request. */
interface WindowState {
  window: Window;
  remaining: number;
  msBeforeReset: number;
  exceeded: boolean;
}

/**
 * Rate limits of every authenticated request (mounted right after `authenticate`): RATE_LIMIT_PER_MINUTE and
 * RATE_LIMIT_PER_HOUR per API key, or per user for a Bearer token, in fixed windows that start at the caller's first
 * request. Counters live in PostgreSQL (rate-limiter-flexible's RateLimiterPostgres on the UNLOGGED `rate_limits`
 * table, through the ORM's own pg pool), so several API processes share one budget: every allowed request is one
 * atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING` per window, both windows sent at once (one round trip of
 * latency, two pooled connections).
 *
 * Cheaper designs were weighed and left out: counting locally and flushing in batches, or leasing blocks of points
 * per process, would let a caller spend up to (processes × batch) more than the limit, or refuse requests early while
 * another process sits on unused points, so "the 101st request in a minute gets 429" would stop being true with two
 * processes. What is kept from the library is its in-memory block of exhausted keys: once this process has seen a
 * window exhausted (the database said so), it answers 429 from memory until that window resets, with no round trip.
 * That never admits a request the database would refuse: a window, once exhausted, stays so until its reset.
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
    const make = (keyPrefix: string, points: number, duration: number): Window => ({
      points,
      limiter: new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: 'rate_limits',
        // Created by migration 20261126010100-api-keys, not by the library at start-up.
        tableCreated: true,
        keyPrefix,
        points,
        duration,
        // Blocks a key in this process once the database reports its window exhausted, until that window resets.
        inMemoryBlockOnConsumed: points,
      }),
    });
    return [make('rl_minute', config.RATE_LIMIT_PER_MINUTE, 60), make('rl_hour', config.RATE_LIMIT_PER_HOUR, 3600)];
  };

  return async (ctx, next) => {
    windows ??= init().catch((err: unknown) => {
      windows = undefined;
      throw err;
    });
    const all = await windows;
    const caller = ctx.state.apiKey ? `key:${ctx.state.apiKey.id}` : `user:${ctx.state.principal.id}`;

    // A window already exhausted here is answered from memory, and spends none of the other window's budget.
    const blocked = all
      .map((window) => ({ window, ms: (window.limiter as unknown as InMemoryBlocks).getInMemoryBlockMsBeforeExpire(window.limiter.getKey(caller)) }))
      .filter((b) => b.ms > 0);
    let states: WindowState[];
    if (blocked.length > 0) {
      states = blocked.map((b) => ({ window: b.window, remaining: 0, msBeforeReset: b.ms, exceeded: true }));
    } else {
      const results = await Promise.allSettled(all.map((w) => w.limiter.consume(caller)));
      states = results.map((r, i) => {
        const window = all[i]!;
        if (r.status === 'fulfilled') return { window, remaining: r.value.remainingPoints, msBeforeReset: r.value.msBeforeNext, exceeded: false };
        // The library rejects with a RateLimiterRes when the window is exhausted, with an Error when the store failed.
        if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
        return { window, remaining: 0, msBeforeReset: r.reason.msBeforeNext, exceeded: true };
      });
    }

    const exceeded = states.filter((s) => s.exceeded);
    // The window to report: a refusing one (the one that resets last), else the one with the fewest requests left.
    const shown = exceeded.length > 0
      ? exceeded.reduce((a, b) => (b.msBeforeReset > a.msBeforeReset ? b : a))
      : states.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.msBeforeReset > a.msBeforeReset) ? b : a));
    const resetSeconds = Math.ceil((Date.now() + Math.max(0, shown.msBeforeReset)) / 1000);
    ctx.set('X-RateLimit-Limit', String(shown.window.points));
    ctx.set('X-RateLimit-Remaining', String(Math.max(0, shown.remaining)));
    ctx.set('X-RateLimit-Reset', String(resetSeconds));
    if (exceeded.length > 0) {
      const retryAfter = Math.max(1, Math.ceil(shown.msBeforeReset / 1000));
      // Headers set before the throw survive the error middleware, which writes only the status and the body.
      ctx.set('Retry-After', String(retryAfter));
      throw new AppError(ErrorCode.RATE_LIMITED, 429, `Rate limit exceeded: ${shown.window.points} requests per ${shown.window.limiter.duration === 60 ? 'minute' : 'hour'}; retry in ${retryAfter} seconds`, {
        limit: shown.window.points,
        window_seconds: shown.window.limiter.duration,
        retry_after: retryAfter,
      });
    }
    await next();
  };
}
