import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { usesV1Envelope } from '../middleware/error-handler';
import { errorBody, v1ErrorEnvelope } from '../schemas/common-responses.schemas';
import type { ApiDocs, RouteDoc } from './api-docs';

/**
 * Renders the OpenAPI 3.1 document from the route registry. JSON Schema comes from zod 4 itself: requests on the
 * *input* side of each schema (what a client sends: a query string before coercion, a body before defaults), so the
 * document says what the validators accept; responses on the *output* side (what the server sends). Unrepresentable
 * parts (transforms, custom refinements) become `{}` (anything). Schemas named with `.meta({id})` (Task, Worker, …)
 * become components of that name.
 */

type JsonSchema = Record<string, unknown>;
type OpenApiObject = Record<string, unknown>;

export const BEARER_SCHEME = 'bearerAuth';
export const API_KEY_SCHEME = 'apiKeyAuth';
/** Either credential opens every non-public operation (an API key acts as its creator, for its brand and role). */
const AUTHENTICATED = [{ [BEARER_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }];

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export function buildOpenApiDocument(docs: ApiDocs, info: OpenApiInfo = packageInfo()): OpenApiObject {
  const components = new SchemaComponents();
  const paths: Record<string, Record<string, OpenApiObject>> = {};
  const seen = new Set<string>();
  for (const route of docs.routes) {
    const path = openApiPath(route.path);
    const key = `${route.method} ${path}`;
    if (seen.has(key)) throw new Error(`OpenAPI: ${key} is documented twice`);
    seen.add(key);
    (paths[path] ??= {})[route.method] = operation(route, path, components);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    // Every operation states its own security (public ones an empty list); this is the default for anything else.
    security: AUTHENTICATED,
    paths,
    components: {
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from POST /auth/login or POST /api/v1/auth/login (or minted by the admin CLI).',
        },
        [API_KEY_SCHEME]: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'An API key from POST /api/v1/api-keys (or the admin CLI): acts as its creator for its one brand, with its role.',
        },
      },
      schemas: components.schemas,
    },
  };
}

/**
 * Koa's `/admin/jobs/:id` (also `:id(regex)` and a `*rest` wildcard) → OpenAPI's `/admin/jobs/{id}`; a trailing slash
 * is dropped (routes answer with and without it, and are documented once).
 */
export function openApiPath(koaPath: string): string {
  const path = koaPath.replace(/[:*]([A-Za-z0-9_]+)(\([^)]*\))?\??/g, '{$1}');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function operation(route: RouteDoc, path: string, components: SchemaComponents): OpenApiObject {
  const op: OpenApiObject = {
    operationId: operationId(route.method, path),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
  };
  const parameters = [...pathParameters(path), ...(route.query ? queryParameters(route.query, components) : [])];
  if (parameters.length) op.parameters = parameters;
  if (route.body) {
    op.requestBody = {
      // bodyParser hands an empty body over as {}: the body is optional exactly when {} is valid.
      required: !route.body.safeParse({}).success,
      content: { 'application/json': { schema: components.inline(route.body, 'input') } },
    };
  }
  // Answers every operation can give whether or not its author listed them: a refused token, a refused query or body.
  const responses: RouteDoc['responses'] = { ...route.responses };
  if (!route.public) {
    responses[401] ??= 'Missing, invalid or expired credentials';
    responses[429] ??= 'RATE_LIMITED: over the per-key or per-user budget; see Retry-After and X-RateLimit-*';
  }
  if (route.query || route.body) responses[400] ??= 'Invalid query or body (field errors name each problem)';
  const errorSchema = components.inline(usesV1Envelope(path) ? v1ErrorEnvelope : errorBody, 'output');
  op.responses = Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      const r = typeof response === 'string' ? { description: response } : response;
      const schema = r.schema ? components.inline(r.schema, 'output') : Number(status) >= 400 ? errorSchema : undefined;
      return [status, { description: r.description, ...(schema ? { content: { [r.contentType ?? 'application/json']: { schema } } } : {}) }];
    }),
  );
  op.security = route.public ? [] : AUTHENTICATED;
  if (route.roles) op['x-roles'] = route.roles;
  return op;
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `by ${part.slice(1, -1)}` : part))
    .join(' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method, ...words].map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

function pathParameters(path: string): OpenApiObject[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
}

/** A query schema's top-level properties, one parameter each (a union's members contribute theirs, none required). */
function queryParameters(query: z.ZodType, components: SchemaComponents): OpenApiObject[] {
  const schema = components.inline(query, 'input');
  const objects = [schema, ...(['allOf', 'anyOf', 'oneOf'] as const).flatMap((k) => (schema[k] as JsonSchema[] | undefined) ?? [])];
  const out = new Map<string, OpenApiObject>();
  for (const object of objects) {
    const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
    const required = object === schema ? new Set((object.required as string[] | undefined) ?? []) : new Set<string>();
    for (const [name, property] of Object.entries(properties)) {
      if (out.has(name)) continue;
      const { description, ...rest } = property;
      out.set(name, {
        name,
        in: 'query',
        required: required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  return [...out.values()];
}

/**
 * zod's JSON Schema for each zod schema, made embeddable: a schema zod had to name (registered with an id, or
 * recursive) sits under the schema's own `$defs`, which a `$ref` inside an OpenAPI document cannot reach; those move to
 * components/schemas and their refs follow. A named schema keeps its name (one component however often it is used);
 * an anonymous one gets a prefix per rendering.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};
  private count = 0;

  inline(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12', override: io === 'input' ? pipeBounds : undefined }) as JsonSchema;
    const { $schema: _dialect, $defs, ...rest } = json;
    if (!$defs) return rest;
    const prefix = `Schema${++this.count}_`;
    const defs = $defs as Record<string, unknown>;
    // zod names the schemas it had to extract itself `__schema<n>`: those are local to this rendering.
    const componentName = (def: string) => (def.startsWith('__schema') ? `${prefix}${def}` : def);
    const rename = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rename);
      if (!value || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${componentName(v.slice('#/$defs/'.length))}` : rename(v),
        ]),
      );
    };
    for (const [name, def] of Object.entries(defs)) {
      const component = rename(def) as JsonSchema;
      const key = componentName(name);
      const existing = this.schemas[key];
      if (existing && JSON.stringify(existing) !== JSON.stringify(component)) {
        throw new Error(`OpenAPI: two different schemas are named ${key} (an input and an output side, or two .meta({id}))`);
      }
      this.schemas[key] = component;
    }
    return rename(rest) as JsonSchema;
  }
}

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'] as const;

/**
 * A query number is validated in two steps, `int.pipe(z.number().min(1).max(10_000))`: zod's input side shows the
 * first (any integer), so the bounds of the second are copied onto it when both sides are numbers (or both strings).
 */
function pipeBounds(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; out?: z.ZodType } } })._zod?.def;
  if (def?.type !== 'pipe' || !def.out) return;
  const out = z.toJSONSchema(def.out, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  const kind = (t: unknown) => (t === 'integer' ? 'number' : t);
  if (!out.type || kind(out.type) !== kind(ctx.jsonSchema.type)) return;
  for (const bound of BOUNDS) if (out[bound] !== undefined) ctx.jsonSchema[bound] = out[bound];
}

/** Title and version of the nearest package.json (the sources' or dist/'s parent). */
function packageInfo(): OpenApiInfo {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; description?: string };
      return { title: pkg.name ?? 'api', version: pkg.version ?? '0.0.0', ...(pkg.description ? { description: pkg.description } : {}) };
    }
    if (dirname(dir) === dir) return { title: 'api', version: '0.0.0' };
  }
}
