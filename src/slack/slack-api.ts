// The Web API client Sesame uses, and one wrapper that counts and logs failed calls by method.
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../core/ports.ts';
import type { Metrics } from '../metrics.ts';

/**
 * How long one HTTP call to Slack may take. Without it a Slack (or proxy) that accepts and never answers would
 * hang the caller forever; with the two retries a call gives up after about three times this.
 */
export const SLACK_TIMEOUT_MS = 10_000;

/**
 * fetch with a deadline. Bolt sends `respond()` to a response_url through the client options' `fetch`, and has no
 * timeout of its own: without this a response_url that never answers would hold a command's work slot forever.
 */
export function timedFetch(timeoutMs: number): typeof globalThis.fetch {
  return (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return globalThis.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
}

/** Retries that suit a bot: 429s wait for Retry-After (the client's default), other failures retry twice, quickly. */
export const webClientOptions = (apiUrl: string | undefined, timeoutMs: number = SLACK_TIMEOUT_MS): WebClientOptions => ({
  ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
  timeout: timeoutMs,
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
