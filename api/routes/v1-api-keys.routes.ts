import Router from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import {
  apiKeyIdParam,
  createApiKeyBody,
  createApiKeyResponse,
  listApiKeysQuery,
  listApiKeysResponse,
  revokeApiKeyResponse,
} from '../schemas/api-keys.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { ApiKeyActor, ApiKeyService } from '../services/api-key.service';
import type { Ctx } from './route-context';

const PATH = '/api/v1/api-keys';

/**
 * The caller of the key routes. Keys are managed with a user token only: a key that could mint keys would outlive its
 * own revocation through its children.
 */
function keyActor(ctx: Ctx): ApiKeyActor {
  if (ctx.state.apiKey) {
    throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'API keys are managed with a user token (Authorization: Bearer), not with an API key');
  }
  const p = ctx.state.principal;
  return { id: p.id, username: p.username, role: p.role, isAdmin: p.isAdmin, brandIds: p.brandIds, requestId: ctx.state.requestId, ip: ctx.ip || null };
}

const timestamp = () => new Date().toISOString();

/**
 * `POST/GET /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}`: create (the full key is answered once), list (prefix
 * only), revoke. A user manages the keys they created, for brands they belong to and with a role not above theirs;
 * an admin lists and revokes every key and creates keys for any brand. Every change is audited.
 */
export function v1ApiKeyRoutes(service: ApiKeyService, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();

  router.post(PATH, async (ctx) => {
    const actor = keyActor(ctx);
    const body = parseOrThrow(createApiKeyBody, ctx.request.body ?? {});
    const brandId = body.brand_id ?? actor.brandIds[0];
    if (brandId === undefined) throw AppError.validation({ brand_id: ['This field is required (you belong to no brand)'] });
    const { key, view } = await service.create(actor, { name: body.name, brandId, role: body.role, expiresInDays: body.expires_in_days ?? null });
    ctx.status = 201;
    // The only response that carries the secret: no cache may keep it.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'success', data: { ...view, key }, timestamp: timestamp() };
  });
  docs.add({
    method: 'post',
    path: PATH,
    summary: 'Create an API key (the full key is shown once)',
    description:
      'The key (`dtk_<prefix>_<secret>`) authenticates as `X-API-Key` wherever a Bearer token does, acting as its creator for ' +
      'one brand (X-Brand-ID may be omitted; another brand is 403) with `role` (worker: the worker endpoints only). Only the ' +
      'prefix and a sha256 of the secret are stored. A user creates keys for their own brands with a role not above theirs; ' +
      'admins for any brand. Requires a user token (an API key cannot create keys). Audited as api_key.create.',
    tags: ['api-keys'],
    body: createApiKeyBody,
    responses: {
      201: { description: 'The key, with `key` in full (store it now: it is never shown again)', schema: createApiKeyResponse },
      400: 'Invalid body (unknown fields included) or unknown brand',
      401: 'No valid token',
      403: 'A brand you do not belong to, a role above yours, or called with an API key',
    },
    roles: ['user', 'admin_viewer', 'admin'],
  });

  router.get(PATH, async (ctx) => {
    const actor = keyActor(ctx);
    const page = parseOrThrow(listApiKeysQuery, ctx.query);
    const { items, total } = await service.list(actor, page);
    ctx.body = {
      status: 'success',
      data: items,
      pagination: { skip: page.skip, limit: page.limit, total, pages: Math.ceil(total / page.limit) },
      timestamp: timestamp(),
    };
  });
  docs.add({
    method: 'get',
    path: PATH,
    summary: 'List API keys (prefix only, never the secret)',
    description: 'Your own keys, newest first; an admin sees every key. Revoked and expired keys are listed with their status.',
    tags: ['api-keys'],
    query: listApiKeysQuery,
    responses: { 200: { description: 'A page of keys', schema: listApiKeysResponse }, 400: 'Invalid query', 401: 'No valid token', 403: 'Called with an API key' },
  });

  router.delete(`${PATH}/:id`, async (ctx) => {
    const actor = keyActor(ctx);
    const id = parseOrThrow(apiKeyIdParam, ctx.params.id, 'id');
    const view = await service.revoke(actor, id);
    ctx.body = { status: 'success', data: view, timestamp: timestamp() };
  });
  docs.add({
    method: 'delete',
    path: `${PATH}/:id`,
    summary: 'Revoke an API key',
    description:
      'The key is refused (401) at once by this API process and within 5 seconds by the others (their key cache). Revoking a ' +
      'revoked key changes nothing. A user revokes their own keys (another user\'s key is 404); an admin any key. Audited as api_key.revoke.',
    tags: ['api-keys'],
    responses: { 200: { description: 'The revoked key', schema: revokeApiKeyResponse }, 401: 'No valid token', 403: 'Called with an API key', 404: 'No such key (or not yours)' },
  });

  return router;
}
