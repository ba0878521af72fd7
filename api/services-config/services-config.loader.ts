import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { TASK_STATUSES } from '../../workflows/contracts/task-types';
import { availableTaskTypes } from '../../workflows/tasks/registry';

/** A setting that names an environment variable; the secret itself never sits in the file. */
const envVarName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be the NAME of an environment variable (A-Z, 0-9, _), never the secret itself');

const serviceSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be lowercase letters, digits, - or _'),
  task_queue: z.string().min(1),
  /** "*" = every registered type no other service names (so a new type is served without editing this file). */
  task_types: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]),
  concurrency: z.int().min(1).max(10_000),
  timeouts: z.strictObject({
    start_to_close_seconds: z.number().positive(),
    schedule_to_close_seconds: z.number().positive().optional(),
  }),
  retry: z.strictObject({
    maximum_attempts: z.int().min(1),
    initial_interval_seconds: z.number().positive(),
    backoff_coefficient: z.number().min(1),
    maximum_interval_seconds: z.number().positive(),
  }),
  rate_limit_per_second: z.number().positive().optional(),
});

export const servicesFileSchema = z.strictObject({ services: z.array(serviceSchema).min(1) });
export type ServiceConfig = z.infer<typeof serviceSchema>;

export const CLIENT_EVENTS = TASK_STATUSES.map((s) => `task.${s}` as const);

const clientSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be lowercase letters, digits, - or _'),
  /** A brand slug; that it exists is a database question (not checked here). */
  brand: z.string().min(1),
  api_key_ref: envVarName,
  notifications: z
    .strictObject({
      webhook: z
        .strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          hmac_secret_env: envVarName,
        })
        .optional(),
      email: z.array(z.email()).min(1).optional(),
    })
    .default({}),
  events: z.array(z.enum(CLIENT_EVENTS as unknown as [string, ...string[]])).default([]),
});

export const clientsFileSchema = z.strictObject({ clients: z.array(clientSchema).default([]) });
export type ClientConfig = z.infer<typeof clientSchema>;

/** A service with "*" expanded: the exact task types it serves. */
export type ResolvedService = Omit<ServiceConfig, 'task_types'> & { task_types: string[] };

export interface ServicesAndClients {
  services: ResolvedService[];
  clients: ClientConfig[];
  /** task type → service name */
  serviceOfTaskType: Record<string, string>;
}

/** Every mistake in the files, each line "<file>: <path>: <reason>". */
export class ServicesConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid services/clients configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ServicesConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (!path.length) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** `${NAME}` / `${NAME:-default}` in string values, so the default queue follows TEMPORAL_TASK_QUEUE. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: string[], file: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${file}: ${formatPath(path)}: environment variable ${name} is not set (write \${${name}:-default} for a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], problems, file));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k], problems, file)]));
  }
  return value;
}

function parseYaml(text: string, file: string, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length) {
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      const at = `line ${pos.line}, column ${pos.col}`;
      problems.push(`${file}: ${at}: YAML syntax error: ${e.message.split('\n')[0]}`);
    }
    return undefined;
  }
  return interpolate(doc.toJS(), env, [], problems, file);
}

function validate<T>(schema: z.ZodType<T>, data: unknown, file: string, problems: string[]): T | undefined {
  const parsed = schema.safeParse(data ?? {});
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) problems.push(`${file}: ${formatPath(issue.path)}: ${issue.message}`);
  return undefined;
}

/**
 * Validates both files' texts (pure: no file system, no database). `knownTaskTypes` is the task type registry.
 * Throws ServicesConfigError listing every problem.
 */
