/**
 * Bad input on every route, walked from /openapi.json (a new route is covered as soon as it is documented): malformed
 * JSON, a wrong type for each body property, an unknown field, a body over the 1 MB limit, negative and huge page
 * numbers, SQL-ish strings in every string filter. Each answer is a 4xx in the error format of its path (the v1
 * envelope under /api/v1/, `{detail, error_code}` elsewhere), never a 5xx, and nothing is written.
 *
 * The caller is an administrator and a member of the brand it names in X-Brand-ID, so no authorization check hides a
 * validation; path parameters name objects that do not exist (a 404 there is a correct answer too).
 */
import { usesV1Envelope } from '../../api/middleware/error-handler';
import { V1_ERROR_CODES } from '../../api/schemas/common-responses.schemas';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';

type Json = Record<string, any>;
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  op: Json;
}

const MISSING_ID = '999999999';
const SQLISH = ["' OR 1=1 --", '"; drop table tasks; --', '%_\\'];
/** Far beyond any page size or offset a route allows, yet a plain integer (not an overflow trick). */
const HUGE = '1000000000000';
/** Page numbers, sizes and offsets: negative or huge is a 400, never clamped into a query. */
const PAGINATION = /^(page|page_size|limit|skip|offset)$/;
/** Above the 1 MB JSON limit of the body parser. */
const OVERSIZE = JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1024) });

