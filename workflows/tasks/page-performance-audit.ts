import { isCancellation } from '@temporalio/workflow';
import { z } from 'zod';
import { fetchOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `page_performance_audit`: measures 1..20 pages with real requests (time to first byte, download time, transfer
 * and decoded HTML size, compression, caching headers, same-site asset weights, render-blocking resources) and
 * grades each against `thresholds`. One activity per page: a page that cannot be fetched is reported, not fatal.
 */
export const DEFAULT_PERFORMANCE_THRESHOLDS = {
  ttfb_ms: 800,
  total_ms: 3000,
  html_kb: 500,
  page_weight_kb: 3000,
  max_render_blocking: 3,
} as const;

export const pagePerformanceAuditContextSchema = z
  .object({
    urls: z.array(httpUrl).min(1).max(20),
    ...fetchOptionsShape,
    /** Same-site assets (scripts, stylesheets, images) fetched per page to weigh them; 0 = only the HTML. */
    max_assets: z.number().int().min(0).max(200).default(50),
    thresholds: z
      .object({
        ttfb_ms: z.number().positive().max(120_000).default(DEFAULT_PERFORMANCE_THRESHOLDS.ttfb_ms),
        total_ms: z.number().positive().max(600_000).default(DEFAULT_PERFORMANCE_THRESHOLDS.total_ms),
        html_kb: z.number().positive().max(100_000).default(DEFAULT_PERFORMANCE_THRESHOLDS.html_kb),
        page_weight_kb: z.number().positive().max(1_000_000).default(DEFAULT_PERFORMANCE_THRESHOLDS.page_weight_kb),
        max_render_blocking: z.number().int().min(0).max(1000).default(DEFAULT_PERFORMANCE_THRESHOLDS.max_render_blocking),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type PagePerformanceAuditContext = z.infer<typeof pagePerformanceAuditContextSchema>;
export type PerformanceThresholds = PagePerformanceAuditContext['thresholds'];

export type CheckStatus = 'pass' | 'warn' | 'fail';
export interface PerformanceCheck {
  metric: string;
  value: number;
  threshold: number;
  status: CheckStatus;
}

export interface CachingInfo {
  cache_control: string | null;
  /** `s-maxage`, else `max-age`, in seconds. */
  max_age: number | null;
  etag: string | null;
  last_modified: string | null;
  expires: string | null;
  /** A freshness lifetime is given (max-age > 0 or a future Expires) and no-store is absent. */
  cacheable: boolean;
  /** An ETag or Last-Modified lets a client revalidate cheaply. */
  revalidatable: boolean;
}

export interface AssetReport {
  url: string;
  type: 'script' | 'stylesheet' | 'image';
  same_site: boolean;
  fetched: boolean;
  /** Why it was not fetched. */
  skipped_reason?: 'off_site' | 'max_assets';
  status?: number | null;
  content_type?: string | null;
  transfer_bytes?: number;
  decoded_bytes?: number;
  content_encoding?: string | null;
  caching?: CachingInfo;
  error?: string | null;
}

export interface PagePerformanceReport {
  url: string;
  final_url: string | null;
  status: number | null;
  /** Set when the page could not be audited (fetch failed, error status, not HTML); no checks then. */
  error: string | null;
  redirects: string[];
  timing: { ttfb_ms: number; total_ms: number } | null;
  html: {
    transfer_bytes: number;
    decoded_bytes: number;
    content_encoding: string | null;
    compressed: boolean;
    /** decoded / transfer (1 when sent uncompressed). */
    compression_ratio: number;
    /** Percentage of the decoded size saved on the wire. */
    savings_percent: number;
    truncated: boolean;
  } | null;
  caching: CachingInfo | null;
  assets: {
    found: number;
    fetched: number;
    skipped_off_site: number;
    skipped_max_assets: number;
    failed: number;
    transfer_bytes: number;
    decoded_bytes: number;
    by_type: Record<'script' | 'stylesheet' | 'image', { count: number; fetched: number; transfer_bytes: number; decoded_bytes: number }>;
    uncompressed_text: number;
    uncached: number;
    items: AssetReport[];
    items_truncated: boolean;
  } | null;
  render_blocking: { count: number; resources: { url: string; type: 'script' | 'stylesheet' }[] } | null;
  /** HTML + fetched assets, as transferred. */
  page_weight_bytes: number | null;
  checks: PerformanceCheck[];
  /** 0..100: pass = 1, warn = 0.5, fail = 0, averaged over the checks. */
  score: number | null;
}

export interface PagePerformanceAuditResult {
  pages: PagePerformanceReport[];
  thresholds: PerformanceThresholds;
  summary: {
    pages_audited: number;
    pages_failed: number;
    /** Mean of the audited pages' scores, or null when none could be audited. */
    score: number | null;
    checks: Record<CheckStatus, number>;
  };
  [key: string]: unknown;
}

export const page_performance_audit = defineTaskWorkflow<PagePerformanceAuditContext>({
  type: 'page_performance_audit',
  contextSchema: pagePerformanceAuditContextSchema,
  async run({ context, activities }) {
    const { auditPagePerformance } = activities({
      startToCloseTimeout: '30 minutes',
      retry: { maximumAttempts: 3, initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
    });
    const pages: PagePerformanceReport[] = [];
    for (let index = 0; index < context.urls.length; index += 1) {
      const url = context.urls[index]!;
      try {
        pages.push(await auditPagePerformance({ url, index, total: context.urls.length, context }));
      } catch (err) {
        if (isCancellation(err)) throw err;
        pages.push(failedPage(url, err));
      }
    }
    const audited = pages.filter((p) => p.score !== null);
    const checks: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
    for (const p of audited) for (const c of p.checks) checks[c.status] += 1;
    const result: PagePerformanceAuditResult = {
      pages,
      thresholds: context.thresholds,
      summary: {
        pages_audited: audited.length,
        pages_failed: pages.length - audited.length,
        score: audited.length ? Math.round(audited.reduce((s, p) => s + p.score!, 0) / audited.length) : null,
        checks,
      },
    };
    return result;
  },
});

function failedPage(url: string, err: unknown): PagePerformanceReport {
  // An ActivityFailure says "Activity task failed"; its cause carries the real message.
  let message = err instanceof Error ? err.message : String(err);
  let cause = err instanceof Error ? err.cause : undefined;
  while (cause instanceof Error) {
    message = cause.message;
    cause = cause.cause;
  }
  return {
    url,
    final_url: null,
    status: null,
    error: message.slice(0, 1000),
    redirects: [],
    timing: null,
    html: null,
    caching: null,
    assets: null,
    render_blocking: null,
    page_weight_bytes: null,
    checks: [],
    score: null,
  };
}
