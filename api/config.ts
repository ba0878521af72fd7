import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_DATABASE_URL } from '../db/mikro-orm.config';

const INSECURE_DEV_SECRET = 'dev-only-insecure-secret-change-me-0123456789';

/** An optional setting where an empty value means unset (compose passes `${VAR:-}` through as ""). */
const optionalSetting = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().default('127.0.0.1'),
  /** Public base URL of the API, used in links; defaults to http://HOST:PORT. */
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().default(DEFAULT_DATABASE_URL),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('durable-tasks'),
  /**
   * Temporal cluster or Temporal Cloud instead of the local dev server (docs/operations.md): TLS on (implied by any of
   * the TLS settings or an API key); mTLS client certificate and key and a private CA, each a file path or the PEM
   * itself; the TLS server name when it differs from the address host; a Temporal Cloud API key.
   */
  TEMPORAL_TLS: z.stringbool().default(false),
  TEMPORAL_TLS_CERT: optionalSetting,
  TEMPORAL_TLS_KEY: optionalSetting,
  TEMPORAL_TLS_CA: optionalSetting,
  TEMPORAL_TLS_SERVER_NAME: optionalSetting,
  TEMPORAL_API_KEY: optionalSetting,
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  JWT_SECRET: z.string().min(32).default(INSECURE_DEV_SECRET),
  JWT_ISSUER: z.string().default('durable-tasks'),
  JWT_AUDIENCE: z.string().default('durable-tasks-api'),
  /** Where data_export writes its files. */
  EXPORT_DIR: z.string().default(resolve('.data/exports')),
  PAGE_SIZE_DEFAULT: z.coerce.number().int().min(1).default(25),
  PAGE_SIZE_MAX: z.coerce.number().int().min(1).default(500),
  /** How often the reconciler schedule repairs the mirror from Temporal, and how old a row must be to be checked. */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(30),
  RECONCILE_STALE_AFTER_SECONDS: z.coerce.number().int().min(0).default(15),
  /** How often the auto-resume schedule resumes persistent jobs with `auto_resume` that can resume (all brands). */
  AUTO_RESUME_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(300),
  /**
   * Scheduling: normal delay between a Schedule's fire time and a worker starting the firing, not counted against a
   * schedule's catch-up window; and the catch-up window of a schedule created without one.
   */
  SCHEDULE_LATE_GRACE_SECONDS: z.coerce.number().int().min(0).default(5),
  SCHEDULE_DEFAULT_CATCHUP_SECONDS: z.coerce.number().int().min(0).default(60),
  /**
   * Cost of a task in USD per second of measured activity time, by task type (JSON object; `default` for the others),
   * e.g. {"default": 0.00002, "ai_content_generation": 0.002}.
   */
  METRIC_PRICE_TABLE: z
    .string()
    .default('{"default": 0.00002}')
    .transform((raw, ctx) => {
      try {
        const table = JSON.parse(raw) as unknown;
        if (table && typeof table === 'object' && !Array.isArray(table) && Object.values(table).every((v) => typeof v === 'number' && v >= 0)) {
          return table as Record<string, number>;
        }
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'Must be a JSON object of non-negative numbers (USD per second), e.g. {"default": 0.00002}' });
      return z.NEVER;
    }),
  /** Activity heartbeat timeout: how fast a dead worker's activity moves to a live one. */
  ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(15),
  /** Minimum interval between progress writes to the mirror per activity. */
  PROGRESS_WRITE_INTERVAL_MS: z.coerce.number().int().min(0).default(1000),
  /**
   * Multiplies the per-item work time of job types that wait (item job `item_ms`): 1 in production; tests and demos
   * run a job of seven simulated days in seconds with e.g. 0.00001 (Temporal's time-skipping server is not available here).
   */
  JOB_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  /**
   * Workers (monitoring): how often a worker writes its heartbeat row, and after how long without one it is offline
   * (unset: three heartbeat intervals of that worker). WORKER_BUILD_ID names the deployed build (default: a hash of
   * the workflow bundle).
   */
  WORKER_HEARTBEAT_SECONDS: z.coerce.number().positive().max(3600).default(10),
  WORKER_OFFLINE_AFTER_SECONDS: z.coerce.number().positive().max(86_400).optional(),
  WORKER_BUILD_ID: z.string().max(128).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Worker process: port of its prom-client `/metrics` (task transitions, mirror lag, reconciler drift, alert deliveries); 0 = off. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Worker process: port of the Temporal SDK Runtime's own Prometheus `/metrics` (pollers, slots, latencies); 0 = off. */
  TEMPORAL_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  /** OpenAI-compatible chat completions for ai_content_generation; unset → that type is refused at creation. */
  AI_API_BASE_URL: z.string().url().optional(),
  AI_API_KEY: z.string().optional(),
  AI_MODEL: z.string().default('gpt-4o-mini'),
  AI_TIMEOUT_SECONDS: z.coerce.number().positive().default(60),
  /**
   * Alert rules: how often the `system-evaluate-alerts` schedule evaluates every active rule; the SMTP server of e-mail
   * channels (e.g. smtp://user:pass@mail.example.com:587; unset → e-mail channels are refused at rule creation) and
   * their sender; the time one delivery attempt (HTTP call or SMTP session) may take.
   */
  ALERT_EVAL_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'Must be an smtp:// or smtps:// URL').optional(),
  ALERT_EMAIL_FROM: z.string().default('durable-tasks alerts <alerts@localhost>'),
  ALERT_DELIVERY_TIMEOUT_SECONDS: z.coerce.number().positive().max(60).default(10),
  /**
   * Admin bulk actions: the most jobs one bulk may touch (a wider filter is refused at the dry run), how long its
   * confirmation token stays valid, the jobs per activity call, and the pages a workflow run handles before it
   * continues as new (bounded history).
   */
  ADMIN_BULK_MAX_TARGETS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ADMIN_BULK_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  ADMIN_BULK_PAGE_SIZE: z.coerce.number().int().min(1).max(500).default(50),
  ADMIN_BULK_PAGES_PER_RUN: z.coerce.number().int().min(1).max(1000).default(20),
  /**
   * Public API v1: the task type of a task created without `type` (seed 003 creates tasks with a name and a payload only);
   * `generic` records a summary of the payload. The name shown by GET /info.
   */
  V1_DEFAULT_TASK_TYPE: z.string().min(1).max(64).default('generic'),
  APP_NAME: z.string().min(1).max(200).default('Distributed Task Queue System'),
  /**
   * WebSockets (/ws/metrics, /ws/tasks): the interval of metrics snapshots; the unsent bytes a socket may queue before it
   * is dropped as a slow consumer (close 1013); open sockets per user or API key (more: 429 before the upgrade); the
   * ping interval that finds dead peers (one missed pong and the socket is destroyed).
   */
  WS_METRICS_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
  WS_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(10),
  WS_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /**
   * Admin stats: how long the sums of a period's older hours are served before a background refresh (jobs finishing now
   * always count at once; backdated changes show within this delay). 0: every request adds up the whole period.
   */
  ADMIN_STATS_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /**
   * Request rate limits per API key, or per user for a Bearer token, on every authenticated route: a budget per hour and
   * a burst budget per minute (fixed windows that start at a caller's first request), counted in PostgreSQL so every
   * API process shares one budget. Past either: 429 RATE_LIMITED with Retry-After.
   */
  RATE_LIMIT_ENABLED: z.stringbool().default(true),
  RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(1).default(1000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(100),
}).superRefine((c, ctx) => {
  // An mTLS client certificate is useless without its key (and the reverse): say so at startup, not as a TLS handshake error.
  if (Boolean(c.TEMPORAL_TLS_CERT) !== Boolean(c.TEMPORAL_TLS_KEY)) {
    ctx.addIssue({
      code: 'custom',
      path: [c.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'],
      message: 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and its private key)',
    });
  }
});

export type AppConfig = z.infer<typeof configSchema>;

/** Every environment variable the API and the worker read (tests/deploy/compose.test.ts checks compose sets only these). */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof AppConfig)[];

/**
 * Parses the environment once. A `.env` file in the working directory (written by scripts/setup.sh with a
 * random JWT secret) is loaded first; real environment variables win over it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  if (env === process.env && existsSync('.env')) process.loadEnvFile('.env');
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const config = { ...parsed.data, ...overrides };
  if (config.NODE_ENV === 'production' && config.JWT_SECRET === INSECURE_DEV_SECRET) {
    throw new Error('JWT_SECRET must be set in production');
  }
  return config;
}

export function publicUrl(config: AppConfig): string {
  return config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
}
