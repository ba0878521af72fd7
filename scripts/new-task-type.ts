import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run new:task-type -- <task_type>`: writes a working skeleton of a new task type (workflow + schema,
 * activity, test) and registers it at the `// @generator` markers. See docs/adding-a-task-type.md.
 */
const ROOT = join(__dirname, '..', '..');

function main(): void {
  const name = process.argv[2] ?? '';
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name) || name.length > 64) {
    throw new Error('usage: npm run new:task-type -- <snake_case_name>   (e.g. slack_message)');
  }
  const kebab = name.replace(/_/g, '-');
  const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const pascal = camel[0]!.toUpperCase() + camel.slice(1);
  const files: Record<string, string> = {
    [`workflows/tasks/${kebab}.ts`]: `import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

export const ${camel}ContextSchema = z
  .object({
    items: z.array(z.string().min(1).max(200)).min(1).max(1000),
  })
  .strict();
export type ${pascal}Context = z.infer<typeof ${camel}ContextSchema>;

export const ${name} = defineTaskWorkflow<${pascal}Context>({
  type: '${name}',
  contextSchema: ${camel}ContextSchema,
  async run({ context, activities }) {
    const { run${pascal} } = activities({ startToCloseTimeout: '10 minutes' });
    return run${pascal}(context);
  },
});
`,
    [`activities/${kebab}.activities.ts`]: `import { Context } from '@temporalio/activity';
import type { ${pascal}Context } from '../workflows/tasks/${kebab}';
import type { ActivityDeps } from './deps';
import { createProgressReporter } from './progress';

export function create${pascal}Activities(deps: ActivityDeps) {
  return {
    async run${pascal}(context: ${pascal}Context): Promise<Record<string, unknown>> {
      const report = createProgressReporter(deps);
      const processed: string[] = [];
      for (const [i, item] of context.items.entries()) {
        if (Context.current().cancellationSignal.aborted) break; // heartbeats deliver cancellation
        processed.push(item.toUpperCase()); // TODO: the real work
        await report(((i + 1) / context.items.length) * 100);
      }
      return { processed };
    },
  };
}
`,
    [`tests/workflows/${kebab}.test.ts`]: `import { createTestContext, type TestContext } from '../support/harness';

describe('${name} task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  it('processes its items', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: '${name}', context_data: { items: ['a', 'b'] } });
    expect(res.status).toBe(201);
    const task = await t.waitForTask(res.body.id, (x) => x.status === 'completed');
    expect(task.result_data).toEqual({ processed: ['A', 'B'] });
  });

  it('rejects bad context_data', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: '${name}', context_data: { items: [] } });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty(['context_data.items']);
  });
});
`,
  };
  for (const path of Object.keys(files)) if (existsSync(join(ROOT, path))) throw new Error(`${path} already exists`);
  const inserts: [string, string][] = [
    ['workflows/tasks/registry.ts', `import { ${camel}ContextSchema } from './${kebab}';\n`],
    ['workflows/tasks/registry.ts', `  ${name}: { name: '${name}', label: '${pascal}', category: 'platform', contextSchema: ${camel}ContextSchema },\n`],
    ['workflows/index.ts', `export { ${name} } from './tasks/${kebab}';\n`],
    ['activities/index.ts', `import { create${pascal}Activities } from './${kebab}.activities';\n`],
    ['activities/index.ts', `    ...create${pascal}Activities(deps),\n`],
  ];
  for (const [path, content] of Object.entries(files)) writeFileSync(join(ROOT, path), content);
  // Each file has one marker per insertion kind: imports go before `// @generator-imports`, the rest before `// @generator`.
  for (const [path, line] of inserts) {
    const file = join(ROOT, path);
    const text = readFileSync(file, 'utf8');
    const marker = line.startsWith('import') ? '// @generator-imports' : '// @generator (';
    const at = text.indexOf(marker);
    if (at < 0) throw new Error(`marker "${marker.trim()}" not found in ${path}`);
    const lineStart = text.lastIndexOf('\n', at) + 1;
    writeFileSync(file, text.slice(0, lineStart) + line + text.slice(lineStart));
  }
  console.log(`created ${Object.keys(files).join(', ')} and registered ${name}.
next: write the real work, run its test (npm test -- tests/workflows/${kebab}.test.ts), document it in docs/task-types.md,
and add a case to tests/support/record-histories.recorder.ts, then npm run record-histories -- -t '${name}'.`);
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
