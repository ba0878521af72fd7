import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { openApiPath } from '../../api/openapi/openapi-document';
import type { RecordedResponse } from './response-log';

/**
 * The end-of-run check: every response the test suite received whose route and status have a JSON schema in
 * /openapi.json must validate against it (JSON Schema 2020-12, formats included). A serializer that adds, drops or
 * retypes a field without its schema fails the run, naming the route, the status and the first schema errors.
 */

type Json = Record<string, any>;

export interface ResponseFailure {
  operation: string;
  count: number;
  example: { file?: string; path: string; errors: string[]; body: string };
}

export interface ResponseCheckReport {
  recorded: number;
  checked: number;
  failures: ResponseFailure[];
  /** Why the others were not checked, with counts. */
  unchecked: Record<string, number>;
  /** Statuses the suite received that their operation does not document, with counts (`get /tasks/{id} 418`). */
  undocumentedStatuses: Record<string, number>;
}

const COMPONENTS_ID = 'urn:openapi:components';

export function readRecordedResponses(directory: string): RecordedResponse[] {
  if (!existsSync(directory)) return [];
  const out: RecordedResponse[] = [];
  for (const name of readdirSync(directory).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(join(directory, name), 'utf8').split('\n')) {
      // A worker killed mid-write leaves at most a partial last line.
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as RecordedResponse);
      } catch {
        /* partial line */
      }
    }
  }
  return out;
}

/** The schema of `method path status` as JSON (application/json content), or why there is none. */
function responseSchema(document: Json, method: string, route: string, status: number): { schema?: Json; missing?: string } {
  if (route === 'unmatched') return { missing: 'no route matched' };
  const operation = document.paths?.[openApiPath(route)]?.[method.toLowerCase()] as Json | undefined;
  if (!operation) return { missing: 'route not in the document' };
  const response = (operation.responses?.[String(status)] ?? operation.responses?.default) as Json | undefined;
  if (!response) return { missing: 'status not documented' };
  const schema = response.content?.['application/json']?.schema as Json | undefined;
  if (!schema) return { missing: 'no JSON schema for the status' };
  return { schema };
}

/** `#/components/schemas/X` → the components schema registered in Ajv. */
function relocateRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relocateRefs);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : relocateRefs(v),
    ]),
  );
}

export function newResponseValidator(document: Json): (schema: Json) => ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: relocateRefs(document.components?.schemas ?? {}) as Json });
  const compiled = new Map<Json, ValidateFunction>();
  return (schema) => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(relocateRefs(schema) as Json);
      compiled.set(schema, validate);
    }
    return validate;
  };
}

export function checkResponses(document: Json, records: RecordedResponse[], root = process.cwd()): ResponseCheckReport {
  const validatorFor = newResponseValidator(document);
  const report: ResponseCheckReport = { recorded: records.length, checked: 0, failures: [], unchecked: {}, undocumentedStatuses: {} };
  const failures = new Map<string, ResponseFailure>();
  const skip = (reason: string) => {
    report.unchecked[reason] = (report.unchecked[reason] ?? 0) + 1;
  };
  for (const r of records) {
    if (r.method === 'HEAD' || r.method === 'OPTIONS') {
      skip(`${r.method} request`);
      continue;
    }
    const { schema, missing } = responseSchema(document, r.method, r.route, r.status);
    const operation = `${r.method.toLowerCase()} ${r.route === 'unmatched' ? r.path : openApiPath(r.route)}`;
    if (!schema) {
      if (missing === 'status not documented') {
        const key = `${operation} ${r.status}`;
        report.undocumentedStatuses[key] = (report.undocumentedStatuses[key] ?? 0) + 1;
      }
      skip(missing!);
      continue;
    }
    if (r.bodyKind !== 'json') {
      skip(`documented JSON, recorded ${r.bodyKind}`);
      continue;
    }
    report.checked += 1;
    const validate = validatorFor(schema);
    if (validate(r.body)) continue;
    const key = `${operation} ${r.status}`;
    const failure = failures.get(key);
    if (failure) {
      failure.count += 1;
      continue;
    }
    failures.set(key, {
      operation: key,
      count: 1,
      example: {
        file: r.file ? relative(root, r.file) : undefined,
        path: r.path,
        errors: (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`),
        body: JSON.stringify(r.body).slice(0, 600),
      },
    });
  }
  report.failures = [...failures.values()];
  return report;
}

export function formatResponseCheck(report: ResponseCheckReport): string {
  const pct = report.recorded ? ((100 * report.checked) / report.recorded).toFixed(1) : '0';
  const lines = [
    `[openapi] responses checked against /openapi.json: ${report.checked} of ${report.recorded} recorded (${pct}%), ${report.failures.reduce((n, f) => n + f.count, 0)} invalid`,
    `[openapi] not checked: ${Object.entries(report.unchecked)
      .sort((a, b) => b[1] - a[1])
      .map(([why, n]) => `${n} ${why}`)
      .join('; ') || 'none'}`,
  ];
  const undocumented = Object.entries(report.undocumentedStatuses).sort((a, b) => b[1] - a[1]);
  if (undocumented.length) {
    lines.push(`[openapi] statuses received but not documented (${undocumented.length}): ${undocumented.slice(0, 15).map(([k, n]) => `${k} ×${n}`).join(', ')}${undocumented.length > 15 ? ', …' : ''}`);
  }
  for (const f of report.failures) {
    lines.push(
      `[openapi] INVALID ${f.operation} (×${f.count}) — e.g. ${f.example.path}${f.example.file ? ` in ${f.example.file}` : ''}`,
      ...f.example.errors.map((e) => `    ${e}`),
      `    body: ${f.example.body}`,
    );
  }
  return lines.join('\n');
}
