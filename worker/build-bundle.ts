import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PREBUILT_BUNDLE_PATH } from './worker-options';

/** Bundles workflows/ once at build time so workers start in a second instead of re-running webpack. */
async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger() });
  await writeFile(PREBUILT_BUNDLE_PATH, code);
  console.log(`workflow bundle written to ${PREBUILT_BUNDLE_PATH} (${Math.round(code.length / 1024)} KiB)`);
}

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
