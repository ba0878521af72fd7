import type { CachingInfo } from '../../workflows/tasks/page-performance-audit';

/** Caching facts of a response, from its headers (lower-case names). Pure: `now` is passed in. */
export function cachingInfo(headers: Record<string, string>, now: number = Date.now()): CachingInfo {
  const cacheControl = headers['cache-control']?.trim() || null;
  const directives = new Map<string, string | null>();
  for (const part of (cacheControl ?? '').split(',')) {
    const [rawKey, ...rest] = part.split('=');
    const key = rawKey?.trim().toLowerCase();
    if (key) directives.set(key, rest.length ? rest.join('=').trim().replace(/^"|"$/g, '') : null);
  }
  const seconds = (key: string): number | null => {
    const v = directives.get(key);
    if (v === undefined || v === null || !/^\d+$/.test(v)) return null;
    return Number(v);
  };
  const maxAge = seconds('s-maxage') ?? seconds('max-age');
  const expires = headers.expires?.trim() || null;
  const base = headers.date ? Date.parse(headers.date) : NaN;
  const expiresAt = expires ? Date.parse(expires) : NaN;
  const expiresInFuture = !Number.isNaN(expiresAt) && expiresAt > (Number.isNaN(base) ? now : base);
  const noStore = directives.has('no-store');
  const etag = headers.etag?.trim() || null;
  const lastModified = headers['last-modified']?.trim() || null;
  return {
    cache_control: cacheControl,
    max_age: maxAge,
    etag,
    last_modified: lastModified,
    expires,
    // max-age wins over Expires when both are present (RFC 9111 §5.3).
    cacheable: !noStore && !directives.has('no-cache') && (maxAge !== null ? maxAge > 0 : expiresInFuture),
    revalidatable: Boolean(etag || lastModified),
  };
}
