import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AiContentGenerationContext } from '../workflows/tasks/ai-content-generation';
import type { ContentOptimizationContext } from '../workflows/tasks/content-optimization';
import type { ContentPageInput, MetaTagsGenerationContext } from '../workflows/tasks/meta-tags-generation';
import { buildMessages, retryAfterMs, visibleText } from './content/ai-prompt';
import { buildMetaTags, normalizeSpace, type GeneratedMetaTags, type MetaIssue } from './content/meta-tags';
import { analysePage, type PageAnalysis, type Severity } from './content/optimize';
import { loadContentPage, pageLanguage, type ContentPage, type PageLoadError } from './content/page-source';
import type { ActivityDeps } from './deps';
import { createProgressReporter, startHeartbeat } from './progress';
import { USER_AGENT, limitsFrom } from './web/bounded-fetch';
import { countPhrase, tokenize } from './web/text-stats';

// ---------------------------------------------------------------------------------------------------------------
// result_data types

export interface AiContentGenerationResult {
  content: string;
  model: string;
  finish_reason: string | null;
  usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null };
  word_count: number;
  keywords_included: string[];
  keywords_missing: string[];
  format: 'markdown' | 'html' | 'text';
  language: 'en' | 'fr' | null;
  /** Activity attempt that succeeded (429/5xx answers before it were retried). */
  attempt: number;
}

export type MetaTagsPageResult = { source: string; url: string | null; status: number | null; language: 'en' | 'fr' } & GeneratedMetaTags;

export interface MetaTagsGenerationResult {
  pages: (MetaTagsPageResult | PageLoadError)[];
  summary: {
    pages: number;
    pages_generated: number;
    pages_failed: number;
    /** Existing-tag issues over all pages, by code. */
    issues_by_code: Record<string, number>;
  };
}

export type ContentOptimizationPageResult = { source: string; url: string | null; status: number | null } & Omit<PageAnalysis, 'suggestions' | 'suggestions_truncated'> & {
    suggestions?: PageAnalysis['suggestions'];
    suggestions_truncated?: boolean;
    meta_tags?: GeneratedMetaTags;
  };

export interface ContentOptimizationResult {
  pages: (ContentOptimizationPageResult | PageLoadError)[];
  summary: {
    pages: number;
    pages_analyzed: number;
    pages_failed: number;
    optimization_level: 'basic' | 'advanced';
    average_score: number | null;
    average_word_count: number | null;
    average_reading_ease: number | null;
    suggestions_by_severity: Record<Severity, number>;
    suggestions_by_type: Record<string, number>;
    keywords: { keyword: string; pages_missing: number; average_density: number | null }[];
  };
}

// ---------------------------------------------------------------------------------------------------------------

const RETRYABLE_STATUSES = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
/** An answer larger than this is refused: result_data (the content) must stay well under Temporal's 2 MB payload limit. */
const MAX_AI_RESPONSE_BYTES = 1_000_000;

