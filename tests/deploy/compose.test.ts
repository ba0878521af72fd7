import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../../api/config';

/**
 * docker-compose.yml cannot run here (no Docker): this checks its shape against the Compose Specification (the subset in
 * tests/fixtures/compose, see its $comment) and that its settings are the local ones (api/config.ts, scripts/dev-stack.sh).
 */
const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Healthcheck { test?: string | string[]; disable?: boolean }
interface Service {
  build?: string;
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
}

// YAML merge keys (<<: *app) resolved the way compose resolves them.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
/** `${NAME:-default}` → { name, fallback }; a plain value → { fallback: value }. */
const interpolation = (value: unknown) => {
  const m = /^\$\{(\w+)(?::?-(.*))?\}$/.exec(String(value));
  return m ? { name: m[1], fallback: m[2] ?? '' } : { name: undefined, fallback: String(value) };
};
const localDefaults = loadConfig({}) as unknown as Record<string, unknown>;
const ONE_SHOTS = ['temporal-init', 'migrate'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification (subset)', () => {
    const schema = JSON.parse(read('tests/fixtures/compose/compose-spec-subset.schema.json')) as object;
    const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    // The check has teeth: a misspelt key or a wrong depends_on condition is refused.
    const api = service('api');
    expect(validate({ services: { api: { ...api, helthcheck: api.healthcheck } } })).toBe(false);
    expect(validate({ services: { api: { ...api, depends_on: { migrate: { condition: 'service_done' } } } } })).toBe(false);
  });

  it('has the whole stack: PostgreSQL, Temporal with its schema and search attributes, the Web UI, migrations, API and both workers', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'go-worker', 'migrate', 'postgres', 'temporal', 'temporal-init', 'temporal-ui', 'worker']);
    expect(service('postgres').healthcheck?.test).toBeDefined();
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    for (const name of Object.keys(services)) {
      const image = service(name).image;
      if (image && !service(name).build) expect(image).toMatch(/:\d[\w.-]*$/); // pinned, never :latest
    }
    expect(service('go-worker').build).toBe('./workers/go');
  });

  it('gives every long-running service a health check and lets api/worker start only after migrations and Temporal setup', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOTS.includes(name)) continue;
      // Either in the compose file or in the Dockerfile of the service's build context.
      const inImage = s.build !== undefined && /^HEALTHCHECK /m.test(read(join(s.build, 'Dockerfile')));
      const checked = s.healthcheck?.disable !== true && (s.healthcheck?.test !== undefined || inImage);
      expect({ name, checked }).toEqual({ name, checked: true });
    }
    expect(JSON.stringify(service('api').healthcheck?.test)).toContain('/ready');
    for (const name of ['api', 'worker']) {
      expect(service(name).depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        'temporal-init': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('publishes the API, Temporal and the Web UI on the ports the local stack uses', () => {
    const apiPort = String(localDefaults.PORT);
    expect(service('api').ports).toEqual([`127.0.0.1:${apiPort}:${apiPort}`]);
    expect(service('api').environment?.PORT).toBe(apiPort);
    const temporalPort = String(localDefaults.TEMPORAL_ADDRESS).split(':')[1];
    expect(service('temporal').ports).toEqual([`127.0.0.1:${temporalPort}:7233`]);
    const uiPort = new URL(String(localDefaults.TEMPORAL_UI_URL)).port;
    expect(service('temporal-ui').ports).toEqual([`127.0.0.1:${uiPort}:8080`]);
    expect(service('api').environment?.TEMPORAL_UI_URL).toBe(localDefaults.TEMPORAL_UI_URL);
  });

  it('sets for api, worker and migrate only variables the app reads, with the local defaults, and the ones a container needs', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const env = service(name).environment ?? {};
      expect(Object.keys(env).filter((k) => !(CONFIG_KEYS as string[]).includes(k))).toEqual([]);
      // Where the local default would be wrong inside a container (hosts, listen address, files) or refused (production secret).
      for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'HOST', 'EXPORT_DIR', 'JWT_SECRET']) expect(env[key]).toBeTruthy();
      for (const [key, value] of Object.entries(env)) {
        const { name: variable, fallback } = interpolation(value);
        // An overridable setting keeps the local default (the Temporal host is the one exception: a service name here).
        if (variable === key && key !== 'TEMPORAL_ADDRESS' && localDefaults[key] !== undefined) {
          expect({ key, fallback }).toEqual({ key, fallback: String(localDefaults[key]) });
        }
      }
    }
    // The TLS / API key settings pass through, so a Temporal cluster or Temporal Cloud is a matter of .env.
    for (const key of ['TEMPORAL_TLS', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY']) {
      expect(interpolation(service('api').environment?.[key]).name).toBe(key);
    }
    expect(service('go-worker').environment).toEqual({
      TEMPORAL_ADDRESS: service('api').environment?.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: service('api').environment?.TEMPORAL_NAMESPACE,
      TEMPORAL_TASK_QUEUE: service('api').environment?.TEMPORAL_TASK_QUEUE,
    });
  });

  it('configures Temporal like scripts/dev-stack.sh: the same search attributes and dynamic config', () => {
    const devStack = read('scripts/dev-stack.sh');
    const devAttributes = /SEARCH_ATTRIBUTES=\(([^)]*)\)/.exec(devStack)?.[1]?.trim().split(/\s+/).sort();
    const init = JSON.stringify(service('temporal-init'));
    const composeAttributes = /for sa in ([\w ]+); do/.exec(init)?.[1]?.trim().split(/\s+/).sort();
    expect(composeAttributes).toEqual(devAttributes);

    const devDynamic = Object.fromEntries(
      [...devStack.matchAll(/--dynamic-config-value ([\w.]+)=(\S+)/g)].map(([, key, raw = '']) => [key, JSON.parse(raw.replace(/^'(.*)'$/, '$1')) as unknown]),
    );
    const deployed = parse(read('deploy/temporal-dynamic-config.yaml')) as Record<string, [{ value: unknown }]>;
    const deployedValues = Object.fromEntries(Object.entries(deployed).map(([key, [entry]]) => [key, entry.value]));
    expect(deployedValues).toEqual(devDynamic);
    expect(deployedValues['matching.useNewMatcher']).toBe(true);
  });
});
