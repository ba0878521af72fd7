import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ObservedResponse } from '../../api/middleware/response-observer';

/**
 * Every response the harness app sends is appended to `<TEST_TMP_DIR>/responses/<pid>.jsonl` (one file per jest worker
 * process, append-only, so parallel workers never share a file). global-teardown checks them against /openapi.json.
 */

/** Larger bodies (a 500-row page of wide rows) are recorded without their body, as `too_large`. */
const MAX_RECORDED_BODY = 2 * 1024 * 1024;

export interface RecordedResponse extends Omit<ObservedResponse, 'bodyKind'> {
  bodyKind: ObservedResponse['bodyKind'] | 'too_large';
  /** The jest test file that made the request. */
  file?: string;
}

export function responsesDirectory(tmpDir = process.env.TEST_TMP_DIR): string | undefined {
  return tmpDir ? join(tmpDir, 'responses') : undefined;
}

export function openApiDocumentPath(tmpDir = process.env.TEST_TMP_DIR): string | undefined {
  return tmpDir ? join(tmpDir, 'openapi.json') : undefined;
}

let ready = false;

export function recordResponse(response: ObservedResponse): void {
  const dir = responsesDirectory();
  if (!dir) return;
  if (!ready) {
    mkdirSync(dir, { recursive: true });
    ready = true;
  }
  const file = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.().testPath;
  let line = JSON.stringify({ ...response, file } satisfies RecordedResponse);
  if (line.length > MAX_RECORDED_BODY) line = JSON.stringify({ ...response, body: undefined, bodyKind: 'too_large', file } satisfies RecordedResponse);
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${line}\n`);
}

/** The app's /openapi.json, for the end-of-run check (every worker writes the same document; the last write wins whole). */
export function saveOpenApiDocument(document: string): void {
  const path = openApiDocumentPath();
  if (!path) return;
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, document);
  renameSync(partial, path);
}
