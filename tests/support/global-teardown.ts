import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dropDatabase } from './database';
import { checkResponses, formatResponseCheck, readRecordedResponses } from './response-check';
import { openApiDocumentPath, responsesDirectory } from './response-log';
import type { DevServer } from './temporal-server';

export default async function globalTeardown(): Promise<void> {
  const res = (globalThis as Record<string, unknown>).__TEST_RESOURCES__ as { server: DevServer; dbName: string; dir: string } | undefined;
  if (!res) return;
  // Read before the directory goes; fail the run after everything is cleaned up.
  const failure = checkRecordedResponses(res.dir);
  await res.server.stop();
  await dropDatabase(res.dbName);
  rmSync(res.dir, { recursive: true, force: true });
  if (failure) throw new Error(failure);
}

/** Every response the suite received through the harness, against /openapi.json (tests/support/response-check.ts). */
function checkRecordedResponses(dir: string): string | undefined {
  const documentPath = openApiDocumentPath(dir)!;
  const records = readRecordedResponses(responsesDirectory(dir)!);
  if (!records.length) return undefined;
  if (!existsSync(documentPath)) {
    console.log(`\n[openapi] ${records.length} responses recorded but no /openapi.json was saved: not checked`);
    return undefined;
  }
  const report = checkResponses(JSON.parse(readFileSync(documentPath, 'utf8')), records);
  console.log(`\n${formatResponseCheck(report)}`);
  if (!report.failures.length) return undefined;
  return `${report.failures.length} documented response schema(s) violated by responses of the test suite: ${report.failures.map((f) => f.operation).join(', ')} (details above)`;
}
