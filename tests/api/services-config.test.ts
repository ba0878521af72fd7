import { readFileSync } from 'node:fs';
import { availableTaskTypes } from '../../workflows/tasks/registry';
import {
  loadServicesAndClients,
  parseServicesAndClients,
  ServicesConfigError,
} from '../../api/services-config/services-config.loader';

const KNOWN = ['noop', 'generic', 'text_statistics'];

const service = (over: Record<string, string> = {}) => {
  const f = { name: 'core', task_queue: 'q-main', task_types: '"*"', ...over };
  return `  - name: ${f.name}
    task_queue: ${f.task_queue}
    task_types: ${f.task_types}
    concurrency: 5
    timeouts: { start_to_close_seconds: 60 }
    retry: { maximum_attempts: 3, initial_interval_seconds: 1, backoff_coefficient: 2, maximum_interval_seconds: 30 }
`;
};

const goodClients = `clients:
  - name: site-a
    brand: brand-a
    api_key_ref: SITE_A_API_KEY
    notifications:
      webhook: { url: "http://127.0.0.1:9000/hooks", hmac_secret_env: SITE_A_WEBHOOK_SECRET }
      email: [ops@example.com]
    events: [task.completed, task.failed]
`;

function parse(servicesText: string, clientsText = goodClients, env: NodeJS.ProcessEnv = {}) {
  return parseServicesAndClients(
    { servicesFile: 'svc.yaml', servicesText, clientsFile: 'cli.yaml', clientsText },
    { knownTaskTypes: KNOWN, env },
  );
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ServicesConfigError);
    expect((err as Error).message).toContain('Invalid services/clients configuration');
    return (err as ServicesConfigError).problems;
  }
  throw new Error('expected a ServicesConfigError');
}

