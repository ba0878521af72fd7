import { ApplicationFailure } from '@temporalio/activity';

/**
 * Every fetch a task makes goes through here: a timeout, a body size cap, a redirect cap, and by default no
 * leaving the site it was given. Task types fetch only the URLs in their input (and pages of the same site).
 */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** Refuse redirects (and, in the crawler, links) to another site than the first URL's. */
  sameSiteOnly: boolean;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 15_000, maxBytes: 5_000_000, maxRedirects: 5, sameSiteOnly: true };

export interface FetchedResource {
  requestedUrl: string;
  /** After redirects. */
  url: string;
  status: number;
  headers: Record<string, string>;
  contentType: string;
  body: Buffer;
  /** Bytes received (decoded), capped at maxBytes + 1. */
  bytes: number;
  truncated: boolean;
  redirects: string[];
  /** Time to the response headers of the final request, and to the end of the body. */
  ttfbMs: number;
  totalMs: number;
}

export const USER_AGENT = 'durable-tasks-bot/1.0 (+https://github.com/durable-tasks)';

/** `www.example.com` and `example.com` are the same site; ports must match. */
export function siteKey(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.hostname.replace(/^www\./i, '')}:${u.port}`;
}

export function isSameSite(a: string | URL, b: string | URL): boolean {
  return siteKey(a) === siteKey(b);
}

/** http → https on the same host with default ports: the same site, upgraded (most sites redirect so). */
export function isSchemeUpgrade(from: string | URL, to: string | URL): boolean {
  const a = typeof from === 'string' ? new URL(from) : from;
  const b = typeof to === 'string' ? new URL(to) : to;
  const host = (u: URL) => u.hostname.replace(/^www\./i, '');
  return a.protocol === 'http:' && b.protocol === 'https:' && host(a) === host(b) && (a.port === '' || a.port === '80') && (b.port === '' || b.port === '443');
}

/** Normalises a link for crawling and comparison: absolute, no fragment. Returns null for non-http(s) links. */
export function normalizeUrl(href: string, base?: string): string | null {
  try {
    const u = new URL(href, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    u.hash = '';
    return u.toString();
  } catch {
    return null;
  }
}

export async function boundedFetch(
  url: string,
  limits: FetchLimits = DEFAULT_FETCH_LIMITS,
  options: { signal?: AbortSignal; method?: string; headers?: Record<string, string> } = {},
): Promise<FetchedResource> {
  const started = performance.now();
  const redirects: string[] = [];
  let current = url;
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(current, {
        method: options.method ?? 'GET',
        redirect: 'manual',
        signal,
        headers: { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...options.headers },
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const reason = deadline.aborted ? `timed out after ${limits.timeoutMs} ms` : err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw ApplicationFailure.retryable(`GET ${current} failed: ${reason}`, 'FETCH_FAILED');
    }
    const ttfbMs = performance.now() - started;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = normalizeUrl(location, current);
      if (!next) throw ApplicationFailure.nonRetryable(`${current} redirects to an unsupported URL: ${location}`, 'FETCH_REDIRECT_REFUSED');
      if (redirects.length >= limits.maxRedirects) {
        throw ApplicationFailure.nonRetryable(`${url}: more than ${limits.maxRedirects} redirects`, 'FETCH_TOO_MANY_REDIRECTS');
      }
      if (limits.sameSiteOnly && !isSameSite(next, url) && !isSchemeUpgrade(url, next)) {
        throw ApplicationFailure.nonRetryable(`${current} redirects off-site to ${next}`, 'FETCH_REDIRECT_REFUSED');
      }
      redirects.push(next);
      current = next;
      continue;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        if (bytes > limits.maxBytes) {
          truncated = true;
          chunks.push(Buffer.from(value.subarray(0, value.byteLength - (bytes - limits.maxBytes))));
          await reader.cancel();
          break;
        }
        chunks.push(Buffer.from(value));
      }
    }
    return {
      requestedUrl: url,
      url: current,
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      contentType: response.headers.get('content-type') ?? '',
      body: Buffer.concat(chunks),
      bytes,
      truncated,
      redirects,
      ttfbMs: Math.round(ttfbMs * 10) / 10,
      totalMs: Math.round((performance.now() - started) * 10) / 10,
    };
  }
}

export function isHtml(resource: Pick<FetchedResource, 'contentType'>): boolean {
  return /text\/html|application\/xhtml\+xml/i.test(resource.contentType);
}

/** The `context_data` fetch options (workflows/contracts/web-options.ts) as limits. */
export function limitsFrom(options: { timeout_seconds: number; max_bytes: number; max_redirects: number; same_site_only: boolean }): FetchLimits {
  return {
    timeoutMs: options.timeout_seconds * 1000,
    maxBytes: options.max_bytes,
    maxRedirects: options.max_redirects,
    sameSiteOnly: options.same_site_only,
  };
}
