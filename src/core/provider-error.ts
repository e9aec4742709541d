// The one error a provider throws on purpose: it says whether trying again can help.
export class ProviderError extends Error {
  override readonly name = 'ProviderError';

  constructor(
    message: string,
    /** False for failures a retry cannot fix (a role that does not exist, a 4xx answer). */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRetryable(error: unknown): boolean {
  return !(error instanceof ProviderError) || error.retryable;
}
