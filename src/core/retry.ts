// Tries an operation a few times with exponential backoff, stopping early on errors a retry cannot fix.
import { isRetryable } from './provider-error.ts';
import { redactCredentials } from './redact.ts';

export interface RetryOptions {
  /** Total tries, the first included. @defaultValue 3 */
  attempts: number;
  /** Wait before the second try; doubled before each further one. @defaultValue 500 */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 500 };

export type Attempted<T> = { ok: true; value: T; attempts: number } | { ok: false; error: unknown; attempts: number };

export async function withRetries<T>(operation: () => Promise<T>, options: RetryOptions): Promise<Attempted<T>> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return { ok: true, value: await operation(), attempts: attempt };
    } catch (error) {
      lastError = error;
      if (!isRetryable(error)) return { ok: false, error, attempts: attempt };
      if (attempt < options.attempts) await sleep(options.baseDelayMs * 2 ** (attempt - 1));
    }
  }
  return { ok: false, error: lastError, attempts: options.attempts };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An error as one line for logs, the audit log and Slack; credentials inside URLs never pass through it. */
export const errorMessage = (error: unknown): string => redactCredentials(error instanceof Error ? error.message : String(error));
