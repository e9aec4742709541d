// The Web API client Sesame uses, and one wrapper that counts and logs failed calls by method.
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../core/ports.ts';
import { loadOutbound, outboundLoaded, send, type OutboundAnswer } from '../http/outbound.ts';
import type { Metrics } from '../metrics.ts';

/**
 * How long one HTTP call to Slack may take. Without it a Slack (or proxy) that accepts and never answers would
 * hang the caller forever; with the two retries a call gives up after about three times this.
 */
export const SLACK_TIMEOUT_MS = 10_000;

/**
 * fetch with a deadline, over undici's request API. Bolt sends `respond()` to a response_url through the client
 * options' `fetch`, and has no timeout of its own: without one a response_url that never answers would hold a
 * command's work slot forever. fetch's web streams and abort signals cost several times the request itself on the
 * hot path, so plain string bodies (every Web API call and reply Sesame makes) go through `send` once undici is
 * loaded; anything else (a file upload's form) still goes through fetch.
 */
export function timedFetch(timeoutMs: number): typeof globalThis.fetch & { timeoutMs: number } {
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null;
    const body = init?.body;
    // Start-up's few calls go through fetch while undici loads beside them, off the path to ready.
    if (!outboundLoaded()) void loadOutbound();
    if (!outboundLoaded() || url === null || (body !== undefined && body !== null && typeof body !== 'string') || (init?.method ?? 'GET') !== 'POST') {
      const deadline = AbortSignal.timeout(timeoutMs);
      return globalThis.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
    }
    const answer = await send(url, { method: 'POST', headers: headerRecord(init?.headers), ...(typeof body === 'string' ? { body } : {}), timeoutMs, ...(init?.signal ? { signal: init.signal } : {}) });
    // The Web API client and Bolt read only status, statusText, ok, url, headers.get/entries and text/json.
    return answerAsResponse(answer) as unknown as Response;
  };
  return Object.assign(fetch, { timeoutMs });
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  // Iterable: an array of pairs, or a Headers (told apart without naming the global, whose first use makes Node compile its own copy of undici).
  if (Symbol.iterator in headers) return Object.fromEntries(headers as Iterable<[string, string]>);
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, typeof value === 'string' ? value : value.join(', ')]));
}

function answerAsResponse(answer: OutboundAnswer) {
  const header = (name: string): string | null => {
    const value = answer.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    url: answer.url,
    status: answer.status,
    statusText: answer.statusText,
    ok: answer.status >= 200 && answer.status < 300,
    headers: {
      get: header,
      has: (name: string) => header(name) !== null,
      entries: () => Object.keys(answer.headers).map((name) => [name, header(name) ?? ''] as [string, string])[Symbol.iterator](),
    },
    text: async () => answer.text,
    json: async (): Promise<unknown> => JSON.parse(answer.text),
    arrayBuffer: async () => new TextEncoder().encode(answer.text).buffer,
  };
}

/**
 * Retries that suit a bot: 429s wait for Retry-After (the client's default), other failures retry twice, quickly. The
 * deadline is `timedFetch`'s: the client's own `timeout` would add an AbortSignal and its timer to every call.
 */
export const webClientOptions = (apiUrl: string | undefined, timeoutMs: number = SLACK_TIMEOUT_MS): WebClientOptions => ({
  ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
  fetch: timedFetch(timeoutMs),
  retryConfig: { retries: 2, factor: 2, minTimeout: 100, maxTimeout: 2_000 },
});

export const createWebClient = (token: string, apiUrl: string | undefined, logger?: WebClientOptions['logger'], timeoutMs?: number): WebClient =>
  new WebClient(token, { ...webClientOptions(apiUrl, timeoutMs), ...(logger ? { logger } : {}) });

export type SlackCall = <T>(method: string, call: () => Promise<T>) => Promise<T>;

export function countingCalls(metrics: Metrics, log: Logger): SlackCall {
  return async (method, call) => {
    try {
      return await call();
    } catch (error) {
      metrics.slackApiErrors.inc({ method });
      log.warn({ method, problem: error instanceof Error ? error.message : String(error) }, 'Slack API call failed');
      throw error;
    }
  };
}

/**
 * Slack could not be reached (network, 5xx, rate limit after retries), as opposed to answering "no such thing".
 * Thrown by look-ups that must not guess, so the listener can say "try again" with nothing changed.
 */
export class SlackUnavailableError extends Error {
  override readonly name = 'SlackUnavailableError';
  constructor(readonly method: string, options?: { cause?: unknown }) {
    super(`Slack did not answer ${method}`, options);
  }
}

/** Slack's own "no" (ok: false, e.g. channel_not_found); anything else is an outage. */
export const isPlatformAnswer = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === ErrorCode.PlatformError;