describe('bad input on every documented route', () => {
  let t: TestContext;
  let headers: Record<string, string>;
  let operations: Operation[];
  let components: Record<string, Json>;
  let admin: { id: number };
  let before: Record<string, string>;
  const problems: string[] = [];
  const counts = { requests: 0 };

  /** Rows of every table that belong to the walk's brand or its administrator: count and a digest of their content. */
  async function snapshot(): Promise<Record<string, string>> {
    const em = t.orm.em.fork();
    const columns = await em.execute<{ table_name: string; column_name: string }[]>(
      `select c.table_name, c.column_name from information_schema.columns c
         join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name and tb.table_type = 'BASE TABLE'
        where c.table_schema = current_schema() and c.column_name in ('brand_id', 'created_by_id', 'actor_id', 'user_id')
        order by 1, 2`,
    );
    const byTable = new Map<string, string[]>();
    for (const c of columns) byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), c.column_name]);
    const out: Record<string, string> = {};
    for (const [table, cols] of byTable) {
      const where = cols.map((c) => (c === 'brand_id' ? `x.brand_id = ${t.brand.id}` : `x.${c} = ${admin.id}`)).join(' or ');
      const [row] = await em.execute<{ n: number; digest: string }[]>(
        `select count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as digest from "${table}" x where ${where}`,
      );
      out[table] = `${row!.n} rows, ${row!.digest}`;
    }
    return out;
  }

  const deref = (schema: Json | undefined): Json | undefined =>
    schema?.$ref ? deref(components[String(schema.$ref).replace('#/components/schemas/', '')]) : schema;

  const concretePath = (path: string) => path.replace(/\{[^}]+\}/g, MISSING_ID);

  function request(o: Operation, options: { query?: Record<string, string>; body?: unknown; raw?: string } = {}) {
    counts.requests += 1;
    let req = t.http[o.method](concretePath(o.path)).set(headers);
    if (options.query) req = req.query(options.query);
    if (options.raw !== undefined) return req.set('Content-Type', 'application/json').send(options.raw);
    if (options.body !== undefined) return req.send(options.body as object);
    return req;
  }

  const fieldErrors = (path: string, body: Json): Json | undefined =>
    usesV1Envelope(path) ? (body?.error?.details?.field_errors as Json | undefined) : (body?.field_errors as Json | undefined);

  /**
   * The answer is one of `allowed`, and an error is in its path's format. Problems are collected, so one run names
   * every route that misbehaves.
   */
  function check(o: Operation, what: string, res: { status: number; body: Json }, allowed: number[], field?: string): void {
    const name = `${o.method.toUpperCase()} ${o.path} ${what}`;
    if (!allowed.includes(res.status)) {
      problems.push(`${name}: ${res.status} (expected ${allowed.join(' or ')}) ${JSON.stringify(res.body).slice(0, 300)}`);
      return;
    }
    if (res.status < 400) return;
    const b = res.body;
    const formatOk = usesV1Envelope(o.path)
      ? b?.status === 'error' && (V1_ERROR_CODES as readonly string[]).includes(b.error?.code) && typeof b.error?.message === 'string' && typeof b.timestamp === 'string'
      : typeof b?.detail === 'string' && typeof b?.error_code === 'string';
    if (!formatOk) problems.push(`${name}: ${res.status} in the wrong error format: ${JSON.stringify(b).slice(0, 300)}`);
    if (field && res.status === 400) {
      const errors = fieldErrors(o.path, b) ?? {};
      if (!Object.keys(errors).some((k) => k === field || k.startsWith(`${field}.`))) {
        problems.push(`${name}: 400 does not name the field "${field}": ${JSON.stringify(b).slice(0, 300)}`);
      }
    }
  }

  /** The status a bad request may get: a 400, or a 404 when the path names an object (it does not exist). */
  const refused = (o: Operation) => (o.path.includes('{') ? [400, 404] : [400]);

  /** A JSON value of a type the property schema does not accept, or undefined when it accepts them all. */
  function wrongValue(schema: Json | undefined): unknown {
    const s = deref(schema);
    if (!s || Object.keys(s).filter((k) => k !== 'description').length === 0) return undefined;
    const variants = [s, ...((s.anyOf ?? s.oneOf ?? []) as Json[]).map(deref)].filter(Boolean) as Json[];
    const types = new Set<string>();
    for (const v of variants) {
      for (const type of [v.type].flat()) if (type) types.add(type === 'integer' ? 'number' : type);
      if (v.const !== undefined || v.enum) types.add('string');
    }
    if (variants.some((v) => v !== s && !v.type && !v.enum && v.const === undefined)) return undefined;
    const candidates: [string, unknown][] = [
      ['boolean', true],
      ['number', 12345],
      ['string', 'not-a-valid-value'],
      ['array', ['x']],
      ['object', { unexpected: 1 }],
    ];
    if (types.size === 0) return undefined;
    return candidates.find(([type]) => !types.has(type))?.[1];
  }

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const em = t.orm.em.fork();
    const user = await ensureUser(em, `bad-input-admin-${process.pid}-${Date.now()}`, 'admin');
    await grantMembership(em, user.id, t.brand.id);
    admin = user;
    headers = { Authorization: `Bearer ${signAccessToken(t.config, user, 3600)}`, 'X-Brand-ID': String(t.brand.id) };
    const doc = (await t.http.get('/openapi.json')).body as Json;
    components = doc.components.schemas;
    operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method: method as Operation['method'], path, op: op as Json })),
    );
    before = await snapshot();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    problems.length = 0;
  });

  const withBody = () => operations.filter((o) => o.op.requestBody?.content?.['application/json']);
  const withQuery = () => operations.filter((o) => (o.op.parameters ?? []).some((p: Json) => p.in === 'query'));

  it('finds the operations to walk', () => {
    expect(operations.length).toBeGreaterThan(100);
    expect(withBody().length).toBeGreaterThan(40);
    expect(withQuery().length).toBeGreaterThan(30);
    expect(operations.filter((o) => o.path.startsWith('/api/v1/')).length).toBeGreaterThan(3);
  });

  it('refuses malformed JSON with 400 on every operation with a body', async () => {
    for (const o of withBody()) {
      for (const raw of ['{"unterminated": ', '{"a": 1,}', "{'single': 'quotes'}"]) {
        check(o, `malformed ${raw}`, await request(o, { raw }), [400]);
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses a wrong type for each top-level property, naming the property', async () => {
    let tried = 0;
    for (const o of withBody()) {
      const schema = deref(o.op.requestBody.content['application/json'].schema);
      for (const [property, propertySchema] of Object.entries((schema?.properties ?? {}) as Record<string, Json>)) {
        const value = wrongValue(propertySchema);
        if (value === undefined) continue;
        tried += 1;
        check(o, `{${property}: ${JSON.stringify(value)}}`, await request(o, { body: { [property]: value } }), refused(o), property);
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });

  it('refuses an unknown field with 400, naming it (no mass assignment)', async () => {
    for (const o of withBody()) {
      const schema = deref(o.op.requestBody.content['application/json'].schema);
      if (schema?.type === 'object' && schema.additionalProperties !== false) {
        problems.push(`${o.method.toUpperCase()} ${o.path}: its body schema accepts unknown fields`);
      }
      check(o, 'unknown field', await request(o, { body: { __unknown_field__: 1 } }), refused(o), '__unknown_field__');
    }
    expect(problems).toEqual([]);
  });

  it('refuses a body over the 1 MB limit with 413', async () => {
    for (const o of withBody()) check(o, 'oversize body', await request(o, { raw: OVERSIZE }), [413]);
    expect(problems).toEqual([]);
  });

  it('refuses negative, huge and past-the-documented-maximum page numbers, sizes and offsets with 400; other numbers never fail the server', async () => {
    let paginated = 0;
    for (const o of withQuery()) {
      for (const p of (o.op.parameters as Json[]).filter((x) => x.in === 'query' && ['integer', 'number'].includes(deref(x.schema)?.type))) {
        const strict = PAGINATION.test(p.name);
        if (strict) paginated += 1;
        // The documented bound is the enforced one: one past it is refused too.
        const maximum = deref(p.schema)?.maximum as number | undefined;
        const beyond = strict && maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER ? [String(maximum + 1)] : [];
        for (const value of ['-1', HUGE, '1e400', 'NaN', ...beyond]) {
          const res = await request(o, { query: { [p.name]: value } });
          check(o, `?${p.name}=${value}`, res, strict ? refused(o) : [200, ...refused(o), 404, 409], strict ? p.name : undefined);
        }
      }
    }
    expect(paginated).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it('answers SQL-ish strings in every string filter without a server error', async () => {
    let filters = 0;
    for (const o of withQuery()) {
      for (const p of (o.op.parameters as Json[]).filter((x) => x.in === 'query' && deref(x.schema)?.type === 'string')) {
        filters += 1;
        for (const value of SQLISH) {
          const res = await request(o, { query: { [p.name]: value } });
          // Read-only lists answer 200 (the string is a value, never SQL); the rest refuse it.
          check(o, `?${p.name}=${value}`, res, [200, 400, 404, 409]);
        }
      }
    }
    expect(filters).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('wrote nothing: the rows of the brand and of the administrator are unchanged', async () => {
    expect(counts.requests).toBeGreaterThan(1000);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['tasks', 'audit_log', 'alert_rules', 'periodic_tasks', 'api_keys']));
    expect(await snapshot()).toEqual(before);
  });
});
