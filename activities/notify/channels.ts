import { createHmac } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { ChannelConfig } from '../../workflows/contracts/alerts';

/**
 * Sends one notification to one channel: a webhook (JSON body signed with HMAC-SHA256), an e-mail over SMTP or a Slack
 * incoming webhook. No database and no Temporal here, so anything that notifies (alert rules, admin alerts) can use it.
 */

export interface NotifyOptions {
  /** Sent as `Idempotency-Key` (and the e-mail's Message-ID): the same on every retry of one delivery. */
  idempotencyKey: string;
  smtpUrl?: string;
  emailFrom: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface SendResult {
  target: string;
  responseStatus: number | null;
}

/** A failed send; `retryable` false when repeating it cannot help (a 4xx answer, a permanent SMTP refusal, no SMTP). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly responseStatus: number | null = null,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export const SIGNATURE_HEADER = 'X-Signature-SHA256';
const USER_AGENT = 'durable-tasks-alerts/1';
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, as GitHub-style receivers verify it. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Where a channel points, safe to store and show: URL origin and path (Slack's path is a credential: hidden), recipients. */
export function channelTarget(channel: ChannelConfig): string {
  switch (channel.type) {
    case 'webhook': {
      const u = new URL(channel.url);
      return `${u.origin}${u.pathname}`;
    }
    case 'slack':
      return `${new URL(channel.webhook_url).origin}/…`;
    case 'email':
      return channel.to.join(', ');
  }
}

function textOf(payload: Record<string, unknown>): string {
  return typeof payload.text === 'string' ? payload.text : JSON.stringify(payload);
}

export async function sendToChannel(channel: ChannelConfig, payload: Record<string, unknown>, opts: NotifyOptions): Promise<SendResult> {
  const target = channelTarget(channel);
  switch (channel.type) {
    case 'webhook': {
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'idempotency-key': opts.idempotencyKey,
      };
      if (channel.secret) headers[SIGNATURE_HEADER.toLowerCase()] = signBody(body, channel.secret);
      return { target, responseStatus: await post(channel.url, body, headers, opts) };
    }
    case 'slack': {
      const body = JSON.stringify({ text: textOf(payload) });
      const headers = { 'content-type': 'application/json', 'user-agent': USER_AGENT, 'idempotency-key': opts.idempotencyKey };
      return { target, responseStatus: await post(channel.webhook_url, body, headers, opts) };
    }
    case 'email':
      await sendEmail(channel, payload, opts);
      return { target, responseStatus: null };
  }
}

async function post(url: string, body: string, headers: Record<string, string>, opts: NotifyOptions): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      // A redirect would resend a signed body somewhere the rule does not name: refused.
      redirect: 'manual',
      signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw new DeliveryError(`POST ${new URL(url).origin} failed: ${reason}`, true);
  }
  // Drain the body so the connection is released.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return response.status;
  const retryable = response.status >= 500 || RETRYABLE_STATUSES.has(response.status);
  throw new DeliveryError(`POST ${new URL(url).origin} answered ${response.status}`, retryable, response.status);
}

async function sendEmail(channel: Extract<ChannelConfig, { type: 'email' }>, payload: Record<string, unknown>, opts: NotifyOptions): Promise<void> {
  if (!opts.smtpUrl) throw new DeliveryError('E-mail channel: SMTP_URL is not configured on the worker', false);
  const transport = createTransport({
    url: opts.smtpUrl,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  });
  const title = typeof payload.title === 'string' ? payload.title : 'Alert';
  try {
    await transport.sendMail({
      from: opts.emailFrom,
      to: channel.to,
      subject: channel.subject || title,
      text: `${textOf(payload)}\n\n${JSON.stringify(payload, null, 2)}\n`,
      // The same on every retry, so a mail system (or a reader) can tell a resend from a new alert.
      messageId: `<${opts.idempotencyKey.replace(/[^A-Za-z0-9.-]/g, '.')}@durable-tasks.alerts>`,
      headers: { 'Idempotency-Key': opts.idempotencyKey },
    });
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    const message = err instanceof Error ? err.message : String(err);
    // SMTP 5xx replies are permanent refusals (unknown recipient, rejected sender); 4xx and network errors pass.
    throw new DeliveryError(`SMTP: ${message}`, !(typeof code === 'number' && code >= 500), typeof code === 'number' ? code : null);
  } finally {
    transport.close();
  }
}
