import { createHash } from 'node:crypto';
import type { ActivityDeps } from './deps';
import { createProgressReporter } from './progress';

/** Keys listed in a summary at most (the count is always exact). */
const MAX_LISTED_KEYS = 50;

export interface PayloadSummary {
  bytes: number;
  sha256: string;
  key_count: number;
  keys: string[];
  /** How many values of each JSON type the payload holds, at any depth. */
  value_types: Record<string, number>;
  max_depth: number;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** What the `generic` task records about its payload: enough to check what it received, never the payload itself. */
export function summarizePayload(payload: Record<string, unknown>): PayloadSummary {
  const json = JSON.stringify(payload);
  const valueTypes: Record<string, number> = {};
  let maxDepth = 0;
  const stack: { value: unknown; depth: number }[] = Object.values(payload).map((value) => ({ value, depth: 1 }));
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    const type = jsonType(value);
    valueTypes[type] = (valueTypes[type] ?? 0) + 1;
    maxDepth = Math.max(maxDepth, depth);
    if (type === 'array') for (const v of value as unknown[]) stack.push({ value: v, depth: depth + 1 });
    else if (type === 'object') for (const v of Object.values(value as Record<string, unknown>)) stack.push({ value: v, depth: depth + 1 });
  }
  const keys = Object.keys(payload);
  return {
    bytes: Buffer.byteLength(json),
    sha256: createHash('sha256').update(json).digest('hex'),
    key_count: keys.length,
    keys: keys.slice(0, MAX_LISTED_KEYS),
    value_types: valueTypes,
    max_depth: maxDepth,
  };
}

export function createGenericActivities(deps: ActivityDeps) {
  return {
    /** The `generic` task's work: its payload's summary becomes the task's `result_data`. */
    async summarizePayload(input: { payload: Record<string, unknown>; name: string | null }): Promise<Record<string, unknown>> {
      const report = createProgressReporter(deps);
      const summary = summarizePayload(input.payload);
      await report(100, undefined, true);
      return { name: input.name, payload_summary: summary, processed_at: new Date().toISOString() };
    },
  };
}
