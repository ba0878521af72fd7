import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import Koa from 'koa';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { authenticate } from '../middleware/auth';
import { errorHandler, type Logger } from '../middleware/error-handler';
import { requestContext } from '../middleware/request-context';
import type { AppState } from '../middleware/state';
import { metricsStreamQuerySchema, taskStreamQuerySchema } from '../schemas/realtime.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { ApiKeyService } from '../services/api-key.service';
import type { IdentityService } from '../services/identity.service';

export type StreamEndpoint = 'tasks' | 'metrics';

/** What an accepted upgrade may see. */
export interface Admission {
  endpoint: StreamEndpoint;
  /** Whose connection this is, for the per-principal cap (`user:<id>` or `key:<id>`). */
  principalKey: string;
  /** The brands whose events and snapshots it receives; `all`: an admin who did not narrow to one brand. */
  brands: number[] | 'all';
  /** /ws/tasks `?task_id=`: only this task (by `task_id`, or by integer `id` when numeric). */
  task: { taskId: string } | { id: number } | null;
  /** Frees the connection slot; called once when the socket closes (the handshake failed or the connection ended). */
  release(): void;
}

/** The HTTP answer to a refused upgrade, written on the raw socket before any WebSocket exists. */
export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function endpointOf(pathname: string): StreamEndpoint | null {
  if (pathname === '/ws/tasks' || pathname === '/ws/tasks/') return 'tasks';
  if (pathname === '/ws/metrics' || pathname === '/ws/metrics/') return 'metrics';
  return null;
}

/** Open connections per principal, counted from the admission (before the handshake) so racing upgrades cannot overshoot. */
export class ConnectionSlots {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerPrincipal: number) {}

  acquire(key: string): (() => void) | null {
    const n = this.open.get(key) ?? 0;
    if (n >= this.maxPerPrincipal) return null;
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }
}

type GateState = AppState & { endpoint?: StreamEndpoint; recheck?: boolean; admission?: Admission };

/**
 * `admit`: a new connection (takes a slot). `recheck`: an open connection's credentials and scope checked again (a
 * token that expired, a revoked key, a deactivated user or a lost membership), the slot it holds left alone.
 */
export type GateMode = 'admit' | 'recheck';

export type UpgradeGate = (req: IncomingMessage, endpoint: StreamEndpoint, mode?: GateMode) => Promise<{ admission: Admission } | { refusal: Refusal }>;

/**
 * Authenticates and admits a WebSocket upgrade with the HTTP API's own middleware (request id, error rendering,
 * `authenticate`: Bearer JWT, and whatever else it accepts such as `X-API-Key`), run on a Koa context built from the
 * upgrade request, so the two never disagree on who a caller is or how a refusal looks. A refusal (401, 403, 400,
 * 429) is an ordinary HTTP response: the connection is never upgraded.
 */
export function createUpgradeGate(deps: {
  config: AppConfig;
  identity: IdentityService;
  apiKeys: ApiKeyService;
  logger: Logger;
  slots: ConnectionSlots;
}): UpgradeGate {
  const koa = new Koa<GateState>();
  koa.proxy = false;
  const chain: Koa.Middleware<GateState>[] = [
    requestContext(),
    errorHandler(deps.logger),
    tokenFromQuery(),
    authenticate(deps.config, deps.identity, deps.apiKeys) as Koa.Middleware<GateState>,
    admit(deps.identity, deps.slots),
  ];
  const run = (ctx: Koa.ParameterizedContext<GateState>) =>
    chain.reduceRight<() => Promise<void>>((next, mw) => async () => {
      await mw(ctx as never, next);
    }, async () => undefined)();

  return async (req, endpoint, mode = 'admit') => {
    const ctx = koa.createContext(req, new ServerResponse(req)) as Koa.ParameterizedContext<GateState>;
    ctx.state.endpoint = endpoint;
    ctx.state.recheck = mode === 'recheck';
    await run(ctx);
    const admission = ctx.state.admission;
    if (admission && ctx.status === 204) return { admission };
    admission?.release();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(ctx.response.headers)) {
      if (value !== undefined && !/^(content-length|connection|transfer-encoding)$/i.test(name)) headers[name] = String(value);
    }
    const body = ctx.body === undefined || ctx.body === null ? '' : JSON.stringify(ctx.body);
    return { refusal: { status: ctx.status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body } };
  };
}

/**
 * `?token=` for browsers, whose WebSocket API cannot set headers: read as a Bearer token when the request carries no
 * credentials of its own, so `authenticate` verifies it exactly like the header.
 */
function tokenFromQuery(): Koa.Middleware<GateState> {
  return async (ctx, next) => {
    const token = ctx.query.token;
    if (typeof token === 'string' && token && !ctx.get('authorization') && !ctx.get('x-api-key')) {
      ctx.request.headers.authorization = `Bearer ${token}`;
    }
    await next();
  };
}

/** Scope (brands, task filter) from the query and the credentials, then a connection slot. */
function admit(identity: IdentityService, slots: ConnectionSlots): Koa.Middleware<GateState> {
  return async (ctx) => {
    const endpoint = ctx.state.endpoint!;
    const query = parseOrThrow(endpoint === 'tasks' ? taskStreamQuerySchema : metricsStreamQuerySchema, { ...ctx.query });
    const headerBrand = ctx.get('x-brand-id').trim();
    if (headerBrand && !/^\d{1,9}$/.test(headerBrand)) {
      throw AppError.validation({ 'X-Brand-ID': ['Must be a brand id (integer)'] }, 'Invalid X-Brand-ID header');
    }
    const narrowed = query.brand_id ?? (headerBrand ? Number(headerBrand) : undefined);
    const { principal, apiKey } = ctx.state;

    let brands: number[] | 'all';
    if (apiKey) {
      // A key acts for its own brand only.
      if (narrowed !== undefined && narrowed !== apiKey.brandId) throw forbidden();
      brands = [apiKey.brandId];
    } else if (narrowed !== undefined) {
      const allowed = principal.brandIds.includes(narrowed) || principal.isAdmin;
      if (!allowed || !(await identity.brand(narrowed))) throw forbidden();
      brands = [narrowed];
    } else {
      brands = principal.isAdmin ? 'all' : [...principal.brandIds];
    }

    const taskId = 'task_id' in query ? (query.task_id as string | undefined) : undefined;
    const task = taskId === undefined ? null : /^\d{1,10}$/.test(taskId) ? { id: Number(taskId) } : { taskId };

    const principalKey = apiKey ? `key:${apiKey.id}` : `user:${principal.id}`;
    const release = ctx.state.recheck ? () => undefined : slots.acquire(principalKey);
    if (!release) {
      ctx.set('Retry-After', '30');
      throw new AppError(ErrorCode.RATE_LIMITED, 429, 'Too many open WebSocket connections for these credentials', {
        max_connections: slots.maxPerPrincipal,
      });
    }
    ctx.state.admission = { endpoint, principalKey, brands, task, release };
    ctx.status = 204;
  };
}

function forbidden(): AppError {
  return new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You do not have permission to access this brand');
}

/** The raw HTTP/1.1 response refusing an upgrade. */
export function refusalResponse(r: Refusal): string {
  const lines = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(r.headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(r.body)}`, 'connection: close', '', r.body);
  return lines.join('\r\n');
}