export function createContentActivities(deps: ActivityDeps) {
  /**
   * Reads each page (fetched or given) and maps it; the results so far ride on the heartbeat, so a retried
   * attempt resumes after the last page done. HTTP errors are per-page findings; if no page could be read the
   * task fails (non-retryably: the same URLs would answer the same).
   */
  async function eachPage<T>(
    context: { pages: ContentPageInput[]; timeout_seconds: number; max_bytes: number; max_redirects: number; same_site_only: boolean },
    map: (page: ContentPage) => T,
  ): Promise<(T | PageLoadError)[]> {
    const ctx = Context.current();
    const report = createProgressReporter(deps);
    const limits = limitsFrom(context);
    const prior = ctx.info.heartbeatDetails as { done: (T | PageLoadError)[] } | undefined;
    const done = prior?.done ?? [];
    await report((done.length / context.pages.length) * 95, { done }, true);
    // Heartbeat during a slow fetch too (it can take up to timeout_seconds), so a cancel aborts it promptly.
    const stopBeat = startHeartbeat(1000, () => ({ done }));
    try {
      for (let i = done.length; i < context.pages.length; i++) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const load = await loadContentPage(context.pages[i]!, i, limits, ctx.cancellationSignal);
        done.push(load.ok ? map(load.page) : load.failure);
        await report(((i + 1) / context.pages.length) * 95, { done });
      }
    } finally {
      stopBeat();
    }
    const failures = done.filter((r): r is PageLoadError => typeof r === 'object' && r !== null && 'error' in r);
    if (failures.length === done.length) {
      throw ApplicationFailure.nonRetryable(
        `No page could be read: ${failures.slice(0, 5).map((f) => `${f.source} (${f.error})`).join('; ')}`,
        'NO_PAGE_READ',
      );
    }
    return done;
  }

  return {
    async generateMetaTags(context: MetaTagsGenerationContext): Promise<MetaTagsGenerationResult> {
      const options = {
        keywords: context.keywords,
        brandName: context.brand_name,
        titleMax: context.title_max,
        descriptionMin: context.description_min,
        descriptionMax: context.description_max,
        language: context.language,
      };
      const pages = await eachPage(context, (page): MetaTagsPageResult => ({
        source: page.source,
        url: page.url,
        status: page.status,
        language: pageLanguage(context.language, page.facts),
        ...buildMetaTags(page, options),
      }));
      const generated = pages.filter((p): p is MetaTagsPageResult => !('error' in p));
      addDuplicateIssues(generated);
      const issuesByCode: Record<string, number> = {};
      for (const p of generated) for (const i of p.issues) issuesByCode[i.code] = (issuesByCode[i.code] ?? 0) + 1;
      await createProgressReporter(deps)(100, undefined, true);
      return {
        pages,
        summary: { pages: pages.length, pages_generated: generated.length, pages_failed: pages.length - generated.length, issues_by_code: issuesByCode },
      };
    },

    async optimizeContent(context: ContentOptimizationContext): Promise<ContentOptimizationResult> {
      const metaOptions = {
        keywords: context.target_keywords,
        titleMax: 60,
        descriptionMin: 70,
        descriptionMax: 160,
        language: context.language,
      };
      const pages = await eachPage(context, (page): ContentOptimizationPageResult => {
        const analysis = analysePage(page, {
          keywords: context.target_keywords,
          level: context.optimization_level,
          language: context.language,
          targetWordCount: context.target_word_count,
          titleMax: metaOptions.titleMax,
        });
        const { suggestions, suggestions_truncated, ...rest } = analysis;
        return {
          source: page.source,
          url: page.url,
          status: page.status,
          ...rest,
          ...(context.include_content_suggestions ? { suggestions, suggestions_truncated } : {}),
          ...(context.include_meta_tags ? { meta_tags: buildMetaTags(page, metaOptions) } : {}),
        };
      });
      const analysed = pages.filter((p): p is ContentOptimizationPageResult => !('error' in p));
      const avg = (values: number[]) => (values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 : null);
      const bySeverity: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
      const byType: Record<string, number> = {};
      for (const p of analysed) {
        for (const s of p.suggestions ?? []) {
          bySeverity[s.severity] += 1;
          byType[s.type] = (byType[s.type] ?? 0) + 1;
        }
      }
      await createProgressReporter(deps)(100, undefined, true);
      return {
        pages,
        summary: {
          pages: pages.length,
          pages_analyzed: analysed.length,
          pages_failed: pages.length - analysed.length,
          optimization_level: context.optimization_level,
          average_score: avg(analysed.map((p) => p.score)),
          average_word_count: avg(analysed.map((p) => p.word_count)),
          average_reading_ease: avg(analysed.map((p) => p.readability.reading_ease)),
          suggestions_by_severity: bySeverity,
          suggestions_by_type: byType,
          keywords: context.target_keywords.map((keyword, i) => ({
            keyword,
            pages_missing: analysed.filter((p) => p.keywords[i]!.count === 0).length,
            average_density: avg(analysed.map((p) => p.keywords[i]!.density)),
          })),
        },
      };
    },

    /**
     * One chat completion. Heartbeats every second while waiting (so a cancel aborts the request); 429, 5xx and
     * network errors are retryable (after Retry-After when the provider sends one), other 4xx are not.
     */
    async generateAiContent(context: AiContentGenerationContext): Promise<AiContentGenerationResult> {
      const ctx = Context.current();
      const { AI_API_BASE_URL: base, AI_API_KEY: key, AI_MODEL: model, AI_TIMEOUT_SECONDS: timeoutSeconds } = deps.config;
      if (!base) throw ApplicationFailure.nonRetryable('AI_API_BASE_URL is not set on this worker', 'TASK_TYPE_NOT_CONFIGURED');
      const report = createProgressReporter(deps);
      await report(10, undefined, true);

      const body: Record<string, unknown> = { model, messages: buildMessages(context) };
      if (context.temperature !== undefined) body.temperature = context.temperature;
      if (context.max_tokens !== undefined) body.max_tokens = context.max_tokens;
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
      if (key) headers.authorization = `Bearer ${key}`;
      const endpoint = `${base.replace(/\/+$/, '')}/chat/completions`;

      const deadline = AbortSignal.timeout(timeoutSeconds * 1000);
      const stopBeat = startHeartbeat(1000);
      let status: number;
      let text: string;
      let retryAfter: string | null;
      try {
        const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.any([ctx.cancellationSignal, deadline]) });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await readCapped(res, MAX_AI_RESPONSE_BYTES);
      } catch (err) {
        if (ctx.cancellationSignal.aborted || err instanceof ApplicationFailure) throw err;
        const reason = deadline.aborted
          ? `no answer within ${timeoutSeconds} s`
          : err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        throw ApplicationFailure.retryable(`AI endpoint ${endpoint} failed: ${reason}`, 'AI_NETWORK_ERROR');
      } finally {
        stopBeat();
      }

      const json = parseJson(text);
      if (status < 200 || status >= 300) {
        const message = `AI endpoint answered ${status}: ${providerMessage(json, text)}`;
        if (RETRYABLE_STATUSES.has(status) || status >= 500) {
          const delay = retryAfterMs(retryAfter);
          throw ApplicationFailure.create({
            message,
            type: status === 429 ? 'AI_RATE_LIMITED' : 'AI_SERVER_ERROR',
            nonRetryable: false,
            ...(delay !== null ? { nextRetryDelay: delay } : {}),
          });
        }
        throw ApplicationFailure.nonRetryable(message, 'AI_REQUEST_REJECTED');
      }

      const choice = (json as { choices?: { message?: { content?: unknown }; finish_reason?: unknown }[] } | null)?.choices?.[0];
      const content = choice?.message?.content;
      if (typeof content !== 'string') {
        throw ApplicationFailure.nonRetryable(`AI endpoint answered without choices[0].message.content: ${text.slice(0, 300)}`, 'AI_BAD_RESPONSE');
      }
      const usage = ((json as { usage?: Record<string, unknown> }).usage ?? {}) as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      const format = context.format ?? (context.prompt !== undefined ? 'text' : 'markdown');
      const tokens = tokenize(visibleText(content, format));
      const keywords = context.keywords ?? [];
      const included = keywords.filter((k) => countPhrase(tokens, k) > 0);
      await report(100, undefined, true);
      return {
        content,
        model: typeof (json as { model?: unknown }).model === 'string' ? (json as { model: string }).model : model,
        finish_reason: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
        usage: { prompt_tokens: num(usage.prompt_tokens), completion_tokens: num(usage.completion_tokens), total_tokens: num(usage.total_tokens) },
        word_count: tokens.length,
        keywords_included: included,
        keywords_missing: keywords.filter((k) => !included.includes(k)),
        format,
        language: context.language ?? (context.topic !== undefined ? 'en' : null),
        attempt: ctx.info.attempt,
      };
    },
  };
}