export function parseServicesAndClients(
  input: { servicesFile: string; servicesText: string; clientsFile: string; clientsText: string },
  options: { knownTaskTypes: readonly string[]; env?: NodeJS.ProcessEnv },
): ServicesAndClients {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const { servicesFile: sf, clientsFile: cf } = input;
  const servicesRaw = parseYaml(input.servicesText, sf, env, problems);
  const clientsRaw = parseYaml(input.clientsText, cf, env, problems);
  const servicesDoc = servicesRaw === undefined && problems.length ? undefined : validate(servicesFileSchema, servicesRaw, sf, problems);
  const clientsDoc = clientsRaw === undefined && problems.some((p) => p.startsWith(`${cf}:`)) ? undefined : validate(clientsFileSchema, clientsRaw, cf, problems);

  const services: ResolvedService[] = [];
  const serviceOfTaskType: Record<string, string> = {};
  if (servicesDoc) {
    const known = new Set(options.knownTaskTypes);
    const seenNames = new Map<string, number>();
    const seenQueues = new Map<string, number>();
    const typeAt = new Map<string, { service: string; path: string }>();
    servicesDoc.services.forEach((s, i) => {
      const prevName = seenNames.get(s.name);
      if (prevName !== undefined) problems.push(`${sf}: services[${i}].name: "${s.name}" is already the name of services[${prevName}]`);
      else seenNames.set(s.name, i);
      const prevQueue = seenQueues.get(s.task_queue);
      if (prevQueue !== undefined) problems.push(`${sf}: services[${i}].task_queue: "${s.task_queue}" is already the task queue of services[${prevQueue}]`);
      else seenQueues.set(s.task_queue, i);
      if (s.task_types === '*') return;
      s.task_types.forEach((t, j) => {
        const path = `services[${i}].task_types[${j}]`;
        if (!known.has(t)) {
          problems.push(`${sf}: ${path}: unknown task type "${t}" (not in the task type registry, workflows/tasks/registry.ts)`);
          return;
        }
        const prev = typeAt.get(t);
        if (prev) problems.push(`${sf}: ${path}: task type "${t}" is already served by service "${prev.service}" (${prev.path}); a type is served by one service`);
        else typeAt.set(t, { service: s.name, path });
      });
    });
    const wildcards = servicesDoc.services.map((s, i) => ({ s, i })).filter(({ s }) => s.task_types === '*');
    const [firstWildcard, ...extraWildcards] = wildcards;
    for (const extra of extraWildcards) {
      problems.push(`${sf}: services[${extra.i}].task_types: only one service may serve "*" (services[${firstWildcard!.i}] already does)`);
    }
    const rest = options.knownTaskTypes.filter((t) => !typeAt.has(t));
    for (const s of servicesDoc.services) {
      const types = s.task_types === '*' ? rest : s.task_types.filter((t) => typeAt.get(t)?.service === s.name);
      services.push({ ...s, task_types: [...types] });
      for (const t of types) serviceOfTaskType[t] ??= s.name;
    }
    if (!wildcards.length && rest.length) {
      problems.push(`${sf}: services: no service serves the registered task type(s) ${rest.map((t) => `"${t}"`).join(', ')} (add them to a service or give one service task_types: "*")`);
    }
  }

  if (clientsDoc) {
    const seen = new Map<string, number>();
    clientsDoc.clients.forEach((c, i) => {
      const prev = seen.get(c.name);
      if (prev !== undefined) problems.push(`${cf}: clients[${i}].name: "${c.name}" is already the name of clients[${prev}]`);
      else seen.set(c.name, i);
      if (c.events.length && !c.notifications.webhook && !c.notifications.email) {
        problems.push(`${cf}: clients[${i}].notifications: the client wants events but has no webhook and no email to send them to`);
      }
    });
  }

  if (problems.length) throw new ServicesConfigError(problems);
  return { services, clients: clientsDoc!.clients, serviceOfTaskType };
}

export const DEFAULT_SERVICES_CONFIG_FILE = './config/services.yaml';
export const DEFAULT_CLIENTS_CONFIG_FILE = './config/clients.yaml';

function readText(file: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new ServicesConfigError([`${file}: (file): cannot be read: ${(err as Error).message}`]);
  }
}

/**
 * Reads SERVICES_CONFIG_FILE and CLIENTS_CONFIG_FILE (defaults ./config/services.yaml, ./config/clients.yaml,
 * relative to the working directory) once at start; a change takes effect on restart.
 * Brands named by clients are not checked against the database here.
 */
export function loadServicesAndClients(env: NodeJS.ProcessEnv = process.env): ServicesAndClients {
  const servicesFile = env.SERVICES_CONFIG_FILE || DEFAULT_SERVICES_CONFIG_FILE;
  const clientsFile = env.CLIENTS_CONFIG_FILE || DEFAULT_CLIENTS_CONFIG_FILE;
  return parseServicesAndClients(
    { servicesFile, servicesText: readText(servicesFile), clientsFile, clientsText: readText(clientsFile) },
    { knownTaskTypes: availableTaskTypes(), env },
  );
}