describe('services and clients configuration', () => {
  it('loads good files: "*" takes the types no other service names, ${VAR:-default} is replaced', () => {
    const cfg = parse(`services:\n${service({ task_queue: '${MAIN_QUEUE:-fallback}' })}${service({ name: 'go', task_queue: 'q-go', task_types: '[text_statistics]' })}`, goodClients, { MAIN_QUEUE: 'from-env' });
    expect(cfg.services.map((s) => [s.name, s.task_queue, s.task_types])).toEqual([
      ['core', 'from-env', ['noop', 'generic']],
      ['go', 'q-go', ['text_statistics']],
    ]);
    expect(cfg.serviceOfTaskType).toEqual({ noop: 'core', generic: 'core', text_statistics: 'go' });
    expect(cfg.clients[0]).toMatchObject({ name: 'site-a', api_key_ref: 'SITE_A_API_KEY', events: ['task.completed', 'task.failed'] });
    expect(parse(`services:\n${service({ task_queue: '${UNSET_QUEUE:-fallback}' })}`).services[0]?.task_queue).toBe('fallback');
  });

  it('loads the committed default files against the real registry', () => {
    const cfg = loadServicesAndClients({ TEMPORAL_TASK_QUEUE: 'tq' });
    expect(Object.keys(cfg.serviceOfTaskType).sort()).toEqual([...availableTaskTypes()].sort());
    expect(cfg.services.find((s) => s.name === 'core')?.task_queue).toBe('tq');
    expect(cfg.services.find((s) => s.name === 'go')?.task_queue).toBe('tq-go');
    expect(cfg.clients).toEqual([]);
  });

  it('the commented example client in clients.yaml is valid once uncommented', () => {
    const text = readFileSync('config/clients.yaml', 'utf8');
    const example = text.slice(text.indexOf('# clients:')).replace(/^# ?/gm, '');
    expect(parse(`services:\n${service()}`, example).clients[0]).toMatchObject({ name: 'example-site', brand: 'example' });
  });

  it('names the file, the path and the reason for schema mistakes', () => {
    const bad = `services:
  - name: core
    task_queue: q
    task_types: "*"
    concurrency: 0
    timeouts: { start_to_close_seconds: 60 }
    retry: { maximum_attempts: 3, initial_interval_seconds: 1, backoff_coefficient: 2, maximum_interval_seconds: 30 }
    extra: 1
`;
    const problems = problemsOf(() => parse(bad));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^svc\.yaml: services\[0\]\.concurrency: .*>=1/)]));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^svc\.yaml: services\[0\]: .*extra/)]));
    expect(problemsOf(() => parse('services: []\n'))).toEqual([expect.stringMatching(/^svc\.yaml: services: /)]);
    expect(problemsOf(() => parse(''))).toEqual([expect.stringMatching(/^svc\.yaml: services: /)]);
  });

  it('reports YAML syntax errors with the file and line', () => {
    expect(problemsOf(() => parse('services:\n  - name: [unclosed\n'))).toEqual([expect.stringMatching(/^svc\.yaml: line \d+, column \d+: YAML syntax error/)]);
  });

  it('refuses an unknown task type', () => {
    expect(problemsOf(() => parse(`services:\n${service({ task_types: '[noop, nope]' })}`))).toEqual(
      expect.arrayContaining([expect.stringContaining('svc.yaml: services[0].task_types[1]: unknown task type "nope"')]),
    );
  });

  it('refuses a task type served by two services, duplicate task queues and names, two "*" services', () => {
    const problems = problemsOf(() =>
      parse(
        `services:\n${service({ task_types: '[noop]' })}${service({ name: 'other', task_types: '[noop, generic, text_statistics]' })}${service({ name: 'other', task_queue: 'q-3', task_types: '"*"' })}${service({ name: 'last', task_queue: 'q-4', task_types: '"*"' })}`,
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'svc.yaml: services[1].task_types[0]: task type "noop" is already served by service "core" (services[0].task_types[0]); a type is served by one service',
        'svc.yaml: services[1].task_queue: "q-main" is already the task queue of services[0]',
        'svc.yaml: services[2].name: "other" is already the name of services[1]',
        'svc.yaml: services[3].task_types: only one service may serve "*" (services[2] already does)',
      ]),
    );
  });

  it('refuses registered types nobody serves when no service has "*"', () => {
    expect(problemsOf(() => parse(`services:\n${service({ task_types: '[noop]' })}`))).toEqual([
      expect.stringContaining('svc.yaml: services: no service serves the registered task type(s) "generic", "text_statistics"'),
    ]);
  });

  it('refuses an unset environment variable without a default', () => {
    expect(problemsOf(() => parse(`services:\n${service({ task_queue: '${NOT_SET_QUEUE}' })}`))).toEqual(
      expect.arrayContaining([expect.stringContaining('svc.yaml: services[0].task_queue: environment variable NOT_SET_QUEUE is not set')]),
    );
  });

  it('names the clients file, the path and the reason: secret written inline, bad URL, unknown event, nowhere to notify', () => {
    const clients = `clients:
  - name: site-a
    brand: brand-a
    api_key_ref: "sk_live_abc123"
    notifications:
      webhook: { url: "ftp://127.0.0.1/x", hmac_secret_env: SECRET }
    events: [task.exploded]
  - name: site-b
    brand: brand-b
    api_key_ref: SITE_B_KEY
    events: [task.failed]
`;
    const problems = problemsOf(() => parse(`services:\n${service()}`, clients));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^cli\.yaml: clients\[0\]\.api_key_ref: must be the NAME of an environment variable/),
        expect.stringMatching(/^cli\.yaml: clients\[0\]\.notifications\.webhook\.url: /),
        expect.stringMatching(/^cli\.yaml: clients\[0\]\.events\[0\]: /),
      ]),
    );
    // Schema mistakes stop before cross-checks; the cross-check alone:
    const onlyB = clients.slice(clients.indexOf('  - name: site-b')).replace(/^/, 'clients:\n');
    expect(problemsOf(() => parse(`services:\n${service()}`, onlyB))).toEqual([
      'cli.yaml: clients[0].notifications: the client wants events but has no webhook and no email to send them to',
    ]);
  });

  it('names a missing file', () => {
    expect(problemsOf(() => loadServicesAndClients({ SERVICES_CONFIG_FILE: '/nonexistent/services.yaml' }))).toEqual([
      expect.stringMatching(/^\/nonexistent\/services\.yaml: \(file\): cannot be read/),
    ]);
  });
});