/** The body as text, refused (non-retryably) past `maxBytes` instead of buffering whatever the endpoint sends. */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw ApplicationFailure.nonRetryable(`AI endpoint answered more than ${maxBytes} bytes`, 'AI_BAD_RESPONSE');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** OpenAI-style `{error: {message}}`, or `{message}`, or the start of the body. */
function providerMessage(json: unknown, text: string): string {
  const j = json as { error?: { message?: unknown } | string; message?: unknown } | null;
  if (j && typeof j.error === 'object' && typeof j.error?.message === 'string') return j.error.message;
  if (j && typeof j.error === 'string') return j.error;
  if (j && typeof j.message === 'string') return j.message;
  return normalizeSpace(text).slice(0, 500) || '(empty body)';
}

/** Pages sharing a title or a meta description compete with each other. */
function addDuplicateIssues(pages: MetaTagsPageResult[]): void {
  const key = (s: string | null) => (s ? normalizeSpace(s).toLowerCase() : null);
  for (const [field, code, label] of [
    ['title', 'title_duplicate', 'title'],
    ['description', 'description_duplicate', 'meta description'],
  ] as const) {
    const groups = new Map<string, MetaTagsPageResult[]>();
    for (const p of pages) {
      const k = key(p.existing[field]);
      if (k) groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      for (const p of group) {
        const others = group.filter((o) => o !== p).map((o) => o.source);
        const issue: MetaIssue = { code, severity: 'medium', message: `Same ${label} as ${others.slice(0, 5).join(', ')}` };
        p.issues.push(issue);
      }
    }
  }
}
