import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';

/**
 * Determinism guard: recorded histories of every workflow type are replayed against the current workflow code.
 * A change that would break running workflows (reordered activities, new timers without patching, ...) fails here.
 *
 * Record them (again, after an intentional and versioned change, or for a new workflow type):
 *   npm run record-histories      (tests/support/record-histories.recorder.ts)
 */
const DIR = join(__dirname, '..', 'fixtures', 'histories');
/** Every workflow exported by workflows/index.ts must have at least one recorded history. */
const WORKFLOW_TYPES = Object.keys(workflows);

function fixtures(): { name: string; json: unknown }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), json: JSON.parse(readFileSync(join(DIR, f), 'utf8')) }));
}

function workflowTypeOf(json: unknown): string | undefined {
  const events = (json as { events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] }).events;
  return events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

describe('replay of recorded histories against the current workflow code', () => {
  const all = fixtures();

  it('has at least one recorded history for every workflow type', () => {
    const covered = new Set(all.map((f) => workflowTypeOf(f.json)));
    for (const type of WORKFLOW_TYPES) expect(covered).toContain(type);
  });

  it.each(all.map((f) => [f.name, f.json] as const))('replays %s deterministically', async (name, json) => {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, historyFromJSON(json), name),
    ).resolves.toBeUndefined();
  });
});
