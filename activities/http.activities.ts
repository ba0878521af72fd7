import { ApplicationFailure, Context } from '@temporalio/activity';
import type { HttpRequestContext } from '../workflows/tasks/http-request';
import type { ActivityDeps } from './deps';

const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export function createHttpActivities(_deps: ActivityDeps) {
  return {
    /**
     * One attempt of the task's HTTP call. A status outside `expected_status` (default 2xx) fails the attempt:
     * retryably for 5xx/408/429, non-retryably (HTTP_CLIENT_ERROR) for other 4xx, since repeating them cannot help.
     */
    async performHttpRequest(context: HttpRequestContext): Promise<Record<string, unknown>> {
      const ctx = Context.current();
      const started = performance.now();
      const hasBody = context.body !== undefined && context.method !== 'GET' && context.method !== 'HEAD';
      const headers: Record<string, string> = { 'user-agent': 'durable-tasks/http_request', ...context.headers };
      if (hasBody && typeof context.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
      let response: Response;
      try {
        response = await fetch(context.url, {
          method: context.method,
          headers,
          body: hasBody ? (typeof context.body === 'string' ? context.body : JSON.stringify(context.body)) : undefined,
          redirect: 'follow',
          signal: AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(context.timeout_seconds * 1000)]),
        });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        throw ApplicationFailure.retryable(`${context.method} ${context.url} failed: ${reason}`, 'HTTP_NETWORK_ERROR');
      }
      const raw = await response.arrayBuffer();
      const durationMs = Math.round(performance.now() - started);
      const text = Buffer.from(raw.slice(0, context.capture_body_bytes)).toString('utf8');
      const ok = context.expected_status ? context.expected_status.includes(response.status) : response.ok;
      const summary = {
        status_code: response.status,
        url: response.url || context.url,
        method: context.method,
        duration_ms: durationMs,
        attempt: ctx.info.attempt,
        headers: Object.fromEntries(response.headers.entries()),
        body: parseBody(text, response.headers.get('content-type')),
        body_bytes: raw.byteLength,
        body_truncated: raw.byteLength > context.capture_body_bytes,
      };
      if (!ok) {
        const message = `${context.method} ${context.url} answered ${response.status}`;
        if (RETRYABLE_STATUSES.has(response.status)) throw ApplicationFailure.retryable(message, 'HTTP_SERVER_ERROR', summary);
        throw ApplicationFailure.nonRetryable(message, 'HTTP_CLIENT_ERROR', summary);
      }
      return summary;
    },
  };
}

function parseBody(text: string, contentType: string | null): unknown {
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text; // truncated or invalid JSON: keep the text
    }
  }
  return text;
}
