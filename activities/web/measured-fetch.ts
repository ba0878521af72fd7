import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Transform } from 'node:stream';
import { constants as zlibConstants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/activity';
import { isSameSite, normalizeUrl, USER_AGENT, type FetchLimits } from './bounded-fetch';

/**
 * A GET that measures what `fetch()` hides: the bytes on the wire (before content decoding) as well as the decoded
 * size, with the same bounds as `boundedFetch` (deadline, byte cap on both sizes, redirect cap, same site by default).
 * It asks for compressed content (`accept-encoding: gzip, br`) as a browser would.
 */
export interface MeasuredResource {
  requestedUrl: string;
  /** After redirects. */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  contentType: string;
  /** The response's content-encoding (e.g. gzip, br), or null when sent as is. */
  contentEncoding: string | null;
  /** Body bytes as transferred (content-encoded); when `truncated`, counted up to the chunk that passed maxBytes. */
  transferBytes: number;
  /** Body bytes after decoding; when `truncated`, counted up to the chunk that passed maxBytes. */
  decodedBytes: number;
  /** The decoded body (at most maxBytes). */
  body: Buffer;
  truncated: boolean;
  /** Set when the body could not be decoded (unknown or corrupt content-encoding); `body` is then the raw bytes. */
  decodeError: string | null;
  redirects: string[];
  /** Time to the response headers of the final request, and to the end of the body. */
  ttfbMs: number;
  totalMs: number;
}

export const ACCEPT_ENCODING = 'gzip, br';

function decoderFor(encoding: string | null): Transform | null | 'unsupported' {
  switch (encoding) {
    case null:
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    case 'deflate':
      return createInflate({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    case 'br':
      return createBrotliDecompress({ finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH });
    default:
      return 'unsupported';
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export async function measuredFetch(
  url: string,
  limits: FetchLimits,
  options: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<MeasuredResource> {
  const started = performance.now();
  const redirects: string[] = [];
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const fail = (target: string, err: unknown): never => {
    if (options.signal?.aborted) throw err;
    const reason = deadline.aborted ? `timed out after ${limits.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    throw ApplicationFailure.retryable(`GET ${target} failed: ${reason}`, 'FETCH_FAILED');
  };
  let current = url;
  for (;;) {
    let response: IncomingMessage;
    try {
      response = await open(current, signal, {
        'user-agent': USER_AGENT,
        accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
        'accept-encoding': ACCEPT_ENCODING,
        ...options.headers,
      });
    } catch (err) {
      return fail(current, err);
    }
    const ttfbMs = performance.now() - started;
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.destroy();
      const next = normalizeUrl(location, current);
      if (!next) throw ApplicationFailure.nonRetryable(`${current} redirects to an unsupported URL: ${location}`, 'FETCH_REDIRECT_REFUSED');
      if (redirects.length >= limits.maxRedirects) {
        throw ApplicationFailure.nonRetryable(`${url}: more than ${limits.maxRedirects} redirects`, 'FETCH_TOO_MANY_REDIRECTS');
      }
      if (limits.sameSiteOnly && !isSameSite(next, url)) {
        throw ApplicationFailure.nonRetryable(`${current} redirects off-site to ${next}`, 'FETCH_REDIRECT_REFUSED');
      }
      redirects.push(next);
      current = next;
      continue;
    }
    const encodingHeader = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
    const contentEncoding = encodingHeader.length ? encodingHeader : null;
    let body: Awaited<ReturnType<typeof readBody>>;
    try {
      body = await readBody(response, contentEncoding, limits.maxBytes);
    } catch (err) {
      return fail(current, err);
    }
    const headers = flattenHeaders(response.headers);
    return {
      requestedUrl: url,
      url: current,
      status,
      headers,
      contentType: headers['content-type'] ?? '',
      contentEncoding,
      ...body,
      redirects,
      ttfbMs: round(ttfbMs),
      totalMs: round(performance.now() - started),
    };
  }
}

function open(url: string, signal: AbortSignal, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', headers, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

function readBody(
  response: IncomingMessage,
  encoding: string | null,
  maxBytes: number,
): Promise<Pick<MeasuredResource, 'transferBytes' | 'decodedBytes' | 'body' | 'truncated' | 'decodeError'>> {
  return new Promise((resolve, reject) => {
    const decoder = decoderFor(encoding);
    const raw: Buffer[] = [];
    const decoded: Buffer[] = [];
    let transferBytes = 0;
    let decodedBytes = 0;
    let truncated = false;
    let decodeError: string | null = decoder === 'unsupported' ? `unsupported content-encoding: ${encoding}` : null;
    let settled = false;
    /** The transfer cap was hit: no more raw bytes are read, the decoder drains what it got. */
    let rawDone = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      response.destroy();
      if (decoder && decoder !== 'unsupported') decoder.destroy();
      const plain = decoder === null;
      const useRaw = decodeError !== null;
      resolve({
        transferBytes,
        decodedBytes: plain || useRaw ? transferBytes : decodedBytes,
        body: Buffer.concat(plain || useRaw ? raw : decoded),
        truncated,
        decodeError,
      });
    };
    const onDecoded = (chunk: Buffer) => {
      if (settled) return;
      decodedBytes += chunk.length;
      if (decodedBytes > maxBytes) {
        truncated = true;
        decoded.push(chunk.subarray(0, chunk.length - (decodedBytes - maxBytes)));
        return finish();
      }
      decoded.push(chunk);
    };
    if (decoder && decoder !== 'unsupported') {
      decoder.on('data', onDecoded);
      decoder.on('end', finish);
      decoder.on('error', (err: Error) => {
        decodeError = `could not decode ${encoding}: ${err.message}`;
        finish();
      });
    }
    response.on('data', (chunk: Buffer) => {
      if (settled || rawDone) return;
      transferBytes += chunk.length;
      if (transferBytes > maxBytes) {
        truncated = true;
        rawDone = true;
        const part = chunk.subarray(0, chunk.length - (transferBytes - maxBytes));
        raw.push(part);
        if (decoder && decoder !== 'unsupported') {
          response.destroy();
          decoder.end(part);
        } else finish();
        return;
      }
      raw.push(chunk);
      if (decoder && decoder !== 'unsupported') decoder.write(chunk);
    });
    response.on('end', () => {
      if (rawDone) return;
      if (decoder && decoder !== 'unsupported') decoder.end();
      else finish();
    });
    response.on('error', (err) => {
      if (!settled && !rawDone) {
        settled = true;
        if (decoder && decoder !== 'unsupported') decoder.destroy();
        reject(err);
      }
    });
  });
}
